/* dc_relu_s8.c: int8 RELU / RELU6 / RELU_N1_TO_1 as a requantizing clamp (TFLite ReluX). */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

dc_status_t dc_relu_s8(const dc_relu_params_t *params, int32_t size,
                       const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len)
{
    dc_status_t st;
    if (params == NULL) {
        return DC_ERR_ARG;
    }
    const dc_relu_params_t *p = params;
    if (p->input_zero_point < -128 || p->input_zero_point > 127 || p->output_zero_point < -128 ||
        p->output_zero_point > 127 || !dc_act_ok(p->act_min, p->act_max) ||
        !dc_shift_ok(p->output_multiplier, p->output_shift)) {
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
        const int32_t v = p->output_zero_point +
                          dc_multiply_by_quantized_multiplier(input[i] - p->input_zero_point, p->output_multiplier, p->output_shift);
        output[i] = (int8_t)dc_clamp_s32(v, p->act_min, p->act_max);
    }
    return DC_OK;
}
