"""Bad parameters reach the C kernels' checks and come back as the documented status, never a crash.

Each case passes one wrong thing (a NULL buffer via None, a buffer one element short, a shape that
does not fit, an out-of-range parameter) and expects host.errors.KernelError with that status.
"""
import numpy as np
import pytest

from host import _kernels as K
from host.errors import KernelError

X = np.zeros((1, 5, 5, 2), np.int8)
W = np.ones((3, 3, 3, 2), np.int8)
B = np.zeros(3, np.int32)
M = np.full(3, 1 << 30, np.int32)
S = np.full(3, -1, np.int32)


def conv(**over):
    args = dict(input=X, input_shape=X.shape, filter=W, filter_shape=W.shape, bias=B, output_shape=(1, 3, 3, 3),
                multipliers=M, shifts=S, input_offset=0, output_offset=0)
    args.update(over)
    return K.conv_s8(**args)


def test_valid_conv_runs():
    out = np.frombuffer(conv(), np.int8)
    assert out.shape == (27,) and (out == 0).all()
    # 3x3x2 ones over an input of ones: 18, times 2^30 * 2^-1 / 2^31 = 1/4 -> 4.5 -> 5 (ties away).
    ones = np.ones_like(X)
    assert (np.frombuffer(conv(input=ones), np.int8) == 5).all()


@pytest.mark.parametrize("over, status", [
    (dict(input=None), "DC_ERR_ARG"),
    (dict(filter=None), "DC_ERR_ARG"),
    (dict(multipliers=None), "DC_ERR_ARG"),
    (dict(input=X.reshape(-1)[:-1]), "DC_ERR_BUFFER"),
    (dict(filter=W.reshape(-1)[:-1]), "DC_ERR_BUFFER"),
    (dict(bias=B[:2]), "DC_ERR_BUFFER"),
    (dict(output_len=26), "DC_ERR_BUFFER"),
    (dict(output_shape=(1, 5, 3, 3)), "DC_ERR_SHAPE"),
    (dict(output_shape=(1, 3, 3, 4)), "DC_ERR_SHAPE"),
    (dict(filter_shape=(3, 3, 3, 3)), "DC_ERR_SHAPE"),
    (dict(input_shape=(1, 0, 5, 2)), "DC_ERR_SHAPE"),
    (dict(multipliers=M[:2], shifts=S[:2]), "DC_ERR_SHAPE"),
    (dict(shifts=np.full(3, 31, np.int32)), "DC_ERR_ARG"),
    (dict(multipliers=np.full(3, -1, np.int32)), "DC_ERR_ARG"),
    (dict(stride=(0, 1)), "DC_ERR_ARG"),
    (dict(dilation=(1, 0)), "DC_ERR_ARG"),
    (dict(padding=(-1, 0)), "DC_ERR_ARG"),
    (dict(input_offset=300), "DC_ERR_ARG"),
    (dict(act_min=10, act_max=0), "DC_ERR_ARG"),
    (dict(rounding=7), "DC_ERR_ARG"),
    (dict(input_shape=(1, 1 << 16, 1 << 16, 2)), "DC_ERR_OVERSIZE"),
])
def test_conv_rejects(over, status):
    with pytest.raises(KernelError) as err:
        conv(**over)
    assert err.value.status == status


def test_every_kernel_rejects_null_input_and_short_output():
    x = np.zeros(16, np.int8)
    table = K.softmax_populate_table(0.1, 1.0)
    lut = K.logistic_populate_lut(0.1, 0, 1 / 256, -128)
    hs = K.hard_swish_prepare(0.05, 0, 0.05, 0)
    m, s = K.quantize_multiplier(0.5)
    calls = {
        "depthwise": lambda i, **k: K.depthwise_conv_s8(i, (1, 4, 4, 1), np.ones(9, np.int8), (1, 3, 3, 1), None,
                                                        (1, 2, 2, 1), M[:1], S[:1], 0, 0, **k),
        "fully_connected": lambda i, **k: K.fully_connected_s8(i, np.ones(16, np.int8), None, 1, 16, 1, M[:1], S[:1],
                                                               0, 0, 0, **k),
        "avgpool": lambda i, **k: K.avgpool_s8(i, (1, 4, 4, 1), (1, 2, 2, 1), (2, 2), (2, 2), **k),
        "maxpool": lambda i, **k: K.maxpool_s8(i, (1, 4, 4, 1), (1, 2, 2, 1), (2, 2), (2, 2), **k),
        "add": lambda i, **k: K.add_s8(i, (16,), x, (16,), (16,), 0, 0, 0, 20, m, -1, m, -1, m, -1, **k),
        "mul": lambda i, **k: K.mul_s8(i, (16,), x, (16,), (16,), 0, 0, 0, m, s, **k),
        "softmax": lambda i, **k: K.softmax_s8(i, 1, 16, table, 1 / 256, -128, **k),
        "logistic": lambda i, **k: K.logistic_s8(i if i is not None else None, lut, **k),
        "relu": lambda i, **k: K.relu_s8(i, 0, 0, m, s, 0, 127, **k),
        "hard_swish": lambda i, **k: K.hard_swish_s8(i, hs, **k),
        "pad": lambda i, **k: K.pad_s8(i, (16,), [0, 0, 0, 1], [0, 0, 0, 1], 0, **k),
        "concat": lambda i, **k: K.concat_s8([i, x], [(16,), (16,)], 3, (32,), **k),
        "mean": lambda i, **k: K.mean_s8(i, (1, 4, 4, 1), [0, 1, 1, 0], 0, 0, m, s, **k),
        "requantize": lambda i, **k: K.requantize_s8(i, 0, 0, m, s, **k),
        "dequantize": lambda i, **k: K.dequantize_s8(i, 0.1, 0, **k),
    }
    # Unary elementwise bindings take their size from the input, so only a NULL input is wrong there.
    sized_by_input = {"logistic", "relu", "hard_swish", "requantize", "dequantize"}
    for name, call in calls.items():
        call(x)  # valid
        with pytest.raises(KernelError) as err:
            call(None)
        assert err.value.status in ("DC_ERR_ARG", "DC_ERR_SHAPE"), f"{name}: {err.value.status}"
        if name not in sized_by_input:
            with pytest.raises(KernelError) as err:
                call(x[:15])
            assert err.value.status == "DC_ERR_BUFFER", f"{name}: {err.value.status}"
        # An output buffer one element short.
        need = len(call(x)) // (4 if name == "dequantize" else 1)
        with pytest.raises(KernelError) as err:
            call(x, output_len=need - 1)
        assert err.value.status == "DC_ERR_BUFFER", name


def test_table_builders_reject_bad_scales():
    with pytest.raises(KernelError) as err:
        K.softmax_populate_table(0.0, 1.0)
    assert err.value.status == "DC_ERR_ARG"
    with pytest.raises(KernelError) as err:
        K.logistic_populate_lut(0.1, 200, 1 / 256, -128)
    assert err.value.status == "DC_ERR_ARG"
    with pytest.raises(KernelError) as err:
        K.hard_swish_prepare(1.0, 0, 1e-6, 0)  # needs a left-shifting output multiplier
    assert err.value.status == "DC_ERR_UNSUPPORTED"
    with pytest.raises(KernelError) as err:
        K.softmax_s8(np.zeros(4, np.int8), 1, 4, np.zeros(10, np.float32), 1 / 256, -128)
    assert err.value.status == "DC_ERR_BUFFER"


def test_avgpool_window_outside_input_is_a_shape_error():
    with pytest.raises(KernelError) as err:
        K.avgpool_s8(np.zeros(4, np.int8), (1, 2, 2, 1), (1, 3, 3, 1), (1, 1), (1, 1), (1, 1))
    assert err.value.status == "DC_ERR_SHAPE"


@pytest.mark.parametrize("x, m, s, expect", [
    (100, 1 << 30, 0, 50), (-100, 1 << 30, 0, -50),
    # 1.25: SRDHM gives 2.5 -> 3 (ties up), then /2 = 1.5 -> 2 (ties away): double rounding.
    # -1.25: SRDHM's nudge 1 - 2^30 takes -2.5 to -2, then /2 = -1 exactly.
    (5, 1 << 30, -1, 2), (-5, 1 << 30, -1, -1),
    (3, 1 << 30, -1, 1), (-3, 1 << 30, -1, -1),  # 0.75 -> 1; -0.75 -> -1
    (1, 1 << 30, -31, 0), (2**31 - 1, 2**31 - 1, 0, 2**31 - 2),
])
def test_multiply_by_quantized_multiplier_known_values(x, m, s, expect):
    assert K.multiply_by_quantized_multiplier(x, m, s) == expect


def test_rounding_modes_differ_only_on_ties():
    # -6 * 0.25 = -1.5: double rounding and single rounding both see an exact tie.
    m = 1 << 30  # 0.5 in Q31
    assert K.multiply_by_quantized_multiplier(-6, m, -1, K.ROUNDING_DOUBLE) == -2  # away from zero
    assert K.multiply_by_quantized_multiplier(-6, m, -1, K.ROUNDING_SINGLE) == -1  # toward +inf
    assert K.multiply_by_quantized_multiplier(-6, m, -1, K.ROUNDING_HALF_UP) == -1
    assert K.multiply_by_quantized_multiplier(6, m, -1, K.ROUNDING_DOUBLE) == 2
    assert K.multiply_by_quantized_multiplier(6, m, -1, K.ROUNDING_SINGLE) == 2


def test_quantize_multiplier_matches_tflite():
    assert K.quantize_multiplier(0.0) == (0, 0)
    assert K.quantize_multiplier(0.5) == (1 << 30, 0)
    assert K.quantize_multiplier(1.0) == (1 << 30, 1)
    assert K.quantize_multiplier(2.0**-40) == (0, 0)            # shift < -31 flushes to zero
    assert K.quantize_multiplier(2.0**40) == (2**31 - 1, 30)    # shift > 30 saturates
    assert K.quantize_multiplier(1 - 2.0**-33) == (1 << 30, 1)  # rounds up to 2^31 -> renormalised
    with pytest.raises(ValueError):
        K.quantize_multiplier(-1.0)
