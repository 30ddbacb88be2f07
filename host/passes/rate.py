"""Rate estimates: how many bits the entropy coder will spend on a tensor's levels.

`estimate_bits` models a DeepCABAC-style binarization (MPEG NNC, ISO/IEC 15938-17): per
level a significance flag (context: the previous level zero, positive or negative; with
dependent quantization also the quantizer of the trellis state), a sign flag, up to
`GTX_FLAGS` "absolute value greater than x" flags (one context each) and an Exp-Golomb
(order 0) remainder in bypass bins. Each context is an adaptive binary model; its cost is the
Krichevsky-Trofimov code length of its counts, which does not depend on the bin order:
    L(n0, n1) = -log2( Gamma(n0 + 1/2) Gamma(n1 + 1/2) / (pi Gamma(n0 + n1 + 1)) ).
The passes use the REAL coder by default (`CoderRate`: host.coder.encode_levels, cached):
`estimate_bits` remains for analysis and as a fallback `rate` argument.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from host.graph import CodebookLevels, DependentLevels, Graph, Tensor
from host.graph.encoding import dependent_states

GTX_FLAGS = 4

# bits(levels, dq) -> estimated bits of the coded levels.
RateFn = Callable[[np.ndarray, bool], float]


def _kt_bits(ones: int, total: int) -> float:
    zeros = total - ones
    if total == 0:
        return 0.0
    log_p = (math.lgamma(zeros + 0.5) + math.lgamma(ones + 0.5) - math.log(math.pi)
             - math.lgamma(total + 1))
    return -log_p / math.log(2)


def _context_bits(flags: np.ndarray, contexts: np.ndarray | None = None) -> float:
    if flags.size == 0:
        return 0.0
    if contexts is None:
        return _kt_bits(int(flags.sum()), int(flags.size))
    total = 0.0
    for ctx in np.unique(contexts):
        chosen = flags[contexts == ctx]
        total += _kt_bits(int(chosen.sum()), int(chosen.size))
    return total


def estimate_bits(levels: np.ndarray, dq: bool = False) -> float:
    """Estimated coded size in bits of integer `levels` (row-major order), order-0 adaptive.

    `dq`: the levels are dependent-quantization levels (contexts split by trellis state).
    """
    flat = np.asarray(levels).reshape(-1).astype(np.int64)
    if flat.size == 0:
        return 0.0
    previous = np.concatenate(([0], flat[:-1]))
    sig_ctx = np.sign(previous) + 1
    if dq:
        sig_ctx = sig_ctx + 3 * (dependent_states(flat) & 1)
    significant = flat != 0
    bits = _context_bits(significant, sig_ctx)
    magnitude = np.abs(flat[significant])
    bits += _context_bits(flat[significant] < 0)
    for x in range(1, GTX_FLAGS + 1):
        reached = magnitude[magnitude >= x]
        if reached.size == 0:
            break
        bits += _context_bits(reached > x)
    rest = magnitude[magnitude > GTX_FLAGS] - GTX_FLAGS - 1
    if rest.size:
        bits += float(np.sum(2 * np.floor(np.log2(rest + 1.0)) + 1))
    return float(bits)


class CoderRate:
    """The real entropy coder's rate: 8 x the length of `host.coder.encode_levels`'s payload.

    Results are cached by content (the search asks for the same levels many times). Levels
    the coder cannot take (|level| > host.coder.MAX_ABS, e.g. large int32 biases) are counted
    as the container's raw int32 codec: 32 bits each.
    Raises `ImportError` at construction when the coder extension is not built.
    """

    def __init__(self, cache_size: int = 8192) -> None:
        from host import coder  # noqa: PLC0415 (compiled extension)

        self._coder = coder
        self._cache: dict[tuple, float] = {}
        self._cache_size = cache_size

    def __call__(self, levels: np.ndarray, dq: bool = False) -> float:
        arr = np.asarray(levels)
        if arr.size == 0:
            return 0.0
        if arr.dtype.kind not in "iub":
            raise ValueError(f"levels must be integers, got {arr.dtype}")
        wide = np.ascontiguousarray(arr, dtype=np.int64)
        key = (hashlib.blake2b(wide.tobytes(), digest_size=16).digest(), arr.shape, bool(dq))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if int(np.abs(wide).max()) > self._coder.MAX_ABS:
            bits = 32.0 * arr.size
        else:
            bits = 8.0 * len(self._coder.encode_levels(wide.astype(np.int32), dq=dq))
        if len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = bits
        return bits


_SHARED_RATE: CoderRate | None = None


def coder_rate() -> RateFn:
    """The real entropy coder's rate (one shared, cached `CoderRate` per process).

    Raises `ImportError` when the coder is not built into this installation.
    """
    global _SHARED_RATE  # noqa: PLW0603 (one cache per process)
    if _SHARED_RATE is None:
        _SHARED_RATE = CoderRate()
    return _SHARED_RATE


def default_rate(levels: np.ndarray, dq: bool = False) -> float:
    """The rate every pass uses unless told otherwise: the real coder's, cached."""
    return coder_rate()(levels, dq)


# Side information (docs/compression.md, "Sizes"): what the container (docs/bitstream.md)
# spends per tensor besides the coded levels, counted conservatively.
DIRECTORY_BYTES = 16         # one tensor directory entry
TENSOR_INFO_BYTES = 8        # a bias's CBOR tensor_info: its dtype and shape (engine.bias_bytes)
ENCODING_BYTES = 4           # quantizer kind, bits, step or zero_index
ZERO_POINT_BYTES = 1         # a CBOR small integer
ACTIVATION_PARAMS_BYTES = 9  # an activation's "q": its float32 scale ("s", 7) and zero point ("z", 2)


def cbor_float_bytes(value: float) -> int:
    """Bytes of one float in deterministic CBOR: 3 (exact in float16), 5 (float32) or 9."""
    v = float(value)
    if math.isfinite(v) and float(np.float16(v)) == v:
        return 3
    if float(np.float32(v)) == v:
        return 5
    return 9


# Compact scales (docs/bitstream.md section 4): per tensor one exponent x and a byte m_k per
# channel, scale_k = m_k * 2**x. A scale may be rounded up by at most 1 / STORABLE_MIN_MANTISSA.
STORABLE_MIN_MANTISSA = 8


def storable_scales(scales: np.ndarray) -> np.ndarray:
    """Per-channel scales rounded UP to the container's compact grid m_k * 2**x (1 byte each
    instead of 4), x shared by the tensor and set by its largest scale (m in 128..255 there).
    Rounding up never clips a weight the unrounded scale covered; a channel costs at most
    1 / STORABLE_MIN_MANTISSA of its range. When a channel would lose more (a tensor whose scales
    span more than ~32x) or the grid's exponent is out of range, the float32 scales come back
    unchanged (stored exactly, 4 bytes each)."""
    s = np.asarray(scales, dtype=np.float32)
    if s.size < 2 or not np.all(np.isfinite(s)) or not np.all(s > 0):
        return s
    x = int(np.floor(np.log2(float(s.max())))) - 7
    if not -126 <= x <= 120:
        return s
    unit = math.ldexp(1.0, x)
    m = np.ceil(s.astype(np.float64) / unit)
    if m.max() > 255 or np.any((m < STORABLE_MIN_MANTISSA) & (m * unit != s)):
        return s
    return (m * unit).astype(np.float32)


def weight_payload_bits(tensor: Tensor, rate: RateFn | None = None) -> float:
    """Coded bits of a constant tensor's values: its levels when encoded, else its integers.

    Float constants count 32 bits per element (they are not coded).
    """
    rate = rate or default_rate
    enc = tensor.encoding
    if enc is not None:
        return rate(enc.levels, isinstance(enc, DependentLevels))
    if tensor.dtype.is_float:
        return 32.0 * tensor.size
    return rate(tensor.data, False)


def side_bytes(tensor: Tensor) -> int:
    """Container bytes of a constant tensor besides its payload: its directory entry and its
    tensor_info exactly as the compact build writes it (shape, dtype, quantization, encoding,
    codebook). A bias whose scales derive from its op (scale = s_in * s_w) is written without
    quantization; this counts its scales anyway (the caller cannot tell), an upper bound."""
    from host.container import cbor, keys  # noqa: PLC0415
    from host.container.layout import LevelDtype  # noqa: PLC0415
    from host.container.metadata import TensorInfo  # noqa: PLC0415
    from host.model_format.pack import level_encoding, shared_quantization  # noqa: PLC0415

    dtype = {"int8": LevelDtype.INT8, "int16": LevelDtype.INT16}.get(tensor.dtype.value, LevelDtype.INT32)
    quantization = None if dtype is LevelDtype.INT32 else shared_quantization(tensor.quantization)
    info = TensorInfo("", tuple(int(d) for d in tensor.shape), dtype, quantization,
                      None if tensor.encoding is None else level_encoding(tensor.encoding))
    return DIRECTORY_BYTES + len(cbor.encode(keys.tensor_info_to_integers(info.to_plain())))


def tensor_bytes(tensor: Tensor, rate: RateFn | None = None) -> float:
    """Container bytes of one constant tensor: its payload (padded to 4 bytes) plus side information."""
    payload = math.ceil(weight_payload_bits(tensor, rate) / 8.0)
    return float(payload + (-payload) % 4 + side_bytes(tensor))


@dataclass(frozen=True)
class SizeEstimate:
    """Estimated bytes of a graph's constants and of its activation quantization parameters."""

    constants: float
    activation_params: float

    @property
    def total(self) -> float:
        return self.constants + self.activation_params


def graph_bytes(graph: Graph, rate: RateFn | None = None) -> SizeEstimate:
    """Container bytes of `graph`'s constants (payloads and side information) and of its
    activation quantization parameters; the graph structure (ops, names) is not counted."""
    constants = 0.0
    activations = 0.0
    for tensor in graph.tensors:
        if tensor.is_constant:
            if tensor.dtype.value in ("int32", "int64") and tensor.quantization is None:
                constants += 4 * tensor.size  # shape and axis operands: stored raw
            else:
                constants += tensor_bytes(tensor, rate)
        elif tensor.quantization is not None:
            activations += ACTIVATION_PARAMS_BYTES
    return SizeEstimate(constants, activations)


def parameter_count(graph: Graph) -> int:
    """Number of weight and bias elements (constants feeding CONV/DEPTHWISE/FC/ADD/MUL ops)."""
    seen: set[int] = set()
    for op in graph.ops:
        for position, index in enumerate(op.inputs):
            if index >= 0 and graph.tensors[index].is_constant and not (
                    op.kind.value in ("RESHAPE", "PAD", "MEAN") and position == 1):
                seen.add(index)
    return sum(graph.tensors[i].size for i in seen)


def float32_bytes(graph: Graph) -> int:
    """Bytes of the graph's parameters stored as float32: the baseline of compression ratios."""
    return 4 * parameter_count(graph)


__all__ = [
    "GTX_FLAGS", "RateFn", "estimate_bits", "CoderRate", "coder_rate", "default_rate", "side_bytes",
    "storable_scales", "cbor_float_bytes", "tensor_bytes", "weight_payload_bits", "tensor_bytes",
    "SizeEstimate", "graph_bytes", "parameter_count", "float32_bytes",
]
