"""Test-only reader of the builtin options of a .tflite model's operators.

LiteRT's Interpreter exposes op names and tensor indices but not builtin options (strides,
padding, fused activation, ...). This reads just those from the flatbuffer with the
`flatbuffers` runtime (a dependency of ai-edge-litert), using the field numbers of
tensorflow/compiler/mlir/lite/schema/schema.fbs. It is deliberately minimal; the project's
model reader lives in host/tflite.
"""
from __future__ import annotations

from dataclasses import dataclass

import flatbuffers
from flatbuffers import number_types as N
from flatbuffers.table import Table

# ActivationFunctionType
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3
# Padding
SAME, VALID = 0, 1


@dataclass(frozen=True)
class ConvOptions:
    padding: int
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    activation: int
    depth_multiplier: int = 1


@dataclass(frozen=True)
class PoolOptions:
    padding: int
    stride_h: int
    stride_w: int
    filter_h: int
    filter_w: int
    activation: int


@dataclass(frozen=True)
class ActivationOptions:
    """Options with only a fused activation (ADD, MUL, FULLY_CONNECTED, CONCATENATION)."""

    activation: int
    axis: int = 0
    keep_num_dims: bool = False


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float


@dataclass(frozen=True)
class ReducerOptions:
    keep_dims: bool


@dataclass(frozen=True)
class NoOptions:
    pass


def _slot(t: Table, i: int) -> int:
    return t.Offset(4 + 2 * i)


def _scalar(t: Table | None, i: int, flags, default):
    if t is None:
        return default
    o = _slot(t, i)
    return t.Get(flags, o + t.Pos) if o else default


def _table(t: Table, i: int) -> Table | None:
    o = _slot(t, i)
    return Table(t.Bytes, t.Indirect(o + t.Pos)) if o else None


def _tables(t: Table, i: int) -> list[Table]:
    o = _slot(t, i)
    if not o:
        return []
    start = t.Vector(o)
    return [Table(t.Bytes, t.Indirect(start + 4 * k)) for k in range(t.VectorLen(o))]


def _options(op_name: str, t: Table | None):
    i8, i32, f32, b = N.Int8Flags, N.Int32Flags, N.Float32Flags, N.BoolFlags
    if op_name == "CONV_2D":
        return ConvOptions(_scalar(t, 0, i8, 0), _scalar(t, 2, i32, 0), _scalar(t, 1, i32, 0),
                           _scalar(t, 5, i32, 1), _scalar(t, 4, i32, 1), _scalar(t, 3, i8, 0))
    if op_name == "DEPTHWISE_CONV_2D":
        return ConvOptions(_scalar(t, 0, i8, 0), _scalar(t, 2, i32, 0), _scalar(t, 1, i32, 0),
                           _scalar(t, 6, i32, 1), _scalar(t, 5, i32, 1), _scalar(t, 4, i8, 0),
                           _scalar(t, 3, i32, 0))
    if op_name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return PoolOptions(_scalar(t, 0, i8, 0), _scalar(t, 2, i32, 0), _scalar(t, 1, i32, 0),
                           _scalar(t, 4, i32, 0), _scalar(t, 3, i32, 0), _scalar(t, 5, i8, 0))
    if op_name == "FULLY_CONNECTED":
        return ActivationOptions(_scalar(t, 0, i8, 0), keep_num_dims=bool(_scalar(t, 2, b, False)))
    if op_name in ("ADD", "MUL"):
        return ActivationOptions(_scalar(t, 0, i8, 0))
    if op_name == "CONCATENATION":
        return ActivationOptions(_scalar(t, 1, i8, 0), axis=_scalar(t, 0, i32, 0))
    if op_name == "SOFTMAX":
        return SoftmaxOptions(_scalar(t, 0, f32, 0.0))
    if op_name == "MEAN":
        return ReducerOptions(bool(_scalar(t, 0, b, False)))
    return NoOptions()


def _builtin_code(opcode: Table) -> int:
    deprecated = _scalar(opcode, 0, N.Int8Flags, 0)
    code = _scalar(opcode, 3, N.Int32Flags, 0)
    return max(deprecated, code)


def read_operator_options(model: bytes, op_names: list[str]) -> list:
    """Options of every operator of subgraph 0, in operator order.

    `op_names` are the interpreter's op names in the same order (from `_get_ops_details()`),
    used to pick the options table type. Raises ValueError when the model has no subgraph or a
    different number of operators.
    """
    buf = bytearray(model)
    root = Table(buf, flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, 0))
    subgraphs = _tables(root, 2)
    if not subgraphs:
        raise ValueError("model has no subgraph")
    operators = _tables(subgraphs[0], 3)
    if len(operators) != len(op_names):
        raise ValueError(f"model has {len(operators)} operators, interpreter lists {len(op_names)}")
    return [_options(name, _table(op, 4)) for op, name in zip(operators, op_names)]
