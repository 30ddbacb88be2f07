"""Format 3's integer metadata keys (docs/bitstream.md section 4.3): smaller files, the same model,
and format 2 (text keys) still read and run, so a device keeps booting the model it holds after a
firmware update."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from dcagent.cli import main
from host.container import cbor, keys
from host.container.metadata import Metadata
from host.container.reader import open_container
from host.container.writer import TensorPayload, build_container, layout_container
from host.delta import apply_delta, make_delta
from host.errors import BitstreamError
from host.model_format import pack, unpack
from host.runtime import DecodeMode, Runtime
from host.tflite import read_model
from tests.agent_harness import model
from tests.model_samples import tiny_graph, tiny_inputs
from tests.test_model_format import assert_same_graph

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def metadata_bytes(data: bytes) -> int:
    return open_container(data).header.metadata_length


def graph_of(name: str):
    return read_model(EXAMPLES / name / "model_int8.tflite")


@pytest.mark.parametrize("name", ["har", "fashion_cnn", "kws"])
def test_format_3_writes_less_metadata_for_the_same_model(name):
    graph = graph_of(name)
    new, old = (pack(graph, name=name, version=1, keep_names=False, container_format=f) for f in (3, 2))
    assert (open_container(new).header.version_major, open_container(old).header.version_major) == (3, 2)
    assert_same_graph(unpack(new), unpack(old))
    saved = metadata_bytes(old) - metadata_bytes(new)
    # every node's options and every tensor's keys shrink: at least a byte per key
    assert saved >= 2 * (len(graph.ops) + len(graph.tensors)), (metadata_bytes(old), metadata_bytes(new))
    assert len(new) < len(old)


def test_both_formats_run_bit_identically_in_every_mode():
    graph = tiny_graph()
    new, old = (pack(graph, name="tiny", version=1, container_format=f) for f in (3, 2))
    for mode in DecodeMode:
        for inputs in tiny_inputs(graph, 3):
            for a, b in zip(Runtime(new, mode).run(inputs), Runtime(old, mode).run(inputs)):
                assert np.array_equal(a, b), mode.name


def test_format_3_rejects_text_schema_keys_and_format_2_integer_ones():
    meta = open_container(pack(tiny_graph(), name="tiny", version=1)).metadata
    plain = meta.to_plain()
    with pytest.raises(BitstreamError, match=r"field metadata: key '\w+' is not one of its codes 0\.\.5") as text_in_3:
        Metadata.from_cbor(cbor.encode(plain), version_major=3)
    with pytest.raises(BitstreamError, match=r"metadata\.0: unknown field") as codes_in_2:
        Metadata.from_cbor(cbor.encode(keys.to_integers(plain)), version_major=2)
    assert text_in_3.value.status == codes_in_2.value.status == "DC_ERR_METADATA"
    wire = keys.to_integers(plain)
    wire[keys.METADATA.index("model")][len(keys.MODEL)] = 1  # a code beyond model's {name, version}
    with pytest.raises(BitstreamError, match=r"field metadata\.model: key 2 is not one of its codes 0\.\.1"):
        Metadata.from_cbor(cbor.encode(wire), version_major=3)


def test_enumerations_are_codes_and_unknown_options_survive_reading():
    meta = open_container(pack(tiny_graph(), name="tiny", version=1)).metadata
    wire = keys.to_integers(meta.to_plain())
    nodes = wire[keys.METADATA.index("graph")][keys.GRAPH.index("nodes")]
    conv = nodes[0][keys.NODE.index("p")]
    assert conv[keys.OPTIONS.index("padding")] in (0, 1)  # SAME / VALID as TFLite's codes
    conv[77] = 5  # an option code this version does not know: read, kept, refused by unpack
    read = Metadata.from_cbor(cbor.encode(wire), version_major=3)
    assert read.graph.nodes[0].options["option#77"] == 5
    assert read.to_cbor(3) == cbor.encode(wire)
    with pytest.raises(BitstreamError, match="option#77"):
        unpack(pack_with_metadata(read))
    with pytest.raises(BitstreamError, match="SAME, VALID, found 'same'"):
        keys.to_integers(dataclasses.replace(meta, graph=dataclasses.replace(
            meta.graph, nodes=(dataclasses.replace(meta.graph.nodes[0], options={"padding": "same"}),))).to_plain())


def pack_with_metadata(meta: Metadata) -> bytes:
    """The tiny model's container with its metadata replaced by `meta` (payloads kept)."""
    c = open_container(pack(tiny_graph(), name="tiny", version=1))
    payloads = [TensorPayload(c.payload(i), e.level_count, e.codec, e.level_dtype) for i, e in enumerate(c.entries)]
    return build_container(meta, payloads)


def test_a_delta_from_a_format_2_base_rebuilds_the_format_3_model():
    old = model(1, seed=1)
    c = open_container(old)
    payloads = [TensorPayload(c.payload(0), c.entries[0].level_count, c.entries[0].codec, c.entries[0].level_dtype)]
    base = build_container(c.metadata, payloads, version_major=2)  # what a device of an older release holds
    new = model(2, seed=1)
    delta, _ = make_delta(base, new)
    assert apply_delta(base, delta) == new
    with pytest.raises(BitstreamError, match="format 2 container: deltas rebuild format 3") as err:
        make_delta(new, base)
    assert err.value.status == "DC_ERR_VERSION"


def test_a_format_3_file_with_text_enumerations_is_refused_by_unpack():
    data = pack(tiny_graph(), name="tiny", version=1)
    c = open_container(data)
    wire = cbor.decode(data[c.header.metadata_offset:c.header.metadata_offset + c.header.metadata_length])
    conv = wire[keys.METADATA.index("graph")][keys.GRAPH.index("nodes")][0][keys.NODE.index("p")]
    conv[keys.OPTIONS.index("padding")] = "SAME"
    payloads = [TensorPayload(c.payload(i), e.level_count, e.codec, e.level_dtype) for i, e in enumerate(c.entries)]
    forged = layout_container(cbor.encode(wire), payloads)
    open_container(forged)  # the container's schema takes any scalar option, as the device's check does
    with pytest.raises(BitstreamError, match="format 3 writes an integer"):
        unpack(forged)


def test_compress_writes_format_2_on_request(tmp_path):
    source = EXAMPLES / "har" / "model_int8.tflite"
    for fmt in ("2", "3"):
        out = tmp_path / f"har{fmt}.dcb"
        assert main(["-q", "compress", str(source), "--lossless", "--unsigned", "--format", fmt, "-o", str(out)]) == 0
        assert open_container(out.read_bytes()).header.version_major == int(fmt)
    assert (tmp_path / "har3.dcb").stat().st_size < (tmp_path / "har2.dcb").stat().st_size
    assert_same_graph(unpack((tmp_path / "har3.dcb").read_bytes()), unpack((tmp_path / "har2.dcb").read_bytes()))
