"""Every way a .dcb container can be wrong gets its documented status, identically from the
Python reader and the C reader (host._container), per docs/bitstream.md section 7."""
from __future__ import annotations

import copy
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host import _container
from host.container import cbor, layout
from host.container.hmac_tag import add_device_tag, verify_device_tag
from host.container.layout import LevelDtype
from host.container.metadata import Compressor, Graph, Metadata, ModelInfo, Quantization, Target, TensorInfo
from host.container.reader import open_container
from host.container.signing import load_public_key, sign_container, verify_signature
from host.container.writer import TensorPayload, build_container, layout_container
from host.errors import BitstreamError, SignatureError
from tests.container_samples import (TEST_DEVICE_KEY, other_key, publisher_key, rehash, sample_container,
                                     sample_metadata, sample_payloads, set_entry, set_header, set_trailer)


def python_status(data: bytes) -> str:
    try:
        open_container(data)
    except BitstreamError as exc:
        assert exc.status and str(exc), "a BitstreamError must carry a status and a message"
        return exc.status
    return "DC_OK"


def both(data: bytes) -> str:
    """The status of both readers, asserting that they agree."""
    py, c = python_status(data), _container.open(data)
    assert py == c, f"Python reader says {py}, C reader says {c}"
    return py


def small_metadata() -> Metadata:
    return Metadata(ModelInfo("sm", 1), Target("m4", 1, 2), Compressor("t", "1", {}), Graph((), (), (), ()),
                    (TensorInfo("w", (2, 3), LevelDtype.INT8, Quantization((0.5,), (0,), 0)),))


def small_payloads() -> list[TensorPayload]:
    return [TensorPayload.raw([1, -2, 3, -4, 5, -6], LevelDtype.INT8)]


SMALL = build_container(small_metadata(), small_payloads())
SMALL_SIGNED_TAGGED = add_device_tag(sign_container(SMALL, publisher_key()), TEST_DEVICE_KEY)


def with_metadata(plain: dict, payloads=None) -> bytes:
    """A container of format 2, whose metadata keys are the schema's text (the rules below are those of
    section 4 in both formats; format 3's integer keys: tests/test_container_keys.py and the vectors)."""
    return layout_container(cbor.encode(plain), payloads if payloads is not None else sample_payloads(),
                            version_major=2)


# ----------------------------------------------------------------------------- exhaustive damage

def test_every_truncation_is_truncated_in_both_readers():
    for length in range(len(SMALL_SIGNED_TAGGED)):
        assert both(SMALL_SIGNED_TAGGED[:length]) == "DC_ERR_TRUNCATED", f"length {length}"


@pytest.mark.parametrize("data", [SMALL, SMALL_SIGNED_TAGGED], ids=["unsigned", "signed+tagged"])
def test_every_single_bit_flip_is_detected(data):
    tagged = data is SMALL_SIGNED_TAGGED
    trailer = open_container(data).header.trailer_offset
    for position in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            flipped = bytes(flipped)
            status = both(flipped)
            where = f"byte {position} bit {bit}"
            if not tagged:
                assert status != "DC_OK", f"{where}: open accepted a damaged unsigned container"
                continue
            if status == "DC_OK":  # only the signature and the tag can pass the structural checks
                assert trailer + 36 <= position < trailer + 116 or position >= trailer + 120, where
                assert _container.verify_tag(flipped, TEST_DEVICE_KEY) == "DC_ERR_AUTH", where
                with pytest.raises(BitstreamError):
                    verify_device_tag(flipped, TEST_DEVICE_KEY)
                if position < trailer + 116:
                    with pytest.raises(SignatureError):
                        verify_signature(flipped, publisher_key().public_key())


# ----------------------------------------------------------------------------- header and layout

@pytest.mark.parametrize("data, status", [
    (b"", "DC_ERR_TRUNCATED"),
    (b"\x89DC", "DC_ERR_TRUNCATED"),
    (b"PK\x03\x04", "DC_ERR_MAGIC"),
    (b"\x89DCB\r\n\n\x1a" + SMALL[8:], "DC_ERR_MAGIC"),
    (SMALL[:8] + b"\x00" + SMALL[9:], "DC_ERR_VERSION"),
    (SMALL[:8] + b"\x04", "DC_ERR_VERSION"),
    (rehash(SMALL[:8] + b"\x01" + SMALL[9:]), "DC_ERR_VERSION"),  # format 1: the older metadata schema
    (rehash(SMALL[:8] + b"\x02" + SMALL[9:]), "DC_ERR_METADATA"),  # format 2 reads text keys, SMALL has codes
    (rehash(SMALL[:9] + b"\x07" + SMALL[10:]), "DC_OK"),  # any minor version is readable
], ids=["empty", "magic-prefix", "zip", "magic-swapped", "major-0", "major-4-short", "major-1", "major-2-codes",
        "minor-7"])
def test_magic_and_version(data, status):
    assert both(data) == status


def test_format_1_containers_get_a_clear_error():
    with pytest.raises(BitstreamError, match="version_major is 1, this reader reads 3 and 2 .*re-create the container"):
        open_container(rehash(SMALL[:8] + b"\x01" + SMALL[9:]))


@pytest.mark.parametrize("field, value, status", [
    ("header_length", 100, "DC_ERR_FIELD"),
    ("directory_offset", 0, "DC_ERR_FIELD"),
    ("flags", 0x80000000, "DC_ERR_FIELD"),
    ("flags", layout.FLAG_DELTA, "DC_ERR_FIELD"),  # delta without base_sha256
    ("header_reserved", b"\x01" + bytes(15), "DC_ERR_FIELD"),
    ("base_sha256", b"\x01" * 32, "DC_ERR_FIELD"),  # base_sha256 without FLAG_DELTA
    ("file_length", layout.MAX_FILE_LENGTH + 1, "DC_ERR_OVERSIZE"),
    ("tensor_count", layout.MAX_TENSORS + 1, "DC_ERR_OVERSIZE"),
    ("metadata_length", layout.MAX_METADATA_LENGTH + 1, "DC_ERR_OVERSIZE"),
    ("file_length", 0xFFFF, "DC_ERR_TRUNCATED"),
    ("file_length", 100, "DC_ERR_LENGTH"),
    ("tensor_count", 2, "DC_ERR_LENGTH"),
    ("metadata_offset", 0xFFFFFFF0, "DC_ERR_LENGTH"),
    ("metadata_length", 0xFFFFF, "DC_ERR_LENGTH"),
    ("payload_offset", 4, "DC_ERR_LENGTH"),
    ("payload_length", 0xFFFFFFFF, "DC_ERR_LENGTH"),
    ("trailer_offset", 0xFFFFFFFC, "DC_ERR_LENGTH"),
    ("trailer_offset", 2, "DC_ERR_LENGTH"),
])
def test_header_fields(field, value, status):
    assert both(set_header(SMALL, field, value)) == status


def test_trailing_bytes_and_lengths_outside_the_file():
    assert both(SMALL + b"\x00") == "DC_ERR_LENGTH"
    assert both(set_entry(SMALL, 0, "payload_offset", 0xFFFFFFF0)) == "DC_ERR_LENGTH"
    assert both(set_entry(SMALL, 0, "payload_length", 0x7FFFFFFF)) == "DC_ERR_LENGTH"
    assert both(set_entry(SMALL, 0, "payload_offset", 4)) == "DC_ERR_LENGTH"


@pytest.mark.parametrize("field, value, status", [
    ("codec", 2, "DC_ERR_FIELD"),
    ("level_dtype", 3, "DC_ERR_FIELD"),
    ("tensor_flags", 0x8000, "DC_ERR_FIELD"),
    ("tensor_flags", layout.TENSOR_FLAG_DELTA, "DC_ERR_TENSOR"),
    ("level_count", layout.MAX_LEVELS_PER_TENSOR + 1, "DC_ERR_OVERSIZE"),
    ("level_count", 5, "DC_ERR_TENSOR"),  # raw payload length no longer matches
    ("level_dtype", 1, "DC_ERR_TENSOR"),
])
def test_directory_entries(field, value, status):
    assert both(set_entry(SMALL, 0, field, value)) == status


def test_nonzero_padding_is_a_field_error():
    c = open_container(SMALL)
    end = c.header.metadata_offset + c.header.metadata_length
    assert end % 4, "the small sample must have metadata padding for this test"
    data = bytearray(SMALL)
    data[end] = 0x55
    assert both(rehash(data)) == "DC_ERR_FIELD"


def test_oversize_inputs_are_refused_by_the_writer():
    huge = Metadata(**{**small_metadata().__dict__, "extensions": {"blob": bytes(layout.MAX_METADATA_LENGTH)}})
    with pytest.raises(BitstreamError) as err:
        build_container(huge, small_payloads())
    assert err.value.status == "DC_ERR_OVERSIZE"
    data = layout_container(huge.to_cbor(), small_payloads())
    assert both(data) == "DC_ERR_OVERSIZE"
    with pytest.raises(BitstreamError) as err:
        build_container(small_metadata(), small_payloads() * (layout.MAX_TENSORS + 1))
    assert err.value.status == "DC_ERR_OVERSIZE"


def test_a_hash_mismatch():
    data = bytearray(SMALL)
    data[-152] ^= 0x01
    assert both(bytes(data)) == "DC_ERR_HASH"


# ----------------------------------------------------------------------------- metadata

def _plain():
    return copy.deepcopy(sample_metadata().to_plain())


def _edit(path, value=None, delete=False):
    plain = _plain()
    node = plain
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return plain


@pytest.mark.parametrize("path, value, words", [
    (("colour",), "blue", "metadata.colour: unknown field"),
    (("tensors", 0, "q", "offset"), 1, "metadata.tensors[0].q.offset: unknown field"),
    (("graph", "nodes", 1, "attrs"), {}, "metadata.graph.nodes[1].attrs: unknown field"),
    (("target", "min_rom"), 1, "metadata.target.min_rom: unknown field"),
    (("model", "version"), -1, "metadata.model.version: expected an unsigned integer, found -1"),
    (("model", "version"), True, "metadata.model.version: expected an unsigned integer"),
    (("model", "name"), "", "metadata.model.name: expected non-empty text"),
    (("tensors", 0, "s", 1), 0, "metadata.tensors[0].s[1]: expected a dimension >= 1"),
    (("tensors", 0, "s"), [1] * 9, "at most 8 dimensions"),
    (("tensors", 0, "t"), 3, "expected a dtype code"),
    (("tensors", 0, "t"), 0, "expected a dtype code"),
    (("tensors", 1, "q", "s"), struct.pack("<4f", 0.5, 0.25, 0.0, 0.1), "expected a finite float32 > 0"),
    (("tensors", 1, "q", "s"), struct.pack("<4f", 0.5, 0.25, float("inf"), 0.1), "expected a finite float32 > 0"),
    (("tensors", 1, "q", "s"), struct.pack("<4f", 0.5, -0.25, 1.0, 0.1), "expected a finite float32 > 0"),
    (("tensors", 1, "q", "s"), [0.5, 0.25, 0.125, 0.0625], "expected a byte string of 4 * n"),
    (("tensors", 1, "q", "s"), b"\x00\x00\x80", "expected a byte string of 4 * n"),
    (("tensors", 0, "q", "s"), b"\x08\x00\x02\x01", "each 1..255"),
    (("tensors", 0, "q", "s"), b"", "each 1..255"),
    (("tensors", 0, "q", "x"), -127, "a scale exponent in [-126, 120]"),
    (("tensors", 0, "q", "x"), 121, "a scale exponent in [-126, 120]"),
    (("tensors", 0, "q", "x"), 1.5, "expected an integer"),
    (("tensors", 0, "q", "z"), [128, 0, 0, 0], "zero point in [-128, 127]"),
    (("tensors", 0, "q", "z"), 128, "zero point in [-128, 127]"),
    (("tensors", 0, "n"), "", "expected non-empty text"),
    (("tensors", 0, "e"), {"r": 7, "b": 4, "k": 1}, "expected a rule code"),
    (("tensors", 0, "e"), {"r": "uniform", "b": 4, "k": 1}, "expected a rule code"),
    (("tensors", 0, "e"), {"r": 1, "b": 9, "k": 1}, "2..8 bits for rule uniform"),
    (("tensors", 0, "e"), {"r": 1, "b": 4, "k": 19}, "largest value (133)"),
    (("tensors", 0, "e"), {"r": 1, "b": 4, "k": 0}, "largest value (0)"),
    (("tensors", 0, "e"), {"r": 3, "b": 8, "k": 1}, "2..7 bits for rule dependent"),
    (("tensors", 0, "e"), {"r": 3, "b": 4, "k": 10}, "largest value (140)"),
    (("tensors", 0, "e"), {"r": 1, "b": 4, "k": 18, "i": 0}, "unknown field"),
    (("tensors", 0, "e"), {"r": 2, "b": 2, "c": b"\x00\x01", "i": 1}, "the index of a 0 entry"),
    (("tensors", 0, "e"), {"r": 2, "b": 1, "c": b"\x00\x01\x02", "i": 0}, "a codebook byte string of 1..2 int8"),
    (("tensors", 0, "e"), {"r": 2, "b": 2, "c": b"\x00", "i": 0, "k": 1}, "unknown field"),
    (("tensors", 1, "e"), {"r": 1, "b": 4, "k": 18}, "a rule for int32 values"),
    (("tensors", 2, "e"), {"r": 4, "k": 3}, "only int8 and int32 tensors have one"),
    (("tensors", 0, "e"), {"r": 4, "k": 3}, "a rule for int8 values"),
    (("tensors", 1, "e"), {"r": 4, "k": 0}, "a shift in 1..24"),
    (("tensors", 1, "e"), {"r": 4, "k": 25}, "a shift in 1..24"),
    (("tensors", 1, "e"), {"r": 4, "k": -1}, "expected an unsigned integer"),
    (("tensors", 1, "e"), {"r": 4, "k": 3, "b": 29}, "unknown field"),
    (("tensors", 1, "e"), {"r": 4}, "required field is missing"),
    (("graph", "values", 0, "e"), {"r": 1, "b": 4, "k": 18}, "a value has no payload"),
    (("tensors", 0, "q", "a"), 1, "4 channels along axis 1"),
    (("tensors", 2, "q", "a"), 2, "expected an axis < 2"),
    (("tensors", 1, "q", "z"), [0, 0, 0], "same count"),
    (("graph", "values", 0, "s"), [4096, 4096, 2], "at most 16777216 elements"),
    (("graph", "nodes", 0, "p", "stride"), [[1, 1]], "expected an int, float, text or bool"),
    (("graph", "nodes", 0, "p", "pad"), None, "expected an int, float, text or bool"),
    (("compressor", "settings", "blob"), [b"\x00"], "expected an int, float, text or bool"),
    (("graph", "inputs"), "input", "metadata.graph.inputs: expected an array"),
    (("graph", "inputs", 0), "input", "metadata.graph.inputs[0]: expected an operand index >= 0"),
    (("graph", "outputs", 0), -1, "metadata.graph.outputs[0]: expected an operand index >= 0"),
    (("graph", "nodes", 0, "i", 0), -2, "metadata.graph.nodes[0].i[0]: expected an operand index >= -1"),
    (("graph", "nodes", 0, "i", 0), 1.0, "metadata.graph.nodes[0].i[0]: expected an operand index"),
    (("graph", "nodes", 0, "o", 0), -1, "metadata.graph.nodes[0].o[0]: expected an operand index >= 0"),
    (("graph", "nodes", 0, "k"), "CONV_2D", "metadata.graph.nodes[0].k: expected an unsigned integer"),
    (("extensions",), [1], "metadata.extensions: expected a map"),
])
def test_schema_violations_name_the_field(path, value, words):
    data = with_metadata(_edit(path, value))
    with pytest.raises(BitstreamError) as err:
        open_container(data)
    assert err.value.status == "DC_ERR_METADATA"
    assert words in str(err.value)
    assert _container.open(data) == "DC_ERR_METADATA"


@pytest.mark.parametrize("path", [("target",), ("graph", "values"), ("tensors", 0, "q", "s"), ("tensors", 1, "s"),
                                  ("graph", "nodes", 0, "p"), ("graph", "nodes", 0, "k"), ("compressor", "version")])
def test_missing_fields(path):
    data = with_metadata(_edit(path, delete=True))
    with pytest.raises(BitstreamError, match="required field is missing") as err:
        open_container(data)
    assert err.value.status == "DC_ERR_METADATA" and _container.open(data) == "DC_ERR_METADATA"


def test_valid_encodings_and_broadcast_zero_points_are_accepted():
    for encoding, rule in (({"r": 1, "b": 4, "k": 18}, "uniform"), ({"r": 3, "b": 3, "k": 21}, "dependent"),
                           ({"r": 2, "b": 2, "c": b"\xf0\x00\x11", "i": 1}, "codebook")):
        plain = _edit(("tensors", 0, "e"), encoding)
        assert both(with_metadata(plain)) == "DC_OK", encoding
        assert open_container(with_metadata(plain)).metadata.tensors[0].encoding.rule == rule
    for shift in (1, 24):  # rule scaled on the int32 tensor, both ends of the shift range
        plain = _edit(("tensors", 1, "e"), {"r": 4, "k": shift})
        assert both(with_metadata(plain)) == "DC_OK", shift
        encoding = open_container(with_metadata(plain)).metadata.tensors[1].encoding
        assert (encoding.rule, encoding.shift, encoding.bits) == ("scaled", shift, 32 - shift)
    plain = _edit(("tensors", 0, "q", "z"), 3)
    assert both(with_metadata(plain)) == "DC_OK"
    assert open_container(with_metadata(plain)).metadata.tensors[0].quantization.zero_point == (3, 3, 3, 3)
    plain = _edit(("tensors", 0, "n"), delete=True)
    assert both(with_metadata(plain)) == "DC_OK"
    assert open_container(with_metadata(plain)).metadata.tensors[0].name == ""


def test_defaults_dtype_int8_axis_0_zero_point_0():
    plain = _plain()
    assert "t" not in plain["tensors"][0] and "a" not in plain["tensors"][0]["q"] and "z" not in plain["tensors"][0]["q"]
    meta = open_container(with_metadata(plain)).metadata.tensors[0]
    assert meta.dtype is LevelDtype.INT8 and meta.quantization.axis == 0 and meta.quantization.zero_point == (0,) * 4


def test_compact_scales_rebuild_exact_float32():
    plain = _edit(("tensors", 0, "q"), {"s": bytes([255, 1, 128, 3]), "x": -126})
    assert both(with_metadata(plain)) == "DC_OK"
    scales = open_container(with_metadata(plain)).metadata.tensors[0].quantization.scale
    assert scales == tuple(float(np.float32(m * 2.0 ** -126)) for m in (255, 1, 128, 3))
    plain = _edit(("tensors", 0, "q"), {"s": bytes([255, 7, 128, 1]), "x": 120})
    assert both(with_metadata(plain)) == "DC_OK"


def test_quantization_may_be_absent():
    plain = _edit(("tensors", 1, "q"), delete=True)
    assert both(with_metadata(plain)) == "DC_OK"
    assert open_container(with_metadata(plain)).metadata.tensors[1].quantization is None


def test_anything_goes_under_extensions():
    plain = _edit(("extensions",), {"vendor": {"deep": [[[{"x": None}]]], "blob": b"\x00\x01"}, "n": -5})
    assert both(with_metadata(plain)) == "DC_OK"
    assert open_container(with_metadata(plain)).metadata.extensions == plain["extensions"]


def test_metadata_and_directory_disagree():
    assert both(with_metadata(_edit(("tensors", 0, "s"), [4, 1, 2, 3]))) == "DC_ERR_TENSOR"
    assert both(with_metadata(_edit(("tensors", 1, "t"), 1))) == "DC_ERR_TENSOR"
    plain = _plain()
    plain["tensors"] = plain["tensors"][:2]
    assert both(with_metadata(plain)) == "DC_ERR_TENSOR"
    # a schema error beats a cross-check error
    plain = _edit(("tensors", 0, "s"), [4, 1, 2, 3])
    plain["colour"] = 1
    assert both(with_metadata(plain)) == "DC_ERR_METADATA"


MALFORMED_CBOR = {
    "indefinite map": b"\xbf\x61a\x01\xff",
    "indefinite text": b"\x7f\x61a\xff",
    "non-shortest int": b"\x18\x05",
    "non-shortest length": b"\x79\x00\x01a",
    "reserved info": b"\x1c",
    "unsorted keys": b"\xa2\x61b\x01\x61a\x02",
    "longer key first": b"\xa2\x62aa\x01\x61b\x02",
    "duplicate keys": b"\xa2\x61a\x01\x61a\x02",
    "negative integer key": b"\xa1\x20\x02",
    "byte string key": b"\xa1\x41a\x02",
    "integer key after text": b"\xa2\x61a\x01\x00\x02",
    "tag": b"\xc1\x1a\x00\x01\x00\x00",
    "undefined": b"\xf7",
    "simple 16": b"\xf0",
    "simple one-byte": b"\xf8\x20",
    "break": b"\xff",
    "NaN": b"\xf9\x7e\x00",
    "infinity": b"\xfa\x7f\x80\x00\x00",
    "single that fits half": b"\xfa\x3f\x80\x00\x00",
    "double that fits single": b"\xfb\x3f\xf0\x00\x00\x00\x00\x00\x00",
    "overlong UTF-8": b"\x62\xc0\x80",
    "surrogate UTF-8": b"\x63\xed\xa0\x80",
    "above U+10FFFF": b"\x64\xf4\x90\x80\x80",
    "truncated UTF-8": b"\x61\xe2",
    "below -2**63": b"\x3b\x80\x00\x00\x00\x00\x00\x00\x00",
    "too deep": b"\x81" * 17 + b"\x00",
    "trailing bytes": b"\x00\x00",
    "truncated array": b"\x83\x01\x02",
    "huge count": b"\x9b\x00\x00\x00\x01\x00\x00\x00\x00",
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(MALFORMED_CBOR))
def test_malformed_cbor_is_refused_by_both(name):
    data = MALFORMED_CBOR[name]
    with pytest.raises(BitstreamError) as err:
        cbor.decode(data)
    assert err.value.status == "DC_ERR_METADATA"
    assert _container.cbor_check(data) == "DC_ERR_METADATA"
    assert both(layout_container(data, sample_payloads())) == "DC_ERR_METADATA"


@pytest.mark.parametrize("data", [b"\x81" * 16 + b"\x00", b"\x3b\x7f\xff\xff\xff\xff\xff\xff\xff",
                                  b"\x1b\xff\xff\xff\xff\xff\xff\xff\xff", b"\xf9\x00\x01", b"\xf9\x80\x00",
                                  b"\xfa\x33\x00\x00\x00", b"\x64\xf4\x8f\xbf\xbf", b"\xa2\x61b\x01\x62aa\x02",
                                  b"\xa3\x00\x01\x17\x02\x18\x18\x03", b"\xa2\x05\x01\x61a\x02"])
def test_edge_cbor_is_accepted_by_both(data):
    cbor.decode(data)
    assert _container.cbor_check(data) == "DC_OK"


# ----------------------------------------------------------------------------- trailer

@pytest.mark.parametrize("field, value, status", [
    ("signature_algorithm", 2, "DC_ERR_SIGNATURE"),
    ("signature_algorithm", 1, "DC_ERR_SIGNATURE"),  # "signed" with a zero key id and signature
    ("signature_reserved", 1, "DC_ERR_SIGNATURE"),
    ("key_id", b"\x01" * 16, "DC_ERR_SIGNATURE"),  # unsigned with a key id
    ("signature", b"\x01" * 64, "DC_ERR_SIGNATURE"),
    ("tag_algorithm", 2, "DC_ERR_AUTH"),
    ("tag_algorithm", 1, "DC_ERR_AUTH"),  # a tag of zeros
    ("tag_reserved", 1, "DC_ERR_AUTH"),
    ("device_tag", b"\x01" * 32, "DC_ERR_AUTH"),  # a tag without algorithm
])
def test_trailer_well_formedness(field, value, status):
    assert both(set_trailer(SMALL, field, value)) == status


def test_signature_problems():
    public = publisher_key().public_key()
    with pytest.raises(SignatureError, match="unsigned") as err:
        verify_signature(SMALL, public)
    assert err.value.status == "DC_ERR_SIGNATURE"
    signed = sign_container(SMALL, publisher_key())
    with pytest.raises(SignatureError, match="signed by key"):
        verify_signature(signed, other_key().public_key())
    forged = set_trailer(signed, "key_id", open_container(sign_container(SMALL, other_key())).trailer.key_id)
    with pytest.raises(SignatureError):
        verify_signature(forged, other_key().public_key())
    bad = set_trailer(signed, "signature", bytes(63) + b"\x01")
    assert both(bad) == "DC_OK"  # C checks form only; the gateway verifies Ed25519
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signature(bad, public)
    with pytest.raises(SignatureError):
        verify_signature(sign_container(SMALL, other_key()), public)


def test_device_tag_problems():
    with pytest.raises(BitstreamError, match="no device tag") as err:
        verify_device_tag(SMALL, TEST_DEVICE_KEY)
    assert err.value.status == "DC_ERR_AUTH"
    assert _container.verify_tag(SMALL, TEST_DEVICE_KEY) == "DC_ERR_AUTH"
    wrong = bytes(32)
    with pytest.raises(BitstreamError) as err:
        verify_device_tag(SMALL_SIGNED_TAGGED, wrong)
    assert err.value.status == "DC_ERR_AUTH"
    assert _container.verify_tag(SMALL_SIGNED_TAGGED, wrong) == "DC_ERR_AUTH"
    # re-signing invalidates a tag, so signing removes it
    resigned = sign_container(SMALL_SIGNED_TAGGED, publisher_key())
    assert not open_container(resigned).tagged


def test_delta_base_mismatch():
    base = open_container(sample_container())
    payloads = sample_payloads()
    payloads[0] = TensorPayload.raw_delta(np.zeros(16), np.zeros(16), LevelDtype.INT8)
    delta = build_container(sample_metadata(2), payloads, base_sha256=base.content_sha256)
    wrong = bytes(31) + b"\x01"
    assert _container.check_base(delta, wrong) == "DC_ERR_BASE"
    with pytest.raises(BitstreamError) as err:
        open_container(delta).check_base(wrong)
    assert err.value.status == "DC_ERR_BASE"
    other_base = build_container(small_metadata(), small_payloads())
    with pytest.raises(BitstreamError) as err:
        open_container(delta).levels(0, base=open_container(other_base))
    assert err.value.status == "DC_ERR_BASE"


# ----------------------------------------------------------------------------- differential

@st.composite
def damaged(draw):
    data = bytearray(draw(st.sampled_from([SMALL, SMALL_SIGNED_TAGGED, sample_container()])))
    c = open_container(bytes(data))
    region = draw(st.sampled_from(["header", "directory", "metadata", "anywhere"]))
    low, high = {"header": (0, 96), "directory": (96, c.header.metadata_offset),
                 "metadata": (c.header.metadata_offset, c.header.payload_offset),
                 "anywhere": (0, len(data))}[region]
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(low, max(low, high - 1)))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = bytearray(rehash(data)) if len(data) >= 44 and int.from_bytes(data[40:44], "little") + 32 <= len(data) else data
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_python_and_c_agree_on_damaged_containers(data):
    both(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_python_and_c_agree_on_random_cbor(data):
    try:
        cbor.decode(data)
        python = "DC_OK"
    except BitstreamError as exc:
        python = exc.status
    assert _container.cbor_check(data) == python


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_python_and_c_agree_on_mutated_metadata(data):
    meta = bytearray(small_metadata().to_cbor())
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["set", "insert", "delete"]))
        position = data.draw(st.integers(0, len(meta) - 1))
        if action == "set":
            meta[position] = data.draw(st.integers(0, 255))
        elif action == "insert":
            meta.insert(position, data.draw(st.integers(0, 255)))
        elif len(meta) > 1:
            del meta[position]
    both(layout_container(bytes(meta), small_payloads()))


def test_struct_formats_are_little_endian():
    for s in (layout.HEADER_STRUCT, layout.ENTRY_STRUCT, layout.TRAILER_STRUCT):
        assert s.format.startswith("<")
    assert struct.unpack_from("<I", SMALL, 44)[0] == len(SMALL)


def _python_cbor_status(data: bytes) -> str:
    try:
        cbor.decode(data)
    except BitstreamError as exc:
        return exc.status
    return "DC_OK"


def test_every_half_float_gets_the_same_verdict():
    for bits in range(0x10000):
        data = b"\xf9" + bits.to_bytes(2, "big")
        assert _container.cbor_check(data) == _python_cbor_status(data), hex(bits)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 0xFFFFFFFF), st.integers(0, (1 << 64) - 1))
def test_single_and_double_floats_get_the_same_verdict(single, double):
    for data in (b"\xfa" + single.to_bytes(4, "big"), b"\xfb" + double.to_bytes(8, "big"),
                 b"\xfb" + struct.pack(">d", struct.unpack(">f", single.to_bytes(4, "big"))[0])):
        assert _container.cbor_check(data) == _python_cbor_status(data), data.hex()


VECTORS = Path(__file__).parent / "vectors" / "container"


@pytest.mark.parametrize("name", sorted(p.stem for p in VECTORS.glob("neg_*.dcb")))
def test_negative_golden_vectors(name):
    expected = json.loads((VECTORS / f"{name}.json").read_text())
    data = (VECTORS / f"{name}.dcb").read_bytes()
    assert both(data) == expected["status"]
    if "tag_status" in expected:
        key = bytes.fromhex(expected["device_key"])
        assert _container.verify_tag(data, key) == expected["tag_status"]
        with pytest.raises(BitstreamError) as err:
            verify_device_tag(data, key)
        assert err.value.status == expected["tag_status"]
    if "base_status" in expected:
        base = bytes.fromhex(expected["base_sha256"])
        assert _container.check_base(data, base) == expected["base_status"]
        with pytest.raises(BitstreamError) as err:
            open_container(data).check_base(base)
        assert err.value.status == expected["base_status"]
    if "signature_status" in expected:
        with pytest.raises(SignatureError) as err:
            verify_signature(data, load_public_key(VECTORS / "test_publisher.pub"))
        assert err.value.status == expected["signature_status"]
