/* dc_kernel_checks.h: argument checks shared by the int8 kernels (internal, not installed). */
#ifndef DC_KERNEL_CHECKS_H
#define DC_KERNEL_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "dc_kernels.h"

/* Element count of `d` in *count: DC_ERR_ARG for NULL, DC_ERR_SHAPE for a dim < 1,
 * DC_ERR_OVERSIZE above INT32_MAX. */
static inline dc_status_t dc_dims_count(const dc_dims_t *d, int32_t *count)
{
    if (d == NULL) {
        return DC_ERR_ARG;
    }
    if (d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1) {
        return DC_ERR_SHAPE;
    }
    int64_t acc = d->n;
    acc *= d->h;
    if (acc > INT32_MAX) {
        return DC_ERR_OVERSIZE;
    }
    acc *= d->w;
    if (acc > INT32_MAX) {
        return DC_ERR_OVERSIZE;
    }
    acc *= d->c;
    if (acc > INT32_MAX) {
        return DC_ERR_OVERSIZE;
    }
    *count = (int32_t)acc;
    return DC_OK;
}

/* A buffer of `len` elements at `p` holds `need` elements. */
static inline dc_status_t dc_check_buffer(const void *p, int32_t len, int32_t need)
{
    if (p == NULL) {
        return DC_ERR_ARG;
    }
    return len < need ? DC_ERR_BUFFER : DC_OK;
}

static inline int dc_offset_ok(int32_t offset)
{
    return offset >= -255 && offset <= 255;
}

static inline int dc_act_ok(int32_t act_min, int32_t act_max)
{
    return act_min >= -128 && act_max <= 127 && act_min <= act_max;
}

static inline int dc_shift_ok(int32_t multiplier, int32_t shift)
{
    return multiplier >= 0 && shift >= -31 && shift <= 30;
}

/* Per-channel quantization with exactly `channels` entries (or 1 when per_tensor_ok). */
static inline dc_status_t dc_check_quant(const dc_channel_quant_t *q, int32_t channels, int per_tensor_ok)
{
    if (q == NULL || q->multiplier == NULL || q->shift == NULL) {
        return DC_ERR_ARG;
    }
    if (!(q->count == channels || (per_tensor_ok && q->count == 1))) {
        return DC_ERR_SHAPE;
    }
    for (int32_t k = 0; k < q->count; ++k) {
        if (!dc_shift_ok(q->multiplier[k], q->shift[k])) {
            return DC_ERR_ARG;
        }
    }
    return DC_OK;
}

/* The output extent TFLite gives for input `in`, dilated kernel `eff_k`, stride and top/left pad,
 * with the bottom/right pad either equal to `pad` or one more (SAME) or the VALID remainder. */
static inline int dc_window_out_ok(int32_t in, int32_t eff_k, int32_t stride, int32_t pad, int32_t out)
{
    if ((int64_t)in + 2 * (int64_t)pad + eff_k > INT32_MAX) {
        return 0;
    }
    const int64_t span0 = (int64_t)in + 2 * (int64_t)pad - eff_k;
    if (span0 + 1 < 0) {
        return 0;
    }
    const int64_t a = span0 < 0 ? -1 : span0 / stride + 1;
    const int64_t b = (span0 + 1) / stride + 1;
    return out >= 1 && (out == a || out == b);
}

#endif /* DC_KERNEL_CHECKS_H */
