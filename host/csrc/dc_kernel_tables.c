/* dc_kernel_tables.c: float lookup tables of the LUT-based int8 kernels (softmax, logistic), host-only (needs libm); the host ships the tables in the model.
 *
 * Kept out of kernels/ because it calls expf: the host builds these tables with the same libm as
 * LiteRT, and a device either receives them or links a libm (whose expf may differ in the last
 * ulp, see docs/kernels.md). */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "dc_kernels.h"

dc_status_t dc_softmax_s8_populate_table(float input_scale, float beta, float *table, int32_t table_len)
{
    if (table == NULL || !(input_scale > 0.0f) || !(beta > 0.0f) || !(input_scale <= FLT_MAX) || !(beta <= FLT_MAX)) {
        return DC_ERR_ARG;
    }
    if (table_len < DC_SOFTMAX_TABLE_LEN) {
        return DC_ERR_BUFFER;
    }
    const float scale = -input_scale * beta;
    for (int32_t v = 0; v < DC_SOFTMAX_TABLE_LEN; ++v) {
        table[DC_SOFTMAX_TABLE_LEN - 1 - v] = expf(scale * (float)v);
    }
    return DC_OK;
}

dc_status_t dc_logistic_s8_populate_lut(float input_scale, int32_t input_zero_point, float output_scale,
                                        int32_t output_zero_point, int8_t *lut, int32_t lut_len)
{
    if (lut == NULL || !(input_scale > 0.0f) || !(output_scale > 0.0f) || !(input_scale <= FLT_MAX) ||
        !(output_scale <= FLT_MAX) || input_zero_point < -128 || input_zero_point > 127 || output_zero_point < -128 ||
        output_zero_point > 127) {
        return DC_ERR_ARG;
    }
    if (lut_len < DC_LUT_S8_LEN) {
        return DC_ERR_BUFFER;
    }
    const float inverse_scale = 1.0f / output_scale;
    for (int32_t v = -128; v <= 127; ++v) {
        const float x = input_scale * (float)(v - input_zero_point);
        const float y = 1.0f / (1.0f + expf(-x));
        const float rescaled = roundf(y * inverse_scale);
        /* rescaled <= 1 / output_scale: clamp in float before converting (no overflow UB). */
        const float shifted = rescaled + (float)output_zero_point;
        const int32_t q = shifted >= 127.0f ? 127 : (shifted <= -128.0f ? -128 : (int32_t)shifted);
        lut[(uint8_t)(int8_t)v] = (int8_t)q;
    }
    return DC_OK;
}

