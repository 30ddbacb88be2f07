"""Make a delta container: the new model coded against a base model (docs/delta.md, "Making").

Per tensor the smallest of: the new payload verbatim; the new levels coded with the coder's
BASE prediction (each level predicted by the base's co-located level: `TENSOR_FLAG_DELTA`);
for tensors the coder cannot predict from (levels beyond +-32767, e.g. int32 biases) the
difference to the base coded as a plain tensor ("residual"). The metadata is a patch of the
base's metadata (host.delta.patch), so the graph is not sent again. The result is checked by
applying it: `make_delta` never returns a delta that does not rebuild the new container.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host.coder import MAX_ABS, encode_levels, payload_params
from host.container import cbor
from host.container.codecs import encode_raw
from host.container.layout import VERSION_MAJOR, Codec, LevelDtype
from host.container.metadata import Compressor, Graph, Metadata, TensorInfo
from host.container.reader import Container, open_container
from host.container.writer import TensorPayload, build_container
from host.delta import patch
from host.delta.apply import apply_delta
from host.delta.record import KEY, DeltaRecord, TensorRecipe
from host.errors import BitstreamError, CodecError

#: How each tensor of a delta is carried (for reports).
VERBATIM, BASE, RESIDUAL = "verbatim", "base", "residual"


@dataclass(frozen=True)
class DeltaReport:
    """What make_delta chose: per tensor (kind, delta payload bytes, full payload bytes)."""

    tensors: tuple[tuple[str, int, int], ...]
    metadata_bytes: int
    patch_operations: int


def _recipe_of(payload: bytes, entry) -> TensorRecipe | None:
    """How to rebuild `payload` from its levels, or None when it is not reproducible."""
    if entry.codec is Codec.RAW:
        return TensorRecipe(Codec.RAW, False, None)
    try:
        params = payload_params(payload)
    except CodecError:
        return None
    return TensorRecipe(Codec.CABAC, False, params)


def _reproduces(levels: np.ndarray, recipe: TensorRecipe, payload: bytes, dtype: LevelDtype) -> bool:
    try:
        if recipe.codec is Codec.RAW:
            return encode_raw(levels, dtype) == payload
        return encode_levels(levels.astype(np.int32), dq=recipe.params.dq, params=recipe.params) == payload
    except CodecError:
        return False


def _codable(values: np.ndarray) -> bool:
    return not values.size or int(np.abs(values).max()) <= MAX_ABS


def _choose(index: int, new: Container, base: Container) -> tuple[TensorPayload, TensorRecipe | None, str]:
    entry = new.entries[index]
    payload = new.payload(index)
    best = (TensorPayload(payload, entry.level_count, entry.codec, entry.level_dtype), None, VERBATIM)
    if index >= len(base.entries) or base.entries[index].level_count != entry.level_count \
            or base.entries[index].level_dtype != entry.level_dtype or base.entries[index].delta:
        return best
    recipe = _recipe_of(payload, entry)
    levels = new.levels(index).astype(np.int64)
    if recipe is None or not _reproduces(levels, recipe, payload, entry.level_dtype):
        return best
    base_levels = base.levels(index).astype(np.int64)
    candidates = []
    if _codable(levels) and _codable(base_levels):
        coded = encode_levels(levels.astype(np.int32), base=base_levels.astype(np.int32))
        candidates.append((TensorPayload(coded, entry.level_count, Codec.CABAC, entry.level_dtype, delta=True),
                           recipe, BASE))
    residual = levels - base_levels
    low, high = entry.level_dtype.bounds
    if _codable(residual) and (not residual.size or (residual.min() >= low and residual.max() <= high)):
        coded = encode_levels(residual.astype(np.int32))
        candidates.append((TensorPayload(coded, entry.level_count, Codec.CABAC, entry.level_dtype),
                           TensorRecipe(recipe.codec, True, recipe.params), RESIDUAL))
    for candidate in candidates:
        if len(candidate[0].payload) < len(best[0].payload):
            best = candidate
    return best


def make_delta(base: Container | bytes, new: Container | bytes) -> tuple[bytes, DeltaReport]:
    """An unsigned delta container turning `base` into `new` (sign it with host.container.signing).

    `new` should be signed: its signature travels in the delta, so the rebuilt container
    verifies like the original. Raises BitstreamError for a malformed input, for a delta
    input (deltas of deltas are not made), and when the result would not rebuild `new`
    exactly (DC_ERR_HASH); CodecError from the coder.
    """
    if not isinstance(base, Container):
        base = open_container(base)
    if not isinstance(new, Container):
        new = open_container(new)
    if new.header.version_major != VERSION_MAJOR:
        raise BitstreamError(f"the new model is a format {new.header.version_major} container: deltas rebuild "
                             f"format {VERSION_MAJOR}; re-pack it with this dcagent first", status="DC_ERR_VERSION")
    for what, c in (("base", base), ("new model", new)):
        if c.header.is_delta:
            raise BitstreamError(f"the {what} is itself a delta: make the delta from full containers",
                                 status="DC_ERR_BASE")
    chosen = [_choose(i, new, base) for i in range(len(new.entries))]

    def section(c: Container) -> bytes:
        return c.data[c.header.metadata_offset:c.header.metadata_offset + c.header.metadata_length]
    ops = patch.diff(cbor.decode(section(base)), cbor.decode(section(new)))
    record = DeltaRecord(metadata_ops=ops, tensors=tuple(r for _, r, _ in chosen),
                         full_content_sha256=new.content_sha256,
                         full_key_id=new.trailer.key_id if new.signed else b"",
                         full_signature=new.trailer.signature if new.signed else b"",
                         full_length=len(new.data))
    meta = new.metadata
    tensors = tuple(TensorInfo(f"t{i}", (p.level_count,), p.level_dtype, None) for i, (p, _, _) in enumerate(chosen))
    delta_meta = Metadata(model=meta.model, target=meta.target,
                          compressor=Compressor(meta.compressor.name, meta.compressor.version, {}),
                          graph=Graph(inputs=(), outputs=(), nodes=(), values=()), tensors=tensors,
                          extensions={KEY: record.to_plain()})
    data = build_container(delta_meta, [p for p, _, _ in chosen], base_sha256=base.content_sha256)
    apply_delta(base, data)  # raises DC_ERR_HASH unless it rebuilds `new` exactly
    delta = open_container(data)
    report = DeltaReport(tensors=tuple((kind, len(p.payload), new.entries[i].payload_length)
                                       for i, (p, _, kind) in enumerate(chosen)),
                         metadata_bytes=delta.header.metadata_length, patch_operations=len(ops))
    return data, report
