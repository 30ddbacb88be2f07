"""AVERAGE_POOL_2D: int8 (TFLite reference_integer_ops::AveragePool), float32.

Each output averages the in-image taps only (padding is excluded from the count):
int8 rounds the sum / count to nearest, ties away from zero, then clamps to the activation range.
"""
from __future__ import annotations

import numpy as np

from host.reference.common import (
    OpContext, activation_float, activation_range_int8, spatial_geometry, windows,
)


def evaluate(ctx: OpContext) -> np.ndarray:
    o = ctx.op.options
    x = ctx.value(0)
    oh, ow, (pt, pb), (pl, pr) = spatial_geometry(ctx, x.shape, o.filter_h, o.filter_w, o)
    pads = ((0, 0), (pt, pb), (pl, pr), (0, 0))
    quantized = ctx.output.dtype.value == "int8"
    xs = np.pad(x.astype(np.int64 if quantized else np.float64), pads)
    inside = np.pad(np.ones((1,) + x.shape[1:3] + (1,), dtype=np.int64), pads)
    total = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=xs.dtype)
    count = np.zeros((1, oh, ow, 1), dtype=np.int64)
    for _, _, view in windows(xs, o.filter_h, o.filter_w, o.stride_h, o.stride_w, 1, 1, oh, ow):
        total += view
    for _, _, view in windows(inside, o.filter_h, o.filter_w, o.stride_h, o.stride_w, 1, 1, oh, ow):
        count += view
    if quantized:
        half = count // 2
        average = np.where(total > 0, (total + half) // count, -((-total + half) // count))
        low, high = activation_range_int8(o.activation, ctx.output)
        return np.clip(average, low, high).astype(np.int8)
    return activation_float(o.activation, (total / count).astype(np.float32))
