/* dc_model_weights.c: decode a coded tensor's levels (raw or CABAC, in slices) into its int8/int16/int32 buffer. */
#include <string.h>

#include "dc_levels.h"
#include "dc_model_internal.h"

static size_t align8(size_t bytes)
{
    return (bytes + 7u) & ~(size_t)7u;
}

size_t dc_model_decoder_bytes(uint32_t columns)
{
    return align8(sizeof(dc_levels_dec_t)) + align8(sizeof(dc_levels_col_t) * columns) +
           sizeof(int32_t) * DC_MODEL_SLICE;
}

dc_status_t dc_model_max_columns(const dc_model_t *m, uint32_t *columns)
{
    *columns = 0;
    for (uint32_t i = 0; i < m->coded_count; i++) {
        dc_tensor_entry_t entry;
        dc_levels_params_t params;
        size_t header;
        if (m->tensors[i].source != DC_TENSOR_CONST) {
            continue;
        }
        if (dc_container_tensor(&m->container, i, &entry) != DC_OK) {
            return DC_ERR_INTERNAL;
        }
        if (entry.codec != DC_CODEC_CABAC) {
            continue;
        }
        dc_status_t status = dc_levels_payload_params(entry.payload, entry.payload_length, &params, &header);
        if (status != DC_OK) {
            return status;
        }
        if (params.pred_mode == DC_PRED_BASE) {
            return DC_ERR_BASE; /* a delta payload in a non-delta container */
        }
        if (params.col_stride > *columns) {
            *columns = params.col_stride;
        }
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

dc_status_t dc_model_decode_tensor(dc_model_t *m, uint32_t index, int8_t *out)
{
    const dc_model_tensor_t *t = &m->tensors[index];
    dc_tensor_entry_t entry;
    if (dc_container_tensor(&m->container, index, &entry) != DC_OK) {
        return DC_ERR_INTERNAL;
    }
    if (entry.codec == DC_CODEC_RAW) {
        /* little-endian payload; every supported target is little-endian */
        memcpy(out, entry.payload, t->bytes);
        return DC_OK;
    }
    uint8_t *scratch = m->decoder;
    dc_levels_dec_t *dec = (dc_levels_dec_t *)(void *)scratch;
    dc_levels_col_t *cols = (dc_levels_col_t *)(void *)(scratch + align8(sizeof(dc_levels_dec_t)));
    int32_t *slice = (int32_t *)(void *)(scratch + align8(sizeof(dc_levels_dec_t)) +
                                         align8(sizeof(dc_levels_col_t) * m->decoder_columns));
    dc_status_t status = dc_levels_dec_init(dec, entry.payload, entry.payload_length, entry.level_count,
                                            m->decoder_columns > 0 ? cols : NULL, m->decoder_columns);
    for (uint32_t done = 0; status == DC_OK && done < entry.level_count;) {
        uint32_t n = entry.level_count - done < DC_MODEL_SLICE ? entry.level_count - done : DC_MODEL_SLICE;
        status = dc_levels_read(dec, slice, n, NULL);
        if (status == DC_OK) {
            status = store(out, t->dtype, done, slice, n);
        }
        done += n;
    }
    return status;
}
