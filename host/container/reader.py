"""Read and validate .dcb containers; seek to one tensor; decode its levels.

Checks follow the normative order of docs/bitstream.md section 7, so this reader and the C
reader (`dc_container_open`) report the same status for the same bytes. Every failure raises
`host.errors.BitstreamError` with that status, the byte offset, and a message naming the
field, what was expected and what was found.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from host.container import layout
from host.container.codecs import decode_payload
from host.container.layout import Codec, LevelDtype, SignatureAlgorithm, TagAlgorithm
from host.container.metadata import Metadata
from host.errors import BitstreamError


@dataclass(frozen=True)
class Header:
    """The 96-byte fixed header (docs/bitstream.md section 2)."""

    version_major: int
    version_minor: int
    header_length: int
    flags: int
    tensor_count: int
    directory_offset: int
    metadata_offset: int
    metadata_length: int
    payload_offset: int
    payload_length: int
    trailer_offset: int
    file_length: int
    base_sha256: bytes

    @property
    def is_delta(self) -> bool:
        return bool(self.flags & layout.FLAG_DELTA)


@dataclass(frozen=True)
class TensorEntry:
    """One 16-byte directory entry (docs/bitstream.md section 3)."""

    payload_offset: int
    payload_length: int
    level_count: int
    codec: Codec
    level_dtype: LevelDtype
    tensor_flags: int

    @property
    def delta(self) -> bool:
        return bool(self.tensor_flags & layout.TENSOR_FLAG_DELTA)


@dataclass(frozen=True)
class Trailer:
    """The 152-byte trailer (docs/bitstream.md section 5)."""

    content_sha256: bytes
    signature_algorithm: SignatureAlgorithm
    key_id: bytes
    signature: bytes
    tag_algorithm: TagAlgorithm
    device_tag: bytes


def _err(status: str, offset: int, message: str) -> BitstreamError:
    return BitstreamError(f"{message} (at byte {offset})", status=status, offset=offset)


def check_header(raw: bytes, available: int) -> Header:
    """Steps 1-7 of the validation order on the first bytes `raw` of a file of `available` bytes.

    Raises BitstreamError (DC_ERR_MAGIC, VERSION, TRUNCATED, FIELD, OVERSIZE, LENGTH).
    """
    head = raw[:min(available, len(raw), 8)]
    if head != layout.MAGIC[:len(head)]:
        raise _err("DC_ERR_MAGIC", 0, f"magic is {head.hex()}, expected {layout.MAGIC.hex()} (not a .dcb file)")
    if available >= 9 and raw[8] not in layout.READABLE_MAJORS:
        hint = (" (format 1 kept per-tensor metadata in an older, larger schema: re-create the container "
                "from its model with this dcagent)" if raw[8] == 1 else "")
        readable = " and ".join(str(v) for v in sorted(layout.READABLE_MAJORS, reverse=True))
        raise _err("DC_ERR_VERSION", 8, f"version_major is {raw[8]}, this reader reads {readable}{hint}")
    if available < layout.HEADER_LENGTH or len(raw) < layout.HEADER_LENGTH:
        raise _err("DC_ERR_TRUNCATED", available, f"file is {available} bytes, shorter than the {layout.HEADER_LENGTH}-byte header")
    values = dict(zip(layout.HEADER_FIELDS, layout.HEADER_STRUCT.unpack_from(raw)))
    h = Header(**{k: v for k, v in values.items() if k not in ("magic", "header_reserved")})
    if h.header_length != layout.HEADER_LENGTH:
        raise _err("DC_ERR_FIELD", 10, f"header_length is {h.header_length}, expected {layout.HEADER_LENGTH}")
    if h.directory_offset != layout.HEADER_LENGTH:
        raise _err("DC_ERR_FIELD", 20, f"directory_offset is {h.directory_offset}, expected {layout.HEADER_LENGTH}")
    if h.flags & ~layout.KNOWN_FLAGS:
        raise _err("DC_ERR_FIELD", 12, f"flags is {h.flags:#x}, unknown bits {h.flags & ~layout.KNOWN_FLAGS:#x}")
    if any(values["header_reserved"]):
        raise _err("DC_ERR_FIELD", 48, "header_reserved is not zero")
    if h.is_delta and not any(h.base_sha256):
        raise _err("DC_ERR_FIELD", 64, "base_sha256 is zero but flags has FLAG_DELTA")
    if not h.is_delta and any(h.base_sha256):
        raise _err("DC_ERR_FIELD", 64, "base_sha256 is set but flags lacks FLAG_DELTA")
    if h.file_length > layout.MAX_FILE_LENGTH:
        raise _err("DC_ERR_OVERSIZE", 44, f"file_length is {h.file_length}, limit {layout.MAX_FILE_LENGTH}")
    if h.tensor_count > layout.MAX_TENSORS:
        raise _err("DC_ERR_OVERSIZE", 16, f"tensor_count is {h.tensor_count}, limit {layout.MAX_TENSORS}")
    if h.metadata_length > layout.MAX_METADATA_LENGTH:
        raise _err("DC_ERR_OVERSIZE", 28, f"metadata_length is {h.metadata_length}, limit {layout.MAX_METADATA_LENGTH}")
    if available < h.file_length:
        raise _err("DC_ERR_TRUNCATED", available, f"file is {available} bytes, file_length says {h.file_length}")
    if available > h.file_length:
        raise _err("DC_ERR_LENGTH", 44, f"file is {available} bytes, file_length says {h.file_length}")
    expected = layout.HEADER_LENGTH + layout.ENTRY_LENGTH * h.tensor_count
    if h.metadata_offset != expected:
        raise _err("DC_ERR_LENGTH", 24, f"metadata_offset is {h.metadata_offset}, expected {expected}")
    expected = layout.align4(h.metadata_offset + h.metadata_length)
    if h.payload_offset != expected:
        raise _err("DC_ERR_LENGTH", 32, f"payload_offset is {h.payload_offset}, expected {expected}")
    if h.trailer_offset < h.payload_offset or h.trailer_offset % 4:
        raise _err("DC_ERR_LENGTH", 40, f"trailer_offset is {h.trailer_offset}, expected a multiple of 4 >= {h.payload_offset}")
    if h.payload_length != h.trailer_offset - h.payload_offset:
        raise _err("DC_ERR_LENGTH", 36, f"payload_length is {h.payload_length}, expected {h.trailer_offset - h.payload_offset}")
    if h.file_length != h.trailer_offset + layout.TRAILER_LENGTH:
        raise _err("DC_ERR_LENGTH", 44, f"file_length is {h.file_length}, expected {h.trailer_offset + layout.TRAILER_LENGTH}")
    return h


def _check_trailer(data: bytes, h: Header) -> Trailer:
    base = h.trailer_offset
    values = dict(zip(layout.TRAILER_FIELDS, layout.TRAILER_STRUCT.unpack_from(data, base)))
    alg, key_id, sig = values["signature_algorithm"], values["key_id"], values["signature"]
    if alg not in tuple(SignatureAlgorithm):
        raise _err("DC_ERR_SIGNATURE", base + 32, f"signature_algorithm is {alg}, expected 0 (none) or 1 (ed25519)")
    if values["signature_reserved"]:
        raise _err("DC_ERR_SIGNATURE", base + 34, "signature_reserved is not zero")
    if alg == SignatureAlgorithm.NONE and (any(key_id) or any(sig)):
        raise _err("DC_ERR_SIGNATURE", base + 36, "unsigned container has a non-zero key_id or signature")
    if alg == SignatureAlgorithm.ED25519 and (not any(key_id) or not any(sig)):
        raise _err("DC_ERR_SIGNATURE", base + 36, "signed container has an all-zero key_id or signature")
    tag_alg, tag = values["tag_algorithm"], values["device_tag"]
    if tag_alg not in tuple(TagAlgorithm):
        raise _err("DC_ERR_AUTH", base + 116, f"tag_algorithm is {tag_alg}, expected 0 (none) or 1 (hmac-sha256)")
    if values["tag_reserved"]:
        raise _err("DC_ERR_AUTH", base + 118, "tag_reserved is not zero")
    if tag_alg == TagAlgorithm.NONE and any(tag):
        raise _err("DC_ERR_AUTH", base + 120, "device_tag is set but tag_algorithm is 0 (none)")
    if tag_alg == TagAlgorithm.HMAC_SHA256 and not any(tag):
        raise _err("DC_ERR_AUTH", base + 120, "device_tag is all zero but tag_algorithm is 1 (hmac-sha256)")
    return Trailer(values["content_sha256"], SignatureAlgorithm(alg), key_id, sig, TagAlgorithm(tag_alg), tag)


def check_entry(raw: bytes, index: int, h: Header, expected_offset: int | None) -> TensorEntry:
    """Step 10 for one directory entry. `expected_offset` is where its payload must start
    (None when seeking: then only bounds are checked). Raises BitstreamError."""
    at = layout.HEADER_LENGTH + layout.ENTRY_LENGTH * index
    offset, length, count, codec, dtype, flags = layout.ENTRY_STRUCT.unpack(raw)
    name = f"tensor {index}"
    if codec not in tuple(Codec):
        raise _err("DC_ERR_FIELD", at + 12, f"{name}: codec is {codec}, expected 0 (raw) or 1 (cabac)")
    if dtype not in tuple(LevelDtype):
        raise _err("DC_ERR_FIELD", at + 13, f"{name}: level_dtype is {dtype}, expected 0, 1 or 2")
    if flags & ~layout.KNOWN_TENSOR_FLAGS:
        raise _err("DC_ERR_FIELD", at + 14, f"{name}: tensor_flags is {flags:#x}, unknown bits")
    if flags & layout.TENSOR_FLAG_DELTA and not h.is_delta:
        raise _err("DC_ERR_TENSOR", at + 14, f"{name}: TENSOR_FLAG_DELTA in a container without FLAG_DELTA")
    if count > layout.MAX_LEVELS_PER_TENSOR:
        raise _err("DC_ERR_OVERSIZE", at + 8, f"{name}: level_count is {count}, limit {layout.MAX_LEVELS_PER_TENSOR}")
    if expected_offset is not None and offset != expected_offset:
        raise _err("DC_ERR_LENGTH", at, f"{name}: payload_offset is {offset}, expected {expected_offset}")
    if offset < h.payload_offset or offset % 4 or offset + length > h.trailer_offset:
        raise _err("DC_ERR_LENGTH", at + 4, f"{name}: payload [{offset}, {offset + length}) outside the payload section "
                   f"[{h.payload_offset}, {h.trailer_offset})")
    if codec == Codec.RAW and length != count * LevelDtype(dtype).width:
        raise _err("DC_ERR_TENSOR", at + 4, f"{name}: raw payload_length is {length}, expected "
                   f"{count} levels * {LevelDtype(dtype).width} bytes")
    return TensorEntry(offset, length, count, Codec(codec), LevelDtype(dtype), flags)


def _check_directory(data: bytes, h: Header) -> tuple[TensorEntry, ...]:
    entries = []
    position = h.payload_offset
    for i in range(h.tensor_count):
        at = layout.HEADER_LENGTH + layout.ENTRY_LENGTH * i
        entry = check_entry(data[at:at + layout.ENTRY_LENGTH], i, h, position)
        entries.append(entry)
        position = layout.align4(entry.payload_offset + entry.payload_length)
    if position != h.trailer_offset:
        raise _err("DC_ERR_LENGTH", 40, f"payloads end at {position}, trailer_offset is {h.trailer_offset}")
    gaps = [(h.metadata_offset + h.metadata_length, h.payload_offset)]
    gaps += [(e.payload_offset + e.payload_length, layout.align4(e.payload_offset + e.payload_length)) for e in entries]
    for start, end in gaps:
        for at in range(start, end):
            if data[at]:
                raise _err("DC_ERR_FIELD", at, f"padding byte is {data[at]:#04x}, expected 0")
    return tuple(entries)


def _cross_check(metadata: Metadata, entries: tuple[TensorEntry, ...], h: Header) -> None:
    if len(metadata.tensors) != len(entries):
        raise _err("DC_ERR_TENSOR", h.metadata_offset,
                   f"metadata lists {len(metadata.tensors)} tensors, the directory {len(entries)}")
    for i, (info, entry) in enumerate(zip(metadata.tensors, entries)):
        at = layout.HEADER_LENGTH + layout.ENTRY_LENGTH * i
        if info.level_count != entry.level_count:
            raise _err("DC_ERR_TENSOR", at + 8, f"tensor {i} ({info.name}): shape {list(info.shape)} has "
                       f"{info.level_count} elements, level_count is {entry.level_count}")
        if info.dtype != entry.level_dtype:
            raise _err("DC_ERR_TENSOR", at + 13, f"tensor {i} ({info.name}): dtype {info.dtype.type_name}, "
                       f"level_dtype {entry.level_dtype.type_name}")


@dataclass(frozen=True)
class Container:
    """A validated container held in memory. Build it with `open_container` / `read_container`."""

    data: bytes
    header: Header
    entries: tuple[TensorEntry, ...]
    metadata: Metadata
    trailer: Trailer

    @property
    def content_sha256(self) -> bytes:
        """The SHA-256 of the content: what a delta names as its base."""
        return self.trailer.content_sha256

    @property
    def signed(self) -> bool:
        return self.trailer.signature_algorithm != SignatureAlgorithm.NONE

    @property
    def tagged(self) -> bool:
        return self.trailer.tag_algorithm != TagAlgorithm.NONE

    def payload(self, index: int) -> bytes:
        """The payload bytes of tensor `index`. Raises IndexError for an index out of range."""
        entry = self.entries[index]
        return self.data[entry.payload_offset:entry.payload_offset + entry.payload_length]

    def check_base(self, base_sha256: bytes) -> None:
        """Check that this container can be applied to a base with content hash `base_sha256`.

        A non-delta container needs no base. Raises BitstreamError(status="DC_ERR_BASE").
        """
        if self.header.is_delta and self.header.base_sha256 != base_sha256:
            raise _err("DC_ERR_BASE", 64, f"delta needs base {self.header.base_sha256.hex()}, "
                       f"given {bytes(base_sha256).hex()}")

    def levels(self, index: int, *, base: "Container | None" = None) -> np.ndarray:
        """The int32 levels of tensor `index`, decoded with its codec (delta tensors need `base`).

        Raises IndexError, BitstreamError (DC_ERR_BASE without the right base, DC_ERR_TENSOR
        for a base tensor that does not match, DC_ERR_CORRUPT), CodecError from the coder.
        """
        entry = self.entries[index]
        base_levels = None
        if entry.delta:
            if base is None:
                raise _err("DC_ERR_BASE", 64, f"tensor {index} is a delta: the base container is needed")
            self.check_base(base.content_sha256)
            if index >= len(base.entries) or base.entries[index].level_count != entry.level_count \
                    or base.entries[index].level_dtype != entry.level_dtype:
                raise _err("DC_ERR_TENSOR", layout.HEADER_LENGTH + layout.ENTRY_LENGTH * index,
                           f"tensor {index}: the base has no tensor of {entry.level_count} "
                           f"{entry.level_dtype.type_name} levels at this index")
            base_levels = base.levels(index)
        return decode_payload(self.payload(index), codec=entry.codec, level_count=entry.level_count,
                              level_dtype=entry.level_dtype, base_levels=base_levels)


def open_container(data: bytes) -> Container:
    """Parse and validate container bytes completely (docs/bitstream.md section 7).

    Does not verify the Ed25519 signature or the device tag (they need keys: see
    signing.verify_signature and hmac_tag.verify_device_tag). Raises BitstreamError.
    """
    data = bytes(data)
    h = check_header(data[:layout.HEADER_LENGTH], len(data))
    trailer = _check_trailer(data, h)
    digest = hashlib.sha256(data[:h.trailer_offset]).digest()
    if digest != trailer.content_sha256:
        raise _err("DC_ERR_HASH", h.trailer_offset, f"content_sha256 is {trailer.content_sha256.hex()}, "
                   f"the content hashes to {digest.hex()}")
    entries = _check_directory(data, h)
    metadata = Metadata.from_cbor(data[h.metadata_offset:h.metadata_offset + h.metadata_length],
                                  base_offset=h.metadata_offset, version_major=h.version_major)
    _cross_check(metadata, entries, h)
    return Container(data=data, header=h, entries=entries, metadata=metadata, trailer=trailer)


def read_container(path: str | os.PathLike[str]) -> Container:
    """Read and validate the container file at `path`. Raises OSError, BitstreamError."""
    with open(path, "rb") as handle:
        head = handle.read(layout.HEADER_LENGTH)
        size = os.fstat(handle.fileno()).st_size
        check_header(head, size)  # refuses oversize files before reading them
        return open_container(head + handle.read())


def read_tensor(path: str | os.PathLike[str], index: int) -> tuple[TensorEntry, bytes]:
    """Seek to tensor `index` and read only its payload (plus the header and its entry).

    The header and the entry are checked (steps 1-7 and 10), the content hash is NOT: use
    read_container to trust the bytes. Raises OSError, IndexError, BitstreamError.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        h = check_header(handle.read(layout.HEADER_LENGTH), size)
        if not 0 <= index < h.tensor_count:
            raise IndexError(f"tensor index {index} outside 0..{h.tensor_count - 1}")
        handle.seek(layout.HEADER_LENGTH + layout.ENTRY_LENGTH * index)
        entry = check_entry(handle.read(layout.ENTRY_LENGTH), index, h, None)
        handle.seek(entry.payload_offset)
        return entry, handle.read(entry.payload_length)

