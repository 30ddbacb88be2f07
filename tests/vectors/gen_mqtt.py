"""Seed streams for the MQTT client fuzz target (tests/fuzz/fuzz_mqtt_packets.c): the bytes a
broker sends to the firmware's MQTT client during a fleet update. Byte 0 of each file is the
harness's mode (bit 0 set: the harness answers SUBSCRIBE/QoS 1 PUBLISH/PINGREQ itself; clear:
the file holds every broker packet); the rest is the broker's byte stream: CONNACK, the
retained manifest, block responses, rejections, and malformed packets. The manifests are
signed with a fixed Ed25519 seed whose public key the harness trusts."""
from __future__ import annotations

from pathlib import Path

SPEC = "docs/protocol-mqtt.md (MQTT 3.1.1 client of devices without a gateway)"
KEY_SEED = bytes(range(32))          # the harness trusts its public key
FLEET, DEVICE = "alpha", "dev-a1"
BLOCK = 1024


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _publish(topic: str, payload: bytes, *, qos: int = 0, packet_id: int = 1, retain: bool = False) -> bytes:
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t + (packet_id.to_bytes(2, "big") if qos else b"") + payload
    return bytes([0x30 | qos << 1 | int(retain)]) + _remaining(len(body)) + body


CONNACK = b"\x20\x02\x00\x00"
AUTO, RAW = b"\x01", b"\x00"


def generate(outdir: Path) -> list[str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bench.synthetic_dcb import make_container
    from dcagent.fleet import topics
    from dcagent.fleet.messages import BlockResponse, StreamErrorCode, StreamRejection
    from dcagent.fleet.publisher import manifest_for
    from host.container.reader import open_container
    from host.container.signing import sign_container

    key = Ed25519PrivateKey.from_private_bytes(KEY_SEED)
    data = sign_container(make_container(size=2000, version=3, arch="host", seed=11), key)
    manifest = manifest_for(open_container(data), FLEET, block_size=BLOCK)
    man = _publish(topics.manifest(FLEET), manifest.to_cbor(), qos=1, retain=True)
    data_topic = topics.stream_data(DEVICE, manifest.stream_id)
    blocks = [_publish(data_topic, BlockResponse("t1", 0, BLOCK, i, data[i * BLOCK:(i + 1) * BLOCK]).to_cbor())
              for i in range((len(data) + BLOCK - 1) // BLOCK)]
    rejection = _publish(topics.stream_rejected(DEVICE, manifest.stream_id),
                         StreamRejection("t1", StreamErrorCode.UNKNOWN_STREAM, "gone").to_cbor(), qos=1, packet_id=9)
    unsigned = manifest_for(open_container(make_container(size=2000, version=3, arch="host", seed=12)), FLEET,
                            block_size=BLOCK)
    ping = b"\xd0\x00"  # an unsolicited PINGRESP: one more poll, so the agent acts on what came before
    acks = b"\x90\x03\x00\x02\x01" + b"\x90\x03\x00\x03\x01" + b"\x40\x02\x00\x04" + b"\x40\x02\x00\x05"
    streams = {
        "update.bin": AUTO + CONNACK + man + b"".join(blocks) + ping,
        "update_reordered.bin": AUTO + CONNACK + man + b"".join(reversed(blocks)) + blocks[0] + ping,
        "rejected_stream.bin": AUTO + CONNACK + man + ping * 3 + rejection + ping,
        "unsigned_manifest.bin": AUTO + CONNACK + _publish(topics.manifest(FLEET), unsigned.to_cbor(), retain=True)
        + ping,
        "withdrawn.bin": AUTO + CONNACK + man + _publish(topics.manifest(FLEET), b"", retain=True) + ping,
        "oversize_publish.bin": AUTO + CONNACK + _publish(topics.manifest(FLEET), bytes(3000), qos=1, packet_id=5)
        + ping,
        "raw_session.bin": RAW + CONNACK + b"\x90\x03\x00\x01\x01" + man + acks + b"".join(blocks) + ping,
        "raw_garbage.bin": RAW + CONNACK + b"\x30\xff\xff\xff\xff\x01\x00",
        "connack_refused.bin": RAW + b"\x20\x02\x00\x05",
    }
    written = []
    for name, stream in streams.items():
        (outdir / name).write_bytes(stream)
        written.append(name)
    return written
