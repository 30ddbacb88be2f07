"""RELU and RELU6: int8 (TFLite QuantizedReluX), float32.

out = clamp(z_o + MultiplyByQuantizedMultiplier(x - z_i, M, shift), lo, hi) with
M * 2**shift = double(s_i / s_o) (a float quotient), lo = max(-128, z_o + round(0 / s_o)),
hi = 127 (RELU) or min(127, z_o + round(6 / s_o)) (RELU6), rounding as roundf.
"""
from __future__ import annotations

import numpy as np

from host.graph import OpKind
from host.reference.common import OpContext, scale_zero
from host.reference.fixed_point import (
    multiply_by_quantized_multiplier, quantize_multiplier_scalar, round_half_away,
)


def evaluate(ctx: OpContext) -> np.ndarray:
    x = ctx.value(0)
    six = ctx.op.kind is OpKind.RELU6
    if ctx.output.dtype.value != "int8":
        return np.clip(x, 0, 6 if six else None).astype(np.float32)
    in_scale, in_zero = scale_zero(ctx.tensor(0))
    out_scale, out_zero = scale_zero(ctx.output)
    multiplier = quantize_multiplier_scalar(np.float64(np.float32(in_scale / out_scale)))
    low = max(-128, out_zero + int(round_half_away(np.float32(0.0) / out_scale)))
    high = min(127, out_zero + int(round_half_away(np.float32(6.0) / out_scale))) if six else 127
    out = out_zero + multiply_by_quantized_multiplier(x.astype(np.int64) - in_zero, *multiplier)
    return np.clip(out, low, high).astype(np.int8)
