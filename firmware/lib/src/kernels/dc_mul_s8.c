/* dc_mul_s8.c: int8 MUL: (in1 - zp1) * (in2 - zp2) requantized by scale1 * scale2 / scale_out. */
#include "dc_broadcast.h"
#include "dc_fixed_point.h"

dc_status_t dc_mul_s8(const dc_mul_params_t *params,
                      const dc_dims_t *input1_dims, const int8_t *input1, int32_t input1_len,
                      const dc_dims_t *input2_dims, const int8_t *input2, int32_t input2_len,
                      const dc_dims_t *output_dims, int8_t *output, int32_t output_len)
{
    if (params == NULL) {
        return DC_ERR_ARG;
    }
    const dc_mul_params_t *p = params;
    if (!dc_offset_ok(p->input1_offset) || !dc_offset_ok(p->input2_offset) || !dc_offset_ok(p->output_offset) ||
        !dc_act_ok(p->act_min, p->act_max) || !dc_shift_ok(p->output_multiplier, p->output_shift)) {
        return DC_ERR_ARG;
    }
    dc_bcast_strides_t s1, s2;
    const dc_status_t st = dc_bcast_check(input1_dims, input1, input1_len, input2_dims, input2, input2_len,
                                          output_dims, output, output_len, &s1, &s2);
    if (st != DC_OK) {
        return st;
    }
    int32_t o = 0;
    for (int32_t b = 0; b < output_dims->n; ++b) {
        for (int32_t y = 0; y < output_dims->h; ++y) {
            for (int32_t x = 0; x < output_dims->w; ++x) {
                const int32_t base1 = b * s1.n + y * s1.h + x * s1.w, base2 = b * s2.n + y * s2.h + x * s2.w;
                for (int32_t c = 0; c < output_dims->c; ++c, ++o) {
                    const int32_t v1 = input1[base1 + c * s1.c] + p->input1_offset;
                    const int32_t v2 = input2[base2 + c * s2.c] + p->input2_offset;
                    int32_t r = dc_multiply_by_quantized_multiplier(v1 * v2, p->output_multiplier, p->output_shift);
                    r = dc_add_sat_s32(r, p->output_offset);
                    output[o] = (int8_t)dc_clamp_s32(r, p->act_min, p->act_max);
                }
            }
        }
    }
    return DC_OK;
}
