"""Test-only writer of single-operator .tflite models, so generated kernel cases run in LiteRT.

Writes the flatbuffer directly with the `flatbuffers` runtime (a dependency of ai-edge-litert)
using the field numbers of TFLite's schema.fbs. Only what the kernel tests need: one subgraph,
one operator, int8/int32/float32 tensors with per-tensor or per-channel quantization, and the
builtin options of the ops under test.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np

BUILTIN_CODES = {
    "ADD": 0, "AVERAGE_POOL_2D": 1, "CONCATENATION": 2, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 4,
    "DEQUANTIZE": 6, "FULLY_CONNECTED": 9, "LOGISTIC": 14, "MAX_POOL_2D": 17, "MUL": 18, "RELU": 19,
    "RELU_N1_TO_1": 20, "RELU6": 21, "SOFTMAX": 25, "PAD": 34, "MEAN": 40, "PADV2": 60,
    "QUANTIZE": 114, "HARD_SWISH": 117,
}
# BuiltinOptions union member per op, and the options' scalar fields as (slot, kind, value) triples.
OPTIONS_TYPE = {
    "CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "AVERAGE_POOL_2D": 5, "MAX_POOL_2D": 5, "FULLY_CONNECTED": 8,
    "SOFTMAX": 9, "CONCATENATION": 10, "ADD": 11, "MUL": 21, "MEAN": 27,
}
TYPES = {np.dtype(np.float32): 0, np.dtype(np.int32): 2, np.dtype(np.int8): 9}


@dataclass
class Tensor:
    shape: tuple[int, ...]
    dtype: type
    scales: list[float] = field(default_factory=list)
    zero_points: list[int] = field(default_factory=list)
    quantized_dimension: int = 0
    data: np.ndarray | None = None   # constant tensors only


def conv_options(padding, stride_h, stride_w, activation, dilation_h=1, dilation_w=1):
    return [(0, "int8", padding), (1, "int32", stride_w), (2, "int32", stride_h), (3, "int8", activation),
            (4, "int32", dilation_w), (5, "int32", dilation_h)]


def depthwise_options(padding, stride_h, stride_w, depth_multiplier, activation, dilation_h=1, dilation_w=1):
    return [(0, "int8", padding), (1, "int32", stride_w), (2, "int32", stride_h), (3, "int32", depth_multiplier),
            (4, "int8", activation), (5, "int32", dilation_w), (6, "int32", dilation_h)]


def pool_options(padding, stride_h, stride_w, filter_h, filter_w, activation):
    return [(0, "int8", padding), (1, "int32", stride_w), (2, "int32", stride_h), (3, "int32", filter_w),
            (4, "int32", filter_h), (5, "int8", activation)]


def activation_options(activation):
    return [(0, "int8", activation)]


def _prepend_slot(b: flatbuffers.Builder, slot: int, kind: str, value) -> None:
    {"int8": b.PrependInt8Slot, "int32": b.PrependInt32Slot, "float32": b.PrependFloat32Slot,
     "bool": b.PrependBoolSlot}[kind](slot, value, 0 if kind != "float32" else 0.0)


def _vector(b: flatbuffers.Builder, values, kind: str) -> int:
    arr = np.asarray(values, dtype={"int32": np.int32, "int64": np.int64, "float32": np.float32, "uint8": np.uint8}[kind])
    return b.CreateNumpyVector(arr)


def _offsets(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def build_model(op: str, tensors: list[Tensor], inputs: list[int], outputs: list[int],
                options: list | None = None) -> bytes:
    """A .tflite model running `op` once on `tensors[inputs]` into `tensors[outputs]`.

    Tensors without `data` become subgraph inputs (those among `inputs`) or intermediates.
    """
    b = flatbuffers.Builder(4096)
    b.ForceDefaults(True)
    # Buffers: 0 is the empty sentinel; each constant tensor gets its own.
    buffer_index, datas = [], []
    for t in tensors:
        if t.data is None:
            buffer_index.append(0)
        else:
            datas.append(np.ascontiguousarray(t.data, dtype=t.dtype).tobytes())
            buffer_index.append(len(datas))
    buffer_offs = []
    for raw in [None] + datas:
        data_off = None if raw is None else _vector(b, np.frombuffer(raw, np.uint8), "uint8")
        b.StartObject(3)
        if data_off is not None:
            b.PrependUOffsetTRelativeSlot(0, data_off, 0)
        buffer_offs.append(b.EndObject())

    tensor_offs = []
    for k, t in enumerate(tensors):
        shape = _vector(b, list(t.shape), "int32")
        name = b.CreateString(f"t{k}")
        quant = None
        if t.scales:
            sc = _vector(b, t.scales, "float32")
            zp = _vector(b, t.zero_points, "int64")
            b.StartObject(7)
            b.PrependUOffsetTRelativeSlot(2, sc, 0)
            b.PrependUOffsetTRelativeSlot(3, zp, 0)
            b.PrependInt32Slot(6, t.quantized_dimension, 0)
            quant = b.EndObject()
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(0, shape, 0)
        b.PrependInt8Slot(1, TYPES[np.dtype(t.dtype)], 0)
        b.PrependUint32Slot(2, buffer_index[k], 0)
        b.PrependUOffsetTRelativeSlot(3, name, 0)
        if quant is not None:
            b.PrependUOffsetTRelativeSlot(4, quant, 0)
        tensor_offs.append(b.EndObject())

    opts_off = None
    if options:
        b.StartObject(max(slot for slot, _, _ in options) + 1)
        for slot, kind, value in options:
            _prepend_slot(b, slot, kind, value)
        opts_off = b.EndObject()
    op_inputs = _vector(b, inputs, "int32")
    op_outputs = _vector(b, outputs, "int32")
    b.StartObject(5)
    b.PrependUint32Slot(0, 0, 0)
    b.PrependUOffsetTRelativeSlot(1, op_inputs, 0)
    b.PrependUOffsetTRelativeSlot(2, op_outputs, 0)
    if opts_off is not None:
        b.PrependUint8Slot(3, OPTIONS_TYPE[op], 0)
        b.PrependUOffsetTRelativeSlot(4, opts_off, 0)
    operator = b.EndObject()

    graph_inputs = _vector(b, [i for i in inputs if tensors[i].data is None], "int32")
    graph_outputs = _vector(b, outputs, "int32")
    tensors_vec = _offsets(b, tensor_offs)
    ops_vec = _offsets(b, [operator])
    name = b.CreateString("main")
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, tensors_vec, 0)
    b.PrependUOffsetTRelativeSlot(1, graph_inputs, 0)
    b.PrependUOffsetTRelativeSlot(2, graph_outputs, 0)
    b.PrependUOffsetTRelativeSlot(3, ops_vec, 0)
    b.PrependUOffsetTRelativeSlot(4, name, 0)
    subgraph = b.EndObject()

    code = BUILTIN_CODES[op]
    b.StartObject(4)
    b.PrependInt8Slot(0, min(code, 127), 0)
    b.PrependInt32Slot(2, 1, 0)
    b.PrependInt32Slot(3, code, 0)
    opcode = b.EndObject()

    opcodes_vec = _offsets(b, [opcode])
    subgraphs_vec = _offsets(b, [subgraph])
    buffers_vec = _offsets(b, buffer_offs)
    desc = b.CreateString("dcagent kernel test")
    b.StartObject(5)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(1, opcodes_vec, 0)
    b.PrependUOffsetTRelativeSlot(2, subgraphs_vec, 0)
    b.PrependUOffsetTRelativeSlot(3, desc, 0)
    b.PrependUOffsetTRelativeSlot(4, buffers_vec, 0)
    model = b.EndObject()
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())
