/* dc_model_options.c: typed look-up of one option in a node's CBOR options map (bounded reads). */
#include <string.h>

#include "dc_model_internal.h"

/* Option names, indexed by dc_option_t: format 2's keys (format 3 writes the index). */
static const char *const option_names[DC_OPTION_COUNT] = {
    "act_max", "act_min", "activation", "axes", "axis", "beta", "depth_multiplier", "dilation_h",
    "dilation_w", "filter_h", "filter_w", "keep_dims", "keep_num_dims", "lut", "new_shape", "padding",
    "paddings", "rounding", "stride_h", "stride_w",
};

void dc_model_options_at(const dc_model_t *m, uint32_t position, dc_model_options_t *o)
{
    (void)dc_container_metadata(&m->container, &o->reader); /* the loaded model's container: DC_OK */
    o->reader.position = position;
}

/* Positions `r` at the value of `option`; DC_ERR_OPTION when absent (also DC_ERR_OPTION for a malformed
 * map, which the container check has excluded). Unknown option keys are skipped. */
static dc_status_t find(const dc_model_options_t *o, dc_option_t option, dc_cbor_reader_t *r)
{
    *r = o->reader;
    return dc_cbor_find_code(r, option_names, DC_OPTION_COUNT, (unsigned)option) == DC_OK ? DC_OK : DC_ERR_OPTION;
}

dc_status_t dc_model_option_int(const dc_model_options_t *o, dc_option_t option, int64_t low, int64_t high,
                                int32_t *value)
{
    dc_cbor_reader_t r;
    int64_t v;
    if (find(o, option, &r) != DC_OK || dc_cbor_read_int(&r, &v) != DC_OK || v < low || v > high) {
        return DC_ERR_OPTION;
    }
    *value = (int32_t)v;
    return DC_OK;
}

dc_status_t dc_model_option_enum(const dc_model_options_t *o, dc_option_t option, const char *const *names,
                                 unsigned count, unsigned fallback, unsigned *value)
{
    dc_cbor_reader_t r;
    unsigned code;
    if (find(o, option, &r) != DC_OK) {
        *value = fallback; /* absent: the documented default (docs/bitstream.md section 4.1) */
        return DC_OK;
    }
    if (dc_cbor_read_code(&r, names, count, &code) != DC_OK || code >= count) {
        return DC_ERR_OPTION;
    }
    *value = code;
    return DC_OK;
}

dc_status_t dc_model_option_bool(const dc_model_options_t *o, dc_option_t option, int *value)
{
    dc_cbor_reader_t r;
    if (find(o, option, &r) != DC_OK || dc_cbor_read_bool(&r, value) != DC_OK) {
        return DC_ERR_OPTION;
    }
    return DC_OK;
}

dc_status_t dc_model_option_array(const dc_model_options_t *o, dc_option_t option, uint64_t *count,
                                  dc_cbor_reader_t *reader)
{
    if (find(o, option, reader) != DC_OK || dc_cbor_read_array(reader, count) != DC_OK) {
        return DC_ERR_OPTION;
    }
    return DC_OK;
}

dc_status_t dc_model_option_int_or(const dc_model_options_t *o, dc_option_t option, int32_t fallback, int64_t low,
                                   int64_t high, int32_t *value)
{
    dc_cbor_reader_t r;
    if (find(o, option, &r) != DC_OK) {
        *value = fallback; /* absent: the documented default (docs/bitstream.md section 4.1) */
        return DC_OK;
    }
    return dc_model_option_int(o, option, low, high, value);
}

dc_status_t dc_model_option_bytes(const dc_model_options_t *o, dc_option_t option, size_t length,
                                  const uint8_t **bytes)
{
    dc_cbor_reader_t r;
    size_t found;
    if (find(o, option, &r) != DC_OK || dc_cbor_read_bytes(&r, bytes, &found) != DC_OK || found != length) {
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

dc_status_t dc_model_option_float(const dc_model_options_t *o, dc_option_t option, float fallback, float *value)
{
    dc_cbor_reader_t r;
    double v;
    if (find(o, option, &r) != DC_OK) {
        *value = fallback;
        return DC_OK;
    }
    if (dc_cbor_read_float(&r, &v) != DC_OK || !(v >= -3.4028234663852886e38 && v <= 3.4028234663852886e38)) {
        return DC_ERR_OPTION;
    }
    *value = (float)v; /* written from a float32: exact */
    return DC_OK;
}
