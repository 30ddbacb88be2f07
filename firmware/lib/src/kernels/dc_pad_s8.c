/* dc_pad_s8.c: int8 PAD / PADV2 over up to 4 dimensions with a constant pad value. */
#include "dc_kernel_checks.h"

dc_status_t dc_pad_s8(const dc_pad_params_t *params,
                      const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                      const dc_dims_t *output_dims, int8_t *output, int32_t output_len)
{
    int32_t in_count = 0, out_count = 0;
    dc_status_t st;
    if (params == NULL) {
        return DC_ERR_ARG;
    }
    if ((st = dc_dims_count(input_dims, &in_count)) != DC_OK || (st = dc_dims_count(output_dims, &out_count)) != DC_OK) {
        return st;
    }
    const int32_t in_d[4] = {input_dims->n, input_dims->h, input_dims->w, input_dims->c};
    const int32_t out_d[4] = {output_dims->n, output_dims->h, output_dims->w, output_dims->c};
    for (int k = 0; k < 4; ++k) {
        if (params->before[k] < 0 || params->after[k] < 0) {
            return DC_ERR_ARG;
        }
        if ((int64_t)in_d[k] + params->before[k] + params->after[k] != out_d[k]) {
            return DC_ERR_SHAPE;
        }
    }
    if ((st = dc_check_buffer(input, input_len, in_count)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, out_count)) != DC_OK) {
        return st;
    }
    int32_t o = 0;
    for (int32_t b = 0; b < out_d[0]; ++b) {
        const int32_t ib = b - params->before[0];
        for (int32_t y = 0; y < out_d[1]; ++y) {
            const int32_t iy = y - params->before[1];
            for (int32_t x = 0; x < out_d[2]; ++x) {
                const int32_t ix = x - params->before[2];
                const int inside = ib >= 0 && ib < in_d[0] && iy >= 0 && iy < in_d[1] && ix >= 0 && ix < in_d[2];
                const int8_t *row = inside ? input + (((int64_t)ib * in_d[1] + iy) * in_d[2] + ix) * in_d[3] : NULL;
                for (int32_t c = 0; c < out_d[3]; ++c, ++o) {
                    const int32_t ic = c - params->before[3];
                    output[o] = (row != NULL && ic >= 0 && ic < in_d[3]) ? row[ic] : params->pad_value;
                }
            }
        }
    }
    return DC_OK;
}
