/* dc_avgpool_s8.c: int8 AVERAGE_POOL_2D (window mean rounded half away from zero, then clamp). */
#include "dc_fixed_point.h"
#include "dc_pool_common.h"

dc_status_t dc_avgpool_s8(const dc_pool_params_t *params,
                          const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                          const dc_dims_t *output_dims, int8_t *output, int32_t output_len)
{
    const dc_status_t st = dc_pool_check(params, input_dims, input, input_len, output_dims, output, output_len);
    if (st != DC_OK) {
        return st;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, c = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    /* First pass: a window that covers no input pixel makes TFLite fail; refuse before writing. */
    for (int32_t oy = 0; oy < out_h; ++oy) {
        for (int32_t ox = 0; ox < out_w; ++ox) {
            int32_t y0, y1, x0, x1;
            dc_pool_window(params, input_dims, oy, ox, &y0, &y1, &x0, &x1);
            if (y1 <= y0 || x1 <= x0) {
                return DC_ERR_SHAPE;
            }
        }
    }
    for (int32_t b = 0; b < input_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            for (int32_t ox = 0; ox < out_w; ++ox) {
                int32_t y0, y1, x0, x1;
                dc_pool_window(params, input_dims, oy, ox, &y0, &y1, &x0, &x1);
                const int32_t count = (y1 - y0) * (x1 - x0);
                for (int32_t ch = 0; ch < c; ++ch) {
                    int32_t acc = 0;
                    for (int32_t y = y0; y < y1; ++y) {
                        for (int32_t x = x0; x < x1; ++x) {
                            acc += input[(((int64_t)b * in_h + y) * in_w + x) * c + ch];
                        }
                    }
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    output[(((int64_t)b * out_h + oy) * out_w + ox) * c + ch] =
                        (int8_t)dc_clamp_s32(acc, params->act_min, params->act_max);
                }
            }
        }
    }
    return DC_OK;
}
