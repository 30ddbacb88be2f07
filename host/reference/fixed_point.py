"""Fixed-point arithmetic of TensorFlow Lite's int8 kernels, vectorised in int64 numpy.

Each function reproduces the C++ of TFLite's `kernels/internal/common.h`,
`quantization_util.cc` and gemmlowp's `fixedpoint.h` bit for bit, on int32 values carried in
int64 arrays (C's truncating division and arithmetic right shifts included). This is the one
place these helpers live; every kernel of `host.reference` uses them.
Spec: https://ai.google.dev/edge/litert/models/quantization_spec
"""
from __future__ import annotations

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of int64 values to the int32 range (what C int32 overflow does)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _trunc_div_pow2(x: np.ndarray, bits: int) -> np.ndarray:
    """C's `x / (1 << bits)` (rounds toward zero) for int64 `x`."""
    return np.where(x >= 0, x >> bits, -((-x) >> bits))


def round_half_away(x) -> np.ndarray:
    """std::round / TfLiteRound: to nearest, ties away from zero (exact for float32 inputs)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul for int32: round(a * b / 2**31), saturated."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = _trunc_div_pow2(ab + nudge, 31)
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, high)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2**exponent rounded to nearest, ties away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def saturating_left_shift32(x, exponent: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent on int32 values."""
    x = np.asarray(x, dtype=np.int64)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier, double-rounding form (the default build).

    SaturatingRoundingDoublingHighMul(x << max(shift, 0), multiplier), then
    RoundingDivideByPOT(-min(shift, 0)): x * multiplier * 2**(shift - 31), rounded twice.
    LiteRT 2.3's reference CONV_2D, DEPTHWISE_CONV_2D, ADD, MUL, SOFTMAX, ... compute this.
    Per-channel `multiplier`/`shift` broadcast against `x`.
    """
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    scaled = wrap_int32(x << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scaled, multiplier), right)


def multiply_by_quantized_multiplier_single_rounding(x, multiplier, shift) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier, single-rounding form (TFLITE_SINGLE_ROUNDING).

    (x * multiplier + 2**(30 - shift)) >> (31 - shift): one 64-bit product, ties toward
    +infinity. LiteRT 2.3's int8 FULLY_CONNECTED computes this (measured on ad01: 0 of 50,160
    outputs differ; 368 differ with the double-rounding form).
    """
    x = np.asarray(x, dtype=np.int64)
    total_shift = 31 - np.asarray(shift, dtype=np.int64)
    rounding = np.int64(1) << (total_shift - 1)
    return (x * np.asarray(multiplier, dtype=np.int64) + rounding) >> total_shift


def quantize_multiplier(real) -> tuple[np.ndarray, np.ndarray]:
    """TFLite QuantizeMultiplier: real = multiplier * 2**(shift - 31), multiplier in [2**30, 2**31).

    Accepts a scalar or an array of float64 multipliers; returns int64 arrays (multiplier,
    shift) of the same shape. Zero maps to (0, 0); shifts below -31 flush to (0, 0);
    shifts above 30 saturate to (2**31 - 1, 30) (the single-rounding form's limit).
    """
    real = np.asarray(real, dtype=np.float64)
    mantissa, exponent = np.frexp(real)
    q = round_half_away(mantissa * float(1 << 31)).astype(np.int64)
    exponent = exponent.astype(np.int64)
    carry = q == (1 << 31)
    q = np.where(carry, q // 2, q)
    exponent = np.where(carry, exponent + 1, exponent)
    tiny = exponent < -31
    q = np.where(tiny | (real == 0), 0, q)
    exponent = np.where(tiny | (real == 0), 0, exponent)
    huge = exponent > 30  # single rounding supports shifts up to 30: saturate
    q = np.where(huge, INT32_MAX, q)
    exponent = np.where(huge, 30, exponent)
    return q, exponent


def quantize_multiplier_scalar(real: float) -> tuple[int, int]:
    """`quantize_multiplier` for one Python float; returns Python ints."""
    q, shift = quantize_multiplier(np.float64(real))
    return int(q), int(shift)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLite CalculateInputRadius: largest |input difference| that does not saturate."""
    max_input_rescaled = (
        1.0 * ((1 << input_integer_bits) - 1) * float(1 << (total_signed_bits - input_integer_bits))
        / float(1 << input_left_shift)
    )
    return int(np.floor(max_input_rescaled))


# -- gemmlowp transcendental functions on FixedPoint<int32, integer_bits> raw values ---------

def _fx_mul(a, b) -> np.ndarray:
    return saturating_rounding_doubling_high_mul(a, b)


def _rescale(raw, src_integer_bits: int, dst_integer_bits: int) -> np.ndarray:
    """gemmlowp Rescale<dst>(FixedPoint<int32, src>): multiply by 2**(src - dst), saturating."""
    exponent = src_integer_bits - dst_integer_bits
    if exponent > 0:
        return saturating_left_shift32(raw, exponent)
    if exponent < 0:
        return rounding_divide_by_pot(raw, -exponent)
    return np.asarray(raw, dtype=np.int64)


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """gemmlowp: exp(a) for a in [-1/4, 0), Q0.31 in and out (Taylor series around -1/8)."""
    constant_term = 1895147668
    constant_1_over_3 = 715827883
    x = np.asarray(a, dtype=np.int64) + (1 << 28)
    x2 = _fx_mul(x, x)
    x3 = _fx_mul(x2, x)
    x4 = _fx_mul(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(_fx_mul(x4_over_4 + x3, constant_1_over_3) + x2, 1)
    return constant_term + _fx_mul(constant_term, x + poly)


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """gemmlowp exp_on_negative_values: exp(a) for a <= 0 in Q(integer_bits), result Q0.31."""
    a = np.asarray(a, dtype=np.int64)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        _rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0))
    remainder = a_mod_quarter_minus_one_quarter - a
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = np.int64(1) << (fractional_bits + exponent)
            result = np.where((remainder & bit) != 0, _fx_mul(result, multiplier), result)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))  # -32.0 in Q(integer_bits)
        result = np.where(a < clamp, 0, result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """gemmlowp: 1 / (1 + a) for a in [0, 1), Q0.31 in, Q0.31 out (Newton-Raphson)."""
    a = np.asarray(a, dtype=np.int64)
    total = a + INT32_MAX  # RoundingHalfSum(a, One) in int64
    half_denominator = np.where(total >= 0, (total + 1) // 2, -((-(total - 1)) // 2))
    x = 1515870810 + _fx_mul(half_denominator, -1010580540)  # Q2.29
    one_q2 = 1 << 29
    for _ in range(3):
        half_denominator_times_x = _fx_mul(half_denominator, x)
        one_minus = one_q2 - half_denominator_times_x
        x = x + saturating_left_shift32(_fx_mul(x, one_minus), 2)
    return saturating_left_shift32(x, 1)  # ExactMulByPot<-1> then Rescale<0>


def logistic(a, integer_bits: int) -> np.ndarray:
    """gemmlowp logistic: 1 / (1 + exp(-a)) for a in Q(integer_bits), result Q0.31."""
    a = np.asarray(a, dtype=np.int64)
    positive = a > 0
    abs_a = np.where(positive, a, -a)
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-abs_a, integer_bits))
    if_negative = INT32_MAX - if_positive
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def count_leading_zeros32(x) -> np.ndarray:
    """Leading zero bits of non-negative int32 values (32 for zero)."""
    x = np.asarray(x, dtype=np.int64).copy()
    width = np.zeros(x.shape, dtype=np.int64)  # bit width of x
    for step in (16, 8, 4, 2, 1):
        wide = x >= (np.int64(1) << step)
        width = np.where(wide, width + step, width)
        x = np.where(wide, x >> step, x)
    width = width + (x > 0)
    return 32 - width


def get_reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite GetReciprocal: (1/x as Q0.31 scaled by 2**num_bits_over_unit, num_bits_over_unit)."""
    x = np.asarray(x, dtype=np.int64)
    headroom_plus_one = count_leading_zeros32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31)
    shifted_sum_minus_one = wrap_int32(shifted)
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit
