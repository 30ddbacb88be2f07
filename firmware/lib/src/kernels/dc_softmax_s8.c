/* dc_softmax_s8.c: int8 SOFTMAX as LiteRT computes it (float exp table, float normalisation). */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

#include <float.h>

/* round-half-away-from-zero of 0 <= x < 2^21 (std::round on the values softmax produces). */
static int32_t round_nonnegative(float x)
{
    int32_t t = (int32_t)x;          /* truncation; exact for x < 2^24 */
    if (x - (float)t >= 0.5f) {       /* x - t is exact (same binade or smaller) */
        ++t;
    }
    return t;
}

dc_status_t dc_softmax_s8(const dc_softmax_params_t *params, int32_t rows, int32_t depth,
                          const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len)
{
    if (params == NULL || params->table == NULL) {
        return DC_ERR_ARG;
    }
    /* The scale bound keeps every rescaled probability below 2^20 (int8 softmax uses 1/256). */
    if (!(params->output_scale >= 1.0f / 1048576.0f && params->output_scale <= FLT_MAX) ||
        params->output_zero_point < -128 || params->output_zero_point > 127) {
        return DC_ERR_ARG;
    }
    if (rows < 1 || depth < 1) {
        return DC_ERR_SHAPE;
    }
    if ((int64_t)rows * depth > INT32_MAX) {
        return DC_ERR_OVERSIZE;
    }
    dc_status_t st;
    if ((st = dc_check_buffer(input, input_len, rows * depth)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, rows * depth)) != DC_OK) {
        return st;
    }
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *in = input + (int64_t)r * depth;
        int8_t *out = output + (int64_t)r * depth;
        int32_t max_val = -128;
        for (int32_t j = 0; j < depth; ++j) {
            max_val = in[j] > max_val ? in[j] : max_val;
        }
        /* table[255 - max + x] = exp(-scale * beta * (max - x)); the index is in [0, 255]. */
        const float *t = params->table + (DC_SOFTMAX_TABLE_LEN - 1 - max_val);
        float sum_exp = 0.0f;
        for (int32_t j = 0; j < depth; ++j) {
            sum_exp += t[in[j]];
        }
        const float inv_sum_exp = 1.0f / (sum_exp * params->output_scale);
        for (int32_t j = 0; j < depth; ++j) {
            const float prob = t[in[j]] * inv_sum_exp;
            const int32_t q = round_nonnegative(prob) + params->output_zero_point;
            out[j] = (int8_t)dc_clamp_s32(q, -128, 127);
        }
    }
    return DC_OK;
}
