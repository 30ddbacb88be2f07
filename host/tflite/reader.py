"""Read a TFLite flatbuffer into the graph IR, without TensorFlow.

Constant tensors are zero-copy, read-only numpy views into the model bytes (float16 weights
that feed a DEQUANTIZE are folded to float32 constants). Everything the compressor cannot
handle is collected and raised together as one `UnsupportedModelError` (a `ModelError`).
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from host.errors import ModelError
from host.graph import (
    Activation, AddOptions, ConcatenationOptions, Conv2DOptions, DepthwiseConv2DOptions,
    DType, FullyConnectedOptions, Graph, MeanOptions, MulOptions, NoOptions, Op, OpKind, Problem,
    Pool2DOptions, Quantization, ReshapeOptions, SoftmaxOptions, Tensor, UnsupportedModelError,
    UnsupportedOptions, find_problems,
)
from host.tflite import schema
from host.tflite.flatbuffer import Buffer, Table
from host.tflite.schema import Slot

_MAX_RANK = 8


class _Reader:
    """State of one read: the buffer, the buffers table, problems found so far."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.buf = Buffer(data)
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str, op_index: int | None = None) -> None:
        self.problems.append(Problem(op_index, where, message))

    # -- model ---------------------------------------------------------------------------
    def read(self) -> Graph:
        buf = self.buf
        if buf.size < 8:
            raise ModelError(f"not a TFLite model: {buf.size} bytes is too short")
        ident = bytes(buf.data[4:8])
        if ident != schema.FILE_IDENTIFIER:
            raise ModelError(
                f"not a TFLite model: file identifier {ident!r}, expected {schema.FILE_IDENTIFIER!r}",
                hint="pass a .tflite flatbuffer",
            )
        model = buf.root("Model")
        version = model.scalar(Slot.MODEL_VERSION, "uint", 0, "version")
        if version != schema.SCHEMA_VERSION:
            raise ModelError(f"unsupported TFLite schema version {version} (expected 3)")
        self.opcodes = [self._opcode(t) for t in model.tables(Slot.MODEL_OPERATOR_CODES, "operator_codes")]
        self.buffers = model.tables(Slot.MODEL_BUFFERS, "buffers")
        subgraphs = model.tables(Slot.MODEL_SUBGRAPHS, "subgraphs")
        if not subgraphs:
            raise ModelError("TFLite model has no subgraph")
        if len(subgraphs) > 1:
            self.problem("model", f"{len(subgraphs)} subgraphs (control flow); only one is supported")
        description = model.string(Slot.MODEL_DESCRIPTION, "description") or ""
        graph = self._subgraph(subgraphs[0])
        graph.description = description
        _fold_float16_dequantize(graph)
        return graph

    def _opcode(self, table: Table) -> tuple[int, str | None]:
        deprecated = table.scalar(Slot.OPCODE_DEPRECATED_BUILTIN, "byte", 0, "deprecated_builtin_code")
        builtin = table.scalar(Slot.OPCODE_BUILTIN, "int", 0, "builtin_code")
        custom = table.string(Slot.OPCODE_CUSTOM, "custom_code")
        return max(deprecated, builtin), custom

    # -- subgraph ------------------------------------------------------------------------
    def _subgraph(self, sub: Table) -> Graph:
        tensors = [self._tensor(i, t) for i, t in enumerate(sub.tables(Slot.SUBGRAPH_TENSORS, "tensors"))]
        graph = Graph(tensors=tensors)
        graph.inputs = _indices(sub.vector(Slot.SUBGRAPH_INPUTS, "int", "inputs"))
        graph.outputs = _indices(sub.vector(Slot.SUBGRAPH_OUTPUTS, "int", "outputs"))
        for op_index, table in enumerate(sub.tables(Slot.SUBGRAPH_OPERATORS, "operators")):
            graph.ops.append(self._operator(op_index, table))
        return graph

    def _tensor(self, index: int, t: Table) -> Tensor:
        name = t.string(Slot.TENSOR_NAME, "name") or f"tensor_{index}"
        where = f"tensor {index} {name!r}"
        shape_vec = t.vector(Slot.TENSOR_SHAPE, "int", "shape")
        shape = tuple(int(d) for d in shape_vec) if shape_vec is not None else ()
        if len(shape) > _MAX_RANK or any(d < 0 for d in shape):
            raise ModelError(f"corrupt TFLite file: {where} has invalid shape {shape}")
        signature_vec = t.vector(Slot.TENSOR_SHAPE_SIGNATURE, "int", "shape_signature")
        signature = tuple(int(d) for d in signature_vec) if signature_vec is not None else None
        code = t.scalar(Slot.TENSOR_TYPE, "byte", 0, "type")
        dtype = schema.TENSOR_TYPES.get(code)
        if dtype is None:
            self.problem(where, f"element type {schema.TENSOR_TYPE_NAMES.get(code, code)} not supported")
            dtype = DType.INT8  # placeholder; the model is rejected
        if t.has(Slot.TENSOR_SPARSITY):
            self.problem(where, "sparse tensors are not supported")
        quant = self._quantization(where, t.table(Slot.TENSOR_QUANTIZATION, "quantization"), shape)
        data = self._data(where, t.scalar(Slot.TENSOR_BUFFER, "uint", 0, "buffer"), shape, dtype, code)
        return Tensor(
            name=name, shape=shape, dtype=dtype, quantization=quant, data=data,
            shape_signature=signature,
            is_variable=t.scalar(Slot.TENSOR_IS_VARIABLE, "bool", False, "is_variable"),
        )

    def _quantization(self, where: str, q: Table | None, shape: tuple[int, ...]) -> Quantization | None:
        if q is None:
            return None
        scale = q.vector(Slot.QUANT_SCALE, "float", "scale")
        zero = q.vector(Slot.QUANT_ZERO_POINT, "long", "zero_point")
        if q.scalar(Slot.QUANT_DETAILS_TYPE, "ubyte", 0, "details_type") != 0:
            self.problem(where, "custom/blockwise quantization is not supported")
        if scale is None or scale.size == 0:
            return None  # min/max only (no quantization applied)
        axis = q.scalar(Slot.QUANT_DIMENSION, "int", 0, "quantized_dimension")
        if zero is None or zero.size == 0:
            zero = np.zeros(scale.size, dtype=np.int64)
        if zero.size != scale.size:
            raise ModelError(f"corrupt TFLite file: {where} has {scale.size} scales but {zero.size} zero points")
        if scale.size > 1 and not (0 <= axis < len(shape) and shape[axis] == scale.size):
            raise ModelError(f"corrupt TFLite file: {where} has {scale.size} scales on dimension {axis} "
                             f"of shape {shape}")
        return Quantization(scale=scale, zero_point=zero, axis=axis)

    def _data(self, where: str, index: int, shape: tuple[int, ...], dtype: DType, code: int) -> np.ndarray | None:
        if index == 0:
            return None  # buffer 0 is the empty sentinel
        if index >= len(self.buffers):
            raise ModelError(f"corrupt TFLite file: {where} refers to buffer {index} of {len(self.buffers)}")
        b = self.buffers[index]
        raw = b.vector(Slot.BUFFER_DATA, "ubyte", "data")
        offset = b.scalar(Slot.BUFFER_OFFSET, "ulong", 0, "offset")
        if (raw is None or raw.size == 0) and offset > 1:
            size = b.scalar(Slot.BUFFER_SIZE, "ulong", 0, "size")
            self.buf.check(offset, size, f"{where} external buffer")
            raw = np.frombuffer(self.buf.data, dtype=np.uint8, count=size, offset=offset)
        if raw is None or raw.size == 0:
            return None
        if code not in schema.TENSOR_TYPES:
            return None
        count = 1
        for d in shape:
            count *= d
        np_dtype = dtype.numpy.newbyteorder("<")
        if raw.size != count * np_dtype.itemsize:
            raise ModelError(f"corrupt TFLite file: {where} has {raw.size} data bytes, shape {shape} "
                             f"of {dtype.value} needs {count * np_dtype.itemsize}")
        return raw.view(np_dtype).reshape(shape)

    # -- operators -----------------------------------------------------------------------
    def _operator(self, op_index: int, t: Table) -> Op:
        opcode_index = t.scalar(Slot.OP_OPCODE_INDEX, "uint", 0, "opcode_index")
        if opcode_index >= len(self.opcodes):
            raise ModelError(f"corrupt TFLite file: operator {op_index} refers to operator code "
                             f"{opcode_index} of {len(self.opcodes)}")
        code, custom = self.opcodes[opcode_index]
        inputs = tuple(_indices(t.vector(Slot.OP_INPUTS, "int", "inputs")))
        outputs = tuple(_indices(t.vector(Slot.OP_OUTPUTS, "int", "outputs")))
        kind = schema.OP_KINDS.get(code)
        if kind is None:
            name = schema.BUILTIN_OPERATOR_NAMES[code] if 0 <= code < len(schema.BUILTIN_OPERATOR_NAMES) else f"builtin {code}"
            if custom is not None:
                name = f"CUSTOM {custom!r}"
            return Op(OpKind.UNSUPPORTED, inputs, outputs, UnsupportedOptions(name))
        options_type = t.scalar(Slot.OP_OPTIONS_TYPE, "ubyte", 0, "builtin_options_type")
        table = t.table(Slot.OP_OPTIONS, "builtin_options") if options_type else None
        try:
            options = _OPTION_READERS[kind](table, options_type)
        except _BadOptions as exc:
            return Op(OpKind.UNSUPPORTED, inputs, outputs, UnsupportedOptions(kind.value, str(exc)))
        return Op(kind, inputs, outputs, options)


class _BadOptions(Exception):
    """An op's options use a feature we do not support (turned into an UNSUPPORTED op)."""


def _indices(vec: np.ndarray | None) -> list[int]:
    return [] if vec is None else [int(i) for i in vec]


def _expect(table: Table | None, options_type: int, expected: int) -> Table | None:
    if table is not None and options_type != expected:
        raise _BadOptions(f"builtin_options of union type {options_type}, expected {expected}")
    return table


def _activation(table: Table | None, slot: int) -> Activation:
    code = table.scalar(slot, "byte", 0, "fused_activation_function") if table is not None else 0
    if code not in schema.ACTIVATIONS:
        raise _BadOptions(f"fused activation {schema.ACTIVATION_NAMES.get(code, code)} not supported")
    return schema.ACTIVATIONS[code]


def _padding(table: Table | None) -> schema.Padding:
    code = table.scalar(0, "byte", 0, "padding") if table is not None else 0
    if code not in schema.PADDINGS:
        raise _BadOptions(f"padding {code} not supported")
    return schema.PADDINGS[code]


def _int(table: Table | None, slot: int, default: int, name: str) -> int:
    return table.scalar(slot, "int", default, name) if table is not None else default


def _conv(table, options_type):
    t = _expect(table, options_type, schema.OPTIONS_CONV_2D)
    return Conv2DOptions(
        padding=_padding(t), stride_w=_int(t, 1, 0, "stride_w"), stride_h=_int(t, 2, 0, "stride_h"),
        activation=_activation(t, 3), dilation_w=_int(t, 4, 1, "dilation_w_factor"),
        dilation_h=_int(t, 5, 1, "dilation_h_factor"),
    )


def _depthwise(table, options_type):
    t = _expect(table, options_type, schema.OPTIONS_DEPTHWISE_CONV_2D)
    return DepthwiseConv2DOptions(
        padding=_padding(t), stride_w=_int(t, 1, 0, "stride_w"), stride_h=_int(t, 2, 0, "stride_h"),
        depth_multiplier=_int(t, 3, 0, "depth_multiplier"), activation=_activation(t, 4),
        dilation_w=_int(t, 5, 1, "dilation_w_factor"), dilation_h=_int(t, 6, 1, "dilation_h_factor"),
    )


def _pool(table, options_type):
    t = _expect(table, options_type, schema.OPTIONS_POOL_2D)
    return Pool2DOptions(
        padding=_padding(t), stride_w=_int(t, 1, 0, "stride_w"), stride_h=_int(t, 2, 0, "stride_h"),
        filter_w=_int(t, 3, 0, "filter_width"), filter_h=_int(t, 4, 0, "filter_height"),
        activation=_activation(t, 5),
    )


def _fully_connected(table, options_type):
    t = _expect(table, options_type, schema.OPTIONS_FULLY_CONNECTED)
    if t is not None:
        if t.scalar(1, "byte", 0, "weights_format") != 0:
            raise _BadOptions("shuffled weights format not supported")
        if t.scalar(3, "bool", False, "asymmetric_quantize_inputs"):
            raise _BadOptions("hybrid (asymmetric_quantize_inputs) not supported")
    return FullyConnectedOptions(
        activation=_activation(t, 0),
        keep_num_dims=bool(t.scalar(2, "bool", False, "keep_num_dims")) if t is not None else False,
    )


def _softmax(table, options_type):
    t = _expect(table, options_type, schema.OPTIONS_SOFTMAX)
    return SoftmaxOptions(beta=float(t.scalar(0, "float", 0.0, "beta")) if t is not None else 1.0)


def _concatenation(table, options_type):
    t = _expect(table, options_type, schema.OPTIONS_CONCATENATION)
    return ConcatenationOptions(axis=_int(t, 0, 0, "axis"), activation=_activation(t, 1))


def _add(table, options_type):
    return AddOptions(activation=_activation(_expect(table, options_type, schema.OPTIONS_ADD), 0))


def _mul(table, options_type):
    return MulOptions(activation=_activation(_expect(table, options_type, schema.OPTIONS_MUL), 0))


def _reshape(table, options_type):
    t = _expect(table, options_type, schema.OPTIONS_RESHAPE)
    vec = t.vector(0, "int", "new_shape") if t is not None else None
    return ReshapeOptions(new_shape=tuple(int(d) for d in vec) if vec is not None else None)


def _mean(table, options_type):
    t = _expect(table, options_type, schema.OPTIONS_REDUCER)
    return MeanOptions(keep_dims=bool(t.scalar(0, "bool", False, "keep_dims")) if t is not None else False)


def _none(table, options_type):
    return NoOptions()


_OPTION_READERS = {
    OpKind.CONV_2D: _conv,
    OpKind.DEPTHWISE_CONV_2D: _depthwise,
    OpKind.FULLY_CONNECTED: _fully_connected,
    OpKind.AVERAGE_POOL_2D: _pool,
    OpKind.MAX_POOL_2D: _pool,
    OpKind.ADD: _add,
    OpKind.MUL: _mul,
    OpKind.RESHAPE: _reshape,
    OpKind.SOFTMAX: _softmax,
    OpKind.LOGISTIC: _none,
    OpKind.RELU: _none,
    OpKind.RELU6: _none,
    OpKind.HARD_SWISH: _none,
    OpKind.PAD: _none,
    OpKind.CONCATENATION: _concatenation,
    OpKind.MEAN: _mean,
    OpKind.QUANTIZE: _none,
    OpKind.DEQUANTIZE: _none,
}


def _fold_float16_dequantize(graph: Graph) -> None:
    """Replace DEQUANTIZE(constant float16) by a float32 constant (weights stored as float16)."""
    kept = []
    for op in graph.ops:
        if op.kind is OpKind.DEQUANTIZE and len(op.inputs) == 1 and len(op.outputs) == 1:
            source = graph.tensors[op.inputs[0]] if 0 <= op.inputs[0] < len(graph.tensors) else None
            target = graph.tensors[op.outputs[0]] if 0 <= op.outputs[0] < len(graph.tensors) else None
            if (source is not None and target is not None and source.is_constant
                    and source.dtype is DType.FLOAT16 and target.dtype is DType.FLOAT32):
                target.data = source.data.astype(np.float32)
                continue
        kept.append(op)
    graph.ops = kept


def read_model(source: str | os.PathLike | bytes | bytearray | memoryview, *, validate: bool = True) -> Graph:
    """Read a TFLite model (a path or its bytes) into a `Graph`.

    With `validate` (the default), the graph is also checked for everything the compressor and
    the reference interpreter need. Raises `ModelError` when the file cannot be read or is
    corrupt, and `UnsupportedModelError` (a `ModelError`) listing every unsupported op, type or
    quantization with its op index and tensor names.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = source
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from exc
    reader = _Reader(data)
    try:
        graph = reader.read()
    except ModelError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError, struct.error, MemoryError) as exc:
        raise ModelError(f"corrupt TFLite file: {type(exc).__name__}: {exc}") from exc
    problems = list(reader.problems)
    if validate:
        problems.extend(find_problems(graph))
    if problems:
        raise UnsupportedModelError(problems)
    return graph
