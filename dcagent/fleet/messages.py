"""The CBOR messages of fleet updates (docs/protocol.md, MQTT section 5) as typed dataclasses.

Every message is one CBOR map (RFC 8949, encoded canonically by cbor2). Decoding is strict:
the payload size is checked before it is parsed, maps are closed (an unknown key is an
error naming it), every field has one type and a bounded size, tags are refused. Each
failure raises `MessageError` naming the field.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import cbor2

from dcagent.fleet import topics
from dcagent.fleet.errors import MessageError

MANIFEST_FORMAT = 1
MIN_BLOCK_SIZE = 128
MAX_BLOCK_SIZE = 65536
DEFAULT_BLOCK_SIZE = 4096
MAX_BLOCKS_PER_REQUEST = 128
MAX_FILE_SIZE = 64 * 1024 * 1024            # docs/bitstream.md MAX_FILE_LENGTH
MAX_MANIFEST_BYTES = 4096
MAX_REQUEST_BYTES = 256
MAX_RESPONSE_BYTES = MAX_BLOCK_SIZE + 256
MAX_REJECTION_BYTES = 512
MAX_STATUS_BYTES = 1024
MAX_TEXT = 64
MAX_DETAIL = 256


class State(str, enum.Enum):
    """Device update states reported in status messages (docs/protocol.md, MQTT section 5.5)."""

    IDLE = "idle"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    VERIFIED = "verified"
    FLASHING = "flashing"
    TESTING = "testing"
    CONFIRMED = "confirmed"
    ROLLED_BACK = "rolled_back"
    REJECTED = "rejected"
    FAILED = "failed"


class RejectReason(str, enum.Enum):
    """Why a device refused (state `rejected`) or could not complete (state `failed`) an update."""

    MALFORMED = "malformed"              # manifest or container does not parse
    UNSIGNED = "unsigned"                # no Ed25519 signature
    UNTRUSTED_KEY = "untrusted_key"      # signed by a key not in the trust list
    BAD_SIGNATURE = "bad_signature"      # signature does not verify
    HASH_MISMATCH = "hash_mismatch"      # downloaded bytes do not hash to the manifest's sha256
    MANIFEST_MISMATCH = "manifest_mismatch"  # container contradicts the manifest (name, version, target...)
    DOWNGRADE = "downgrade"              # version below the device's anti-rollback floor
    WRONG_TARGET = "wrong_target"        # architecture, flash or RAM do not fit the device
    BASE_MISMATCH = "base_mismatch"      # delta against a model the device does not have
    TOO_LARGE = "too_large"              # larger than the device accepts
    STREAM_ERROR = "stream_error"        # the stream server refused the requests (failed)
    TIMEOUT = "timeout"                  # no manifest or no progress in time (failed)
    BOARD_ERROR = "board_error"          # flashing/testing on the board failed (failed/rolled_back)


class StreamErrorCode(str, enum.Enum):
    """Error codes of stream rejections (docs/protocol.md, MQTT section 5.4)."""

    BAD_REQUEST = "bad_request"
    UNKNOWN_STREAM = "unknown_stream"
    OUT_OF_RANGE = "out_of_range"
    BLOCK_SIZE = "block_size"


# --- strict decoding helpers -----------------------------------------------------------------
def _refuse_tag(decoder: Any, tag: Any) -> Any:
    raise MessageError(f"CBOR tag {tag.tag} is not allowed")


def _decode(payload: bytes, limit: int, what: str) -> dict:
    if not isinstance(payload, (bytes, bytearray)):
        raise MessageError(f"{what} must be bytes")
    if len(payload) > limit:
        raise MessageError(f"{what} is {len(payload)} bytes, at most {limit}")
    try:
        value = cbor2.loads(bytes(payload), tag_hook=_refuse_tag)
    except MessageError:
        raise
    except Exception as exc:  # noqa: BLE001 - cbor2 raises several types for bad input
        raise MessageError(f"{what} is not valid CBOR: {exc}") from exc
    if not isinstance(value, dict):
        raise MessageError(f"{what} must be a CBOR map, found {type(value).__name__}")
    return value


def _fields(value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(value, dict):
        raise MessageError(f"{path} must be a map, found {type(value).__name__}", field=path)
    for key in value:
        if not isinstance(key, str) or key not in required + optional:
            raise MessageError(f"{path} has an unknown key {key!r}", field=f"{path}.{key}")
    for key in required:
        if key not in value:
            raise MessageError(f"{path} lacks the key {key!r}", field=f"{path}.{key}")
    return value


def _uint(value: Any, path: str, low: int = 0, high: int = 2**64 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MessageError(f"{path} must be an integer in [{low}, {high}], found {value!r}", field=path)
    return value


def _text(value: Any, path: str, max_len: int = MAX_TEXT, *, nonempty: bool = True) -> str:
    if not isinstance(value, str) or len(value) > max_len or (nonempty and not value):
        raise MessageError(f"{path} must be text of {1 if nonempty else 0}..{max_len} characters, found {value!r}",
                           field=path)
    return value


def _name(value: Any, path: str) -> str:
    text = _text(value, path)
    try:
        return topics.check_name(text, path)
    except Exception as exc:  # ConfigError -> MessageError: it came over the wire
        raise MessageError(f"{path} {text!r} is not a valid topic level name", field=path) from exc


def _bytes(value: Any, path: str, lengths: tuple[int, ...] | None = None, max_len: int | None = None) -> bytes:
    if not isinstance(value, bytes):
        raise MessageError(f"{path} must be a byte string, found {type(value).__name__}", field=path)
    if lengths is not None and len(value) not in lengths:
        raise MessageError(f"{path} must be {' or '.join(map(str, lengths))} bytes, found {len(value)}", field=path)
    if max_len is not None and len(value) > max_len:
        raise MessageError(f"{path} must be at most {max_len} bytes, found {len(value)}", field=path)
    return value


def _enum(cls: type[enum.Enum], value: Any, path: str) -> Any:
    try:
        return cls(value)
    except ValueError as exc:
        raise MessageError(f"{path} is {value!r}, expected one of {[m.value for m in cls]}", field=path) from exc


def _encode(plain: dict) -> bytes:
    return cbor2.dumps(plain, canonical=True)


# --- manifest --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetSpec:
    """What a device must offer (copied from the container's metadata `target`)."""

    arch: str
    min_flash: int
    min_ram: int


@dataclass(frozen=True)
class Manifest:
    """The retained announcement of a fleet's current model (topic `.../fleets/{fleet}/manifest`).

    `sha256` hashes the whole .dcb file as transferred; `content_sha256`, `key_id` and
    `signature` are copied from its trailer, so a device can check the Ed25519 signature
    before it downloads anything. Empty `key_id` and `signature` mean unsigned.
    """

    fleet: str
    model_name: str
    model_version: int
    size: int
    sha256: bytes
    content_sha256: bytes
    key_id: bytes
    signature: bytes
    base_sha256: bytes | None
    target: TargetSpec
    block_size: int
    stream_id: str
    format: int = MANIFEST_FORMAT
    check_sha256: bytes | None = None   # SHA-256 of the outputs for the check input (dcagent.fleet.check)

    @property
    def block_count(self) -> int:
        return math.ceil(self.size / self.block_size)

    @property
    def signed(self) -> bool:
        return bool(self.key_id)

    def to_cbor(self) -> bytes:
        """The CBOR encoding. Raises MessageError when a field is out of its bounds."""
        plain: dict[str, Any] = {
            "base_sha256": self.base_sha256, "block_size": self.block_size,
            "content_sha256": self.content_sha256, "fleet": self.fleet, "format": self.format,
            "key_id": self.key_id, "model": {"name": self.model_name, "version": self.model_version},
            "sha256": self.sha256, "signature": self.signature, "size": self.size, "stream_id": self.stream_id,
            "target": {"arch": self.target.arch, "min_flash": self.target.min_flash, "min_ram": self.target.min_ram},
        }
        if self.check_sha256 is not None:
            plain["check_sha256"] = self.check_sha256
        data = _encode(plain)
        Manifest.from_cbor(data)
        return data

    @classmethod
    def from_cbor(cls, payload: bytes) -> "Manifest":
        """Decode and validate a manifest. Raises MessageError."""
        m = _fields(_decode(payload, MAX_MANIFEST_BYTES, "manifest"), "manifest",
                    ("base_sha256", "block_size", "content_sha256", "fleet", "format", "key_id", "model", "sha256",
                     "signature", "size", "stream_id", "target"), ("check_sha256",))
        fmt = _uint(m["format"], "manifest.format")
        if fmt != MANIFEST_FORMAT:
            raise MessageError(f"manifest.format is {fmt}, this device reads {MANIFEST_FORMAT}", field="manifest.format")
        model = _fields(m["model"], "manifest.model", ("name", "version"))
        target = _fields(m["target"], "manifest.target", ("arch", "min_flash", "min_ram"))
        key_id = _bytes(m["key_id"], "manifest.key_id", (0, 16))
        signature = _bytes(m["signature"], "manifest.signature", (0, 64))
        if bool(key_id) != bool(signature):
            raise MessageError("manifest.key_id and manifest.signature must both be set or both be empty",
                               field="manifest.signature")
        base = m["base_sha256"]
        return cls(
            fleet=_name(m["fleet"], "manifest.fleet"),
            model_name=_text(model["name"], "manifest.model.name", 256),
            model_version=_uint(model["version"], "manifest.model.version"),
            size=_uint(m["size"], "manifest.size", 1, MAX_FILE_SIZE),
            sha256=_bytes(m["sha256"], "manifest.sha256", (32,)),
            content_sha256=_bytes(m["content_sha256"], "manifest.content_sha256", (32,)),
            key_id=key_id, signature=signature,
            base_sha256=None if base is None else _bytes(base, "manifest.base_sha256", (32,)),
            target=TargetSpec(_text(target["arch"], "manifest.target.arch", nonempty=False),
                              _uint(target["min_flash"], "manifest.target.min_flash"),
                              _uint(target["min_ram"], "manifest.target.min_ram")),
            block_size=_uint(m["block_size"], "manifest.block_size", MIN_BLOCK_SIZE, MAX_BLOCK_SIZE),
            stream_id=_name(m["stream_id"], "manifest.stream_id"),
            format=fmt,
            check_sha256=_bytes(m["check_sha256"], "manifest.check_sha256", (32,)) if "check_sha256" in m else None,
        )


# --- block stream ----------------------------------------------------------------------------
def bitmap_of(blocks: list[int] | tuple[int, ...], offset: int, count: int) -> bytes:
    """The request bitmap for `blocks` (absolute indices in [offset, offset+count)): bit i
    (least significant first within byte i // 8) set means block offset + i is wanted."""
    out = bytearray((count + 7) // 8)
    for block in blocks:
        i = block - offset
        if not 0 <= i < count:
            raise ValueError(f"block {block} outside the window [{offset}, {offset + count})")
        out[i // 8] |= 1 << (i % 8)
    return bytes(out)


@dataclass(frozen=True)
class BlockRequest:
    """A device asks for blocks `offset + i` of the stream's file, for each bit i set in
    `bitmap` (all `count` blocks when `bitmap` is None). Keys as AWS IoT OTA streams: c f l o n b."""

    client_token: str
    file_id: int
    block_size: int
    offset: int
    count: int
    bitmap: bytes | None = None

    def blocks(self) -> list[int]:
        """The absolute block indices requested, ascending."""
        if self.bitmap is None:
            return list(range(self.offset, self.offset + self.count))
        return [self.offset + i for i in range(self.count) if self.bitmap[i // 8] >> (i % 8) & 1]

    def to_cbor(self) -> bytes:
        plain: dict[str, Any] = {"c": self.client_token, "f": self.file_id, "l": self.block_size,
                                 "o": self.offset, "n": self.count}
        if self.bitmap is not None:
            plain["b"] = self.bitmap
        data = _encode(plain)
        BlockRequest.from_cbor(data)
        return data

    @classmethod
    def from_cbor(cls, payload: bytes) -> "BlockRequest":
        """Decode and validate a request. Raises MessageError."""
        m = _fields(_decode(payload, MAX_REQUEST_BYTES, "block request"), "request", ("c", "f", "l", "o", "n"), ("b",))
        count = _uint(m["n"], "request.n", 1, MAX_BLOCKS_PER_REQUEST)
        bitmap = None
        if "b" in m:
            bitmap = _bytes(m["b"], "request.b", ((count + 7) // 8,))
            if not any(bitmap):
                raise MessageError("request.b selects no block", field="request.b")
            if count % 8 and bitmap[-1] >> (count % 8):
                raise MessageError("request.b has bits set beyond request.n", field="request.b")
        return cls(client_token=_text(m["c"], "request.c"), file_id=_uint(m["f"], "request.f", 0, 255),
                   block_size=_uint(m["l"], "request.l", MIN_BLOCK_SIZE, MAX_BLOCK_SIZE),
                   offset=_uint(m["o"], "request.o", 0, MAX_FILE_SIZE // MIN_BLOCK_SIZE),
                   count=count, bitmap=bitmap)


@dataclass(frozen=True)
class BlockResponse:
    """One block: bytes [index * block_size, ...) of the file, `block_size` of them except the last."""

    client_token: str
    file_id: int
    block_size: int
    index: int
    payload: bytes

    def to_cbor(self) -> bytes:
        return _encode({"c": self.client_token, "f": self.file_id, "l": self.block_size, "i": self.index,
                        "p": self.payload})

    @classmethod
    def from_cbor(cls, payload: bytes) -> "BlockResponse":
        """Decode and validate a response. Raises MessageError."""
        m = _fields(_decode(payload, MAX_RESPONSE_BYTES, "block response"), "response", ("c", "f", "l", "i", "p"))
        size = _uint(m["l"], "response.l", MIN_BLOCK_SIZE, MAX_BLOCK_SIZE)
        data = _bytes(m["p"], "response.p", max_len=size)
        if not data:
            raise MessageError("response.p is empty", field="response.p")
        return cls(client_token=_text(m["c"], "response.c"), file_id=_uint(m["f"], "response.f", 0, 255),
                   block_size=size, index=_uint(m["i"], "response.i", 0, MAX_FILE_SIZE // MIN_BLOCK_SIZE),
                   payload=data)


@dataclass(frozen=True)
class StreamRejection:
    """The stream server's answer to a request it cannot serve."""

    client_token: str
    code: StreamErrorCode
    message: str

    def to_cbor(self) -> bytes:
        return _encode({"c": self.client_token, "o": self.code.value, "m": self.message[:MAX_DETAIL]})

    @classmethod
    def from_cbor(cls, payload: bytes) -> "StreamRejection":
        """Decode and validate a rejection. Raises MessageError."""
        m = _fields(_decode(payload, MAX_REJECTION_BYTES, "stream rejection"), "rejection", ("c", "o", "m"))
        return cls(client_token=_text(m["c"], "rejection.c", nonempty=False),
                   code=_enum(StreamErrorCode, m["o"], "rejection.o"),
                   message=_text(m["m"], "rejection.m", MAX_DETAIL, nonempty=False))


# --- status ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Status:
    """A device's update state (retained at `.../devices/{device_id}/status`)."""

    device_id: str
    state: State
    time_ms: int
    reason: RejectReason | None = None
    detail: str = ""
    model_name: str | None = None
    model_version: int | None = None
    stream_id: str | None = None
    received: int = 0
    total: int = 0

    def to_cbor(self) -> bytes:
        model = None if self.model_name is None else {"name": self.model_name, "version": self.model_version or 0}
        return _encode({"detail": self.detail[:MAX_DETAIL], "device_id": self.device_id, "model": model,
                        "progress": {"received": self.received, "total": self.total},
                        "reason": None if self.reason is None else self.reason.value, "state": self.state.value,
                        "stream_id": self.stream_id, "time_ms": self.time_ms})

    @classmethod
    def from_cbor(cls, payload: bytes) -> "Status":
        """Decode and validate a status message. Raises MessageError."""
        m = _fields(_decode(payload, MAX_STATUS_BYTES, "status"), "status",
                    ("detail", "device_id", "model", "progress", "reason", "state", "stream_id", "time_ms"))
        model = None if m["model"] is None else _fields(m["model"], "status.model", ("name", "version"))
        progress = _fields(m["progress"], "status.progress", ("received", "total"))
        return cls(device_id=_name(m["device_id"], "status.device_id"), state=_enum(State, m["state"], "status.state"),
                   time_ms=_uint(m["time_ms"], "status.time_ms"),
                   reason=None if m["reason"] is None else _enum(RejectReason, m["reason"], "status.reason"),
                   detail=_text(m["detail"], "status.detail", MAX_DETAIL, nonempty=False),
                   model_name=None if model is None else _text(model["name"], "status.model.name", 256),
                   model_version=None if model is None else _uint(model["version"], "status.model.version"),
                   stream_id=None if m["stream_id"] is None else _name(m["stream_id"], "status.stream_id"),
                   received=_uint(progress["received"], "status.progress.received", 0, MAX_FILE_SIZE),
                   total=_uint(progress["total"], "status.progress.total", 0, MAX_FILE_SIZE))
