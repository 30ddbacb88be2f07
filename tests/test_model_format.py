"""host.model_format: pack a graph into a .dcb and unpack it back, exactly (docs/bitstream.md section 4)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from host.container.layout import Codec
from host.container.reader import open_container
from host.container.writer import TensorPayload, build_container
from host.errors import BitstreamError, ModelError
from host.graph import DType, ScaledLevels, UnsupportedModelError
from host.model_format import compression_report, pack, unpack
from host.tflite import read_model, write_model
from tests.model_samples import tiny_graph

MODELS = Path("/work/shared/models/mlperf-tiny")
INT8_MODELS = ["kws_ref_model", "pretrainedResnet_quant", "vww_96_int8", "ad01_int8"]


def assert_same_graph(a, b) -> None:
    """Tensors (name, shape, dtype, quantization, data, signature), ops and graph I/O equal."""
    assert len(a.tensors) == len(b.tensors)
    for index, (x, y) in enumerate(zip(a.tensors, b.tensors)):
        where = f"tensor {index} {x.name!r}"
        assert (x.name, x.shape, x.dtype, x.shape_signature) == (y.name, y.shape, y.dtype, y.shape_signature), where
        assert (x.quantization is None) == (y.quantization is None), where
        if x.quantization is not None:
            assert x.quantization.same_as(y.quantization), where
        assert (x.data is None) == (y.data is None), where
        assert type(x.encoding) is type(y.encoding), where
        if x.encoding is not None:
            for field in ("bits", "step", "zero_index", "shift"):
                assert getattr(x.encoding, field, None) == getattr(y.encoding, field, None), f"{where}: {field}"
            assert np.array_equal(x.encoding.levels, y.encoding.levels), f"{where}: levels"
            if hasattr(x.encoding, "codebook"):
                assert np.array_equal(x.encoding.codebook, y.encoding.codebook), f"{where}: codebook"
        if x.data is not None:
            assert x.data.dtype == y.data.dtype, where
            mismatch = np.flatnonzero(np.asarray(x.data).reshape(-1) != np.asarray(y.data).reshape(-1))
            assert mismatch.size == 0, f"{where}: first mismatch at element {mismatch[0]}"
    assert len(a.ops) == len(b.ops)
    for index, (p, q) in enumerate(zip(a.ops, b.ops)):
        assert (p.kind, p.inputs, p.outputs, p.options) == (q.kind, q.inputs, q.outputs, q.options), f"op {index}"
    assert (list(a.inputs), list(a.outputs), a.description) == (list(b.inputs), list(b.outputs), b.description)


@pytest.fixture(scope="module", params=INT8_MODELS)
def mlperf(request):
    data = (MODELS / f"{request.param}.tflite").read_bytes()
    return request.param, data, read_model(data)


def test_mlperf_round_trip_is_exact(mlperf):
    name, original, graph = mlperf
    packed = pack(graph, name=name, version=3)
    container = open_container(packed)
    assert container.metadata.model.name == name and container.metadata.model.version == 3
    assert container.metadata.target.min_flash == len(packed)
    assert container.metadata.target.min_ram > 0
    decoded = unpack(container)
    assert_same_graph(graph, decoded)
    # the TFLite writer gives the same bytes for the decoded graph as for the original's graph
    assert write_model(decoded) == write_model(graph)
    report = compression_report(graph, container, original_bytes=len(original))
    assert report["compressed_bytes"] == len(packed) < len(original)
    assert report["float32_bytes"] == 4 * report["params"]
    assert sum(t["params"] for t in report["tensors"]) >= report["params"]
    codecs = {t["codec"] for t in report["tensors"]}
    assert "cabac" in codecs


def test_raw_codec_and_stripped_names_round_trip():
    graph = tiny_graph()
    packed = pack(graph, name="tiny", version=1, codec="raw", keep_names=False)
    container = open_container(packed)
    assert all(e.codec is Codec.RAW for e in container.entries)
    decoded = unpack(container)
    assert [t.name for t in decoded.tensors] == [f"t{i}" for i in range(len(graph.tensors))]
    assert "ir" not in (container.metadata.extensions or {}) or "order" not in container.metadata.extensions["ir"]
    # a compact build keeps no source order: the decoded graph lists its tensors in container
    # order (constants, then values), the same graph otherwise
    expected = in_container_order(graph)
    for t, original in zip(decoded.tensors, expected.tensors):
        t.name = original.name
    assert_same_graph(expected, decoded)


def in_container_order(graph):
    """`graph` with its tensors in container operand order (constants first, then values)."""
    import dataclasses

    from host.model_format.pack import split_operands

    order = split_operands(graph).order
    new_index = {old: new for new, old in enumerate(order)}
    remap = lambda indices: tuple(-1 if i < 0 else new_index[i] for i in indices)  # noqa: E731
    out = dataclasses.replace(graph, tensors=[graph.tensors[i] for i in order],
                              inputs=[new_index[i] for i in graph.inputs], outputs=[new_index[i] for i in graph.outputs])
    out.ops = [dataclasses.replace(op, inputs=remap(op.inputs), outputs=remap(op.outputs)) for op in graph.ops]
    return out


def test_bias_beyond_the_coder_range_is_stored_raw():
    graph = tiny_graph()
    bias = next(t for t in graph.tensors if t.name == "conv/b")
    bias.data = np.array([40000, -70000, 5, 0], dtype=np.int32)
    bias.encoding = None  # stored exactly (tiny_graph stores it by rule scaled)
    weights = next(t for t in graph.tensors if t.name == "conv/w")
    weights.data = np.where(np.arange(weights.size) % 9 == 0, 3, 0).astype(np.int8).reshape(weights.shape)
    weights.encoding = None  # the lossless path: the int8 values are the levels
    container = open_container(pack(graph, name="tiny", version=1))
    index = [t.name for t in container.metadata.tensors].index("conv/b")
    assert container.entries[index].codec is Codec.RAW
    weights = [t.name for t in container.metadata.tensors].index("conv/w")
    assert container.entries[weights].codec is Codec.CABAC
    assert_same_graph(graph, unpack(container))


def test_scaled_biases_round_trip_with_either_codec():
    """Rule scaled (int32 = level * 2^shift): the levels are stored (CABAC when the coder takes
    them, raw int32 beyond its range or with codec raw), the rule in the metadata, and unpack
    rebuilds the same encoding and the same int32 values; the report names the rule."""
    graph = tiny_graph()
    bias = next(t for t in graph.tensors if t.name == "conv/b")
    assert isinstance(bias.encoding, ScaledLevels) and bias.encoding.shift == 2
    assert np.array_equal(bias.data, bias.encoding.levels.astype(np.int32) * 4)
    wide = tiny_graph()
    wide_bias = next(t for t in wide.tensors if t.name == "conv/b")
    wide_bias.encoding = ScaledLevels(np.array([40000, -(1 << 29), (1 << 29) - 1, 0], dtype=np.int32), 2)
    wide_bias.data = wide_bias.encoding.reconstruct()
    assert wide_bias.data.min() == -(1 << 31) and wide_bias.data.max() == (1 << 31) - 4
    for g, codec, expected in ((graph, "cabac", Codec.CABAC), (graph, "raw", Codec.RAW), (wide, "cabac", Codec.RAW)):
        container = open_container(pack(g, name="tiny", version=1, codec=codec))
        index = [t.name for t in container.metadata.tensors].index("conv/b")
        assert container.entries[index].codec is expected, codec
        assert container.metadata.tensors[index].encoding.to_plain() == {"k": 2, "r": 4}
        assert np.array_equal(container.levels(index), next(t for t in g.tensors if t.name == "conv/b").encoding.levels)
        assert_same_graph(g, unpack(container))
        rows = {row["name"]: row for row in compression_report(g, container, original_bytes=1)["tensors"]}
        assert (rows["conv/b"]["rule"], rows["conv/b"]["bits"], rows["dw/b"]["rule"]) == ("scaled", 30, "exact")


def test_scaled_levels_that_leave_int32_or_disagree_are_refused():
    graph = tiny_graph()
    bias = next(t for t in graph.tensors if t.name == "conv/b")
    bias.encoding = ScaledLevels(np.array([1 << 29, 0, 0, 0], dtype=np.int32), 2)  # 2^31: not int32
    with pytest.raises(UnsupportedModelError, match="leave"):
        pack(graph, name="tiny", version=1)
    bias.encoding = ScaledLevels(bias.data // 4 + 1, 2)  # levels that do not rebuild the values
    with pytest.raises(UnsupportedModelError, match="reconstruction differs"):
        pack(graph, name="tiny", version=1)
    bias.encoding = ScaledLevels(bias.data // 2, 25)
    with pytest.raises(UnsupportedModelError, match="shift 25 outside 1..24"):
        pack(graph, name="tiny", version=1)
    weights = next(t for t in graph.tensors if t.name == "dw/w")
    bias.encoding = None
    weights.encoding = ScaledLevels(weights.data.astype(np.int32), 1)
    with pytest.raises(UnsupportedModelError, match="rebuilds int32 values"):
        pack(graph, name="tiny", version=1)


def test_derived_bias_quantization_is_not_stored_but_restored():
    graph = tiny_graph()
    container = open_container(pack(graph, name="tiny", version=1))
    stored = {t.name: t.quantization for t in container.metadata.tensors}
    assert stored["conv/b"] is None and stored["conv/w"] is not None
    assert unpack(container).tensors[[t.name for t in graph.tensors].index("conv/b")].quantization.same_as(
        next(t for t in graph.tensors if t.name == "conv/b").quantization)


def test_equal_channel_scales_are_stored_once():
    # The compressor's one-step options give every channel the same scale: the metadata holds it
    # once (per tensor, axis 0), a byte per channel less, and the model computes the same outputs.
    from host.reference import run

    graph = tiny_graph()
    w_index = [t.name for t in graph.tensors].index("dw/w")
    w = graph.tensors[w_index]
    assert w.quantization.axis == 3 and w.quantization.scale.size == 8
    same = dataclasses.replace(w.quantization, scale=np.full(8, w.quantization.scale.max(), dtype=np.float32))
    graph.tensors[w_index] = dataclasses.replace(w, quantization=same)
    b_index = [t.name for t in graph.tensors].index("dw/b")  # its scales derive from the weights' (not stored)
    s_in = graph.tensors[graph.ops[1].inputs[0]].quantization.scale[0]
    graph.tensors[b_index].quantization = dataclasses.replace(
        graph.tensors[b_index].quantization, scale=(np.float32(s_in) * same.scale).astype(np.float32))
    before = len(pack(tiny_graph(), name="tiny", version=1, keep_names=False))
    data = pack(graph, name="tiny", version=1, keep_names=False)
    from host.model_format.pack import split_operands

    position = split_operands(graph).order.index(w_index)
    stored = open_container(data).metadata.tensors[position].quantization
    assert stored.scale == (float(same.scale[0]),) and stored.axis == 0 and stored.zero_point == (0,)
    assert len(data) < before
    back = unpack(pack(graph, name="tiny", version=1))
    assert next(t for t in back.tensors if t.name == "dw/w").quantization.scale.size == 1
    x = np.random.default_rng(3).integers(-128, 128, size=graph.input_tensors()[0].shape, dtype=np.int8)
    for ours, theirs in zip(run(back, [x]), run(graph, [x])):
        np.testing.assert_array_equal(ours, theirs)
    # unequal scales, or unequal zero points, stay per channel
    assert open_container(pack(tiny_graph(), name="tiny", version=1)).metadata.tensors[position].quantization.axis == 3


def test_float_and_bad_arguments_are_refused():
    float_graph = read_model(MODELS / "ad01_fp32.tflite")
    with pytest.raises(UnsupportedModelError) as err:
        pack(float_graph, name="ad", version=1)
    assert "float32" in str(err.value) and len(err.value.problems) > 1
    graph = tiny_graph()
    with pytest.raises(ModelError, match="codec"):
        pack(graph, name="t", version=1, codec="zip")
    with pytest.raises(ModelError, match="name"):
        pack(graph, name="", version=1)
    with pytest.raises(ModelError, match="version"):
        pack(graph, name="t", version=-1)
    graph.tensors[0].dtype = DType.FLOAT32
    with pytest.raises(UnsupportedModelError):
        pack(graph, name="t", version=1)


def _with_options(data: bytes, node: int, version_major: int = 3, **changes) -> bytes:
    c = open_container(data)
    nodes = list(c.metadata.graph.nodes)
    nodes[node] = dataclasses.replace(nodes[node], options={**nodes[node].options, **changes})
    meta = dataclasses.replace(c.metadata, graph=dataclasses.replace(c.metadata.graph, nodes=tuple(nodes)))
    payloads = [TensorPayload(c.payload(i), e.level_count, e.codec, e.level_dtype) for i, e in enumerate(c.entries)]
    return build_container(meta, payloads, version_major=version_major)


# Format 2 names options and their enumerations by text, so any name or text can be written; format 3
# (docs/bitstream.md section 4.3) writes codes: an unknown option is a code it has no name for.
@pytest.mark.parametrize("node, changes, version_major, words", [
    (0, {"act_min": -128}, 3, "option act_min is -128"),
    (0, {"rounding": "single"}, 3, "option rounding"),
    (6, {"rounding": "double"}, 3, "option rounding"),
    (8, {"lut": bytes(256)}, 3, "option lut"),
    (7, {"option#40": bytes(1024)}, 3, "unknown option 'option#40'"),
    (0, {"padding": 7}, 3, "option padding is 7"),
    (7, {"table": bytes(1024)}, 2, "unknown option 'table'"),
    (0, {"colour": 1}, 2, "unknown option 'colour'"),
    (0, {"padding": "FULL"}, 2, "option padding is 'FULL'"),
    (0, {"stride_h": 1.5}, 3, "option stride_h must be an int"),
])
def test_parameters_that_disagree_with_the_graph_are_rejected(node, changes, version_major, words):
    data = _with_options(pack(tiny_graph(), name="tiny", version=1), node, version_major, **changes)
    with pytest.raises(BitstreamError) as err:
        unpack(data)
    assert err.value.status == "DC_ERR_METADATA" and words in str(err.value)


def test_bad_operand_and_unknown_op_in_metadata():
    data = pack(tiny_graph(), name="tiny", version=1)
    c = open_container(data)
    payloads = [TensorPayload(c.payload(i), e.level_count, e.codec, e.level_dtype) for i, e in enumerate(c.entries)]

    def rebuilt(**node_changes):
        nodes = list(c.metadata.graph.nodes)
        nodes[0] = dataclasses.replace(nodes[0], **node_changes)
        meta = dataclasses.replace(c.metadata, graph=dataclasses.replace(c.metadata.graph, nodes=tuple(nodes)))
        return build_container(meta, payloads)

    with pytest.raises(BitstreamError, match="operand 999 outside"):
        unpack(rebuilt(inputs=(999,)))
    with pytest.raises(ModelError, match="op#99"):
        unpack(rebuilt(op="op#99"))


@pytest.mark.parametrize("coder", ["cabac", "fast", "auto"])
def test_report_says_how_each_tensor_is_coded(mlperf, coder):
    name, original, graph = mlperf
    container = open_container(pack(graph, name=name, version=1, coder=coder))
    report = compression_report(graph, container, original_bytes=len(original))
    first_bytes = [container.payload(k)[:1] for k in range(len(container.entries))]
    expected = ["raw" if e.codec is Codec.RAW else ("fast" if b and b[0] & 0x80 else "cabac")
                for e, b in zip(container.entries, first_bytes)]
    assert [t["syntax"] for t in report["tensors"]] == expected
    assert report["level_syntax"] == {k: expected.count(k) for k in ("cabac", "fast", "raw")}
    if coder == "cabac":
        assert report["level_syntax"]["fast"] == 0
    if coder == "fast":
        assert report["level_syntax"]["fast"] > 0 and report["level_syntax"]["cabac"] == 0
