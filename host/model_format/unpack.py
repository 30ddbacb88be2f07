""".dcb container -> Graph: the inverse of pack (docs/bitstream.md section 4, "Graph")."""
from __future__ import annotations

from typing import Any

import numpy as np

from host.container.layout import LevelDtype
from host.container.metadata import LevelEncoding, Metadata, TensorInfo
from host.container.reader import Container, open_container
from host.errors import BitstreamError, ModelError
from host.graph import (NO_TENSOR, CodebookLevels, DependentLevels, DType, Graph, Op, OpKind, Quantization,
                        ScaledLevels, Tensor, TensorEncoding, UniformLevels, find_problems, scaled_level_range,
                        uniform_max_level)
from host.model_format.options import check_derived, op_options
from host.model_format.pack import IR_EXTENSION, bias_scale

_DTYPES = {LevelDtype.INT8: DType.INT8, LevelDtype.INT16: DType.INT16, LevelDtype.INT32: DType.INT32}


def _bad(message: str) -> BitstreamError:
    return BitstreamError(message, status="DC_ERR_METADATA")


def weight_encoding(rule: LevelEncoding, levels: np.ndarray, where: str) -> TensorEncoding:
    """The IR encoding of decoded `levels` under `rule`; BitstreamError (DC_ERR_CORRUPT) for a
    level the rule cannot rebuild (as the device's decoder reports it)."""
    levels = np.asarray(levels).astype(np.int32)
    if rule.rule == "scaled":
        low, high = scaled_level_range(rule.shift)
        if levels.size and (int(levels.min()) < low or int(levels.max()) > high):
            raise BitstreamError(f"{where}: a level leaves {low}..{high}: its value times 2^{rule.shift} "
                                 "would leave int32", status="DC_ERR_CORRUPT")
        return ScaledLevels(levels, rule.shift)
    if rule.rule == "codebook":
        book = np.frombuffer(rule.codebook, dtype=np.int8).copy()
        index = levels.astype(np.int64) + rule.zero_index
        if levels.size and (index.min() < 0 or index.max() >= book.size):
            raise BitstreamError(f"{where}: a level indexes outside the {book.size}-entry codebook",
                                 status="DC_ERR_CORRUPT")
        return CodebookLevels(levels, rule.bits, book, rule.zero_index)
    limit = uniform_max_level(rule.bits)
    if levels.size and int(np.abs(levels).max()) > limit:
        raise BitstreamError(f"{where}: level {int(np.abs(levels).max())} exceeds {limit} ({rule.bits} bits)",
                             status="DC_ERR_CORRUPT")
    if rule.rule == "dependent":
        return DependentLevels(levels, rule.bits, rule.step)
    return UniformLevels(levels, rule.bits, rule.step)


def _tensor(info: TensorInfo, name: str, data: np.ndarray | None, signature: Any) -> Tensor:
    q = info.quantization
    quantization = None if q is None else Quantization(np.asarray(q.scale, dtype=np.float32),
                                                        np.asarray(q.zero_point, dtype=np.int64), q.axis)
    dtype = _DTYPES[info.dtype]
    encoding = None
    if data is not None:
        data = np.asarray(data).reshape(info.shape)
        if info.encoding is not None:
            encoding = weight_encoding(info.encoding, data, f"tensor {name!r}")
            data = encoding.reconstruct()
        data = data.astype(dtype.numpy)
    return Tensor(name=name, shape=tuple(info.shape), dtype=dtype, quantization=quantization, data=data,
                  shape_signature=None if signature is None else tuple(int(d) for d in signature),
                  encoding=encoding)


def _ir_extension(metadata: Metadata, count: int) -> tuple[list[int], list[Any], str, list[int]]:
    """(order, shape signatures, description, derived biases) from extensions["ir"], or the
    identity when absent."""
    ext = (metadata.extensions or {}).get(IR_EXTENSION)
    if ext is None:
        return list(range(count)), [None] * count, "", []
    if not isinstance(ext, dict):
        raise _bad(f"extensions.{IR_EXTENSION} must be a map")
    order = ext.get("order", list(range(count)))
    signatures, description = ext.get("shape_signatures", [None] * count), ext.get("description", "")
    if not isinstance(order, list) or sorted(order) != list(range(count)):
        raise _bad(f"extensions.{IR_EXTENSION}.order must be a permutation of 0..{count - 1}")
    if not isinstance(signatures, list) or len(signatures) != count or not all(
            s is None or (isinstance(s, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in s))
            for s in signatures):
        raise _bad(f"extensions.{IR_EXTENSION}.shape_signatures must hold {count} int arrays or nulls")
    if not isinstance(description, str):
        raise _bad(f"extensions.{IR_EXTENSION}.description must be text")
    derived = ext.get("derived_bias", [])
    coded = len(metadata.tensors)
    if not isinstance(derived, list) or not all(isinstance(k, int) and not isinstance(k, bool) and 0 <= k < coded
                                                and metadata.tensors[k].quantization is None for k in derived):
        raise _bad(f"extensions.{IR_EXTENSION}.derived_bias must list coded tensors without quantization")
    return order, signatures, description, derived


def _derive_bias_quantization(graph: Graph, biases: set[int]) -> None:
    for op in graph.ops:
        if len(op.inputs) >= 3 and op.inputs[2] in biases and min(op.inputs[:3]) >= 0:
            x, w, b = (graph.tensors[i] for i in op.inputs[:3])
            if x.quantization is None or w.quantization is None:
                raise _bad(f"derived bias {b.name!r}: its op's input or weights are not quantized")
            scale = bias_scale(x.quantization.scale[0], w.quantization.scale)
            b.quantization = Quantization(scale, np.zeros(scale.size, dtype=np.int64), 0)
            biases = biases - {op.inputs[2]}
    if biases:
        raise _bad(f"derived biases {sorted(biases)} are not the bias of a CONV_2D, DEPTHWISE_CONV_2D or "
                   "FULLY_CONNECTED")


def unpack(container: Container | bytes, *, progress=None) -> Graph:
    """The graph a container holds, every constant decoded (equal to the graph `pack` was given).

    Encoded weights and scaled biases are rebuilt from their levels by their rule
    (`Tensor.encoding` set, `data` the rebuilt int8 / int32 values); unnamed tensors are named `t<index>`. `progress(done, total)` is
    called after each decoded tensor. Raises BitstreamError (a malformed container, a bad
    operand reference or option: DC_ERR_METADATA; payloads: the coder's statuses; a level the
    rule cannot rebuild: DC_ERR_CORRUPT), ModelError for an op this host does not know.
    """
    if not isinstance(container, Container):
        container = open_container(container)
    if container.header.is_delta:
        raise BitstreamError("a delta container needs its base to unpack", status="DC_ERR_BASE")
    metadata = container.metadata
    infos = list(metadata.tensors) + list(metadata.graph.values)
    count = len(infos)
    order, signatures, description, derived = _ir_extension(metadata, count)
    tensors: list[Tensor | None] = [None] * count
    coded = len(metadata.tensors)
    for k, info in enumerate(infos):
        data = container.levels(k) if k < coded else None
        tensors[order[k]] = _tensor(info, info.name or f"t{order[k]}", data, signatures[k])
        if progress is not None and k < coded:
            progress(k + 1, coded)
    graph = Graph(tensors=tensors, description=description)

    def ir(operand: int, where: str, *, optional: bool = False) -> int:
        if optional and operand == -1:
            return NO_TENSOR
        if not 0 <= operand < count:
            raise _bad(f"{where}: operand {operand} outside 0..{count - 1}")
        return order[operand]

    graph.inputs = [ir(i, "metadata.graph.inputs") for i in metadata.graph.inputs]
    graph.outputs = [ir(i, "metadata.graph.outputs") for i in metadata.graph.outputs]
    for index, node in enumerate(metadata.graph.nodes):
        where = f"metadata.graph.nodes[{index}] ({node.op})"
        try:
            kind = OpKind(node.op)
        except ValueError:
            raise ModelError(f"{where}: op {node.op!r} is not known to this version of dcagent") from None
        if kind is OpKind.UNSUPPORTED:
            raise ModelError(f"{where}: op {node.op!r} is not known to this version of dcagent")
        op = Op(kind=kind, inputs=tuple(ir(i, where, optional=True) for i in node.inputs),
                outputs=tuple(ir(i, where) for i in node.outputs), options=op_options(kind, node.options, where))
        graph.ops.append(op)
    _derive_bias_quantization(graph, {order[k] for k in derived})
    problems = find_problems(graph)
    if problems:
        raise _bad("the graph in the metadata is not valid: " + "; ".join(str(p) for p in problems[:5]))
    for index, (node, op) in enumerate(zip(metadata.graph.nodes, graph.ops)):
        try:
            check_derived(graph, op, node.options, f"metadata.graph.nodes[{index}] ({node.op})")
        except (ModelError, IndexError, AttributeError, TypeError) as exc:
            raise _bad(f"metadata.graph.nodes[{index}] ({node.op}): its parameters cannot be derived "
                       f"from the graph: {exc}") from exc
    return graph
