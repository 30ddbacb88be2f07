"""MEAN over constant axes: int8 as TFLite's reference kernels (three cases), float32.

int8, like LiteRT's EvalMeanReferenceOps:
1. 4-D input, axes {1, 2}, keep_dims: acc = sum(x - z_i); acc = MultiplyByQuantizedMultiplier(
   acc, M, shift) with M * 2**shift = double(s_i) / double(s_o); then acc / count rounded half
   away from zero (integer), + z_o, clamped.
2. same scale and zero point on input and output: sum of raw values / count, C truncation.
3. otherwise (float arithmetic, as QuantizedMeanOrSum): mean = float(sum) / float(count);
   out = clamp(round(mean * (s_i / s_o) + (-z_i * (s_i / s_o))) + z_o), all in float32.
"""
from __future__ import annotations

import numpy as np

from host.reference.common import OpContext, scale_zero
from host.reference.fixed_point import (
    multiply_by_quantized_multiplier, quantize_multiplier_scalar, round_half_away,
)


def _axes(ctx: OpContext, rank: int) -> tuple[int, ...]:
    raw = [int(a) for a in np.asarray(ctx.value(1)).reshape(-1)]
    if any(not -rank <= a < rank for a in raw):
        raise ctx.fail(f"axes {raw} out of range for rank {rank}")
    return tuple(sorted({a % rank for a in raw}))


def _trunc_div(a: np.ndarray, b: int) -> np.ndarray:
    return np.where(a >= 0, a // b, -((-a) // b))


def evaluate(ctx: OpContext) -> np.ndarray:
    x = ctx.value(0)
    keep = ctx.op.options.keep_dims
    axes = _axes(ctx, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64)) if axes else 1
    shape = ctx.output.shape
    if ctx.output.dtype.value != "int8":
        return x.astype(np.float64).mean(axis=axes, keepdims=keep).astype(np.float32).reshape(shape)
    in_scale, in_zero = scale_zero(ctx.tensor(0))
    out_scale, out_zero = scale_zero(ctx.output)
    xi = x.astype(np.int64)
    if keep and x.ndim == 4 and axes == (1, 2):
        acc = (xi - in_zero).sum(axis=axes, keepdims=True)
        multiplier = quantize_multiplier_scalar(np.float64(in_scale) / np.float64(out_scale))
        acc = multiply_by_quantized_multiplier(acc, *multiplier)
        half = count // 2
        acc = np.where(acc > 0, (acc + half) // count, -((-acc + half) // count))
        out = np.clip(acc + out_zero, -128, 127)
    elif in_scale == out_scale and in_zero == out_zero:
        out = np.clip(_trunc_div(xi.sum(axis=axes, keepdims=keep), count), -128, 127)
    else:
        scale = np.float32(in_scale / out_scale)
        bias = np.float32(np.float32(-in_zero) * scale)
        mean = xi.sum(axis=axes, keepdims=keep).astype(np.float32) / np.float32(count)
        value = round_half_away(np.float32(mean * scale) + bias) + out_zero
        out = np.clip(value, -128, 127)
    return out.astype(np.int8).reshape(shape)
