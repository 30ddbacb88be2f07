"""How a compressed constant is stored: integer levels plus the rule that rebuilds its values.

A weight tensor of the compressed graph keeps its int8 values in `Tensor.data` (what the
reference interpreter and the device kernels run) and, in `Tensor.encoding`, the levels the
entropy coder codes and everything the device needs to rebuild exactly those int8 values at
load time. The three rules (docs/compression.md, "Reconstruction"):

- `UniformLevels`:   int8 = level * step
- `CodebookLevels`:  int8 = codebook[level + zero_index]
- `DependentLevels`: int8 = (2*level - sign(level)*(state & 1)) * step, with the 8-state
  machine of MPEG NNC (ISO/IEC 15938-17) run over the levels in row-major order.

Levels are signed, 0 always rebuilds to int8 0 (pruned weights are level 0), and the
per-channel float scale of the int8 weights stays in `Tensor.quantization`.

One rule rebuilds int32 values (the biases of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED):

- `ScaledLevels`:    int32 = level * 2**shift (the bias without its `shift` low bits)
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from host.errors import ModelError

# MPEG NNC's 8-state trellis: next_state = DQ_STATE_TRANSITION[state][level & 1].
DQ_STATE_TRANSITION = np.array(
    [[0, 2], [7, 5], [1, 3], [6, 4], [2, 0], [5, 7], [3, 1], [4, 6]], dtype=np.int8)


class QuantizerKind(enum.Enum):
    """The quantizer that produced a tensor's levels (recorded per tensor, for the report)."""

    UNIFORM = "uniform"
    CODEBOOK = "codebook"
    DEPENDENT = "dependent"
    SCALED = "scaled"


def uniform_max_level(bits: int) -> int:
    """Largest |level| of a `bits`-bit symmetric uniform quantizer: 2**(bits-1) - 1."""
    return (1 << (bits - 1)) - 1


def uniform_step(bits: int) -> int:
    """The int8 step of a `bits`-bit uniform quantizer: floor(127 / max_level)."""
    return 127 // uniform_max_level(bits)


def dependent_step(bits: int) -> int:
    """The int8 step of a `bits`-bit dependent quantizer: floor(127 / (2 * max_level))."""
    return 127 // (2 * uniform_max_level(bits))


@dataclass(eq=False)
class UniformLevels:
    """int8 = level * step, |level| <= 2**(bits-1) - 1; `bits` in 2..8."""

    levels: np.ndarray
    bits: int
    step: int

    kind = QuantizerKind.UNIFORM

    def reconstruct(self) -> np.ndarray:
        return (self.levels.astype(np.int32) * self.step).astype(np.int8)


@dataclass(eq=False)
class CodebookLevels:
    """int8 = codebook[level + zero_index]; codebook[zero_index] == 0, at most 2**bits entries."""

    levels: np.ndarray
    bits: int
    codebook: np.ndarray
    zero_index: int

    kind = QuantizerKind.CODEBOOK

    def reconstruct(self) -> np.ndarray:
        return self.codebook[self.levels.astype(np.int64) + self.zero_index].astype(np.int8)


@dataclass(eq=False)
class DependentLevels:
    """Trellis-coded (dependent) quantization: levels |k| <= 2**(bits-1) - 1, `bits` in 2..7.

    Scanning the levels in row-major order from state 0: value = 2k - sign(k) * (state & 1),
    int8 = value * step, then state = DQ_STATE_TRANSITION[state][k & 1].
    """

    levels: np.ndarray
    bits: int
    step: int

    kind = QuantizerKind.DEPENDENT

    def reconstruct(self) -> np.ndarray:
        flat = self.levels.reshape(-1).astype(np.int64)
        states = dependent_states(flat)
        values = 2 * flat - np.sign(flat) * (states & 1)
        return (values * self.step).astype(np.int8).reshape(self.levels.shape)


def dependent_states(flat_levels: np.ndarray) -> np.ndarray:
    """The trellis state in effect at each level (state 0 before the first)."""
    states = np.empty(flat_levels.size, dtype=np.int64)
    state = 0
    parity = (flat_levels & 1).tolist()
    for i, p in enumerate(parity):
        states[i] = state
        state = DQ_STATE_TRANSITION[state][p]
    return states


WeightEncoding = UniformLevels | CodebookLevels | DependentLevels

#: The largest shift of `ScaledLevels` (docs/bitstream.md section 4.2): levels keep at least 8 bits.
SCALED_MAX_SHIFT = 24


def scaled_level_range(shift: int) -> tuple[int, int]:
    """The levels whose `level * 2**shift` fits int32: -2**(31-shift) .. 2**(31-shift) - 1."""
    return -(1 << (31 - shift)), (1 << (31 - shift)) - 1


@dataclass(eq=False)
class ScaledLevels:
    """int32 = level * 2**shift, `shift` in 1..SCALED_MAX_SHIFT, levels in `scaled_level_range`
    (so the product never leaves int32). A lossy int32 bias: its values are multiples of 2**shift."""

    levels: np.ndarray
    shift: int

    kind = QuantizerKind.SCALED

    @property
    def bits(self) -> int:
        """The width of the level range: two's-complement 32 - shift bits."""
        return 32 - self.shift

    def reconstruct(self) -> np.ndarray:
        return (self.levels.astype(np.int64) * (1 << self.shift)).astype(np.int32)


#: What `Tensor.encoding` may hold: a weight rule (int8 values) or `ScaledLevels` (int32 values).
TensorEncoding = WeightEncoding | ScaledLevels


def _scaled_problems(name: str, data: np.ndarray, encoding: ScaledLevels) -> list[str]:
    levels = encoding.levels
    if data.dtype != np.int32:
        return [f"{name}: rule scaled rebuilds int32 values, the tensor holds {data.dtype}"]
    if not 1 <= encoding.shift <= SCALED_MAX_SHIFT:
        return [f"{name}: shift {encoding.shift} outside 1..{SCALED_MAX_SHIFT}"]
    low, high = scaled_level_range(encoding.shift)
    if levels.size and (int(levels.min()) < low or int(levels.max()) > high):
        return [f"{name}: levels {int(levels.min())}..{int(levels.max())} leave {low}..{high}, "
                f"int32 at shift {encoding.shift}"]
    if not np.array_equal(encoding.reconstruct(), data):
        first = int(np.flatnonzero(encoding.reconstruct().reshape(-1) != data.reshape(-1))[0])
        return [f"{name}: reconstruction differs from the int32 values at flat index {first}"]
    return []


def check_encoding(name: str, data: np.ndarray, encoding: TensorEncoding) -> list[str]:
    """Problems of `encoding` as the stored form of `data` (int8; int32 for `ScaledLevels`;
    empty when consistent)."""
    problems = []
    levels = encoding.levels
    if tuple(levels.shape) != tuple(data.shape):
        return [f"{name}: levels shape {levels.shape} != weights shape {data.shape}"]
    if not np.issubdtype(levels.dtype, np.integer):
        return [f"{name}: levels must be integers, are {levels.dtype}"]
    if isinstance(encoding, ScaledLevels):
        return _scaled_problems(name, data, encoding)
    bits = encoding.bits
    low, high = {UniformLevels: (2, 8), DependentLevels: (2, 7), CodebookLevels: (1, 8)}[type(encoding)]
    if not low <= bits <= high:
        return [f"{name}: {bits} bits outside {low}..{high}"]
    if isinstance(encoding, CodebookLevels):
        book = encoding.codebook
        if not 0 <= encoding.zero_index < book.size or book[encoding.zero_index] != 0:
            return [f"{name}: codebook has no 0 at zero_index {encoding.zero_index}"]
        if book.size > (1 << bits):
            problems.append(f"{name}: {book.size} codebook entries exceed 2**{bits}")
        if levels.size and (levels.min() + encoding.zero_index < 0
                            or levels.max() + encoding.zero_index >= book.size):
            return problems + [f"{name}: levels index outside the codebook"]
    else:
        limit = uniform_max_level(bits)
        reach = limit * (2 if isinstance(encoding, DependentLevels) else 1) * encoding.step
        if levels.size and np.abs(levels).max() > limit:
            problems.append(f"{name}: |level| {int(np.abs(levels).max())} > {limit} at {bits} bits")
        if not 1 <= reach <= 127:
            problems.append(f"{name}: step {encoding.step} reaches {reach}, outside 1..127")
    if problems:
        return problems
    wide = encoding.reconstruct()
    if not np.array_equal(wide, data):
        first = int(np.flatnonzero(wide.reshape(-1) != data.reshape(-1))[0])
        problems.append(f"{name}: reconstruction differs from the int8 weights at flat index {first}")
    return problems


def require_consistent(name: str, data: np.ndarray, encoding: TensorEncoding) -> None:
    """Raise `ModelError` when `encoding` does not rebuild `data` exactly."""
    problems = check_encoding(name, data, encoding)
    if problems:
        raise ModelError("; ".join(problems))
