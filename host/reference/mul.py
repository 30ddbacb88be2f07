"""MUL: int8 with broadcasting (TFLite reference_integer_ops::Mul), float32.

out = clamp(MultiplyByQuantizedMultiplier((x1 - z1) * (x2 - z2), M, shift) + z_o),
M * 2**shift = double(s1) * double(s2) / double(s_o).
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, activation_float, activation_range_int8, scale_zero
from host.reference.fixed_point import multiply_by_quantized_multiplier, quantize_multiplier_scalar


def evaluate(ctx: OpContext) -> np.ndarray:
    a, b = ctx.value(0), ctx.value(1)
    activation = ctx.op.options.activation
    if ctx.output.dtype.value != "int8":
        return activation_float(activation, (a.astype(np.float32) * b.astype(np.float32)))
    s1, z1 = scale_zero(ctx.tensor(0))
    s2, z2 = scale_zero(ctx.tensor(1))
    so, zo = scale_zero(ctx.output)
    multiplier = quantize_multiplier_scalar(np.float64(s1) * np.float64(s2) / np.float64(so))
    product = (a.astype(np.int64) - z1) * (b.astype(np.int64) - z2)
    raw = multiply_by_quantized_multiplier(product, *multiplier) + zo
    low, high = activation_range_int8(activation, ctx.output)
    return np.clip(raw, low, high).astype(np.int8)
