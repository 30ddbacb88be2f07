/* dc_conv_s8_dsp_layout.h: the scratch layout of the armv7em (DSP) CONV_2D kernel (lib/arch/armv7em/dc_conv_s8.c)
 * in portable C: the kernel lays its scratch out with these functions, and dc_conv_s8_dsp_size.c sizes it on any
 * build (dc_conv_s8_dsp_size.h). The kernel's build checks DC_DSP_RQ_BYTES. (internal) */
#ifndef DC_CONV_S8_DSP_LAYOUT_H
#define DC_CONV_S8_DSP_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "dc_kernels.h"

/* sizeof(dc_dsp_rq_t) (lib/arch/armv7em/dc_arm_dsp.h): one output channel's requantization, five words. */
#define DC_DSP_RQ_BYTES 20

/* Unpacked-filter chunks (one group, K % 4 == 0, see fw_channels): at most this many bytes of pair
 * records (fw_unpack), part of the scratch buffer. 10 KiB holds a whole 64 -> 64 pointwise layer (KWS:
 * 32 records of 312 bytes). A board short of RAM may define a smaller DC_CONV_FW_MAX_BYTES (chunks of
 * fewer channels, or the per-block filter unpacking when fewer than 8 channels fit). */
#ifndef DC_CONV_FW_MAX_BYTES
#define DC_CONV_FW_MAX_BYTES 10240
#endif
#define FW_MAX_BYTES ((int64_t)(DC_CONV_FW_MAX_BYTES))

/* Bytes of one channel pair's record: 2 biases, K int16 pairs of each channel, 2 x 6 words of requantization. */
static inline int64_t fw_pair_bytes(int64_t k)
{
    return 4 * k + 56;
}

/* Output channels per unpacked-filter chunk (even), or 0 when the column path unpacks the filter per
 * block instead: the path needs one group and K % 4 == 0, and a chunk of at least 8 channels (or the
 * whole layer), since the columns are built again for every chunk. */
static inline int32_t fw_channels(int32_t k, int32_t cin, int32_t in_c, int32_t out_c)
{
    if (cin != in_c || k <= 0 || (k & 3) != 0 || out_c < 2 || fw_pair_bytes(k) > FW_MAX_BYTES) {
        return 0;
    }
    const int32_t cc = 2 * (int32_t)(FW_MAX_BYTES / fw_pair_bytes(k));
    const int32_t even = out_c & ~1;
    if (cc >= even) {
        return even;
    }
    return cc >= 8 ? cc : 0;
}

/* Scratch layout: [dc_dsp_rq_t x Cout][int16 columns: 2 pixels x K][int8 staging patch: K, rounded up
 * to 4][unpacked filter chunk: fw_channels / 2 pair records, when that path applies], after up to 3 bytes of
 * alignment slack. */
static inline int64_t scratch_bytes(int32_t k, int32_t out_c, int32_t fw)
{
    return 3 + (int64_t)out_c * DC_DSP_RQ_BYTES + 2 * (int64_t)k * 2 + (((int64_t)k + 3) & ~3) +
           (int64_t)(fw / 2) * fw_pair_bytes(k);
}

/* Band path (small Cin, see band_conv): the scratch it needs is at most this, else the column path runs. */
#define BAND_MAX_BYTES 16384

/* Bytes of the band path's scratch, or -1 when it does not apply: one group (Cin_g == Cin), Cin % 4 != 0
 * (the column path converts other inputs a word at a time), no horizontal dilation, K <= 1024, at most 32
 * output channels (measured: with 64, KWS's first layer, K = 40, the unpacked-filter column path is faster,
 * 533 k against 582 k instructions) and BAND_MAX_BYTES. Layout
 * (band_layout): [dc_dsp_rq_t x S][slot-pair records: S/2 x (K4 + 15) words][int16 band: RS]
 * [uint16 channel x S][uint16 dead channel x Cout][int8 dead value x Cout], S = Cout + 1 rounded up to
 * even slots, K4 = K rounded up to 4, RS = ((out_w - 1) * stride_w + kw) * kh * Cin + 4, after up to 3
 * bytes of alignment slack. Computed in int64 from unvalidated shapes. */
static inline int64_t band_bytes(const dc_conv_params_t *p, const dc_dims_t *in, const dc_dims_t *f, const dc_dims_t *out)
{
    if (f->c != in->c || f->c <= 0 || (f->c & 3) == 0 || f->h <= 0 || f->w <= 0 || f->n <= 0 || out->w <= 0 ||
        p->stride_w <= 0 || p->dilation_w != 1 || (int64_t)f->h * f->w * f->c > 1024 || f->n > 32) {
        return -1;
    }
    const int64_t slots = ((int64_t)f->n + 2) & ~(int64_t)1, k4 = ((int64_t)f->h * f->w * f->c + 3) & ~3;
    const int64_t rs = (((int64_t)out->w - 1) * p->stride_w + f->w) * f->h * f->c + 4;
    const int64_t bytes = 3 + slots * (DC_DSP_RQ_BYTES + 2) + (slots / 2) * (k4 + 15) * 4 + rs * 2 +
                          (int64_t)f->n * 3;
    return bytes > BAND_MAX_BYTES ? -1 : bytes;
}

#endif
