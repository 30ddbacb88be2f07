/* dc_fixed_point.h: TFLite's fixed-point helpers for int8 kernels (gemmlowp semantics).
 *
 * Every function here is pure and total: out-of-range arguments give a defined result (documented
 * per function), never undefined behaviour. Overflowing int32 products wrap modulo 2^32 exactly as
 * TFLite's compiled code does on two's-complement targets.
 * Spec: https://ai.google.dev/edge/litert/models/quantization_spec and gemmlowp/fixedpoint.
 */
#ifndef DC_FIXED_POINT_H
#define DC_FIXED_POINT_H

#include <stdint.h>

/* round((a * b) / 2^31), ties away from zero; INT32_MIN * INT32_MIN saturates to INT32_MAX. */
int32_t dc_saturating_rounding_doubling_high_mul(int32_t a, int32_t b);

/* x / 2^exponent rounded to nearest, ties away from zero. exponent is clamped to [0, 31]. */
int32_t dc_rounding_divide_by_pot(int32_t x, int exponent);

/* TFLite MultiplyByQuantizedMultiplier: x * multiplier * 2^(shift - 31) with gemmlowp's double
 * rounding. multiplier is a Q31 value in [0, 2^31); shift in [-31, 30] (clamped to that range).
 * For shift > 0 the left shift of x wraps modulo 2^32 like TFLite's int32 multiply. */
int32_t dc_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);

/* How a Q31 requantization rounds. LiteRT 2.3 itself uses all three (docs/kernels.md):
 *   DC_ROUNDING_DOUBLE   gemmlowp SRDHM then RoundingDivideByPOT (ties away from zero): TFLite's
 *                        reference CONV_2D / DEPTHWISE_CONV_2D, TFLite Micro, CMSIS-NN by default.
 *   DC_ROUNDING_SINGLE   (x * m + 2^(30 - shift)) >> (31 - shift), ties toward +inf: TFLite built
 *                        with TFLITE_SINGLE_ROUNDING, ruy's reference path; LiteRT's reference
 *                        int8 FULLY_CONNECTED.
 *   DC_ROUNDING_HALF_UP  SRDHM, then a right shift rounding ties toward +inf: ruy's x86 kernels,
 *                        i.e. LiteRT's default (optimized) int8 CONV_2D and FULLY_CONNECTED. */
typedef enum {
    DC_ROUNDING_DOUBLE = 0,
    DC_ROUNDING_SINGLE = 1,
    DC_ROUNDING_HALF_UP = 2,
} dc_rounding_t;

/* x * multiplier * 2^(shift - 31) rounded as `rounding` says (an unknown mode rounds DOUBLE).
 * multiplier in [0, 2^31), shift clamped to [-31, 30]; a result outside int32 saturates in SINGLE. */
int32_t dc_requantize_s32(int32_t x, int32_t multiplier, int shift, dc_rounding_t rounding);

/* TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp (used by ADD): shift <= 0 expected. */
int32_t dc_multiply_by_quantized_multiplier_smaller_than_one_exp(int32_t x, int32_t multiplier, int shift);

/* 16-bit variants used by HARD_SWISH (gemmlowp int16 fixed point). */
int16_t dc_saturating_rounding_doubling_high_mul_s16(int16_t a, int16_t b);
int16_t dc_saturating_doubling_high_mul_s16(int16_t a, int16_t b);
int16_t dc_rounding_divide_by_pot_s16(int16_t x, int exponent);
int16_t dc_saturating_left_shift_s16(int16_t x, int amount);

/* Parameter preparation (no libm needed; used by the host and by a device that prepares itself):
 * TFLite QuantizeMultiplier. Splits `real` >= 0 into a Q31 multiplier in [2^30, 2^31) and a shift
 * so that real ~= multiplier * 2^(shift - 31). 0 -> (0, 0); shift < -31 -> (0, 0); shift > 30 ->
 * (INT32_MAX, 30). Negative or non-finite `real` -> (0, 0) and returns -1, else 0. */
int dc_quantize_multiplier(double real, int32_t *multiplier, int *shift);

/* TFLite DownScaleInt32ToInt16Multiplier: a Q31 multiplier rounded to Q15. */
int16_t dc_downscale_multiplier_s16(int32_t multiplier);

/* Clamp an int32 to [lo, hi]. */
static inline int32_t dc_clamp_s32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* a + b saturated to the int32 range. Adding a zero point to a requantized value overflows
 * only for parameters no valid model has (a fuzzed graph); saturating keeps that defined, and
 * the result is clamped to the activation range anyway. Equal to a + b whenever that fits. */
static inline int32_t dc_add_sat_s32(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return sum > INT32_MAX ? INT32_MAX : (sum < INT32_MIN ? INT32_MIN : (int32_t)sum);
}

#endif /* DC_FIXED_POINT_H */
