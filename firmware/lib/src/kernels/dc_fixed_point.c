/* dc_fixed_point.c: TFLite/gemmlowp fixed-point arithmetic shared by all int8 kernels. */
#include "dc_fixed_point.h"

#include <float.h>

int32_t dc_saturating_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 division truncates toward zero, as gemmlowp relies on. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t dc_rounding_divide_by_pot(int32_t x, int exponent)
{
    if (exponent <= 0) {
        return x;
    }
    if (exponent > 31) {
        exponent = 31;
    }
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* Arithmetic right shift of a negative int32 (implementation-defined; arithmetic on gcc/clang). */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t dc_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift)
{
    if (shift > 30) {
        shift = 30;
    } else if (shift < -31) {
        shift = -31;
    }
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left_shift); /* wraps like TFLite's x * (1 << s) */
    return dc_rounding_divide_by_pot(dc_saturating_rounding_doubling_high_mul(shifted, multiplier), right_shift);
}

int32_t dc_requantize_s32(int32_t x, int32_t multiplier, int shift, dc_rounding_t rounding)
{
    if (shift > 30) {
        shift = 30;
    } else if (shift < -31) {
        shift = -31;
    }
    if (rounding == DC_ROUNDING_SINGLE) {
        const int total_shift = 31 - shift; /* 1 .. 62 */
        /* |x * m| <= 2^62 and the rounding term <= 2^61: no int64 overflow. */
        const int64_t r = ((int64_t)x * multiplier + ((int64_t)1 << (total_shift - 1))) >> total_shift;
        return r > INT32_MAX ? INT32_MAX : (r < INT32_MIN ? INT32_MIN : (int32_t)r);
    }
    if (rounding == DC_ROUNDING_HALF_UP) {
        const int left_shift = shift > 0 ? shift : 0;
        const int right_shift = shift > 0 ? 0 : -shift;
        const int32_t y = dc_saturating_rounding_doubling_high_mul((int32_t)((uint32_t)x << left_shift), multiplier);
        if (right_shift == 0) {
            return y;
        }
        return (int32_t)(((int64_t)y + ((int64_t)1 << (right_shift - 1))) >> right_shift);
    }
    return dc_multiply_by_quantized_multiplier(x, multiplier, shift);
}

int32_t dc_multiply_by_quantized_multiplier_smaller_than_one_exp(int32_t x, int32_t multiplier, int shift)
{
    return dc_rounding_divide_by_pot(dc_saturating_rounding_doubling_high_mul(x, multiplier), -shift);
}

int16_t dc_saturating_rounding_doubling_high_mul_s16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

int16_t dc_saturating_doubling_high_mul_s16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

int16_t dc_rounding_divide_by_pot_s16(int16_t x, int exponent)
{
    if (exponent <= 0) {
        return x;
    }
    if (exponent > 15) {
        exponent = 15;
    }
    const int16_t mask = (int16_t)((1 << exponent) - 1);
    const int16_t remainder = (int16_t)(x & mask);
    const int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

int16_t dc_saturating_left_shift_s16(int16_t x, int amount)
{
    if (amount < 0) {
        amount = 0;
    } else if (amount > 16) {
        amount = 16;
    }
    const int64_t r = (int64_t)x * ((int64_t)1 << amount);
    return (int16_t)(r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : r));
}

int dc_quantize_multiplier(double real, int32_t *multiplier, int *shift)
{
    *multiplier = 0;
    *shift = 0;
    if (!(real >= 0.0 && real <= DBL_MAX)) {
        return -1;
    }
    if (real == 0.0) {
        return 0;
    }
    /* frexp without libm: scale by powers of two (exact) until q is in [0.5, 1). */
    int exp = 0;
    double q = real;
    while (q >= 1.0) {
        q *= 0.5;
        ++exp;
    }
    while (q < 0.5) {
        q *= 2.0;
        --exp;
    }
    /* round half away from zero of a positive value below 2^31 (see docs/kernels.md). */
    int64_t q_fixed = (int64_t)(q * 2147483648.0 + 0.5);
    if (q_fixed == ((int64_t)1 << 31)) {
        q_fixed /= 2;
        ++exp;
    }
    if (exp < -31) {
        return 0;
    }
    if (exp > 30) {
        exp = 30;
        q_fixed = ((int64_t)1 << 31) - 1;
    }
    *multiplier = (int32_t)q_fixed;
    *shift = exp;
    return 0;
}

int16_t dc_downscale_multiplier_s16(int32_t multiplier)
{
    const int32_t rounding = 1 << 15;
    if (multiplier >= INT32_MAX - rounding) {
        return INT16_MAX;
    }
    return (int16_t)((multiplier + rounding) >> 16);
}
