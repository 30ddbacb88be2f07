"""QUANTIZE: float32 -> int8 (TFLite AffineQuantize) or int8 -> int8 (Requantize).

float: q = clamp(round(x / scale) + zero_point), the division in float32, rounding half away
from zero. int8: q = clamp(MultiplyByQuantizedMultiplier(x - z_i, M, shift) + z_o) with
M * 2**shift = double(s_i) / double(s_o).
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, scale_zero
from host.reference.fixed_point import (
    multiply_by_quantized_multiplier, quantize_multiplier_scalar, round_half_away,
)


def quantize_float(x: np.ndarray, scale, zero_point: int) -> np.ndarray:
    """float32 values -> int8 with TFLite's AffineQuantize arithmetic."""
    q = round_half_away(x.astype(np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def evaluate(ctx: OpContext) -> np.ndarray:
    x = ctx.value(0)
    out_scale, out_zero = scale_zero(ctx.output)
    if x.dtype == np.int8:
        in_scale, in_zero = scale_zero(ctx.tensor(0))
        multiplier = quantize_multiplier_scalar(np.float64(in_scale) / np.float64(out_scale))
        out = multiply_by_quantized_multiplier(x.astype(np.int64) - in_zero, *multiplier) + out_zero
        return np.clip(out, -128, 127).astype(np.int8)
    return quantize_float(x, out_scale, out_zero)
