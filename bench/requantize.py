"""Re-quantize int8 weights to fewer bits, symmetric per output channel.

Each tensor is dequantized with its per-channel scales (w = level * scale[c]) and quantized
again with a new scale per output channel, max|w_c| / (2**(bits-1) - 1), to levels in
[-(2**(bits-1) - 1), 2**(bits-1) - 1] ([-7, 7] at 4 bits, [-31, 31] at 6 bits), rounding half
away from zero. An all-zero channel keeps its scale and all-zero levels.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from bench.weights import WeightTensor


def requantize(tensor: WeightTensor, bits: int) -> WeightTensor:
    """Return `tensor` re-quantized to `bits` bits per weight (2..8), same layout and axis.

    Raises:
        ValueError: `bits` is outside 2..8.
    """
    if not 2 <= bits <= 8:
        raise ValueError(f"bits must be in 2..8, got {bits}")
    qmax = (1 << (bits - 1)) - 1
    shape = [1] * tensor.levels.ndim
    shape[tensor.axis] = -1
    old_scales = tensor.scales.astype(np.float64)
    real = tensor.levels.astype(np.float64) * old_scales.reshape(shape)
    reduce_axes = tuple(a for a in range(real.ndim) if a != tensor.axis)
    max_abs = np.max(np.abs(real), axis=reduce_axes) if reduce_axes else np.abs(real)
    new_scales = np.where(max_abs > 0, max_abs / qmax, old_scales)
    scaled = real / new_scales.reshape(shape)
    levels = np.clip(np.sign(scaled) * np.floor(np.abs(scaled) + 0.5), -qmax, qmax).astype(np.int8)
    return replace(tensor, levels=levels, scales=new_scales.astype(np.float32))
