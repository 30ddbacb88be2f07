"""Whole-graph validation: every problem found is listed in one `ModelError` before any work.

The checks are those the reference interpreter (and so the firmware) relies on: supported op
kinds, operand counts, tensor indices, execution order, element types, constant weights and
the quantization constraints of TensorFlow Lite's int8 spec
(https://ai.google.dev/edge/litert/models/quantization_spec).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host.errors import ModelError
from host.graph.encoding import check_encoding
from host.graph.graph import NO_TENSOR, Graph, Op
from host.graph.ops import OPTIONS_TYPE, OpKind
from host.graph.tensor import DType, Tensor

# (minimum, maximum) operand counts per kind; outputs are always exactly one.
_INPUT_COUNTS = {
    OpKind.CONV_2D: (2, 3),
    OpKind.DEPTHWISE_CONV_2D: (2, 3),
    OpKind.FULLY_CONNECTED: (2, 3),
    OpKind.AVERAGE_POOL_2D: (1, 1),
    OpKind.MAX_POOL_2D: (1, 1),
    OpKind.ADD: (2, 2),
    OpKind.MUL: (2, 2),
    OpKind.RESHAPE: (1, 2),
    OpKind.SOFTMAX: (1, 1),
    OpKind.LOGISTIC: (1, 1),
    OpKind.RELU: (1, 1),
    OpKind.RELU6: (1, 1),
    OpKind.HARD_SWISH: (1, 1),
    OpKind.PAD: (2, 2),
    OpKind.CONCATENATION: (1, 1 << 16),
    OpKind.MEAN: (2, 2),
    OpKind.QUANTIZE: (1, 1),
    OpKind.DEQUANTIZE: (1, 1),
}

_ACTIVATION_TYPES = (DType.INT8, DType.FLOAT32)


@dataclass(frozen=True)
class Problem:
    """One reason a graph cannot be compressed: where (op index or None) and why."""

    op_index: int | None
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class UnsupportedModelError(ModelError):
    """A model uses ops, types or quantization the compressor cannot handle.

    `problems` lists every problem found (not just the first).
    """

    def __init__(self, problems: list[Problem]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"model not supported ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}",
            hint="supported ops: " + ", ".join(k.value for k in OpKind if k is not OpKind.UNSUPPORTED),
        )
        self.problems = problems


def find_problems(graph: Graph) -> list[Problem]:
    """Every problem of `graph`, in op order (graph-level problems first)."""
    problems: list[Problem] = []
    count = len(graph.tensors)
    available = set()
    for index in graph.inputs:
        if not 0 <= index < count:
            problems.append(Problem(None, "graph inputs", f"tensor index {index} out of range"))
        else:
            available.add(index)
    for index, tensor in enumerate(graph.tensors):
        if tensor.is_constant:
            available.add(index)
            if tuple(tensor.data.shape) != tuple(tensor.shape):
                problems.append(Problem(None, f"tensor {tensor.name!r}",
                                        f"data shape {tensor.data.shape} != tensor shape {tensor.shape}"))
            elif tensor.encoding is not None:
                problems.extend(Problem(None, f"tensor {tensor.name!r}", message)
                                for message in check_encoding("encoding", tensor.data, tensor.encoding))
        elif tensor.encoding is not None:
            problems.append(Problem(None, f"tensor {tensor.name!r}", "has an encoding but no data"))
    for op_index, op in enumerate(graph.ops):
        problems.extend(_op_problems(graph, op_index, op, available))
        available.update(i for i in op.outputs if 0 <= i < count)
    for index in graph.outputs:
        if not 0 <= index < count:
            problems.append(Problem(None, "graph outputs", f"tensor index {index} out of range"))
        elif index not in available:
            problems.append(Problem(None, "graph outputs",
                                    f"tensor {graph.tensors[index].name!r} is never computed"))
    return problems


def validate(graph: Graph) -> None:
    """Check `graph` for everything the reference interpreter needs.

    Raises `UnsupportedModelError` (a `ModelError`) listing every problem when any is found.
    """
    problems = find_problems(graph)
    if problems:
        raise UnsupportedModelError(problems)


def _op_problems(graph: Graph, op_index: int, op: Op, available: set[int]) -> list[Problem]:
    where = graph.describe_op(op_index)
    out: list[Problem] = []

    def bad(message: str) -> None:
        out.append(Problem(op_index, where, message))

    if op.kind is OpKind.UNSUPPORTED:
        bad(op.options.reason)
        return out
    if not isinstance(op.options, OPTIONS_TYPE[op.kind]):
        bad(f"options of type {type(op.options).__name__}, expected {OPTIONS_TYPE[op.kind].__name__}")
        return out
    low, high = _INPUT_COUNTS[op.kind]
    if not low <= len(op.inputs) <= high:
        bad(f"{len(op.inputs)} inputs, expected {low}..{high}")
        return out
    if len(op.outputs) != 1:
        bad(f"{len(op.outputs)} outputs, expected 1")
        return out
    for position, index in enumerate(op.inputs):
        if index == NO_TENSOR and position >= low:
            continue
        if not 0 <= index < len(graph.tensors):
            bad(f"input {position} has tensor index {index} out of range")
            return out
        if index not in available:
            bad(f"input {position} ({graph.tensors[index].name!r}) is used before it is computed")
    if not 0 <= op.outputs[0] < len(graph.tensors):
        bad(f"output tensor index {op.outputs[0]} out of range")
        return out
    if out:
        return out
    tensors = [graph.tensors[i] if i != NO_TENSOR else None for i in op.inputs]
    output = graph.tensors[op.outputs[0]]
    for message in _type_problems(op, tensors, output):
        bad(message)
    return out


def _is_int8_activation(t: Tensor) -> bool:
    return t.dtype is DType.INT8 and t.quantization is not None and not t.quantization.per_channel


def _type_problems(op: Op, ins: list[Tensor | None], output: Tensor) -> list[str]:
    kind = op.kind
    x = ins[0]
    problems: list[str] = []
    if kind is OpKind.QUANTIZE:
        if x.dtype not in (DType.FLOAT32, DType.INT8) or not _is_int8_activation(output):
            problems.append(f"QUANTIZE {x.dtype.value} -> {output.dtype.value}: only float32/int8 -> "
                            "per-tensor int8 is supported")
        return problems
    if kind is OpKind.DEQUANTIZE:
        if output.dtype is not DType.FLOAT32 or not (_is_int8_activation(x) or x.dtype is DType.FLOAT16):
            problems.append(f"DEQUANTIZE {x.dtype.value} -> {output.dtype.value}: only int8/float16 -> "
                            "float32 is supported")
        return problems
    if output.dtype not in _ACTIVATION_TYPES:
        problems.append(f"output type {output.dtype.value} not supported (int8 or float32)")
        return problems
    quantized = output.dtype is DType.INT8
    if quantized and not _is_int8_activation(output):
        problems.append(f"int8 output {output.name!r} needs per-tensor quantization")
    data_inputs = _data_inputs(op, ins)
    for t in data_inputs:
        if t.dtype is not output.dtype:
            problems.append(f"input {t.name!r} is {t.dtype.value} but the output is {output.dtype.value}")
        elif quantized and not _is_int8_activation(t):
            problems.append(f"int8 input {t.name!r} needs per-tensor quantization")
    if kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED):
        problems.extend(_weight_problems(kind, x, ins[1], ins[2] if len(ins) > 2 else None, quantized))
    if kind in (OpKind.RESHAPE,) and len(ins) > 1 and ins[1] is not None and not ins[1].is_constant:
        if ins[1].dtype is not DType.INT32:
            problems.append("RESHAPE shape operand must be int32")
    if kind in (OpKind.PAD, OpKind.MEAN):
        operand = ins[1]
        if not operand.is_constant or operand.dtype not in (DType.INT32, DType.INT64):
            problems.append(f"{kind.value} operand {operand.name!r} must be a constant int32 tensor")
    if quantized and kind in (OpKind.SOFTMAX, OpKind.LOGISTIC):
        scale, zero = output.quantization.single()
        if scale != np.float32(1.0 / 256) or zero != -128:
            problems.append(f"int8 {kind.value} output must have scale 1/256 and zero point -128 "
                            f"(has {scale!r}, {zero})")
    if quantized and kind in (OpKind.MAX_POOL_2D, OpKind.RESHAPE, OpKind.PAD):
        if not output.quantization.same_as(x.quantization):
            problems.append(f"int8 {kind.value} needs the same quantization on input and output")
    if kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D):
        if len(x.shape) != 4:
            problems.append(f"input {x.name!r} must be 4-D (NHWC), has shape {x.shape}")
    return problems


def _data_inputs(op: Op, ins: list[Tensor | None]) -> list[Tensor]:
    """The inputs that carry activations (not weights, biases, shapes, paddings or axes)."""
    if op.kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED,
                   OpKind.RESHAPE, OpKind.PAD, OpKind.MEAN):
        return [ins[0]]
    return [t for t in ins if t is not None]


def _weight_problems(kind: OpKind, x: Tensor, w: Tensor, bias: Tensor | None, quantized: bool) -> list[str]:
    problems = []
    if not w.is_constant:
        problems.append(f"weights {w.name!r} must be constant")
    if bias is not None and not bias.is_constant:
        problems.append(f"bias {bias.name!r} must be constant")
    rank = 2 if kind is OpKind.FULLY_CONNECTED else 4
    if len(w.shape) != rank:
        problems.append(f"weights {w.name!r} must be {rank}-D, have shape {w.shape}")
        return problems
    channels = w.shape[3] if kind is OpKind.DEPTHWISE_CONV_2D else w.shape[0]
    if kind is OpKind.CONV_2D and len(x.shape) == 4 and x.shape[3] != w.shape[3]:
        problems.append(f"grouped convolution (input depth {x.shape[3]}, filter depth {w.shape[3]}) "
                        "is not supported")
    if quantized:
        if w.dtype is not DType.INT8 or w.quantization is None:
            problems.append(f"weights {w.name!r} must be quantized int8 (are {w.dtype.value})")
        else:
            q = w.quantization
            axis = 3 if kind is OpKind.DEPTHWISE_CONV_2D else 0
            if q.per_channel and (q.axis != axis or q.scale.size != channels):
                problems.append(f"weights {w.name!r}: per-channel quantization must be on axis {axis} "
                                f"with {channels} scales")
            if np.any(q.zero_point != 0):
                problems.append(f"weights {w.name!r} must be symmetric (zero point 0)")
        if bias is not None and (bias.dtype is not DType.INT32 or bias.shape != (channels,)):
            problems.append(f"bias {bias.name!r} must be int32 of shape ({channels},)")
    else:
        hybrid = w.dtype is DType.INT8 and w.quantization is not None
        if w.dtype is not DType.FLOAT32 and not hybrid:
            problems.append(f"weights {w.name!r} must be float32 (or quantized int8) in a float op")
        if bias is not None and bias.dtype is not DType.FLOAT32:
            problems.append(f"bias {bias.name!r} must be float32 in a float op")
    return problems
