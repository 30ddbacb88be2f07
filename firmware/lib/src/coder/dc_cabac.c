/* dc_cabac.c: set-up and termination check of the range decoder (docs/coder.md, "Arithmetic decoder"). */
#include "dc_cabac.h"

#include <stddef.h>

void dc_cabac_ctx_init(dc_cabac_prob_t *prob, dc_cabac_state_t *state, uint32_t n, unsigned window)
{
    for (uint32_t i = 0; i < n; i++) {
        prob[i] = (dc_cabac_prob_t)DC_CABAC_PROB_INIT;
        state[i] = (dc_cabac_state_t)(2u * window - 1u);
    }
}

void dc_cabac_adapt_table(uint16_t *adapt, unsigned window)
{
    for (unsigned s = 0; s < DC_CABAC_STATES; s++) {
        unsigned half = s / 2u;
        unsigned shift = half < window ? window - half : 1u;
        adapt[s] = (uint16_t)(shift | ((s > 0u ? s - 1u : 0u) << 8));
    }
}

dc_status_t dc_cabac_dec_init(dc_cabac_dec_t *dec, const uint8_t *buf, uint32_t len)
{
    if (dec == NULL || (buf == NULL && len > 0u) || len > UINT32_MAX - 8u) {
        return DC_ERR_ARG;
    }
    dec->buf = buf;
    dec->len = len;
    dec->pos = 0u;
    dec->range = 0xFFFFFFFFu;
    dec->code = 0u;
    for (int i = 0; i < 4; i++) {
        dec->code = (dec->code << 8) | dc_cabac_byte(buf, len, &dec->pos);
    }
    if (dec->code >= dec->range) {
        return DC_ERR_CORRUPT;
    }
    return DC_OK;
}

dc_status_t dc_cabac_dec_finish(const dc_cabac_dec_t *dec)
{
    if (dec->code >= dec->range) {
        return DC_ERR_CORRUPT;
    }
    if (dec->pos > dec->len + DC_CABAC_VIRTUAL) {
        return DC_ERR_TRUNCATED;
    }
    if (dec->pos < dec->len + DC_CABAC_VIRTUAL) {
        return DC_ERR_TRAILING;
    }
    return DC_OK;
}
