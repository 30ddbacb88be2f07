"""Graph validation lists every problem; the interpreter rejects inputs that do not fit."""
from __future__ import annotations

import numpy as np
import pytest

from host.errors import DataError, ModelError
from host.graph import (
    Conv2DOptions, DType, NoOptions, Op, OpKind, Padding, SoftmaxOptions, UnsupportedModelError,
    UnsupportedOptions, find_problems, validate,
)
from host.reference import run
from tests.op_models import GraphMaker


def _softmax_graph():
    m = GraphMaker(seed=1)
    x = m.activation("x", (1, 10))
    y = m.add("y", (1, 10), DType.INT8, 1.0 / 256, -128)
    return m.finish(OpKind.SOFTMAX, (x,), y, SoftmaxOptions(1.0))


def test_valid_graph_has_no_problems():
    assert find_problems(_softmax_graph()) == []


def test_every_problem_is_listed():
    graph = _softmax_graph()
    x, y = graph.ops[0].inputs[0], graph.ops[0].outputs[0]
    graph.tensors[y].quantization.zero_point[:] = 0  # softmax output must have zero point -128
    graph.ops.append(Op(OpKind.UNSUPPORTED, (y,), (x,), UnsupportedOptions("TANH")))
    graph.ops.append(Op(OpKind.UNSUPPORTED, (y,), (x,), UnsupportedOptions("CUSTOM 'Foo'")))
    graph.ops.append(Op(OpKind.RELU, (99,), (x,), NoOptions()))
    with pytest.raises(UnsupportedModelError) as info:
        validate(graph)
    problems = info.value.problems
    assert [p.op_index for p in problems] == [0, 1, 2, 3]
    text = str(info.value)
    assert "zero point -128" in text and "TANH" in text and "CUSTOM 'Foo'" in text
    assert "out of range" in text and "'x'" in text and "'y'" in text
    assert isinstance(info.value, ModelError)


def test_conv_weight_problems():
    m = GraphMaker(seed=2)
    x = m.activation("x", (1, 5, 5, 3))
    w = m.weights("w", (4, 3, 3, 2), axis=0)  # filter depth 2 != input depth 3
    w_t = m.graph.tensors[w]
    w_t.quantization.zero_point[:] = 1  # weights must be symmetric
    y = m.activation("y", (1, 5, 5, 4))
    graph = m.finish(OpKind.CONV_2D, (x, w), y, Conv2DOptions(Padding.SAME))
    messages = " ".join(p.message for p in find_problems(graph))
    assert "grouped convolution" in messages and "symmetric" in messages


def test_inputs_must_fit():
    graph = _softmax_graph()
    with pytest.raises(DataError, match="takes 1 inputs"):
        run(graph, [])
    with pytest.raises(DataError, match="must be int8"):
        run(graph, [np.zeros((1, 10), dtype=np.float32)])
    with pytest.raises(DataError, match="shape"):
        run(graph, [np.zeros((1, 11), dtype=np.int8)])


def test_declared_shape_is_checked():
    graph = _softmax_graph()
    graph.tensors[graph.outputs[0]].shape = (1, 9)
    with pytest.raises(ModelError, match="declares"):
        run(graph, [np.zeros((1, 10), dtype=np.int8)])
