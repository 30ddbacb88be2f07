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
    return (int32_t)dc_model_count(t);
}

void dc_model_conv_params(const dc_model_t *m, const dc_model_op_t *op, dc_depthwise_conv_params_t *p)
{
    const dc_model_conv_t *c = &op->p.conv;
    p->conv.input_offset = c->input_offset;
    p->conv.output_offset = c->output_offset;
    p->conv.stride_h = c->stride_h;
    p->conv.stride_w = c->stride_w;
    p->conv.dilation_h = c->dilation_h;
    p->conv.dilation_w = c->dilation_w;
    p->conv.pad_h = c->pad_h;
    p->conv.pad_w = c->pad_w;
    p->conv.act_min = c->act_min;
    p->conv.act_max = c->act_max;
    p->conv.rounding = (dc_rounding_t)c->rounding;
    p->conv.scratch = op->planned_scratch ? NULL : m->kernel_scratch;
    p->conv.scratch_len = op->planned_scratch || m->kernel_scratch == NULL ? 0 : (int32_t)m->scratch_bytes;
    p->conv.output_stride = 0; /* dense; the streamed mode passes its own per chunk */
    p->depth_multiplier = c->depth_multiplier;
}

static void fc_params(const dc_model_op_t *op, dc_fully_connected_params_t *p)
{
    const dc_model_fc_t *c = &op->p.fc;
    p->input_offset = c->input_offset;
    p->filter_offset = c->filter_offset;
    p->output_offset = c->output_offset;
    p->act_min = c->act_min;
    p->act_max = c->act_max;
    p->rounding = (dc_rounding_t)c->rounding;
    p->output_stride = 0;
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
        q->shift = op->multiplier + op->channels;
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
    const int32_t row = (int32_t)(dc_model_count(w) / (uint32_t)out_c), per_tensor = op->channels == 1;
    const int32_t quant_count = dc_model_buffer_quant_count(op, chunk);
    int32_t *multiplier = dc_model_scratch_multipliers(w), *shift = multiplier + quant_count;
    int32_t *scratch = shift + quant_count; /* the conv kernel's, behind the multipliers */
    int8_t *buffer = w->data + w->extra - dc_model_chunk_bytes((uint32_t)chunk, (uint32_t)row); /* ends it */
    int8_t *bias_end = buffer; /* a streamed bias: its chunk and its decoder state before the weights' chunk */
    const int32_t *bias = b != NULL ? (const int32_t *)(const void *)b->data : NULL;
    dc_dims_t xd = dims_of(x), wd = dims_of(w), yd = dims_of(y);
    dc_depthwise_conv_params_t conv;
    dc_fully_connected_params_t fcp;
    dc_model_stream_t s, bs;
    dc_status_t status = dc_model_stream_begin(m, m->operand_pool[op->first_input + 1u], &s);
    int32_t *bias_chunk = NULL;
    if (status == DC_OK && b != NULL && dc_model_streamed_bias(b)) {
        uint16_t index = m->operand_pool[op->first_input + 2u];
        dc_tensor_entry_t entry;
        uint32_t columns = 0;
        status = dc_model_tensor_columns(m, index, &columns);
        if (status == DC_OK && dc_container_tensor(&m->container, index, &entry) == DC_OK &&
            entry.codec != DC_CODEC_RAW) {
            /* its decoder state, 8-aligned, ends where the weights' chunk begins */
            bias_end -= dc_model_decoder_bytes(m, columns, 0) + (DC_MODEL_ARENA_ALIGN - DC_MODEL_PLAN_ALIGN);
        }
        bias_chunk = (int32_t *)(void *)(bias_end - sizeof(int32_t) * (uint32_t)chunk);
        if (status == DC_OK) {
            uintptr_t state = ((uintptr_t)bias_end + (DC_MODEL_ARENA_ALIGN - 1u)) & ~(uintptr_t)(DC_MODEL_ARENA_ALIGN - 1u);
            status = dc_model_stream_begin_with(m, index, &bs, (void *)state, columns);
        }
        bias_end = (int8_t *)bias_chunk;
    }
    if (op->multiplier != NULL) { /* a per-tensor FULLY_CONNECTED: computed at load */
        multiplier = op->multiplier;
        shift = op->multiplier + 1;
    } else if (status == DC_OK && per_tensor) {
        status = dc_model_channel_multipliers_range(m, op, 0, 1, multiplier, shift);
    }
    if (fc) {
        fc_params(op, &fcp);
        fcp.output_stride = out_c;
    } else {
        dc_model_conv_params(m, op, &conv);
        conv.conv.output_stride = out_c;
        conv.conv.scratch = scratch;
        conv.conv.scratch_len = (int32_t)(bias_end - (int8_t *)conv.conv.scratch);
    }
    for (int32_t c0 = 0; status == DC_OK && c0 < out_c; c0 += chunk) {
        const int32_t n = out_c - c0 < chunk ? out_c - c0 : chunk;
        dc_channel_quant_t q = {multiplier, shift, per_tensor ? 1 : n};
        const int32_t *bias_n = bias != NULL ? bias + c0 : NULL;
        status = dc_model_stream_read(m, &s, buffer, (uint32_t)(n * row));
        if (status == DC_OK && bias_chunk != NULL) {
            status = dc_model_stream_read(m, &bs, (int8_t *)bias_chunk, (uint32_t)n);
            bias_n = bias_chunk;
        }
        if (status == DC_OK && !per_tensor) {
            status = dc_model_channel_multipliers_range(m, op, c0, n, multiplier, shift);
        }
        if (status != DC_OK) {
            break;
        }
        if (fc) {
            status = dc_fully_connected_s8(&fcp, &q, len(x) / row, row, n, x->data, len(x), buffer, n * row,
                                           bias_n, bias_n != NULL ? n : 0, y->data + c0, len(y) - c0);
        } else {
            wd.n = n;
            yd.c = n;
            status = dc_conv_s8(&conv.conv, &q, &xd, x->data, len(x), &wd, buffer, n * row, bias_n,
                                bias_n != NULL ? n : 0, &yd, y->data + c0, len(y) - c0);
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
    dc_depthwise_conv_params_t p;
    dc_model_conv_params(m, op, &p);
    if (op->kind == DC_OP_CONV_2D) {
        if (op->planned_scratch) {
            planned_scratch(w, dc_model_buffer_quant_count(op, op->channels), &p.conv);
        }
        return dc_conv_s8(&p.conv, &q, &xd, x->data, len(x), &wd, w->data, len(w), bias, bias_len, &yd, y->data,
                          len(y));
    }
    if (op->planned_scratch) {
        planned_scratch(w, dc_model_buffer_quant_count(op, op->channels), &p.conv);
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
    dc_fully_connected_params_t p;
    int32_t units = w->dims[2], depth = w->dims[3];
    dc_status_t status = op_quant(m, op, &q);
    if (status != DC_OK) {
        return status;
    }
    fc_params(op, &p);
    return dc_fully_connected_s8(&p, &q, len(x) / depth, depth, units, x->data, len(x), w->data, len(w),
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
    dc_status_t status = dc_concat_s8(op->p.concat.axis, op->input_count, dims, data, lens, &yd, y->data, len(y));
    if (status == DC_OK && (op->p.concat.act_min > -128 || op->p.concat.act_max < 127)) {
        clamp(y->data, len(y), op->p.concat.act_min, op->p.concat.act_max);
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
    if ((int64_t)yd.n * yd.h * yd.w * yd.c != (int64_t)dc_model_count(y)) {
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
        const dc_model_pool_t *c = &op->p.pool;
        dc_pool_params_t p = {c->stride_h, c->stride_w, c->filter_h, c->filter_w, c->pad_h, c->pad_w, c->act_min,
                              c->act_max};
        return (op->kind == DC_OP_AVERAGE_POOL_2D ? dc_avgpool_s8 : dc_maxpool_s8)(&p, &xd, x->data, len(x), &yd,
                                                                                 y->data, len(y));
    }
    case DC_OP_ADD:
    case DC_OP_MUL: {
        const dc_model_tensor_t *x2 = dc_model_input_tensor(m, op, 1);
        dc_dims_t ad = dims_of(x), bd = dims_of(x2), yd = dims_of(y);
        if (op->kind == DC_OP_ADD) {
            const dc_model_add_t *c = &op->p.add;
            dc_add_params_t p = {c->input1_offset, c->input2_offset, c->output_offset, c->left_shift,
                                 c->input1_multiplier, c->input1_shift, c->input2_multiplier, c->input2_shift,
                                 c->output_multiplier, c->output_shift, c->act_min, c->act_max};
            return dc_add_s8(&p, &ad, x->data, len(x), &bd, x2->data, len(x2), &yd, y->data, len(y));
        }
        const dc_model_mul_t *c = &op->p.mul;
        dc_mul_params_t p = {c->input1_offset, c->input2_offset, c->output_offset, c->output_multiplier,
                             c->output_shift, c->act_min, c->act_max};
        return dc_mul_s8(&p, &ad, x->data, len(x), &bd, x2->data, len(x2), &yd, y->data, len(y));
    }
    case DC_OP_RESHAPE:
        if (y->data != x->data) {
            memmove(y->data, x->data, dc_model_count(y));
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
        dc_pad_params_t p;
        for (uint32_t i = 0; i < DC_MODEL_MAX_RANK; i++) {
            p.before[i] = op->p.pad.before[i];
            p.after[i] = op->p.pad.after[i];
        }
        p.pad_value = op->p.pad.pad_value;
        return dc_pad_s8(&p, &xd, x->data, len(x), &yd, y->data, len(y));
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
