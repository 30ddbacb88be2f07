"""Op kinds of the graph IR and one typed options dataclass per kind.

The supported set follows TensorFlow Lite's builtin ops of the same names; their semantics
(and the int8 arithmetic) are those of docs/reference-interpreter.md. `OpKind.UNSUPPORTED`
holds ops read from a model that the compressor cannot handle, so validation can list them all.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class OpKind(enum.Enum):
    CONV_2D = "CONV_2D"
    DEPTHWISE_CONV_2D = "DEPTHWISE_CONV_2D"
    FULLY_CONNECTED = "FULLY_CONNECTED"
    AVERAGE_POOL_2D = "AVERAGE_POOL_2D"
    MAX_POOL_2D = "MAX_POOL_2D"
    ADD = "ADD"
    MUL = "MUL"
    RESHAPE = "RESHAPE"
    SOFTMAX = "SOFTMAX"
    LOGISTIC = "LOGISTIC"
    RELU = "RELU"
    RELU6 = "RELU6"
    HARD_SWISH = "HARD_SWISH"
    PAD = "PAD"
    CONCATENATION = "CONCATENATION"
    MEAN = "MEAN"
    QUANTIZE = "QUANTIZE"
    DEQUANTIZE = "DEQUANTIZE"
    UNSUPPORTED = "UNSUPPORTED"


class Padding(enum.Enum):
    """TFLite padding: SAME pads so that out = ceil(in / stride), extra row/column at the end."""

    SAME = "SAME"
    VALID = "VALID"


class Activation(enum.Enum):
    """Fused activation applied by clamping the quantized output (TFLite semantics)."""

    NONE = "NONE"
    RELU = "RELU"
    RELU_N1_TO_1 = "RELU_N1_TO_1"
    RELU6 = "RELU6"


@dataclass(frozen=True)
class NoOptions:
    """For ops without parameters (RELU, RELU6, LOGISTIC, HARD_SWISH, PAD, QUANTIZE, ...)."""


@dataclass(frozen=True)
class Conv2DOptions:
    padding: Padding = Padding.VALID
    stride_h: int = 1
    stride_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class DepthwiseConv2DOptions:
    padding: Padding = Padding.VALID
    stride_h: int = 1
    stride_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    depth_multiplier: int = 1
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class FullyConnectedOptions:
    activation: Activation = Activation.NONE
    keep_num_dims: bool = False


@dataclass(frozen=True)
class Pool2DOptions:
    """AVERAGE_POOL_2D and MAX_POOL_2D."""

    padding: Padding = Padding.VALID
    stride_h: int = 1
    stride_w: int = 1
    filter_h: int = 1
    filter_w: int = 1
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class AddOptions:
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class MulOptions:
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class ReshapeOptions:
    """`new_shape` from the options table; the output tensor's shape is authoritative."""

    new_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float = 1.0


@dataclass(frozen=True)
class ConcatenationOptions:
    axis: int = 0
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class MeanOptions:
    """MEAN over the axes given by the op's second (constant int32) input."""

    keep_dims: bool = False


@dataclass(frozen=True)
class UnsupportedOptions:
    """An op the compressor cannot handle: `source_kind` is its name in the source model."""

    source_kind: str
    reason: str = "op not supported"


OpOptions = (
    NoOptions | Conv2DOptions | DepthwiseConv2DOptions | FullyConnectedOptions | Pool2DOptions
    | AddOptions | MulOptions | ReshapeOptions | SoftmaxOptions | ConcatenationOptions
    | MeanOptions | UnsupportedOptions
)

# The options type each op kind carries.
OPTIONS_TYPE: dict[OpKind, type] = {
    OpKind.CONV_2D: Conv2DOptions,
    OpKind.DEPTHWISE_CONV_2D: DepthwiseConv2DOptions,
    OpKind.FULLY_CONNECTED: FullyConnectedOptions,
    OpKind.AVERAGE_POOL_2D: Pool2DOptions,
    OpKind.MAX_POOL_2D: Pool2DOptions,
    OpKind.ADD: AddOptions,
    OpKind.MUL: MulOptions,
    OpKind.RESHAPE: ReshapeOptions,
    OpKind.SOFTMAX: SoftmaxOptions,
    OpKind.LOGISTIC: NoOptions,
    OpKind.RELU: NoOptions,
    OpKind.RELU6: NoOptions,
    OpKind.HARD_SWISH: NoOptions,
    OpKind.PAD: NoOptions,
    OpKind.CONCATENATION: ConcatenationOptions,
    OpKind.MEAN: MeanOptions,
    OpKind.QUANTIZE: NoOptions,
    OpKind.DEQUANTIZE: NoOptions,
    OpKind.UNSUPPORTED: UnsupportedOptions,
}
