/* dc_depthwise_conv_s8.c: int8 DEPTHWISE_CONV_2D (stride, padding, dilation, depth multiplier). */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

dc_status_t dc_depthwise_conv_s8(const dc_depthwise_conv_params_t *params, const dc_channel_quant_t *quant,
                                 const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                                 const dc_dims_t *filter_dims, const int8_t *filter, int32_t filter_len,
                                 const int32_t *bias, int32_t bias_len,
                                 const dc_dims_t *output_dims, int8_t *output, int32_t output_len)
{
    int32_t in_count = 0, f_count = 0, out_count = 0;
    dc_status_t st;
    if (params == NULL) {
        return DC_ERR_ARG;
    }
    if ((st = dc_dims_count(input_dims, &in_count)) != DC_OK || (st = dc_dims_count(filter_dims, &f_count)) != DC_OK ||
        (st = dc_dims_count(output_dims, &out_count)) != DC_OK) {
        return st;
    }
    const dc_conv_params_t *p = &params->conv;
    const int32_t dm = params->depth_multiplier;
    if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 || p->pad_h < 0 ||
        p->pad_w < 0 || dm < 1 || !dc_offset_ok(p->input_offset) || !dc_offset_ok(p->output_offset) ||
        !dc_act_ok(p->act_min, p->act_max) || (unsigned)p->rounding > DC_ROUNDING_HALF_UP) {
        return DC_ERR_ARG;
    }
    const int32_t in_c = input_dims->c, out_c = output_dims->c, kh = filter_dims->h, kw = filter_dims->w;
    if (filter_dims->n != 1 || filter_dims->c != out_c || (int64_t)in_c * dm != out_c ||
        output_dims->n != input_dims->n) {
        return DC_ERR_SHAPE;
    }
    const int64_t eff_kh = (int64_t)(kh - 1) * p->dilation_h + 1, eff_kw = (int64_t)(kw - 1) * p->dilation_w + 1;
    if (eff_kh > INT32_MAX || eff_kw > INT32_MAX ||
        !dc_window_out_ok(input_dims->h, (int32_t)eff_kh, p->stride_h, p->pad_h, output_dims->h) ||
        !dc_window_out_ok(input_dims->w, (int32_t)eff_kw, p->stride_w, p->pad_w, output_dims->w)) {
        return DC_ERR_SHAPE;
    }
    if ((st = dc_check_quant(quant, out_c, 0)) != DC_OK) {
        return st;
    }
    if ((st = dc_check_buffer(input, input_len, in_count)) != DC_OK ||
        (st = dc_check_buffer(filter, filter_len, f_count)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, out_count)) != DC_OK) {
        return st;
    }
    if (bias != NULL && bias_len < out_c) {
        return DC_ERR_BUFFER;
    }

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
                        v += p->output_offset;
                        output[(((int64_t)b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)dc_clamp_s32(v, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return DC_OK;
}
