"""The entropy coder of integer weight levels: tensor payloads in, levels out.

A payload is self-describing (docs/coder.md): a 3-5 byte header with the coder parameters, then
the arithmetic-coded bytes. It decodes given only the payload, the level count and, for delta
payloads, the co-located levels of the base tensor. Encoding and decoding run the C code that
the firmware also runs (host/csrc, firmware/lib/src/coder).

Levels are integers with |level| <= MAX_ABS (32767), scanned in C order. In DQ mode the levels
are the reconstruction values of 8-state dependent quantization (2q or 2q - sign(q), see
docs/coder.md "Dependent quantization"); `dq_indices_to_levels` maps quantization indices to them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from host import _coder
from host.errors import CodecError

MAX_ABS = _coder.MAX_ABS
MAX_STRIDE = _coder.MAX_STRIDE
CONTEXT_BYTES = _coder.CONTEXT_BYTES
DECODER_BYTES = _coder.DECODER_BYTES
# Parameter search looks at no more than this many levels per candidate (encode speed).
MAX_TRIAL_LEVELS = 32768

# The 8-state DQ transition table, [state][parity of |q|] (docs/coder.md).
_DQ_NEXT = ((0, 2), (7, 5), (1, 3), (6, 4), (2, 0), (5, 7), (3, 1), (4, 6))


class PredMode(enum.IntEnum):
    """What each level is predicted from before coding (docs/coder.md, "Prediction")."""

    NONE = 0
    LEFT = 1  # the previous level in scan order
    UP = 2    # the level col_stride positions earlier
    BASE = 3  # the co-located base level (delta payloads)


@dataclass(frozen=True)
class CoderParams:
    """The per-tensor parameters signalled in a payload header."""

    pred_mode: PredMode = PredMode.NONE
    dq: bool = False
    rice: bool = False
    shift_fast: int = 5
    shift_slow: int = 8
    col_stride: int = 0

    def _as_tuple(self) -> tuple[int, int, int, int, int, int]:
        return (int(self.pred_mode), int(self.dq), int(self.rice), self.shift_fast, self.shift_slow,
                self.col_stride)

    @classmethod
    def _from_tuple(cls, t: tuple[int, int, int, int, int, int]) -> CoderParams:
        return cls(PredMode(t[0]), bool(t[1]), bool(t[2]), t[3], t[4], t[5])


def _as_int32(levels: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(levels)
    if arr.dtype.kind not in "iub":
        raise CodecError(f"{what} must be integers, got dtype {arr.dtype}", status="DC_ERR_ARG")
    if arr.size and (int(arr.min()) < -MAX_ABS or int(arr.max()) > MAX_ABS):
        raise CodecError(f"{what} out of range: |level| must be <= {MAX_ABS}", status="DC_ERR_ARG",
                         hint="re-quantize to at most 16 bits")
    return np.ascontiguousarray(arr.reshape(-1), dtype=np.int32)


def encode_levels(levels: np.ndarray, *, base: np.ndarray | None = None, dq: bool = False,
                  params: CoderParams | None = None) -> bytes:
    """Encode integer levels (any integer dtype and shape, C order) into a tensor payload.

    Without `params` the encoder tries a few settings (column period from the shape, Rice split,
    prediction, adaptation windows) and keeps the smallest. `base` (same shape) enables delta
    coding against a base tensor; `dq` codes DQ reconstruction levels.
    Raises CodecError(status="DC_ERR_ARG") for non-integer or out-of-range levels, a base of
    another shape, levels DQ cannot produce, or params that contradict `base`/`dq`;
    CodecError(status="DC_ERR_PARAMS") for invalid params.
    """
    arr = np.asarray(levels)
    flat = _as_int32(arr, "levels")
    base_flat = None
    if base is not None:
        b = np.asarray(base)
        if b.shape != arr.shape:
            raise CodecError(f"base shape {b.shape} differs from levels shape {arr.shape}", status="DC_ERR_ARG")
        base_flat = _as_int32(b, "base levels")
    if params is None:
        kernel_len = int(np.prod(arr.shape[1:])) if arr.ndim >= 2 else 0
        row_len = int(arr.shape[-1]) if arr.ndim >= 2 else 0
        chosen = _coder.choose(flat, base_flat, dq, kernel_len, row_len, MAX_TRIAL_LEVELS)
        params = CoderParams._from_tuple(chosen)
    else:
        if params.dq != dq:
            raise CodecError("params.dq disagrees with dq", status="DC_ERR_ARG")
        if params.pred_mode == PredMode.BASE and base_flat is None:
            raise CodecError("pred_mode BASE needs base levels", status="DC_ERR_ARG")
    return _coder.encode(flat, base_flat, params._as_tuple())


def decode_levels(payload: bytes, count: int, *, base: np.ndarray | None = None,
                  slices: list[int] | None = None) -> np.ndarray:
    """Decode `count` levels (int32, flat) from a payload.

    `base` must be given for delta payloads (pred_mode BASE), with `count` levels. `slices`
    (for tests and tools) decodes in slices of these sizes, cycled, as a device does.
    Raises CodecError with status DC_ERR_TRUNCATED, DC_ERR_CORRUPT, DC_ERR_PARAMS,
    DC_ERR_TRAILING (malformed payloads), DC_ERR_BASE (a delta payload without base) or
    DC_ERR_ARG (bad count or base).
    """
    if not isinstance(count, (int, np.integer)) or count < 0:
        raise CodecError(f"count must be a non-negative integer, got {count!r}", status="DC_ERR_ARG")
    base_flat = None
    if base is not None:
        base_flat = _as_int32(base, "base levels")
    out = _coder.decode(bytes(payload), int(count), base_flat, slices)
    return np.frombuffer(out, dtype=np.int32).copy() if count else np.zeros(0, dtype=np.int32)


def payload_params(payload: bytes) -> CoderParams:
    """The parameters in a payload's header.

    Raises CodecError(status="DC_ERR_TRUNCATED" or "DC_ERR_PARAMS") for a bad header.
    """
    return CoderParams._from_tuple(_coder.params(bytes(payload)))


def dq_indices_to_levels(indices: np.ndarray) -> np.ndarray:
    """Map DQ quantization indices (C order) to the reconstruction levels the coder carries.

    Level = 2q in even states, 2q - sign(q) in odd states; the state moves on |q| mod 2.
    """
    q = np.asarray(indices).reshape(-1).astype(np.int64)
    out = np.empty_like(q)
    state = 0
    for i, v in enumerate(q.tolist()):
        odd = state & 1
        out[i] = 0 if v == 0 else (2 * v - odd if v > 0 else 2 * v + odd)
        state = _DQ_NEXT[state][abs(v) & 1]
    return out.reshape(np.shape(indices))
