/* dc_levels_params.c: parsing the payload header (docs/coder.md, "Payload"). */
#include "dc_levels.h"

/* Read a minimal unsigned LEB128 value <= 65535 (at most 3 bytes) at payload[*pos]. */
static dc_status_t read_leb128(const uint8_t *payload, size_t len, size_t *pos, uint32_t *value)
{
    uint32_t v = 0u;
    for (unsigned i = 0;; i++) {
        if (*pos >= len) {
            return DC_ERR_TRUNCATED;
        }
        uint8_t b = payload[(*pos)++];
        if (i == 2u && b > 3u) { /* 3 LEB128 bytes carry at most 2 + 7 + 7 bits here */
            return DC_ERR_PARAMS;
        }
        v |= (uint32_t)(b & 0x7Fu) << (7u * i);
        if ((b & 0x80u) == 0u) {
            if (b == 0u && i > 0u) { /* non-minimal encoding */
                return DC_ERR_PARAMS;
            }
            break;
        }
    }
    if (v > DC_LEVELS_MAX_STRIDE) {
        return DC_ERR_PARAMS;
    }
    *value = v;
    return DC_OK;
}

dc_status_t dc_levels_payload_params(const uint8_t *payload, size_t len, dc_levels_params_t *params,
                                     size_t *header_len)
{
    if (payload == NULL || params == NULL || header_len == NULL) {
        return DC_ERR_ARG;
    }
    if (len < 3u) {
        return DC_ERR_TRUNCATED;
    }
    uint8_t flags = payload[0];
    uint8_t shifts = payload[1];
    params->fast = 0u;
    if ((flags & 0x80u) != 0u) { /* the fast syntax (docs/coder.md section 10) */
        return dc_levels_fast_header(payload, len, params, header_len, NULL);
    }
    if ( ((flags >> 5) & 3u) == 3u) {
        return DC_ERR_PARAMS;
    }
    params->pred_mode = (uint8_t)(flags & 3u);
    params->dq_flag = (uint8_t)((flags >> 2) & 1u);
    params->sign_bypass = (uint8_t)((flags >> 3) & 1u);
    params->row_skip = (uint8_t)((flags >> 4) & 1u);
    params->rem_ctx = (uint8_t)((flags >> 5) & 3u);
    params->window = (uint8_t)((shifts & 7u) + 1u);
    params->start_base = (uint8_t)((shifts >> 3) & 15u);
    params->sig_skip = (uint8_t)(shifts >> 7);
    size_t pos = 2u;
    uint32_t stride = 0u;
    uint32_t row_len = 0u;
    dc_status_t st = read_leb128(payload, len, &pos, &stride);
    if (st == DC_OK && params->row_skip) {
        st = read_leb128(payload, len, &pos, &row_len);
    }
    if (st != DC_OK) {
        return st;
    }
    params->col_stride = (uint16_t)stride;
    params->row_len = (uint16_t)row_len;
    if (params->pred_mode == DC_PRED_UP && stride == 0u) {
        return DC_ERR_PARAMS;
    }
    if (params->dq_flag && (params->pred_mode != DC_PRED_NONE || params->row_skip)) {
        return DC_ERR_PARAMS;
    }
    if (params->row_skip && row_len == 0u) {
        return DC_ERR_PARAMS;
    }
    *header_len = pos;
    return DC_OK;
}
