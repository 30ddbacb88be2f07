"""Scalar weight quantizers shared by the passes: symmetric per-channel uniform levels.

A b-bit uniform quantizer of channel c has levels L in [-Q, Q], Q = 2**(b-1) - 1, and a real
step s_b[c]; the int8 weights it stands for are L * step (step = floor(127 / Q), an integer),
at int8 scale s8[c] = s_b[c] / step, so the device rebuilds them exactly (docs/compression.md).
"""
from __future__ import annotations

import enum

import numpy as np

from host.graph import uniform_max_level, uniform_step
from host.reference.fixed_point import round_half_away


class ClipMethod(enum.Enum):
    """How a channel's largest representable weight is chosen."""

    MINMAX = "minmax"  # the channel's largest magnitude
    MSE = "mse"        # the clip (among 10 shrinkings) with the least squared error


def _channels_first(w: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def _from_channels_first(rows: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    moved = (shape[axis],) + tuple(s for i, s in enumerate(shape) if i != axis)
    return np.moveaxis(rows.reshape(moved), 0, axis)


def channel_scales(w: np.ndarray, axis: int, max_level: int, clip: ClipMethod = ClipMethod.MINMAX,
                   mask: np.ndarray | None = None) -> np.ndarray:
    """Real step per channel (float64) so that w / step fits [-max_level, max_level].

    Channels of zeros get the largest channel's step (1.0 when all are zero). `mask` (same shape as `w`, True = kept) restricts the
    MSE choice to weights that are not pruned.
    """
    rows = _channels_first(np.asarray(w, dtype=np.float64), axis)
    peak = np.abs(rows).max(axis=1)
    # a channel of zeros takes the largest scale (any scale rebuilds its zeros; this one keeps
    # the tensor's scales on one compact grid, rate.storable_scales)
    scales = np.where(peak > 0, peak / max_level, peak.max() / max_level if peak.max() > 0 else 1.0)
    if clip is ClipMethod.MINMAX:
        return scales
    keep = np.ones_like(rows, dtype=bool) if mask is None else _channels_first(mask, axis)
    best = scales.copy()
    best_error = np.full(rows.shape[0], np.inf)
    for ratio in np.linspace(0.55, 1.0, 10):
        s = np.where(peak > 0, peak * ratio / max_level, scales)[:, None]
        q = np.clip(np.round(rows / s), -max_level, max_level) * s
        error = np.sum(((q - rows) ** 2) * keep, axis=1)
        better = error < best_error
        best[better] = s[better, 0]
        best_error[better] = error[better]
    return best


def uniform_levels(w: np.ndarray, axis: int, bits: int, clip: ClipMethod = ClipMethod.MINMAX,
                   mask: np.ndarray | None = None, half_scales: bool = False
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """Quantize real weights `w` to `bits`-bit symmetric levels per channel along `axis`.

    Returns (levels int32, int8 scale per channel as float32, int8 step): the int8 weights
    are levels * step at the returned scale. Pruned weights (`mask` False) get level 0.
    `half_scales` rounds the scales up to the container's compact grid (rate.storable_scales).
    """
    max_level = uniform_max_level(bits)
    step = uniform_step(bits)
    s_b = channel_scales(w, axis, max_level, clip, mask)
    s8 = (s_b / step).astype(np.float32)
    if half_scales:
        from host.passes.rate import storable_scales  # noqa: PLC0415 (rate imports nothing of ours)

        s8 = storable_scales(s8)
    shape = [1] * w.ndim
    shape[axis] = -1
    # Divide by the float32 int8 scale actually stored, so that levels match what runs.
    real_step = s8.astype(np.float64).reshape(shape) * step
    levels = np.clip(round_half_away(np.asarray(w, dtype=np.float64) / real_step), -max_level, max_level)
    if mask is not None:
        levels = np.where(mask, levels, 0)
    return levels.astype(np.int32), s8, step


def dequantize_weights(data: np.ndarray, scale: np.ndarray, axis: int) -> np.ndarray:
    """Real values (float64) of int8 weights with per-channel (or per-tensor) `scale`."""
    shape = [1] * data.ndim
    if scale.size > 1:
        shape[axis] = -1
    return data.astype(np.float64) * scale.astype(np.float64).reshape(shape)
