/* dc_hard_swish_s8.c: int8 HARD_SWISH, x * relu6(x + 3) / 6 in TFLite's int16 fixed point. */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

#include <float.h>

dc_status_t dc_hard_swish_s8_prepare(float input_scale, int32_t input_zero_point, float output_scale,
                                     int32_t output_zero_point, dc_hard_swish_params_t *params)
{
    if (params == NULL || !(input_scale > 0.0f && input_scale <= FLT_MAX) ||
        !(output_scale > 0.0f && output_scale <= FLT_MAX) || input_zero_point < -128 || input_zero_point > 127 || output_zero_point < -128 ||
        output_zero_point > 127) {
        return DC_ERR_ARG;
    }
    const float hires_input_scale = (1.0f / 128.0f) * input_scale;
    const float reluish_scale = 3.0f / 32768.0f;
    int32_t m32 = 0;
    int exponent = 0;
    params->input_zero_point = input_zero_point;
    params->output_zero_point = output_zero_point;
    dc_quantize_multiplier((double)(hires_input_scale / output_scale), &m32, &exponent);
    params->output_multiplier_fixedpoint_int16 = dc_downscale_multiplier_s16(m32);
    params->output_multiplier_exponent = exponent;
    dc_quantize_multiplier((double)(hires_input_scale / reluish_scale), &m32, &exponent);
    params->reluish_multiplier_fixedpoint_int16 = dc_downscale_multiplier_s16(m32);
    params->reluish_multiplier_exponent = exponent;
    if (params->output_multiplier_exponent > 0) {
        return DC_ERR_UNSUPPORTED;
    }
    return DC_OK;
}

dc_status_t dc_hard_swish_s8(const dc_hard_swish_params_t *params, int32_t size,
                             const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len)
{
    dc_status_t st;
    if (params == NULL) {
        return DC_ERR_ARG;
    }
    const dc_hard_swish_params_t *p = params;
    if (p->input_zero_point < -128 || p->input_zero_point > 127 || p->output_zero_point < -128 ||
        p->output_zero_point > 127 || p->output_multiplier_exponent > 0 || p->output_multiplier_exponent < -15 ||
        p->reluish_multiplier_exponent < -15 || p->reluish_multiplier_exponent > 15) {
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
        const int16_t x = (int16_t)(input[i] - p->input_zero_point);
        const int16_t x_hires = (int16_t)(x * (1 << 7));  /* |x| <= 255: fits int16 */
        const int16_t x_preshift = dc_saturating_rounding_doubling_high_mul_s16(x_hires, p->output_multiplier_fixedpoint_int16);
        int16_t reluish = x_hires;
        if (p->reluish_multiplier_exponent > 0) {
            reluish = dc_saturating_left_shift_s16(reluish, p->reluish_multiplier_exponent - 1);
        }
        reluish = dc_saturating_rounding_doubling_high_mul_s16(reluish, p->reluish_multiplier_fixedpoint_int16);
        if (p->reluish_multiplier_exponent > 0) {
            reluish = dc_saturating_left_shift_s16(reluish, 1);
        }
        if (p->reluish_multiplier_exponent < 0) {
            reluish = dc_rounding_divide_by_pot_s16(reluish, -p->reluish_multiplier_exponent);
        }
        /* [-1, 1] in Q15 -> [0, 1] in Q15. */
        reluish = (int16_t)(((int32_t)reluish + (1 << 15)) >> 1);
        const int16_t preshift = dc_saturating_doubling_high_mul_s16(reluish, x_preshift);
        int32_t v = dc_rounding_divide_by_pot_s16(preshift, -p->output_multiplier_exponent);
        v = dc_add_sat_s32(v, p->output_zero_point);
        output[i] = (int8_t)dc_clamp_s32(v, -128, 127);
    }
    return DC_OK;
}
