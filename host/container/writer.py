"""Build .dcb containers from metadata and tensor payloads, and write files atomically.

Layout: docs/bitstream.md section 1. The writer emits the one canonical layout, unsigned and
without a device tag (signing.py and hmac_tag.py fill those trailer fields), and checks its
own output with the reader, so it never writes a file a reader would reject.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.container import layout
from host.container.codecs import encode_raw, raw_delta
from host.container.layout import Codec, LevelDtype
from host.container.metadata import Metadata
from host.container.reader import open_container
from host.errors import BitstreamError, CodecError


@dataclass(frozen=True)
class TensorPayload:
    """One tensor's coded levels as they go into the container."""

    payload: bytes
    level_count: int
    codec: Codec = Codec.RAW
    level_dtype: LevelDtype = LevelDtype.INT8
    delta: bool = False

    @classmethod
    def raw(cls, levels: np.ndarray | list[int], level_dtype: LevelDtype, *, delta: bool = False) -> "TensorPayload":
        """A `raw` payload of `levels`. Raises CodecError when a level does not fit the type."""
        count = int(np.asarray(levels).size)
        return cls(encode_raw(levels, level_dtype), count, Codec.RAW, LevelDtype(level_dtype), delta)

    @classmethod
    def raw_delta(cls, levels: np.ndarray, base_levels: np.ndarray, level_dtype: LevelDtype) -> "TensorPayload":
        """A `raw` delta payload turning `base_levels` into `levels` (differences wrapped to the type).

        Raises CodecError when the shapes differ or a level does not fit the type."""
        levels, base_levels = np.asarray(levels).reshape(-1), np.asarray(base_levels).reshape(-1)
        if levels.shape != base_levels.shape:
            raise CodecError(f"delta of {levels.size} levels against a base of {base_levels.size}",
                             status="DC_ERR_TENSOR")
        encode_raw(levels, level_dtype)
        return cls.raw(raw_delta(levels, base_levels, level_dtype), level_dtype, delta=True)


def build_container(
    metadata: Metadata,
    payloads: list[TensorPayload] | tuple[TensorPayload, ...],
    *,
    base_sha256: bytes | None = None,
    version_major: int = layout.VERSION_MAJOR,
) -> bytes:
    """The bytes of an unsigned, untagged container in format `version_major` (3, or 2 for
    devices whose firmware reads only format 2: docs/bitstream.md section 4.3).

    `base_sha256` (the base container's content_sha256) makes it a delta container; tensors
    with `delta=True` need it. Raises BitstreamError with the status a reader would report
    (DC_ERR_METADATA, DC_ERR_TENSOR, DC_ERR_OVERSIZE, DC_ERR_FIELD) for inputs that cannot
    form a valid container.
    """
    if base_sha256 is not None and (len(base_sha256) != 32 or not any(base_sha256)):
        raise BitstreamError("base_sha256 must be 32 bytes, not all zero", status="DC_ERR_FIELD")
    if len(payloads) > layout.MAX_TENSORS:
        raise BitstreamError(f"{len(payloads)} tensors, at most {layout.MAX_TENSORS}", status="DC_ERR_OVERSIZE")
    if version_major not in layout.READABLE_MAJORS:
        raise BitstreamError(f"format {version_major}: this dcagent writes "
                             f"{' or '.join(map(str, layout.READABLE_MAJORS))}", status="DC_ERR_VERSION")
    meta = metadata.to_cbor(version_major)
    if len(meta) > layout.MAX_METADATA_LENGTH:
        raise BitstreamError(
            f"metadata is {len(meta)} bytes, at most {layout.MAX_METADATA_LENGTH}", status="DC_ERR_OVERSIZE"
        )
    data = layout_container(meta, payloads, base_sha256=base_sha256, version_major=version_major)
    if len(data) > layout.MAX_FILE_LENGTH:
        raise BitstreamError(f"container would be {len(data)} bytes, at most {layout.MAX_FILE_LENGTH}",
                             status="DC_ERR_OVERSIZE")
    open_container(data)
    return data


def layout_container(
    metadata_cbor: bytes,
    payloads: list[TensorPayload] | tuple[TensorPayload, ...],
    *,
    base_sha256: bytes | None = None,
    version_major: int = layout.VERSION_MAJOR,
) -> bytes:
    """Lay out metadata bytes and payloads in the canonical layout, with a correct content hash.

    No validation at all: the result may be an invalid container (tools and tests use this
    to build negative vectors). Use build_container for real files.
    """
    meta = bytes(metadata_cbor)
    count = len(payloads)
    metadata_offset = layout.HEADER_LENGTH + layout.ENTRY_LENGTH * count
    payload_offset = layout.align4(metadata_offset + len(meta))
    directory = bytearray()
    body = bytearray()
    position = payload_offset
    for p in payloads:
        flags = layout.TENSOR_FLAG_DELTA if p.delta else 0
        directory += layout.ENTRY_STRUCT.pack(position, len(p.payload), p.level_count, int(p.codec),
                                              int(p.level_dtype), flags)
        body += p.payload + bytes(layout.align4(len(p.payload)) - len(p.payload))
        position += layout.align4(len(p.payload))
    trailer_offset = position
    flags = layout.FLAG_DELTA if base_sha256 is not None else 0
    header = layout.HEADER_STRUCT.pack(
        layout.MAGIC, version_major, layout.VERSION_MINOR, layout.HEADER_LENGTH, flags, count,
        layout.HEADER_LENGTH, metadata_offset, len(meta), payload_offset, trailer_offset - payload_offset,
        trailer_offset, trailer_offset + layout.TRAILER_LENGTH, bytes(16), base_sha256 or bytes(32),
    )
    content = header + bytes(directory) + meta + bytes(payload_offset - metadata_offset - len(meta)) + bytes(body)
    trailer = layout.TRAILER_STRUCT.pack(hashlib.sha256(content).digest(), 0, 0, bytes(16), bytes(64), 0, 0, bytes(32))
    return content + trailer


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> Path:
    """Write `data` to `path` so that `path` is either the old file or the complete new one.

    The bytes go to a temporary file in the same folder, are flushed and fsync'ed, and the
    file is renamed over `path`; on any failure the temporary file is removed and the error
    (OSError) propagates. `mode` sets the permission bits (e.g. 0o600 for a private key).
    """
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return target
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return target


def write_container(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write container bytes to `path` atomically (see write_atomic). Raises OSError."""
    return write_atomic(path, data)
