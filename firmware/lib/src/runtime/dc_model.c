/* dc_model.c: load a model (tables, parameters, plan, weights) into one arena; inputs, outputs, invoke. */
#include <stdint.h>
#include <string.h>

#include "../kernels/dc_conv_s8_dsp_size.h"
#include "dc_model_internal.h"

static size_t align8(size_t bytes)
{
    return (bytes + 7u) & ~(size_t)7u;
}

/* Whether any decoded constant needs the decoder scratch: CABAC-coded, or levels rebuilt by a rule. */
static int needs_decoder(const dc_model_t *m)
{
    for (uint32_t i = 0; i < m->coded_count; i++) {
        dc_tensor_entry_t entry;
        if (m->tensors[i].source == DC_TENSOR_CONST && dc_container_tensor(&m->container, i, &entry) == DC_OK &&
            (entry.codec == DC_CODEC_CABAC || m->tensors[i].rule != DC_LEVEL_RULE_NONE)) {
            return 1;
        }
    }
    return 0;
}

/* The scratch a CONV_2D / DEPTHWISE_CONV_2D kernel asks for on the device sized (m->target): the kernels built
 * in, the reference kernels (none) or the armv7em ones (CONV_2D only; its depthwise kernel needs none). */
static int32_t kernel_scratch_bytes(const dc_model_t *m, const dc_model_op_t *op, const dc_depthwise_conv_params_t *p,
                                    const dc_dims_t *x, const dc_dims_t *w, const dc_dims_t *y)
{
    const int conv = op->kind == DC_OP_CONV_2D;
    switch (m->target) {
    case DC_MODEL_TARGET_CORTEX_M:
        return 0;
    case DC_MODEL_TARGET_CORTEX_M_DSP:
        return conv ? dc_conv_s8_dsp_buffer_size(&p->conv, x, w, y) : 0;
    default:
        return conv ? dc_conv_s8_get_buffer_size(&p->conv, x, w, y) : dc_depthwise_conv_s8_get_buffer_size(p, x, w, y);
    }
}

/* The kernels' scratch memory (dc_conv_params_t.scratch): one persistent buffer of the largest size any
 * CONV_2D / DEPTHWISE_CONV_2D of the model asks for from the kernels built into this firmware (0 bytes
 * with the reference kernels, so the host's arena numbers do not change; docs/kernels.md). */
static dc_status_t reserve_kernel_scratch(dc_model_t *m, dc_model_bump_t *b)
{
    int32_t most = 0;
    for (uint32_t k = 0; k < m->op_count; k++) {
        const dc_model_op_t *op = &m->ops[k];
        const dc_model_tensor_t *x, *w, *y;
        dc_depthwise_conv_params_t p;
        dc_dims_t xd, wd, yd;
        int32_t bytes;
        if ((op->kind != DC_OP_CONV_2D && op->kind != DC_OP_DEPTHWISE_CONV_2D) || op->planned_scratch) {
            continue;
        }
        x = dc_model_input_tensor(m, op, 0);
        w = dc_model_input_tensor(m, op, 1);
        y = &m->tensors[op->output];
        xd = (dc_dims_t){x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
        wd = (dc_dims_t){w->dims[0], w->dims[1], w->dims[2], w->dims[3]};
        yd = (dc_dims_t){y->dims[0], y->dims[1], y->dims[2], y->dims[3]};
        dc_model_conv_params(m, op, &p);
        bytes = kernel_scratch_bytes(m, op, &p, &xd, &wd, &yd);
        if (bytes < 0) {
            return DC_ERR_ARG;
        }
        most = bytes > most ? bytes : most;
    }
    if (most == 0) {
        return DC_OK;
    }
    /* NULL when the arena is too small: the load then ends in DC_ERR_ARENA */
    m->kernel_scratch = dc_model_bump(b, (size_t)most);
    m->scratch_bytes = (size_t)most;
    return DC_OK;
}

/* The kernel scratch a CONV_2D / DEPTHWISE_CONV_2D needs with its filter cut to `channels` output channels
 * (the streamed chunks), or whole (channels = the op's Cout). */
static int32_t conv_scratch(const dc_model_t *m, const dc_model_op_t *op, int32_t channels)
{
    const dc_model_tensor_t *x = dc_model_input_tensor(m, op, 0), *w = dc_model_input_tensor(m, op, 1);
    const dc_model_tensor_t *y = &m->tensors[op->output];
    dc_dims_t xd = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
    dc_dims_t wd = {w->dims[0], w->dims[1], w->dims[2], w->dims[3]};
    dc_dims_t yd = {y->dims[0], y->dims[1], y->dims[2], y->dims[3]};
    dc_depthwise_conv_params_t p;
    dc_model_conv_params(m, op, &p);
    if (op->kind != DC_OP_DEPTHWISE_CONV_2D) {
        wd.n = channels;
        yd.c = channels;
    }
    return kernel_scratch_bytes(m, op, &p, &xd, &wd, &yd);
}

/* DECODE_STREAMED, before dc_model_prepare_ops: raw int8 weights read in place by one CONV_2D /
 * DEPTHWISE_CONV_2D, or by one FULLY_CONNECTED with per-channel scales, are copied into a planned buffer
 * instead (a chunk at a time where the op streams; a memcpy from the container), so that the op's
 * multipliers and kernel scratch are planned behind them, live during that op only, rather than kept in
 * the persistent part. */
static void copy_in_place_weights(dc_model_t *m)
{
    for (uint32_t k = 0; k < m->op_count; k++) {
        const dc_model_op_t *op = &m->ops[k];
        uint16_t w_index;
        dc_model_tensor_t *w;
        if (op->kind != DC_OP_CONV_2D && op->kind != DC_OP_DEPTHWISE_CONV_2D && op->kind != DC_OP_FULLY_CONNECTED) {
            continue;
        }
        w_index = m->operand_pool[op->first_input + 1u];
        if (w_index == DC_MODEL_NONE || w_index >= m->coded_count) {
            continue;
        }
        w = &m->tensors[w_index];
        const dc_model_life_t *l = &m->life[w_index];
        if (w->source == DC_TENSOR_IN_PLACE && w->dtype == DC_LEVEL_INT8 && l->first == (int16_t)k &&
            l->last == (int16_t)k && (op->kind != DC_OP_FULLY_CONNECTED || l->channel_count > 1u)) {
            w->source = DC_TENSOR_CONST;
        }
    }
}

/* A streamed bias's decoder state in its op's buffer: dc_model_decoder_bytes without a slice (the shared one
 * serves), plus what aligning it to 8 bytes in a 4-aligned planned buffer may take; 0 for a raw payload. */
static dc_status_t bias_state_bytes(const dc_model_t *m, uint32_t index, uint32_t *bytes)
{
    dc_tensor_entry_t entry;
    uint32_t columns = 0;
    dc_status_t status = dc_model_tensor_columns(m, index, &columns);
    *bytes = 0;
    if (status == DC_OK && dc_container_tensor(&m->container, index, &entry) == DC_OK &&
        entry.codec != DC_CODEC_RAW) {
        *bytes = (uint32_t)dc_model_decoder_bytes(m, columns, 0) + (DC_MODEL_ARENA_ALIGN - DC_MODEL_PLAN_ALIGN);
    }
    return status;
}

/* The streamed op's bias if it is read a chunk at a time too (stream != 0), else NULL. */
static const dc_model_tensor_t *streamed_bias(const dc_model_t *m, const dc_model_op_t *op)
{
    const dc_model_tensor_t *b = op->input_count > 2 ? dc_model_input_tensor(m, op, 2) : NULL;
    return b != NULL && dc_model_streamed_bias(b) ? b : NULL;
}

/* The planned buffer of a streamed CONV_2D / FULLY_CONNECTED whose weights `w` (out_c output channels) are
 * read `chunk` channels at a time: [chunk multipliers, shifts][kernel scratch for a chunk and for the short
 * last one, 4-aligned][streamed bias: a chunk of it, then its decoder state][one chunk of weights]. */
static dc_status_t stream_buffer_bytes(const dc_model_t *m, const dc_model_op_t *op, const dc_model_tensor_t *w,
                                       int32_t out_c, uint32_t chunk, uint32_t *bytes)
{
    const int conv = op->kind == DC_OP_CONV_2D;
    const uint32_t rest = (uint32_t)out_c % chunk;
    int32_t scratch = conv ? conv_scratch(m, op, (int32_t)chunk) : 0;
    int32_t quant_count = dc_model_buffer_quant_count(op, (int32_t)chunk);
    if (conv && rest != 0u) {
        int32_t last = conv_scratch(m, op, (int32_t)rest);
        scratch = last > scratch ? last : scratch;
    }
    const dc_model_tensor_t *bias = streamed_bias(m, op);
    uint32_t bias_bytes = 0;
    if (scratch < 0) {
        return DC_ERR_ARG;
    }
    if (bias != NULL) {
        dc_status_t status = bias_state_bytes(m, (uint32_t)(bias - m->tensors), &bias_bytes);
        if (status != DC_OK) {
            return status;
        }
        bias_bytes += (uint32_t)sizeof(int32_t) * chunk;
    }
    *bytes = 2u * sizeof(int32_t) * (uint32_t)quant_count + (((uint32_t)scratch + 3u) & ~3u) + bias_bytes +
             dc_model_chunk_bytes(chunk, dc_model_count(w) / (uint32_t)out_c);
    return DC_OK;
}

/* The weights op `k` streams (NULL if none) and their output channel count. */
static dc_model_tensor_t *streamed_weights(dc_model_t *m, uint32_t k, int32_t *out_c)
{
    const dc_model_op_t *op = &m->ops[k];
    dc_model_tensor_t *w;
    if (op->kind != DC_OP_CONV_2D && op->kind != DC_OP_FULLY_CONNECTED) {
        return NULL;
    }
    w = dc_model_input_tensor(m, op, 1);
    *out_c = op->kind == DC_OP_FULLY_CONNECTED ? w->dims[2] : w->dims[0];
    return w->stream != 0u ? w : NULL;
}

/* Bytes of the planned buffers live while op `k` runs, its streamed weights' buffer (`skip`) left out: a
 * lower bound on the planned region while it runs (dc_model_plan_lifetimes has set lifetimes and flags). */
static size_t live_bytes(const dc_model_t *m, uint32_t k, const dc_model_tensor_t *skip)
{
    size_t sum = 0;
    for (uint32_t i = 0; i < m->operand_count; i++) {
        const dc_model_tensor_t *t = &m->tensors[i];
        const dc_model_life_t *l = &m->life[i];
        if (l->planned && t != skip && l->first <= (int16_t)k && (int16_t)k <= l->last) {
            sum += dc_model_plan_buffer_bytes(t);
        }
    }
    return sum;
}

/* Whether `chunk` output channels of an op with out_c of them is a chunk the runtime takes: 1, the whole
 * layer, or an even count (the DSP conv kernel's unit). */
static int chunk_allowed(uint32_t chunk, int32_t out_c)
{
    return chunk == 1u || chunk == (uint32_t)out_c || (chunk & 1u) == 0u;
}

/* Each streamed op's chunk: the most output channels (at most stream_channels; even, the DSP conv kernel's
 * unit, unless the whole layer or 1) whose buffer keeps the bytes live while the op runs within `target`,
 * or 1 channel when none does. */
static dc_status_t set_chunks(dc_model_t *m, size_t target)
{
    for (uint32_t k = 0; k < m->op_count; k++) {
        int32_t out_c = 0;
        dc_model_tensor_t *w = streamed_weights(m, k, &out_c);
        uint32_t most;
        size_t live;
        if (w == NULL) {
            continue;
        }
        most = m->stream_channels < (uint32_t)out_c ? m->stream_channels : (uint32_t)out_c;
        live = live_bytes(m, k, w);
        for (uint32_t chunk = most; chunk >= 1u; chunk--) {
            uint32_t bytes = 0;
            dc_status_t status;
            if (!chunk_allowed(chunk, out_c)) {
                continue;
            }
            status = stream_buffer_bytes(m, &m->ops[k], w, out_c, chunk, &bytes);
            if (status != DC_OK) {
                return status;
            }
            if (chunk == 1u || live + bytes <= target) {
                w->stream = (uint16_t)chunk;
                w->extra = bytes;
                break;
            }
        }
    }
    return DC_OK;
}

/* STREAMED: the planned region is at its least when every streamed op reads one output channel at a time;
 * each op then takes the largest chunk (set_chunks) that keeps the plan at that least, so only the ops
 * whose buffers set the arena's peak read fewer channels (more kernel calls) than stream_channels. The
 * bound for the live bytes starts at that least and is lowered by what the greedy planner's placement
 * adds, a few times at most; then, as a last resort, one channel everywhere. */
static dc_status_t fit_chunks(dc_model_t *m)
{
    size_t least = 0, target, planned = 0;
    dc_status_t status;
    dc_model_plan_lifetimes(m);
    status = set_chunks(m, 0);
    if (status == DC_OK) {
        status = dc_model_plan(m, &least);
    }
    target = least;
    for (uint32_t tries = 0; status == DC_OK && tries < 4u; tries++) {
        status = set_chunks(m, target);
        if (status == DC_OK) {
            status = dc_model_plan(m, &planned);
        }
        if (status != DC_OK || planned <= least) {
            return status;
        }
        target -= planned - least < target ? planned - least : target;
    }
    return status == DC_OK ? set_chunks(m, 0) : status;
}

/* STREAMED in an arena larger than the least it needs: the chunks grow while the real plan stays within
 * `budget` planned bytes. Rounds over the streamed ops in graph order; in each, an op takes the largest
 * allowed chunk up to twice its current one (at most stream_channels and its Cout) with which the plan
 * fits, or keeps its chunk; rounds repeat until none grows. Ends with the plan (offsets) of the chunks
 * kept, its size in *planned. Deterministic; every step is checked with dc_model_plan itself. */
static dc_status_t grow_chunks(dc_model_t *m, size_t budget, size_t *planned)
{
    int grown = 1;
    while (grown) {
        grown = 0;
        for (uint32_t k = 0; k < m->op_count; k++) {
            int32_t out_c = 0;
            dc_model_tensor_t *w = streamed_weights(m, k, &out_c);
            uint32_t current, most, top, extra;
            if (w == NULL) {
                continue;
            }
            current = w->stream;
            extra = w->extra;
            most = m->stream_channels < (uint32_t)out_c ? m->stream_channels : (uint32_t)out_c;
            top = 2u * current < most ? 2u * current : most;
            for (uint32_t chunk = top; chunk > current; chunk--) {
                uint32_t bytes = 0;
                size_t size = 0;
                if (!chunk_allowed(chunk, out_c) ||
                    stream_buffer_bytes(m, &m->ops[k], w, out_c, chunk, &bytes) != DC_OK) {
                    continue; /* a chunk that cannot be sized does not fit */
                }
                w->stream = (uint16_t)chunk;
                w->extra = bytes;
                if (dc_model_plan(m, &size) == DC_OK && size <= budget) {
                    grown = 1;
                    break;
                }
                w->stream = (uint16_t)current;
                w->extra = extra;
            }
        }
    }
    return dc_model_plan(m, planned); /* the offsets of the chunks kept (the least's plan succeeded) */
}

/* A streamed op's int32 bias, decoded whole by default, is read a chunk at a time beside the weights instead
 * (its own decoder state in the op's buffer, the weights' stream holding the shared one) when only this op reads
 * it and that takes fewer bytes than the whole bias (AD01's 640-channel layer: 2,560 B). */
static dc_status_t stream_bias(dc_model_t *m, const dc_model_op_t *op, uint32_t k, uint32_t chunk)
{
    uint16_t index = op->input_count > 2 ? m->operand_pool[op->first_input + 2u] : DC_MODEL_NONE;
    dc_model_tensor_t *b;
    uint32_t state = 0;
    dc_status_t status;
    if (index == DC_MODEL_NONE || index >= m->coded_count) {
        return DC_OK;
    }
    b = &m->tensors[index];
    if (b->source != DC_TENSOR_CONST || b->dtype != DC_LEVEL_INT32 || /* exact, or rule scaled */
        m->life[index].first != (int16_t)k || m->life[index].last != (int16_t)k) {
        return DC_OK;
    }
    status = bias_state_bytes(m, index, &state);
    if (status == DC_OK && ((dc_model_bytes(b) + 3u) & ~3u) > state + (uint32_t)sizeof(int32_t) * chunk) {
        b->stream = 1u;
    }
    return status;
}

/* DECODE_STREAMED: which weights are decoded in chunks and how large each op's planned weight buffer is.
 * A CONV_2D with one group or a FULLY_CONNECTED whose int8 weights are decoded into the arena (CONST) and
 * read by that op only streams them: chunks of up to stream_channels output channels (their rows are
 * contiguous: weights are stored output channel first; fit_chunks picks each op's chunk), the chunk's
 * multipliers and the kernel scratch behind it. Other planned weights of conv ops (depthwise: output channel
 * last) are decoded whole, with their kernel scratch behind the multipliers too, so the persistent scratch
 * only serves ops whose weights are not planned. */
static dc_status_t plan_streams(dc_model_t *m)
{
    for (uint32_t k = 0; k < m->op_count; k++) {
        dc_model_op_t *op = &m->ops[k];
        const dc_model_tensor_t *x;
        dc_model_tensor_t *w;
        uint16_t w_index;
        int32_t out_c, scratch, quant_count;
        int conv = op->kind == DC_OP_CONV_2D || op->kind == DC_OP_DEPTHWISE_CONV_2D;
        if (!conv && op->kind != DC_OP_FULLY_CONNECTED) {
            continue;
        }
        w_index = m->operand_pool[op->first_input + 1u];
        if (w_index == DC_MODEL_NONE || w_index >= m->coded_count) {
            continue;
        }
        w = &m->tensors[w_index];
        if (w->source != DC_TENSOR_CONST) {
            continue;
        }
        x = dc_model_input_tensor(m, op, 0);
        out_c = op->kind == DC_OP_FULLY_CONNECTED ? w->dims[2] : w->dims[0];
        if (op->kind != DC_OP_DEPTHWISE_CONV_2D && w->dtype == DC_LEVEL_INT8 && m->life[w_index].first == (int16_t)k &&
            m->life[w_index].last == (int16_t)k && out_c > 0 &&
            (op->kind == DC_OP_FULLY_CONNECTED || w->dims[3] == x->dims[3])) {
            uint32_t chunk = m->stream_channels < (uint32_t)out_c ? m->stream_channels : (uint32_t)out_c;
            uint32_t bytes = 0;
            dc_status_t status = stream_bias(m, op, k, chunk);
            if (status != DC_OK) {
                return status;
            }
            status = stream_buffer_bytes(m, op, w, out_c, chunk, &bytes);
            if (status != DC_OK) {
                return status;
            }
            /* only this op reads it: the buffer replaces the whole layer */
            w->stream = (uint16_t)chunk;
            w->extra = bytes;
            op->planned_scratch = (uint8_t)conv;
            continue;
        }
        quant_count = dc_model_buffer_quant_count(op, op->channels);
        scratch = conv ? conv_scratch(m, op, out_c) : 0;
        if (scratch < 0) {
            return DC_ERR_ARG;
        }
        uint32_t extra = 2u * sizeof(int32_t) * (uint32_t)quant_count + (uint32_t)scratch;
        w->extra = extra > w->extra ? extra : w->extra;
        op->planned_scratch = (uint8_t)conv;
    }
    return fit_chunks(m);
}

/* Load into `arena`; `decode` 0 (dc_model_arena_size): only size it (nothing decoded, chunks at the least). */
static dc_status_t load(dc_model_t *m, const uint8_t *container, size_t len, uint8_t *arena, size_t arena_size,
                        const dc_model_config_t *config, int decode)
{
    dc_model_mode_t mode = config->mode;
    dc_model_bump_t b = {arena, arena_size, 0};
    dc_status_t status;
    size_t planned = 0, decoder_bytes = 0, region, needed, table_slack = 0;
    /* sizing a Cortex-M's tables on a wider build: its record sizes (the tables themselves are built native) */
    const int resize = config->target != DC_MODEL_TARGET_BUILD && UINTPTR_MAX != 0xFFFFFFFFu;
    uint32_t columns = 0;
    if (m == NULL) {
        return DC_ERR_ARG;
    }
    memset(m, 0, sizeof *m);
    if (container == NULL || (arena == NULL && arena_size > 0) ||
        ((uintptr_t)arena % DC_MODEL_ARENA_ALIGN) != 0u ||
        (mode != DC_MODEL_DECODE_AT_LOAD && mode != DC_MODEL_DECODE_PER_LAYER && mode != DC_MODEL_DECODE_STREAMED) ||
        config->stream_channels > UINT16_MAX ||
        (uint32_t)config->target > (uint32_t)DC_MODEL_TARGET_CORTEX_M_DSP ||
        (config->target != DC_MODEL_TARGET_BUILD && decode)) {
        return DC_ERR_ARG;
    }
    status = (dc_status_t)dc_container_open(&m->container, container, len);
    if (status != DC_OK) {
        return status;
    }
    if (m->container.flags & DC_CONTAINER_FLAG_DELTA) {
        return DC_ERR_UNSUPPORTED; /* apply a delta to its base before loading */
    }
    m->mode = mode;
    m->stream_channels = config->stream_channels != 0u ? config->stream_channels : DC_MODEL_STREAM_CHANNELS;
    m->arena = arena;
    m->arena_size = arena_size;
    m->target = config->target;
    status = dc_model_build_graph(m, &b);
    if (status == DC_ERR_ARENA) {
        m->arena_needed = b.used; /* a lower bound: the tables alone */
        return status;
    }
    if (status == DC_OK && mode == DC_MODEL_DECODE_STREAMED) {
        copy_in_place_weights(m);
    }
    if (status == DC_OK) {
        status = dc_model_prepare_ops(m, &b);
    }
    if (status == DC_OK && mode == DC_MODEL_DECODE_STREAMED) {
        status = plan_streams(m);
    }
    if (status == DC_OK) {
        status = reserve_kernel_scratch(m, &b);
    }
    if (status == DC_OK) {
        status = dc_model_max_columns(m, &columns);
    }
    if (status != DC_OK) {
        return status;
    }
    m->decoder_columns = columns;
    if (needs_decoder(m)) {
        decoder_bytes = dc_model_decoder_bytes(m, columns, dc_model_slice_levels(mode));
    }
    for (uint32_t i = 0; mode == DC_MODEL_DECODE_AT_LOAD && i < m->coded_count; i++) {
        dc_model_tensor_t *t = &m->tensors[i];
        if (t->source == DC_TENSOR_CONST) {
            t->data = dc_model_bump(&b, dc_model_bytes(t));
            m->weight_bytes += dc_model_bytes(t);
        }
    }
    if (mode != DC_MODEL_DECODE_AT_LOAD && decoder_bytes > 0) {
        m->decoder = dc_model_bump(&b, decoder_bytes);
    }
    status = dc_model_plan(m, &planned);
    if (status != DC_OK) {
        return status;
    }
    region = planned;
    if (mode == DC_MODEL_DECODE_AT_LOAD && decoder_bytes > region) {
        region = decoder_bytes; /* the decoder works in the planned region before anything runs */
    }
    if (dc_model_load_bytes(m) > region) {
        region = dc_model_load_bytes(m); /* the load-time records sit at the top of the arena until now */
    }
    if (resize) { /* the tensor and op tables are the first two pieces, each 8-aligned */
        size_t ops = m->op_count > 0 ? m->op_count : 1u;
        table_slack = align8(sizeof(dc_model_tensor_t) * m->operand_count) + align8(sizeof(dc_model_op_t) * ops) -
                      align8(DC_MODEL_TENSOR_BYTES_32 * m->operand_count) - align8(DC_MODEL_OP_BYTES_32 * ops);
    }
    m->persistent_bytes = align8(b.used) - table_slack;
    m->planned_bytes = region;
    needed = m->persistent_bytes + region;
    m->arena_needed = needed;
    if (needed > arena_size || b.used > arena_size) {
        return DC_ERR_ARENA;
    }
    if (decode && mode == DC_MODEL_DECODE_STREAMED && arena_size > needed) {
        /* the arena holds more than the least: larger chunks (fewer kernel calls) where they fit */
        status = grow_chunks(m, arena_size - m->persistent_bytes, &planned);
        if (status != DC_OK) {
            return status;
        }
        region = planned > region ? planned : region;
    }
    m->arena_used = m->persistent_bytes + region;
    m->plan = arena + m->persistent_bytes;
    if (mode == DC_MODEL_DECODE_AT_LOAD) {
        m->decoder = m->plan;
    }
    for (uint32_t i = 0; i < m->operand_count; i++) {
        dc_model_tensor_t *t = &m->tensors[i];
        if (m->life[i].planned) {
            t->data = (int8_t *)(m->plan + m->life[i].offset);
            if (i < m->coded_count) {
                m->weight_bytes += t->stream != 0u ? t->extra : dc_model_bytes(t);
            }
        }
    }
    for (uint32_t i = 0; i < m->operand_count; i++) {
        if (m->life[i].alias != DC_MODEL_NONE) {
            m->tensors[i].data = m->tensors[m->life[i].alias].data;
        }
    }
    m->life = NULL; /* the planned region (and the AT_LOAD decoder) may use that memory from now on */
    m->options = NULL;
    for (uint32_t i = 0; decode && mode == DC_MODEL_DECODE_AT_LOAD && i < m->coded_count; i++) {
        if (m->tensors[i].source == DC_TENSOR_CONST) {
            status = dc_model_decode_tensor(m, i, m->tensors[i].data);
            if (status != DC_OK) {
                return status;
            }
        }
    }
    m->loaded = 1;
    return DC_OK;
}

/* DECODE_AUTO: the modes tried in order, from the most RAM (fastest) to the least. */
static const dc_model_mode_t auto_modes[3] = {DC_MODEL_DECODE_AT_LOAD, DC_MODEL_DECODE_PER_LAYER,
                                              DC_MODEL_DECODE_STREAMED};

dc_status_t dc_model_load_config(dc_model_t *m, const uint8_t *container, size_t len, uint8_t *arena,
                                 size_t arena_size, const dc_model_config_t *config)
{
    dc_status_t status = DC_ERR_ARG;
    dc_model_config_t c;
    if (config == NULL) {
        if (m != NULL) {
            memset(m, 0, sizeof *m);
        }
        return DC_ERR_ARG;
    }
    size_t least = SIZE_MAX; /* AUTO refused: the least any mode needs */
    c = *config;
    for (uint32_t i = 0; i < 3u; i++) {
        if (config->mode == DC_MODEL_DECODE_AUTO) {
            c.mode = auto_modes[i];
        }
        status = load(m, container, len, arena, arena_size, &c, 1);
        if (config->mode != DC_MODEL_DECODE_AUTO || status != DC_ERR_ARENA) {
            break;
        }
        least = m->arena_needed < least ? m->arena_needed : least;
    }
    if (status != DC_OK && m != NULL) {
        size_t needed = status == DC_ERR_ARENA && config->mode == DC_MODEL_DECODE_AUTO ? least : m->arena_needed;
        memset(m, 0, sizeof *m);
        m->arena_needed = needed;
    }
    return status;
}

dc_status_t dc_model_load(dc_model_t *m, const uint8_t *container, size_t len, uint8_t *arena, size_t arena_size,
                          dc_model_mode_t mode)
{
    const dc_model_config_t config = {mode, 0u, DC_MODEL_TARGET_BUILD};
    return dc_model_load_config(m, container, len, arena, arena_size, &config);
}

static dc_status_t arena_size_one(const uint8_t *container, size_t len, const dc_model_config_t *config,
                                  uint8_t *work, size_t work_size, size_t *size)
{
    dc_model_t m;
    dc_status_t status = load(&m, container, len, work, work_size, config, 0);
    *size = m.arena_needed;
    if (status == DC_ERR_ARENA && m.tensors != NULL && m.arena_needed > 0 && m.persistent_bytes > 0) {
        return DC_OK; /* the tables fit: the number is exact */
    }
    return status;
}

dc_status_t dc_model_arena_size_config(const uint8_t *container, size_t len, const dc_model_config_t *config,
                                       uint8_t *work, size_t work_size, size_t *size)
{
    dc_model_config_t c;
    dc_status_t status;
    size_t least = 0;
    if (size == NULL || config == NULL) {
        return DC_ERR_ARG;
    }
    if (config->mode != DC_MODEL_DECODE_AUTO) {
        return arena_size_one(container, len, config, work, work_size, size);
    }
    c = *config;
    for (uint32_t i = 0; i < 3u; i++) {
        size_t one = 0;
        c.mode = auto_modes[i];
        status = arena_size_one(container, len, &c, work, work_size, &one);
        if (status != DC_OK) {
            *size = one;
            return status;
        }
        least = i == 0u || one < least ? one : least;
    }
    *size = least;
    return DC_OK;
}

dc_status_t dc_model_arena_size(const uint8_t *container, size_t len, dc_model_mode_t mode, uint8_t *work,
                                size_t work_size, size_t *size)
{
    const dc_model_config_t config = {mode, 0u, DC_MODEL_TARGET_BUILD};
    return dc_model_arena_size_config(container, len, &config, work, work_size, size);
}

dc_status_t dc_model_set_profiler(dc_model_t *m, dc_model_profile_fn fn, void *context)
{
    if (m == NULL) {
        return DC_ERR_ARG;
    }
    m->profile = fn;
    m->profile_context = context;
    return DC_OK;
}

static dc_status_t describe(const dc_model_t *m, uint16_t index, dc_model_io_t *io)
{
    const dc_model_tensor_t *t = &m->tensors[index];
    memset(io, 0, sizeof *io);
    io->data = t->data;
    io->bytes = dc_model_bytes(t);
    io->rank = t->rank <= DC_MODEL_MAX_RANK ? t->rank : 0u;
    for (uint32_t i = 0; i < io->rank; i++) {
        io->shape[i] = t->dims[DC_MODEL_MAX_RANK - io->rank + i];
    }
    io->scale = dc_model_tensor_scale(t, 0u);
    io->zero_point = t->q.zero_point; /* graph I/O are values */
    return DC_OK;
}

dc_status_t dc_model_input(dc_model_t *m, uint32_t index, dc_model_io_t *io)
{
    if (m == NULL || io == NULL || !m->loaded || index >= m->input_count) {
        return DC_ERR_ARG;
    }
    return describe(m, m->inputs[index], io);
}

dc_status_t dc_model_output(dc_model_t *m, uint32_t index, dc_model_io_t *io)
{
    if (m == NULL || io == NULL || !m->loaded || index >= m->output_count) {
        return DC_ERR_ARG;
    }
    return describe(m, m->outputs[index], io);
}

dc_status_t dc_model_op_output(dc_model_t *m, uint32_t op_index, dc_model_io_t *io)
{
    if (m == NULL || io == NULL || !m->loaded || op_index >= m->op_count) {
        return DC_ERR_ARG;
    }
    return describe(m, m->ops[op_index].output, io);
}

dc_status_t dc_model_invoke(dc_model_t *m)
{
    if (m == NULL || !m->loaded) {
        return DC_ERR_ARG;
    }
    for (uint32_t i = 0; i < m->coded_count; i++) {
        m->tensors[i].decoded = 0;
    }
    for (uint32_t k = 0; k < m->op_count; k++) {
        dc_status_t status;
        if (m->profile != NULL) {
            m->profile(m->profile_context, k, DC_MODEL_EVENT_BEGIN);
        }
        status = dc_model_run_op(m, k);
        if (m->profile != NULL) {
            m->profile(m->profile_context, k, DC_MODEL_EVENT_END);
        }
        if (status != DC_OK) {
            return status;
        }
    }
    return DC_OK;
}

uint32_t dc_model_op_chunk(const dc_model_t *m, uint32_t op_index)
{
    const dc_model_tensor_t *w;
    if (m == NULL || !m->loaded || op_index >= m->op_count || m->mode != DC_MODEL_DECODE_STREAMED) {
        return 0;
    }
    const dc_model_op_t *op = &m->ops[op_index];
    if (op->kind != DC_OP_CONV_2D && op->kind != DC_OP_FULLY_CONNECTED) {
        return 0;
    }
    w = op->input_count > 1 ? dc_model_input_tensor(m, op, 1) : NULL;
    return w != NULL ? w->stream : 0u;
}
