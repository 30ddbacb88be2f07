"""The firmware's `kcheck` command: a board's int8 kernels against the reference kernels, on the board.

A case (ConvCase, DepthwiseCase, FullyConnectedCase) is a layer's shapes and quantization
parameters plus a seed; the firmware generates the tensors from the seed (firmware/app/kernel_check.h),
runs the reference kernel and the kernel built into the image on them, and answers with both statuses
and the first mismatch (KcheckReply). `generate_tensors` reproduces the firmware's generator, so a
host can run the same case through `host._kernels`. QEMU boards count the instructions of each call
in profiling regions REF_REGION and OPT_REGION.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from dcagent.errors import BoardError

#: Profiling regions of the reference and the board's kernel (firmware/app/kernel_check.h).
REF_REGION = 250
OPT_REGION = 251

ROUNDING_DOUBLE, ROUNDING_SINGLE, ROUNDING_HALF_UP = 0, 1, 2


@dataclass(frozen=True)
class ConvCase:
    """A CONV_2D case: input [n, h, w, c], filter [cout, kh, kw, fc] (groups = c / fc)."""

    seed: int
    n: int
    h: int
    w: int
    c: int
    kh: int
    kw: int
    fc: int
    cout: int
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    out_hw: tuple[int, int] = (1, 1)
    input_offset: int = 0
    output_offset: int = 0
    act: tuple[int, int] = (-128, 127)
    rounding: int = ROUNDING_DOUBLE
    shift_range: tuple[int, int] = (-8, -8)
    mult_mode: int = 0
    bias_bits: int = 16
    scratch_delta: int = 0

    @property
    def outputs(self) -> int:
        return self.n * self.out_hw[0] * self.out_hw[1] * self.cout

    @property
    def macs(self) -> int:
        return self.outputs * self.kh * self.kw * self.fc

    def command(self) -> str:
        fields = [self.seed, self.n, self.h, self.w, self.c, self.kh, self.kw, self.fc, self.cout, *self.stride,
                  *self.dilation, *self.pad, *self.out_hw, self.input_offset, self.output_offset, *self.act,
                  self.rounding, *self.shift_range, self.mult_mode, self.bias_bits, self.scratch_delta]
        return "kcheck conv " + " ".join(str(int(v)) for v in fields)


@dataclass(frozen=True)
class DepthwiseCase:
    """A DEPTHWISE_CONV_2D case: input [n, h, w, c], filter [1, kh, kw, c * dm]."""

    seed: int
    n: int
    h: int
    w: int
    c: int
    kh: int
    kw: int
    dm: int = 1
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    out_hw: tuple[int, int] = (1, 1)
    input_offset: int = 0
    output_offset: int = 0
    act: tuple[int, int] = (-128, 127)
    rounding: int = ROUNDING_DOUBLE
    shift_range: tuple[int, int] = (-8, -8)
    mult_mode: int = 0
    bias_bits: int = 16
    scratch_delta: int = 0

    @property
    def outputs(self) -> int:
        return self.n * self.out_hw[0] * self.out_hw[1] * self.c * self.dm

    @property
    def macs(self) -> int:
        return self.outputs * self.kh * self.kw

    def command(self) -> str:
        fields = [self.seed, self.n, self.h, self.w, self.c, self.kh, self.kw, self.dm, *self.stride,
                  *self.dilation, *self.pad, *self.out_hw, self.input_offset, self.output_offset, *self.act,
                  self.rounding, *self.shift_range, self.mult_mode, self.bias_bits, self.scratch_delta]
        return "kcheck dw " + " ".join(str(int(v)) for v in fields)


@dataclass(frozen=True)
class FullyConnectedCase:
    """A FULLY_CONNECTED case: input [batches, depth], filter [units, depth]."""

    seed: int
    batches: int
    depth: int
    units: int
    input_offset: int = 0
    filter_offset: int = 0
    output_offset: int = 0
    act: tuple[int, int] = (-128, 127)
    rounding: int = ROUNDING_SINGLE
    per_channel: bool = False
    shift_range: tuple[int, int] = (-8, -8)
    mult_mode: int = 0
    bias_bits: int = 16

    @property
    def outputs(self) -> int:
        return self.batches * self.units

    @property
    def macs(self) -> int:
        return self.outputs * self.depth

    def command(self) -> str:
        fields = [self.seed, self.batches, self.depth, self.units, self.input_offset, self.filter_offset,
                  self.output_offset, *self.act, self.rounding, int(self.per_channel), *self.shift_range,
                  self.mult_mode, self.bias_bits]
        return "kcheck fc " + " ".join(str(int(v)) for v in fields)


Case = ConvCase | DepthwiseCase | FullyConnectedCase

_REPLY = re.compile(
    r"kcheck ref=(\S+) opt=(\S+) outputs=(\d+) mismatches=(\d+) first=(-?\d+) ref_value=(-?\d+) "
    r"opt_value=(-?\d+) overrun=([01]) crc=0x([0-9a-f]{8})$")


@dataclass(frozen=True)
class KcheckReply:
    """The firmware's answer: both statuses, the comparison, the CRC-32 of the reference output."""

    ref_status: str
    opt_status: str
    outputs: int
    mismatches: int
    first: int
    ref_value: int
    opt_value: int
    overrun: bool
    crc: int

    @property
    def equal(self) -> bool:
        """Same status, every output equal, nothing written past the output."""
        return self.ref_status == self.opt_status and self.mismatches == 0 and not self.overrun

    def describe(self) -> str:
        if self.ref_status != self.opt_status:
            return f"status differs: reference {self.ref_status}, optimized {self.opt_status}"
        if self.overrun:
            return "the optimized kernel wrote past its output"
        if self.mismatches:
            return (f"{self.mismatches} of {self.outputs} outputs differ; first at index {self.first}: "
                    f"reference {self.ref_value}, optimized {self.opt_value}")
        return f"equal ({self.outputs} outputs, {self.ref_status})"


def parse_reply(line: str) -> KcheckReply:
    """Parse a `kcheck` answer line. Raises BoardError for an error line or anything else."""
    match = _REPLY.match(line.strip())
    if match is None:
        raise BoardError(f"unexpected kcheck answer: {line.strip()!r}")
    g = match.groups()
    return KcheckReply(g[0], g[1], int(g[2]), int(g[3]), int(g[4]), int(g[5]), int(g[6]), g[7] == "1", int(g[8], 16))


class _Xorshift32:
    """The firmware's generator (kernel_check.c rng_next)."""

    def __init__(self, seed: int) -> None:
        if not 0 < seed < 2**31:
            raise ValueError("seed must be in [1, 2^31)")
        self.state = seed

    def words(self, count: int) -> np.ndarray:
        out = np.empty(count, dtype=np.uint32)
        x = self.state
        for i in range(count):
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            out[i] = x
        self.state = x
        return out


@dataclass(frozen=True)
class CaseTensors:
    """The tensors the firmware generates for a case (bias None when bias_bits is 0)."""

    input: np.ndarray
    filter: np.ndarray
    bias: np.ndarray | None
    multipliers: np.ndarray
    shifts: np.ndarray


def _quant(rng: _Xorshift32, channels: int, case: Case) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = case.shift_range
    words = rng.words(2 * channels).astype(np.int64)
    m, s = words[0::2], words[1::2]
    mult = np.full(channels, 1 << 30) if case.mult_mode == 1 else (1 << 30) | (m >> 2)
    shifts = lo + s % (hi - lo + 1)
    return mult.astype(np.int32), shifts.astype(np.int32)


def generate_tensors(case: Case) -> CaseTensors:
    """The input, filter, bias, multipliers and shifts the firmware derives from `case.seed`."""
    rng = _Xorshift32(case.seed)
    s8 = lambda count: (rng.words(count) >> 24).astype(np.uint8).view(np.int8)
    if isinstance(case, FullyConnectedCase):
        x = s8(case.batches * case.depth)
        f = s8(case.units * case.depth)
        channels, bias_count = (case.units if case.per_channel else 1), case.units
    elif isinstance(case, DepthwiseCase):
        x = s8(case.n * case.h * case.w * case.c)
        f = s8(case.kh * case.kw * case.c * case.dm)
        channels = bias_count = case.c * case.dm
    else:
        x = s8(case.n * case.h * case.w * case.c)
        f = s8(case.cout * case.kh * case.kw * case.fc)
        channels = bias_count = case.cout
    bias = None
    if case.bias_bits > 0:
        bias = (rng.words(bias_count).view(np.int32) >> (32 - case.bias_bits)).astype(np.int32)
    mult, shifts = _quant(rng, channels, case)
    return CaseTensors(x, f, bias, mult, shifts)


def crc32(data: bytes) -> int:
    """CRC-32 (IEEE), as the firmware's reply reports it."""
    import zlib

    return zlib.crc32(data) & 0xFFFFFFFF
