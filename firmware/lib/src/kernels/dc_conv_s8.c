/* dc_conv_s8.c: int8 CONV_2D (stride, padding, dilation, groups, per-channel requantization). */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

int32_t dc_conv_s8_get_buffer_size(const dc_conv_params_t *params, const dc_dims_t *input_dims,
                                   const dc_dims_t *filter_dims, const dc_dims_t *output_dims)
{
    if (params == NULL || input_dims == NULL || filter_dims == NULL || output_dims == NULL) {
        return DC_ERR_ARG;
    }
    return 0; /* the reference kernel needs no scratch memory */
}

dc_status_t dc_conv_s8(const dc_conv_params_t *params, const dc_channel_quant_t *quant,
                       const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                       const dc_dims_t *filter_dims, const int8_t *filter, int32_t filter_len,
                       const int32_t *bias, int32_t bias_len,
                       const dc_dims_t *output_dims, int8_t *output, int32_t output_len)
{
    const dc_status_t st = dc_conv_check(params, quant, input_dims, input, input_len, filter_dims, filter, filter_len,
                                         bias, bias_len, output_dims, output, output_len);
    if (st != DC_OK) {
        return st;
    }
    const dc_conv_params_t *p = params;
    const int32_t in_c = input_dims->c, out_c = filter_dims->n, f_in_c = filter_dims->c;
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int32_t groups = in_c / f_in_c;

    const int32_t in_h = input_dims->h, in_w = input_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t filters_per_group = out_c / groups;
    const int64_t out_stride = p->output_stride > 0 ? p->output_stride : out_c;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t group = oc / filters_per_group;
                    uint32_t acc = 0; /* wraps like TFLite's int32 accumulator */
                    for (int32_t fy = 0; fy < kh; ++fy) {
                        const int32_t in_y = in_y0 + p->dilation_h * fy;
                        if (in_y < 0 || in_y >= in_h) {
                            continue;
                        }
                        for (int32_t fx = 0; fx < kw; ++fx) {
                            const int32_t in_x = in_x0 + p->dilation_w * fx;
                            if (in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            const int8_t *in_px = input + (((int64_t)b * in_h + in_y) * in_w + in_x) * in_c + (int64_t)group * f_in_c;
                            const int8_t *f_px = filter + (((int64_t)oc * kh + fy) * kw + fx) * f_in_c;
                            for (int32_t ic = 0; ic < f_in_c; ++ic) {
                                acc += (uint32_t)((int32_t)f_px[ic] * ((int32_t)in_px[ic] + p->input_offset));
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc += (uint32_t)bias[oc];
                    }
                    int32_t v = dc_requantize_s32((int32_t)acc, quant->multiplier[oc], quant->shift[oc], p->rounding);
                    v = dc_add_sat_s32(v, p->output_offset);
                    output[(((int64_t)b * out_h + oy) * out_w + ox) * out_stride + oc] = (int8_t)dc_clamp_s32(v, p->act_min, p->act_max);
                }
            }
        }
    }
    return DC_OK;
}
