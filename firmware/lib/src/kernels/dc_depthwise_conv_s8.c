/* dc_depthwise_conv_s8.c: int8 DEPTHWISE_CONV_2D (stride, padding, dilation, depth multiplier). */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

int32_t dc_depthwise_conv_s8_get_buffer_size(const dc_depthwise_conv_params_t *params, const dc_dims_t *input_dims,
                                             const dc_dims_t *filter_dims, const dc_dims_t *output_dims)
{
    if (params == NULL || input_dims == NULL || filter_dims == NULL || output_dims == NULL) {
        return DC_ERR_ARG;
    }
    return 0; /* the reference kernel needs no scratch memory */
}

dc_status_t dc_depthwise_conv_s8(const dc_depthwise_conv_params_t *params, const dc_channel_quant_t *quant,
                                 const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                                 const dc_dims_t *filter_dims, const int8_t *filter, int32_t filter_len,
                                 const int32_t *bias, int32_t bias_len,
                                 const dc_dims_t *output_dims, int8_t *output, int32_t output_len)
{
    const dc_status_t st = dc_depthwise_conv_check(params, quant, input_dims, input, input_len, filter_dims, filter,
                                                   filter_len, bias, bias_len, output_dims, output, output_len);
    if (st != DC_OK) {
        return st;
    }
    const dc_conv_params_t *p = &params->conv;
    const int32_t dm = params->depth_multiplier;
    const int32_t in_c = input_dims->c, out_c = output_dims->c, kh = filter_dims->h, kw = filter_dims->w;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, out_h = output_dims->h, out_w = output_dims->w;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    for (int32_t m = 0; m < dm; ++m) {
                        const int32_t oc = ic * dm + m;
                        uint32_t acc = 0;
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
                                const int32_t iv = input[(((int64_t)b * in_h + in_y) * in_w + in_x) * in_c + ic];
                                const int32_t fv = filter[((int64_t)fy * kw + fx) * out_c + oc];
                                acc += (uint32_t)(fv * (iv + p->input_offset));
                            }
                        }
                        if (bias != NULL) {
                            acc += (uint32_t)bias[oc];
                        }
                        int32_t v = dc_requantize_s32((int32_t)acc, quant->multiplier[oc], quant->shift[oc], p->rounding);
                        v = dc_add_sat_s32(v, p->output_offset);
                        output[(((int64_t)b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)dc_clamp_s32(v, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return DC_OK;
}
