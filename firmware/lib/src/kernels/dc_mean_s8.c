/* dc_mean_s8.c: int8 MEAN over any of the 4 axes (LiteRT reference arithmetic: 1/count folded into the multiplier). */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

dc_status_t dc_mean_s8(const dc_mean_params_t *params,
                       const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                       const dc_dims_t *output_dims, int8_t *output, int32_t output_len)
{
    int32_t in_count = 0, out_count = 0;
    dc_status_t st;
    if (params == NULL) {
        return DC_ERR_ARG;
    }
    const dc_mean_params_t *p = params;
    if (p->input_zero_point < -128 || p->input_zero_point > 127 || p->output_zero_point < -128 ||
        p->output_zero_point > 127 || !dc_shift_ok(p->multiplier, p->shift)) {
        return DC_ERR_ARG;
    }
    if ((st = dc_dims_count(input_dims, &in_count)) != DC_OK || (st = dc_dims_count(output_dims, &out_count)) != DC_OK) {
        return st;
    }
    const int32_t id[4] = {input_dims->n, input_dims->h, input_dims->w, input_dims->c};
    const int32_t od[4] = {output_dims->n, output_dims->h, output_dims->w, output_dims->c};
    int32_t red[4], keep[4];
    int32_t num = 1;
    for (int d = 0; d < 4; ++d) {
        if (od[d] != (p->reduce[d] ? 1 : id[d])) {
            return DC_ERR_SHAPE;
        }
        red[d] = p->reduce[d] ? id[d] : 1;
        keep[d] = p->reduce[d] ? 1 : id[d];
        num *= red[d];
    }
    /* The int32 sum of up to 2^23 values of |v| <= 255 cannot overflow. */
    if (num > (1 << 23)) {
        return DC_ERR_OVERSIZE;
    }
    if ((st = dc_check_buffer(input, input_len, in_count)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, out_count)) != DC_OK) {
        return st;
    }
    /* Fold 1/num into the multiplier as LiteRT's reference kernel: shift up by floor(log2(num))
     * (at most 32, at most 31 + shift), divide the multiplier by num with truncation. */
    int32_t fold = 0;
    while (fold < 32 && ((int64_t)2 << fold) <= num) {
        ++fold;
    }
    if (fold > 31 + p->shift) {
        fold = 31 + p->shift;
    }
    const int32_t multiplier = (int32_t)((((int64_t)p->multiplier) << fold) / num);
    const int32_t shift = p->shift - fold;
    int32_t o = 0;
    for (int32_t a = 0; a < keep[0]; ++a) {
        for (int32_t b = 0; b < keep[1]; ++b) {
            for (int32_t c = 0; c < keep[2]; ++c) {
                for (int32_t e = 0; e < keep[3]; ++e, ++o) {
                    int32_t acc = 0;
                    for (int32_t ra = 0; ra < red[0]; ++ra) {
                        for (int32_t rb = 0; rb < red[1]; ++rb) {
                            for (int32_t rc = 0; rc < red[2]; ++rc) {
                                for (int32_t re = 0; re < red[3]; ++re) {
                                    const int64_t i0 = a + ra, i1 = b + rb, i2 = c + rc, i3 = e + re;
                                    acc += input[((i0 * id[1] + i1) * id[2] + i2) * id[3] + i3] - p->input_zero_point;
                                }
                            }
                        }
                    }
                    acc = dc_add_sat_s32(dc_multiply_by_quantized_multiplier(acc, multiplier, shift), p->output_zero_point);
                    output[o] = (int8_t)dc_clamp_s32(acc, -128, 127);
                }
            }
        }
    }
    return DC_OK;
}
