"""The firmware's fleet codecs, MQTT framing and Ed25519 verification (host._fleet runs the
board's C code) against the Python reference: dcagent.fleet.messages, cryptography, hashlib."""
from __future__ import annotations

import hashlib

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from dcagent.fleet.messages import (BlockRequest, BlockResponse, Manifest, StreamErrorCode, StreamRejection,
                                    TargetSpec, bitmap_of)
from host import _fleet

DC_OK, DC_ERR_ARG, DC_ERR_SIGNATURE, DC_ERR_METADATA, DC_ERR_FIELD, DC_ERR_PROTOCOL = 0, -1, -45, -47, -48, -123
L = 2**252 + 27742317777372353535851937790883648493


def raw(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- Ed25519 and SHA-512 -----------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(message=st.binary(max_size=300), seed=st.binary(min_size=32, max_size=32))
def test_ed25519_accepts_what_cryptography_signs(message, seed):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert _fleet.ed25519_verify(key.sign(message), message, raw(key.public_key())) == DC_OK


@settings(max_examples=30, deadline=None)
@given(message=st.binary(min_size=1, max_size=100), bit=st.integers(0, 64 * 8 - 1), which=st.sampled_from("smk"))
def test_ed25519_refuses_any_flipped_bit(message, bit, which):
    key = Ed25519PrivateKey.generate()
    signature, public = bytearray(key.sign(message)), raw(key.public_key())
    message = bytearray(message)
    if which == "s":
        signature[bit // 8] ^= 1 << (bit % 8)
    elif which == "m":
        message[(bit // 8) % len(message)] ^= 1 << (bit % 8)
    else:
        other = raw(Ed25519PrivateKey.generate().public_key())
        public = other
    assert _fleet.ed25519_verify(bytes(signature), bytes(message), public) == DC_ERR_SIGNATURE


def test_ed25519_refuses_s_not_below_l_and_keys_off_the_curve():
    key = Ed25519PrivateKey.generate()
    signature = key.sign(b"m")
    s = int.from_bytes(signature[32:], "little")
    malleable = signature[:32] + (s + L).to_bytes(32, "little")  # the same point, S >= L
    assert _fleet.ed25519_verify(malleable, b"m", raw(key.public_key())) == DC_ERR_SIGNATURE
    not_a_point = (2).to_bytes(32, "little")  # y = 2 has no x on the curve
    assert _fleet.ed25519_verify(signature, b"m", not_a_point) == DC_ERR_SIGNATURE
    assert _fleet.ed25519_verify(signature[:63], b"m", raw(key.public_key())) == DC_ERR_ARG


def test_ed25519_rfc8032_test_vector_1():
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                              "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    assert _fleet.ed25519_verify(signature, b"", public) == DC_OK


@pytest.mark.parametrize("size", [0, 1, 111, 112, 127, 128, 129, 1000])
def test_sha512_matches_hashlib(size):
    data = bytes(range(256)) * 4
    assert _fleet.sha512(data[:size]) == hashlib.sha512(data[:size]).digest()


# --- messages ------------------------------------------------------------------------------------
def manifest(**changes) -> Manifest:
    fields = dict(fleet="alpha", model_name="kws", model_version=7, size=123_456, sha256=bytes(range(32)),
                  content_sha256=bytes(range(1, 33)), key_id=bytes(range(16)), signature=bytes(range(64)),
                  base_sha256=None, target=TargetSpec("cortex-m4", 262144, 65536), block_size=4096,
                  stream_id="0123456789abcdef")
    fields.update(changes)
    return Manifest(**fields)


@pytest.mark.parametrize("m", [manifest(), manifest(key_id=b"", signature=b""), manifest(base_sha256=bytes(32)),
                               manifest(target=TargetSpec("", 0, 0), block_size=128, model_version=0),
                               manifest(check_sha256=bytes(range(100, 132))),
                               manifest(check_sha256=bytes(range(32)), base_sha256=bytes(range(5, 37)))])
def test_manifest_decodes_as_python_wrote_it(m):
    status, fields = _fleet.parse_manifest(m.to_cbor(), "alpha")
    assert status == DC_OK
    assert fields == (m.model_version, m.size, m.block_size, m.target.min_flash, m.target.min_ram, int(m.signed),
                      int(m.base_sha256 is not None), m.sha256, m.content_sha256, m.base_sha256 or bytes(32),
                      m.key_id, m.signature, m.model_name, m.target.arch, m.stream_id, m.check_sha256 or b"")


@pytest.mark.parametrize("n", [0, 1, 31, 32, 33, 300, 27648])
def test_check_input_is_the_same_in_c_and_python(n):
    from dcagent.fleet.check import check_input
    assert _fleet.check_input(n) == check_input(n)
    assert len(check_input(n)) == n


def test_check_digest_runs_the_c_runtime_or_says_none():
    import numpy as np

    from bench.synthetic_dcb import make_container
    from dcagent.fleet.check import check_digest, check_input
    from host.runtime import Runtime
    from tests.agent_harness import model
    data = model(1, seed=3)
    x = np.frombuffer(check_input(300), dtype=np.int8).reshape(1, 300)
    assert check_digest(data) == hashlib.sha256(Runtime(data).run([x])[0].tobytes()).digest()
    assert check_digest(make_container(size=2000)) is None   # IDENTITY: a graph the runtime does not run
    assert check_digest(b"not a container") is None


def _plain(m: Manifest) -> dict:
    return cbor2.loads(m.to_cbor())


@pytest.mark.parametrize("mutate, status", [
    (lambda d: d.update(extra=1), DC_ERR_METADATA),
    (lambda d: d.pop("stream_id"), DC_ERR_METADATA),
    (lambda d: d.update(format=2), DC_ERR_METADATA),
    (lambda d: d.update(size=0), DC_ERR_METADATA),
    (lambda d: d.update(size=2**26 + 1), DC_ERR_METADATA),
    (lambda d: d.update(block_size=127), DC_ERR_METADATA),
    (lambda d: d.update(sha256=bytes(31)), DC_ERR_METADATA),
    (lambda d: d.update(key_id=b""), DC_ERR_METADATA),                 # signature without a key id
    (lambda d: d.update(stream_id="a/b"), DC_ERR_METADATA),
    (lambda d: d["model"].update(version=2**32), DC_ERR_METADATA),
    (lambda d: d["model"].update(version=True), DC_ERR_METADATA),
    (lambda d: d["target"].update(cpu="m4"), DC_ERR_METADATA),
    (lambda d: d.update(fleet="beta"), DC_ERR_FIELD),
    (lambda d: d.update(check_sha256=bytes(31)), DC_ERR_METADATA),
    (lambda d: d.update(check_sha256=None), DC_ERR_METADATA),
    (lambda d: d.update(check_sha2=bytes(32)), DC_ERR_METADATA),       # 13 keys, but not check_sha256
])
def test_manifest_refusals(mutate, status):
    plain = _plain(manifest())
    mutate(plain)
    assert _fleet.parse_manifest(cbor2.dumps(plain, canonical=True), "alpha")[0] == status


def test_manifest_must_be_deterministic_cbor():
    data = manifest().to_cbor()
    plain = _plain(manifest())
    unsorted = cbor2.dumps(dict(sorted(plain.items())))  # keys bytewise, not length-first
    assert _fleet.parse_manifest(unsorted, "alpha")[0] == DC_ERR_METADATA
    assert _fleet.parse_manifest(data + b"\x00", "alpha")[0] == DC_ERR_METADATA
    assert _fleet.parse_manifest(data[:-1], "alpha")[0] == DC_ERR_METADATA
    assert _fleet.parse_manifest(b"", "alpha")[0] == DC_ERR_METADATA


@settings(max_examples=60, deadline=None)
@given(offset=st.integers(0, 10_000), count=st.integers(1, 128), size=st.integers(128, 65536), data=st.data())
def test_request_encoding_is_byte_identical_to_python(offset, count, size, data):
    wanted = data.draw(st.lists(st.integers(offset, offset + count - 1), min_size=1, unique=True))
    bitmap = None if len(wanted) == count else bitmap_of(wanted, offset, count)
    status, encoded = _fleet.encode_request("t42", size, offset, count, bitmap)
    assert status == DC_OK
    assert encoded == BlockRequest("t42", 0, size, offset, count, bitmap).to_cbor()


def test_request_encoding_refuses_out_of_range_arguments():
    assert _fleet.encode_request("t1", 127, 0, 1, None)[0] == DC_ERR_ARG
    assert _fleet.encode_request("t1", 1024, 0, 129, None)[0] == DC_ERR_ARG
    assert _fleet.encode_request("", 1024, 0, 1, None)[0] == DC_ERR_ARG
    assert _fleet.encode_request("t" * 65, 1024, 0, 1, None)[0] == DC_ERR_ARG


def test_block_and_rejection_decode_as_python_wrote_them():
    block = BlockResponse("t7", 0, 1024, 99, bytes(range(200)))
    assert _fleet.parse_block(block.to_cbor()) == (DC_OK, ("t7", 0, 1024, 99, bytes(range(200))))
    too_long = cbor2.dumps({"c": "t", "f": 0, "i": 0, "l": 128, "p": bytes(129)}, canonical=True)
    empty = cbor2.dumps({"c": "t", "f": 0, "i": 0, "l": 128, "p": b""}, canonical=True)
    assert _fleet.parse_block(too_long)[0] == _fleet.parse_block(empty)[0] == DC_ERR_METADATA
    rejection = StreamRejection("t3", StreamErrorCode.OUT_OF_RANGE, "block 9 is beyond the file")
    assert _fleet.parse_rejection(rejection.to_cbor()) == (DC_OK, ("t3", "out_of_range", "block 9 is beyond the file"))
    unknown = cbor2.dumps({"c": "t3", "m": "", "o": "gone"}, canonical=True)
    assert _fleet.parse_rejection(unknown)[0] == DC_ERR_METADATA


# --- MQTT fixed header -------------------------------------------------------------------------
@pytest.mark.parametrize("data, expected", [
    (b"", (0, 0, 0, 0)),
    (b"\x30", (0, 0, 0, 0)),
    (b"\x30\x00", (1, 0x30, 2, 0)),
    (b"\x30\x7f", (1, 0x30, 2, 127)),
    (b"\x30\x80\x01", (1, 0x30, 3, 128)),
    (b"\x30\xff\xff\xff\x7f", (1, 0x30, 5, 268_435_455)),
    (b"\x30\x80\x80", (0, 0, 0, 0)),
    (b"\x30\x80\x80\x80\x80\x01", (DC_ERR_PROTOCOL, 0, 0, 0)),
])
def test_mqtt_fixed_header(data, expected):
    assert _fleet.mqtt_fixed_header(data) == expected
