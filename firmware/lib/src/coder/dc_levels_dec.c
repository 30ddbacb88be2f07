/* dc_levels_dec.c: the level decoder: binarization, context selection, prediction and DQ
 * reconstruction on top of the range decoder (docs/coder.md, "Decoding process"). */
#include "dc_levels.h"

/* The decoder state is what a device keeps in RAM: keep it under 1 KB. */
typedef char dc_levels_dec_size_check[(sizeof(dc_levels_dec_t) <= 1024u) ? 1 : -1];

static dc_status_t fail(dc_levels_dec_t *dec, dc_status_t status)
{
    dec->status = status;
    return status;
}

dc_status_t dc_levels_dec_init(dc_levels_dec_t *dec, const uint8_t *payload, size_t len, uint32_t count,
                               dc_levels_col_t *cols, uint32_t n_cols)
{
    if (dec == NULL) {
        return DC_ERR_ARG;
    }
    /* Field by field: a whole-struct clear would call memset, which a bare firmware lacks. */
    dec->ac.buf = NULL;
    dec->ac.len = 0u;
    dec->ac.pos = 0u;
    dec->ac.range = 0u;
    dec->ac.code = 0u;
    dec->nbr.mean_acc = 0u;
    dec->nbr.left_sign = 0u;
    dec->nbr.dq_state = 0u;
    dec->cols = NULL;
    dec->col = 0u;
    dec->last_level = 0;
    dec->remaining = 0u;
    dec->status = DC_OK;
    size_t header_len = 0;
    dc_status_t st = dc_levels_payload_params(payload, len, &dec->params, &header_len);
    if (st != DC_OK) {
        return fail(dec, st);
    }
    uint32_t stride = dec->params.col_stride;
    if (stride > 0u) {
        if (cols == NULL || n_cols < stride) {
            return fail(dec, DC_ERR_BUFFER);
        }
        for (uint32_t i = 0; i < stride; i++) {
            cols[i].prev = 0;
            cols[i].avg = 0u;
            cols[i].seen = 0u;
        }
        dec->cols = cols;
    }
    dec->remaining = count;
    if (count == 0u) {
        return fail(dec, len == header_len ? DC_OK : DC_ERR_TRAILING);
    }
    if (len - header_len > UINT32_MAX - 8u) {
        return fail(dec, DC_ERR_ARG);
    }
    dc_cabac_ctx_init(dec->ctx, dec->count, DC_LEVELS_NUM_CTX);
    st = dc_cabac_dec_init(&dec->ac, payload + header_len, (uint32_t)(len - header_len));
    return fail(dec, st);
}

uint32_t dc_levels_remaining(const dc_levels_dec_t *dec)
{
    return dec == NULL ? 0u : dec->remaining;
}

dc_status_t dc_levels_read(dc_levels_dec_t *dec, int32_t *out, uint32_t n, const int32_t *base)
{
    if (dec == NULL) {
        return DC_ERR_ARG;
    }
    if (dec->status != DC_OK) {
        return (dc_status_t)dec->status;
    }
    if (n == 0u) {
        return DC_OK;
    }
    if (out == NULL || n > dec->remaining) {
        return DC_ERR_ARG;
    }
    const dc_levels_params_t prm = dec->params;
    if (prm.pred_mode == DC_PRED_BASE) {
        if (base == NULL) {
            return DC_ERR_BASE;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (base[i] < -DC_LEVELS_MAX_ABS || base[i] > DC_LEVELS_MAX_ABS) {
                return DC_ERR_ARG;
            }
        }
    }
    const unsigned sf = prm.shift_fast;
    const unsigned ss = prm.shift_slow;
    const uint32_t stride = prm.col_stride;
    dc_cabac_dec_t acl = dec->ac; /* a local copy the compiler can keep in registers */
    dc_cabac_dec_t *ac = &acl;
    dc_cabac_ctx_t *ctx = dec->ctx;
    uint8_t *cnt = dec->count;
    dc_levels_nbr_t nbr = dec->nbr;
    int32_t last = dec->last_level;
    uint32_t colno = dec->col;

    for (uint32_t i = 0; i < n; i++) {
        dc_levels_col_t *col = stride ? &dec->cols[colno] : NULL;
        unsigned rc = dc_levels_row_class(nbr.mean_acc);
        unsigned cc = dc_levels_col_class(col);
        int32_t v = 0;
        unsigned c = dc_levels_ctx_sig(nbr.dq_state & 1u, cc, rc);
        if (dc_cabac_decode_bin(ac, &ctx[c], &cnt[c], sf, ss)) { /* sig_flag */
            c = dc_levels_ctx_sign(col, nbr.left_sign);
            unsigned neg = dc_cabac_decode_bin(ac, &ctx[c], &cnt[c], sf, ss); /* sign_flag */
            uint32_t a = 1u;
            c = dc_levels_ctx_gt1(cc, rc);
            if (dc_cabac_decode_bin(ac, &ctx[c], &cnt[c], sf, ss)) { /* abs_level_greater_x[0] */
                unsigned k = prm.rice_flag ? dc_levels_rice_k(nbr.mean_acc) : 0u;
                unsigned pre = 0u;
                uint32_t r = 0u;
                for (;;) { /* abs_level_greater_x2: Exp-Golomb prefix */
                    c = dc_levels_ctx_x2(k, pre);
                    if (!dc_cabac_decode_bin(ac, &ctx[c], &cnt[c], sf, ss)) {
                        break;
                    }
                    r += 1u << pre;
                    if (++pre > DC_LEVELS_MAX_PREFIX) {
                        goto corrupt;
                    }
                }
                if (pre > 0u) { /* abs_remainder: pre suffix bits, the top two context coded */
                    unsigned node = 1u;
                    unsigned top = pre < DC_LEVELS_REM_CTX_BITS ? pre : DC_LEVELS_REM_CTX_BITS;
                    uint32_t s = 0u;
                    for (unsigned j = 0; j < top; j++) {
                        c = dc_levels_ctx_rem(pre, node);
                        unsigned b = dc_cabac_decode_bin(ac, &ctx[c], &cnt[c], sf, ss);
                        node = 2u * node + b;
                        s = 2u * s + b;
                    }
                    if (pre > top) {
                        s = (s << (pre - top)) | dc_cabac_decode_bypass(ac, pre - top);
                    }
                    r += s;
                }
                if (k > 0u) { /* Rice low bits */
                    r = (r << k) | dc_cabac_decode_bypass(ac, k);
                }
                a = r + 2u;
                if (a > DC_LEVELS_MAX_CODED) {
                    goto corrupt;
                }
            }
            v = neg ? -(int32_t)a : (int32_t)a;
        }
        int32_t level;
        if (prm.dq_flag) {
            level = dc_dq_level(v, nbr.dq_state);
            nbr.dq_state = dc_dq_next_state[2u * nbr.dq_state + ((uint32_t)v & 1u)];
        } else {
            int32_t pred = 0;
            if (prm.pred_mode == DC_PRED_LEFT) {
                pred = last;
            } else if (prm.pred_mode == DC_PRED_UP) {
                pred = col->seen ? col->prev : 0;
            } else if (prm.pred_mode == DC_PRED_BASE) {
                pred = base[i];
            }
            level = pred + v;
        }
        if (level < -DC_LEVELS_MAX_ABS || level > DC_LEVELS_MAX_ABS) {
            goto corrupt;
        }
        out[i] = level;
        last = level;
        dc_levels_nbr_update(&nbr, v);
        if (col != NULL) {
            dc_levels_col_update(col, level, v);
            if (++colno == stride) {
                colno = 0u;
            }
        }
        if (dc_cabac_overrun(ac)) {
            return fail(dec, DC_ERR_TRUNCATED);
        }
    }
    dec->ac = acl;
    dec->nbr = nbr;
    dec->last_level = last;
    dec->col = colno;
    dec->remaining -= n;
    if (dec->remaining == 0u) {
        return fail(dec, dc_cabac_dec_finish(ac));
    }
    return DC_OK;
corrupt:
    return fail(dec, DC_ERR_CORRUPT);
}
