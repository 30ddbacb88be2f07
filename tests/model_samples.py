"""A small int8 graph using most ops, and containers whose graph is broken in one way each.

Shared by the model-format and runtime tests and by tests/vectors/gen_model.py (the golden
vectors and fuzz seeds of the runtime's graph builder).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from host.container.layout import LevelDtype
from host.container.metadata import Metadata, Node, TensorInfo
from host.container.reader import open_container
from host.container.writer import TensorPayload, build_container
from host.graph import (Activation, AddOptions, CodebookLevels, Conv2DOptions, DependentLevels, DepthwiseConv2DOptions,
                        DType, FullyConnectedOptions, Graph, NoOptions, Op, OpKind, Padding, Pool2DOptions,
                        ReshapeOptions, ScaledLevels, SoftmaxOptions, UniformLevels, dependent_step,
                        uniform_max_level, uniform_step)
from host.model_format import pack
from tests.op_models import GraphMaker


def encode_weights(tensor, rule: str, bits: int, seed: int) -> None:
    """Give int8 weight `tensor` random levels under `rule` (docs/compression.md) and the int8
    values they rebuild: some levels 0 (pruned), the encoding set, `data` its reconstruction."""
    rng = np.random.default_rng(seed)
    shape = tensor.shape
    q = uniform_max_level(bits)
    if rule == "codebook":
        book = np.array(sorted({0, *rng.integers(-127, 128, size=(1 << bits) - 1).tolist()}), dtype=np.int8)
        zero = int(np.flatnonzero(book == 0)[0])
        levels = rng.integers(-zero, book.size - zero, size=shape).astype(np.int32)
        encoding = CodebookLevels(levels, bits, book, zero)
    else:
        levels = rng.integers(-q, q + 1, size=shape).astype(np.int32)
        encoding = (DependentLevels(levels, bits, dependent_step(bits)) if rule == "dependent"
                    else UniformLevels(levels, bits, uniform_step(bits)))
    levels[rng.random(shape) < 0.3] = 0
    tensor.encoding = encoding
    tensor.data = encoding.reconstruct()


def scale_bias(tensor, shift: int) -> None:
    """Store int32 bias `tensor` by rule scaled: its values rounded to multiples of 2**shift
    (levels = round(value / 2**shift)), the encoding set, `data` its reconstruction."""
    levels = np.round(np.asarray(tensor.data, dtype=np.float64) / (1 << shift)).astype(np.int32)
    tensor.encoding = ScaledLevels(levels, shift)
    tensor.data = tensor.encoding.reconstruct()


def tiny_graph(seed: int = 7) -> Graph:
    """input [1,6,6,2] -> CONV_2D(SAME, relu) -> DEPTHWISE(x2) -> ADD(residual-free: with a PAD'ed
    copy) -> MAX_POOL -> AVERAGE_POOL -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX, plus a LOGISTIC
    branch as a second output. The three weight tensors are compressed, one per reconstruction
    rule: conv uniform 4-bit levels, depthwise a 3-bit codebook, fully connected dependent
    (trellis) 3-bit levels. The conv and fully connected biases are stored by rule scaled
    (multiples of 4 and 8); the depthwise bias exactly."""
    g = GraphMaker(seed)
    x = g.activation("input", (1, 6, 6, 2))
    w1 = g.weights("conv/w", (4, 3, 3, 2), 0)
    b1 = g.bias("conv/b", g.scale_of(x), w1, 4)
    c1 = g.activation("conv/out", (1, 6, 6, 4))
    w2 = g.weights("dw/w", (1, 3, 3, 8), 3)
    b2 = g.bias("dw/b", g.scale_of(c1), w2, 8)
    d1 = g.activation("dw/out", (1, 3, 3, 8))
    p1 = g.activation("pool/out", (1, 3, 3, 8))
    s1 = g.activation("add/out", (1, 3, 3, 8))
    a1 = g.activation("avg/out", (1, 1, 1, 8))
    shape = g.const("flatten/shape", [1, 8])
    r1 = g.add("flatten/out", (1, 8), DType.INT8, g.graph.tensors[a1].quantization.scale,
               g.graph.tensors[a1].quantization.zero_point)
    w3 = g.weights("fc/w", (5, 8), 0, per_channel=False)
    b3 = g.bias("fc/b", g.scale_of(r1), w3, 5)
    f1 = g.activation("fc/out", (1, 5))
    y = g.add("softmax/out", (1, 5), DType.INT8, 1.0 / 256, -128)
    z = g.add("logistic/out", (1, 5), DType.INT8, 1.0 / 256, -128)
    g.graph.tensors[p1].quantization = g.graph.tensors[d1].quantization  # MAX_POOL keeps quantization
    g.graph.ops = [
        Op(OpKind.CONV_2D, (x, w1, b1), (c1,), Conv2DOptions(Padding.SAME, 1, 1, 1, 1, Activation.RELU)),
        Op(OpKind.DEPTHWISE_CONV_2D, (c1, w2, b2), (d1,),
           DepthwiseConv2DOptions(Padding.SAME, 2, 2, 1, 1, 2, Activation.NONE)),
        Op(OpKind.MAX_POOL_2D, (d1,), (p1,), Pool2DOptions(Padding.SAME, 1, 1, 2, 2, Activation.NONE)),
        Op(OpKind.ADD, (d1, p1), (s1,), AddOptions(Activation.RELU6)),
        Op(OpKind.AVERAGE_POOL_2D, (s1,), (a1,), Pool2DOptions(Padding.VALID, 3, 3, 3, 3, Activation.NONE)),
        Op(OpKind.RESHAPE, (a1, shape), (r1,), ReshapeOptions((1, 8))),
        Op(OpKind.FULLY_CONNECTED, (r1, w3, b3), (f1,), FullyConnectedOptions(Activation.NONE, False)),
        Op(OpKind.SOFTMAX, (f1,), (y,), SoftmaxOptions(1.0)),
        Op(OpKind.LOGISTIC, (f1,), (z,), NoOptions()),
    ]
    g.graph.inputs = [x]
    g.graph.outputs = [y, z]
    encode_weights(g.graph.tensors[w1], "uniform", 4, seed)
    encode_weights(g.graph.tensors[w2], "codebook", 3, seed + 1)
    encode_weights(g.graph.tensors[w3], "dependent", 3, seed + 2)
    scale_bias(g.graph.tensors[b1], 2)
    scale_bias(g.graph.tensors[b3], 3)
    return g.graph


def tiny_container(seed: int = 7, codec: str = "cabac") -> bytes:
    """The tiny graph packed (`codec` raw: every payload raw, scaled biases as raw int32 levels)."""
    return pack(tiny_graph(seed), name="tiny", version=1, target="cortex-m4", codec=codec)


def _rebuild(data: bytes, edit) -> bytes:
    """The container with its metadata changed by `edit(metadata) -> metadata` (payloads kept)."""
    c = open_container(data)
    payloads = [TensorPayload(c.payload(i), e.level_count, e.codec, e.level_dtype) for i, e in enumerate(c.entries)]
    return build_container(edit(c.metadata), payloads)


def _edit_node(index: int, **changes):
    def edit(meta: Metadata) -> Metadata:
        nodes = list(meta.graph.nodes)
        nodes[index] = dataclasses.replace(nodes[index], **changes)
        return dataclasses.replace(meta, graph=dataclasses.replace(meta.graph, nodes=tuple(nodes)))
    return edit


def _edit_options(index: int, **changes):
    def edit(meta: Metadata) -> Metadata:
        node = meta.graph.nodes[index]
        options = dict(node.options)
        for key, value in changes.items():
            if value is None:
                options.pop(key, None)
            else:
                options[key] = value
        return _edit_node(index, options=options)(meta)
    return edit


def broken_containers(seed: int = 7) -> dict[str, tuple[bytes, str]]:
    """Valid containers whose graph the runtime must refuse: name -> (bytes, expected status)."""
    good = tiny_container(seed)
    meta = open_container(good).metadata
    operands = len(meta.tensors) + len(meta.graph.values)
    first_value = len(meta.tensors)  # the graph input
    conv = meta.graph.nodes[0]

    def graph_io(**changes):
        return lambda m: dataclasses.replace(m, graph=dataclasses.replace(m.graph, **changes))

    def int16_values(m: Metadata) -> Metadata:
        values = list(m.graph.values)
        v = values[0]
        values[0] = TensorInfo(v.name, v.shape, LevelDtype.INT16, v.quantization)
        return dataclasses.replace(m, graph=dataclasses.replace(m.graph, values=tuple(values)))

    def swap_first_ops(m: Metadata) -> Metadata:
        nodes = list(m.graph.nodes)
        nodes[0], nodes[1] = nodes[1], nodes[0]
        return dataclasses.replace(m, graph=dataclasses.replace(m.graph, nodes=tuple(nodes)))

    cases = {
        "neg_graph_operand": (_edit_node(0, inputs=(operands,) + conv.inputs[1:]), "DC_ERR_GRAPH"),
        "neg_graph_order": (swap_first_ops, "DC_ERR_GRAPH"),
        "neg_graph_twice": (_edit_node(1, outputs=conv.outputs), "DC_ERR_GRAPH"),
        "neg_graph_const_output": (_edit_node(0, outputs=(0,)), "DC_ERR_GRAPH"),
        "neg_graph_outputs": (_edit_node(0, outputs=conv.outputs * 2), "DC_ERR_GRAPH"),
        "neg_graph_input_count": (_edit_node(0, inputs=conv.inputs[:1]), "DC_ERR_GRAPH"),
        "neg_graph_io": (graph_io(inputs=(0,)), "DC_ERR_GRAPH"),
        "neg_graph_no_input": (graph_io(inputs=()), "DC_ERR_GRAPH"),
        "neg_op": (_edit_node(0, op="op#99"), "DC_ERR_OP"),  # an op code the runtime does not know
        "neg_option_missing": (_edit_options(2, filter_h=None), "DC_ERR_OPTION"),
        "neg_option_range": (_edit_options(0, stride_w=0), "DC_ERR_OPTION"),
        "neg_option_type": (_edit_options(0, padding=2.5), "DC_ERR_OPTION"),
        "neg_option_code": (_edit_options(0, padding=7), "DC_ERR_OPTION"),  # format 3: 0 SAME, 1 VALID only
        "neg_option_clamp": (_edit_options(0, act_min=100, act_max=-100), "DC_ERR_OPTION"),
        "neg_option_table": (_edit_options(8, lut=bytes(255)), "DC_ERR_OPTION"),
        "neg_shape": (_edit_options(0, padding="VALID"), "DC_ERR_SHAPE"),
        "neg_unsupported_dtype": (int16_values, "DC_ERR_UNSUPPORTED"),
        "neg_oversize_inputs": (_edit_node(0, inputs=conv.inputs + (first_value,) * 14), "DC_ERR_OVERSIZE"),
    }
    return {name: (_rebuild(good, edit), status) for name, (edit, status) in cases.items()}


def tiny_inputs(graph: Graph, count: int, seed: int = 1) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.integers(-128, 128, size=t.shape, dtype=np.int8) for t in graph.input_tensors()]
            for _ in range(count)]


__all__ = ["tiny_graph", "tiny_container", "broken_containers", "tiny_inputs", "Node"]
