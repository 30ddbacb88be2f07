"""Generated single-op cases: each C kernel against LiteRT 2.3 on a model built for the case.

Every case (random shapes, strides, padding, dilation, per-channel scales, zero points, fused
activations) is written as a one-operator .tflite model (tests/tflite_builder.py), run by LiteRT
with its reference kernels (BUILTIN_REF) and with its default builtin kernels
(BUILTIN_WITHOUT_DEFAULT_DELEGATES), and compared with our kernel with `==`. Our kernel gets the
requantization rounding each LiteRT resolver uses for that op (kernel_runner.LITERT_*).

LiteRT's optimized resolver has three position- or path-dependent quirks (docs/kernels.md), checked
here exactly as measured rather than skipped:
- QUANTIZE int8->int8: a 16-wide SIMD body rounds half-up, the scalar tail (size % 16) rounds
  like the reference; both parts must equal our kernel run with that rounding.
- DEQUANTIZE: an 8-wide body computes q*scale + (-zp*scale) (two roundings); the tail must equal
  our kernel exactly, the body within the two roundings' error (256 * scale * 2^-23).
- QUANTIZE float->int8: the SIMD body may differ from the reference (division, ties away) by 1.
- MEAN over H, W: a float kernel; ours (the reference arithmetic) must be within 1 of it.
- DEPTHWISE_CONV_2D: LiteRT mixes its half-up SIMD code and the reference code, even within one
  tensor (all dilated filters, some strides and depth multipliers); every element must equal ours
  with half-up rounding or ours with double rounding.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from host import _kernels as K
from kernel_runner import LITERT_OPTIMIZED, LITERT_REFERENCE, first_mismatch, quantize_multiplier, run_op
from tflite_builder import (Tensor, activation_options, build_model, conv_options, depthwise_options,
                            pool_options)
from tflite_options import ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1, SAME, VALID, read_operator_options

litert = pytest.importorskip("ai_edge_litert.interpreter")

CASES_PER_OP = 25
ACTS = [ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1]
RESOLVERS = {
    "reference": (litert.OpResolverType.BUILTIN_REF, LITERT_REFERENCE),
    "optimized": (litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES, LITERT_OPTIMIZED),
}


def _s8(rng, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def _scale(rng, lo=0.005, hi=0.2):
    return float(np.float32(rng.uniform(lo, hi)))


def _zp(rng):
    return int(rng.integers(-128, 128))


def _act_tensor(rng, shape):
    return Tensor(tuple(shape), np.int8, [_scale(rng)], [_zp(rng)])


def _spatial(rng, k, dilation, stride):
    """An input size, padding and output size that TFLite accepts for kernel k."""
    eff = (k - 1) * dilation + 1
    padding = SAME if rng.random() < 0.5 else VALID
    size = int(rng.integers(max(eff, 1), eff + 9))
    out = (size + stride - 1) // stride if padding == SAME else (size - eff + stride) // stride
    return size, padding, out


def case_conv(rng):
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    sh, sw = (int(v) for v in rng.integers(1, 4, 2))
    dh, dw = (int(v) for v in rng.integers(1, 3, 2))
    h, pad, oh = _spatial(rng, kh, dh, sh)
    w, pad_w, ow = _spatial(rng, kw, dw, sw)
    pad_w = pad  # one padding mode per op
    eff_w = (kw - 1) * dw + 1
    ow = (w + sw - 1) // sw if pad == SAME else (w - eff_w + sw) // sw
    if ow < 1:
        w, ow = eff_w, 1
    n, cin, cout = int(rng.integers(1, 3)), int(rng.integers(1, 9)), int(rng.integers(1, 9))
    x = _act_tensor(rng, (n, h, w, cin))
    fs = [_scale(rng, 0.001, 0.05) for _ in range(cout)]
    wt = Tensor((cout, kh, kw, cin), np.int8, fs, [0] * cout, 0, rng.integers(-127, 128, (cout, kh, kw, cin), dtype=np.int8))
    b = Tensor((cout,), np.int32, [x.scales[0] * s for s in fs], [0] * cout, 0,
               rng.integers(-3000, 3000, cout).astype(np.int32))
    y = _act_tensor(rng, (n, oh, ow, cout))
    return build_model("CONV_2D", [x, wt, b, y], [0, 1, 2], [3],
                       conv_options(pad, sh, sw, int(rng.choice(ACTS)), dh, dw))


def case_depthwise(rng):
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    s = int(rng.integers(1, 3))
    d = int(rng.integers(1, 3))
    h, pad, oh = _spatial(rng, kh, d, s)
    eff_w = (kw - 1) * d + 1
    w = int(rng.integers(eff_w, eff_w + 7))
    ow = (w + s - 1) // s if pad == SAME else (w - eff_w + s) // s
    cin, dm = int(rng.integers(1, 7)), int(rng.integers(1, 4))
    cout = cin * dm
    x = _act_tensor(rng, (1, h, w, cin))
    fs = [_scale(rng, 0.001, 0.05) for _ in range(cout)]
    wt = Tensor((1, kh, kw, cout), np.int8, fs, [0] * cout, 3, rng.integers(-127, 128, (1, kh, kw, cout), dtype=np.int8))
    b = Tensor((cout,), np.int32, [x.scales[0] * f for f in fs], [0] * cout, 0,
               rng.integers(-3000, 3000, cout).astype(np.int32))
    y = _act_tensor(rng, (1, oh, ow, cout))
    return build_model("DEPTHWISE_CONV_2D", [x, wt, b, y], [0, 1, 2], [3],
                       depthwise_options(pad, s, s, dm, int(rng.choice(ACTS)), d, d))


def case_fully_connected(rng):
    batches, depth, units = int(rng.integers(1, 4)), int(rng.integers(1, 48)), int(rng.integers(1, 24))
    x = _act_tensor(rng, (batches, depth))
    per_channel = rng.random() < 0.5
    fs = [_scale(rng, 0.001, 0.05) for _ in range(units if per_channel else 1)]
    wt = Tensor((units, depth), np.int8, fs, [0] * len(fs), 0, rng.integers(-127, 128, (units, depth), dtype=np.int8))
    bias_scales = [x.scales[0] * f for f in fs]
    b = Tensor((units,), np.int32, bias_scales, [0] * len(fs), 0, rng.integers(-3000, 3000, units).astype(np.int32))
    y = _act_tensor(rng, (batches, units))
    return build_model("FULLY_CONNECTED", [x, wt, b, y], [0, 1, 2], [3], activation_options(int(rng.choice(ACTS))))


def _pool(rng, op):
    fh, fw = (int(v) for v in rng.integers(1, 5, 2))
    sh, sw = (int(v) for v in rng.integers(1, 4, 2))
    pad = SAME if rng.random() < 0.5 else VALID
    h, w = int(rng.integers(fh, fh + 8)), int(rng.integers(fw, fw + 8))
    oh = (h + sh - 1) // sh if pad == SAME else (h - fh + sh) // sh
    ow = (w + sw - 1) // sw if pad == SAME else (w - fw + sw) // sw
    c = int(rng.integers(1, 9))
    x = _act_tensor(rng, (1, h, w, c))
    y = Tensor((1, oh, ow, c), np.int8, x.scales, x.zero_points)
    return build_model(op, [x, y], [0], [1], pool_options(pad, sh, sw, fh, fw, int(rng.choice(ACTS))))


def case_avgpool(rng):
    return _pool(rng, "AVERAGE_POOL_2D")


def case_maxpool(rng):
    return _pool(rng, "MAX_POOL_2D")


def _broadcast_shapes(rng):
    out = [1] + [int(v) for v in rng.integers(1, 6, 3)]
    a, b = list(out), list(out)
    for k in range(1, 4):
        r = rng.random()
        if r < 0.2:
            a[k] = 1
        elif r < 0.4:
            b[k] = 1
    return tuple(a), tuple(b), tuple(out)


def _binary(rng, op):
    sa, sb, so = _broadcast_shapes(rng)
    return build_model(op, [_act_tensor(rng, sa), _act_tensor(rng, sb), _act_tensor(rng, so)], [0, 1], [2],
                       activation_options(int(rng.choice(ACTS))))


def case_add(rng):
    return _binary(rng, "ADD")


def case_mul(rng):
    return _binary(rng, "MUL")


def case_softmax(rng):
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 40)))
    x = _act_tensor(rng, shape)
    y = Tensor(shape, np.int8, [1.0 / 256], [-128])
    return build_model("SOFTMAX", [x, y], [0], [1], [(0, "float32", float(np.float32(rng.uniform(0.3, 2.0))))])


def case_logistic(rng):
    shape = (1, int(rng.integers(1, 300)))
    x = Tensor(shape, np.int8, [_scale(rng, 0.01, 0.3)], [_zp(rng)])
    return build_model("LOGISTIC", [x, Tensor(shape, np.int8, [1.0 / 256], [-128])], [0], [1])


def _unary(rng, op, out_scale=None, out_zp=None):
    shape = (1, int(rng.integers(1, 300)))
    x = _act_tensor(rng, shape)
    y = Tensor(shape, np.int8, [out_scale or _scale(rng)], [_zp(rng) if out_zp is None else out_zp])
    return build_model(op, [x, y], [0], [1])


def case_relu(rng):
    return _unary(rng, "RELU")


def case_relu6(rng):
    return _unary(rng, "RELU6")


def case_relu_n1_to_1(rng):
    return _unary(rng, "RELU_N1_TO_1")


def case_hard_swish(rng):
    shape = (1, int(rng.integers(1, 300)))
    x = Tensor(shape, np.int8, [_scale(rng, 0.01, 0.1)], [_zp(rng)])
    # An output scale at or above the input scale / 128 (TFLite refuses a left-shifting multiplier).
    y = Tensor(shape, np.int8, [_scale(rng, 0.01, 0.1)], [_zp(rng)])
    return build_model("HARD_SWISH", [x, y], [0], [1])


def _pad(rng, op):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(v) for v in rng.integers(1, 5, rank))
    pads = rng.integers(0, 3, (rank, 2)).astype(np.int32)
    x = _act_tensor(rng, shape)
    out = tuple(int(s + p.sum()) for s, p in zip(shape, pads))
    tensors = [x, Tensor((rank, 2), np.int32, data=pads), Tensor(out, np.int8, x.scales, x.zero_points)]
    if op == "PADV2":
        tensors.insert(2, Tensor((1,), np.int8, x.scales, x.zero_points, 0, _s8(rng, (1,))))
        return build_model(op, tensors, [0, 1, 2], [3])
    return build_model(op, tensors, [0, 1], [2])


def case_pad(rng):
    return _pad(rng, "PAD")


def case_padv2(rng):
    return _pad(rng, "PADV2")


def case_concatenation(rng):
    rank = int(rng.integers(1, 5))
    base = [int(v) for v in rng.integers(1, 5, rank)]
    axis = int(rng.integers(-rank, rank))
    scale, zp = _scale(rng), _zp(rng)
    parts = []
    for _ in range(int(rng.integers(2, 4))):
        s = list(base)
        s[axis] = int(rng.integers(1, 4))
        parts.append(Tensor(tuple(s), np.int8, [scale], [zp]))
    out = list(base)
    out[axis] = sum(p.shape[axis] for p in parts)
    tensors = parts + [Tensor(tuple(out), np.int8, [scale], [zp])]
    k = len(parts)
    return build_model("CONCATENATION", tensors, list(range(k)), [k], [(0, "int32", axis), (1, "int8", 0)])


def case_mean(rng):
    shape = (1,) + tuple(int(v) for v in rng.integers(1, 7, 3))
    axes = [1, 2] if rng.random() < 0.6 else sorted({int(a) for a in rng.integers(1, 4, 2)})
    out = tuple(1 if k in axes else s for k, s in enumerate(shape))
    x = _act_tensor(rng, shape)
    y = _act_tensor(rng, out) if rng.random() < 0.7 else Tensor(out, np.int8, x.scales, x.zero_points)
    tensors = [x, Tensor((len(axes),), np.int32, data=np.array(axes, np.int32)), y]
    return build_model("MEAN", tensors, [0, 1], [2], [(0, "bool", True)])


def case_quantize(rng):
    shape = (1, int(rng.integers(1, 300)))
    if rng.random() < 0.5:
        x = Tensor(shape, np.float32)
    else:
        x = _act_tensor(rng, shape)
    return build_model("QUANTIZE", [x, _act_tensor(rng, shape)], [0], [1])


def case_dequantize(rng):
    shape = (1, int(rng.integers(1, 300)))
    return build_model("DEQUANTIZE", [_act_tensor(rng, shape), Tensor(shape, np.float32)], [0], [1])


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def _input(rng, detail) -> np.ndarray:
    if detail["dtype"] == np.float32:
        # Values across and beyond the int8 range, including exact .5 ties.
        base = rng.normal(0.0, 3.0, detail["shape"]).astype(np.float32)
        base.reshape(-1)[::7] = np.float32(0.5) * np.float32(rng.integers(-300, 300))
        return base
    return _s8(rng, detail["shape"])


@pytest.mark.parametrize("resolver", sorted(RESOLVERS))
@pytest.mark.parametrize("op", sorted(CASES))
def test_generated_case_equals_litert(op, resolver):
    resolver_type, rounding = RESOLVERS[resolver]
    rng = np.random.default_rng(sum(map(ord, op)))
    for case in range(CASES_PER_OP):
        model = CASES[op](rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            interp = litert.Interpreter(model_content=model, experimental_preserve_all_tensors=True,
                                        experimental_op_resolver_type=resolver_type)
        interp.allocate_tensors()
        for detail in interp.get_input_details():
            interp.set_tensor(detail["index"], _input(rng, detail))
        interp.invoke()
        ops = interp._get_ops_details()
        options = read_operator_options(model, [o["op_name"] for o in ops])
        result = run_op(interp, ops[0], options[0], rounding)
        if resolver == "optimized" and op in OPTIMIZED_QUIRKS:
            mismatch = OPTIMIZED_QUIRKS[op](interp, ops[0], options[0], result)
        else:
            mismatch = first_mismatch(result.ours, result.theirs)
        assert mismatch is None, f"{op} case {case} ({resolver}): {mismatch}; options {options[0]}"


def _quirk_requantize(interp, op, options, result):
    x = interp.get_tensor(op["inputs"][0])
    if x.dtype == np.float32:
        diff = np.abs(result.ours.astype(np.int32) - result.theirs.astype(np.int32))
        return None if diff.max() <= 1 else f"float quantize differs by {diff.max()}"
    details = interp.get_tensor_details()
    qi = details[op["inputs"][0]]["quantization_parameters"]
    qo = details[op["outputs"][0]]["quantization_parameters"]
    m, s = quantize_multiplier(float(qi["scales"][0]) / float(qo["scales"][0]))
    tail = np.frombuffer(K.requantize_s8(x, int(qi["zero_points"][0]), int(qo["zero_points"][0]), m, s,
                                         K.ROUNDING_DOUBLE), dtype=np.int8)
    body = x.size - x.size % 16
    ours = np.concatenate([result.ours.reshape(-1)[:body], tail[body:]])
    return first_mismatch(ours, result.theirs.reshape(-1))


def _quirk_dequantize(interp, op, options, result):
    ours, theirs = result.ours.reshape(-1), result.theirs.reshape(-1)
    body = ours.size - ours.size % 8
    tail = first_mismatch(ours[body:], theirs[body:])
    if tail is not None:
        return f"tail {tail}"
    # Two roundings of terms up to 128 * scale: an absolute error bound, not a relative one.
    scale = float(interp.get_tensor_details()[op["inputs"][0]]["quantization_parameters"]["scales"][0])
    err = np.abs(ours[:body].astype(np.float64) - theirs[:body].astype(np.float64))
    bound = 256 * scale * 2.0 ** -23
    return None if err.size == 0 or err.max() <= bound else f"body differs by {err.max()} > {bound}"


def _quirk_mean(interp, op, options, result):
    diff = np.abs(result.ours.astype(np.int32) - result.theirs.astype(np.int32))
    return None if diff.max() <= 1 else f"differs by {diff.max()} from LiteRT's float mean"


def _quirk_depthwise(interp, op, options, result):
    runs = [run_op(interp, op, options, {"DEPTHWISE_CONV_2D": mode}).ours.reshape(-1)
            for mode in (K.ROUNDING_HALF_UP, K.ROUNDING_DOUBLE)]
    theirs = result.theirs.reshape(-1)
    bad = np.flatnonzero((runs[0] != theirs) & (runs[1] != theirs))
    if bad.size == 0:
        return None
    i = int(bad[0])
    return f"element {i}: half-up {runs[0][i]}, double {runs[1][i]}, LiteRT {theirs[i]} ({bad.size} differ)"


OPTIMIZED_QUIRKS = {"depthwise": _quirk_depthwise, "quantize": _quirk_requantize, "dequantize": _quirk_dequantize, "mean": _quirk_mean}
