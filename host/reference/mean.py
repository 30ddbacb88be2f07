"""MEAN over constant axes: int8 (TFLite QuantizedMeanOrSum, fixed point), float32.

int8, one rule for every axis set and keep_dims (what LiteRT 2.3's reference kernel computes,
measured on 7 axis/quantization configurations):
  sum = sum over the axes of (x - z_i); n = number of elements reduced;
  (M, shift) = QuantizeMultiplier(double(s_i) / double(s_o));
  k = min(floor(log2(n)), 32, 31 + shift);  M' = (M << k) / n (integer);  shift' = shift - k;
  out = clamp(MultiplyByQuantizedMultiplier(sum, M', shift') + z_o).
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, scale_zero
from host.reference.fixed_point import multiply_by_quantized_multiplier, quantize_multiplier_scalar


def _axes(ctx: OpContext, rank: int) -> tuple[int, ...]:
    raw = [int(a) for a in np.asarray(ctx.value(1)).reshape(-1)]
    if any(not -rank <= a < rank for a in raw):
        raise ctx.fail(f"axes {raw} out of range for rank {rank}")
    return tuple(sorted({a % rank for a in raw}))


def mean_multiplier(input_scale, output_scale, count: int) -> tuple[int, int]:
    """(multiplier, shift) of s_i / (s_o * count), as TFLite folds 1/count into the multiplier."""
    multiplier, shift = quantize_multiplier_scalar(np.float64(input_scale) / np.float64(output_scale))
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << k) // count, shift - k


def evaluate(ctx: OpContext) -> np.ndarray:
    x = ctx.value(0)
    keep = ctx.op.options.keep_dims
    axes = _axes(ctx, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64)) if axes else 1
    shape = ctx.output.shape
    if ctx.output.dtype.value != "int8":
        return x.astype(np.float64).mean(axis=axes, keepdims=keep).astype(np.float32).reshape(shape)
    if count == 0:
        raise ctx.fail("MEAN over an empty axis")
    in_scale, in_zero = scale_zero(ctx.tensor(0))
    out_scale, out_zero = scale_zero(ctx.output)
    total = (x.astype(np.int64) - in_zero).sum(axis=axes, keepdims=keep)
    multiplier, shift = mean_multiplier(in_scale, out_scale, count)
    out = multiply_by_quantized_multiplier(total, multiplier, shift) + out_zero
    return np.clip(out, -128, 127).astype(np.int8).reshape(shape)
