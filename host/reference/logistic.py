"""LOGISTIC: int8 (TFLite reference_integer_ops::Logistic, gemmlowp fixed point), float32.

d = x - input_zero_point; |d| >= radius saturates to -128 / 127; otherwise
q = MultiplyByQuantizedMultiplier(d, M, left_shift) as Q4.27,
out = clamp(RoundingDivideByPOT(gemmlowp::logistic(q), 23) - 128),
with M * 2**left_shift = input_scale * 2**27 and radius = CalculateInputRadius(4, left_shift).
Output scale 1/256, zero point -128.
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, scale_zero
from host.reference.fixed_point import (
    calculate_input_radius, logistic, multiply_by_quantized_multiplier, quantize_multiplier_scalar,
    rounding_divide_by_pot,
)

INPUT_INTEGER_BITS = 4


def logistic_params(input_scale) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, input_range_radius) as TFLite's Prepare computes them."""
    real = np.float64(input_scale) * float(1 << (31 - INPUT_INTEGER_BITS))
    multiplier, shift = quantize_multiplier_scalar(real)
    return multiplier, shift, calculate_input_radius(INPUT_INTEGER_BITS, shift, 31)


def evaluate(ctx: OpContext) -> np.ndarray:
    x = ctx.value(0)
    if ctx.output.dtype.value != "int8":
        return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)
    in_scale, in_zero = scale_zero(ctx.tensor(0))
    multiplier, shift, radius = logistic_params(in_scale)
    d = x.astype(np.int64) - in_zero
    q = multiply_by_quantized_multiplier(d, multiplier, shift)
    out = rounding_divide_by_pot(logistic(q, INPUT_INTEGER_BITS), 31 - 8) - 128
    out = np.clip(out, -128, 127)
    out = np.where(d <= -radius, -128, np.where(d >= radius, 127, out))
    return out.astype(np.int8)
