"""Per-op tests: generated single-op int8 models, our reference interpreter vs LiteRT.

Each case builds a one-op graph (random seeded weights and quantization), writes it with
`host.tflite.write_model`, runs it in LiteRT with its reference kernels (BUILTIN_REF) and in
`host.reference`, and compares every output element with `==`.
"""
from __future__ import annotations

import numpy as np
import pytest

from host.graph import (
    NO_TENSOR, Activation, AddOptions, ConcatenationOptions, Conv2DOptions,
    DepthwiseConv2DOptions, DType, FullyConnectedOptions, MeanOptions, MulOptions, NoOptions,
    OpKind, Padding, Pool2DOptions, ReshapeOptions, SoftmaxOptions,
)
from host.reference import run
from host.reference.common import out_size
from host.tflite import write_model
from tests.op_models import GraphMaker

litert = pytest.importorskip("ai_edge_litert.interpreter")

INPUT_SEEDS = 3


def litert_outputs(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    interpreter = litert.Interpreter(
        model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()]


def random_inputs(graph, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1000 + seed)
    values = []
    for t in graph.input_tensors():
        if t.dtype is DType.INT8:
            flat = rng.integers(-128, 128, size=t.size)
            if seed == 0 and t.size >= 256:
                flat[:256] = np.arange(-128, 128)  # every int8 value at least once
            values.append(flat.astype(np.int8).reshape(t.shape))
        else:
            values.append((rng.standard_normal(t.shape) * 3).astype(np.float32))
    return values


def assert_matches_litert(graph) -> None:
    model = write_model(graph)
    for seed in range(INPUT_SEEDS):
        inputs = random_inputs(graph, seed)
        ours = run(graph, inputs)
        theirs = litert_outputs(model, inputs)
        for k, (a, b) in enumerate(zip(ours, theirs)):
            assert a.shape == b.shape, f"output {k}: shape {a.shape} != LiteRT {b.shape}"
            if not np.array_equal(a, b):
                where = np.argwhere(a != b)[0]
                pytest.fail(f"input seed {seed}, output {k}, first mismatch at {tuple(where)}: "
                            f"ours {a[tuple(where)]}, LiteRT {b[tuple(where)]} "
                            f"({int((a != b).sum())} of {a.size} differ)")


def spatial(h, w, fh, fw, stride, dilation, padding):
    return (out_size(padding, h, fh, stride, dilation), out_size(padding, w, fw, stride, dilation))


CONV_CASES = [
    # h, w, cin, cout, kh, kw, stride, dilation, padding, activation, per_channel, bias
    (9, 9, 3, 4, 3, 3, 1, 1, Padding.SAME, Activation.NONE, True, True),
    (10, 7, 2, 5, 3, 3, 2, 1, Padding.SAME, Activation.RELU, True, True),
    (11, 8, 4, 3, 3, 2, 2, 1, Padding.VALID, Activation.RELU6, True, True),
    (12, 12, 3, 2, 3, 3, 1, 2, Padding.SAME, Activation.NONE, True, True),
    (8, 8, 5, 6, 1, 1, 1, 1, Padding.VALID, Activation.RELU, False, True),
    (7, 9, 2, 3, 4, 3, 3, 1, Padding.SAME, Activation.RELU_N1_TO_1, True, True),
    (10, 10, 3, 4, 5, 5, 2, 1, Padding.SAME, Activation.NONE, True, True),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[f"conv{i}" for i in range(len(CONV_CASES))])
def test_conv_2d(case):
    h, w, cin, cout, kh, kw, stride, dil, padding, act, per_channel, with_bias = case
    m = GraphMaker(seed=hash(case) % 1000)
    x = m.activation("x", (1, h, w, cin))
    wt = m.weights("w", (cout, kh, kw, cin), axis=0, per_channel=per_channel)
    b = m.bias("b", m.scale_of(x), wt, cout) if with_bias else NO_TENSOR
    oh, ow = spatial(h, w, kh, kw, stride, dil, padding)
    y = m.activation("y", (1, oh, ow, cout))
    options = Conv2DOptions(padding, stride, stride, dil, dil, act)
    assert_matches_litert(m.finish(OpKind.CONV_2D, (x, wt, b), y, options))


DEPTHWISE_CASES = [
    # h, w, c, multiplier, kh, kw, stride, dilation, padding, activation
    (9, 9, 4, 1, 3, 3, 1, 1, Padding.SAME, Activation.RELU6),
    (10, 8, 3, 2, 3, 3, 2, 1, Padding.SAME, Activation.NONE),
    (11, 11, 2, 3, 3, 3, 1, 2, Padding.VALID, Activation.RELU),
    (7, 6, 5, 1, 5, 5, 2, 1, Padding.SAME, Activation.NONE),
]


@pytest.mark.parametrize("case", DEPTHWISE_CASES, ids=[f"dw{i}" for i in range(len(DEPTHWISE_CASES))])
def test_depthwise_conv_2d(case):
    h, w, c, mult, kh, kw, stride, dil, padding, act = case
    m = GraphMaker(seed=hash(case) % 1000)
    x = m.activation("x", (1, h, w, c))
    wt = m.weights("w", (1, kh, kw, c * mult), axis=3)
    b = m.bias("b", m.scale_of(x), wt, c * mult)
    oh, ow = spatial(h, w, kh, kw, stride, dil, padding)
    y = m.activation("y", (1, oh, ow, c * mult))
    options = DepthwiseConv2DOptions(padding, stride, stride, dil, dil, mult, act)
    assert_matches_litert(m.finish(OpKind.DEPTHWISE_CONV_2D, (x, wt, b), y, options))


@pytest.mark.parametrize("batch,depth,units,act,bias", [
    (1, 20, 7, Activation.NONE, True), (3, 16, 5, Activation.RELU, True),
    (2, 33, 4, Activation.RELU6, False),
])
def test_fully_connected(batch, depth, units, act, bias):
    m = GraphMaker(seed=batch * 100 + depth)
    x = m.activation("x", (batch, depth))
    wt = m.weights("w", (units, depth), axis=0, per_channel=False)
    b = m.bias("b", m.scale_of(x), wt, units) if bias else NO_TENSOR
    y = m.activation("y", (batch, units))
    assert_matches_litert(m.finish(OpKind.FULLY_CONNECTED, (x, wt, b), y, FullyConnectedOptions(act)))


POOL_CASES = [
    # h, w, c, fh, fw, stride, padding, activation
    (8, 8, 3, 2, 2, 2, Padding.VALID, Activation.NONE),
    (9, 7, 4, 3, 3, 2, Padding.SAME, Activation.RELU),
    (6, 10, 2, 3, 2, 1, Padding.SAME, Activation.RELU6),
    (5, 5, 3, 5, 5, 1, Padding.VALID, Activation.NONE),
]


@pytest.mark.parametrize("kind", [OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D])
@pytest.mark.parametrize("case", POOL_CASES, ids=[f"pool{i}" for i in range(len(POOL_CASES))])
def test_pool(kind, case):
    h, w, c, fh, fw, stride, padding, act = case
    m = GraphMaker(seed=hash(case) % 1000)
    x = m.activation("x", (1, h, w, c))
    oh, ow = spatial(h, w, fh, fw, stride, 1, padding)
    if kind is OpKind.MAX_POOL_2D:  # TFLite requires equal in/out quantization
        xq = m.graph.tensors[x].quantization
        y = m.add("y", (1, oh, ow, c), DType.INT8, xq.scale, xq.zero_point)
    else:
        y = m.activation("y", (1, oh, ow, c))
    options = Pool2DOptions(padding, stride, stride, fh, fw, act)
    assert_matches_litert(m.finish(kind, (x,), y, options))


@pytest.mark.parametrize("kind", [OpKind.ADD, OpKind.MUL])
@pytest.mark.parametrize("shapes,act", [
    (((1, 4, 4, 3), (1, 4, 4, 3)), Activation.NONE),
    (((1, 5, 3), (1, 1, 3)), Activation.RELU),
    (((2, 6), (2, 6)), Activation.RELU6),
])
def test_add_mul(kind, shapes, act):
    m = GraphMaker(seed=len(shapes[1]) * 10 + len(act.value))
    a = m.activation("a", shapes[0])
    b = m.activation("b", shapes[1])
    y = m.activation("y", np.broadcast_shapes(*shapes))
    options = AddOptions(act) if kind is OpKind.ADD else MulOptions(act)
    assert_matches_litert(m.finish(kind, (a, b), y, options))


@pytest.mark.parametrize("shape,beta", [((1, 10), 1.0), ((2, 3, 7), 1.0), ((4, 12), 0.5), ((1, 300), 1.0)])
def test_softmax(shape, beta):
    m = GraphMaker(seed=shape[-1])
    x = m.activation("x", shape)
    y = m.add("y", shape, DType.INT8, 1.0 / 256, -128)
    assert_matches_litert(m.finish(OpKind.SOFTMAX, (x,), y, SoftmaxOptions(beta)))


@pytest.mark.parametrize("seed", range(4))
def test_logistic(seed):
    m = GraphMaker(seed=seed)
    x = m.activation("x", (2, 300))
    y = m.add("y", (2, 300), DType.INT8, 1.0 / 256, -128)
    assert_matches_litert(m.finish(OpKind.LOGISTIC, (x,), y, NoOptions()))


@pytest.mark.parametrize("kind", [OpKind.RELU, OpKind.RELU6, OpKind.HARD_SWISH])
@pytest.mark.parametrize("seed", range(4))
def test_elementwise_activation(kind, seed):
    m = GraphMaker(seed=seed + 10)
    x = m.activation("x", (2, 300))
    y = m.activation("y", (2, 300))
    assert_matches_litert(m.finish(kind, (x,), y, NoOptions()))


def test_reshape():
    m = GraphMaker(seed=3)
    x = m.activation("x", (1, 4, 6))
    xq = m.graph.tensors[x].quantization
    shape = m.const("shape", [1, 24])
    y = m.add("y", (1, 24), DType.INT8, xq.scale, xq.zero_point)
    assert_matches_litert(m.finish(OpKind.RESHAPE, (x, shape), y, ReshapeOptions((1, 24))))


@pytest.mark.parametrize("paddings", [[[0, 0], [1, 2], [2, 1], [0, 0]], [[0, 0], [0, 0], [3, 0], [1, 1]]])
def test_pad(paddings):
    m = GraphMaker(seed=5)
    x = m.activation("x", (1, 4, 5, 2))
    xq = m.graph.tensors[x].quantization
    p = m.const("paddings", paddings)
    out_shape = tuple(d + a + b for d, (a, b) in zip((1, 4, 5, 2), paddings))
    y = m.add("y", out_shape, DType.INT8, xq.scale, xq.zero_point)
    assert_matches_litert(m.finish(OpKind.PAD, (x, p), y, NoOptions()))


@pytest.mark.parametrize("axis,count", [(3, 2), (1, 3), (-1, 2)])
def test_concatenation(axis, count):
    m = GraphMaker(seed=7)
    scale, zero = 0.05, 3
    shapes = []
    for i in range(count):
        shape = [1, 3, 4, 2]
        shape[axis] += i
        shapes.append(tuple(shape))
    inputs = [m.add(f"x{i}", s, DType.INT8, scale, zero) for i, s in enumerate(shapes)]
    out_shape = list(shapes[0])
    out_shape[axis] = sum(s[axis] for s in shapes)
    y = m.add("y", tuple(out_shape), DType.INT8, scale, zero)
    assert_matches_litert(m.finish(OpKind.CONCATENATION, inputs, y, ConcatenationOptions(axis)))


@pytest.mark.parametrize("axes,keep,same_quant", [
    ([1, 2], True, False), ([1, 2], True, True), ([1], False, False), ([2, 3], False, True),
    ([3], True, False), ([0, 1, 2, 3], False, False), ([1, 2], False, True),
])
def test_mean(axes, keep, same_quant):
    m = GraphMaker(seed=len(axes) + 2 * keep + 4 * same_quant)
    in_shape = (2, 5, 6, 3)
    x = m.activation("x", in_shape)
    ax = m.const("axes", axes)
    out_shape = tuple((1 if i in axes else d) for i, d in enumerate(in_shape) if keep or i not in axes)
    if same_quant:
        xq = m.graph.tensors[x].quantization
        y = m.add("y", out_shape, DType.INT8, xq.scale, xq.zero_point)
    else:
        y = m.activation("y", out_shape)
    assert_matches_litert(m.finish(OpKind.MEAN, (x, ax), y, MeanOptions(keep)))


def test_quantize_float_and_requantize():
    m = GraphMaker(seed=11)
    x = m.add("x", (2, 50), DType.FLOAT32)
    y = m.activation("y", (2, 50))
    assert_matches_litert(m.finish(OpKind.QUANTIZE, (x,), y, NoOptions()))
    m = GraphMaker(seed=12)
    x = m.activation("x", (2, 300))
    y = m.activation("y", (2, 300))
    assert_matches_litert(m.finish(OpKind.QUANTIZE, (x,), y, NoOptions()))


def test_dequantize():
    m = GraphMaker(seed=13)
    x = m.activation("x", (2, 300))
    y = m.add("y", (2, 300), DType.FLOAT32)
    assert_matches_litert(m.finish(OpKind.DEQUANTIZE, (x,), y, NoOptions()))
