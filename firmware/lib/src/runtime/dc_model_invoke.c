/* dc_model_invoke.c: run one op: decode its weights (per-layer mode), then call its int8 kernel. */
#include <string.h>

#include "dc_model_internal.h"

static dc_dims_t dims_of(const dc_model_tensor_t *t)
{
    dc_dims_t d = {t->dims[0], t->dims[1], t->dims[2], t->dims[3]};
    return d;
}

static int32_t len(const dc_model_tensor_t *t)
{
    return (int32_t)t->count;
}

/* DECODE_PER_LAYER / STREAMED: decode every constant this op reads whose buffer is not filled yet (streamed
 * weights are decoded chunk by chunk as the op runs). */
static dc_status_t decode_inputs(dc_model_t *m, const dc_model_op_t *op)
{
    for (uint32_t i = 0; i < op->input_count; i++) {
        uint16_t index = m->operand_pool[op->first_input + i];
        dc_model_tensor_t *t;
        if (index == DC_MODEL_NONE || index >= m->coded_count) {
            continue;
        }
        t = &m->tensors[index];
        if (t->source == DC_TENSOR_CONST && !t->decoded && t->stream == 0u) {
            dc_status_t status = dc_model_decode_tensor(m, index, t->data);
            if (status != DC_OK) {
                return status;
            }
            t->decoded = 1;
        }
    }
    return DC_OK;
}

/* PER_LAYER: the op's multipliers, computed into the scratch behind its decoded weights. */
static dc_status_t op_quant(dc_model_t *m, const dc_model_op_t *op, dc_channel_quant_t *q)
{
    q->count = op->channels;
    if (op->multiplier != NULL) {
        q->multiplier = op->multiplier;
        q->shift = op->shift;
        return DC_OK;
    }
    int32_t *scratch = dc_model_scratch_multipliers(dc_model_input_tensor(m, op, 1));
    q->multiplier = scratch;
    q->shift = scratch + op->channels;
    return dc_model_channel_multipliers(m, op, scratch, scratch + op->channels);
}

/* STREAMED, weights decoded whole: the kernel scratch planned behind the op's multipliers (quant_count of each)
 * in its weights' buffer. */
static void planned_scratch(const dc_model_tensor_t *w, int32_t quant_count, dc_conv_params_t *p)
{
    uint32_t quant_bytes = 2u * sizeof(int32_t) * (uint32_t)quant_count;
    p->scratch = (uint8_t *)dc_model_scratch_multipliers(w) + quant_bytes;
    p->scratch_len = (int32_t)(w->extra - quant_bytes);
}

/* STREAMED CONV_2D / FULLY_CONNECTED: decode the weights `stream` output channels at a time into the op's
 * buffer, each chunk's multipliers behind them, and run the kernel on the chunk into its channels of y. */
static dc_status_t run_streamed(dc_model_t *m, dc_model_op_t *op)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *w = dc_model_input_tensor(m, op, 1);
    const dc_model_tensor_t *b = op->input_count > 2 ? dc_model_input_tensor(m, op, 2) : NULL;
    dc_model_tensor_t *y = &m->tensors[op->output];
    const int fc = op->kind == DC_OP_FULLY_CONNECTED;
    const int32_t out_c = fc ? w->dims[2] : w->dims[0], chunk = (int32_t)w->stream;
    const int32_t row = (int32_t)(w->count / (uint32_t)out_c), per_tensor = op->channels == 1;
    const int32_t quant_count = per_tensor ? 1 : chunk;
    int32_t *multiplier = dc_model_scratch_multipliers(w), *shift = multiplier + quant_count;
    int8_t *buffer = w->data + w->extra - (uint32_t)(chunk * row); /* the chunk ends the buffer */
    const int32_t *bias = b != NULL ? (const int32_t *)(const void *)b->data : NULL;
    dc_dims_t xd = dims_of(x), wd = dims_of(w), yd = dims_of(y);
    dc_conv_params_t conv = op->p.conv;
    dc_fully_connected_params_t fcp = op->p.fc;
    dc_model_stream_t s;
    dc_status_t status = dc_model_stream_begin(m, m->operand_pool[op->first_input + 1u], &s);
    if (status == DC_OK && per_tensor) {
        status = dc_model_channel_multipliers_range(m, op, 0, 1, multiplier, shift);
    }
    if (fc) {
        fcp.output_stride = out_c;
    } else {
        conv.output_stride = out_c;
        conv.scratch = shift + quant_count;
        conv.scratch_len = (int32_t)(buffer - (int8_t *)conv.scratch);
    }
    for (int32_t c0 = 0; status == DC_OK && c0 < out_c; c0 += chunk) {
        const int32_t n = out_c - c0 < chunk ? out_c - c0 : chunk;
        dc_channel_quant_t q = {multiplier, shift, per_tensor ? 1 : n};
        status = dc_model_stream_read(m, &s, buffer, (uint32_t)(n * row));
        if (status == DC_OK && !per_tensor) {
            status = dc_model_channel_multipliers_range(m, op, c0, n, multiplier, shift);
        }
        if (status != DC_OK) {
            break;
        }
        if (fc) {
            status = dc_fully_connected_s8(&fcp, &q, len(x) / row, row, n, x->data, len(x), buffer, n * row,
                                           bias != NULL ? bias + c0 : NULL, bias != NULL ? n : 0, y->data + c0,
                                           len(y) - c0);
        } else {
            wd.n = n;
            yd.c = n;
            status = dc_conv_s8(&conv, &q, &xd, x->data, len(x), &wd, buffer, n * row, bias != NULL ? bias + c0 : NULL,
                                bias != NULL ? n : 0, &yd, y->data + c0, len(y) - c0);
        }
    }
    return status;
}

static dc_status_t run_conv(dc_model_t *m, dc_model_op_t *op)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *w = dc_model_input_tensor(m, op, 1);
    const dc_model_tensor_t *b = op->input_count > 2 ? dc_model_input_tensor(m, op, 2) : NULL;
    dc_model_tensor_t *y = &m->tensors[op->output];
    dc_channel_quant_t q;
    dc_dims_t xd = dims_of(x), wd = dims_of(w), yd = dims_of(y);
    dc_status_t status = op_quant(m, op, &q);
    if (status != DC_OK) {
        return status;
    }
    const int32_t *bias = b != NULL ? (const int32_t *)(const void *)b->data : NULL;
    int32_t bias_len = b != NULL ? len(b) : 0;
    if (op->kind == DC_OP_CONV_2D) {
        dc_conv_params_t p = op->p.conv;
        if (op->planned_scratch) {
            planned_scratch(w, op->channels, &p);
        }
        return dc_conv_s8(&p, &q, &xd, x->data, len(x), &wd, w->data, len(w), bias, bias_len, &yd, y->data, len(y));
    }
    dc_depthwise_conv_params_t p = op->p.depthwise;
    if (op->planned_scratch) {
        planned_scratch(w, op->channels, &p.conv);
    }
    return dc_depthwise_conv_s8(&p, &q, &xd, x->data, len(x), &wd, w->data, len(w), bias, bias_len, &yd, y->data,
                                len(y));
}

static dc_status_t run_fc(dc_model_t *m, dc_model_op_t *op)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *w = dc_model_input_tensor(m, op, 1);
    const dc_model_tensor_t *b = op->input_count > 2 ? dc_model_input_tensor(m, op, 2) : NULL;
    dc_model_tensor_t *y = &m->tensors[op->output];
    dc_channel_quant_t q;
    int32_t units = w->dims[2], depth = w->dims[3];
    dc_status_t status = op_quant(m, op, &q);
    if (status != DC_OK) {
        return status;
    }
    return dc_fully_connected_s8(&op->p.fc, &q, len(x) / depth, depth, units, x->data, len(x), w->data, len(w),
                                 b != NULL ? (const int32_t *)(const void *)b->data : NULL, b != NULL ? len(b) : 0,
                                 y->data, len(y));
}

static void clamp(int8_t *data, int32_t count, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < count; i++) {
        data[i] = (int8_t)dc_clamp_s32(data[i], lo, hi);
    }
}

static dc_status_t run_concat(dc_model_t *m, dc_model_op_t *op)
{
    dc_dims_t dims[DC_MODEL_MAX_OP_INPUTS];
    const int8_t *data[DC_MODEL_MAX_OP_INPUTS];
    int32_t lens[DC_MODEL_MAX_OP_INPUTS];
    dc_model_tensor_t *y = &m->tensors[op->output];
    dc_dims_t yd = dims_of(y);
    for (uint32_t i = 0; i < op->input_count; i++) {
        const dc_model_tensor_t *x = dc_model_input_tensor(m, op, i);
        dims[i] = dims_of(x);
        data[i] = x->data;
        lens[i] = len(x);
    }
    dc_status_t status = dc_concat_s8(op->p.concat_axis, op->input_count, dims, data, lens, &yd, y->data, len(y));
    if (status == DC_OK && (op->act_min > -128 || op->act_max < 127)) {
        clamp(y->data, len(y), op->act_min, op->act_max);
    }
    return status;
}

static dc_status_t run_mean(dc_model_t *m, dc_model_op_t *op)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0);
    dc_model_tensor_t *y = &m->tensors[op->output];
    dc_dims_t xd = dims_of(x), yd = xd;
    int32_t *out_dims[4] = {&yd.n, &yd.h, &yd.w, &yd.c};
    for (int i = 0; i < 4; i++) {
        if (op->p.mean.reduce[i]) {
            *out_dims[i] = 1;
        }
    }
    if ((int64_t)yd.n * yd.h * yd.w * yd.c != (int64_t)y->count) {
        return DC_ERR_SHAPE;
    }
    return dc_mean_s8(&op->p.mean, &xd, x->data, len(x), &yd, y->data, len(y));
}

dc_status_t dc_model_run_op(dc_model_t *m, uint32_t op_index)
{
    dc_model_op_t *op = &m->ops[op_index];
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0);
    dc_model_tensor_t *y = &m->tensors[op->output];
    dc_status_t status = DC_OK;
    if (m->mode != DC_MODEL_DECODE_AT_LOAD) {
        status = decode_inputs(m, op);
        if (status != DC_OK) {
            return status;
        }
        if ((op->kind == DC_OP_CONV_2D || op->kind == DC_OP_FULLY_CONNECTED) &&
            dc_model_input_tensor(m, op, 1)->stream != 0u) {
            return run_streamed(m, op);
        }
    }
    switch (op->kind) {
    case DC_OP_CONV_2D:
    case DC_OP_DEPTHWISE_CONV_2D:
        return run_conv(m, op);
    case DC_OP_FULLY_CONNECTED:
        return run_fc(m, op);
    case DC_OP_AVERAGE_POOL_2D:
    case DC_OP_MAX_POOL_2D: {
        dc_dims_t xd = dims_of(x), yd = dims_of(y);
        return (op->kind == DC_OP_AVERAGE_POOL_2D ? dc_avgpool_s8 : dc_maxpool_s8)(&op->p.pool, &xd, x->data, len(x),
                                                                                 &yd, y->data, len(y));
    }
    case DC_OP_ADD:
    case DC_OP_MUL: {
        const dc_model_tensor_t *x2 = dc_model_input_tensor(m, op, 1);
        dc_dims_t ad = dims_of(x), bd = dims_of(x2), yd = dims_of(y);
        if (op->kind == DC_OP_ADD) {
            return dc_add_s8(&op->p.add, &ad, x->data, len(x), &bd, x2->data, len(x2), &yd, y->data, len(y));
        }
        return dc_mul_s8(&op->p.mul, &ad, x->data, len(x), &bd, x2->data, len(x2), &yd, y->data, len(y));
    }
    case DC_OP_RESHAPE:
        if (y->data != x->data) {
            memmove(y->data, x->data, y->count);
        }
        return DC_OK;
    case DC_OP_SOFTMAX: {
        int32_t depth = x->rank > 0 ? x->dims[DC_MODEL_MAX_RANK - 1] : 1;
        return dc_softmax_fixed_s8(&op->p.softmax, len(x) / depth, depth, x->data, len(x), y->data, len(y));
    }
    case DC_OP_LOGISTIC:
        return dc_logistic_s8(op->p.lut, DC_LUT_S8_LEN, len(x), x->data, len(x), y->data, len(y));
    case DC_OP_RELU:
    case DC_OP_RELU6:
        return dc_relu_s8(&op->p.relu, len(x), x->data, len(x), y->data, len(y));
    case DC_OP_HARD_SWISH:
        return dc_hard_swish_s8(&op->p.hard_swish, len(x), x->data, len(x), y->data, len(y));
    case DC_OP_PAD: {
        dc_dims_t xd = dims_of(x), yd = dims_of(y);
        return dc_pad_s8(&op->p.pad, &xd, x->data, len(x), &yd, y->data, len(y));
    }
    case DC_OP_CONCATENATION:
        return run_concat(m, op);
    case DC_OP_MEAN:
        return run_mean(m, op);
    case DC_OP_QUANTIZE:
        return dc_requantize_s8(op->p.requantize.input_zero_point, op->p.requantize.output_zero_point,
                                op->p.requantize.multiplier, op->p.requantize.shift, op->p.requantize.rounding,
                                len(x), x->data, len(x), y->data, len(y));
    default:
        return DC_ERR_OP;
    }
}
