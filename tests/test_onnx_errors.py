"""Bad ONNX input: every unsupported node listed at once, corrupt and truncated files, external
data, non-finite weights, wrong input types: each a ModelError, never a crash."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx_models import MODELS, OnnxBuilder, model_unsupported  # noqa: E402

from host.errors import ModelError  # noqa: E402
from host.graph import UnsupportedModelError  # noqa: E402
from host.onnx import read_onnx  # noqa: E402


def test_every_unsupported_op_is_listed_with_its_node_before_any_work() -> None:
    with pytest.raises(UnsupportedModelError) as info:
        read_onnx(model_unsupported())
    problems = info.value.problems
    assert [p.message for p in problems] == ["op LeakyRelu is not supported", "op Resize is not supported",
                                             "op Tanh is not supported"]
    assert [p.op_index for p in problems] == [1, 3, 4]
    text = str(info.value)
    assert "node 1 LeakyRelu 'LeakyRelu_" in text and "node 4 Tanh 'Tanh_" in text
    assert "Conv" in info.value.hint and "BatchNormalization" in info.value.hint


def test_unsupported_attributes_are_all_listed() -> None:
    b = OnnxBuilder(21)
    grouped = b.conv("x", 4, 4, group=2, pads=[1, 1, 1, 1])
    clipped = b.node("Clip", ["x", b.const(np.float32(0)), b.const(np.float32(3))])
    pooled = b.node("MaxPool", ["x"], kernel_shape=[3, 3], pads=[2, 2, 0, 0])
    out = b.node("Add", [b.node("Add", [grouped, clipped]), b.node("Pad", [pooled, b.const(
        np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))])])
    with pytest.raises(UnsupportedModelError) as info:
        read_onnx(b.bytes(["N", 4, 6, 6], out, rank=4))
    messages = [p.message for p in info.value.problems]
    assert len(messages) == 3, messages
    assert "grouped convolution (group=2" in messages[0]
    assert "Clip to [0.0, 3.0]" in messages[1]
    assert "neither VALID nor SAME" in messages[2]


def test_a_reshape_that_needs_a_transpose_is_refused() -> None:
    b = OnnxBuilder(22)
    x = b.node("Reshape", [b.conv("x", 3, 4, pads=[1, 1, 1, 1]), b.const(np.array([1, 4, 16], np.int64))])
    with pytest.raises(UnsupportedModelError, match="would need a transpose"):
        read_onnx(b.bytes(["N", 3, 4, 4], b.node("Relu", [x]), rank=3))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_truncated_files_are_model_errors(name: str) -> None:
    data = MODELS[name]()
    for cut in range(0, len(data), max(1, len(data) // 60)):
        with pytest.raises(ModelError):
            read_onnx(data[:cut])


def test_corrupted_bytes_never_crash() -> None:
    data = MODELS["depthwise_residual"]()
    rng = np.random.default_rng(5)
    outcomes = set()
    for _ in range(150):
        damaged = bytearray(data)
        for position in rng.integers(0, len(data), size=3):
            damaged[position] = int(rng.integers(256))
        try:
            read_onnx(bytes(damaged))
            outcomes.add("read")
        except ModelError:
            outcomes.add("refused")
    assert "refused" in outcomes


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\x08\x07\xff\xff\xff", "corrupt or truncated"),
    (b"\x08\x07", "no graph"),
])
def test_not_an_onnx_model(data: bytes, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        read_onnx(data)


def _single_conv(tweak) -> bytes:
    b = OnnxBuilder(23)
    out = b.conv("x", 1, 2, bias=False)
    model = onnx.load_from_string(b.bytes(["N", 1, 5, 5], out))
    tweak(model)
    return model.SerializeToString()


def test_external_data_is_refused() -> None:
    def external(model) -> None:
        tensor = model.graph.initializer[0]
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", "weights.bin"

    with pytest.raises(ModelError, match="external"):
        read_onnx(_single_conv(external))


def test_weights_shorter_than_their_shape_are_refused() -> None:
    def short(model) -> None:
        model.graph.initializer[0].raw_data = model.graph.initializer[0].raw_data[:-4]

    with pytest.raises(ModelError):
        read_onnx(_single_conv(short))


def test_non_finite_weights_are_refused() -> None:
    def nan(model) -> None:
        array = onnx.numpy_helper.to_array(model.graph.initializer[0]).copy()
        array.flat[0] = np.nan
        model.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(array, model.graph.initializer[0].name))

    with pytest.raises(UnsupportedModelError, match="NaN"):
        read_onnx(_single_conv(nan))


def test_integer_inputs_are_refused() -> None:
    def integer(model) -> None:
        model.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.INT8

    with pytest.raises(ModelError):
        read_onnx(_single_conv(integer))


def test_custom_domain_ops_are_refused() -> None:
    b = OnnxBuilder(24)
    out = b.conv("x", 1, 2)
    model = onnx.load_from_string(b.bytes(["N", 1, 5, 5], out))
    node = onnx.helper.make_node("FusedConv", ["x"], ["y"], domain="com.example", name="custom")
    model.graph.node.append(node)
    model.opset_import.append(onnx.helper.make_opsetid("com.example", 1))
    with pytest.raises(UnsupportedModelError, match="domain 'com.example'"):
        read_onnx(model.SerializeToString())
