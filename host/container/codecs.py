"""Payload codecs of the .dcb container: `raw` (implemented here) and `cabac` (host.coder).

docs/bitstream.md section 3. A codec turns a payload into `level_count` int32 levels; the
`cabac` coder is imported only when a cabac payload is decoded, so the container works
without it.
"""
from __future__ import annotations

import importlib

import numpy as np

from host.container.layout import Codec, LevelDtype
from host.errors import BitstreamError, CodecError

_NUMPY_TYPES = {LevelDtype.INT8: "<i1", LevelDtype.INT16: "<i2", LevelDtype.INT32: "<i4"}


def encode_raw(levels: np.ndarray | list[int], level_dtype: LevelDtype) -> bytes:
    """The `raw` payload of `levels`: each a little-endian integer of `level_dtype`.

    Raises CodecError(status="DC_ERR_CORRUPT") when a level does not fit `level_dtype`.
    """
    array = np.asarray(levels, dtype=np.int64).reshape(-1)
    low, high = LevelDtype(level_dtype).bounds
    bad = np.flatnonzero((array < low) | (array > high))
    if bad.size:
        index = int(bad[0])
        raise CodecError(
            f"level {index} is {int(array[index])}, outside [{low}, {high}] of {LevelDtype(level_dtype).type_name}",
            status="DC_ERR_CORRUPT",
        )
    return array.astype(_NUMPY_TYPES[LevelDtype(level_dtype)]).tobytes()


def decode_raw(payload: bytes, level_count: int, level_dtype: LevelDtype) -> np.ndarray:
    """The int32 levels of a `raw` payload.

    Raises BitstreamError(status="DC_ERR_TENSOR") when the payload length is not
    `level_count * width`.
    """
    dtype = LevelDtype(level_dtype)
    if len(payload) != level_count * dtype.width:
        raise BitstreamError(
            f"raw payload is {len(payload)} bytes, expected {level_count} levels * {dtype.width} bytes",
            status="DC_ERR_TENSOR",
        )
    return np.frombuffer(payload, dtype=_NUMPY_TYPES[dtype]).astype(np.int32)


def decode_payload(
    payload: bytes,
    *,
    codec: Codec,
    level_count: int,
    level_dtype: LevelDtype,
    base_levels: np.ndarray | None = None,
) -> np.ndarray:
    """Decode one tensor payload to `level_count` int32 levels.

    With `base_levels` (a delta tensor), raw levels are base + delta; cabac payloads get the
    base handed to the coder. Raises BitstreamError (DC_ERR_TENSOR, DC_ERR_CORRUPT) for a
    payload that does not decode to valid levels, and whatever host.coder raises
    (CodecError) for a bad cabac payload.
    """
    dtype = LevelDtype(level_dtype)
    if Codec(codec) is Codec.RAW:
        levels = decode_raw(payload, level_count, dtype)
        if base_levels is not None:
            levels = np.asarray(base_levels, dtype=np.int64).reshape(-1) + levels
    else:
        coder = importlib.import_module("host.coder")
        base = None if base_levels is None else np.asarray(base_levels, dtype=np.int32).reshape(-1)
        levels = np.asarray(coder.decode_levels(payload, level_count, base=base))
    if levels.shape != (level_count,):
        raise BitstreamError(
            f"payload decoded to {levels.size} levels, expected {level_count}", status="DC_ERR_CORRUPT"
        )
    low, high = dtype.bounds
    bad = np.flatnonzero((levels < low) | (levels > high))
    if bad.size:
        index = int(bad[0])
        raise BitstreamError(
            f"level {index} decoded to {int(levels[index])}, outside [{low}, {high}] of {dtype.type_name}",
            status="DC_ERR_CORRUPT",
        )
    return levels.astype(np.int32)
