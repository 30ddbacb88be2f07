"""The optional per-device HMAC-SHA256 tag in the .dcb trailer: add it, verify it.

docs/bitstream.md section 5: a gateway sets tag_algorithm = 1 and writes
device_tag = HMAC-SHA256(device_key, file[0 : trailer_offset + 120]) (everything before the
tag, signature included). The device checks it with its own key (C: dc_container_verify_tag).
"""
from __future__ import annotations

import hashlib
import hmac

from host.container import layout
from host.container.layout import TagAlgorithm
from host.container.reader import Container, open_container
from host.errors import BitstreamError


def _check_key(device_key: bytes) -> bytes:
    key = bytes(device_key)
    if not 1 <= len(key) <= layout.MAX_DEVICE_KEY_LENGTH:
        raise ValueError(f"device key must be 1..{layout.MAX_DEVICE_KEY_LENGTH} bytes, got {len(key)}")
    return key


def compute_device_tag(data: bytes, trailer_offset: int, device_key: bytes) -> bytes:
    """HMAC-SHA256 with `device_key` over data[0 : trailer_offset + 120]. Raises ValueError for a bad key length."""
    return hmac.new(_check_key(device_key), data[:trailer_offset + layout.TAG_INPUT_END], hashlib.sha256).digest()


def add_device_tag(data: bytes, device_key: bytes) -> bytes:
    """The container `data` with its device tag set for `device_key` (replacing any tag).

    Raises BitstreamError when `data` is not a valid container, ValueError for a key that is
    not 1..64 bytes.
    """
    container = open_container(data)
    base = container.header.trailer_offset
    out = bytearray(container.data)
    out[base + 116:base + 120] = int(TagAlgorithm.HMAC_SHA256).to_bytes(2, "little") + bytes(2)
    tag = compute_device_tag(bytes(out), base, device_key)
    out[base + layout.DEVICE_TAG_OFFSET:base + layout.TRAILER_LENGTH] = tag
    return bytes(out)


def verify_device_tag(container: Container | bytes, device_key: bytes) -> None:
    """Check the container's device tag against `device_key` (constant-time compare).

    Raises BitstreamError(status="DC_ERR_AUTH") when there is no tag or it does not match,
    BitstreamError when `container` (as bytes) is not a valid container, ValueError for a key
    that is not 1..64 bytes.
    """
    if not isinstance(container, Container):
        container = open_container(container)
    base = container.header.trailer_offset
    if not container.tagged:
        raise BitstreamError("container has no device tag", status="DC_ERR_AUTH", offset=base + 116)
    expected = compute_device_tag(container.data, base, device_key)
    if not hmac.compare_digest(expected, container.trailer.device_tag):
        raise BitstreamError("device tag does not match this device's key", status="DC_ERR_AUTH",
                             offset=base + layout.DEVICE_TAG_OFFSET)
