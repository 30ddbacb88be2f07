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


def _signed32(mask: int) -> int:
    """A 32-bit channel mask as the signed decimal the firmware parses; ValueError outside 32 bits."""
    if not 0 <= mask < 2**32:
        raise ValueError("zero_mask must be a 32-bit mask")
    return mask - 2**32 if mask >= 2**31 else mask


@dataclass(frozen=True)
class ConvCase:
    """A CONV_2D case: input [n, h, w, c], filter [cout, kh, kw, fc] (groups = c / fc).

    zero_mask: output channel oc's filter is all zero (a pruned channel) when bit oc % 32 is set.
    """

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
    zero_mask: int = 0

    @property
    def outputs(self) -> int:
        return self.n * self.out_hw[0] * self.out_hw[1] * self.cout

    @property
    def macs(self) -> int:
        return self.outputs * self.kh * self.kw * self.fc

    def command(self) -> str:
        fields = [self.seed, self.n, self.h, self.w, self.c, self.kh, self.kw, self.fc, self.cout, *self.stride,
                  *self.dilation, *self.pad, *self.out_hw, self.input_offset, self.output_offset, *self.act,
                  self.rounding, *self.shift_range, self.mult_mode, self.bias_bits, self.scratch_delta,
                  _signed32(self.zero_mask)]
        return "kcheck conv " + " ".join(str(int(v)) for v in fields)


@dataclass(frozen=True)
class DepthwiseCase:
    """A DEPTHWISE_CONV_2D case: input [n, h, w, c], filter [1, kh, kw, c * dm] (zero_mask as ConvCase's)."""

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
    zero_mask: int = 0

    @property
    def outputs(self) -> int:
        return self.n * self.out_hw[0] * self.out_hw[1] * self.c * self.dm

    @property
    def macs(self) -> int:
        return self.outputs * self.kh * self.kw

    def command(self) -> str:
        fields = [self.seed, self.n, self.h, self.w, self.c, self.kh, self.kw, self.dm, *self.stride,
                  *self.dilation, *self.pad, *self.out_hw, self.input_offset, self.output_offset, *self.act,
                  self.rounding, *self.shift_range, self.mult_mode, self.bias_bits, self.scratch_delta,
                  _signed32(self.zero_mask)]
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
    mask = getattr(case, "zero_mask", 0)
    if mask:
        f = f.copy()
        per_channel = f.size // channels
        oc = np.arange(f.size) % channels if isinstance(case, DepthwiseCase) else np.arange(f.size) // per_channel
        f[((mask >> (oc % 32)) & 1).astype(bool)] = 0
    return CaseTensors(x, f, bias, mult, shifts)


def crc32(data: bytes) -> int:
    """CRC-32 (IEEE), as the firmware's reply reports it."""
    import zlib

    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class LayerCase:
    """One CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED layer of a model as a kcheck case."""

    model: str
    op_index: int
    kind: str
    case: Case


def _round_half_away(x: np.float32) -> int:
    t = np.trunc(x)
    if abs(x - t) >= np.float32(0.5):
        t += np.sign(x)
    return int(t)


def _activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 (float32 division, std::round)."""
    q = lambda f: zero_point + _round_half_away(np.float32(f) / np.float32(scale))
    lo, hi = -128, 127
    if activation == "RELU":
        lo = max(lo, q(0.0))
    elif activation == "RELU6":
        lo, hi = max(lo, q(0.0)), min(hi, q(6.0))
    elif activation == "RELU_N1_TO_1":
        lo, hi = max(lo, q(-1.0)), min(hi, q(1.0))
    return lo, hi


def _padding(same: bool, size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """(output size, top/left pad) as TFLite's ComputePaddingHeightWidth."""
    eff = (k - 1) * dilation + 1
    out = (size + stride - 1) // stride if same else (size - eff + stride) // stride
    return out, max((out - 1) * stride + eff - size, 0) // 2


def model_layer_cases(path, seed: int = 1) -> list[LayerCase]:
    """Every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED layer of the .tflite model at `path`.

    Shapes, strides, padding, dilation, zero points, activation ranges and the range of the
    per-channel shifts are the layer's (shifts from TFLite's QuantizeMultiplier of
    s_in * s_w[k] / s_out); the data, multipliers within that shift range and biases of the
    layer's bit width come from `seed`. Conv and depthwise round DOUBLE, fully connected SINGLE
    (the device semantics, docs/kernels.md). Raises ModelError (host.tflite) for a bad model.
    """
    from pathlib import Path

    from host import _kernels
    from host.graph.ops import OpKind, Padding
    from host.tflite import read_model

    graph = read_model(Path(path))
    name = Path(path).stem
    cases: list[LayerCase] = []
    for index, op in enumerate(graph.ops):
        if op.kind not in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED):
            continue
        x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
        b = graph.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        y = graph.tensor(op.outputs[0])
        s_in, zp_in = x.quantization.single()
        s_out, zp_out = y.quantization.single()
        shifts = [_kernels.quantize_multiplier(float(s_in) * float(sw) / float(s_out))[1]
                  for sw in w.quantization.scale]
        bias_bits = 0 if b is None else int(np.abs(b.data.astype(np.int64)).max()).bit_length() + 1
        common = dict(seed=seed + index, input_offset=-zp_in, output_offset=zp_out,
                      act=_activation_range(op.options.activation.value, s_out, zp_out),
                      shift_range=(min(shifts), max(shifts)), bias_bits=min(bias_bits, 32))
        if op.kind is OpKind.FULLY_CONNECTED:
            depth = w.shape[1]
            case: Case = FullyConnectedCase(batches=x.size // depth, depth=depth, units=w.shape[0],
                                            filter_offset=0, rounding=ROUNDING_SINGLE,
                                            per_channel=w.quantization.per_channel, **common)
        else:
            o = op.options
            n, h, wd, c = (1,) * (4 - len(x.shape)) + tuple(x.shape)
            kh, kw = w.shape[1], w.shape[2]
            same = o.padding is Padding.SAME
            oh, ph = _padding(same, h, kh, o.stride_h, o.dilation_h)
            ow, pw = _padding(same, wd, kw, o.stride_w, o.dilation_w)
            geo = dict(n=n, h=h, w=wd, c=c, kh=kh, kw=kw, stride=(o.stride_h, o.stride_w),
                       dilation=(o.dilation_h, o.dilation_w), pad=(ph, pw), out_hw=(oh, ow),
                       rounding=ROUNDING_DOUBLE)
            if op.kind is OpKind.CONV_2D:
                case = ConvCase(fc=w.shape[3], cout=w.shape[0], **geo, **common)
            else:
                case = DepthwiseCase(dm=o.depth_multiplier, **geo, **common)
        cases.append(LayerCase(name, index, op.kind.value, case))
    return cases
