/* dc_softmax_fixed_s8.c: int8 SOFTMAX in gemmlowp fixed point, as TFLite's reference_ops::Softmax (and TFLite Micro). */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12

static int32_t mul(int32_t a, int32_t b)
{
    return dc_saturating_rounding_doubling_high_mul(a, b);
}

/* x / 2^exponent, ties away from zero, for 0 <= exponent <= 62 (no clamping: exponents above 31 occur). */
static int64_t divide_by_pot(int64_t x, int exponent)
{
    const int64_t mask = ((int64_t)1 << exponent) - 1;
    const int64_t remainder = x & mask;
    const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for 0 < exponent < 31. */
static int32_t shift_left_saturating(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_quarter(int32_t a)
{
    const int32_t constant_term = 1895147668;     /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = a + (1 << 28);               /* a + 1/8 */
    const int32_t x2 = mul(x, x);
    const int32_t x3 = mul(x2, x);
    const int32_t x4 = mul(x2, x2);
    const int32_t x4_over_4 = (int32_t)divide_by_pot(x4, 2);
    const int32_t poly = (int32_t)divide_by_pot((int64_t)mul(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + mul(constant_term, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26; Q0.31 result (gemmlowp exp_on_negative_values<5>). */
static int32_t exp_negative(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int fractional_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod = (a & mask) - one_quarter;
    int32_t result = exp_quarter(shift_left_saturating(a_mod, SCALED_DIFF_INTEGER_BITS));
    const int32_t remainder = a_mod - a;
    for (int exponent = -2; exponent <= 4; exponent++) {
        if (remainder & ((int32_t)1 << (fractional_bits + exponent))) {
            result = mul(result, barrel[exponent + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out (Newton-Raphson). */
static int32_t one_over_one_plus(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + mul(half_denominator, -1010580540); /* 48/17 - 32/17 d, Q2.29 */
    for (int i = 0; i < 3; i++) {
        const int32_t one_minus = ((int32_t)1 << 29) - mul(half_denominator, x);
        x = x + shift_left_saturating(mul(x, one_minus), 2);
    }
    return shift_left_saturating(x, 1);
}

static int leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        n++;
    }
    return n;
}

dc_status_t dc_softmax_fixed_s8(const dc_softmax_fixed_params_t *params, int32_t rows, int32_t depth,
                                const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len)
{
    dc_status_t st;
    if (params == NULL) {
        return DC_ERR_ARG;
    }
    if (params->input_multiplier < 0 || params->input_left_shift < 0 || params->input_left_shift > 31) {
        return DC_ERR_ARG;
    }
    if (rows < 1 || depth < 1) {
        return DC_ERR_SHAPE;
    }
    if ((int64_t)rows * depth > INT32_MAX) {
        return DC_ERR_OVERSIZE;
    }
    if ((st = dc_check_buffer(input, input_len, rows * depth)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, rows * depth)) != DC_OK) {
        return st;
    }
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *in = input + (int64_t)r * depth;
        int8_t *out = output + (int64_t)r * depth;
        int32_t max_val = -128;
        int64_t total = 0;
        for (int32_t j = 0; j < depth; ++j) {
            max_val = in[j] > max_val ? in[j] : max_val;
        }
        for (int32_t j = 0; j < depth; ++j) {
            const int32_t diff = (int32_t)in[j] - max_val;
            if (diff >= params->diff_min) {
                const int32_t scaled = mul((int32_t)((uint32_t)diff << params->input_left_shift),
                                           params->input_multiplier);
                total += divide_by_pot(exp_negative(scaled), ACCUMULATION_INTEGER_BITS); /* Rescale<12> */
            }
        }
        if (total > INT32_MAX) {
            total = INT32_MAX;
        }
        /* GetReciprocal: 1/total as Q0.31 scaled by 2^bits_over_unit. total >= 2^19 (the max term). */
        const int headroom_plus_one = leading_zeros((uint32_t)total);
        const int bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom_plus_one;
        const int32_t shifted = (int32_t)(((uint32_t)total << headroom_plus_one) - 0x80000000u);
        const int32_t reciprocal = one_over_one_plus(shifted);
        for (int32_t j = 0; j < depth; ++j) {
            const int32_t diff = (int32_t)in[j] - max_val;
            int32_t q = -128;
            if (diff >= params->diff_min) {
                const int32_t scaled = mul((int32_t)((uint32_t)diff << params->input_left_shift),
                                           params->input_multiplier);
                const int64_t v = divide_by_pot(mul(reciprocal, exp_negative(scaled)), bits_over_unit + 31 - 8) - 128;
                q = v < -128 ? -128 : v > 127 ? 127 : (int32_t)v;
            }
            out[j] = (int8_t)q;
        }
    }
    return DC_OK;
}
