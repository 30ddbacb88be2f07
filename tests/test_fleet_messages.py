"""Fleet update messages, topics, broker URLs, block bookkeeping and the device policy (no broker)."""
from __future__ import annotations

import hashlib

import cbor2
import pytest

from bench.synthetic_dcb import make_container
from dcagent.errors import ConfigError
from dcagent.fleet import topics
from dcagent.fleet.broker import parse_broker_url
from dcagent.fleet.errors import MessageError, UpdateRejectedError
from dcagent.fleet.messages import (MAX_BLOCKS_PER_REQUEST, BlockRequest, BlockResponse, Manifest, RejectReason, State,
                                    Status, StreamErrorCode, StreamRejection, bitmap_of)
from dcagent.fleet.policy import DevicePolicy, check_manifest, verify_download
from dcagent.fleet.publisher import manifest_for, stream_id_of
from dcagent.fleet.transfer import Transfer
from host.container.reader import open_container
from host.container.signing import private_key_from_seed, sign_container

KEY = private_key_from_seed(bytes(range(32)))
OTHER_KEY = private_key_from_seed(bytes(range(1, 33)))


def signed(data: bytes, key=KEY) -> bytes:
    return sign_container(data, key)


def manifest(data: bytes, fleet: str = "alpha", block_size: int = 1024) -> Manifest:
    return manifest_for(open_container(data), fleet, block_size=block_size)


@pytest.fixture(scope="module")
def model() -> bytes:
    return signed(make_container(size=10_000, version=3))


def policy(**kw) -> DevicePolicy:
    return DevicePolicy(trusted=(KEY.public_key(),), **kw)


# --- messages --------------------------------------------------------------------------------
def test_manifest_round_trip(model):
    m = manifest(model)
    assert Manifest.from_cbor(m.to_cbor()) == m
    assert m.stream_id == hashlib.sha256(model).hexdigest()[:16] == stream_id_of(model)
    assert m.block_count == -(-len(model) // 1024) and m.model_version == 3 and m.signed


def test_manifest_rejects_unknown_key_naming_it(model):
    plain = cbor2.loads(manifest(model).to_cbor())
    plain["extra"] = 1
    with pytest.raises(MessageError, match="unknown key 'extra'") as exc:
        Manifest.from_cbor(cbor2.dumps(plain))
    assert exc.value.field == "manifest.extra"


@pytest.mark.parametrize("key, value, field", [
    ("sha256", b"\x00" * 31, "manifest.sha256"),
    ("size", 0, "manifest.size"),
    ("size", True, "manifest.size"),
    ("block_size", 64, "manifest.block_size"),
    ("stream_id", "a/b", "manifest.stream_id"),
    ("fleet", "#", "manifest.fleet"),
    ("key_id", b"", "manifest.signature"),
    ("format", 2, "manifest.format"),
])
def test_manifest_field_checks(model, key, value, field):
    plain = cbor2.loads(manifest(model).to_cbor())
    plain[key] = value
    with pytest.raises(MessageError) as exc:
        Manifest.from_cbor(cbor2.dumps(plain))
    assert exc.value.field == field


@pytest.mark.parametrize("payload", [b"", b"\xff", cbor2.dumps([1, 2]), cbor2.dumps(cbor2.CBORTag(999, 1)),
                                     b"\xa1" + b"\x81" * 3000, cbor2.dumps({"x": b"\0" * 5000})])
def test_garbage_is_a_message_error(payload):
    with pytest.raises(MessageError):
        Manifest.from_cbor(payload)


def test_block_request_bitmap_round_trip():
    request = BlockRequest("tok", 0, 1024, 16, 20, bitmap_of([16, 18, 35], 16, 20))
    assert BlockRequest.from_cbor(request.to_cbor()).blocks() == [16, 18, 35]
    assert BlockRequest("t", 0, 1024, 4, 3).blocks() == [4, 5, 6]
    assert set(cbor2.loads(request.to_cbor())) == {"c", "f", "l", "o", "n", "b"}


@pytest.mark.parametrize("plain, field", [
    ({"c": "t", "f": 0, "l": 1024, "o": 0, "n": 0}, "request.n"),
    ({"c": "t", "f": 0, "l": 1024, "o": 0, "n": MAX_BLOCKS_PER_REQUEST + 1}, "request.n"),
    ({"c": "t", "f": 0, "l": 1024, "o": 0, "n": 4, "b": b"\x00"}, "request.b"),
    ({"c": "t", "f": 0, "l": 1024, "o": 0, "n": 4, "b": b"\x10"}, "request.b"),
    ({"c": "t", "f": 0, "l": 1024, "o": 0, "n": 4, "b": b"\x01\x00"}, "request.b"),
    ({"c": "", "f": 0, "l": 1024, "o": 0, "n": 4}, "request.c"),
    ({"c": "t", "f": 0, "l": 100, "o": 0, "n": 4}, "request.l"),
])
def test_block_request_checks(plain, field):
    with pytest.raises(MessageError) as exc:
        BlockRequest.from_cbor(cbor2.dumps(plain))
    assert exc.value.field == field


def test_block_response_and_rejection_round_trip():
    response = BlockResponse("t", 0, 256, 7, b"\x01" * 256)
    assert BlockResponse.from_cbor(response.to_cbor()) == response
    with pytest.raises(MessageError, match="at most 256"):
        BlockResponse.from_cbor(cbor2.dumps({"c": "t", "f": 0, "l": 256, "i": 0, "p": b"x" * 257}))
    rejection = StreamRejection("t", StreamErrorCode.OUT_OF_RANGE, "no")
    assert StreamRejection.from_cbor(rejection.to_cbor()) == rejection


def test_status_round_trip_and_states():
    status = Status("dev-1", State.REJECTED, 123, RejectReason.DOWNGRADE, "v2 < v3", "kws", 2, "ab12", 10, 20)
    assert Status.from_cbor(status.to_cbor()) == status
    plain = cbor2.loads(status.to_cbor())
    plain["state"] = "exploded"
    with pytest.raises(MessageError, match="status.state"):
        Status.from_cbor(cbor2.dumps(plain))


# --- topics and URLs -------------------------------------------------------------------------
def test_topics_build_and_parse():
    assert topics.manifest("alpha") == "dcagent/v1/fleets/alpha/manifest"
    assert topics.stream_get("dev-1", "ab") == "dcagent/v1/devices/dev-1/streams/ab/get"
    assert topics.parse_stream_get("dcagent/v1/devices/dev-1/streams/ab/get") == ("dev-1", "ab")
    assert topics.parse_stream_get("dcagent/v1/devices/dev-1/streams/ab/data") is None
    assert topics.stream_get_filter("ab") == "$share/dcagent-streams/dcagent/v1/devices/+/streams/ab/get"
    assert topics.parse_status(topics.status("dev-9")) == "dev-9"
    for bad in ["", "a/b", "+", "#", "$SYS", "x" * 65, "..", "a b"]:
        with pytest.raises(ConfigError):
            topics.manifest(bad)


def test_broker_urls():
    url = parse_broker_url("mqtts://dev%401:p%3Ass@example.org:8884")
    assert (url.host, url.port, url.tls, url.username, url.password) == ("example.org", 8884, True, "dev@1", "p:ss")
    assert parse_broker_url("mqtt://127.0.0.1").port == 1883
    assert parse_broker_url("mqtts://h").port == 8883
    assert "p:ss" not in str(url)
    for bad in ["http://h", "mqtt://", "mqtt://h:99999", "mqtt://h/path", "h:1883"]:
        with pytest.raises(ConfigError):
            parse_broker_url(bad)


# --- transfer ---------------------------------------------------------------------------------
def test_transfer_windows_and_reassembly(model):
    m = manifest(model, block_size=512)
    t = Transfer(m, window=4)
    first = t.next_request("x")
    assert first.blocks() == [0, 1, 2, 3] and first.bitmap is None
    for i in (0, 2):
        assert t.accept(BlockResponse("x", 0, 512, i, model[i * 512:(i + 1) * 512]))
    assert not t.accept(BlockResponse("x", 0, 512, 0, model[:512]))
    assert t.duplicates == 1
    again = t.next_request("y")
    assert again.offset == 1 and again.blocks() == [1, 3, 4]
    with pytest.raises(MessageError, match="expected 512"):
        t.accept(BlockResponse("x", 0, 512, 1, b"\0" * 100))
    with pytest.raises(MessageError, match="beyond the last block"):
        t.accept(BlockResponse("x", 0, 512, m.block_count, b"\0"))
    for i in range(m.block_count):
        t.accept(BlockResponse("x", 0, 512, i, model[i * 512:(i + 1) * 512]))
    assert t.complete and t.next_request("z") is None and t.data() == model
    assert t.bytes_received == len(model)


def test_transfer_resumes_from_disk_only_checkpointed_blocks(model, tmp_path):
    m = manifest(model, block_size=512)
    t = Transfer(m, tmp_path / "s", window=8)
    for i in (0, 1, 5):
        t.accept(BlockResponse("x", 0, 512, i, model[i * 512:(i + 1) * 512]))
    t.checkpoint()
    t.accept(BlockResponse("x", 0, 512, 6, model[6 * 512:7 * 512]))  # written, not checkpointed
    t.close()
    again = Transfer(m, tmp_path / "s", window=8)
    assert again.received_count == 3 and again.next_request("y").blocks() == [2, 3, 4, 6, 7, 8, 9]
    again.close()
    other = Transfer(manifest(model, block_size=1024), tmp_path / "s")  # another manifest: starts afresh
    assert other.received_count == 0
    other.discard()
    assert not (tmp_path / "s").exists()


# --- policy ----------------------------------------------------------------------------------
def test_policy_accepts_good_update(model):
    m = manifest(model)
    assert check_manifest(m, policy(arch="cortex-m4")) is not None
    assert verify_download(model, m, policy()).metadata.model.version == 3


@pytest.mark.parametrize("kwargs, reason", [
    ({"min_version": 4}, RejectReason.DOWNGRADE),
    ({"arch": "cortex-m0"}, RejectReason.WRONG_TARGET),
    ({"flash_bytes": 1000}, RejectReason.WRONG_TARGET),
    ({"ram_bytes": 10}, RejectReason.WRONG_TARGET),
    ({"max_size": 100}, RejectReason.TOO_LARGE),
])
def test_policy_refusals_before_download(model, kwargs, reason):
    with pytest.raises(UpdateRejectedError) as exc:
        check_manifest(manifest(model), policy(**kwargs))
    assert exc.value.reason == reason


def test_unsigned_untrusted_and_forged_manifests(model):
    unsigned = make_container(size=10_000)
    with pytest.raises(UpdateRejectedError) as exc:
        check_manifest(manifest(unsigned), policy())
    assert exc.value.reason == RejectReason.UNSIGNED
    with pytest.raises(UpdateRejectedError) as exc:
        check_manifest(manifest(signed(unsigned, OTHER_KEY)), policy())
    assert exc.value.reason == RejectReason.UNTRUSTED_KEY
    m = manifest(model)
    forged = Manifest(**{**m.__dict__, "content_sha256": bytes(32)})
    with pytest.raises(UpdateRejectedError) as exc:
        check_manifest(forged, policy())
    assert exc.value.reason == RejectReason.BAD_SIGNATURE


def test_download_verification_failures(model):
    m = manifest(model)
    tampered = bytearray(model)
    tampered[2000] ^= 1
    with pytest.raises(UpdateRejectedError) as exc:
        verify_download(bytes(tampered), m, policy())
    assert exc.value.reason == RejectReason.HASH_MISMATCH
    rehashed = Manifest(**{**m.__dict__, "sha256": hashlib.sha256(tampered).digest()})
    with pytest.raises(UpdateRejectedError) as exc:      # content hash in the trailer no longer matches
        verify_download(bytes(tampered), rehashed, policy())
    assert exc.value.reason == RejectReason.HASH_MISMATCH
    lying = Manifest(**{**m.__dict__, "model_version": 9})
    with pytest.raises(UpdateRejectedError) as exc:
        verify_download(model, lying, policy())
    assert exc.value.reason == RejectReason.MANIFEST_MISMATCH


def test_delta_needs_its_base():
    base = signed(make_container(size=5_000, seed=1))
    delta = signed(make_container(size=5_000, seed=2, version=2, base_sha256=open_container(base).content_sha256))
    m = manifest(delta)
    assert m.base_sha256 == open_container(base).content_sha256
    with pytest.raises(UpdateRejectedError) as exc:
        check_manifest(m, policy())
    assert exc.value.reason == RejectReason.BASE_MISMATCH
    assert verify_download(delta, m, policy(base_sha256=open_container(base).content_sha256))
