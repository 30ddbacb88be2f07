/* dc_model_weights.c: decode a coded tensor's levels (raw or CABAC, in slices) into its int8/int16/int32 buffer,
 * rebuilt by the tensor's rule (docs/bitstream.md section 4.2). */
#include <string.h>

#include "dc_levels.h"
#include "dc_model_internal.h"

static size_t align8(size_t bytes)
{
    return (bytes + 7u) & ~(size_t)7u;
}

size_t dc_model_decoder_bytes(const dc_model_t *m, uint32_t columns, uint32_t slice)
{
    size_t state = m->target != DC_MODEL_TARGET_BUILD ? DC_LEVELS_DEC_BYTES : sizeof(dc_levels_dec_t);
    return align8(state) + align8(sizeof(dc_levels_col_t) * columns) + sizeof(int32_t) * slice;
}

dc_status_t dc_model_tensor_columns(const dc_model_t *m, uint32_t index, uint32_t *columns)
{
    dc_tensor_entry_t entry;
    dc_levels_params_t params;
    size_t header;
    dc_status_t status;
    *columns = 0;
    if (dc_container_tensor(&m->container, index, &entry) != DC_OK) {
        return DC_ERR_INTERNAL;
    }
    if (entry.codec != DC_CODEC_CABAC) {
        return DC_OK;
    }
    status = dc_levels_payload_params(entry.payload, entry.payload_length, &params, &header);
    if (status != DC_OK) {
        return status;
    }
    if (params.pred_mode == DC_PRED_BASE) {
        return DC_ERR_BASE; /* a delta payload in a non-delta container */
    }
    *columns = params.col_stride;
    return DC_OK;
}

dc_status_t dc_model_max_columns(const dc_model_t *m, uint32_t *columns)
{
    *columns = 0;
    for (uint32_t i = 0; i < m->coded_count; i++) {
        uint32_t n = 0;
        dc_status_t status;
        if (m->tensors[i].source != DC_TENSOR_CONST) {
            continue;
        }
        status = dc_model_tensor_columns(m, i, &n);
        if (status != DC_OK) {
            return status;
        }
        *columns = n > *columns ? n : *columns;
    }
    return DC_OK;
}

static dc_status_t store(int8_t *out, uint8_t dtype, uint32_t at, const int32_t *levels, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        int32_t v = levels[i];
        if (dtype == DC_LEVEL_INT8) {
            if (v < -128 || v > 127) {
                return DC_ERR_CORRUPT;
            }
            out[at + i] = (int8_t)v;
        } else if (dtype == DC_LEVEL_INT16) {
            int16_t s = (int16_t)v;
            if (v < -32768 || v > 32767) {
                return DC_ERR_CORRUPT;
            }
            memcpy(out + 2u * (at + i), &s, sizeof s);
        } else {
            memcpy(out + 4u * (at + i), &v, sizeof v);
        }
    }
    return DC_OK;
}

/* MPEG NNC's 8-state trellis: next state = dq_next[state][|level| & 1] (docs/compression.md). */
static const uint8_t dq_next[8][2] = {{0, 2}, {7, 5}, {1, 3}, {6, 4}, {2, 0}, {5, 7}, {3, 1}, {4, 6}};

/* Rebuild int8 values from levels by the tensor's rule (docs/bitstream.md section 4.2); `state` carries
 * the trellis state from one slice to the next. A level outside the rule's range is DC_ERR_CORRUPT. */
static dc_status_t rebuild(const dc_model_tensor_t *t, int8_t *out, uint32_t at, const int32_t *levels, uint32_t n,
                           uint8_t *state)
{
    const int32_t max_level = (int32_t)(1u << (t->bits - 1u)) - 1;
    for (uint32_t i = 0; i < n; i++) {
        int32_t v = levels[i];
        int32_t value;
        if (t->rule == DC_LEVEL_RULE_CODEBOOK) {
            int32_t index = v + (int32_t)t->zero_index;
            if (index < 0 || index > (int32_t)t->step) { /* step: the codebook's last index */
                return DC_ERR_CORRUPT;
            }
            out[at + i] = t->q.codebook[index];
            continue;
        }
        if (v < -max_level || v > max_level) {
            return DC_ERR_CORRUPT;
        }
        if (t->rule == DC_LEVEL_RULE_DEPENDENT) {
            int32_t magnitude = v < 0 ? -v : v;
            value = 2 * v - (v > 0 ? 1 : v < 0 ? -1 : 0) * (int32_t)(*state & 1u);
            *state = dq_next[*state][magnitude & 1];
        } else {
            value = v;
        }
        out[at + i] = (int8_t)(value * (int32_t)t->step); /* |value * step| <= 127: checked by the parser */
    }
    return DC_OK;
}

/* Rule scaled (int32 tensors): value = level * 2^k, k = step in 1..24 (checked by the parser). A level outside
 * -2^(31-k) .. 2^(31-k) - 1, whose value would leave int32, is DC_ERR_CORRUPT; inside, the product is exact. */
static dc_status_t scale(const dc_model_tensor_t *t, int8_t *out, uint32_t at, const int32_t *levels, uint32_t n)
{
    const int32_t high = (int32_t)((1u << (31u - t->step)) - 1u), low = -high - 1;
    const int32_t factor = (int32_t)1 << t->step;
    for (uint32_t i = 0; i < n; i++) {
        int32_t value;
        if (levels[i] < low || levels[i] > high) {
            return DC_ERR_CORRUPT;
        }
        value = levels[i] * factor;
        memcpy(out + 4u * (at + i), &value, sizeof value);
    }
    return DC_OK;
}

static dc_status_t put(const dc_model_tensor_t *t, int8_t *out, uint32_t at, const int32_t *levels, uint32_t n,
                       uint8_t *state)
{
    if (t->rule == DC_LEVEL_RULE_NONE) {
        return store(out, t->dtype, at, levels, n);
    }
    return t->rule == DC_LEVEL_RULE_SCALED ? scale(t, out, at, levels, n) : rebuild(t, out, at, levels, n, state);
}

static int32_t *slice_buffer(const dc_model_t *m)
{
    return (int32_t *)(void *)((uint8_t *)m->decoder + align8(sizeof(dc_levels_dec_t)) +
                               align8(sizeof(dc_levels_col_t) * m->decoder_columns));
}

dc_status_t dc_model_stream_begin(dc_model_t *m, uint32_t index, dc_model_stream_t *s)
{
    return dc_model_stream_begin_with(m, index, s, m->decoder, m->decoder_columns);
}

dc_status_t dc_model_stream_begin_with(dc_model_t *m, uint32_t index, dc_model_stream_t *s, void *decoder,
                                       uint32_t columns)
{
    uint8_t *scratch = decoder;
    s->decoder = decoder;
    s->tensor = &m->tensors[index];
    s->done = 0;
    s->state = 0;
    if (dc_container_tensor(&m->container, index, &s->entry) != DC_OK) {
        return DC_ERR_INTERNAL;
    }
    if (s->entry.codec == DC_CODEC_RAW) {
        return DC_OK;
    }
    return dc_levels_dec_init((dc_levels_dec_t *)(void *)scratch, s->entry.payload, s->entry.payload_length,
                              s->entry.level_count,
                              columns > 0 ? (dc_levels_col_t *)(void *)(scratch + align8(sizeof(dc_levels_dec_t)))
                                          : NULL,
                              columns);
}

dc_status_t dc_model_stream_read(dc_model_t *m, dc_model_stream_t *s, int8_t *out, uint32_t count)
{
    const dc_model_tensor_t *t = s->tensor;
    dc_status_t status = DC_OK;
    if (count > s->entry.level_count - s->done) {
        return DC_ERR_INTERNAL;
    }
    if (s->entry.codec == DC_CODEC_RAW && t->rule == DC_LEVEL_RULE_NONE) {
        /* little-endian payload; every supported target is little-endian */
        uint32_t width = t->dtype == DC_LEVEL_INT8 ? 1u : t->dtype == DC_LEVEL_INT16 ? 2u : 4u;
        memcpy(out, s->entry.payload + (size_t)s->done * width, (size_t)count * width);
        s->done += count;
        return DC_OK;
    }
    int32_t *slice = slice_buffer(m);
    const uint32_t most = dc_model_slice_levels(m->mode);
    for (uint32_t at = 0; status == DC_OK && at < count;) {
        uint32_t n = count - at < most ? count - at : most;
        if (s->entry.codec == DC_CODEC_RAW && t->dtype == DC_LEVEL_INT32) {
            /* rule scaled: int32 little-endian levels (every supported target is little-endian) */
            memcpy(slice, s->entry.payload + 4u * (size_t)(s->done + at), 4u * (size_t)n);
        } else if (s->entry.codec == DC_CODEC_RAW) {
            /* int8 levels (the parser allows the other rules on int8 tensors only) */
            for (uint32_t i = 0; i < n; i++) {
                slice[i] = (int8_t)s->entry.payload[s->done + at + i];
            }
        } else {
            status = dc_levels_read((dc_levels_dec_t *)s->decoder, slice, n, NULL);
        }
        if (status == DC_OK) {
            status = put(t, out, at, slice, n, &s->state);
        }
        at += n;
    }
    s->done += count;
    return status;
}

dc_status_t dc_model_decode_tensor(dc_model_t *m, uint32_t index, int8_t *out)
{
    dc_model_stream_t s;
    dc_status_t status = dc_model_stream_begin(m, index, &s);
    if (status == DC_OK) {
        status = dc_model_stream_read(m, &s, out, s.entry.level_count);
    }
    return status;
}
