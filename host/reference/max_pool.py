"""MAX_POOL_2D: int8 and float32 (TFLite reference MaxPool): max over the in-image taps, clamped."""
from __future__ import annotations

import numpy as np

from host.reference.common import (
    OpContext, activation_float, activation_range_int8, spatial_geometry, windows,
)


def evaluate(ctx: OpContext) -> np.ndarray:
    o = ctx.op.options
    x = ctx.value(0)
    oh, ow, (pt, pb), (pl, pr) = spatial_geometry(ctx, x.shape, o.filter_h, o.filter_w, o)
    quantized = ctx.output.dtype.value == "int8"
    lowest = np.iinfo(np.int64).min if quantized else -np.inf
    xs = np.pad(x.astype(np.int64 if quantized else np.float64),
                ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=lowest)
    best = None
    for _, _, view in windows(xs, o.filter_h, o.filter_w, o.stride_h, o.stride_w, 1, 1, oh, ow):
        best = view.copy() if best is None else np.maximum(best, view)
    if quantized:
        low, high = activation_range_int8(o.activation, ctx.output)
        return np.clip(best, low, high).astype(np.int8)
    return activation_float(o.activation, best.astype(np.float32))
