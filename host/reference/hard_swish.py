"""HARD_SWISH: int8 (TFLite reference_ops::HardSwish, 16-bit fixed point), float32.

x * relu6(x + 3) / 6, computed on int16 values: the input difference is moved to a "hires"
scale (<< 7), multiplied by an int16 output multiplier, and by a "reluish" factor in [0, 1]
obtained by saturating fixed-point arithmetic (see HardSwishPrepare in TFLite activations.cc).
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, scale_zero
from host.reference.fixed_point import quantize_multiplier_scalar

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def _downscale_to_int16(multiplier: int) -> int:
    """TFLite DownScaleInt32ToInt16Multiplier."""
    rounding = 1 << 15
    if multiplier >= (1 << 31) - 1 - rounding:
        return INT16_MAX
    return (multiplier + rounding) >> 16


def _srdhm16(a, b) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul on int16 values."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    total = ab + nudge
    high = np.where(total >= 0, total >> 15, -((-total) >> 15))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, high)


def _sdhm16(a, b) -> np.ndarray:
    """TFLite SaturatingDoublingHighMul on int16 values (truncating)."""
    ab = np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64)
    high = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((np.asarray(a) == INT16_MIN) & (np.asarray(b) == INT16_MIN), INT16_MAX, high)


def _rdbpot(x, exponent: int) -> np.ndarray:
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + ((x & mask) > threshold)


def _saturating_left_shift16(x, amount: int) -> np.ndarray:
    return np.clip(np.asarray(x, dtype=np.int64) << amount, INT16_MIN, INT16_MAX)


def hard_swish_params(input_scale, output_scale) -> tuple[int, int, int, int]:
    """(output_multiplier_int16, output_exponent, reluish_multiplier_int16, reluish_exponent)."""
    hires_input_scale = np.float32(1.0 / 128.0) * np.float32(input_scale)
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    output_multiplier = np.float32(hires_input_scale / np.float32(output_scale))
    out_q, out_exponent = quantize_multiplier_scalar(np.float64(output_multiplier))
    reluish_multiplier = np.float32(hires_input_scale / reluish_scale)
    reluish_q, reluish_exponent = quantize_multiplier_scalar(np.float64(reluish_multiplier))
    return _downscale_to_int16(out_q), out_exponent, _downscale_to_int16(reluish_q), reluish_exponent


def evaluate(ctx: OpContext) -> np.ndarray:
    x = ctx.value(0)
    if ctx.output.dtype.value != "int8":
        xf = x.astype(np.float32)
        return (xf * np.clip(xf + np.float32(3), 0, 6) / np.float32(6)).astype(np.float32)
    in_scale, in_zero = scale_zero(ctx.tensor(0))
    out_scale, out_zero = scale_zero(ctx.output)
    out_m, out_e, relu_m, relu_e = hard_swish_params(in_scale, out_scale)
    if out_e > 0:
        raise ctx.fail("HARD_SWISH output scale too small for the input scale (exponent > 0)")
    value = x.astype(np.int64) - in_zero
    hires = value * 128
    preshift_output = _srdhm16(hires, out_m)
    reluish = hires
    if relu_e > 0:
        reluish = _saturating_left_shift16(reluish, relu_e - 1)
    reluish = _srdhm16(reluish, relu_m)
    if relu_e > 0:
        reluish = _saturating_left_shift16(reluish, 1)
    if relu_e < 0:
        reluish = _rdbpot(reluish, -relu_e)
    reluish = (reluish + (1 << 15)) >> 1
    preshift = _sdhm16(reluish, preshift_output)
    out = _rdbpot(preshift, -out_e) + out_zero
    return np.clip(out, -128, 127).astype(np.int8)
