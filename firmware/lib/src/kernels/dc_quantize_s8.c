/* dc_quantize_s8.c: QUANTIZE float -> int8 (round half away from zero) and int8 -> int8 requantize. */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

#include <float.h>

/* roundf for |x| < 2^23 without libm: truncate, then step away from zero on a fraction >= 0.5. */
static int32_t round_half_away(float x)
{
    int32_t t = (int32_t)x;
    const float frac = x - (float)t; /* exact */
    if (frac >= 0.5f) {
        ++t;
    } else if (frac <= -0.5f) {
        --t;
    }
    return t;
}

dc_status_t dc_quantize_f32_s8(float scale, int32_t zero_point, int32_t size,
                               const float *input, int32_t input_len, int8_t *output, int32_t output_len)
{
    dc_status_t st;
    if (!(scale > 0.0f && scale <= FLT_MAX) || zero_point < -128 || zero_point > 127) {
        return DC_ERR_ARG;
    }
    if (size < 1) {
        return DC_ERR_SHAPE;
    }
    if ((st = dc_check_buffer(input, input_len, size)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, size)) != DC_OK) {
        return st;
    }
    for (int32_t i = 0; i < size; ++i) {
        const float r = input[i] / scale;
        /* Clamp in float first: the int conversion of a huge value or NaN would be undefined. */
        int32_t q;
        if (r >= 1024.0f) {
            q = 1024;
        } else if (r <= -1024.0f) {
            q = -1024;
        } else if (r == r) {
            q = round_half_away(r);
        } else {
            q = 0; /* NaN: LiteRT's result is unspecified; quantize to the zero point */
        }
        output[i] = (int8_t)dc_clamp_s32(q + zero_point, -128, 127);
    }
    return DC_OK;
}

dc_status_t dc_requantize_s8(int32_t input_zero_point, int32_t output_zero_point, int32_t multiplier,
                             int32_t shift, dc_rounding_t rounding, int32_t size,
                             const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len)
{
    dc_status_t st;
    if (input_zero_point < -128 || input_zero_point > 127 || output_zero_point < -128 || output_zero_point > 127 ||
        !dc_shift_ok(multiplier, shift) || (unsigned)rounding > DC_ROUNDING_HALF_UP) {
        return DC_ERR_ARG;
    }
    if (size < 1) {
        return DC_ERR_SHAPE;
    }
    if ((st = dc_check_buffer(input, input_len, size)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, size)) != DC_OK) {
        return st;
    }
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = dc_add_sat_s32(dc_requantize_s32(input[i] - input_zero_point, multiplier, shift, rounding), output_zero_point);
        output[i] = (int8_t)dc_clamp_s32(v, -128, 127);
    }
    return DC_OK;
}
