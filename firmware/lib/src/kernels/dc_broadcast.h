/* dc_broadcast.h: 4-D broadcasting checks and index steps for binary elementwise kernels (internal). */
#ifndef DC_BROADCAST_H
#define DC_BROADCAST_H

#include "dc_kernel_checks.h"

/* Element strides of an input broadcast to the output: 0 along a dimension of size 1. */
typedef struct {
    int32_t n, h, w, c;
} dc_bcast_strides_t;

static inline int dc_bcast_dim_ok(int32_t in, int32_t out)
{
    return in == out || in == 1;
}

/* Validates two inputs against the output and fills their broadcast strides. */
static inline dc_status_t dc_bcast_check(const dc_dims_t *d1, const int8_t *in1, int32_t len1,
                                         const dc_dims_t *d2, const int8_t *in2, int32_t len2,
                                         const dc_dims_t *dout, int8_t *out, int32_t out_len,
                                         dc_bcast_strides_t *s1, dc_bcast_strides_t *s2)
{
    int32_t c1 = 0, c2 = 0, co = 0;
    dc_status_t st;
    if ((st = dc_dims_count(d1, &c1)) != DC_OK || (st = dc_dims_count(d2, &c2)) != DC_OK ||
        (st = dc_dims_count(dout, &co)) != DC_OK) {
        return st;
    }
    if (!dc_bcast_dim_ok(d1->n, dout->n) || !dc_bcast_dim_ok(d1->h, dout->h) || !dc_bcast_dim_ok(d1->w, dout->w) ||
        !dc_bcast_dim_ok(d1->c, dout->c) || !dc_bcast_dim_ok(d2->n, dout->n) || !dc_bcast_dim_ok(d2->h, dout->h) ||
        !dc_bcast_dim_ok(d2->w, dout->w) || !dc_bcast_dim_ok(d2->c, dout->c)) {
        return DC_ERR_SHAPE;
    }
    if ((st = dc_check_buffer(in1, len1, c1)) != DC_OK || (st = dc_check_buffer(in2, len2, c2)) != DC_OK ||
        (st = dc_check_buffer(out, out_len, co)) != DC_OK) {
        return st;
    }
    s1->c = d1->c == 1 ? 0 : 1;
    s1->w = d1->w == 1 ? 0 : d1->c;
    s1->h = d1->h == 1 ? 0 : d1->w * d1->c;
    s1->n = d1->n == 1 ? 0 : d1->h * d1->w * d1->c;
    s2->c = d2->c == 1 ? 0 : 1;
    s2->w = d2->w == 1 ? 0 : d2->c;
    s2->h = d2->h == 1 ? 0 : d2->w * d2->c;
    s2->n = d2->n == 1 ? 0 : d2->h * d2->w * d2->c;
    return DC_OK;
}

#endif /* DC_BROADCAST_H */
