"""ONNX import (host/onnx): lowered float graphs compute what onnxruntime computes, weights and
layouts are converted exactly, batch norm is folded, activations fused."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx_models import MODELS, OnnxBuilder  # noqa: E402

from host.graph import Activation, OpKind, Padding  # noqa: E402
from host.onnx import read_onnx  # noqa: E402
from host.reference.interpreter import run  # noqa: E402


def _kinds(graph) -> list[str]:
    return [op.kind.value for op in graph.ops]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_lowered_graph_matches_onnxruntime(name: str) -> None:
    data = MODELS[name]()
    model = read_onnx(data)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(len(name))
    for _ in range(3):
        x = rng.normal(size=model.input_shapes[0]).astype(np.float32)
        expected = session.run(None, {"x": x})
        got = run(model.graph, [x.transpose(model.input_perms[0])])
        assert len(got) == len(expected)
        for e, g, perm in zip(expected, got, model.output_perms):
            np.testing.assert_allclose(g, e.transpose(perm), rtol=1e-4, atol=1e-5)


def test_batch_norm_is_folded_and_activations_fused() -> None:
    graph = read_onnx(MODELS["conv_bn_pool_gemm"]()).graph
    assert _kinds(graph) == ["CONV_2D", "MAX_POOL_2D", "CONV_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    assert [graph.ops[i].options.activation for i in (0, 2)] == [Activation.RELU, Activation.RELU6]
    assert graph.ops[0].options.padding is Padding.SAME and graph.ops[2].options.padding is Padding.VALID
    assert len(graph.ops[2].inputs) == 3, "the folded batch norm gives the bias-free conv a bias"
    assert graph.tensors[graph.inputs[0]].shape == (1, 10, 10, 3), "NCHW input stored NHWC, batch 1"


def test_depthwise_padding_and_matmul_bias() -> None:
    graph = read_onnx(MODELS["depthwise_residual"]()).graph
    assert _kinds(graph) == ["PAD", "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "ADD", "DEPTHWISE_CONV_2D",
                             "HARD_SWISH", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "LOGISTIC"]
    pad = graph.tensors[graph.ops[0].inputs[1]].data
    assert pad.tolist() == [[0, 0], [1, 1], [1, 1], [0, 0]], "PyTorch-style pads are not TFLite SAME at stride 2"
    assert graph.ops[1].options.padding is Padding.VALID
    assert graph.ops[4].options.activation is Activation.RELU, "ReLU after the residual Add is fused"
    assert graph.ops[5].options.depth_multiplier == 2
    assert len(graph.ops[9].inputs) == 3, "MatMul + Add becomes one FULLY_CONNECTED with a bias"


def test_weights_are_converted_exactly() -> None:
    b = OnnxBuilder(11)
    conv = b.conv("x", 3, 4, k=3, pads=[1, 1, 1, 1])
    dw = b.conv(conv, 4, 8, k=3, group=4, bias=False)
    flat = b.node("Flatten", [dw])
    fc = b.node("Gemm", [flat, b.weights(8 * 2 * 3, 5)])
    model = read_onnx(b.bytes(["N", 3, 4, 5], fc))
    onnx_w = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load_from_string(b.bytes(["N", 3, 4, 5], fc))
              .graph.initializer}
    graph = model.graph
    conv_op, dw_op, _, fc_op = graph.ops
    w_conv, w_dw = onnx_w[b.nodes[0].input[1]], onnx_w[b.nodes[1].input[1]]
    assert np.array_equal(graph.tensors[conv_op.inputs[1]].data, w_conv.transpose(0, 2, 3, 1))
    assert np.array_equal(graph.tensors[dw_op.inputs[1]].data, w_dw.reshape(8, 3, 3).transpose(1, 2, 0)[None])
    # Flatten of the NHWC-stored (1, 8, 2, 3) map: stored feature (h, w, c) is ONNX feature (c, h, w).
    gemm = onnx_w[b.nodes[3].input[1]]  # [in, out], ONNX features in C, H, W order
    order = np.arange(48).reshape(8, 2, 3).transpose(1, 2, 0).reshape(-1)
    assert np.array_equal(graph.tensors[fc_op.inputs[1]].data, gemm.T[:, order])


def test_dynamic_batch_becomes_one_and_other_dynamic_dims_are_refused() -> None:
    from host.graph import UnsupportedModelError

    b = OnnxBuilder(12)
    out = b.conv("x", 1, 2)
    assert read_onnx(b.bytes(["batch", 1, 5, 5], out)).graph.tensors[0].shape == (1, 5, 5, 1)
    b = OnnxBuilder(12)
    out = b.conv("x", 1, 2)
    with pytest.raises(UnsupportedModelError, match="dynamic dimensions"):
        read_onnx(b.bytes(["N", 1, "H", 5], out, rank=4))


def test_standalone_activations_and_nhwc_outputs() -> None:
    model = read_onnx(MODELS["nhwc_output"]())
    assert _kinds(model.graph) == ["PAD", "CONV_2D", "RELU", "MAX_POOL_2D"]
    # A ReLU whose input has two readers stays an op; Transpose to NHWC is a relabelling.
    assert model.output_perms == ((0, 1, 2, 3), (0, 2, 3, 1))
    assert [model.graph.tensors[i].shape for i in model.graph.outputs] == [(1, 4, 4, 5), (1, 1, 1, 5)]
