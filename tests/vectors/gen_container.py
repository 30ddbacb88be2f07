"""Golden vectors of the .dcb container: valid files with what a reader must report, and one
negative file per container status with the status every reader must return.

For each vector NAME: NAME.dcb (the file), NAME.json (the full expected report, for Python)
and NAME.expect (the same expectations as `key value` lines, for the C vector test
firmware/tests/test_container_vectors.c). Keys: the fixed test publisher key (seed in
tests/container_samples.py) signs; the fixed device key tags. Codec `raw` only.
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402

from host.container import cbor, keys, layout  # noqa: E402
from host.container.hmac_tag import add_device_tag  # noqa: E402
from host.container.layout import LevelDtype  # noqa: E402
from host.container.metadata import LevelEncoding  # noqa: E402
from host.container.reader import open_container  # noqa: E402
from host.container.report import container_report  # noqa: E402
from host.container.signing import sign_container  # noqa: E402
from host.container.writer import TensorPayload, build_container, layout_container  # noqa: E402
from host.errors import BitstreamError  # noqa: E402
from tests.container_samples import (SAMPLE_LEVELS, TEST_DEVICE_KEY, sample_container,  # noqa: E402
                                     sample_metadata, sample_payloads, set_entry, set_header, set_trailer,
                                     publisher_key)

SPEC = "docs/bitstream.md"
# The int32 bias of `scaled.dcb`: its levels times 2^3 (rule scaled, section 4.2).
SCALED_BIAS = LevelEncoding("scaled", 29, shift=3)
WRONG_BASE = bytes(range(32))


def _valid_vectors() -> dict[str, tuple[bytes, dict]]:
    key = publisher_key()
    unsigned = sample_container()
    signed = sign_container(unsigned, key)
    tagged = add_device_tag(signed, TEST_DEVICE_KEY)
    base = open_container(unsigned)
    target0 = SAMPLE_LEVELS[0][::-1].copy()
    payloads = sample_payloads()
    payloads[0] = TensorPayload.raw_delta(target0, SAMPLE_LEVELS[0], LevelDtype.INT8)
    delta = sign_container(build_container(sample_metadata(version=2), payloads, base_sha256=base.content_sha256), key)
    empty_meta = replace(sample_metadata(), tensors=(), extensions={"note": "no coded tensors", "list": [1, -2, 0.5, None]})
    empty = build_container(empty_meta, [])
    scaled_meta = sample_metadata()
    scaled_meta = replace(scaled_meta, tensors=(scaled_meta.tensors[0],
                                                replace(scaled_meta.tensors[1], encoding=SCALED_BIAS),
                                                scaled_meta.tensors[2]))
    scaled = build_container(scaled_meta, sample_payloads())
    format2 = build_container(sample_metadata(), sample_payloads(), version_major=2)  # what older dcagents wrote
    return {
        "unsigned": (unsigned, {}),
        "signed": (signed, {"public_key": True}),
        "tagged": (tagged, {"public_key": True, "device_key": TEST_DEVICE_KEY, "tag_status": "DC_OK"}),
        "delta": (delta, {"public_key": True, "base_sha256": base.content_sha256, "base_status": "DC_OK",
                          "delta_levels": {0: [int(v) for v in target0]}}),
        "no_tensors": (empty, {}),
        "scaled": (scaled, {}),
        "format2": (format2, {}),
    }


def _negative_vectors() -> dict[str, tuple[bytes, str, dict]]:
    """name -> (bytes, expected open status, extra expectations)."""
    u = sample_container()
    signed = sign_container(u, publisher_key())
    tagged = add_device_tag(signed, TEST_DEVICE_KEY)
    h = open_container(u).header
    meta = sample_metadata().to_plain()  # text keys; format 3 writes keys.to_integers(...)
    wire = keys.to_integers(meta)
    meta_unknown = {**wire, len(keys.METADATA): "blue"}  # a key code beyond the top-level list
    meta_missing = {k: v for k, v in wire.items() if k != keys.METADATA.index("target")}
    unsorted = cbor.encode(wire)
    # Swap to a non-deterministic head: re-encode the top-level map count (5) with a 1-byte argument.
    non_shortest = b"\xb8\x05" + unsorted[1:]
    meta_shape = dict(meta, tensors=[dict(meta["tensors"][0], s=[4, 1, 2, 3])] + meta["tensors"][1:])
    # rule scaled (docs/bitstream.md 4.2): a shift beyond 24, and the rule on an int8 tensor
    meta_scaled_shift = dict(meta, tensors=[meta["tensors"][0], dict(meta["tensors"][1], e={"k": 25, "r": 4}),
                                            meta["tensors"][2]])
    meta_scaled_dtype = dict(meta, tensors=[dict(meta["tensors"][0], e={"k": 3, "r": 4})] + meta["tensors"][1:])
    delta_base = open_container(u).content_sha256
    delta_payloads = sample_payloads()
    delta_payloads[0] = TensorPayload.raw(SAMPLE_LEVELS[0] * 0, LevelDtype.INT8, delta=True)
    delta = build_container(sample_metadata(version=2), delta_payloads, base_sha256=delta_base)
    flipped = bytearray(u)
    flipped[h.payload_offset] ^= 0x01
    bad_tag = bytearray(tagged)
    bad_tag[-1] ^= 0x80
    return {
        "neg_magic": (b"\x89DCC" + u[4:], "DC_ERR_MAGIC", {}),
        "neg_version": (u[:8] + b"\x01" + u[9:], "DC_ERR_VERSION", {}),
        "neg_truncated": (u[:-1], "DC_ERR_TRUNCATED", {}),
        "neg_truncated_header": (u[:50], "DC_ERR_TRUNCATED", {}),
        "neg_field_flags": (set_header(u, "flags", 0x2), "DC_ERR_FIELD", {}),
        "neg_field_codec": (set_entry(u, 1, "codec", 7), "DC_ERR_FIELD", {}),
        "neg_oversize_tensors": (set_header(u, "tensor_count", layout.MAX_TENSORS + 1), "DC_ERR_OVERSIZE", {}),
        "neg_oversize_metadata": (set_header(u, "metadata_length", layout.MAX_METADATA_LENGTH + 1), "DC_ERR_OVERSIZE", {}),
        "neg_oversize_levels": (set_entry(u, 0, "level_count", layout.MAX_LEVELS_PER_TENSOR + 1), "DC_ERR_OVERSIZE", {}),
        "neg_length_metadata": (set_header(u, "metadata_length", h.metadata_length + 4), "DC_ERR_LENGTH", {}),
        "neg_length_payload": (set_entry(u, 2, "payload_length", 0xFFFFFF00), "DC_ERR_LENGTH", {}),
        "neg_length_trailing": (u + b"\x00", "DC_ERR_LENGTH", {}),
        "neg_signature": (set_trailer(u, "signature_algorithm", 2), "DC_ERR_SIGNATURE", {}),
        "neg_signature_bad": (signed[:-152 + 60] + bytes([signed[-152 + 60] ^ 1]) + signed[-152 + 61:], "DC_OK",
                              {"public_key": True, "signature_status": "DC_ERR_SIGNATURE"}),
        "neg_auth": (bytes(bad_tag), "DC_OK", {"device_key": TEST_DEVICE_KEY, "tag_status": "DC_ERR_AUTH"}),
        "neg_auth_block": (set_trailer(u, "tag_algorithm", 1), "DC_ERR_AUTH", {}),
        "neg_hash": (bytes(flipped), "DC_ERR_HASH", {}),
        "neg_version_future": (u[:8] + b"\x04" + u[9:], "DC_ERR_VERSION", {}),
        "neg_metadata_unknown": (layout_container(cbor.encode(meta_unknown), sample_payloads()), "DC_ERR_METADATA", {}),
        "neg_metadata_missing": (layout_container(cbor.encode(meta_missing), sample_payloads()), "DC_ERR_METADATA", {}),
        "neg_metadata_cbor": (layout_container(non_shortest, sample_payloads()), "DC_ERR_METADATA", {}),
        # format 3 with format 2's text keys, and format 2 with format 3's integer keys (section 4.3)
        "neg_metadata_text_keys": (layout_container(cbor.encode(meta), sample_payloads()), "DC_ERR_METADATA", {}),
        "neg_metadata_integer_keys_format2": (layout_container(cbor.encode(wire), sample_payloads(), version_major=2),
                                              "DC_ERR_METADATA", {}),
        "neg_metadata_scaled_shift": (layout_container(cbor.encode(keys.to_integers(meta_scaled_shift)),
                                                       sample_payloads()), "DC_ERR_METADATA", {}),
        "neg_metadata_scaled_dtype": (layout_container(cbor.encode(keys.to_integers(meta_scaled_dtype)),
                                                       sample_payloads()), "DC_ERR_METADATA", {}),
        "neg_tensor": (layout_container(cbor.encode(keys.to_integers(meta_shape)), sample_payloads()),
                       "DC_ERR_TENSOR", {}),
        "neg_base": (delta, "DC_OK", {"base_sha256": WRONG_BASE, "base_status": "DC_ERR_BASE"}),
    }


def _python_status(data: bytes) -> str:
    try:
        open_container(data)
    except BitstreamError as exc:
        return str(exc.status)
    return "DC_OK"


def _expect_lines(data: bytes, status: str, extra: dict) -> list[str]:
    lines = [f"status {status}"]
    if "device_key" in extra:
        lines += [f"device_key {extra['device_key'].hex()}", f"tag_status {extra['tag_status']}"]
    if "base_sha256" in extra:
        lines += [f"base_sha256 {extra['base_sha256'].hex()}", f"base_status {extra['base_status']}"]
    if status == "DC_OK":
        c = open_container(data)
        h, t = c.header, c.trailer
        lines.append("header " + " ".join(str(v) for v in (
            h.version_major, h.version_minor, h.flags, h.tensor_count, h.metadata_offset, h.metadata_length,
            h.payload_offset, h.payload_length, h.trailer_offset, h.file_length, int(t.signature_algorithm),
            int(t.tag_algorithm))))
        lines.append(f"content_sha256 {t.content_sha256.hex()}")
        for i, e in enumerate(c.entries):
            lines.append(f"tensor {i} {e.payload_offset} {e.payload_length} {e.level_count} {int(e.codec)} "
                         f"{int(e.level_dtype)} {e.tensor_flags}")
    return lines


def generate(outdir: Path) -> list[str]:
    """Write every container vector under `outdir`; returns the relative paths written."""
    written = []
    public = publisher_key().public_key().public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    (outdir / "test_publisher.pub").write_bytes(public)
    written.append("test_publisher.pub")
    vectors = {name: (data, "DC_OK", extra) for name, (data, extra) in _valid_vectors().items()}
    vectors.update(_negative_vectors())
    for name, (data, status, extra) in sorted(vectors.items()):
        found = _python_status(data)
        if found != status:
            raise AssertionError(f"{name}: the Python reader says {found}, the vector expects {status}")
        expected: dict = {"status": status}
        if status == "DC_OK":
            expected["report"] = container_report(open_container(data), levels=True)
        if extra.get("public_key"):
            expected["signature_status"] = extra.get("signature_status", "DC_OK")
        for key in ("device_key", "base_sha256"):
            if key in extra:
                expected[key] = extra[key].hex()
        for key in ("tag_status", "base_status"):
            if key in extra:
                expected[key] = extra[key]
        if "delta_levels" in extra:
            expected["delta_levels"] = {str(k): v for k, v in extra["delta_levels"].items()}
        (outdir / f"{name}.dcb").write_bytes(data)
        (outdir / f"{name}.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
        (outdir / f"{name}.expect").write_text("\n".join(_expect_lines(data, status, extra)) + "\n")
        written += [f"{name}.dcb", f"{name}.json", f"{name}.expect"]
    return written


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "container"
    out.mkdir(exist_ok=True)
    print("\n".join(generate(out)))
