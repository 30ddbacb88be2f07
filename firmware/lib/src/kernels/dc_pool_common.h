/* dc_pool_common.h: argument checks shared by the int8 pooling kernels (internal). */
#ifndef DC_POOL_COMMON_H
#define DC_POOL_COMMON_H

#include "dc_kernel_checks.h"

static inline dc_status_t dc_pool_check(const dc_pool_params_t *p, const dc_dims_t *input_dims, const int8_t *input,
                                        int32_t input_len, const dc_dims_t *output_dims, int8_t *output, int32_t output_len)
{
    int32_t in_count = 0, out_count = 0;
    dc_status_t st;
    if (p == NULL) {
        return DC_ERR_ARG;
    }
    if ((st = dc_dims_count(input_dims, &in_count)) != DC_OK || (st = dc_dims_count(output_dims, &out_count)) != DC_OK) {
        return st;
    }
    if (p->stride_h < 1 || p->stride_w < 1 || p->filter_h < 1 || p->filter_w < 1 || p->pad_h < 0 || p->pad_w < 0 ||
        !dc_act_ok(p->act_min, p->act_max)) {
        return DC_ERR_ARG;
    }
    if (output_dims->n != input_dims->n || output_dims->c != input_dims->c ||
        !dc_window_out_ok(input_dims->h, p->filter_h, p->stride_h, p->pad_h, output_dims->h) ||
        !dc_window_out_ok(input_dims->w, p->filter_w, p->stride_w, p->pad_w, output_dims->w)) {
        return DC_ERR_SHAPE;
    }
    if ((st = dc_check_buffer(input, input_len, in_count)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, out_count)) != DC_OK) {
        return st;
    }
    return DC_OK;
}

/* The window [y0, y1) x [x0, x1) of output pixel (oy, ox), clipped to the input. */
static inline void dc_pool_window(const dc_pool_params_t *p, const dc_dims_t *in, int32_t oy, int32_t ox,
                                  int32_t *y0, int32_t *y1, int32_t *x0, int32_t *x1)
{
    const int32_t iy = oy * p->stride_h - p->pad_h, ix = ox * p->stride_w - p->pad_w;
    const int32_t fy0 = iy < 0 ? -iy : 0, fx0 = ix < 0 ? -ix : 0;
    const int32_t fy1 = p->filter_h < in->h - iy ? p->filter_h : in->h - iy;
    const int32_t fx1 = p->filter_w < in->w - ix ? p->filter_w : in->w - ix;
    *y0 = iy + fy0;
    *y1 = iy + fy1;
    *x0 = ix + fx0;
    *x1 = ix + fx1;
}

#endif /* DC_POOL_COMMON_H */
