"""CONV_2D: int8 per-channel convolution (TFLite reference_integer_ops::ConvPerChannel), float32.

acc[oc] = bias[oc] + sum over in-image taps of w[oc, ky, kx, c] * (x - input_zero_point);
out = clamp(MultiplyByQuantizedMultiplier(acc, M[oc], shift[oc]) + output_zero_point).
Taps outside the image contribute nothing (padding with the input zero point).
M[oc] * 2**shift[oc] = double(input_scale) * double(filter_scale[oc]) / double(output_scale).
"""
from __future__ import annotations

import numpy as np

from host.reference.common import (
    OpContext, activation_float, activation_range_int8, requantize, scale_zero, spatial_geometry,
    windows,
)
from host.reference.fixed_point import quantize_multiplier, wrap_int32


def per_channel_multipliers(input_scale, filter_scales, output_scale, channels: int):
    """(multiplier, shift) arrays of TFLite's PopulateConvolutionQuantizationParams."""
    scales = np.broadcast_to(np.asarray(filter_scales, dtype=np.float32), (channels,))
    real = np.float64(input_scale) * scales.astype(np.float64) / np.float64(output_scale)
    return quantize_multiplier(real)


def im2col(x: np.ndarray, fh, fw, options, oh, ow) -> np.ndarray:
    """Patches [n*oh*ow, fh*fw*c] in the filter's (ky, kx, c) order."""
    dh, dw = getattr(options, "dilation_h", 1), getattr(options, "dilation_w", 1)
    cols = [view for _, _, view in windows(x, fh, fw, options.stride_h, options.stride_w, dh, dw, oh, ow)]
    n, c = x.shape[0], x.shape[3]
    return np.stack(cols, axis=3).reshape(n * oh * ow, fh * fw * c)


def evaluate(ctx: OpContext) -> np.ndarray:
    options = ctx.op.options
    x, w, bias = ctx.value(0), ctx.value(1), ctx.value(2)
    out_t = ctx.output
    oc, fh, fw, _ = w.shape
    n = x.shape[0]
    oh, ow, (pt, pb), (pl, pr) = spatial_geometry(ctx, x.shape, fh, fw, options)
    quantized = out_t.dtype.value == "int8"
    if quantized:
        in_scale, in_zero = scale_zero(ctx.tensor(0))
        out_scale, out_zero = scale_zero(out_t)
        xs = np.pad(x.astype(np.float64) - in_zero, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        # float64 products and sums of int8-range integers are exact (< 2**53).
        acc = im2col(xs, fh, fw, options, oh, ow) @ w.reshape(oc, -1).astype(np.float64).T
        acc = acc.astype(np.int64)
        if bias is not None:
            acc = acc + bias.astype(np.int64)
        acc = wrap_int32(acc)
        multiplier, shift = per_channel_multipliers(in_scale, ctx.tensor(1).quantization.scale, out_scale, oc)
        low, high = activation_range_int8(options.activation, out_t)
        out = requantize(acc, multiplier, shift, out_zero, low, high)
    else:
        weights = dequantized_weights(ctx.tensor(1), w)
        xs = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        acc = im2col(xs, fh, fw, options, oh, ow) @ weights.reshape(oc, -1).astype(np.float64).T
        if bias is not None:
            acc = acc + bias.astype(np.float64)
        out = activation_float(options.activation, acc.astype(np.float32))
    return out.reshape(n, oh, ow, oc)


def dequantized_weights(t, w: np.ndarray) -> np.ndarray:
    """Float weights of a float op: as stored, or dequantized int8 (hybrid models)."""
    if w.dtype == np.int8 and t.quantization is not None:
        q = t.quantization
        shape = [1] * w.ndim
        shape[q.axis] = -1
        scale = q.scale.astype(np.float64).reshape(shape if q.per_channel else [1] * w.ndim)
        zero = q.zero_point.reshape(shape if q.per_channel else [1] * w.ndim)
        return ((w.astype(np.float64) - zero) * scale).astype(np.float32)
    return w.astype(np.float32)
