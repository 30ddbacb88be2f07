"""Rebuild a full container from its base and a delta container (docs/delta.md, "Applying").

The result is byte-identical to the container the delta was made from, its Ed25519
signature included: the content is rebuilt (metadata patched, payloads re-coded with the
recorded coder parameters), its SHA-256 must equal the one the delta records (and the delta
is signed, so a receiver that verified the delta's signature can trust that hash), and the
recorded signature is put back into the trailer.
"""
from __future__ import annotations

import hashlib

import numpy as np

from host.coder import encode_levels
from host.container import cbor, layout
from host.container.codecs import encode_raw
from host.container.layout import Codec, SignatureAlgorithm, TagAlgorithm
from host.container.metadata import Metadata
from host.container.reader import Container, open_container
from host.container.writer import TensorPayload, layout_container
from host.delta import patch
from host.delta.record import DeltaRecord, TensorRecipe, read_record
from host.errors import BitstreamError, CodecError


def delta_record(delta: Container | bytes) -> DeltaRecord:
    """The recipe of a delta container. Raises BitstreamError (DC_ERR_FIELD for a container
    that is not a delta, DC_ERR_METADATA for a missing or malformed record)."""
    if not isinstance(delta, Container):
        delta = open_container(delta)
    if not delta.header.is_delta:
        raise BitstreamError("not a delta container (FLAG_DELTA is clear)", status="DC_ERR_FIELD", offset=12)
    return read_record(delta.metadata.extensions)


def encode_payload(levels: np.ndarray, recipe: TensorRecipe, level_dtype) -> bytes:
    """The full container's payload of `levels` as `recipe` says. Raises CodecError."""
    if recipe.codec is Codec.RAW:
        return encode_raw(levels, level_dtype)
    assert recipe.params is not None
    return encode_levels(np.asarray(levels, dtype=np.int64).astype(np.int32), dq=recipe.params.dq,
                         params=recipe.params)


def _levels(delta: Container, base: Container, index: int, recipe: TensorRecipe) -> np.ndarray:
    entry = delta.entries[index]
    if recipe.residual:
        if entry.delta or index >= len(base.entries) or base.entries[index].level_count != entry.level_count:
            raise BitstreamError(f"tensor {index}: a residual needs a plain entry and a base tensor of "
                                 f"{entry.level_count} levels", status="DC_ERR_TENSOR")
        levels = base.levels(index).astype(np.int64) + delta.levels(index).astype(np.int64)
        low, high = entry.level_dtype.bounds
        if levels.size and (levels.min() < low or levels.max() > high):
            raise BitstreamError(f"tensor {index}: base + residual leaves the {entry.level_dtype.type_name} range",
                                 status="DC_ERR_CORRUPT")
        return levels
    return delta.levels(index, base=base).astype(np.int64)


def apply_delta(base: Container | bytes, delta: Container | bytes) -> bytes:
    """The full container that `delta` encodes against `base`, signature restored (no device tag).

    Raises BitstreamError: DC_ERR_BASE when `base` is not the delta's base; DC_ERR_FIELD /
    DC_ERR_METADATA for a container that is not a well-formed delta; DC_ERR_TENSOR,
    DC_ERR_CORRUPT for tensors that do not fit the base; DC_ERR_HASH when the rebuilt content
    differs from the recorded hash (another coder version, or a corrupted delta); CodecError
    from the coder.
    """
    if not isinstance(base, Container):
        base = open_container(base)
    if not isinstance(delta, Container):
        delta = open_container(delta)
    record = delta_record(delta)
    delta.check_base(base.content_sha256)
    if len(record.tensors) != len(delta.entries):
        raise BitstreamError(f"extensions.delta.tensors has {len(record.tensors)} recipes for "
                             f"{len(delta.entries)} tensors", status="DC_ERR_METADATA")
    base_meta = cbor.decode(base.data[base.header.metadata_offset:
                                      base.header.metadata_offset + base.header.metadata_length])
    meta_bytes = cbor.encode(patch.apply(base_meta, record.metadata_ops))
    metadata = Metadata.from_cbor(meta_bytes)
    if metadata.model != delta.metadata.model or metadata.target != delta.metadata.target:
        raise BitstreamError("the patched metadata names another model or target than the delta",
                             status="DC_ERR_METADATA")
    payloads = []
    for index, (entry, recipe) in enumerate(zip(delta.entries, record.tensors)):
        if recipe is None:
            if entry.delta:
                raise BitstreamError(f"tensor {index}: a verbatim payload cannot be a delta", status="DC_ERR_TENSOR")
            payloads.append(TensorPayload(delta.payload(index), entry.level_count, entry.codec, entry.level_dtype))
            continue
        levels = _levels(delta, base, index, recipe)
        try:
            payload = encode_payload(levels, recipe, entry.level_dtype)
        except CodecError as exc:
            raise BitstreamError(f"tensor {index}: its levels cannot be coded as recorded: {exc}",
                                 status="DC_ERR_CORRUPT") from exc
        payloads.append(TensorPayload(payload, entry.level_count, recipe.codec, entry.level_dtype))
    data = bytearray(layout_container(meta_bytes, payloads))
    trailer_offset = len(data) - layout.TRAILER_LENGTH
    content_sha256 = hashlib.sha256(data[:trailer_offset]).digest()
    if content_sha256 != record.full_content_sha256 or len(data) != record.full_length:
        raise BitstreamError(f"the rebuilt model hashes to {content_sha256.hex()} ({len(data)} bytes), the delta "
                             f"promises {record.full_content_sha256.hex()} ({record.full_length} bytes)",
                             status="DC_ERR_HASH", offset=trailer_offset)
    signed = bool(record.full_key_id)
    data[trailer_offset:] = layout.TRAILER_STRUCT.pack(
        content_sha256, int(SignatureAlgorithm.ED25519 if signed else SignatureAlgorithm.NONE), 0,
        record.full_key_id or bytes(16), record.full_signature or bytes(64), int(TagAlgorithm.NONE), 0, bytes(32))
    open_container(bytes(data))
    return bytes(data)
