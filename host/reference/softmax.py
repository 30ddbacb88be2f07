"""SOFTMAX over the last axis: int8 (TFLite reference_ops::Softmax, gemmlowp fixed point), float32.

int8 (output scale 1/256, zero point -128):
  d = x - max(row); terms with d < diff_min are 0;
  e = exp_on_negative_values(MultiplyByQuantizedMultiplierGreaterThanOne(d, M, left_shift))  (Q5.26 in, Q0.31 out)
  sum = sum of Rescale<12>(e);  1/sum by GetReciprocal (Newton-Raphson)
  out = clamp(RoundingDivideByPOT(SRDHM(1/sum, e), num_bits_over_unit + 23) - 128)
with M * 2**left_shift = min(beta * input_scale * 2**26, 2**31 - 1) and
diff_min = -CalculateInputRadius(5, left_shift).
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, scale_zero
from host.reference.fixed_point import (
    INT32_MAX, calculate_input_radius, exp_on_negative_values, get_reciprocal,
    quantize_multiplier_scalar, rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
    wrap_int32,
)

SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12


def softmax_params(beta: float, input_scale) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) of TFLite's PreprocessSoftmaxScaling."""
    real = min(np.float64(beta) * np.float64(input_scale) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               float((1 << 31) - 1))
    multiplier, shift = quantize_multiplier_scalar(real)
    diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, shift)
    return multiplier, shift, diff_min


def evaluate(ctx: OpContext) -> np.ndarray:
    x = ctx.value(0)
    beta = ctx.op.options.beta
    if ctx.output.dtype.value != "int8":
        z = x.astype(np.float64) * beta
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        return (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)
    multiplier, shift, diff_min = softmax_params(beta, scale_zero(ctx.tensor(0))[0])
    xi = x.astype(np.int64)
    diff = xi - xi.max(axis=-1, keepdims=True)
    used = diff >= diff_min
    # MultiplyByQuantizedMultiplierGreaterThanOne (shift >= 0): SRDHM(d << shift, M).
    rescaled = saturating_rounding_doubling_high_mul(wrap_int32(diff << shift), multiplier)
    exp = exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
    terms = rounding_divide_by_pot(exp, ACCUMULATION_INTEGER_BITS)  # Rescale<12> of a Q0.31
    total = np.where(used, terms, 0).sum(axis=-1, keepdims=True)
    total = np.minimum(total, INT32_MAX)
    reciprocal, bits_over_unit = get_reciprocal(total, ACCUMULATION_INTEGER_BITS)
    out = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(reciprocal, exp),
                                 bits_over_unit + 31 - 8) - 128
    out = np.where(used, np.clip(out, -128, 127), -128)
    return out.astype(np.int8)
