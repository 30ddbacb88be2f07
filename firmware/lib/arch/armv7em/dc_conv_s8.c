/* dc_conv_s8.c (armv7em): int8 CONV_2D with the DSP extension, bit-exact with lib/src/kernels/dc_conv_s8.c.
 *
 * Method (docs/kernels.md, "Optimized kernels"): two output pixels at a time, each pixel's receptive
 * field (one group's kh*kw*Cin_g values) goes into the scratch buffer as int16 with the input offset
 * already added ("im2col"; padding taps are 0, which contributes nothing, exactly like the skipped taps
 * of the reference). Four consecutive values v0..v3 are stored as (v0, v2), (v1, v3), the order in which
 * SXTB16 unpacks a filter word, and the two pixels' blocks are interleaved so one pointer walks both.
 * Each pair of output channels then takes 8 SMLADs per 4 filter bytes for 2x2 outputs. Requantization
 * uses per-channel constants prepared once per call (dc_arm_dsp.h), also kept in the scratch buffer.
 * Three variants: with one group and K % 4 == 0 the filter is unpacked once per call into channel-pair
 * records that naked assembly runners walk (fw_run_*, the main path); few input channels (Cin % 4 != 0,
 * <= 32 output channels) take the band path (band_run_*); the rest unpacks filter words per block.
 */
#include "dc_arm_dsp.h"
#include "dc_kernels.h"
#include "../../src/kernels/dc_conv_s8_dsp_layout.h"
#include "../../src/kernels/dc_conv_s8_dsp_size.h"
#include "../../src/kernels/dc_kernel_checks.h"

/* The sizes the host computes with (dc_conv_s8_dsp_layout.h) are this kernel's own. */
typedef char dc_dsp_rq_is_20_bytes[sizeof(dc_dsp_rq_t) == DC_DSP_RQ_BYTES ? 1 : -1];

int32_t dc_conv_s8_get_buffer_size(const dc_conv_params_t *params, const dc_dims_t *input_dims,
                                   const dc_dims_t *filter_dims, const dc_dims_t *output_dims)
{
    return dc_conv_s8_dsp_buffer_size(params, input_dims, filter_dims, output_dims);
}

/* The geometry of one call, shared by the helpers below. */
typedef struct {
    const int8_t *input;    /* batch base */
    int32_t in_h, in_w, in_c;
    int32_t kh, kw, cin;    /* cin: channels per group */
    int32_t k;              /* kh * kw * cin */
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t input_offset;
    int8_t *stage;          /* K bytes: a pixel's patch in natural order (small-Cin layers) */
} geometry_t;

/* Where flat patch index i of slot s (0, 1) lives in the interleaved column buffer. */
static inline int32_t column_index(int32_t i, int32_t slot, int32_t k)
{
    const int32_t k4 = k & ~3;
    if (i < k4) {
        static const uint8_t order[4] = {0, 2, 1, 3};
        return (i & ~3) * 2 + slot * 4 + order[i & 3];
    }
    return k4 * 2 + slot * (k - k4) + (i - k4);
}

/* Copy n bytes (word moves; the cores allow unaligned LDR/STR). */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        dc_store32(dst, dc_load32(src));
    }
    for (; n > 0; --n) {
        *dst++ = *src++;
    }
}

static inline void fill_bytes(int8_t *dst, int8_t value, int32_t n)
{
    for (; n > 0; --n) {
        *dst++ = value;
    }
}

/* The patch of output pixel (oy, ox), group channel base c0, in natural order into g->stage, padding
 * taps filled with the input zero point (which the offset turns into 0). Needs that zero point to be
 * an int8 value. Rows of taps are copied whole when they are contiguous in the input. */
static void stage_patch(const geometry_t *g, int32_t oy, int32_t ox, int32_t c0)
{
    const int32_t y0 = oy * g->stride_h - g->pad_h, x0 = ox * g->stride_w - g->pad_w;
    const int8_t zp = (int8_t)(-g->input_offset);
    const int32_t row = g->kw * g->cin;
    const int contiguous = g->dil_w == 1 && g->cin == g->in_c;
    int8_t *dst = g->stage;
    for (int32_t fy = 0; fy < g->kh; ++fy, dst += row) {
        const int32_t y = y0 + fy * g->dil_h;
        if (y < 0 || y >= g->in_h) {
            fill_bytes(dst, zp, row);
            continue;
        }
        const int8_t *src_row = g->input + (int64_t)y * g->in_w * g->in_c + c0;
        if (contiguous) {
            /* taps fx in [lo, hi) are inside: x0 + fx in [0, in_w) */
            int32_t lo = x0 < 0 ? -x0 : 0, hi = g->in_w - x0;
            hi = hi > g->kw ? g->kw : hi;
            lo = lo > hi ? hi : lo;
            fill_bytes(dst, zp, lo * g->cin);
            copy_bytes(dst + lo * g->cin, src_row + (int64_t)(x0 + lo) * g->in_c, (hi - lo) * g->cin);
            fill_bytes(dst + hi * g->cin, zp, (g->kw - hi) * g->cin);
            continue;
        }
        for (int32_t fx = 0; fx < g->kw; ++fx) {
            const int32_t x = x0 + fx * g->dil_w;
            if (x < 0 || x >= g->in_w) {
                fill_bytes(dst + fx * g->cin, zp, g->cin);
            } else {
                copy_bytes(dst + fx * g->cin, src_row + (int64_t)x * g->in_c, g->cin);
            }
        }
    }
}

/* The column of output pixel (oy, ox), group channel base c0, into slot `slot` (0 or 1). */
static void build_column(const geometry_t *g, int16_t *cols, int32_t slot, int32_t oy, int32_t ox, int32_t c0)
{
    const uint32_t off2 = dc_dup16(g->input_offset);
    if ((g->cin & 3) == 0) {
        /* every tap starts a 4-value block: convert straight from the input, a word at a time */
        const int32_t y0 = oy * g->stride_h - g->pad_h, x0 = ox * g->stride_w - g->pad_w;
        uint32_t *dst = (uint32_t *)(void *)cols + slot * 2;
        for (int32_t fy = 0; fy < g->kh; ++fy) {
            const int32_t y = y0 + fy * g->dil_h;
            for (int32_t fx = 0; fx < g->kw; ++fx) {
                const int32_t x = x0 + fx * g->dil_w;
                if (y < 0 || y >= g->in_h || x < 0 || x >= g->in_w) {
                    for (int32_t c = 0; c < g->cin; c += 4, dst += 4) {
                        dst[0] = 0;
                        dst[1] = 0;
                    }
                    continue;
                }
                const int8_t *src = g->input + ((int64_t)y * g->in_w + x) * g->in_c + c0;
                for (int32_t c = 0; c < g->cin; c += 4, dst += 4) {
                    const uint32_t w = dc_load32(src + c);
                    dst[0] = dc_sxtab16(off2, w);
                    dst[1] = dc_sxtab16_ror8(off2, w);
                }
            }
        }
        return;
    }
    if (g->input_offset >= -127 && g->input_offset <= 128) {
        /* small Cin: stage the int8 patch, then convert it a word at a time */
        stage_patch(g, oy, ox, c0);
        const int32_t k4 = g->k & ~3, t = g->k - k4;
        uint32_t *dst = (uint32_t *)(void *)cols + slot * 2;
        const int8_t *src = g->stage;
        for (int32_t i = 0; i < k4; i += 4, dst += 4) {
            const uint32_t w = dc_load32(src + i);
            dst[0] = dc_sxtab16(off2, w);
            dst[1] = dc_sxtab16_ror8(off2, w);
        }
        int16_t *tail = cols + k4 * 2 + slot * t;
        for (int32_t j = 0; j < t; ++j) {
            tail[j] = (int16_t)(src[k4 + j] + g->input_offset);
        }
        return;
    }
    /* an input zero point outside int8 (only hand-made parameters): one value at a time */
    const int32_t y0 = oy * g->stride_h - g->pad_h, x0 = ox * g->stride_w - g->pad_w;
    int32_t i = 0;
    for (int32_t fy = 0; fy < g->kh; ++fy) {
        const int32_t y = y0 + fy * g->dil_h;
        for (int32_t fx = 0; fx < g->kw; ++fx) {
            const int32_t x = x0 + fx * g->dil_w;
            const int inside = y >= 0 && y < g->in_h && x >= 0 && x < g->in_w;
            const int8_t *src = inside ? g->input + ((int64_t)y * g->in_w + x) * g->in_c + c0 : NULL;
            for (int32_t c = 0; c < g->cin; ++c, ++i) {
                cols[column_index(i, slot, g->k)] = (int16_t)(inside ? src[c] + g->input_offset : 0);
            }
        }
    }
}

/* The columns of two pixels of a 1x1 convolution without padding (their k = Cin values at src0, src1;
 * k % 4 == 0), interleaved as build_column writes them: one loop over both. */
static inline void build_columns_1x1(int16_t *cols, const int8_t *src0, const int8_t *src1, int32_t k,
                                     int32_t input_offset)
{
    const uint32_t off2 = dc_dup16(input_offset);
    uint32_t *dst = (uint32_t *)(void *)cols;
    for (int32_t c = 0; c < k; c += 4, dst += 4) {
        const uint32_t w0 = dc_load32(src0 + c), w1 = dc_load32(src1 + c);
        dst[0] = dc_sxtab16(off2, w0);
        dst[1] = dc_sxtab16_ror8(off2, w0);
        dst[2] = dc_sxtab16(off2, w1);
        dst[3] = dc_sxtab16_ror8(off2, w1);
    }
}

/* One 4-value block of dot_2x2. */
#define DOT_2X2_BLOCK(c, f0, f1)                                      \
    do {                                                              \
        const uint32_t w0 = dc_load32(f0), w1 = dc_load32(f1);        \
        const uint32_t w0e = dc_sxtb16(w0), w0o = dc_sxtb16_ror8(w0); \
        const uint32_t w1e = dc_sxtb16(w1), w1o = dc_sxtb16_ror8(w1); \
        uint32_t x = (c)[0];                                          \
        a00 = dc_smlad(x, w0e, a00);                                  \
        a01 = dc_smlad(x, w1e, a01);                                  \
        x = (c)[1];                                                   \
        a00 = dc_smlad(x, w0o, a00);                                  \
        a01 = dc_smlad(x, w1o, a01);                                  \
        x = (c)[2];                                                   \
        a10 = dc_smlad(x, w0e, a10);                                  \
        a11 = dc_smlad(x, w1e, a11);                                  \
        x = (c)[3];                                                   \
        a10 = dc_smlad(x, w0o, a10);                                  \
        a11 = dc_smlad(x, w1o, a11);                                  \
    } while (0)

/* 2 pixels x 2 channels: acc = {p0.f0, p0.f1, p1.f0, p1.f1} += column . filter over k values.
 * The main loop (8 values per round, 2 x 16 instructions for 64 MACs) is written out in assembly
 * because the compiler runs out of the 13 registers it needs and spills inside the loop. */
static inline __attribute__((always_inline)) void dot_2x2(const int16_t *cols, const int8_t *f0, const int8_t *f1, int32_t k,
                                               int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const uint32_t *c = (const uint32_t *)(const void *)cols;
    if (k >= 8) {
        const uint32_t *volatile pair_end = c + (k >> 3) * 8; /* in memory: no register left for it */
        uint32_t w0, w1, t0, t1, x0, x1;
        __asm__ volatile(
            "1:\n\t"
            "ldr    %[w0], [%[f0]], #4\n\t"
            "ldr    %[w1], [%[f1]], #4\n\t"
            "sxtb16 %[t0], %[w0]\n\t"
            "sxtb16 %[w0], %[w0], ror #8\n\t"
            "sxtb16 %[t1], %[w1]\n\t"
            "sxtb16 %[w1], %[w1], ror #8\n\t"
            "ldrd   %[x0], %[x1], [%[c]], #8\n\t"
            "smlad  %[a00], %[x0], %[t0], %[a00]\n\t"
            "smlad  %[a01], %[x0], %[t1], %[a01]\n\t"
            "smlad  %[a00], %[x1], %[w0], %[a00]\n\t"
            "smlad  %[a01], %[x1], %[w1], %[a01]\n\t"
            "ldrd   %[x0], %[x1], [%[c]], #8\n\t"
            "smlad  %[a10], %[x0], %[t0], %[a10]\n\t"
            "smlad  %[a11], %[x0], %[t1], %[a11]\n\t"
            "smlad  %[a10], %[x1], %[w0], %[a10]\n\t"
            "smlad  %[a11], %[x1], %[w1], %[a11]\n\t"
            "ldr    %[w0], [%[f0]], #4\n\t"
            "ldr    %[w1], [%[f1]], #4\n\t"
            "sxtb16 %[t0], %[w0]\n\t"
            "sxtb16 %[w0], %[w0], ror #8\n\t"
            "sxtb16 %[t1], %[w1]\n\t"
            "sxtb16 %[w1], %[w1], ror #8\n\t"
            "ldrd   %[x0], %[x1], [%[c]], #8\n\t"
            "smlad  %[a00], %[x0], %[t0], %[a00]\n\t"
            "smlad  %[a01], %[x0], %[t1], %[a01]\n\t"
            "smlad  %[a00], %[x1], %[w0], %[a00]\n\t"
            "smlad  %[a01], %[x1], %[w1], %[a01]\n\t"
            "ldrd   %[x0], %[x1], [%[c]], #8\n\t"
            "smlad  %[a10], %[x0], %[t0], %[a10]\n\t"
            "smlad  %[a11], %[x0], %[t1], %[a11]\n\t"
            "smlad  %[a10], %[x1], %[w0], %[a10]\n\t"
            "smlad  %[a11], %[x1], %[w1], %[a11]\n\t"
            "ldr    %[x0], %[end]\n\t"
            "cmp    %[c], %[x0]\n\t"
            "bne    1b\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [c] "+r"(c), [f0] "+r"(f0),
              [f1] "+r"(f1), [w0] "=&r"(w0), [w1] "=&r"(w1), [t0] "=&r"(t0), [t1] "=&r"(t1), [x0] "=&r"(x0),
              [x1] "=&r"(x1)
            : [end] "m"(pair_end)
            : "cc", "memory");
    }
    if (k & 4) {
        DOT_2X2_BLOCK(c, f0, f1);
        c += 4;
        f0 += 4;
        f1 += 4;
    }
    const int32_t t = k & 3;
    const int16_t *tail0 = (const int16_t *)(const void *)c, *tail1 = tail0 + t;
    for (int32_t j = 0; j < t; ++j) {
        a00 = dc_mac(a00, f0[j], tail0[j]);
        a01 = dc_mac(a01, f1[j], tail0[j]);
        a10 = dc_mac(a10, f0[j], tail1[j]);
        a11 = dc_mac(a11, f1[j], tail1[j]);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* Requantize and store the 2x2 block of dot_2x2 (channels oc, oc + 1 of pixels out0, out1). Everything
 * is read into locals first: stores through int8_t pointers could alias the tables otherwise. `full`:
 * the activation range is [-128, 127] (the caller instantiates both forms). */
static inline __attribute__((always_inline)) void store_2x2(const int32_t acc[4], const dc_dsp_rq_t *rq,
                                                             const dc_dsp_out_t *o, int8_t *out0, int8_t *out1,
                                                             int full)
{
    const int32_t s0 = rq[0].hi_shift, s1 = rq[1].hi_shift;
    if ((s0 | s1) < 0) {
        out0[0] = dc_dsp_rq_output(acc[0], &rq[0], o);
        out0[1] = dc_dsp_rq_output(acc[1], &rq[1], o);
        out1[0] = dc_dsp_rq_output(acc[2], &rq[0], o);
        out1[1] = dc_dsp_rq_output(acc[3], &rq[1], o);
        return;
    }
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    dc_dsp_rq2_sat(&a00, &a10, &rq[0], o->sign_term);
    dc_dsp_rq2_sat(&a01, &a11, &rq[1], o->sign_term);
    if (full) {
        out0[0] = (int8_t)a00;
        out0[1] = (int8_t)a01;
        out1[0] = (int8_t)a10;
        out1[1] = (int8_t)a11;
        return;
    }
    const uint32_t w = dc_dsp_clamp4(a00, a01, a10, a11, o->lo4, o->hi4);
    const uint16_t w0 = (uint16_t)w, w1 = (uint16_t)(w >> 16);
    memcpy(out0, &w0, 2);
    memcpy(out1, &w1, 2);
}

/* Channels [oc, oc_end) in pairs for the two pixels in cols: one call per pixel pair, so the
 * per-pair work is the dot product and the output stage only. Returns the first channel not done. */
static inline __attribute__((always_inline)) int32_t matmul_2px(const int16_t *cols, const int8_t *filter, int32_t k,
                                                                int32_t oc, int32_t oc_end, const dc_dsp_rq_t *rq,
                                                                const dc_dsp_out_t *o, const int32_t *bias,
                                                                int8_t *out0, int8_t *out1, int full)
{
    const int8_t *f0 = filter + (int64_t)oc * k;
    for (; oc + 1 < oc_end; oc += 2, f0 += 2 * (int64_t)k) {
        const int32_t b0 = bias != NULL ? bias[oc] : 0, b1 = bias != NULL ? bias[oc + 1] : 0;
        int32_t acc[4] = {b0, b1, b0, b1};
        dot_2x2(cols, f0, f0 + k, k, acc);
        store_2x2(acc, &rq[oc], o, out0 + oc, out1 + oc, full);
    }
    return oc;
}

static __attribute__((noinline)) int32_t matmul_2px_full(const int16_t *cols, const int8_t *filter, int32_t k,
                                                         int32_t oc, int32_t oc_end, const dc_dsp_rq_t *rq,
                                                         const dc_dsp_out_t *o, const int32_t *bias, int8_t *out0,
                                                         int8_t *out1)
{
    return matmul_2px(cols, filter, k, oc, oc_end, rq, o, bias, out0, out1, 1);
}

static __attribute__((noinline)) int32_t matmul_2px_clamp(const int16_t *cols, const int8_t *filter, int32_t k,
                                                          int32_t oc, int32_t oc_end, const dc_dsp_rq_t *rq,
                                                          const dc_dsp_out_t *o, const int32_t *bias, int8_t *out0,
                                                          int8_t *out1)
{
    return matmul_2px(cols, filter, k, oc, oc_end, rq, o, bias, out0, out1, 0);
}

/* ---- Unpacked-filter column path (one group, K % 4 == 0) ----
 *
 * The filter of a chunk of output channels is unpacked once per call into one record per channel pair
 * (fw_unpack): the two biases, then per 4-value block the int16 pairs in the columns' order (c0: v0 v2,
 * v1 v3; c1: v0 v2, v1 v3), then per channel its multiplier, K (low, high) twice (one copy per pixel:
 * one LDM loads all six words) and hi_shift. A 2 pixel x
 * 2 channel block then needs no filter unpacking (8 SMLADs and 2 loads per 4 values instead of 16
 * instructions), and the record is read front to back by one pointer. */
#define FW_RECORD_WORDS(k) ((k) + 14)

static void fw_unpack(uint32_t *fw, const int8_t *filter, const int32_t *bias, const dc_dsp_rq_t *rq, int32_t k,
                      int32_t oc, int32_t n_pairs)
{
    for (int32_t p = 0; p < n_pairs; ++p) {
        const int32_t c = oc + 2 * p;
        const int8_t *f0 = filter + (int64_t)c * k, *f1 = f0 + k;
        *fw++ = bias != NULL ? (uint32_t)bias[c] : 0u;
        *fw++ = bias != NULL ? (uint32_t)bias[c + 1] : 0u;
        for (int32_t i = 0; i < k; i += 4, fw += 4) {
            const uint32_t w0 = dc_load32(f0 + i), w1 = dc_load32(f1 + i);
            fw[0] = dc_sxtb16(w0);
            fw[1] = dc_sxtb16_ror8(w0);
            fw[2] = dc_sxtb16(w1);
            fw[3] = dc_sxtb16_ror8(w1);
        }
        for (int32_t j = 0; j < 2; ++j, fw += 6) {
            fw[0] = (uint32_t)rq[c + j].multiplier;
            fw[1] = rq[c + j].k_lo;
            fw[2] = (uint32_t)rq[c + j].k_hi;
            fw[3] = rq[c + j].k_lo;
            fw[4] = (uint32_t)rq[c + j].k_hi;
            fw[5] = (uint32_t)rq[c + j].hi_shift;
        }
    }
}

/* One 4-value block of dot_fw_2x2 (assembly text). */
#define FW_BLOCK                                  \
    "ldrd   %[w0], %[w1], [%[w]], #8\n\t"         \
    "ldrd   %[w2], %[w3], [%[w]], #8\n\t"         \
    "ldrd   %[x0], %[x1], [%[c]], #8\n\t"         \
    "smlad  %[a00], %[x0], %[w0], %[a00]\n\t"     \
    "smlad  %[a01], %[x0], %[w2], %[a01]\n\t"     \
    "smlad  %[a00], %[x1], %[w1], %[a00]\n\t"     \
    "smlad  %[a01], %[x1], %[w3], %[a01]\n\t"     \
    "ldrd   %[x0], %[x1], [%[c]], #8\n\t"         \
    "smlad  %[a10], %[x0], %[w0], %[a10]\n\t"     \
    "smlad  %[a11], %[x0], %[w2], %[a11]\n\t"     \
    "smlad  %[a10], %[x1], %[w1], %[a10]\n\t"     \
    "smlad  %[a11], %[x1], %[w3], %[a11]\n\t"

/* 2 pixels x 2 channels over k (a multiple of 4) values of the interleaved columns c and the filter
 * pairs w: 4 blocks per round, then single blocks (the C fallback of fw_run_*). */
static inline __attribute__((always_inline)) void dot_fw_2x2(const uint32_t *c, const uint32_t *w, int32_t k,
                                                             int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    uint32_t w0, w1, w2, w3, x0, x1;
    int32_t n = k >> 4;
    if (n > 0) {
        __asm__ volatile(
            "1:\n\t" FW_BLOCK FW_BLOCK FW_BLOCK FW_BLOCK
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [c] "+r"(c), [w] "+r"(w),
              [n] "+r"(n), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [x0] "=&r"(x0),
              [x1] "=&r"(x1)
            :
            : "cc", "memory");
    }
    n = (k >> 2) & 3;
    if (n > 0) {
        __asm__ volatile(
            "1:\n\t" FW_BLOCK
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [c] "+r"(c), [w] "+r"(w),
              [n] "+r"(n), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [x0] "=&r"(x0),
              [x1] "=&r"(x1)
            :
            : "cc", "memory");
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* Channel pairs [oc, oc + 2 * n_pairs) of the two pixels in cols with the records at fw (C form: any
 * K % 4 == 0, any requantization form). */
static void matmul_fw_2px(const int16_t *cols, const uint32_t *fw, int32_t k, int32_t oc, int32_t n_pairs,
                          const dc_dsp_rq_t *rq, const dc_dsp_out_t *o, int8_t *out0, int8_t *out1, int full)
{
    for (int32_t p = 0; p < n_pairs; ++p, oc += 2, fw += FW_RECORD_WORDS(k)) {
        const int32_t b0 = (int32_t)fw[0], b1 = (int32_t)fw[1];
        int32_t acc[4] = {b0, b1, b0, b1};
        dot_fw_2x2((const uint32_t *)(const void *)cols, fw + 2, k, acc);
        store_2x2(acc, &rq[oc], o, out0 + oc, out1 + oc, full);
    }
}

/* The state fw_run_full / fw_run_clamp read (offsets used by their assembly). */
typedef struct {
    const uint32_t *cols;     /* 0: the two pixels' interleaved columns */
    const uint32_t *cols_end; /* 4: cols + K words */
    uint32_t sign_term;       /* 8 */
    uint32_t lo4, hi4;        /* 12, 16: dc_dup8 of the activation range */
    int8_t *out0, *out1;      /* 20, 24: the two pixels' outputs at the first channel */
    const uint32_t *end;      /* 28: the end of the records to run (at least one) */
} fw_run_t;

/* The head of fw_run_*: save registers, copy the fw_run_t at r0 to [sp, #0 .. #31], r0 = the records. */
#define FW_RUN_ENTER                  \
    "push   {r4-r12, lr}\n\t"         \
    "ldm    r0, {r2-r9}\n\t"          \
    "push   {r2-r9}\n\t"              \
    "mov    r0, r1\n\t"

/* One channel pair: r2..r5 = a00 a01 a10 a11 from the biases, 16 values per round of the dot product
 * (ldm of 4 filter words r6-r9 and 4 column words r10-lr, 8 SMLADs: 10 instructions per 16 MACs, 3 per
 * round for the end test), then each channel's two outputs requantized (dc_arm_dsp.h's fast form) and
 * saturated to [-128, 127]: a00 a01 a10 a11 in r2 r3 r4 r5. */
#define FW_DOT_BLOCK                                  \
    "ldmia  r0!, {r6-r9}\n\t"                         \
    "ldmia  r1!, {r10, r11, r12, lr}\n\t"             \
    "smlad  r2, r10, r6, r2\n\t"                      \
    "smlad  r2, r11, r7, r2\n\t"                      \
    "smlad  r3, r10, r8, r3\n\t"                      \
    "smlad  r3, r11, r9, r3\n\t"                      \
    "smlad  r4, r12, r6, r4\n\t"                      \
    "smlad  r4, lr, r7, r4\n\t"                       \
    "smlad  r5, r12, r8, r5\n\t"                      \
    "smlad  r5, lr, r9, r5\n\t"

#define FW_RQ_CHANNEL(a, b)                           \
    "ldmia  r0!, {r6-r11}\n\t"                        \
    "smlal  r7, r8, " a ", r6\n\t"                    \
    "smlal  r9, r10, " b ", r6\n\t"                   \
    "lsr    r6, " a ", #31\n\t"                       \
    "smlal  r7, r8, r6, r12\n\t"                      \
    "lsr    r6, " b ", #31\n\t"                       \
    "smlal  r9, r10, r6, r12\n\t"                     \
    "asr    r8, r8, r11\n\t"                          \
    "asr    r10, r10, r11\n\t"                        \
    "ssat   " a ", #8, r8\n\t"                        \
    "ssat   " b ", #8, r10\n\t"

#define FW_LOOP                                       \
    "ldr    r6, [sp, #4]\n\t"                         \
    "cmp    r1, r6\n\t"                               \
    "bne    1b\n\t"

/* `loop` is FW_LOOP, or empty when K is exactly one round (K = 8 or 16: no end test). */
#define FW_PAIR_HEAD(round, loop)                     \
    "2:\n\t"                                          \
    "ldmia  r0!, {r2, r3}\n\t"                        \
    "mov    r4, r2\n\t"                               \
    "mov    r5, r3\n\t"                               \
    "ldr    r1, [sp, #0]\n\t"                         \
    "1:\n\t" round loop                               \
    "ldr    r12, [sp, #8]\n\t"                        \
    FW_RQ_CHANNEL("r2", "r4") FW_RQ_CHANNEL("r3", "r5")

/* Rounds of 16, 8 and 4 values (K % 16 == 0, K % 8 == 0, any K % 4 == 0). */
#define FW_ROUND16 FW_DOT_BLOCK FW_DOT_BLOCK FW_DOT_BLOCK FW_DOT_BLOCK
#define FW_ROUND8 FW_DOT_BLOCK FW_DOT_BLOCK
#define FW_ROUND4 FW_DOT_BLOCK

/* The output stages: activation range [-128, 127] (the saturation was the clamp), or narrower (the four
 * outputs clamped as bytes with SSUB8 / SEL). */
#define FW_STORE_FULL                                 \
    "ldrd   r10, r11, [sp, #20]\n\t"                  \
    "strb   r3, [r10, #1]\n\t"                        \
    "strb   r2, [r10], #2\n\t"                        \
    "strb   r5, [r11, #1]\n\t"                        \
    "strb   r4, [r11], #2\n\t"                        \
    "strd   r10, r11, [sp, #20]\n\t"

#define FW_STORE_CLAMP                                \
    "and    r6, r2, #255\n\t"                         \
    "bfi    r6, r3, #8, #8\n\t"                       \
    "bfi    r6, r4, #16, #8\n\t"                      \
    "bfi    r6, r5, #24, #8\n\t"                      \
    "ldrd   r7, r8, [sp, #12]\n\t"                    \
    "ssub8  r9, r6, r7\n\t"                           \
    "sel    r6, r6, r7\n\t"                           \
    "ssub8  r9, r8, r6\n\t"                           \
    "sel    r6, r6, r8\n\t"                           \
    "ldrd   r10, r11, [sp, #20]\n\t"                  \
    "strh   r6, [r10], #2\n\t"                        \
    "lsr    r6, r6, #16\n\t"                          \
    "strh   r6, [r11], #2\n\t"                        \
    "strd   r10, r11, [sp, #20]\n\t"

#define FW_PAIR_TAIL                                  \
    "ldr    r6, [sp, #28]\n\t"                        \
    "cmp    r0, r6\n\t"                               \
    "bne    2b\n\t"                                   \
    "add    sp, sp, #32\n\t"                          \
    "pop    {r4-r12, pc}\n\t"

/* Every pair of the records (fast channels only), fw_run_t st: fw_run_<range><round>. */
#define FW_RUN(name, round, loop, store)                                                       \
    static __attribute__((naked, noinline)) void name(const fw_run_t *st __attribute__((unused)),     \
                                                      const uint32_t *records __attribute__((unused))) \
    {                                                                                          \
        __asm__ volatile(FW_RUN_ENTER FW_PAIR_HEAD(round, loop) store FW_PAIR_TAIL);           \
    }

FW_RUN(fw_run_full16, FW_ROUND16, FW_LOOP, FW_STORE_FULL)
FW_RUN(fw_run_clamp16, FW_ROUND16, FW_LOOP, FW_STORE_CLAMP)
FW_RUN(fw_run_full8, FW_ROUND8, FW_LOOP, FW_STORE_FULL)
FW_RUN(fw_run_clamp8, FW_ROUND8, FW_LOOP, FW_STORE_CLAMP)
FW_RUN(fw_run_full4, FW_ROUND4, FW_LOOP, FW_STORE_FULL)
FW_RUN(fw_run_clamp4, FW_ROUND4, FW_LOOP, FW_STORE_CLAMP)
/* small K (1x1 convolutions over 8 or 16 channels): one round, no end test */
FW_RUN(fw_run_full_k16, FW_ROUND16, "", FW_STORE_FULL)
FW_RUN(fw_run_clamp_k16, FW_ROUND16, "", FW_STORE_CLAMP)
FW_RUN(fw_run_full_k8, FW_ROUND8, "", FW_STORE_FULL)
FW_RUN(fw_run_clamp_k8, FW_ROUND8, "", FW_STORE_CLAMP)

/* The runner for k values (k % 4 == 0) and the activation range. */
static void (*fw_runner(int32_t k, int full))(const fw_run_t *, const uint32_t *)
{
    if (k == 16) {
        return full ? fw_run_full_k16 : fw_run_clamp_k16;
    }
    if (k == 8) {
        return full ? fw_run_full_k8 : fw_run_clamp_k8;
    }
    if ((k & 15) == 0) {
        return full ? fw_run_full16 : fw_run_clamp16;
    }
    if ((k & 7) == 0) {
        return full ? fw_run_full8 : fw_run_clamp8;
    }
    return full ? fw_run_full4 : fw_run_clamp4;
}

/* Whether pair record p (of records of k values) has two fast channels (hi_shift >= 0). */
static inline int fw_pair_fast(const uint32_t *fw, int32_t k, int32_t p)
{
    const uint32_t *r = fw + (int64_t)p * FW_RECORD_WORDS(k) + 2 + k;
    return (int32_t)(r[5] | r[11]) >= 0;
}

/* Channel pairs [oc, oc + 2 * n_pairs) of the two pixels in cols: runs of pairs with fast channels
 * through fw_run_*, the others through matmul_fw_2px. all_fast: every pair is fast (no scan). */
static void fw_pairs(fw_run_t *run, const int16_t *cols, const uint32_t *fw, int32_t k, int32_t oc,
                     int32_t n_pairs, const dc_dsp_rq_t *rq, const dc_dsp_out_t *o, int8_t *out0, int8_t *out1,
                     int full, int all_fast)
{
    void (*const fn)(const fw_run_t *, const uint32_t *) = fw_runner(k, full);
    run->cols = (const uint32_t *)(const void *)cols;
    run->cols_end = run->cols + k;
    for (int32_t p = 0; p < n_pairs;) {
        int32_t q = p;
        if (all_fast) {
            q = n_pairs;
        } else {
            while (q < n_pairs && fw_pair_fast(fw, k, q)) {
                ++q;
            }
        }
        if (q > p) {
            run->out0 = out0 + oc + 2 * p;
            run->out1 = out1 + oc + 2 * p;
            run->end = fw + (int64_t)q * FW_RECORD_WORDS(k);
            fn(run, fw + (int64_t)p * FW_RECORD_WORDS(k));
            p = q;
            continue;
        }
        matmul_fw_2px(cols, fw + (int64_t)p * FW_RECORD_WORDS(k), k, oc + 2 * p, 1, rq, o, out0, out1, full);
        ++p;
    }
}

/* One pixel (slot 0) x 2 channels. */
static void dot_1x2(const int16_t *cols, const int8_t *f0, const int8_t *f1, int32_t k, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    const uint32_t *c = (const uint32_t *)(const void *)cols;
    const int32_t blocks = k >> 2;
    for (int32_t b = 0; b < blocks; ++b, c += 4, f0 += 4, f1 += 4) {
        const uint32_t w0 = dc_load32(f0), w1 = dc_load32(f1);
        a0 = dc_smlad(c[0], dc_sxtb16(w0), a0);
        a0 = dc_smlad(c[1], dc_sxtb16_ror8(w0), a0);
        a1 = dc_smlad(c[0], dc_sxtb16(w1), a1);
        a1 = dc_smlad(c[1], dc_sxtb16_ror8(w1), a1);
    }
    const int32_t t = k & 3;
    const int16_t *tail0 = (const int16_t *)(const void *)c;
    for (int32_t j = 0; j < t; ++j) {
        a0 = dc_mac(a0, f0[j], tail0[j]);
        a1 = dc_mac(a1, f1[j], tail0[j]);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* `pixels` (1 or 2) x 1 channel. */
static void dot_px1(const int16_t *cols, const int8_t *f0, int32_t k, int32_t pixels, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    const uint32_t *c = (const uint32_t *)(const void *)cols;
    const int32_t blocks = k >> 2;
    for (int32_t b = 0; b < blocks; ++b, c += 4, f0 += 4) {
        const uint32_t w0 = dc_load32(f0);
        const uint32_t we = dc_sxtb16(w0), wo = dc_sxtb16_ror8(w0);
        a0 = dc_smlad(c[0], we, a0);
        a0 = dc_smlad(c[1], wo, a0);
        a1 = dc_smlad(c[2], we, a1);
        a1 = dc_smlad(c[3], wo, a1);
    }
    const int32_t t = k & 3;
    const int16_t *tail0 = (const int16_t *)(const void *)c, *tail1 = tail0 + t;
    for (int32_t j = 0; j < t; ++j) {
        a0 = dc_mac(a0, f0[j], tail0[j]);
        a1 = dc_mac(a1, f0[j], tail1[j]);
    }
    acc[0] = a0;
    acc[1] = pixels == 2 ? a1 : 0;
}

/* Channels [oc, oc_end) of the n_px (1 or 2) pixels in cols that the 2x2 blocks left: pairs of one
 * pixel, then an odd last channel. */
static void rest_channels(const int16_t *cols, const int8_t *filter, int32_t k, int32_t oc, int32_t oc_end,
                          const dc_dsp_rq_t *rq, const dc_dsp_out_t *o, const int32_t *bias, int8_t *out0,
                          int8_t *out1, int32_t n_px)
{
    for (; oc + 1 < oc_end; oc += 2) {
        const int8_t *f0 = filter + (int64_t)oc * k, *f1 = f0 + k;
        const int32_t b0 = bias != NULL ? bias[oc] : 0, b1 = bias != NULL ? bias[oc + 1] : 0;
        int32_t acc[2] = {b0, b1};
        dot_1x2(cols, f0, f1, k, acc);
        out0[oc] = dc_dsp_rq_output(acc[0], &rq[oc], o);
        out0[oc + 1] = dc_dsp_rq_output(acc[1], &rq[oc + 1], o);
    }
    if (oc < oc_end) {
        const int32_t b0 = bias != NULL ? bias[oc] : 0;
        int32_t acc[2] = {b0, b0};
        dot_px1(cols, filter + (int64_t)oc * k, k, n_px, acc);
        out0[oc] = dc_dsp_rq_output(acc[0], &rq[oc], o);
        if (n_px == 2) {
            out1[oc] = dc_dsp_rq_output(acc[1], &rq[oc], o);
        }
    }
}

/* ---- Band path: convolutions over few input channels (e.g. a first layer on an RGB or mono image) ----
 *
 * The column path builds each pixel's receptive field anew, which costs more than its MACs when the
 * field is small and Cin % 4 != 0. Here the kh input rows an output row needs are converted once to
 * int16 with the input offset added (padding = 0) into a "band" ordered column by column (x, then the
 * kh rows, then Cin), so the whole window of pixel ox is the K consecutive values at
 * ox * stride_w * kh * Cin. The filter is converted once per call to int16 pairs in that window order,
 * padded with 0 weights to K4 = K rounded up to 4 (the band has 4 spare values, so the extra lanes read
 * finite values times 0). SMLAD then multiplies two values of each operand without any per-pixel
 * repacking. Channels whose filter is all zero (pruned) are not computed: their output, the requantized
 * bias, is stored per pixel. The other channels are computed in pairs of slots (an odd one is paired
 * with itself) for two pixels at once; each slot pair has one record, walked front to back by the
 * assembly runner band_run_*: the two biases, per 4 window values the pairs (slot 0: v0 v1, slot 1:
 * v0 v1, slot 0: v2 v3, slot 1: v2 v3), both slots' requantization (as the unpacked-filter records) and
 * their two output channels. */
#define BAND_RECORD_WORDS(k4) ((k4) + 15)

typedef struct {
    dc_dsp_rq_t *rq;      /* per slot */
    uint32_t *records;    /* per slot pair: BAND_RECORD_WORDS(K4) words */
    int16_t *band;        /* kh rows of rs values */
    uint16_t *channel;    /* output channel of each slot */
    uint16_t *dead;       /* channels with an all-zero filter */
    int8_t *dead_value;   /* their output */
    int32_t slots, n_dead, k4, rs, all_fast;
} band_layout_t;

static void band_layout(uint8_t *base, int32_t out_c, int32_t k4, int32_t rs, band_layout_t *l)
{
    const int32_t slots = (out_c + 2) & ~1;
    l->rq = (dc_dsp_rq_t *)(void *)base;
    base += (size_t)slots * sizeof(dc_dsp_rq_t);
    l->records = (uint32_t *)(void *)base;
    base += (size_t)(slots / 2) * BAND_RECORD_WORDS(k4) * 4;
    l->band = (int16_t *)(void *)base;
    base += (size_t)rs * 2;
    l->channel = (uint16_t *)(void *)base;
    base += (size_t)slots * 2;
    l->dead = (uint16_t *)(void *)base;
    base += (size_t)out_c * 2;
    l->dead_value = (int8_t *)(void *)base;
    l->k4 = k4;
    l->rs = rs;
}

/* Window value t (order: fx, fy, c) of a filter [kh][kw][cin] as int16 lanes; 0 past the window. */
static inline uint32_t window_value(const int8_t *f, int32_t t, const geometry_t *g)
{
    if (t >= g->k) {
        return 0;
    }
    const int32_t c = t % g->cin, fy = (t / g->cin) % g->kh, fx = t / (g->cin * g->kh);
    return (uint16_t)(int16_t)f[(fy * g->kw + fx) * g->cin + c];
}

/* Sorts channels into live slots and dead (all-zero filter) ones, prepares the slots' requantization and
 * the slot pairs' records. */
static void band_prepare(band_layout_t *l, const dc_channel_quant_t *quant, const int8_t *filter,
                         const int32_t *bias, int32_t out_c, const geometry_t *g, const dc_dsp_out_t *o)
{
    const int32_t k = g->k;
    int32_t live = 0, dead = 0;
    for (int32_t oc = 0; oc < out_c; ++oc) {
        const int8_t *f = filter + (int64_t)oc * k;
        int32_t any = 0;
        for (int32_t i = 0; i < k; ++i) {
            any |= f[i];
        }
        if (any == 0) {
            dc_dsp_rq_t q;
            dc_dsp_rq_prepare(&q, quant->multiplier[oc], quant->shift[oc], o);
            l->dead[dead] = (uint16_t)oc;
            l->dead_value[dead++] = dc_dsp_rq_output(bias != NULL ? bias[oc] : 0, &q, o);
            continue;
        }
        l->channel[live] = (uint16_t)oc;
        dc_dsp_rq_prepare(&l->rq[live++], quant->multiplier[oc], quant->shift[oc], o);
    }
    if (live & 1) { /* pair the last live channel with itself: same values, stored twice */
        l->channel[live] = l->channel[live - 1];
        l->rq[live] = l->rq[live - 1];
        ++live;
    }
    l->slots = live;
    l->n_dead = dead;
    l->all_fast = 1;
    uint32_t *w = l->records;
    for (int32_t s = 0; s < live; s += 2) {
        const int32_t c0 = l->channel[s], c1 = l->channel[s + 1];
        const int8_t *f0 = filter + (int64_t)c0 * k, *f1 = filter + (int64_t)c1 * k;
        *w++ = bias != NULL ? (uint32_t)bias[c0] : 0u;
        *w++ = bias != NULL ? (uint32_t)bias[c1] : 0u;
        for (int32_t t = 0; t < l->k4; t += 4, w += 4) {
            w[0] = window_value(f0, t, g) | window_value(f0, t + 1, g) << 16;
            w[1] = window_value(f1, t, g) | window_value(f1, t + 1, g) << 16;
            w[2] = window_value(f0, t + 2, g) | window_value(f0, t + 3, g) << 16;
            w[3] = window_value(f1, t + 2, g) | window_value(f1, t + 3, g) << 16;
        }
        for (int32_t j = 0; j < 2; ++j, w += 6) {
            const dc_dsp_rq_t *q = &l->rq[s + j];
            w[0] = (uint32_t)q->multiplier;
            w[1] = q->k_lo;
            w[2] = (uint32_t)q->k_hi;
            w[3] = q->k_lo;
            w[4] = (uint32_t)q->k_hi;
            w[5] = (uint32_t)q->hi_shift;
            l->all_fast &= q->hi_shift >= 0;
        }
        *w++ = (uint32_t)c0 | (uint32_t)c1 << 16;
    }
}

/* The band of output row oy: input columns x0 .. x0 + w_b - 1, each as its kh rows' Cin values (rows
 * y0 + fy * dil_h) as int16 with the input offset added, 0 outside the image, then 4 spare zeros. Filled
 * row by row; with Cin == 3 a pixel's 3 values are converted from one word (SXTAB16, PKHBT), except the
 * image's last column (the word would read past the row). */
static void band_fill(const band_layout_t *l, const geometry_t *g, int32_t oy, int32_t w_b)
{
    const int32_t y0 = oy * g->stride_h - g->pad_h, x0 = -g->pad_w, c = g->in_c, kh = g->kh;
    const int32_t off = g->input_offset, col = kh * c, row_bytes = g->in_w * c;
    const uint32_t off2 = dc_dup16(off);
    /* band columns [lo, hi) are inside the image */
    int32_t lo = -x0 > 0 ? -x0 : 0, hi = g->in_w - x0;
    hi = hi > w_b ? w_b : hi;
    lo = lo > hi ? hi : lo;
    for (int32_t fy = 0; fy < kh; ++fy) {
        const int32_t y = y0 + fy * g->dil_h;
        int16_t *d = l->band + fy * c;
        if (y < 0 || y >= g->in_h) {
            for (int32_t x = 0; x < w_b; ++x, d += col) {
                for (int32_t i = 0; i < c; ++i) {
                    d[i] = 0;
                }
            }
            continue;
        }
        const int8_t *sp = g->input + (int64_t)y * row_bytes + (int64_t)(x0 + lo) * c;
        int32_t x = 0;
        for (; x < lo; ++x, d += col) {
            for (int32_t i = 0; i < c; ++i) {
                d[i] = 0;
            }
        }
        if (c == 3) {
            const int32_t fast_end = x0 + hi == g->in_w ? hi - 1 : hi;
            for (; x < fast_end; ++x, d += col, sp += 3) {
                const uint32_t w = dc_load32(sp);
                const uint32_t e = dc_sxtab16(off2, w), o = dc_sxtab16_ror8(off2, w);
                uint32_t v01;
                __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(v01) : "r"(e), "r"(o));
                dc_store32(d, v01);
                d[2] = (int16_t)(e >> 16);
            }
        }
        for (; x < hi; ++x, d += col, sp += c) {
            for (int32_t i = 0; i < c; ++i) {
                d[i] = (int16_t)(sp[i] + off);
            }
        }
        for (; x < w_b; ++x, d += col) {
            for (int32_t i = 0; i < c; ++i) {
                d[i] = 0;
            }
        }
    }
    int16_t *end = l->band + (int64_t)w_b * col;
    for (int32_t i = 0; i < 4; ++i) {
        end[i] = 0;
    }
}

/* The state band_run_* read (offsets used by their assembly). */
typedef struct {
    const int16_t *c0, *c1;  /* 0, 4: the two pixels' windows (any 2-byte alignment: LDR) */
    const int16_t *c0_end;   /* 8: c0 + K4 values */
    uint32_t sign_term;      /* 12 */
    uint32_t lo4, hi4;       /* 16, 20 */
    int8_t *out0, *out1;     /* 24, 28: the two pixels' output rows (channel 0) */
    const uint32_t *end;     /* 32: the end of the records to run (at least one) */
} band_run_t;

/* One slot-pair record: r2..r5 = p0.s0 p0.s1 p1.s0 p1.s1 from the biases; per 4 window values one LDM of
 * the 4 filter words, 4 LDRs of the windows and 8 SMLADs (15 instructions per 16 MACs with the loop
 * test against lr); then FW_RQ_CHANNEL for both slots; r6, r7 = the slots' output channels. */
#define BAND_PAIR_HEAD                                \
    "2:\n\t"                                          \
    "ldmia  r0!, {r2, r3}\n\t"                        \
    "mov    r4, r2\n\t"                               \
    "mov    r5, r3\n\t"                               \
    "ldr    r1, [sp, #0]\n\t"                         \
    "ldr    r12, [sp, #4]\n\t"                        \
    "ldr    lr, [sp, #8]\n\t"                         \
    "1:\n\t"                                          \
    "ldmia  r0!, {r6-r9}\n\t"                         \
    "ldr    r10, [r1], #4\n\t"                        \
    "ldr    r11, [r1], #4\n\t"                        \
    "smlad  r2, r10, r6, r2\n\t"                      \
    "smlad  r2, r11, r8, r2\n\t"                      \
    "smlad  r3, r10, r7, r3\n\t"                      \
    "smlad  r3, r11, r9, r3\n\t"                      \
    "ldr    r10, [r12], #4\n\t"                       \
    "ldr    r11, [r12], #4\n\t"                       \
    "smlad  r4, r10, r6, r4\n\t"                      \
    "smlad  r4, r11, r8, r4\n\t"                      \
    "smlad  r5, r10, r7, r5\n\t"                      \
    "smlad  r5, r11, r9, r5\n\t"                      \
    "cmp    r1, lr\n\t"                               \
    "bne    1b\n\t"                                   \
    "ldr    r12, [sp, #12]\n\t"                       \
    FW_RQ_CHANNEL("r2", "r4") FW_RQ_CHANNEL("r3", "r5") \
    "ldrh   r6, [r0], #2\n\t"                         \
    "ldrh   r7, [r0], #2\n\t"

#define BAND_STORE_FULL                               \
    "ldrd   r10, r11, [sp, #24]\n\t"                  \
    "strb   r3, [r10, r7]\n\t"                        \
    "strb   r2, [r10, r6]\n\t"                        \
    "strb   r5, [r11, r7]\n\t"                        \
    "strb   r4, [r11, r6]\n\t"

#define BAND_STORE_CLAMP                              \
    "and    r8, r2, #255\n\t"                         \
    "bfi    r8, r3, #8, #8\n\t"                       \
    "bfi    r8, r4, #16, #8\n\t"                      \
    "bfi    r8, r5, #24, #8\n\t"                      \
    "ldrd   r10, r11, [sp, #16]\n\t"                  \
    "ssub8  r9, r8, r10\n\t"                          \
    "sel    r8, r8, r10\n\t"                          \
    "ssub8  r9, r11, r8\n\t"                          \
    "sel    r8, r8, r11\n\t"                          \
    "ldrd   r10, r11, [sp, #24]\n\t"                  \
    "lsr    r9, r8, #8\n\t"                           \
    "strb   r9, [r10, r7]\n\t"                        \
    "strb   r8, [r10, r6]\n\t"                        \
    "lsr    r9, r8, #24\n\t"                          \
    "strb   r9, [r11, r7]\n\t"                        \
    "lsr    r9, r8, #16\n\t"                          \
    "strb   r9, [r11, r6]\n\t"

#define BAND_RUN(name, store)                                                                      \
    static __attribute__((naked, noinline)) void name(const band_run_t *st __attribute__((unused)),     \
                                                      const uint32_t *records __attribute__((unused))) \
    {                                                                                              \
        __asm__ volatile("push   {r4-r12, lr}\n\t"                                                 \
                         "ldm    r0, {r2-r10}\n\t"                                                 \
                         "push   {r2-r10}\n\t"                                                     \
                         "mov    r0, r1\n\t" BAND_PAIR_HEAD store                                  \
                         "ldr    r6, [sp, #32]\n\t"                                                \
                         "cmp    r0, r6\n\t"                                                       \
                         "bne    2b\n\t"                                                           \
                         "add    sp, sp, #36\n\t"                                                  \
                         "pop    {r4-r12, pc}\n\t");                                               \
    }

BAND_RUN(band_run_full, BAND_STORE_FULL)
BAND_RUN(band_run_clamp, BAND_STORE_CLAMP)

/* One slot-pair record in C (any requantization form): the fallback of band_run_*. */
static void band_pair_c(const band_layout_t *l, const uint32_t *rec, int32_t s, const int16_t *c0, const int16_t *c1,
                        const dc_dsp_out_t *o, int8_t *out0, int8_t *out1, int full)
{
    int32_t a00 = (int32_t)rec[0], a01 = (int32_t)rec[1], a10 = a00, a11 = a01;
    const uint32_t *w = rec + 2;
    for (int32_t t = 0; t < l->k4; t += 4, w += 4) {
        const uint32_t x0a = dc_load32(c0 + t), x0b = dc_load32(c0 + t + 2);
        const uint32_t x1a = dc_load32(c1 + t), x1b = dc_load32(c1 + t + 2);
        a00 = dc_smlad(x0b, w[2], dc_smlad(x0a, w[0], a00));
        a01 = dc_smlad(x0b, w[3], dc_smlad(x0a, w[1], a01));
        a10 = dc_smlad(x1b, w[2], dc_smlad(x1a, w[0], a10));
        a11 = dc_smlad(x1b, w[3], dc_smlad(x1a, w[1], a11));
    }
    const int32_t acc[4] = {a00, a01, a10, a11};
    int8_t v[4];
    store_2x2(acc, &l->rq[s], o, &v[0], &v[2], full);
    const int32_t i0 = l->channel[s], i1 = l->channel[s + 1];
    out0[i1] = v[1]; /* slot 1 first: when it repeats slot 0, slot 0's store is the same value */
    out0[i0] = v[0];
    out1[i1] = v[3];
    out1[i0] = v[2];
}

/* Whether slot pair p's record has two fast slots. */
static inline int band_pair_fast(const band_layout_t *l, int32_t p)
{
    const uint32_t *r = l->records + (int64_t)p * BAND_RECORD_WORDS(l->k4) + 2 + l->k4;
    return (int32_t)(r[5] | r[11]) >= 0;
}

/* Output row of the band path: pixel pairs (a last odd pixel computed as a pair with itself). */
static void band_row(const band_layout_t *l, const geometry_t *g, const dc_dsp_out_t *o, int8_t *out_row,
                     int32_t out_w, int32_t out_stride, int full)
{
    const int32_t step = g->stride_w * g->kh * g->in_c, n_pairs = l->slots / 2, n_dead = l->n_dead;
    const int32_t words = BAND_RECORD_WORDS(l->k4);
    void (*const fn)(const band_run_t *, const uint32_t *) = full ? band_run_full : band_run_clamp;
    band_run_t run;
    run.sign_term = o->sign_term;
    run.lo4 = o->lo4;
    run.hi4 = o->hi4;
    for (int32_t ox = 0; ox < out_w; ox += 2) {
        const int32_t two = out_w - ox >= 2;
        const int16_t *c0 = l->band + (int64_t)ox * step, *c1 = two ? c0 + step : c0;
        int8_t *out0 = out_row + (int64_t)ox * out_stride, *out1 = two ? out0 + out_stride : out0;
        run.c0 = c0;
        run.c1 = c1;
        run.c0_end = c0 + l->k4;
        run.out0 = out0;
        run.out1 = out1;
        for (int32_t p = 0; p < n_pairs;) {
            int32_t q = p;
            if (l->all_fast) {
                q = n_pairs;
            } else {
                while (q < n_pairs && band_pair_fast(l, q)) {
                    ++q;
                }
            }
            if (q > p) {
                run.end = l->records + (int64_t)q * words;
                fn(&run, l->records + (int64_t)p * words);
                p = q;
                continue;
            }
            band_pair_c(l, l->records + (int64_t)p * words, 2 * p, c0, c1, o, out0, out1, full);
            ++p;
        }
        for (int32_t t = 0; t < n_dead; ++t) {
            out0[l->dead[t]] = l->dead_value[t];
            out1[l->dead[t]] = l->dead_value[t];
        }
    }
}

static void band_conv(uint8_t *base, const dc_conv_params_t *p, const dc_channel_quant_t *quant, geometry_t *g,
                      const dc_dims_t *input_dims, const int8_t *input, const int8_t *filter, const int32_t *bias,
                      const dc_dims_t *output_dims, int8_t *output, int32_t out_c, int32_t out_stride,
                      const dc_dsp_out_t *o)
{
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t w_b = (out_w - 1) * g->stride_w + g->kw;
    band_layout_t l;
    band_layout(base, out_c, (g->k + 3) & ~3, w_b * g->kh * g->in_c + 4, &l);
    band_prepare(&l, quant, filter, bias, out_c, g, o);
    const int full = p->act_min == -128 && p->act_max == 127;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        g->input = input + (int64_t)b * g->in_h * g->in_w * g->in_c;
        int8_t *out_b = output + (int64_t)b * out_h * out_w * out_stride;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            if (l.slots > 0) { /* else every filter is zero: no input needed */
                band_fill(&l, g, oy, w_b);
            }
            band_row(&l, g, o, out_b + (int64_t)oy * out_w * out_stride, out_w, out_stride, full);
        }
    }
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
    const int32_t out_c = filter_dims->n, out_stride = p->output_stride > 0 ? p->output_stride : out_c;
    const int32_t k = filter_dims->h * filter_dims->w * filter_dims->c; /* <= filter_len: fits */
    const int64_t band = band_bytes(p, input_dims, filter_dims, output_dims);
    if (p->scratch == NULL ||
        (int64_t)p->scratch_len <
            (band >= 0 ? band : scratch_bytes(k, out_c, fw_channels(k, filter_dims->c, input_dims->c, out_c)))) {
        return DC_ERR_BUFFER;
    }
    uint8_t *base = (uint8_t *)(((uintptr_t)p->scratch + 3u) & ~(uintptr_t)3u);
    dc_dsp_rq_t *rq = (dc_dsp_rq_t *)(void *)base;
    int16_t *cols = (int16_t *)(void *)(base + (size_t)out_c * sizeof(dc_dsp_rq_t));
    dc_dsp_out_t o;
    dc_dsp_out_init(&o, p->rounding, p->output_offset, p->act_min, p->act_max);

    geometry_t g;
    g.in_h = input_dims->h;
    g.in_w = input_dims->w;
    g.in_c = input_dims->c;
    g.kh = filter_dims->h;
    g.kw = filter_dims->w;
    g.cin = filter_dims->c;
    g.k = k;
    g.stride_h = p->stride_h;
    g.stride_w = p->stride_w;
    g.dil_h = p->dilation_h;
    g.dil_w = p->dilation_w;
    g.pad_h = p->pad_h;
    g.pad_w = p->pad_w;
    g.input_offset = p->input_offset;
    g.stage = (int8_t *)(cols + 2 * (size_t)k);
    if (band >= 0) {
        band_conv(base, p, quant, &g, input_dims, input, filter, bias, output_dims, output, out_c, out_stride, &o);
        return DC_OK;
    }
    for (int32_t oc = 0; oc < out_c; ++oc) {
        dc_dsp_rq_prepare(&rq[oc], quant->multiplier[oc], quant->shift[oc], &o);
    }
    const int32_t groups = g.in_c / g.cin, per_group = out_c / groups;
    const int full = p->act_min == -128 && p->act_max == 127;
    const int32_t out_w = output_dims->w, pixels = output_dims->h * out_w;
    const int32_t fw = fw_channels(k, g.cin, g.in_c, out_c);

    if (fw > 0) {
        /* one group: chunks of fw channels (an odd last channel joins the last chunk), each unpacked once */
        uint32_t *fw_buf = (uint32_t *)(void *)(g.stage + ((k + 3) & ~3));
        /* 1x1 without padding: a pixel's column is its input pixel's Cin (= K) values */
        const int pointwise = g.kh == 1 && g.kw == 1 && g.pad_h == 0 && g.pad_w == 0;
        int all_fast = 1;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            all_fast &= rq[oc].hi_shift >= 0;
        }
        const int direct = pointwise && all_fast && g.stride_h == 1 && g.stride_w == 1 && g.in_w == out_w &&
                           g.in_h == output_dims->h;
        void (*const run_fn)(const fw_run_t *, const uint32_t *) = fw_runner(k, full);
        fw_run_t run;
        run.sign_term = o.sign_term;
        run.lo4 = o.lo4;
        run.hi4 = o.hi4;
        for (int32_t oc0 = 0; oc0 < out_c; oc0 += fw) {
            int32_t oc1 = out_c - oc0 > fw ? oc0 + fw : out_c;
            oc1 = out_c - oc1 == 1 ? out_c : oc1;
            const int32_t n_pairs = (oc1 - oc0) >> 1;
            fw_unpack(fw_buf, filter, bias, rq, k, oc0, n_pairs);
            for (int32_t b = 0; b < input_dims->n; ++b) {
                g.input = input + (int64_t)b * g.in_h * g.in_w * g.in_c;
                int8_t *out_b = output + (int64_t)b * pixels * out_stride;
                if (direct && n_pairs > 0) {
                    /* 1x1, stride 1, output pixel = input pixel, every channel fast: the shortest loop */
                    const int8_t *src = g.input;
                    int32_t px = 0;
                    run.cols = (const uint32_t *)(const void *)cols;
                    run.cols_end = run.cols + k;
                    for (; px + 1 < pixels; px += 2, src += 2 * k) {
                        int8_t *out0 = out_b + (int64_t)px * out_stride;
                        build_columns_1x1(cols, src, src + k, k, g.input_offset);
                        run.out0 = out0 + oc0;
                        run.out1 = out0 + out_stride + oc0;
                        run.end = fw_buf + (int64_t)n_pairs * FW_RECORD_WORDS(k);
                        run_fn(&run, fw_buf);
                        if (oc0 + 2 * n_pairs < oc1) {
                            rest_channels(cols, filter, k, oc0 + 2 * n_pairs, oc1, rq, &o, bias, out0, out0 + out_stride, 2);
                        }
                    }
                    if (px < pixels) {
                        int8_t *out0 = out_b + (int64_t)px * out_stride;
                        build_column(&g, cols, 0, px / out_w, px % out_w, 0);
                        rest_channels(cols, filter, k, oc0, oc1, rq, &o, bias, out0, out0 + out_stride, 1);
                    }
                    continue;
                }
                for (int32_t px = 0; px < pixels; px += 2) {
                    const int32_t n_px = pixels - px >= 2 ? 2 : 1;
                    int8_t *out0 = out_b + (int64_t)px * out_stride, *out1 = out0 + out_stride;
                    if (pointwise && n_px == 2) {
                        const int32_t oy0 = px / out_w, ox0 = px - oy0 * out_w;
                        const int32_t oy1 = ox0 + 1 < out_w ? oy0 : oy0 + 1, ox1 = ox0 + 1 < out_w ? ox0 + 1 : 0;
                        build_columns_1x1(cols, g.input + ((int64_t)oy0 * g.stride_h * g.in_w + ox0 * g.stride_w) * k,
                                          g.input + ((int64_t)oy1 * g.stride_h * g.in_w + ox1 * g.stride_w) * k, k,
                                          g.input_offset);
                    } else {
                        for (int32_t s = 0; s < n_px; ++s) {
                            build_column(&g, cols, s, (px + s) / out_w, (px + s) % out_w, 0);
                        }
                    }
                    int32_t oc = oc0;
                    if (n_px == 2) {
                        fw_pairs(&run, cols, fw_buf, k, oc, n_pairs, rq, &o, out0, out1, full, all_fast);
                        oc += 2 * n_pairs;
                    }
                    rest_channels(cols, filter, k, oc, oc1, rq, &o, bias, out0, out1, n_px);
                }
            }
        }
        return DC_OK;
    }

    for (int32_t b = 0; b < input_dims->n; ++b) {
        g.input = input + (int64_t)b * g.in_h * g.in_w * g.in_c;
        int8_t *out_b = output + (int64_t)b * pixels * out_stride;
        for (int32_t px = 0; px < pixels; px += 2) {
            const int32_t n_px = pixels - px >= 2 ? 2 : 1;
            int8_t *out0 = out_b + (int64_t)px * out_stride, *out1 = out0 + out_stride;
            for (int32_t grp = 0; grp < groups; ++grp) {
                for (int32_t s = 0; s < n_px; ++s) {
                    build_column(&g, cols, s, (px + s) / out_w, (px + s) % out_w, grp * g.cin);
                }
                const int32_t oc_end = (grp + 1) * per_group;
                int32_t oc = grp * per_group;
                if (n_px == 2) {
                    oc = full ? matmul_2px_full(cols, filter, k, oc, oc_end, rq, &o, bias, out0, out1)
                              : matmul_2px_clamp(cols, filter, k, oc, oc_end, rq, &o, bias, out0, out1);
                }
                rest_channels(cols, filter, k, oc, oc_end, rq, &o, bias, out0, out1, n_px);
            }
        }
    }
    return DC_OK;
}
