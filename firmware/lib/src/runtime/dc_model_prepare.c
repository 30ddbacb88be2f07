/* dc_model_prepare.c: each op's kernel parameters from its options and tensor quantization, as LiteRT's Prepare computes them. */
#include <string.h>

#include "dc_model_internal.h"

#define TRY(expr)                         \
    do {                                  \
        dc_status_t status_ = (expr);     \
        if (status_ != DC_OK) {           \
            return status_;               \
        }                                 \
    } while (0)

/* Zero point and (first) scale of an operand: from the load-time record and the packed scales. */
#define ZP(t) (dc_model_life(m, (t))->zero_point)
#define SCALE(t) dc_model_tensor_scale((t), 0u)

/* An int8 activation: quantized per tensor. */
static dc_status_t check_activation(const dc_model_t *m, const dc_model_tensor_t *t)
{
    if (t == NULL) {
        return DC_ERR_GRAPH;
    }
    if (t->dtype != DC_LEVEL_INT8 || dc_model_life(m, t)->channel_count != 1u || t->rank > DC_MODEL_MAX_RANK) {
        return DC_ERR_UNSUPPORTED;
    }
    if (ZP(t) < -128 || ZP(t) > 127 || !(SCALE(t) > 0.0f)) {
        return DC_ERR_UNSUPPORTED;
    }
    return DC_OK;
}

/* A window size, stride, dilation, padding or depth multiplier into its int16 field (the compact op record):
 * DC_ERR_UNSUPPORTED beyond INT16_MAX. */
static dc_status_t to_int16(int32_t value, int16_t *out)
{
    if (value < INT16_MIN || value > INT16_MAX) {
        return DC_ERR_UNSUPPORTED;
    }
    *out = (int16_t)value;
    return DC_OK;
}

static dc_status_t quantize(double real, int32_t *multiplier, int32_t *shift)
{
    int s = 0;
    if (dc_quantize_multiplier(real, multiplier, &s) != 0) {
        return DC_ERR_OPTION;
    }
    *shift = s;
    return DC_OK;
}

static dc_status_t clamp_options(const dc_model_options_t *o, int32_t *act_min, int32_t *act_max)
{
    TRY(dc_model_option_int_or(o, DC_OPTION_ACT_MIN, -128, -128, 127, act_min));
    TRY(dc_model_option_int_or(o, DC_OPTION_ACT_MAX, 127, -128, 127, act_max));
    return *act_min <= *act_max ? DC_OK : DC_ERR_OPTION;
}

/* `rounding`, absent: `fallback` (the op's documented default). */
static dc_status_t rounding_option(const dc_model_options_t *o, dc_rounding_t fallback, dc_rounding_t *rounding)
{
    static const char *const names[] = {"double", "single"}; /* codes 0, 1 */
    static const dc_rounding_t values[] = {DC_ROUNDING_DOUBLE, DC_ROUNDING_SINGLE};
    unsigned code;
    TRY(dc_model_option_enum(o, DC_OPTION_ROUNDING, names, 2u, 2u, &code)); /* absent: 2 */
    *rounding = code < 2u ? values[code] : fallback;
    return DC_OK;
}

/* TFLite ComputeOutSize and ComputePaddingWithOffset: checks the output size of a SAME or VALID
 * window op (DC_ERR_SHAPE) and gives its top/left padding. */
static dc_status_t padding_offset(const dc_model_options_t *o, int32_t in, int32_t out, int32_t filter,
                                  int32_t stride, int32_t dilation, int32_t *pad)
{
    static const char *const names[] = {"SAME", "VALID"}; /* codes 0, 1 */
    int64_t effective = (int64_t)(filter - 1) * dilation + 1;
    int64_t total;
    unsigned padding;
    TRY(dc_model_option_enum(o, DC_OPTION_PADDING, names, 2u, 1u, &padding)); /* default VALID */
    if (padding == 1u) {
        if ((in - effective + stride) / stride != out || in < effective) {
            return DC_ERR_SHAPE;
        }
        *pad = 0;
        return DC_OK;
    }
    if (((int64_t)in + stride - 1) / stride != out) {
        return DC_ERR_SHAPE;
    }
    total = (int64_t)(out - 1) * stride + effective - in;
    *pad = total > 0 ? (int32_t)(total / 2) : 0;
    return DC_OK;
}

/* multiplier/shift NULL: only check that every channel's multiplier can be formed. */
dc_status_t dc_model_channel_multipliers_range(const dc_model_t *m, const dc_model_op_t *op, int32_t first,
                                               int32_t count, int32_t *multiplier, int32_t *shift)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *w = dc_model_input_tensor(m, op, 1);
    const dc_model_tensor_t *y = &m->tensors[op->output];
    const double x_scale = (double)SCALE(x), y_scale = (double)SCALE(y);
    if (first < 0 || count < 0 || first > op->channels - count) { /* op->channels <= the scales: prepare_conv/fc */
        return DC_ERR_INTERNAL;
    }
    for (int32_t k = 0; k < count; k++) {
        float s = dc_model_tensor_scale(w, w->one_scale ? 0u : (uint32_t)(first + k));
        int32_t mk, sk;
        TRY(quantize(x_scale * (double)s / y_scale, &mk, &sk));
        if (multiplier != NULL) {
            multiplier[k] = mk;
            shift[k] = sk;
        }
    }
    return DC_OK;
}

dc_status_t dc_model_channel_multipliers(const dc_model_t *m, const dc_model_op_t *op, int32_t *multiplier,
                                         int32_t *shift)
{
    return dc_model_channel_multipliers_range(m, op, 0, op->channels, multiplier, shift);
}

/* Per-channel multipliers double(s_in) * double(s_w[k]) / double(s_out), k < channels: persistent,
 * or (PER_LAYER, weights decoded into a planned buffer) computed before each run behind the weights.
 * A per-tensor FULLY_CONNECTED keeps one multiplier in its op record; a CONV_2D / DEPTHWISE_CONV_2D
 * with one weight scale gets it once per output channel (its kernels take per-channel multipliers). */
static dc_status_t channel_multipliers(dc_model_t *m, dc_model_bump_t *b, dc_model_op_t *op,
                                       const dc_model_tensor_t *x, const dc_model_tensor_t *w,
                                       const dc_model_tensor_t *y, int32_t channels)
{
    uint32_t count = dc_model_life(m, w)->channel_count;
    uint16_t w_index = m->operand_pool[op->first_input + 1u];
    (void)x;
    (void)y;
    if (count != 1u && count != (uint32_t)channels) {
        return DC_ERR_SHAPE;
    }
    if (op->kind != DC_OP_FULLY_CONNECTED) {
        count = (uint32_t)channels;
    }
    if (count > UINT16_MAX) {
        return DC_ERR_UNSUPPORTED; /* op->channels is 16 bits */
    }
    op->channels = (uint16_t)count;
    if (op->kind == DC_OP_FULLY_CONNECTED && count == 1u) {
        op->multiplier = op->p.fc.quant; /* per tensor: in the op record, every mode */
        return dc_model_channel_multipliers(m, op, op->multiplier, op->multiplier + 1);
    }
    if (m->mode != DC_MODEL_DECODE_AT_LOAD && w_index < m->coded_count && w->source == DC_TENSOR_CONST) {
        dc_model_tensor_t *weights = &m->tensors[w_index];
        uint32_t extra = 2u * sizeof(int32_t) * count;
        weights->extra = extra > weights->extra ? extra : weights->extra;
        return dc_model_channel_multipliers(m, op, NULL, NULL); /* checks the scales now */
    }
    op->multiplier = dc_model_bump(b, 2u * sizeof(int32_t) * count);
    if (op->multiplier == NULL) {
        return DC_OK; /* sizing: dc_model_load reports DC_ERR_ARENA */
    }
    return dc_model_channel_multipliers(m, op, op->multiplier, op->multiplier + count);
}

static dc_status_t weights(const dc_model_t *m, const dc_model_tensor_t *w, const dc_model_tensor_t *bias,
                           uint32_t rank, int32_t channels)
{
    if (w->dtype != DC_LEVEL_INT8 || w->rank != rank || dc_model_life(m, w)->channel_count == 0u) {
        return DC_ERR_UNSUPPORTED;
    }
    if (bias != NULL && (bias->dtype != DC_LEVEL_INT32 || dc_model_count(bias) != (uint32_t)channels)) {
        return bias->dtype != DC_LEVEL_INT32 ? DC_ERR_UNSUPPORTED : DC_ERR_SHAPE;
    }
    return DC_OK;
}

/* The window of a CONV_2D, DEPTHWISE_CONV_2D or pool over `x` giving `y`: the strides (options, default 1) and
 * the top/left padding of a `filter_h` x `filter_w` filter at the given dilation, each checked into int16. */
static dc_status_t window(const dc_model_options_t *o, const dc_model_tensor_t *x, const dc_model_tensor_t *y,
                          int32_t filter_h, int32_t filter_w, int32_t dilation_h, int32_t dilation_w,
                          int16_t *stride_h, int16_t *stride_w, int16_t *pad_h, int16_t *pad_w)
{
    int32_t sh, sw, ph, pw;
    TRY(dc_model_option_int_or(o, DC_OPTION_STRIDE_H, 1, 1, INT32_MAX, &sh));
    TRY(dc_model_option_int_or(o, DC_OPTION_STRIDE_W, 1, 1, INT32_MAX, &sw));
    TRY(padding_offset(o, x->dims[1], y->dims[1], filter_h, sh, dilation_h, &ph));
    TRY(padding_offset(o, x->dims[2], y->dims[2], filter_w, sw, dilation_w, &pw));
    TRY(to_int16(sh, stride_h));
    TRY(to_int16(sw, stride_w));
    TRY(to_int16(ph, pad_h));
    return to_int16(pw, pad_w);
}

static dc_status_t prepare_conv(dc_model_t *m, dc_model_bump_t *b, dc_model_op_t *op, const dc_model_options_t *o)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *w = dc_model_input_tensor(m, op, 1);
    const dc_model_tensor_t *bias = op->input_count > 2 ? dc_model_input_tensor(m, op, 2) : NULL;
    const dc_model_tensor_t *y = &m->tensors[op->output];
    int depthwise = op->kind == DC_OP_DEPTHWISE_CONV_2D;
    dc_model_conv_t *p = &op->p.conv;
    int32_t channels = depthwise ? w->dims[3] : w->dims[0], act_min, act_max;
    int32_t dilation_h, dilation_w, depth_multiplier = 1;
    dc_rounding_t rounding;
    TRY(check_activation(m, x));
    TRY(check_activation(m, y));
    TRY(weights(m, w, bias, 4u, channels));
    if (x->rank != 4u || y->rank != 4u) {
        return DC_ERR_SHAPE;
    }
    TRY(dc_model_option_int_or(o, DC_OPTION_DILATION_H, 1, 1, INT32_MAX, &dilation_h));
    TRY(dc_model_option_int_or(o, DC_OPTION_DILATION_W, 1, 1, INT32_MAX, &dilation_w));
    TRY(clamp_options(o, &act_min, &act_max));
    TRY(rounding_option(o, DC_ROUNDING_DOUBLE, &rounding));
    TRY(window(o, x, y, w->dims[1], w->dims[2], dilation_h, dilation_w, &p->stride_h, &p->stride_w, &p->pad_h,
               &p->pad_w));
    if (depthwise) {
        TRY(dc_model_option_int_or(o, DC_OPTION_DEPTH_MULTIPLIER, 1, 1, INT32_MAX, &depth_multiplier));
    }
    TRY(to_int16(dilation_h, &p->dilation_h));
    TRY(to_int16(dilation_w, &p->dilation_w));
    TRY(to_int16(depth_multiplier, &p->depth_multiplier));
    p->input_offset = (int16_t)-ZP(x); /* activations: int8 zero points */
    p->output_offset = (int16_t)ZP(y);
    p->act_min = (int8_t)act_min;
    p->act_max = (int8_t)act_max;
    p->rounding = (uint8_t)rounding;
    return channel_multipliers(m, b, op, x, w, y, channels);
}

static dc_status_t prepare_fc(dc_model_t *m, dc_model_bump_t *b, dc_model_op_t *op, const dc_model_options_t *o)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *w = dc_model_input_tensor(m, op, 1);
    const dc_model_tensor_t *bias = op->input_count > 2 ? dc_model_input_tensor(m, op, 2) : NULL;
    const dc_model_tensor_t *y = &m->tensors[op->output];
    int32_t act_min, act_max;
    dc_rounding_t rounding;
    TRY(check_activation(m, x));
    TRY(check_activation(m, y));
    TRY(weights(m, w, bias, 2u, w->dims[2]));
    TRY(clamp_options(o, &act_min, &act_max));
    TRY(rounding_option(o, DC_ROUNDING_SINGLE, &rounding));
    op->p.fc.input_offset = (int16_t)-ZP(x);
    op->p.fc.filter_offset = (int16_t)-ZP(w); /* int8 weights: an int8 zero point */
    op->p.fc.output_offset = (int16_t)ZP(y);
    op->p.fc.act_min = (int8_t)act_min;
    op->p.fc.act_max = (int8_t)act_max;
    op->p.fc.rounding = (uint8_t)rounding;
    if (w->dims[3] < 1 || dc_model_count(x) % (uint32_t)w->dims[3] != 0u ||
        (uint64_t)(dc_model_count(x) / (uint32_t)w->dims[3]) * (uint32_t)w->dims[2] != dc_model_count(y)) {
        return DC_ERR_SHAPE;
    }
    return channel_multipliers(m, b, op, x, w, y, w->dims[2]);
}

static dc_status_t prepare_pool(dc_model_t *m, dc_model_op_t *op, const dc_model_options_t *o)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *y = &m->tensors[op->output];
    dc_model_pool_t *p = &op->p.pool;
    int32_t filter_h, filter_w, act_min, act_max;
    TRY(check_activation(m, x));
    TRY(check_activation(m, y));
    if (x->rank != 4u || y->rank != 4u) {
        return DC_ERR_SHAPE;
    }
    TRY(dc_model_option_int(o, DC_OPTION_FILTER_H, 1, INT32_MAX, &filter_h));
    TRY(dc_model_option_int(o, DC_OPTION_FILTER_W, 1, INT32_MAX, &filter_w));
    TRY(clamp_options(o, &act_min, &act_max));
    TRY(window(o, x, y, filter_h, filter_w, 1, 1, &p->stride_h, &p->stride_w, &p->pad_h, &p->pad_w));
    TRY(to_int16(filter_h, &p->filter_h));
    TRY(to_int16(filter_w, &p->filter_w));
    p->act_min = (int8_t)act_min;
    p->act_max = (int8_t)act_max;
    return DC_OK;
}

static dc_status_t prepare_binary(dc_model_t *m, dc_model_op_t *op, const dc_model_options_t *o)
{
    const dc_model_tensor_t *x1 = dc_model_input_tensor(m, op, 0), *x2 = dc_model_input_tensor(m, op, 1);
    const dc_model_tensor_t *y = &m->tensors[op->output];
    int32_t act_min, act_max;
    TRY(check_activation(m, x1));
    TRY(check_activation(m, x2));
    TRY(check_activation(m, y));
    TRY(clamp_options(o, &act_min, &act_max));
    if (op->kind == DC_OP_ADD) {
        dc_model_add_t *p = &op->p.add;
        const double twice_max = 2.0 * (double)(SCALE(x1) > SCALE(x2) ? SCALE(x1) : SCALE(x2));
        int32_t shift1, shift2, shift_out;
        p->input1_offset = (int16_t)-ZP(x1);
        p->input2_offset = (int16_t)-ZP(x2);
        p->output_offset = (int16_t)ZP(y);
        p->left_shift = 20;
        TRY(quantize((double)SCALE(x1) / twice_max, &p->input1_multiplier, &shift1));
        TRY(quantize((double)SCALE(x2) / twice_max, &p->input2_multiplier, &shift2));
        TRY(quantize(twice_max / ((double)(1 << 20) * (double)SCALE(y)), &p->output_multiplier, &shift_out));
        p->input1_shift = (int8_t)shift1; /* dc_quantize_multiplier: -31..30 */
        p->input2_shift = (int8_t)shift2;
        p->output_shift = (int8_t)shift_out;
        p->act_min = (int8_t)act_min;
        p->act_max = (int8_t)act_max;
    } else {
        dc_model_mul_t *p = &op->p.mul;
        int32_t shift;
        p->input1_offset = (int16_t)-ZP(x1);
        p->input2_offset = (int16_t)-ZP(x2);
        p->output_offset = (int16_t)ZP(y);
        TRY(quantize((double)SCALE(x1) * (double)SCALE(x2) / (double)SCALE(y), &p->output_multiplier, &shift));
        p->output_shift = (int8_t)shift; /* dc_quantize_multiplier: -31..30 */
        p->act_min = (int8_t)act_min;
        p->act_max = (int8_t)act_max;
    }
    return DC_OK;
}

/* The int8 LUT byte-string option (256 B), copied into the arena. */
static dc_status_t lut_option(dc_model_bump_t *b, const dc_model_options_t *o, void **out)
{
    const uint8_t *bytes;
    TRY(dc_model_option_bytes(o, DC_OPTION_LUT, 256u, &bytes));
    *out = dc_model_bump(b, 256u);
    if (*out != NULL) {
        memcpy(*out, bytes, 256u);
    }
    return DC_OK; /* *out NULL while sizing: dc_model_load reports DC_ERR_ARENA */
}

static dc_status_t prepare_unary(dc_model_t *m, dc_model_bump_t *b, dc_model_op_t *op, const dc_model_options_t *o)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *y = &m->tensors[op->output];
    TRY(check_activation(m, x));
    TRY(check_activation(m, y));
    if (dc_model_count(x) != dc_model_count(y)) {
        return DC_ERR_SHAPE;
    }
    switch (op->kind) {
    case DC_OP_SOFTMAX: {
        /* TFLite PreprocessSoftmaxScaling (in double) and CalculateInputRadius(5, shift). */
        float beta;
        int32_t multiplier;
        int shift = 0;
        double real;
        TRY(dc_model_option_float(o, DC_OPTION_BETA, 1.0f, &beta));
        if (!(beta > 0.0f)) {
            return DC_ERR_OPTION;
        }
        if (SCALE(y) != 1.0f / 256.0f || ZP(y) != -128) {
            return DC_ERR_UNSUPPORTED; /* int8 softmax outputs are quantized 1/256, -128 */
        }
        real = (double)beta * (double)SCALE(x) * (double)(1u << 26);
        real = real < 2147483647.0 ? real : 2147483647.0;
        if (dc_quantize_multiplier(real, &multiplier, &shift) != 0 || shift < 0 || shift > 31) {
            return DC_ERR_UNSUPPORTED;
        }
        op->p.softmax.input_multiplier = multiplier;
        op->p.softmax.input_left_shift = shift;
        op->p.softmax.diff_min = -(int32_t)(31.0 * (double)(1u << 26) / (double)((uint64_t)1 << shift));
        return x->rank >= 1u ? DC_OK : DC_ERR_SHAPE;
    }
    case DC_OP_LOGISTIC: {
        void *lut = NULL;
        TRY(lut_option(b, o, &lut));
        op->p.lut = lut;
        return DC_OK;
    }
    case DC_OP_RELU:
    case DC_OP_RELU6:
        TRY(clamp_options(o, &op->p.relu.act_min, &op->p.relu.act_max));
        op->p.relu.input_zero_point = ZP(x);
        op->p.relu.output_zero_point = ZP(y);
        return quantize((double)SCALE(x) / (double)SCALE(y), &op->p.relu.output_multiplier,
                        &op->p.relu.output_shift);
    case DC_OP_HARD_SWISH:
        return dc_hard_swish_s8_prepare(SCALE(x), ZP(x), SCALE(y), ZP(y), &op->p.hard_swish);
    case DC_OP_QUANTIZE:
        TRY(rounding_option(o, DC_ROUNDING_DOUBLE, &op->p.requantize.rounding));
        op->p.requantize.input_zero_point = ZP(x);
        op->p.requantize.output_zero_point = ZP(y);
        return quantize((double)SCALE(x) / (double)SCALE(y), &op->p.requantize.multiplier,
                        &op->p.requantize.shift);
    default:
        return DC_ERR_INTERNAL;
    }
}

/* RESHAPE shares its input's buffer (the planner gives both one buffer). */
static dc_status_t prepare_reshape(dc_model_t *m, dc_model_op_t *op)
{
    uint16_t input = m->operand_pool[op->first_input];
    dc_model_tensor_t *x = &m->tensors[input], *y = &m->tensors[op->output];
    TRY(check_activation(m, x));
    TRY(check_activation(m, y));
    if (dc_model_count(x) != dc_model_count(y) || ZP(x) != ZP(y)) {
        return DC_ERR_SHAPE;
    }
    if (input < m->coded_count) {
        return DC_ERR_UNSUPPORTED; /* RESHAPE of a constant: fold it on the host */
    }
    dc_model_life(m, y)->alias = dc_model_life(m, x)->alias != DC_MODEL_NONE ? dc_model_life(m, x)->alias : input;
    return DC_OK;
}

static dc_status_t prepare_pad(dc_model_t *m, dc_model_op_t *op, const dc_model_options_t *o)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *y = &m->tensors[op->output];
    dc_cbor_reader_t r;
    uint64_t count;
    TRY(check_activation(m, x));
    TRY(check_activation(m, y));
    TRY(dc_model_option_array(o, DC_OPTION_PADDINGS, &count, &r));
    if (count != 2u * x->rank || x->rank > DC_MODEL_MAX_RANK) {
        return DC_ERR_OPTION;
    }
    memset(&op->p.pad, 0, sizeof op->p.pad);
    for (uint32_t i = 0; i < x->rank; i++) {
        int64_t before, after;
        if (dc_cbor_read_int(&r, &before) != DC_OK || dc_cbor_read_int(&r, &after) != DC_OK || before < 0 ||
            after < 0 || before > INT32_MAX / 2 || after > INT32_MAX / 2) {
            return DC_ERR_OPTION;
        }
        if (before > INT16_MAX || after > INT16_MAX) {
            return DC_ERR_UNSUPPORTED; /* the compact op record's int16 */
        }
        op->p.pad.before[DC_MODEL_MAX_RANK - x->rank + i] = (int16_t)before;
        op->p.pad.after[DC_MODEL_MAX_RANK - x->rank + i] = (int16_t)after;
    }
    op->p.pad.pad_value = (int8_t)ZP(y);
    return DC_OK;
}

static dc_status_t prepare_concat(dc_model_t *m, dc_model_op_t *op, const dc_model_options_t *o)
{
    const dc_model_tensor_t *y = &m->tensors[op->output];
    int32_t axis, act_min, act_max;
    TRY(check_activation(m, y));
    for (uint32_t i = 0; i < op->input_count; i++) {
        const dc_model_tensor_t *x = dc_model_input_tensor(m, op, i);
        TRY(check_activation(m, x));
        if (x->rank != y->rank || ZP(x) != ZP(y) || SCALE(x) != SCALE(y)) {
            return DC_ERR_UNSUPPORTED; /* int8 CONCATENATION needs one quantization */
        }
    }
    TRY(dc_model_option_int(o, DC_OPTION_AXIS, -(int64_t)y->rank, (int64_t)y->rank - 1, &axis));
    TRY(clamp_options(o, &act_min, &act_max));
    if (y->rank < 1u) {
        return DC_ERR_SHAPE;
    }
    op->p.concat.act_min = (int8_t)act_min;
    op->p.concat.act_max = (int8_t)act_max;
    op->p.concat.axis = (axis < 0 ? axis + (int32_t)y->rank : axis) + (int32_t)(DC_MODEL_MAX_RANK - y->rank);
    return DC_OK;
}

static dc_status_t prepare_mean(dc_model_t *m, dc_model_op_t *op, const dc_model_options_t *o)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *y = &m->tensors[op->output];
    dc_cbor_reader_t r;
    uint64_t count;
    TRY(check_activation(m, x));
    TRY(check_activation(m, y));
    TRY(dc_model_option_array(o, DC_OPTION_AXES, &count, &r));
    if (count > 8u) {
        return DC_ERR_OPTION;
    }
    memset(&op->p.mean, 0, sizeof op->p.mean);
    for (uint64_t i = 0; i < count; i++) {
        int64_t axis;
        if (dc_cbor_read_int(&r, &axis) != DC_OK || axis < -(int64_t)x->rank || axis >= (int64_t)x->rank) {
            return DC_ERR_OPTION;
        }
        if (axis < 0) {
            axis += x->rank;
        }
        op->p.mean.reduce[DC_MODEL_MAX_RANK - x->rank + (uint32_t)axis] = 1u;
    }
    op->p.mean.input_zero_point = ZP(x);
    op->p.mean.output_zero_point = ZP(y);
    return quantize((double)SCALE(x) / (double)SCALE(y), &op->p.mean.multiplier, &op->p.mean.shift);
}

dc_status_t dc_model_prepare_ops(dc_model_t *m, dc_model_bump_t *b)
{
    for (uint32_t k = 0; k < m->op_count; k++) {
        dc_model_op_t *op = &m->ops[k];
        dc_model_options_t o;
        dc_status_t status;
        /* every operand a kernel touches has rank <= 4 */
        for (uint32_t i = 0; i <= op->input_count; i++) {
            const dc_model_tensor_t *t = i < op->input_count ? dc_model_input_tensor(m, op, i) : &m->tensors[op->output];
            if (t != NULL && t->rank > DC_MODEL_MAX_RANK && t->source != DC_TENSOR_PARAM) {
                return DC_ERR_UNSUPPORTED;
            }
        }
        dc_model_options_at(m, m->options[k], &o);
        switch (op->kind) {
        case DC_OP_CONV_2D:
        case DC_OP_DEPTHWISE_CONV_2D:
            status = prepare_conv(m, b, op, &o);
            break;
        case DC_OP_FULLY_CONNECTED:
            status = prepare_fc(m, b, op, &o);
            break;
        case DC_OP_AVERAGE_POOL_2D:
        case DC_OP_MAX_POOL_2D:
            status = prepare_pool(m, op, &o);
            break;
        case DC_OP_ADD:
        case DC_OP_MUL:
            status = prepare_binary(m, op, &o);
            break;
        case DC_OP_RESHAPE:
            status = prepare_reshape(m, op);
            break;
        case DC_OP_PAD:
            status = prepare_pad(m, op, &o);
            break;
        case DC_OP_CONCATENATION:
            status = prepare_concat(m, op, &o);
            break;
        case DC_OP_MEAN:
            status = prepare_mean(m, op, &o);
            break;
        default:
            status = prepare_unary(m, b, op, &o);
            break;
        }
        if (status != DC_OK) {
            return status;
        }
    }
    return DC_OK;
}
