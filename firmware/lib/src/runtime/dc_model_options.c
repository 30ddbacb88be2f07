/* dc_model_options.c: typed look-up of one option in a node's CBOR options map (bounded reads). */
#include <string.h>

#include "dc_model_internal.h"

void dc_model_options_at(const dc_model_t *m, uint32_t position, dc_model_options_t *o)
{
    const dc_container_t *c = &m->container;
    dc_cbor_init(&o->reader, c->data + c->metadata_offset, c->metadata_length);
    o->reader.position = position;
}

/* Positions `r` at the value of option `name`; DC_ERR_OPTION when absent (also DC_ERR_OPTION for a
 * malformed map, which the container check has excluded). */
static dc_status_t find(const dc_model_options_t *o, const char *name, dc_cbor_reader_t *r)
{
    uint64_t count;
    *r = o->reader;
    if (dc_cbor_read_map(r, &count) != DC_OK) {
        return DC_ERR_OPTION;
    }
    for (uint64_t i = 0; i < count; i++) {
        const char *key;
        size_t length;
        if (dc_cbor_read_text(r, &key, &length) != DC_OK) {
            return DC_ERR_OPTION;
        }
        if (dc_cbor_text_equals(key, length, name)) {
            return DC_OK;
        }
        if (dc_cbor_skip(r) != DC_OK) {
            return DC_ERR_OPTION;
        }
    }
    return DC_ERR_OPTION;
}

dc_status_t dc_model_option_int(const dc_model_options_t *o, const char *name, int64_t low, int64_t high,
                                int32_t *value)
{
    dc_cbor_reader_t r;
    int64_t v;
    if (find(o, name, &r) != DC_OK || dc_cbor_read_int(&r, &v) != DC_OK || v < low || v > high) {
        return DC_ERR_OPTION;
    }
    *value = (int32_t)v;
    return DC_OK;
}

dc_status_t dc_model_option_text(const dc_model_options_t *o, const char *name, const char **text, size_t *length)
{
    dc_cbor_reader_t r;
    if (find(o, name, &r) != DC_OK || dc_cbor_read_text(&r, text, length) != DC_OK) {
        return DC_ERR_OPTION;
    }
    return DC_OK;
}

dc_status_t dc_model_option_bool(const dc_model_options_t *o, const char *name, int *value)
{
    dc_cbor_reader_t r;
    if (find(o, name, &r) != DC_OK || dc_cbor_read_bool(&r, value) != DC_OK) {
        return DC_ERR_OPTION;
    }
    return DC_OK;
}

dc_status_t dc_model_option_array(const dc_model_options_t *o, const char *name, uint64_t *count,
                                  dc_cbor_reader_t *reader)
{
    if (find(o, name, reader) != DC_OK || dc_cbor_read_array(reader, count) != DC_OK) {
        return DC_ERR_OPTION;
    }
    return DC_OK;
}

dc_status_t dc_model_option_int_or(const dc_model_options_t *o, const char *name, int32_t fallback, int64_t low,
                                   int64_t high, int32_t *value)
{
    dc_cbor_reader_t r;
    if (find(o, name, &r) != DC_OK) {
        *value = fallback; /* absent: the documented default (docs/bitstream.md section 4.1) */
        return DC_OK;
    }
    return dc_model_option_int(o, name, low, high, value);
}

dc_status_t dc_model_option_bytes(const dc_model_options_t *o, const char *name, size_t length,
                                  const uint8_t **bytes)
{
    dc_cbor_reader_t r;
    size_t found;
    if (find(o, name, &r) != DC_OK || dc_cbor_read_bytes(&r, bytes, &found) != DC_OK || found != length) {
        return DC_ERR_OPTION;
    }
    return DC_OK;
}

float dc_model_tensor_scale(const dc_model_tensor_t *t, uint32_t k)
{
    if (t->scales == NULL) {
        return 0.0f;
    }
    return dc_container_scale(t->scales, t->compact_scale ? 1u : 4u, t->scale_exp, k);
}

int dc_model_option_present(const dc_model_options_t *o, const char *name)
{
    dc_cbor_reader_t r;
    return find(o, name, &r) == DC_OK;
}

dc_status_t dc_model_option_float(const dc_model_options_t *o, const char *name, float fallback, float *value)
{
    dc_cbor_reader_t r;
    double v;
    if (find(o, name, &r) != DC_OK) {
        *value = fallback;
        return DC_OK;
    }
    if (dc_cbor_read_float(&r, &v) != DC_OK || !(v >= -3.4028234663852886e38 && v <= 3.4028234663852886e38)) {
        return DC_ERR_OPTION;
    }
    *value = (float)v; /* written from a float32: exact */
    return DC_OK;
}
