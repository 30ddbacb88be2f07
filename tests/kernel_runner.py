"""Run one LiteRT operator through the C kernels (host._kernels), parameters derived from the model.

Test support: given an Interpreter that has been invoked with `experimental_preserve_all_tensors`,
an op from `_get_ops_details()` and its builtin options (tests/tflite_options.py), prepare the
kernel parameters exactly as LiteRT's Prepare does (double-precision effective scales,
QuantizeMultiplier, CalculateActivationRangeQuantized, SAME padding offsets), run our kernel on
the op's actual input tensors and return our output next to LiteRT's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host import _kernels as K
import tflite_options as T

SUPPORTED = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "MUL",
    "SOFTMAX", "LOGISTIC", "RELU", "RELU6", "RELU_N1_TO_1", "HARD_SWISH", "PAD", "PADV2",
    "CONCATENATION", "MEAN", "QUANTIZE", "DEQUANTIZE", "RESHAPE",
}


# The requantization rounding each LiteRT 2.3 resolver uses per op (measured; docs/kernels.md).
# A value is a rounding mode, or a function of the op's options giving one.
LITERT_REFERENCE = {"CONV_2D": K.ROUNDING_DOUBLE, "DEPTHWISE_CONV_2D": K.ROUNDING_DOUBLE,
                    "FULLY_CONNECTED": K.ROUNDING_SINGLE, "QUANTIZE": K.ROUNDING_DOUBLE}
LITERT_OPTIMIZED = {
    "CONV_2D": K.ROUNDING_HALF_UP,
    # LiteRT's optimized depthwise kernel takes dilated filters back to the reference code.
    "DEPTHWISE_CONV_2D": lambda o: K.ROUNDING_DOUBLE if max(o.dilation_h, o.dilation_w) > 1 else K.ROUNDING_HALF_UP,
    "FULLY_CONNECTED": K.ROUNDING_HALF_UP,
    "QUANTIZE": K.ROUNDING_HALF_UP,
}


def _rounding(table: dict, name: str, options) -> int:
    mode = table[name]
    return mode(options) if callable(mode) else mode


@dataclass
class OpResult:
    ours: np.ndarray
    theirs: np.ndarray


def round_half_away(x) -> int:
    """std::round of a float32 value (ties away from zero)."""
    x = np.float32(x)
    t = np.trunc(x)
    if abs(x - t) >= np.float32(0.5):
        t += np.sign(x)
    return int(t)


def quantize_multiplier(real: float) -> tuple[int, int]:
    return K.quantize_multiplier(float(real))


def activation_range(act: int, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 (float division, std::round)."""
    q = lambda f: zero_point + round_half_away(np.float32(f) / np.float32(scale))
    lo, hi = -128, 127
    if act == T.ACT_RELU:
        lo = max(lo, q(0.0))
    elif act == T.ACT_RELU6:
        lo, hi = max(lo, q(0.0)), min(hi, q(6.0))
    elif act == T.ACT_RELU_N1_TO_1:
        lo, hi = max(lo, q(-1.0)), min(hi, q(1.0))
    elif act != T.ACT_NONE:
        raise NotImplementedError(f"fused activation {act}")
    return lo, hi


def same_or_valid_padding(padding: int, in_size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """(output size, top/left pad offset) as TFLite's ComputePaddingHeightWidth."""
    eff = (k - 1) * dilation + 1
    if padding == T.SAME:
        out = (in_size + stride - 1) // stride
    else:
        out = (in_size - eff + stride) // stride
    total = max((out - 1) * stride + eff - in_size, 0)
    return out, total // 2


def _q(detail) -> tuple[np.ndarray, np.ndarray]:
    qp = detail["quantization_parameters"]
    return np.asarray(qp["scales"], dtype=np.float32), np.asarray(qp["zero_points"], dtype=np.int64)


def _scale_zp(detail) -> tuple[float, int]:
    s, z = _q(detail)
    return float(s[0]), int(z[0])


def _shape4(shape) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    return (1,) * (4 - len(shape)) + shape


def _channel_quant(in_scale: float, filter_scales: np.ndarray, out_scale: float, channels: int):
    if len(filter_scales) == 1:
        filter_scales = np.repeat(filter_scales, channels)
    pairs = [quantize_multiplier(float(in_scale) * float(fs) / float(out_scale)) for fs in filter_scales]
    return np.array([m for m, _ in pairs], dtype=np.int32), np.array([s for _, s in pairs], dtype=np.int32)


def run_op(interp, op: dict, options, rounding: dict[str, int] = LITERT_REFERENCE) -> OpResult:
    """Run `op` through our kernel, requantizing as `rounding` says for conv/FC ops.

    Raises NotImplementedError for an op we do not cover.
    """
    name = op["op_name"]
    details = interp.get_tensor_details()
    ins = [i for i in op["inputs"] if i >= 0]
    out_i = op["outputs"][0]
    out_d = details[out_i]
    theirs = interp.get_tensor(out_i)
    x = interp.get_tensor(ins[0])
    xd = details[ins[0]]
    if name not in SUPPORTED:
        raise NotImplementedError(name)

    if name == "RESHAPE":
        ours = x.reshape(theirs.shape)
    elif name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = interp.get_tensor(ins[1])
        bias = interp.get_tensor(ins[2]) if len(ins) > 2 else None
        in_s, in_z = _scale_zp(xd)
        out_s, out_z = _scale_zp(out_d)
        f_scales, _ = _q(details[ins[1]])
        n, h, wd, c = x.shape
        kh, kw = w.shape[1], w.shape[2]
        oh, pad_h = same_or_valid_padding(options.padding, h, kh, options.stride_h, options.dilation_h)
        ow, pad_w = same_or_valid_padding(options.padding, wd, kw, options.stride_w, options.dilation_w)
        out_c = w.shape[0] if name == "CONV_2D" else w.shape[3]
        mult, shift = _channel_quant(in_s, f_scales, out_s, out_c)
        lo, hi = activation_range(options.activation, out_s, out_z)
        kwargs = dict(input_offset=-in_z, output_offset=out_z, stride=(options.stride_h, options.stride_w),
                      dilation=(options.dilation_h, options.dilation_w), padding=(pad_h, pad_w),
                      act_min=lo, act_max=hi, rounding=_rounding(rounding, name, options))
        fn = K.conv_s8
        if name == "DEPTHWISE_CONV_2D":
            fn = K.depthwise_conv_s8
            kwargs["depth_multiplier"] = out_c // c
        raw = fn(x, x.shape, w, w.shape, bias, (n, oh, ow, out_c), mult, shift, **kwargs)
        ours = np.frombuffer(raw, dtype=np.int8).reshape(theirs.shape)
    elif name == "FULLY_CONNECTED":
        w = interp.get_tensor(ins[1])
        bias = interp.get_tensor(ins[2]) if len(ins) > 2 else None
        in_s, in_z = _scale_zp(xd)
        out_s, out_z = _scale_zp(out_d)
        f_scales, f_zps = _q(details[ins[1]])
        units, depth = w.shape
        if len(f_scales) == 1:
            # GetQuantizedConvolutionMultipler: double(in) * double(filter) / double(out)
            m, s = quantize_multiplier(float(in_s) * float(f_scales[0]) / float(out_s))
            mult, shift = np.array([m], np.int32), np.array([s], np.int32)
        else:
            mult, shift = _channel_quant(in_s, f_scales, out_s, units)
        lo, hi = activation_range(options.activation, out_s, out_z)
        raw = K.fully_connected_s8(x, w, bias, x.size // depth, depth, units, mult, shift,
                                   -in_z, -int(f_zps[0]), out_z, lo, hi, _rounding(rounding, name, options))
        ours = np.frombuffer(raw, dtype=np.int8).reshape(theirs.shape)
    elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        n, h, wd, c = x.shape
        oh, pad_h = same_or_valid_padding(options.padding, h, options.filter_h, options.stride_h, 1)
        ow, pad_w = same_or_valid_padding(options.padding, wd, options.filter_w, options.stride_w, 1)
        out_s, out_z = _scale_zp(out_d)
        lo, hi = activation_range(options.activation, out_s, out_z)
        fn = K.avgpool_s8 if name == "AVERAGE_POOL_2D" else K.maxpool_s8
        raw = fn(x, x.shape, (n, oh, ow, c), (options.filter_h, options.filter_w),
                 (options.stride_h, options.stride_w), (pad_h, pad_w), lo, hi)
        ours = np.frombuffer(raw, dtype=np.int8).reshape(theirs.shape)
    elif name in ("ADD", "MUL"):
        y = interp.get_tensor(ins[1])
        s1, z1 = _scale_zp(xd)
        s2, z2 = _scale_zp(details[ins[1]])
        so, zo = _scale_zp(out_d)
        lo, hi = activation_range(options.activation, so, zo)
        shapes = (_shape4(x.shape), _shape4(y.shape), _shape4(theirs.shape))
        if name == "ADD":
            left_shift = 20
            twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))
            m1, sh1 = quantize_multiplier(float(s1) / twice_max)
            m2, sh2 = quantize_multiplier(float(s2) / twice_max)
            mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * float(so)))
            raw = K.add_s8(x, shapes[0], y, shapes[1], shapes[2], -z1, -z2, zo, left_shift,
                           m1, sh1, m2, sh2, mo, sho, lo, hi)
        else:
            mo, sho = quantize_multiplier(float(s1) * float(s2) / float(so))
            raw = K.mul_s8(x, shapes[0], y, shapes[1], shapes[2], -z1, -z2, zo, mo, sho, lo, hi)
        ours = np.frombuffer(raw, dtype=np.int8).reshape(theirs.shape)
    elif name == "SOFTMAX":
        in_s, _ = _scale_zp(xd)
        out_s, out_z = _scale_zp(out_d)
        table = K.softmax_populate_table(in_s, options.beta)
        depth = x.shape[-1]
        raw = K.softmax_s8(x, x.size // depth, depth, table, out_s, out_z)
        ours = np.frombuffer(raw, dtype=np.int8).reshape(theirs.shape)
    elif name == "LOGISTIC":
        in_s, in_z = _scale_zp(xd)
        out_s, out_z = _scale_zp(out_d)
        lut = K.logistic_populate_lut(in_s, in_z, out_s, out_z)
        ours = np.frombuffer(K.logistic_s8(x, lut), dtype=np.int8).reshape(theirs.shape)
    elif name in ("RELU", "RELU6", "RELU_N1_TO_1"):
        in_s, in_z = _scale_zp(xd)
        out_s, out_z = _scale_zp(out_d)
        m, s = quantize_multiplier(float(in_s) / float(out_s))
        act = {"RELU": T.ACT_RELU, "RELU6": T.ACT_RELU6, "RELU_N1_TO_1": T.ACT_RELU_N1_TO_1}[name]
        lo, hi = activation_range(act, out_s, out_z)
        ours = np.frombuffer(K.relu_s8(x, in_z, out_z, m, s, lo, hi), dtype=np.int8).reshape(theirs.shape)
    elif name == "HARD_SWISH":
        in_s, in_z = _scale_zp(xd)
        out_s, out_z = _scale_zp(out_d)
        params = K.hard_swish_prepare(in_s, in_z, out_s, out_z)
        ours = np.frombuffer(K.hard_swish_s8(x, params), dtype=np.int8).reshape(theirs.shape)
    elif name in ("PAD", "PADV2"):
        pads = interp.get_tensor(ins[1]).reshape(-1, 2)
        rank = pads.shape[0]
        before = [0] * (4 - rank) + [int(p) for p in pads[:, 0]]
        after = [0] * (4 - rank) + [int(p) for p in pads[:, 1]]
        _, out_z = _scale_zp(out_d)
        value = int(interp.get_tensor(ins[2]).reshape(-1)[0]) if name == "PADV2" and len(ins) > 2 else out_z
        raw = K.pad_s8(x, _shape4(x.shape), before, after, value)
        ours = np.frombuffer(raw, dtype=np.int8).reshape(theirs.shape)
    elif name == "CONCATENATION":
        tensors = [interp.get_tensor(i) for i in ins]
        rank = theirs.ndim
        axis = options.axis % rank + (4 - rank)
        raw = K.concat_s8(tensors, [_shape4(t.shape) for t in tensors], axis, _shape4(theirs.shape))
        ours = np.frombuffer(raw, dtype=np.int8).reshape(theirs.shape)
    elif name == "MEAN":
        axes = [int(a) % x.ndim + (4 - x.ndim) for a in interp.get_tensor(ins[1]).reshape(-1)]
        in_s, in_z = _scale_zp(xd)
        out_s, out_z = _scale_zp(out_d)
        m, s = quantize_multiplier(float(in_s) / float(out_s))
        reduce = [1 if a in axes else 0 for a in range(4)]
        raw = K.mean_s8(x, _shape4(x.shape), reduce, in_z, out_z, m, s)
        ours = np.frombuffer(raw, dtype=np.int8).reshape(theirs.shape)
    elif name == "QUANTIZE":
        out_s, out_z = _scale_zp(out_d)
        if x.dtype == np.float32:
            raw = K.quantize_f32_s8(np.ascontiguousarray(x), out_s, out_z)
        else:
            in_s, in_z = _scale_zp(xd)
            m, s = quantize_multiplier(float(in_s) / float(out_s))
            raw = K.requantize_s8(x, in_z, out_z, m, s, _rounding(rounding, name, options))
        ours = np.frombuffer(raw, dtype=np.int8).reshape(theirs.shape)
    else:  # DEQUANTIZE
        in_s, in_z = _scale_zp(xd)
        ours = np.frombuffer(K.dequantize_s8(x, in_s, in_z), dtype=np.float32).reshape(theirs.shape)
    return OpResult(ours=ours, theirs=theirs)


def first_mismatch(ours: np.ndarray, theirs: np.ndarray) -> str | None:
    """None when equal, else 'element i: ours X, LiteRT Y (n of m differ)'."""
    if ours.shape != theirs.shape:
        return f"shape {ours.shape} != LiteRT {theirs.shape}"
    a, b = ours.reshape(-1), theirs.reshape(-1)
    diff = np.flatnonzero(a != b) if a.dtype != np.float32 else np.flatnonzero(a.view(np.int32) != b.view(np.int32))
    if diff.size == 0:
        return None
    i = int(diff[0])
    return f"element {i}: ours {a[i]}, LiteRT {b[i]} ({diff.size} of {a.size} differ)"
