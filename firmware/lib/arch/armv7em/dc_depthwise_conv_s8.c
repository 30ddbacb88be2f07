/* dc_depthwise_conv_s8.c (armv7em): int8 DEPTHWISE_CONV_2D with the DSP extension, bit-exact with
 * lib/src/kernels/dc_depthwise_conv_s8.c.
 *
 * Method (docs/kernels.md, "Optimized kernels"): with depth multiplier 1, four channels at a time. Their
 * filter taps are unpacked once per block of channels into int16 pairs (SXTB16: channels 0 and 2, then
 * 1 and 3); per tap one input word becomes the same pairs with the input offset added (SXTAB16), and
 * SMLABB / SMLATT accumulate the four channels. Each output pixel visits only its in-image taps (the
 * tap ranges are computed, not tested tap by tap). Other shapes (depth multiplier > 1, the last Cin % 4
 * channels, more than DW_MAX_TAPS taps) take a plain per-output loop with the same arithmetic.
 */
#include "dc_arm_dsp.h"
#include "dc_kernels.h"
#include "../../src/kernels/dc_kernel_checks.h"

/* Filter taps unpacked per block of 4 channels (stack: 8 bytes per tap). */
#define DW_MAX_TAPS 64

int32_t dc_depthwise_conv_s8_get_buffer_size(const dc_depthwise_conv_params_t *params, const dc_dims_t *input_dims,
                                             const dc_dims_t *filter_dims, const dc_dims_t *output_dims)
{
    if (params == NULL || input_dims == NULL || filter_dims == NULL || output_dims == NULL) {
        return DC_ERR_ARG;
    }
    return 0; /* everything fits in registers and a small stack array */
}

/* [lo, hi): the filter indices f with 0 <= base + f * dil < size, clipped to [0, taps). */
static inline void tap_range(int32_t base, int32_t dil, int32_t size, int32_t taps, int32_t *lo, int32_t *hi)
{
    int32_t l = base < 0 ? (-base + dil - 1) / dil : 0;
    int32_t h = size - base <= 0 ? 0 : (size - 1 - base) / dil + 1;
    h = h > taps ? taps : h;
    l = l > h ? h : l;
    *lo = l;
    *hi = h;
}

typedef struct {
    const int8_t *input;   /* batch base */
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t kh, kw, dm;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t input_offset;
} dw_geometry_t;

/* Output channels [c, c + 4) of every pixel (depth multiplier 1). */
static void block4(const dw_geometry_t *g, const int8_t *filter, const int32_t *bias, const dc_channel_quant_t *quant,
                   const dc_dsp_out_t *o, int32_t c, int8_t *out)
{
    uint32_t wexp[2 * DW_MAX_TAPS];
    const int32_t taps = g->kh * g->kw;
    for (int32_t t = 0; t < taps; ++t) {
        const uint32_t w = dc_load32(filter + (int64_t)t * g->out_c + c);
        wexp[2 * t] = dc_sxtb16(w);
        wexp[2 * t + 1] = dc_sxtb16_ror8(w);
    }
    dc_dsp_rq_t rq[4];
    int32_t b[4];
    for (int32_t j = 0; j < 4; ++j) {
        dc_dsp_rq_prepare(&rq[j], quant->multiplier[c + j], quant->shift[c + j], o);
        b[j] = bias != NULL ? bias[c + j] : 0;
    }
    const uint32_t off2 = dc_dup16(g->input_offset);
    const int32_t row_step = g->in_w * g->in_c, tap_step = g->dil_w * g->in_c;
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        const int32_t y0 = oy * g->stride_h - g->pad_h;
        int32_t fy0, fy1;
        tap_range(y0, g->dil_h, g->in_h, g->kh, &fy0, &fy1);
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            const int32_t x0 = ox * g->stride_w - g->pad_w;
            int32_t fx0, fx1;
            tap_range(x0, g->dil_w, g->in_w, g->kw, &fx0, &fx1);
            int32_t a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3];
            const int8_t *in_base = g->input + (int64_t)(x0 + fx0 * g->dil_w) * g->in_c + c;
            const int32_t n = fx1 - fx0;
            for (int32_t fy = fy0; fy < fy1; ++fy) {
                const int8_t *px = in_base + (int64_t)(y0 + fy * g->dil_h) * row_step;
                const uint32_t *w = wexp + 2 * (fy * g->kw + fx0);
                for (int32_t i = 0; i < n; ++i, px += tap_step, w += 2) {
                    const uint32_t v = dc_load32(px);
                    const uint32_t xe = dc_sxtab16(off2, v), xo = dc_sxtab16_ror8(off2, v);
                    const uint32_t we = w[0], wo = w[1];
                    a0 = dc_smlabb(xe, we, a0);
                    a2 = dc_smlatt(xe, we, a2);
                    a1 = dc_smlabb(xo, wo, a1);
                    a3 = dc_smlatt(xo, wo, a3);
                }
            }
            int8_t *dst = out + ((int64_t)oy * g->out_w + ox) * g->out_c + c;
            dst[0] = dc_dsp_rq_output(a0, &rq[0], o);
            dst[1] = dc_dsp_rq_output(a1, &rq[1], o);
            dst[2] = dc_dsp_rq_output(a2, &rq[2], o);
            dst[3] = dc_dsp_rq_output(a3, &rq[3], o);
        }
    }
}

/* Output channel oc (input channel oc / dm) of every pixel, one value at a time. */
static void channel1(const dw_geometry_t *g, const int8_t *filter, const int32_t *bias, const dc_channel_quant_t *quant,
                     const dc_dsp_out_t *o, int32_t oc, int8_t *out)
{
    dc_dsp_rq_t rq;
    dc_dsp_rq_prepare(&rq, quant->multiplier[oc], quant->shift[oc], o);
    const int32_t ic = oc / g->dm;
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        const int32_t y0 = oy * g->stride_h - g->pad_h;
        int32_t fy0, fy1;
        tap_range(y0, g->dil_h, g->in_h, g->kh, &fy0, &fy1);
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            const int32_t x0 = ox * g->stride_w - g->pad_w;
            int32_t fx0, fx1;
            tap_range(x0, g->dil_w, g->in_w, g->kw, &fx0, &fx1);
            int32_t acc = bias != NULL ? bias[oc] : 0;
            for (int32_t fy = fy0; fy < fy1; ++fy) {
                const int8_t *row = g->input + (int64_t)(y0 + fy * g->dil_h) * g->in_w * g->in_c + ic;
                for (int32_t fx = fx0; fx < fx1; ++fx) {
                    const int32_t v = row[(int64_t)(x0 + fx * g->dil_w) * g->in_c] + g->input_offset;
                    acc = dc_mac(acc, filter[(int64_t)(fy * g->kw + fx) * g->out_c + oc], v);
                }
            }
            out[((int64_t)oy * g->out_w + ox) * g->out_c + oc] = dc_dsp_rq_output(acc, &rq, o);
        }
    }
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
    dw_geometry_t g;
    g.in_h = input_dims->h;
    g.in_w = input_dims->w;
    g.in_c = input_dims->c;
    g.out_h = output_dims->h;
    g.out_w = output_dims->w;
    g.out_c = output_dims->c;
    g.kh = filter_dims->h;
    g.kw = filter_dims->w;
    g.dm = params->depth_multiplier;
    g.stride_h = p->stride_h;
    g.stride_w = p->stride_w;
    g.dil_h = p->dilation_h;
    g.dil_w = p->dilation_w;
    g.pad_h = p->pad_h;
    g.pad_w = p->pad_w;
    g.input_offset = p->input_offset;
    dc_dsp_out_t o;
    dc_dsp_out_init(&o, p->rounding, p->output_offset, p->act_min, p->act_max);
    const int blocks = g.dm == 1 && (int64_t)g.kh * g.kw <= DW_MAX_TAPS;
    const int32_t c4 = blocks ? g.out_c & ~3 : 0;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        g.input = input + (int64_t)b * g.in_h * g.in_w * g.in_c;
        int8_t *out = output + (int64_t)b * g.out_h * g.out_w * g.out_c;
        for (int32_t c = 0; c < c4; c += 4) {
            block4(&g, filter, bias, quant, &o, c, out);
        }
        for (int32_t oc = c4; oc < g.out_c; ++oc) {
            channel1(&g, filter, bias, quant, &o, oc, out);
        }
    }
    return DC_OK;
}
