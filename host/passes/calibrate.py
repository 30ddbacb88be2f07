"""Calibration: run the float graph on the user's inputs and record every activation's range.

Per activation tensor: exact minimum and maximum, the mean over samples (kept at the
tensor's shape, used for bias correction: layers are linear, so the mean of a layer's output
change is the layer applied to the mean input), and a uniform random sample of values for
percentile and MSE-optimal range choices. `choose_range` turns the statistics into an
asymmetric int8 range that contains 0, and `activation_params` into TFLite's scale and zero
point.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from host.errors import DataError
from host.graph import Graph, validate
from host.passes.execute import batched, chunk_size, forward


class RangeMethod(enum.Enum):
    """How an activation's quantization range is chosen from its statistics."""

    MINMAX = "minmax"
    PERCENTILE = "percentile"
    MSE = "mse"


@dataclass(eq=False)
class ActivationStats:
    """Observed values of one activation tensor over the calibration samples."""

    low: float
    high: float
    mean: np.ndarray
    sample: np.ndarray


@dataclass(eq=False)
class Calibration:
    """Statistics per tensor (None for constants), indexed like the calibrated graph's tensors."""

    stats: list[ActivationStats | None]
    samples: int


def calibrate(graph: Graph, x: np.ndarray, sample_size: int = 1 << 15, seed: int = 0) -> Calibration:
    """Run float `graph` on every sample of `x` and collect activation statistics.

    Raises `UnsupportedModelError` for graphs the interpreter cannot run and `DataError` for
    empty or mismatching `x`.
    """
    validate(graph)
    n = int(x.shape[0]) if x.ndim else 0
    if n == 0:
        raise DataError("calibration needs at least one sample")
    rng = np.random.default_rng(seed)
    active = [i for i, t in enumerate(graph.tensors) if not t.is_constant]
    low = {i: np.inf for i in active}
    high = {i: -np.inf for i in active}
    total = {i: None for i in active}
    picks: dict[int, list[np.ndarray]] = {i: [] for i in active}
    step = chunk_size(graph)
    cached: dict[int, Graph] = {}
    for begin in range(0, n, step):
        rows = x[begin:begin + step]
        g = cached.setdefault(rows.shape[0], batched(graph, rows.shape[0]))
        values = [t.data for t in g.tensors]
        values[graph.inputs[0]] = rows
        forward(g, values)
        share = rows.shape[0] / n
        for i in active:
            v = values[i]
            if v is None:
                continue
            v = v.astype(np.float64)
            low[i] = min(low[i], float(v.min()))
            high[i] = max(high[i], float(v.max()))
            s = v.sum(axis=0)
            total[i] = s if total[i] is None else total[i] + s
            flat = v.reshape(-1)
            k = min(flat.size, max(1, int(np.ceil(sample_size * share))))
            picks[i].append(flat[rng.choice(flat.size, k, replace=False)].astype(np.float32))
    stats: list[ActivationStats | None] = [None] * len(graph.tensors)
    for i in active:
        if total[i] is None:
            continue
        stats[i] = ActivationStats(low[i], high[i], total[i] / n, np.concatenate(picks[i]))
    return Calibration(stats, n)


def activation_params(low: float, high: float) -> tuple[np.float32, int]:
    """Scale and zero point of an asymmetric int8 range [low, high] (widened to contain 0)."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    scale = np.float32((high - low) / 255.0)
    if not scale > 0:
        return np.float32(1.0), 0
    zero = int(np.clip(np.round(-128.0 - low / float(scale)), -128, 127))
    return scale, zero


def _fake_quantize(values: np.ndarray, low: float, high: float) -> np.ndarray:
    scale, zero = activation_params(low, high)
    q = np.clip(np.round(values / scale) + zero, -128, 127)
    return (q - zero) * scale


def choose_range(stats: ActivationStats, method: RangeMethod = RangeMethod.MINMAX,
                 percentile: float = 99.99) -> tuple[float, float]:
    """The int8 range of an activation (always containing 0) by the chosen method.

    PERCENTILE clips to the [100 - p, p] percentiles of the sample; MSE picks, among 40
    shrinkings of the min/max range, the one with the least quantization error on the sample.
    """
    low, high = min(stats.low, 0.0), max(stats.high, 0.0)
    if method is RangeMethod.MINMAX or stats.sample.size == 0:
        return low, high
    if method is RangeMethod.PERCENTILE:
        lo, hi = np.percentile(stats.sample, [100.0 - percentile, percentile])
        return min(float(lo), 0.0), max(float(hi), 0.0)
    sample = stats.sample.astype(np.float64)
    best, best_error = (low, high), np.inf
    for alpha in np.linspace(0.3, 1.0, 40):
        lo, hi = low * alpha, high * alpha
        error = float(np.mean((_fake_quantize(sample, lo, hi) - sample) ** 2))
        if error < best_error:
            best, best_error = (lo, hi), error
    return best
