"""The entropy coder of integer weight levels: tensor payloads in, levels out.

A payload is self-describing (docs/coder.md): a header with the coder parameters, then the
coded bytes. Two syntaxes share the payload: CABAC (context-adaptive binary arithmetic coding,
the default, smallest) and "fast" (a static per-tensor rANS table over magnitude classes with
raw remainder and sign bits, section 10: 4-6x less decoding work on a Cortex-M4, sizes within
a few percent of CABAC on dense tensors). `encode_levels(..., syntax=...)` picks one. It decodes given only the payload, the level count and, for delta
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
#: Effort of the parameter search when `params` is not given (docs/coder.md section 8):
#: 0 rules of thumb only; 1 a few candidates tried on up to 4,096 levels; 2 more candidates on
#: up to 32,768 levels; 3 those on the whole tensor.
DEFAULT_EFFORT = _coder.EFFORT_DEFAULT
MAX_EFFORT = _coder.EFFORT_MAX

#: Level syntaxes encode_levels accepts: "cabac", "fast", and "auto" (see choose_syntax).
SYNTAXES = ("cabac", "fast", "auto")
#: "auto" keeps the fast payload when it is at most this much larger than the CABAC one.
AUTO_FAST_SLACK = 0.02
FAST_MAX_PREC = _coder.FAST_MAX_PREC
FAST_MAX_CLASSES = _coder.FAST_MAX_CLASSES

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
    """The per-tensor parameters signalled in a payload header (docs/coder.md section 1).

    `sign_bypass`: signs are bypass bits (else context coded). `row_skip`: a flag per row of
    `row_len` levels says the whole row equals its prediction. `rem_ctx` (0..2): how many top
    suffix bits of a magnitude are context coded. `sig_skip`: no significance flag where the
    running mean of magnitudes is 8 or more. `window` (1..8): adaptation shift of the
    probability model. `start_base` 0 starts the magnitude's bucket prefix at bucket 0; 1..15 at
    clamp(log2(mean_acc) - start_base, 0, 12). `col_stride`: column period (0 = none).
    """

    pred_mode: PredMode = PredMode.NONE
    dq: bool = False
    sign_bypass: bool = False
    row_skip: bool = False
    rem_ctx: int = 2
    sig_skip: bool = False
    window: int = 6
    start_base: int = 6
    col_stride: int = 0
    row_len: int = 0

    def _as_tuple(self) -> tuple[int, ...]:
        return (int(self.pred_mode), int(self.dq), int(self.sign_bypass), int(self.row_skip), self.rem_ctx,
                int(self.sig_skip), self.window, self.start_base, self.col_stride, self.row_len)

    @classmethod
    def _from_tuple(cls, t: tuple[int, ...]) -> CoderParams:
        return cls(PredMode(t[0]), bool(t[1]), bool(t[2]), bool(t[3]), t[4], bool(t[5]), t[6], t[7], t[8], t[9])

    def to_ints(self) -> list[int]:
        """The parameters as PARAM_COUNT integers (for records that store them, e.g. host.delta)."""
        return list(self._as_tuple())

    @classmethod
    def from_ints(cls, values: list[int]) -> CoderParams:
        """The inverse of `to_ints`. Raises ValueError for a wrong count or an unknown mode."""
        if len(values) != PARAM_COUNT:
            raise ValueError(f"expected {PARAM_COUNT} coder parameters, found {len(values)}")
        return cls._from_tuple(tuple(values))


# How many integers CoderParams.to_ints() gives.
PARAM_COUNT = len(CoderParams()._as_tuple())

@dataclass(frozen=True)
class FastLayout:
    """The class layout of a fast-syntax payload (docs/coder.md section 10).

    Class 0 is magnitude 0; class c >= 1 holds the 2**nbits[c] magnitudes after those of class
    c - 1 (nbits[0] is 0). `prec` (1..9): the class frequencies sum to 2**prec.
    """

    prec: int
    nbits: tuple[int, ...]

    def _as_tuple(self) -> tuple:
        return (self.prec, len(self.nbits), tuple(self.nbits))


@dataclass(frozen=True)
class FastHeader:
    """What a fast-syntax payload header says (see fast_header)."""

    prec: int
    n_classes: int
    rans_words: int
    raw_words: int
    header_len: int
    row_len: int = 0  # row skipping: a row_zero bit per row of row_len levels (0: none)


def _as_int32(levels: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(levels)
    if arr.dtype.kind not in "iub":
        raise CodecError(f"{what} must be integers, got dtype {arr.dtype}", status="DC_ERR_ARG")
    if arr.dtype.itemsize > 1 and arr.size and (int(arr.min()) < -MAX_ABS or int(arr.max()) > MAX_ABS):
        raise CodecError(f"{what} out of range: |level| must be <= {MAX_ABS}", status="DC_ERR_ARG",
                         hint="re-quantize to at most 16 bits")
    return np.ascontiguousarray(arr.reshape(-1), dtype=np.int32)


def encode_levels(levels: np.ndarray, *, base: np.ndarray | None = None, dq: bool = False,
                  params: CoderParams | None = None, effort: int = DEFAULT_EFFORT, syntax: str = "cabac",
                  layout: FastLayout | None = None) -> bytes:
    """Encode integer levels (any integer dtype and shape, C order) into a tensor payload.

    `syntax` "cabac" (default) codes with the context-adaptive coder below; "fast" with the
    static rANS syntax (no base, DQ or params; row skipping per output channel where it pays;
    `layout` fixes its class layout, else the encoder chooses); "auto" codes both (when neither base, dq nor params is given) and keeps
    the fast payload when it is at most AUTO_FAST_SLACK (2 %) larger (choose_syntax).

    Without `params` the encoder tries settings (column period from the shape, Rice split,
    prediction, adaptation window, sign coding) and keeps the smallest; `effort` (0..3) sets how
    many and on how many levels (DEFAULT_EFFORT = 1; 2 is 2-7x slower and 0.1-1.2 % smaller,
    docs/coder.md section 8).
    `base` (same shape) enables delta coding against a base tensor; `dq` codes DQ
    reconstruction levels.
    Raises CodecError(status="DC_ERR_ARG") for non-integer or out-of-range levels, a base of
    another shape, levels DQ cannot produce, params that contradict `base`/`dq`, or an effort
    outside 0..3; CodecError(status="DC_ERR_PARAMS") for invalid params.
    """
    if syntax not in SYNTAXES:
        raise CodecError(f"syntax must be one of {', '.join(SYNTAXES)}, got {syntax!r}", status="DC_ERR_ARG")
    arr = np.asarray(levels)
    flat = _as_int32(arr, "levels")
    plain = base is None and not dq and params is None
    if syntax == "fast" or layout is not None:
        if not plain or syntax != "fast":
            raise CodecError("the fast syntax takes no base, dq or params (and layout needs syntax='fast')",
                             status="DC_ERR_ARG")
        return _encode_fast(arr, flat, layout)
    if syntax == "auto" and plain:
        return choose_syntax(_encode_fast(arr, flat, None), encode_levels(arr, effort=effort))
    base_flat = None
    if base is not None:
        b = np.asarray(base)
        if b.shape != arr.shape:
            raise CodecError(f"base shape {b.shape} differs from levels shape {arr.shape}", status="DC_ERR_ARG")
        base_flat = _as_int32(b, "base levels")
    if params is None:
        if not isinstance(effort, (int, np.integer)) or not 0 <= effort <= MAX_EFFORT:
            raise CodecError(f"effort must be an integer in 0..{MAX_EFFORT}, got {effort!r}", status="DC_ERR_ARG")
        kernel_len = int(np.prod(arr.shape[1:])) if arr.ndim >= 2 else 0
        row_len = int(arr.shape[-1]) if arr.ndim >= 2 else 0
        return _coder.encode_auto(flat, base_flat, dq, kernel_len, row_len, int(effort))
    else:
        if params.dq != dq:
            raise CodecError("params.dq disagrees with dq", status="DC_ERR_ARG")
        if params.pred_mode == PredMode.BASE and base_flat is None:
            raise CodecError("pred_mode BASE needs base levels", status="DC_ERR_ARG")
    return _coder.encode(flat, base_flat, params._as_tuple())


def _encode_fast(arr: np.ndarray, flat: np.ndarray, layout: FastLayout | None) -> bytes:
    """The fast payload of `arr` (flattened to `flat`): with row skipping (rows of prod(shape[1:])
    levels, one per output channel) when some row is all zero and that is smaller, else without."""
    plain = _coder.encode_fast(flat, None if layout is None else layout._as_tuple(), 0)
    row_len = int(np.prod(arr.shape[1:])) if arr.ndim >= 2 else 0
    if not 0 < row_len <= 65535 or flat.size < row_len:
        return plain
    rows = flat[:flat.size - flat.size % row_len].reshape(-1, row_len)
    if rows.size == 0 or not (~rows.any(axis=1)).any():
        return plain
    skipping = _coder.encode_fast(flat, None if layout is None else layout._as_tuple(), row_len)
    return skipping if len(skipping) < len(plain) else plain


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
    # The bytearray is owned by the array alone: no copy needed.
    return np.frombuffer(out, dtype=np.int32) if count else np.zeros(0, dtype=np.int32)


def choose_syntax(fast: bytes, cabac: bytes) -> bytes:
    """The payload "auto" keeps: `fast` unless it is more than AUTO_FAST_SLACK larger than `cabac`.

    (Decoding work per weight on a Cortex-M4 is 4-6x lower in the fast syntax on dense tensors,
    docs/coder.md section 10.4; 2 % of size buys that.)
    """
    return fast if len(fast) <= len(cabac) * (1.0 + AUTO_FAST_SLACK) else cabac


def fast_layout(levels: np.ndarray) -> FastLayout:
    """The class layout the fast encoder chooses for `levels`. Raises CodecError(DC_ERR_ARG)."""
    prec, _, nbits = _coder.fast_layout(_as_int32(levels, "levels"))
    return FastLayout(prec, tuple(nbits))


def fast_header(payload: bytes) -> FastHeader | None:
    """The fast-syntax header of `payload`, or None for a CABAC payload.

    Raises CodecError(status="DC_ERR_TRUNCATED" or "DC_ERR_PARAMS") for a bad header.
    """
    t = _coder.fast_header(bytes(payload))
    return None if t is None else FastHeader(*t)


def payload_syntax(payload: bytes) -> str:
    """"fast" or "cabac" (by bit 7 of the first byte). Raises CodecError(DC_ERR_TRUNCATED) when empty."""
    if not payload:
        raise CodecError("empty payload", status="DC_ERR_TRUNCATED")
    return "fast" if payload[0] & 0x80 else "cabac"


def payload_params(payload: bytes) -> CoderParams:
    """The parameters in a CABAC payload's header.

    Raises CodecError(status="DC_ERR_TRUNCATED" or "DC_ERR_PARAMS") for a bad header and
    CodecError(status="DC_ERR_UNSUPPORTED") for a fast-syntax payload (see fast_header).
    """
    if fast_header(payload) is not None:
        raise CodecError("a fast-syntax payload has no CABAC parameters", status="DC_ERR_UNSUPPORTED")
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
