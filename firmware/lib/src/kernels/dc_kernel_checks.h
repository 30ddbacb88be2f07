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

/* Elements an output of `count` values in rows of `row` needs when rows are `stride` apart (0: dense):
 * (rows - 1) * stride + row, saturated at INT32_MAX (a buffer never holds more). */
static inline int32_t dc_strided_count(int32_t count, int32_t row, int32_t stride)
{
    if (stride <= row) {
        return count;
    }
    const int64_t need = (int64_t)(count / row - 1) * stride + row;
    return need > INT32_MAX ? INT32_MAX : (int32_t)need;
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

/* Every argument check of dc_conv_s8, in the reference kernel's order, so that each variant of the
 * kernel (lib/src/kernels, lib/arch/<arch>) answers the same status for the same arguments. */
static inline dc_status_t dc_conv_check(const dc_conv_params_t *p, const dc_channel_quant_t *quant,
                                        const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                                        const dc_dims_t *filter_dims, const int8_t *filter, int32_t filter_len,
                                        const int32_t *bias, int32_t bias_len,
                                        const dc_dims_t *output_dims, const int8_t *output, int32_t output_len)
{
    int32_t in_count = 0, f_count = 0, out_count = 0;
    dc_status_t st;
    if (p == NULL) {
        return DC_ERR_ARG;
    }
    if ((st = dc_dims_count(input_dims, &in_count)) != DC_OK || (st = dc_dims_count(filter_dims, &f_count)) != DC_OK ||
        (st = dc_dims_count(output_dims, &out_count)) != DC_OK) {
        return st;
    }
    if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 || p->pad_h < 0 ||
        p->pad_w < 0 || !dc_offset_ok(p->input_offset) || !dc_offset_ok(p->output_offset) ||
        !dc_act_ok(p->act_min, p->act_max) || (unsigned)p->rounding > DC_ROUNDING_HALF_UP) {
        return DC_ERR_ARG;
    }
    const int32_t in_c = input_dims->c, out_c = filter_dims->n, f_in_c = filter_dims->c;
    if (p->output_stride != 0 && p->output_stride < out_c) {
        return DC_ERR_ARG;
    }
    if (in_c % f_in_c != 0 || output_dims->c != out_c || output_dims->n != input_dims->n) {
        return DC_ERR_SHAPE;
    }
    if (out_c % (in_c / f_in_c) != 0) {
        return DC_ERR_SHAPE;
    }
    const int64_t eff_kh = (int64_t)(filter_dims->h - 1) * p->dilation_h + 1;
    const int64_t eff_kw = (int64_t)(filter_dims->w - 1) * p->dilation_w + 1;
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
        (st = dc_check_buffer(output, output_len, dc_strided_count(out_count, out_c, p->output_stride))) != DC_OK) {
        return st;
    }
    if (bias != NULL && bias_len < out_c) {
        return DC_ERR_BUFFER;
    }
    return DC_OK;
}

/* Every argument check of dc_depthwise_conv_s8, in the reference kernel's order. */
static inline dc_status_t dc_depthwise_conv_check(const dc_depthwise_conv_params_t *params,
                                                  const dc_channel_quant_t *quant,
                                                  const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                                                  const dc_dims_t *filter_dims, const int8_t *filter, int32_t filter_len,
                                                  const int32_t *bias, int32_t bias_len,
                                                  const dc_dims_t *output_dims, const int8_t *output, int32_t output_len)
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
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    if (p->output_stride != 0 && p->output_stride != out_c) {
        return DC_ERR_ARG;
    }
    if (filter_dims->n != 1 || filter_dims->c != out_c || (int64_t)in_c * dm != out_c ||
        output_dims->n != input_dims->n) {
        return DC_ERR_SHAPE;
    }
    const int64_t eff_kh = (int64_t)(filter_dims->h - 1) * p->dilation_h + 1;
    const int64_t eff_kw = (int64_t)(filter_dims->w - 1) * p->dilation_w + 1;
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
    return DC_OK;
}

/* Every argument check of dc_fully_connected_s8, in the reference kernel's order. */
static inline dc_status_t dc_fully_connected_check(const dc_fully_connected_params_t *p, const dc_channel_quant_t *quant,
                                                   int32_t batches, int32_t depth, int32_t units,
                                                   const int8_t *input, int32_t input_len,
                                                   const int8_t *filter, int32_t filter_len,
                                                   const int32_t *bias, int32_t bias_len,
                                                   const int8_t *output, int32_t output_len)
{
    dc_status_t st;
    if (p == NULL) {
        return DC_ERR_ARG;
    }
    if (!dc_offset_ok(p->input_offset) || !dc_offset_ok(p->filter_offset) || !dc_offset_ok(p->output_offset) ||
        !dc_act_ok(p->act_min, p->act_max) || (unsigned)p->rounding > DC_ROUNDING_HALF_UP) {
        return DC_ERR_ARG;
    }
    if (batches < 1 || depth < 1 || units < 1) {
        return DC_ERR_SHAPE;
    }
    if (p->output_stride != 0 && p->output_stride < units) {
        return DC_ERR_ARG;
    }
    if ((int64_t)batches * depth > INT32_MAX || (int64_t)units * depth > INT32_MAX ||
        (int64_t)batches * units > INT32_MAX) {
        return DC_ERR_OVERSIZE;
    }
    if ((st = dc_check_quant(quant, units, 1)) != DC_OK) {
        return st;
    }
    if ((st = dc_check_buffer(input, input_len, batches * depth)) != DC_OK ||
        (st = dc_check_buffer(filter, filter_len, units * depth)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, dc_strided_count(batches * units, units, p->output_stride))) !=
            DC_OK) {
        return st;
    }
    if (bias != NULL && bias_len < units) {
        return DC_ERR_BUFFER;
    }
    return DC_OK;
}

#endif /* DC_KERNEL_CHECKS_H */
