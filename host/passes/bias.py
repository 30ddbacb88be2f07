"""Lossy int32 biases: the shift k of rule scaled (int32 = level * 2^k) that a layer's output
cannot feel (docs/compression.md, "Biases").

A bias is added to the accumulator, whose unit is s_in * s_w[c]; the op's output is
round(acc * M[c]) with M[c] = s_in * s_w[c] / s_out. Rounding the bias to a multiple of 2^k
moves it by at most 2^(k-1) accumulator units, i.e. at most 2^(k-1) * M[c] output LSBs. The
compressor takes the largest k (up to 24) for which that stays within `BIAS_TOLERANCE_LSB` for
every channel; 0 (store the bias exactly) when not even k = 1 does.
"""
from __future__ import annotations

import math

import numpy as np

from host.graph import SCALED_MAX_SHIFT, ScaledLevels, scaled_level_range

#: The largest change rule scaled may make to a layer's output before its rounding, in output
#: LSBs. A constant shift d moves an output by one LSB only where its pre-rounding value lies
#: within d of a rounding boundary (at most a fraction d of the outputs, all by one LSB) and adds
#: d^2 to the mean squared error of the output's own rounding (1/12 LSB^2): at 1/16 LSB, at most
#: 0.0039, i.e. 4.7 % of it (on average a third of that: the rounding errors spread over
#: [-d, d]).
BIAS_TOLERANCE_LSB = 1.0 / 16.0


def bias_shift(bias_scale: np.ndarray, output_scale: float, tolerance: float = BIAS_TOLERANCE_LSB) -> int:
    """The largest k in 0..SCALED_MAX_SHIFT with 2^(k-1) * max_c(bias_scale[c] / output_scale)
    <= tolerance (k = 0: keep the bias exact). `bias_scale` is the accumulator scale per channel
    (float32 s_in * s_w[c]); the multipliers are taken in double, as the device derives them."""
    scales = np.asarray(bias_scale, dtype=np.float64).reshape(-1)
    if scales.size == 0 or not output_scale > 0:
        return 0
    multiplier = float(scales.max()) / float(output_scale)
    if not math.isfinite(multiplier) or multiplier <= 0.0:
        return 0
    k = math.floor(math.log2(tolerance / multiplier)) + 1
    while k > 0 and math.ldexp(multiplier, k - 1) > tolerance:  # guard log2's last-bit rounding
        k -= 1
    return max(0, min(SCALED_MAX_SHIFT, k))


def scaled_bias(values: np.ndarray, bias_scale: np.ndarray, output_scale: float,
                tolerance: float = BIAS_TOLERANCE_LSB) -> ScaledLevels | None:
    """`values` (int32 bias) rounded to the nearest multiple of 2^k (ties up), k = bias_shift;
    None when k is 0. Levels that would leave int32 (only values within 2^(k-1) of 2^31 - 1) are
    clipped to the largest level."""
    k = bias_shift(bias_scale, output_scale, tolerance)
    if k == 0:
        return None
    low, high = scaled_level_range(k)
    levels = (np.asarray(values, dtype=np.int64) + (1 << (k - 1))) >> k
    return ScaledLevels(np.clip(levels, low, high).astype(np.int32), k)
