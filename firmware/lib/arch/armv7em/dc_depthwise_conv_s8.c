/* dc_depthwise_conv_s8.c (armv7em): int8 DEPTHWISE_CONV_2D with the DSP extension, bit-exact with
 * lib/src/kernels/dc_depthwise_conv_s8.c.
 *
 * Method (docs/kernels.md, "Optimized kernels"): with depth multiplier 1, four channels at a time. Their
 * filter taps are unpacked once per block of channels into int16 pairs (SXTB16: channels 0 and 2, then
 * 1 and 3); per tap one input word becomes the same pairs with the input offset added (SXTAB16), and
 * SMLABB / SMLATT accumulate the four channels. Each output pixel visits only its in-image taps: the
 * output is cut into rectangles of pixels with the same in-image taps, each walking a table of them.
 * A block with a channel whose shift is outside [-22, -1] runs the same way but requantizes each output
 * through dc_dsp_rq_output. Other cases (depth multiplier > 1, the last Cout % 4 channels, more than
 * DW_MAX_TAPS taps or DW_MAX_SPANS border spans) take a plain per-output loop, same arithmetic.
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

/* One tap of a 4-channel block: the input byte offset from the window's first tap, the filter pairs. */
typedef struct {
    int32_t offset;
    uint32_t we, wo;
} dw_tap_t;

/* Taps per pixel up to which run_pixels() runs them as straight-line code (3x3 filters). */
#define DW_UNROLL 9

/* acc[0..3] += the 4 channels at px times the tap's filter pairs. */
#define DW_TAP(px, tap)                                                       \
    do {                                                                      \
        const uint32_t v_ = dc_load32(px);                                    \
        const uint32_t xe_ = dc_sxtab16(off2, v_), xo_ = dc_sxtab16_ror8(off2, v_); \
        a0 = dc_smlabb(xe_, (tap)->we, a0);                                   \
        a2 = dc_smlatt(xe_, (tap)->we, a2);                                   \
        a1 = dc_smlabb(xo_, (tap)->wo, a1);                                   \
        a3 = dc_smlatt(xo_, (tap)->wo, a3);                                   \
    } while (0)

/* The output stages block4 is instantiated with: the activation range is [-128, 127] / is narrower (both:
 * every channel has a fast shift), or any channel may take another form of dc_dsp_rq_output. */
#define DW_OUT_CLAMP 0
#define DW_OUT_FULL 1
#define DW_OUT_ANY 2

/* Requantize and store 4 channels of one pixel. */
static inline __attribute__((always_inline)) void store4(int8_t *dst, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                                          const dc_dsp_rq_t *rq, const dc_dsp_out_t *o, int full)
{
    if (full == DW_OUT_ANY) {
        dst[0] = dc_dsp_rq_output(a0, &rq[0], o);
        dst[1] = dc_dsp_rq_output(a1, &rq[1], o);
        dst[2] = dc_dsp_rq_output(a2, &rq[2], o);
        dst[3] = dc_dsp_rq_output(a3, &rq[3], o);
        return;
    }
    const uint32_t sign = o->sign_term;
    const int32_t v0 = dc_dsp_rq1_sat(a0, &rq[0], sign), v1 = dc_dsp_rq1_sat(a1, &rq[1], sign);
    const int32_t v2 = dc_dsp_rq1_sat(a2, &rq[2], sign), v3 = dc_dsp_rq1_sat(a3, &rq[3], sign);
    if (full == DW_OUT_FULL) {
        dst[0] = (int8_t)v0;
        dst[1] = (int8_t)v1;
        dst[2] = (int8_t)v2;
        dst[3] = (int8_t)v3;
        return;
    }
    dc_store32(dst, dc_dsp_clamp4(v0, v1, v2, v3, o->lo4, o->hi4));
}

/* `count` consecutive pixels of one output row with the same in-image taps: `origin` is the first
 * pixel's first in-image tap, which moves by `step` input bytes and the output by `dst_step` bytes per
 * pixel. taps[] hold offsets relative to that first tap. */
static inline __attribute__((always_inline)) void run_pixels(const int8_t *origin, int32_t step, int32_t count,
                                                             const dw_tap_t *taps, const dw_tap_t *taps_end,
                                                             const int32_t b[4], uint32_t off2, const dc_dsp_rq_t *rq,
                                                             const dc_dsp_out_t *o, int full, int8_t *dst,
                                                             int32_t dst_step)
{
    const int32_t n = (int32_t)(taps_end - taps);
    for (; count > 0; --count, origin += step, dst += dst_step) {
        int32_t a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3];
        if (n <= DW_UNROLL) {
            /* straight-line taps (entered at the first one needed): no loop test, the table read
             * with constant offsets */
            switch (n) {
            case 9: DW_TAP(origin + taps[8].offset, &taps[8]); /* fall through */
            case 8: DW_TAP(origin + taps[7].offset, &taps[7]); /* fall through */
            case 7: DW_TAP(origin + taps[6].offset, &taps[6]); /* fall through */
            case 6: DW_TAP(origin + taps[5].offset, &taps[5]); /* fall through */
            case 5: DW_TAP(origin + taps[4].offset, &taps[4]); /* fall through */
            case 4: DW_TAP(origin + taps[3].offset, &taps[3]); /* fall through */
            case 3: DW_TAP(origin + taps[2].offset, &taps[2]); /* fall through */
            case 2: DW_TAP(origin + taps[1].offset, &taps[1]); /* fall through */
            case 1: DW_TAP(origin + taps[0].offset, &taps[0]); /* fall through */
            default: break;
            }
        } else {
            for (const dw_tap_t *t = taps; t < taps_end; ++t) {
                DW_TAP(origin + t->offset, t);
            }
        }
        store4(dst, a0, a1, a2, a3, rq, o, full);
    }
}

/* Runs of output indices [start, end) that see the same filter index range [lo, hi). */
typedef struct {
    int32_t start, end, lo, hi;
} dw_span_t;

#define DW_MAX_SPANS 16

/* Splits 0..out into spans of equal tap ranges; returns their number, or 0 when there are more than
 * DW_MAX_SPANS (then the caller takes the per-output path). */
static int32_t make_spans(int32_t out, int32_t stride, int32_t pad, int32_t dil, int32_t size, int32_t taps,
                          dw_span_t *spans)
{
    int32_t n = 0;
    for (int32_t i = 0; i < out; ++i) {
        int32_t lo, hi;
        tap_range(i * stride - pad, dil, size, taps, &lo, &hi);
        if (n > 0 && spans[n - 1].lo == lo && spans[n - 1].hi == hi) {
            spans[n - 1].end = i + 1;
            continue;
        }
        if (n == DW_MAX_SPANS) {
            return 0;
        }
        spans[n++] = (dw_span_t){i, i + 1, lo, hi};
    }
    return n;
}

/* Output channels [c, c + 4) of every pixel (depth multiplier 1; `full` is a DW_OUT_ output stage:
 * DW_OUT_FULL and DW_OUT_CLAMP need all four channels fast, see block_is_fast). The output is cut into rectangles whose pixels see the same
 * in-image taps (at most DW_MAX_SPANS row and column spans: the border rows and columns one by one and
 * the interior as one); each rectangle walks a table of just those taps. */
static inline __attribute__((always_inline)) void block4(const dw_geometry_t *g, const int8_t *filter,
                                                         const int32_t *bias, const dc_channel_quant_t *quant,
                                                         const dc_dsp_out_t *o, int32_t c, int8_t *out,
                                                         const dw_span_t *rows, int32_t n_rows, const dw_span_t *cols,
                                                         int32_t n_cols, int full)
{
    dw_tap_t taps[DW_MAX_TAPS], sub[DW_MAX_TAPS];
    for (int32_t fy = 0, t = 0; fy < g->kh; ++fy) {
        for (int32_t fx = 0; fx < g->kw; ++fx, ++t) {
            const uint32_t w = dc_load32(filter + (int64_t)t * g->out_c + c);
            taps[t].offset = (fy * g->dil_h * g->in_w + fx * g->dil_w) * g->in_c;
            taps[t].we = dc_sxtb16(w);
            taps[t].wo = dc_sxtb16_ror8(w);
        }
    }
    dc_dsp_rq_t rq[4];
    int32_t b[4];
    for (int32_t j = 0; j < 4; ++j) {
        dc_dsp_rq_prepare(&rq[j], quant->multiplier[c + j], quant->shift[c + j], o);
        b[j] = bias != NULL ? bias[c + j] : 0;
    }
    const uint32_t off2 = dc_dup16(g->input_offset);
    for (int32_t r = 0; r < n_rows; ++r) {
        const dw_span_t *ry = &rows[r];
        for (int32_t q = 0; q < n_cols; ++q) {
            const dw_span_t *cx = &cols[q];
            int32_t n = 0;
            for (int32_t fy = ry->lo; fy < ry->hi; ++fy) {
                for (int32_t fx = cx->lo; fx < cx->hi; ++fx) {
                    sub[n++] = taps[fy * g->kw + fx];
                }
            }
            /* offsets relative to the first in-image tap, so `origin` always points into the image */
            const int32_t first = n > 0 ? sub[0].offset : 0;
            for (int32_t t = 0; t < n; ++t) {
                sub[t].offset -= first;
            }
            for (int32_t oy = ry->start; oy < ry->end; ++oy) {
                const int64_t origin = ((int64_t)(oy * g->stride_h - g->pad_h) * g->in_w +
                                        (cx->start * g->stride_w - g->pad_w)) * g->in_c + c + first;
                int8_t *dst = out + ((int64_t)oy * g->out_w + cx->start) * g->out_c + c;
                run_pixels(n > 0 ? g->input + origin : g->input, g->stride_w * g->in_c, cx->end - cx->start, sub,
                           sub + n, b, off2, rq, o, full, dst, g->out_c);
            }
        }
    }
}

static __attribute__((noinline)) void block4_full(const dw_geometry_t *g, const int8_t *filter, const int32_t *bias,
                                                  const dc_channel_quant_t *quant, const dc_dsp_out_t *o, int32_t c,
                                                  int8_t *out, const dw_span_t *rows, int32_t n_rows,
                                                  const dw_span_t *cols, int32_t n_cols)
{
    block4(g, filter, bias, quant, o, c, out, rows, n_rows, cols, n_cols, DW_OUT_FULL);
}

static __attribute__((noinline)) void block4_clamp(const dw_geometry_t *g, const int8_t *filter, const int32_t *bias,
                                                   const dc_channel_quant_t *quant, const dc_dsp_out_t *o, int32_t c,
                                                   int8_t *out, const dw_span_t *rows, int32_t n_rows,
                                                   const dw_span_t *cols, int32_t n_cols)
{
    block4(g, filter, bias, quant, o, c, out, rows, n_rows, cols, n_cols, DW_OUT_CLAMP);
}

static __attribute__((noinline)) void block4_any(const dw_geometry_t *g, const int8_t *filter, const int32_t *bias,
                                                 const dc_channel_quant_t *quant, const dc_dsp_out_t *o, int32_t c,
                                                 int8_t *out, const dw_span_t *rows, int32_t n_rows,
                                                 const dw_span_t *cols, int32_t n_cols)
{
    block4(g, filter, bias, quant, o, c, out, rows, n_rows, cols, n_cols, DW_OUT_ANY);
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

/* Whether channels [c, c + 4) all take dc_arm_dsp.h's fast requantization (shift in [-22, -1]). */
static int block_is_fast(const dc_channel_quant_t *quant, int32_t c, const dc_dsp_out_t *o)
{
    for (int32_t j = 0; j < 4; ++j) {
        dc_dsp_rq_t q;
        dc_dsp_rq_prepare(&q, quant->multiplier[c + j], quant->shift[c + j], o);
        if (q.hi_shift < 0) {
            return 0;
        }
    }
    return 1;
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
    dw_span_t rows[DW_MAX_SPANS], cols[DW_MAX_SPANS];
    int32_t n_rows = 0, n_cols = 0;
    if (g.dm == 1 && (int64_t)g.kh * g.kw <= DW_MAX_TAPS) {
        n_rows = make_spans(g.out_h, g.stride_h, g.pad_h, g.dil_h, g.in_h, g.kh, rows);
        n_cols = make_spans(g.out_w, g.stride_w, g.pad_w, g.dil_w, g.in_w, g.kw, cols);
    }
    const int32_t c4 = n_rows > 0 && n_cols > 0 ? g.out_c & ~3 : 0;
    const int full = p->act_min == -128 && p->act_max == 127;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        g.input = input + (int64_t)b * g.in_h * g.in_w * g.in_c;
        int8_t *out = output + (int64_t)b * g.out_h * g.out_w * g.out_c;
        for (int32_t c = 0; c < c4; c += 4) {
            if (!block_is_fast(quant, c, &o)) {
                /* e.g. a pruned channel's shift 0: each output takes its channel's form */
                block4_any(&g, filter, bias, quant, &o, c, out, rows, n_rows, cols, n_cols);
            } else if (full) {
                block4_full(&g, filter, bias, quant, &o, c, out, rows, n_rows, cols, n_cols);
            } else {
                block4_clamp(&g, filter, bias, quant, &o, c, out, rows, n_rows, cols, n_cols);
            }
        }
        for (int32_t oc = c4; oc < g.out_c; ++oc) {
            channel1(&g, filter, bias, quant, &o, oc, out);
        }
    }
    return DC_OK;
}
