"""Rate estimates: how many bits the entropy coder will spend on a tensor's levels.

`estimate_bits` models a DeepCABAC-style binarization (MPEG NNC, ISO/IEC 15938-17): per
level a significance flag (context: the previous level zero, positive or negative; with
dependent quantization also the quantizer of the trellis state), a sign flag, up to
`GTX_FLAGS` "absolute value greater than x" flags (one context each) and an Exp-Golomb
(order 0) remainder in bypass bins. Each context is an adaptive binary model; its cost is the
Krichevsky-Trofimov code length of its counts, which does not depend on the bin order:
    L(n0, n1) = -log2( Gamma(n0 + 1/2) Gamma(n1 + 1/2) / (pi Gamma(n0 + n1 + 1)) ).
The real coder (host.coder) plugs in through `RateFn`: every pass takes a `rate` argument.
"""
from __future__ import annotations

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


def coder_rate() -> RateFn:
    """The real entropy coder's rate (8 x its output length), once `host.coder` exists.

    Raises `ImportError` when the coder is not built into this installation.
    """
    from host.coder import encode_levels  # noqa: PLC0415 (optional part)

    def bits(levels: np.ndarray, dq: bool = False) -> float:
        return 8.0 * len(encode_levels(np.asarray(levels), dq=dq))

    return bits


# Bytes of side information the container carries per item (docs/compression.md, "Size").
SCALE_BYTES = 4
TENSOR_HEADER_BYTES = 4
ACTIVATION_PARAMS_BYTES = 5


def weight_payload_bits(tensor: Tensor, rate: RateFn = estimate_bits) -> float:
    """Coded bits of a constant tensor's values: its levels when encoded, else its integers.

    Float constants count 32 bits per element (they are not coded).
    """
    enc = tensor.encoding
    if enc is not None:
        return rate(enc.levels, isinstance(enc, DependentLevels))
    if tensor.dtype.is_float:
        return 32.0 * tensor.size
    return rate(tensor.data, False)


def tensor_bytes(tensor: Tensor, rate: RateFn = estimate_bits) -> float:
    """Estimated container bytes of one constant tensor: payload plus its side information."""
    side = TENSOR_HEADER_BYTES
    q = tensor.quantization
    if q is not None and q.per_channel and tensor.dtype.value == "int8":
        side += SCALE_BYTES * q.scale.size
    elif q is not None and tensor.dtype.value == "int8":
        side += SCALE_BYTES
    if isinstance(tensor.encoding, CodebookLevels):
        side += tensor.encoding.codebook.size
    return weight_payload_bits(tensor, rate) / 8.0 + side


@dataclass(frozen=True)
class SizeEstimate:
    """Estimated bytes of a graph's constants and of its activation quantization parameters."""

    constants: float
    activation_params: float

    @property
    def total(self) -> float:
        return self.constants + self.activation_params


def graph_bytes(graph: Graph, rate: RateFn = estimate_bits) -> SizeEstimate:
    """Estimated container payload of `graph` (graph structure itself not counted)."""
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
    "GTX_FLAGS", "RateFn", "estimate_bits", "coder_rate", "weight_payload_bits", "tensor_bytes",
    "SizeEstimate", "graph_bytes", "parameter_count", "float32_bytes",
]
