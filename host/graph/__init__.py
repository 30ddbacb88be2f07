"""The graph IR every model is lowered to: `Graph` of `Tensor`s and typed `Op`s.

Semantics are TensorFlow Lite's (int8 quantization spec); `host.reference` executes them.
"""
from host.graph.encoding import (
    DQ_STATE_TRANSITION, SCALED_MAX_SHIFT, CodebookLevels, DependentLevels, QuantizerKind, ScaledLevels,
    TensorEncoding, UniformLevels, WeightEncoding, check_encoding, dependent_step, scaled_level_range,
    uniform_max_level, uniform_step,
)
from host.graph.graph import NO_TENSOR, Graph, Op
from host.graph.ops import (
    OPTIONS_TYPE,
    Activation,
    AddOptions,
    ConcatenationOptions,
    Conv2DOptions,
    DepthwiseConv2DOptions,
    FullyConnectedOptions,
    MeanOptions,
    MulOptions,
    NoOptions,
    OpKind,
    OpOptions,
    Padding,
    Pool2DOptions,
    ReshapeOptions,
    SoftmaxOptions,
    UnsupportedOptions,
)
from host.graph.tensor import DType, Quantization, Tensor
from host.graph.validate import Problem, UnsupportedModelError, find_problems, validate

__all__ = [
    "NO_TENSOR", "Graph", "Op", "OPTIONS_TYPE", "Activation", "AddOptions",
    "ConcatenationOptions", "Conv2DOptions", "DepthwiseConv2DOptions", "FullyConnectedOptions",
    "MeanOptions", "MulOptions", "NoOptions", "OpKind", "OpOptions", "Padding", "Pool2DOptions",
    "ReshapeOptions", "SoftmaxOptions", "UnsupportedOptions", "DType", "Quantization", "Tensor",
    "Problem", "UnsupportedModelError", "find_problems", "validate",
    "DQ_STATE_TRANSITION", "CodebookLevels", "DependentLevels", "QuantizerKind", "UniformLevels",
    "WeightEncoding", "check_encoding", "dependent_step", "uniform_max_level", "uniform_step",
    "SCALED_MAX_SHIFT", "ScaledLevels", "TensorEncoding", "scaled_level_range",
]
