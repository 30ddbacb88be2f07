"""DEPTHWISE_CONV_2D: int8 per-channel (TFLite reference_integer_ops::DepthwiseConvPerChannel), float32.

Output channel oc = ic * depth_multiplier + m uses input channel ic and filter[0, ky, kx, oc];
accumulation, bias and requantization are those of CONV_2D (see conv.py).
"""
from __future__ import annotations

import numpy as np

from host.reference.common import (
    OpContext, activation_float, activation_range_int8, requantize, scale_zero, spatial_geometry,
    windows,
)
from host.reference.conv import dequantized_weights, per_channel_multipliers
from host.reference.fixed_point import wrap_int32


def evaluate(ctx: OpContext) -> np.ndarray:
    options = ctx.op.options
    x, w, bias = ctx.value(0), ctx.value(1), ctx.value(2)
    out_t = ctx.output
    _, fh, fw, oc = w.shape
    n, _, _, ic = x.shape
    multiplier_count = options.depth_multiplier
    if multiplier_count < 1 or ic * multiplier_count != oc:
        raise ctx.fail(f"input depth {ic} x depth_multiplier {multiplier_count} != filter depth {oc}")
    oh, ow, (pt, pb), (pl, pr) = spatial_geometry(ctx, x.shape, fh, fw, options)
    quantized = out_t.dtype.value == "int8"
    if quantized:
        in_zero = scale_zero(ctx.tensor(0))[1]
        xs = np.pad(x.astype(np.int64) - in_zero, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        weights = w.astype(np.int64).reshape(fh, fw, ic, multiplier_count)
        acc = np.zeros((n, oh, ow, ic, multiplier_count), dtype=np.int64)
    else:
        xs = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        weights = dequantized_weights(ctx.tensor(1), w).astype(np.float64).reshape(fh, fw, ic, multiplier_count)
        acc = np.zeros((n, oh, ow, ic, multiplier_count), dtype=np.float64)
    dh, dw = options.dilation_h, options.dilation_w
    for ky, kx, view in windows(xs, fh, fw, options.stride_h, options.stride_w, dh, dw, oh, ow):
        acc += view[..., None] * weights[ky, kx]
    acc = acc.reshape(n, oh, ow, oc)
    if quantized:
        if bias is not None:
            acc = acc + bias.astype(np.int64)
        acc = wrap_int32(acc)
        in_scale = scale_zero(ctx.tensor(0))[0]
        out_scale, out_zero = scale_zero(out_t)
        multiplier, shift = per_channel_multipliers(in_scale, ctx.tensor(1).quantization.scale, out_scale, oc)
        low, high = activation_range_int8(options.activation, out_t)
        return requantize(acc, multiplier, shift, out_zero, low, high)
    if bias is not None:
        acc = acc + bias.astype(np.float64)
    return activation_float(options.activation, acc.astype(np.float32))
