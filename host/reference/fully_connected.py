"""FULLY_CONNECTED: int8 (TFLite reference_integer_ops::FullyConnected), float32.

The input is viewed as [batch, depth] with depth = weights.shape[1];
acc[b, o] = bias[o] + sum_d w[o, d] * (x[b, d] - input_zero_point), requantized as in conv.py.
The multiplier is double(input_scale) * double(filter_scale) / double(output_scale) (per
channel when the weights are), and unlike CONV_2D the requantization is the SINGLE-rounding
MultiplyByQuantizedMultiplier: that is what LiteRT 2.3 computes (see fixed_point.py).
"""
from __future__ import annotations

import numpy as np

from host.reference.common import (
    OpContext, activation_float, activation_range_int8, requantize, scale_zero,
)
from host.reference.conv import dequantized_weights, per_channel_multipliers
from host.reference.fixed_point import quantize_multiplier, wrap_int32


def evaluate(ctx: OpContext) -> np.ndarray:
    options = ctx.op.options
    x, w, bias = ctx.value(0), ctx.value(1), ctx.value(2)
    out_t = ctx.output
    units, depth = w.shape
    if x.size % depth:
        raise ctx.fail(f"input of {x.size} elements is not a multiple of the weights' depth {depth}")
    rows = x.reshape(-1, depth)
    if out_t.dtype.value == "int8":
        in_scale, in_zero = scale_zero(ctx.tensor(0))
        out_scale, out_zero = scale_zero(out_t)
        acc = (rows.astype(np.float64) - in_zero) @ w.astype(np.float64).T  # exact in float64
        acc = acc.astype(np.int64)
        if bias is not None:
            acc = acc + bias.astype(np.int64)
        acc = wrap_int32(acc)
        wq = ctx.tensor(1).quantization
        if wq.per_channel:
            multiplier, shift = per_channel_multipliers(in_scale, wq.scale, out_scale, units)
        else:
            real = np.float64(in_scale) * np.float64(wq.scale[0]) / np.float64(out_scale)
            multiplier, shift = quantize_multiplier(real)
        low, high = activation_range_int8(options.activation, out_t)
        out = requantize(acc, multiplier, shift, out_zero, low, high, single_rounding=True)
    else:
        weights = dequantized_weights(ctx.tensor(1), w).astype(np.float64)
        acc = rows.astype(np.float64) @ weights.T
        if bias is not None:
            acc = acc + bias.astype(np.float64)
        out = activation_float(options.activation, acc.astype(np.float32))
    if options.keep_num_dims:
        return out.reshape(x.shape[:-1] + (units,))
    return out.reshape(out_t.shape) if int(np.prod(out_t.shape)) == out.size else out
