"""ADD: int8 with broadcasting (TFLite reference_integer_ops::Add / BroadcastAdd), float32.

Both inputs are brought to a common scale 2 * max(s1, s2) with 20 bits of headroom:
  a_i = MultiplyByQuantizedMultiplierSmallerThanOneExp((x_i - z_i) << 20, M_i, shift_i)
  out = clamp(MultiplyByQuantizedMultiplierSmallerThanOneExp(a_1 + a_2, M_o, shift_o) + z_o)
with M_i = s_i / (2 * max(s1, s2)) and M_o = 2 * max(s1, s2) / (2**20 * s_o).
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, activation_float, activation_range_int8, scale_zero
from host.reference.fixed_point import multiply_by_quantized_multiplier, quantize_multiplier_scalar

LEFT_SHIFT = 20


def evaluate(ctx: OpContext) -> np.ndarray:
    a, b = ctx.value(0), ctx.value(1)
    activation = ctx.op.options.activation
    if ctx.output.dtype.value != "int8":
        return activation_float(activation, (a.astype(np.float32) + b.astype(np.float32)))
    s1, z1 = scale_zero(ctx.tensor(0))
    s2, z2 = scale_zero(ctx.tensor(1))
    so, zo = scale_zero(ctx.output)
    twice_max = np.float64(np.float32(2) * max(s1, s2))
    m1 = quantize_multiplier_scalar(np.float64(s1) / twice_max)
    m2 = quantize_multiplier_scalar(np.float64(s2) / twice_max)
    mo = quantize_multiplier_scalar(twice_max / np.float64(np.float32(1 << LEFT_SHIFT) * so))
    a1 = multiply_by_quantized_multiplier((a.astype(np.int64) - z1) << LEFT_SHIFT, *m1)
    a2 = multiply_by_quantized_multiplier((b.astype(np.int64) - z2) << LEFT_SHIFT, *m2)
    raw = multiply_by_quantized_multiplier(a1 + a2, *mo) + zo
    low, high = activation_range_int8(activation, ctx.output)
    return np.clip(raw, low, high).astype(np.int8)
