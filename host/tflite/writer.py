"""Write the graph IR as a standard TFLite flatbuffer (schema version 3) that LiteRT runs."""
from __future__ import annotations

import numpy as np

from host.errors import ModelError
from host.graph import (
    AddOptions, ConcatenationOptions, Conv2DOptions, DepthwiseConv2DOptions, DType,
    FullyConnectedOptions, Graph, MeanOptions, MulOptions, Op, OpKind, Pool2DOptions,
    ReshapeOptions, SoftmaxOptions, Tensor,
)
from host.tflite import schema
from host.tflite.builder import String, Table, TableVector, Vector, serialize
from host.tflite.schema import Slot

# Operator versions written for int8 graphs (the versions the TFLite converter assigns to
# int8 kernels); float graphs get version 1.
_INT8_VERSIONS = {
    OpKind.CONV_2D: 3, OpKind.DEPTHWISE_CONV_2D: 3, OpKind.FULLY_CONNECTED: 4,
    OpKind.AVERAGE_POOL_2D: 2, OpKind.MAX_POOL_2D: 2, OpKind.ADD: 2, OpKind.MUL: 2,
    OpKind.RESHAPE: 1, OpKind.SOFTMAX: 2, OpKind.LOGISTIC: 2, OpKind.RELU: 2, OpKind.RELU6: 2,
    OpKind.HARD_SWISH: 1, OpKind.PAD: 2, OpKind.CONCATENATION: 2, OpKind.MEAN: 2,
    OpKind.QUANTIZE: 2, OpKind.DEQUANTIZE: 2,
}


def _ints(values) -> Vector:
    return Vector(np.asarray(list(values), dtype=np.int32))


def _tensor_table(tensor: Tensor, buffer_index: int) -> Table:
    t = Table()
    t.child(Slot.TENSOR_SHAPE, _ints(tensor.shape))
    t.scalar(Slot.TENSOR_TYPE, "byte", schema.TENSOR_TYPE_CODES[tensor.dtype])
    t.scalar(Slot.TENSOR_BUFFER, "uint", buffer_index)
    t.child(Slot.TENSOR_NAME, String(tensor.name))
    q = tensor.quantization
    if q is not None:
        qt = Table()
        qt.child(Slot.QUANT_SCALE, Vector(q.scale.astype(np.float32)))
        qt.child(Slot.QUANT_ZERO_POINT, Vector(q.zero_point.astype(np.int64), align=8))
        qt.scalar(Slot.QUANT_DIMENSION, "int", q.axis)
        t.child(Slot.TENSOR_QUANTIZATION, qt)
    if tensor.is_variable:
        t.scalar(Slot.TENSOR_IS_VARIABLE, "bool", True)
    if tensor.shape_signature is not None:
        t.child(Slot.TENSOR_SHAPE_SIGNATURE, _ints(tensor.shape_signature))
    return t


def _options(op: Op) -> tuple[int, Table | None]:
    o = op.options
    act = lambda a: schema.ACTIVATION_CODES[a]  # noqa: E731
    pad = lambda p: schema.PADDING_CODES[p]  # noqa: E731
    if isinstance(o, Conv2DOptions):
        return schema.OPTIONS_CONV_2D, (Table().scalar(0, "byte", pad(o.padding)).scalar(1, "int", o.stride_w)
                                        .scalar(2, "int", o.stride_h).scalar(3, "byte", act(o.activation))
                                        .scalar(4, "int", o.dilation_w).scalar(5, "int", o.dilation_h))
    if isinstance(o, DepthwiseConv2DOptions):
        return schema.OPTIONS_DEPTHWISE_CONV_2D, (
            Table().scalar(0, "byte", pad(o.padding)).scalar(1, "int", o.stride_w)
            .scalar(2, "int", o.stride_h).scalar(3, "int", o.depth_multiplier)
            .scalar(4, "byte", act(o.activation)).scalar(5, "int", o.dilation_w)
            .scalar(6, "int", o.dilation_h))
    if isinstance(o, Pool2DOptions):
        return schema.OPTIONS_POOL_2D, (Table().scalar(0, "byte", pad(o.padding)).scalar(1, "int", o.stride_w)
                                        .scalar(2, "int", o.stride_h).scalar(3, "int", o.filter_w)
                                        .scalar(4, "int", o.filter_h).scalar(5, "byte", act(o.activation)))
    if isinstance(o, FullyConnectedOptions):
        return schema.OPTIONS_FULLY_CONNECTED, (Table().scalar(0, "byte", act(o.activation))
                                                .scalar(1, "byte", 0).scalar(2, "bool", o.keep_num_dims))
    if isinstance(o, SoftmaxOptions):
        return schema.OPTIONS_SOFTMAX, Table().scalar(0, "float", o.beta)
    if isinstance(o, ConcatenationOptions):
        return schema.OPTIONS_CONCATENATION, Table().scalar(0, "int", o.axis).scalar(1, "byte", act(o.activation))
    if isinstance(o, AddOptions):
        return schema.OPTIONS_ADD, Table().scalar(0, "byte", act(o.activation))
    if isinstance(o, MulOptions):
        return schema.OPTIONS_MUL, Table().scalar(0, "byte", act(o.activation))
    if isinstance(o, ReshapeOptions):
        table = Table()
        if o.new_shape is not None:
            table.child(0, _ints(o.new_shape))
        return schema.OPTIONS_RESHAPE, table
    if isinstance(o, MeanOptions):
        return schema.OPTIONS_REDUCER, Table().scalar(0, "bool", o.keep_dims)
    empty = {OpKind.PAD: schema.OPTIONS_PAD, OpKind.QUANTIZE: schema.OPTIONS_QUANTIZE,
             OpKind.DEQUANTIZE: schema.OPTIONS_DEQUANTIZE, OpKind.HARD_SWISH: schema.OPTIONS_HARD_SWISH}
    if op.kind in empty:
        return empty[op.kind], Table()
    return 0, None


def _tensor_bytes(tensor: Tensor) -> np.ndarray:
    data = np.ascontiguousarray(tensor.data, dtype=tensor.dtype.numpy.newbyteorder("<"))
    if tuple(data.shape) != tuple(tensor.shape):
        raise ModelError(f"tensor {tensor.name!r}: data shape {data.shape} != shape {tensor.shape}")
    return data.reshape(-1).view(np.uint8)


def write_model(graph: Graph) -> bytes:
    """Serialize `graph` as a TFLite flatbuffer (one subgraph, one buffer per constant).

    Raises `ModelError` when the graph holds unsupported ops or a constant whose data does
    not match its declared shape.
    """
    bad = [graph.describe_op(i) for i, op in enumerate(graph.ops) if op.kind is OpKind.UNSUPPORTED]
    if bad:
        raise ModelError("cannot write unsupported ops: " + "; ".join(bad))
    int8 = any(t.dtype is DType.INT8 for t in graph.tensors)
    kinds: list[OpKind] = []
    for op in graph.ops:
        if op.kind not in kinds:
            kinds.append(op.kind)
    opcodes = []
    for kind in kinds:
        code = schema.OP_CODES[kind]
        opcodes.append(Table().scalar(Slot.OPCODE_DEPRECATED_BUILTIN, "byte", min(code, 127))
                       .scalar(Slot.OPCODE_VERSION, "int", _INT8_VERSIONS[kind] if int8 else 1)
                       .scalar(Slot.OPCODE_BUILTIN, "int", code))
    buffers = [Table()]  # buffer 0: the empty sentinel
    tensors = []
    for tensor in graph.tensors:
        index = 0
        if tensor.data is not None:
            index = len(buffers)
            buffers.append(Table().child(Slot.BUFFER_DATA, Vector(_tensor_bytes(tensor), align=16)))
        tensors.append(_tensor_table(tensor, index))
    operators = []
    for op in graph.ops:
        options_type, options = _options(op)
        t = (Table().scalar(Slot.OP_OPCODE_INDEX, "uint", kinds.index(op.kind))
             .child(Slot.OP_INPUTS, _ints(op.inputs)).child(Slot.OP_OUTPUTS, _ints(op.outputs)))
        if options is not None:
            t.scalar(Slot.OP_OPTIONS_TYPE, "ubyte", options_type).child(Slot.OP_OPTIONS, options)
        operators.append(t)
    subgraph = (Table().child(Slot.SUBGRAPH_TENSORS, TableVector(tensors))
                .child(Slot.SUBGRAPH_INPUTS, _ints(graph.inputs))
                .child(Slot.SUBGRAPH_OUTPUTS, _ints(graph.outputs))
                .child(Slot.SUBGRAPH_OPERATORS, TableVector(operators))
                .child(Slot.SUBGRAPH_NAME, String("main")))
    model = (Table().scalar(Slot.MODEL_VERSION, "uint", schema.SCHEMA_VERSION)
             .child(Slot.MODEL_OPERATOR_CODES, TableVector(opcodes))
             .child(Slot.MODEL_SUBGRAPHS, TableVector([subgraph]))
             .child(Slot.MODEL_DESCRIPTION, String(graph.description or "dcagent"))
             .child(Slot.MODEL_BUFFERS, TableVector(buffers)))
    return serialize(model, schema.FILE_IDENTIFIER)
