"""The .dcb container round-trips: Python writer -> Python and C readers, seeking, signing, device
tags, deltas, atomic writes, and the golden vectors' expected reports (docs/bitstream.md)."""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import struct
from dataclasses import replace
from pathlib import Path

import cbor2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host import _container
from host.container import cbor, keys, layout
from host.container.hmac_tag import add_device_tag, verify_device_tag
from host.container.layout import Codec, LevelDtype
from host.container.metadata import (Compressor, Graph, Metadata, ModelInfo, Node, OP_CODES, Quantization, Target,
                                     TensorInfo)
from host.container.reader import open_container, read_container, read_tensor
from host.container.report import container_report
from host.container.signing import (default_key_dir, generate_keypair, key_id, load_private_key, load_public_key,
                                    sign_container, verify_signature)
from host.container.writer import TensorPayload, build_container, write_atomic, write_container
from host.errors import BitstreamError, KeyFileError, SignatureError
from tests.container_samples import (SAMPLE_LEVELS, TEST_DEVICE_KEY, sample_container, sample_metadata,
                                     sample_payloads, publisher_key)

VECTORS = Path(__file__).parent / "vectors" / "container"

# ----------------------------------------------------------------------------- strategies

names = st.text(min_size=1, max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(st.integers(-(1 << 63), (1 << 64) - 1), finite, st.text(max_size=8), st.booleans())
option_values = st.one_of(scalars, st.lists(scalars, max_size=4).map(tuple))
options = st.dictionaries(st.text(max_size=8), option_values, max_size=4)  # free: compressor settings
# Node options have codes in format 3 (docs/bitstream.md 4.3): the named ones, enumerations by their
# values, and codes this version does not know ("option#<code>").
enum_options = st.sampled_from(sorted(keys.ENUMS)).flatmap(lambda k: st.tuples(st.just(k), st.sampled_from(keys.ENUMS[k])))
plain_options = st.tuples(st.sampled_from([k for k in keys.OPTIONS if k not in keys.ENUMS]), option_values)
unknown_options = st.tuples(st.integers(len(keys.OPTIONS), 1000).map(lambda c: f"{keys.UNKNOWN_OPTION_PREFIX}{c}"),
                            option_values)
node_options = st.lists(st.one_of(enum_options, plain_options, unknown_options), max_size=4).map(dict)
extension_values = st.recursive(
    st.one_of(st.none(), scalars, st.binary(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)


@st.composite
def tensor_infos(draw, name=None):
    dtype = draw(st.sampled_from(list(LevelDtype)))
    shape = tuple(draw(st.lists(st.integers(1, 5), max_size=4)))
    low, high = dtype.bounds
    positive = st.floats(min_value=1e-30, max_value=1e30, allow_nan=False, allow_infinity=False)
    if shape and draw(st.booleans()):
        axis = draw(st.integers(0, len(shape) - 1))
        channels = shape[axis]
    else:
        axis, channels = draw(st.integers(0, max(len(shape), 1) - 1)), 1
    scale = tuple(draw(st.lists(positive, min_size=channels, max_size=channels)))
    zero_point = tuple(draw(st.lists(st.integers(low, high), min_size=channels, max_size=channels)))
    quantization = None if draw(st.integers(0, 4)) == 0 else Quantization(scale, zero_point, axis)
    return TensorInfo(name or draw(names), shape, dtype, quantization)


@st.composite
def models(draw):
    tensors = tuple(draw(st.lists(tensor_infos(), max_size=4)))
    levels = []
    for info in tensors:
        low, high = info.dtype.bounds
        skew = draw(st.sampled_from(["random", "zeros", "extremes"]))
        element = {"random": st.integers(low, high), "zeros": st.just(0), "extremes": st.sampled_from([low, high, 0])}[skew]
        levels.append(np.array(draw(st.lists(element, min_size=info.level_count, max_size=info.level_count)),
                               dtype=np.int32))
    operands = st.integers(0, 1 << 40)
    ops = st.one_of(st.sampled_from(OP_CODES), st.integers(len(OP_CODES), 1 << 20).map(lambda c: f"op#{c}"))
    nodes = tuple(Node(draw(ops), tuple(draw(st.lists(st.integers(-1, 300), max_size=3))),
                       tuple(draw(st.lists(operands, max_size=2))), draw(node_options)) for _ in range(draw(st.integers(0, 3))))
    metadata = Metadata(
        model=ModelInfo(draw(names), draw(st.integers(0, (1 << 64) - 1))),
        target=Target(draw(st.text(max_size=10)), draw(st.integers(0, 1 << 40)), draw(st.integers(0, 1 << 40))),
        compressor=Compressor(draw(st.text(max_size=8)), draw(st.text(max_size=8)), draw(options)),
        graph=Graph(tuple(draw(st.lists(operands, max_size=2))), tuple(draw(st.lists(operands, max_size=2))), nodes,
                    tuple(draw(st.lists(tensor_infos(), max_size=2)))),
        tensors=tensors,
        extensions=draw(st.one_of(st.none(), st.dictionaries(st.text(max_size=6), extension_values, max_size=3))),
    )
    return metadata, levels


# ----------------------------------------------------------------------------- round trips

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(models(), st.sampled_from(layout.READABLE_MAJORS))
def test_round_trip_python_and_c_readers_agree(model, version_major):
    """Both formats (3: integer metadata keys; 2: text keys) read back as written, in Python and C."""
    metadata, levels = model
    payloads = [TensorPayload.raw(lv, info.dtype) for info, lv in zip(metadata.tensors, levels)]
    data = build_container(metadata, payloads, version_major=version_major)
    container = open_container(data)
    assert container.header.version_major == version_major
    assert container.metadata == metadata
    for index, expected in enumerate(levels):
        decoded = container.levels(index)
        assert decoded.dtype == np.int32
        mismatch = np.flatnonzero(decoded != expected)
        assert mismatch.size == 0, f"tensor {index}: first mismatch at {mismatch[:1]}"
    status, header, entries = _container.describe(data)
    assert status == "DC_OK"
    assert header["trailer_offset"] == container.header.trailer_offset
    assert header["content_sha256"] == container.content_sha256
    for entry, row in zip(container.entries, entries):
        assert row[:6] == (entry.payload_offset, entry.payload_length, entry.level_count, int(entry.codec),
                           int(entry.level_dtype), entry.tensor_flags)
        assert row[6] == container.payload(container.entries.index(entry))
    for index, info in enumerate(metadata.tensors):
        status, (name, dtype, shape, axis, scale, zero_point) = _container.tensor_info(data, index)
        q = info.quantization
        assert (status, name, dtype, shape) == ("DC_OK", info.name, int(info.dtype), info.shape)
        if q is None:
            assert (axis, scale, zero_point) == (0, [], [])
        else:
            assert axis == q.axis and tuple(scale) == q.scale and tuple(zero_point) == q.zero_point


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(1 << 63), (1 << 64) - 1), finite, st.text(max_size=6),
              st.binary(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_like)
def test_cbor_round_trip_matches_cbor2_and_c(value):
    data = cbor.encode(value)
    assert cbor.decode(data) == value
    assert cbor2.loads(data) == value  # an independent decoder reads the same value
    assert _container.cbor_check(data) == "DC_OK"
    assert cbor.encode(cbor.decode(data)) == data  # deterministic: one encoding per value


@pytest.mark.parametrize("value, width", [
    (0.0, 3), (-0.0, 3), (1.0, 3), (65504.0, 3), (2.0 ** -24, 3), (1.5, 3), (65520.0, 5), (0.1, 9),
    (2.0 ** -25, 5), (3.4028234663852886e38, 5), (2.0 ** -149, 5), (2.0 ** -150, 9), (1e300, 9), (1 / 3, 9),
])
def test_floats_take_their_shortest_exact_width(value, width):
    data = cbor.encode(value)
    assert len(data) == width
    decoded = cbor.decode(data)
    assert decoded == value and math.copysign(1, decoded) == math.copysign(1, value)
    assert _container.cbor_check(data) == "DC_OK"


def test_sample_container_layout_is_canonical():
    data = sample_container()
    c = open_container(data)
    h = c.header
    assert data[:8] == layout.MAGIC and h.version_major == 3 and h.version_minor == 0
    assert h.metadata_offset == 96 + 16 * 3
    assert h.payload_offset == layout.align4(h.metadata_offset + h.metadata_length)
    assert [e.payload_offset for e in c.entries] == [h.payload_offset, h.payload_offset + 16, h.payload_offset + 32]
    assert h.file_length == len(data) == h.trailer_offset + 152
    assert c.trailer.content_sha256 == hashlib.sha256(data[:h.trailer_offset]).digest()
    assert not c.signed and not c.tagged and not h.is_delta
    for index, expected in enumerate(SAMPLE_LEVELS):
        assert c.levels(index).tolist() == expected.tolist()


# ----------------------------------------------------------------------------- seeking

def test_seek_reads_one_tensor_without_the_others(tmp_path):
    data = bytearray(sample_container())
    c = open_container(bytes(data))
    other = c.entries[0]
    data[other.payload_offset:other.payload_offset + other.payload_length] = b"\xaa" * other.payload_length
    path = tmp_path / "model.dcb"
    path.write_bytes(bytes(data))
    entry, payload = read_tensor(path, 2)
    assert entry == c.entries[2]
    assert payload == c.payload(2)
    assert np.frombuffer(payload, "<i2").tolist() == SAMPLE_LEVELS[2].tolist()
    with pytest.raises(BitstreamError) as err:  # the whole-file reader sees the damage
        read_container(path)
    assert err.value.status == "DC_ERR_HASH"
    with pytest.raises(IndexError):
        read_tensor(path, 3)


def test_seek_checks_the_header_and_entry(tmp_path):
    path = tmp_path / "bad.dcb"
    path.write_bytes(b"\x89DCB\r\n\x1a\n\x07" + bytes(200))
    with pytest.raises(BitstreamError) as err:
        read_tensor(path, 0)
    assert err.value.status == "DC_ERR_VERSION"


# ----------------------------------------------------------------------------- atomic writes

def test_write_container_is_atomic_and_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "model.dcb"
    write_container(path, b"old contents")
    data = sample_container()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_container(path, data)
    assert path.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.dcb"]
    monkeypatch.undo()
    write_container(path, data)
    assert read_container(path).data == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.dcb"]


def test_write_atomic_cleans_up_when_rename_fails(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PermissionError):
        write_atomic(tmp_path / "x.bin", b"data")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- signatures and keys

def test_sign_and_verify():
    key = publisher_key()
    signed = sign_container(sample_container(), key)
    c = open_container(signed)
    assert c.signed and c.trailer.key_id == key_id(key.public_key())
    assert c.trailer.key_id == hashlib.sha256(key.public_key().public_bytes_raw()).digest()[:16]
    verify_signature(c, key.public_key())
    assert sign_container(sample_container(), key) == signed  # Ed25519 is deterministic
    assert signed[:c.header.trailer_offset] == sample_container()[:c.header.trailer_offset]
    assert _container.open(signed) == "DC_OK"


def test_generate_keypair_writes_loadable_keys_and_refuses_overwrite(tmp_path):
    pair = generate_keypair(tmp_path / "keys")
    assert pair.private_path.stat().st_mode & 0o777 == 0o600
    private, public = load_private_key(pair.private_path), load_public_key(pair.public_path)
    assert key_id(public) == key_id(private.public_key()) == pair.key_id
    signed = sign_container(sample_container(), private)
    verify_signature(signed, public)
    before = pair.private_path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        generate_keypair(tmp_path / "keys")
    assert pair.private_path.read_bytes() == before
    assert generate_keypair(tmp_path / "keys", force=True).key_id != pair.key_id


def test_default_key_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert default_key_dir() == tmp_path / "cfg" / "dcagent" / "keys"
    pair = generate_keypair()
    assert pair.public_path == tmp_path / "cfg" / "dcagent" / "keys" / "publisher.pub"
    assert key_id(load_public_key()) == pair.key_id
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_key_dir() == tmp_path / "home" / ".config" / "dcagent" / "keys"


def test_raw_key_files(tmp_path):
    key = publisher_key()
    (tmp_path / "raw.key").write_bytes(key.private_bytes_raw())
    (tmp_path / "raw.pub").write_bytes(key.public_key().public_bytes_raw())
    signed = sign_container(sample_container(), load_private_key(tmp_path / "raw.key"))
    verify_signature(signed, load_public_key(tmp_path / "raw.pub"))


# ----------------------------------------------------------------------------- device tags

def test_device_tag_matches_the_spec_and_c():
    signed = sign_container(sample_container(), publisher_key())
    tagged = add_device_tag(signed, TEST_DEVICE_KEY)
    trailer = open_container(tagged).header.trailer_offset
    assert tagged[:trailer + 116] == signed[:trailer + 116]
    assert tagged[trailer + 116:trailer + 120] == b"\x01\x00\x00\x00"
    expected = hmac.new(TEST_DEVICE_KEY, tagged[:trailer + 120], hashlib.sha256).digest()
    assert tagged[-32:] == expected
    verify_device_tag(tagged, TEST_DEVICE_KEY)
    verify_signature(tagged, publisher_key().public_key())
    assert _container.verify_tag(tagged, TEST_DEVICE_KEY) == "DC_OK"
    assert _container.verify_tag(tagged, b"other key") == "DC_ERR_AUTH"
    assert _container.verify_tag(tagged, b"") == "DC_ERR_ARG"
    assert _container.verify_tag(tagged, bytes(65)) == "DC_ERR_ARG"
    with pytest.raises(ValueError):
        verify_device_tag(tagged, bytes(65))


@pytest.mark.parametrize("length", [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000])
def test_c_sha256_and_hmac_match_hashlib(length):
    data = bytes((i * 7 + 3) & 0xFF for i in range(length))
    assert _container.sha256(data) == hashlib.sha256(data).digest()
    for key_length in (1, 16, 32, 63, 64):
        key = bytes(range(key_length))
        assert _container.hmac_sha256(key, data) == hmac.new(key, data, hashlib.sha256).digest()


# ----------------------------------------------------------------------------- deltas

def test_delta_container_applies_to_its_base_only():
    base = open_container(sample_container())
    target = np.array(SAMPLE_LEVELS[0][::-1])
    payloads = sample_payloads()
    payloads[0] = TensorPayload.raw_delta(target, SAMPLE_LEVELS[0], LevelDtype.INT8)
    delta = open_container(build_container(sample_metadata(2), payloads, base_sha256=base.content_sha256))
    assert delta.header.is_delta and delta.entries[0].delta
    assert delta.levels(0, base=base).tolist() == target.tolist()
    assert delta.levels(1).tolist() == SAMPLE_LEVELS[1].tolist()  # a full tensor needs no base
    delta.check_base(base.content_sha256)
    assert _container.check_base(delta.data, base.content_sha256) == "DC_OK"
    other = open_container(build_container(sample_metadata(3), sample_payloads()))
    for attempt in (lambda: delta.levels(0), lambda: delta.levels(0, base=other),
                    lambda: delta.check_base(other.content_sha256)):
        with pytest.raises(BitstreamError) as err:
            attempt()
        assert err.value.status == "DC_ERR_BASE"
    assert _container.check_base(delta.data, other.content_sha256) == "DC_ERR_BASE"
    assert _container.check_base(delta.data, None) == "DC_ERR_BASE"
    assert _container.check_base(base.data, None) == "DC_OK"  # a full model needs no base


def test_delta_tensor_needs_a_delta_container():
    payloads = sample_payloads()
    payloads[0] = replace(payloads[0], delta=True)
    with pytest.raises(BitstreamError) as err:
        build_container(sample_metadata(), payloads)
    assert err.value.status == "DC_ERR_TENSOR"


def test_cabac_payloads_are_decoded_by_the_coder_lazily():
    metadata = sample_metadata()
    payloads = sample_payloads()
    payloads[0] = TensorPayload(b"\x00\x01\x02", 16, Codec.CABAC, LevelDtype.INT8)
    c = open_container(build_container(metadata, payloads))  # opaque bytes: the container is valid
    assert c.entries[0].codec is Codec.CABAC and c.payload(0) == b"\x00\x01\x02"
    assert _container.open(c.data) == "DC_OK"
    assert c.levels(1).tolist() == SAMPLE_LEVELS[1].tolist()  # raw tensors never need the coder


# ----------------------------------------------------------------------------- golden vectors

VALID = sorted(p.stem for p in VECTORS.glob("*.dcb") if not p.stem.startswith("neg_"))


@pytest.mark.parametrize("name", VALID)
def test_golden_vector_reports(name):
    expected = json.loads((VECTORS / f"{name}.json").read_text())
    data = (VECTORS / f"{name}.dcb").read_bytes()
    container = open_container(data)
    assert container_report(container, levels=True) == expected["report"]
    assert _container.open(data) == expected["status"] == "DC_OK"
    public = load_public_key(VECTORS / "test_publisher.pub")
    if "signature_status" in expected:
        verify_signature(container, public)
    else:
        with pytest.raises(SignatureError):
            verify_signature(container, public)
    if "device_key" in expected:
        verify_device_tag(container, bytes.fromhex(expected["device_key"]))
        assert _container.verify_tag(data, bytes.fromhex(expected["device_key"])) == "DC_OK"
    if "delta_levels" in expected:
        base = open_container((VECTORS / "unsigned.dcb").read_bytes())
        assert container.header.base_sha256.hex() == expected["base_sha256"] == base.content_sha256.hex()
        for index, levels in expected["delta_levels"].items():
            assert container.levels(int(index), base=base).tolist() == levels


def test_golden_vectors_cover_every_container_status():
    statuses = set()
    for path in VECTORS.glob("neg_*.json"):
        expected = json.loads(path.read_text())
        statuses |= {expected["status"], expected.get("tag_status"), expected.get("base_status"),
                     expected.get("signature_status")}
    wanted = {"DC_ERR_MAGIC", "DC_ERR_VERSION", "DC_ERR_LENGTH", "DC_ERR_OVERSIZE", "DC_ERR_HASH",
              "DC_ERR_SIGNATURE", "DC_ERR_AUTH", "DC_ERR_METADATA", "DC_ERR_FIELD", "DC_ERR_TENSOR",
              "DC_ERR_BASE", "DC_ERR_TRUNCATED"}
    assert wanted <= statuses, f"no negative vector for {sorted(wanted - statuses)}"


def test_struct_sizes_match_the_spec():
    assert struct.calcsize(layout.HEADER_STRUCT.format) == 96
    assert layout.ENTRY_STRUCT.size == 16 and layout.TRAILER_STRUCT.size == 152
    assert layout.MAGIC == bytes([0x89, 0x44, 0x43, 0x42, 0x0D, 0x0A, 0x1A, 0x0A])
