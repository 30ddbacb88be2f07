/* dc_levels_params.c: parsing the payload header (docs/coder.md, "Payload header"). */
#include "dc_levels.h"

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
    if ((flags & 0xF0u) != 0u) {
        return DC_ERR_PARAMS;
    }
    params->pred_mode = (uint8_t)(flags & 3u);
    params->dq_flag = (uint8_t)((flags >> 2) & 1u);
    params->rice_flag = (uint8_t)((flags >> 3) & 1u);
    params->shift_fast = (uint8_t)(shifts & 15u);
    params->shift_slow = (uint8_t)(shifts >> 4);
    uint32_t stride = 0u;
    size_t pos = 2u;
    for (unsigned i = 0;; i++) {
        if (pos >= len) {
            return DC_ERR_TRUNCATED;
        }
        uint8_t b = payload[pos++];
        if (i == 2u && b > 3u) { /* 3 LEB128 bytes carry at most 2 + 7 + 7 bits here */
            return DC_ERR_PARAMS;
        }
        stride |= (uint32_t)(b & 0x7Fu) << (7u * i);
        if ((b & 0x80u) == 0u) {
            if (b == 0u && i > 0u) { /* non-minimal encoding */
                return DC_ERR_PARAMS;
            }
            break;
        }
    }
    if (stride > DC_LEVELS_MAX_STRIDE) {
        return DC_ERR_PARAMS;
    }
    params->col_stride = (uint16_t)stride;
    if (params->shift_fast < 1u || params->shift_slow < params->shift_fast) {
        return DC_ERR_PARAMS;
    }
    if (params->pred_mode == DC_PRED_UP && stride == 0u) {
        return DC_ERR_PARAMS;
    }
    if (params->dq_flag && params->pred_mode != DC_PRED_NONE) {
        return DC_ERR_PARAMS;
    }
    *header_len = pos;
    return DC_OK;
}
