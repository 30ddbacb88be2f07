"""Helpers shared by the reference kernels: activation ranges, padding, operand access."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host.errors import ModelError
from host.graph import Activation, Graph, Op, Padding, Tensor
from host.reference.fixed_point import (
    multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_single_rounding, round_half_away,
)

INT8_MIN, INT8_MAX = -128, 127


@dataclass(frozen=True)
class OpContext:
    """What a kernel sees: the graph (for tensor metadata), the op, and its input values."""

    graph: Graph
    op: Op
    index: int
    values: list[np.ndarray | None]

    def tensor(self, position: int) -> Tensor | None:
        i = self.op.inputs[position] if position < len(self.op.inputs) else -1
        return self.graph.tensors[i] if i >= 0 else None

    def value(self, position: int) -> np.ndarray | None:
        return self.values[position] if position < len(self.values) else None

    @property
    def output(self) -> Tensor:
        return self.graph.tensors[self.op.outputs[0]]

    def fail(self, message: str) -> ModelError:
        return ModelError(f"{self.graph.describe_op(self.index)}: {message}")


def scale_zero(t: Tensor) -> tuple[np.float32, int]:
    """Per-tensor (scale as float32, zero point) of a quantized tensor."""
    return np.float32(t.quantization.scale[0]), int(t.quantization.zero_point[0])


def activation_range_int8(activation: Activation, output: Tensor) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 outputs."""
    scale, zero = scale_zero(output)

    def quantize(f: float) -> int:
        return zero + int(round_half_away(np.float32(f) / scale))

    if activation is Activation.RELU:
        return max(INT8_MIN, quantize(0.0)), INT8_MAX
    if activation is Activation.RELU6:
        return max(INT8_MIN, quantize(0.0)), min(INT8_MAX, quantize(6.0))
    if activation is Activation.RELU_N1_TO_1:
        return max(INT8_MIN, quantize(-1.0)), min(INT8_MAX, quantize(1.0))
    return INT8_MIN, INT8_MAX


def activation_float(activation: Activation, x: np.ndarray) -> np.ndarray:
    """The fused activation on float32 values."""
    if activation is Activation.RELU:
        return np.maximum(x, np.float32(0))
    if activation is Activation.RELU6:
        return np.clip(x, np.float32(0), np.float32(6))
    if activation is Activation.RELU_N1_TO_1:
        return np.clip(x, np.float32(-1), np.float32(1))
    return x


def requantize(acc: np.ndarray, multiplier, shift, zero_point: int, low: int, high: int,
               *, single_rounding: bool = False) -> np.ndarray:
    """int32 accumulator -> int8: MultiplyByQuantizedMultiplier, add zero point, clamp."""
    scale = multiply_by_quantized_multiplier_single_rounding if single_rounding else multiply_by_quantized_multiplier
    out = scale(acc, multiplier, shift) + zero_point
    return np.clip(out, low, high).astype(np.int8)


def out_size(padding: Padding, size: int, filt: int, stride: int, dilation: int) -> int:
    """TFLite ComputeOutSize."""
    effective = (filt - 1) * dilation + 1
    if padding is Padding.SAME:
        return (size + stride - 1) // stride
    return (size + stride - effective) // stride


def pad_before_after(size: int, filt: int, stride: int, dilation: int, out: int) -> tuple[int, int]:
    """TFLite ComputePaddingWithOffset: padding before, and what the windows need after."""
    effective = (filt - 1) * dilation + 1
    total = max(0, (out - 1) * stride + effective - size)
    before = total // 2
    after = max(0, (out - 1) * stride + effective - size - before)
    return before, after


def windows(x: np.ndarray, fh: int, fw: int, sh: int, sw: int, dh: int, dw: int,
            oh: int, ow: int):
    """Yield (ky, kx, view) for each filter tap: view[n, oy, ox, c] = x[n, oy*sh + ky*dh, ...]."""
    for ky in range(fh):
        y0 = ky * dh
        for kx in range(fw):
            x0 = kx * dw
            yield ky, kx, x[:, y0:y0 + (oh - 1) * sh + 1:sh, x0:x0 + (ow - 1) * sw + 1:sw, :]


def spatial_geometry(ctx: OpContext, x_shape, fh, fw, options):
    """(oh, ow, (pad_top, pad_bottom), (pad_left, pad_right)) of a 2-D window op, checked."""
    _, h, w, _ = x_shape
    dh = getattr(options, "dilation_h", 1)
    dw = getattr(options, "dilation_w", 1)
    if min(options.stride_h, options.stride_w, dh, dw, fh, fw) < 1:
        raise ctx.fail("strides, dilations and filter sizes must be >= 1")
    oh = out_size(options.padding, h, fh, options.stride_h, dh)
    ow = out_size(options.padding, w, fw, options.stride_w, dw)
    if oh < 1 or ow < 1:
        raise ctx.fail(f"filter {fh}x{fw} does not fit input {h}x{w}")
    return (oh, ow, pad_before_after(h, fh, options.stride_h, dh, oh),
            pad_before_after(w, fw, options.stride_w, dw, ow))
