/* dc_levels_enc.c: level encoder and parameter search (docs/coder.md, "Encoding" and "Decoding process"). */
#include "dc_levels_enc.h"

#include <stdlib.h>
#include <string.h>

#include "dc_cabac_enc.h"
#include "dc_levels_ctx.h"

dc_status_t dc_levels_check_params(const dc_levels_params_t *p)
{
    if (p->pred_mode > DC_PRED_BASE || p->dq_flag > 1u || p->rice_flag > 1u || p->shift_fast < 1u ||
        p->shift_slow < p->shift_fast || p->shift_slow > 15u) {
        return DC_ERR_PARAMS;
    }
    if ((p->pred_mode == DC_PRED_UP && p->col_stride == 0u) || (p->dq_flag && p->pred_mode != DC_PRED_NONE)) {
        return DC_ERR_PARAMS;
    }
    return DC_OK;
}

size_t dc_levels_write_header(const dc_levels_params_t *p, uint8_t *out)
{
    size_t n = 0;
    out[n++] = (uint8_t)(p->pred_mode | (p->dq_flag << 2) | (p->rice_flag << 3));
    out[n++] = (uint8_t)(p->shift_fast | (p->shift_slow << 4));
    uint32_t s = p->col_stride;
    do {
        uint8_t b = (uint8_t)(s & 0x7Fu);
        s >>= 7;
        out[n++] = (uint8_t)(b | (s ? 0x80u : 0u));
    } while (s);
    return n;
}

typedef struct {
    dc_cabac_enc_t ac;
    dc_cabac_ctx_t ctx[DC_LEVELS_NUM_CTX];
    uint8_t count[DC_LEVELS_NUM_CTX];
} level_coder_t;

/* Code levels[0..count-1] through lc->ac (writing or costing). The one encoding loop. */
static dc_status_t code_levels(level_coder_t *lc, const int32_t *levels, uint32_t count, const int32_t *base,
                               const dc_levels_params_t *prm)
{
    const unsigned sf = prm->shift_fast;
    const unsigned ss = prm->shift_slow;
    const uint32_t stride = prm->col_stride;
    dc_levels_col_t *cols = NULL;
    if (stride > 0u) {
        cols = calloc(stride, sizeof(*cols));
        if (cols == NULL) {
            return DC_ERR_INTERNAL;
        }
    }
    dc_cabac_enc_t *ac = &lc->ac;
    dc_cabac_ctx_t *ctx = lc->ctx;
    uint8_t *cnt = lc->count;
    dc_cabac_ctx_init(ctx, cnt, DC_LEVELS_NUM_CTX);
    dc_levels_nbr_t nbr = {0u, 0u, 0u};
    int32_t last = 0;
    uint32_t colno = 0;
    dc_status_t st = DC_OK;

    for (uint32_t i = 0; i < count; i++) {
        dc_levels_col_t *col = stride ? &cols[colno] : NULL;
        int32_t level = levels[i];
        if (level < -DC_LEVELS_MAX_ABS || level > DC_LEVELS_MAX_ABS) {
            st = DC_ERR_ARG;
            break;
        }
        int32_t v;
        if (prm->dq_flag) {
            unsigned odd = nbr.dq_state & 1u;
            if (level == 0) {
                v = 0;
            } else if (((uint32_t)level & 1u) != odd) {
                st = DC_ERR_ARG; /* not a reconstruction level of this DQ state */
                break;
            } else {
                v = level > 0 ? (level + (int32_t)odd) / 2 : (level - (int32_t)odd) / 2;
            }
        } else {
            int32_t pred = 0;
            if (prm->pred_mode == DC_PRED_LEFT) {
                pred = last;
            } else if (prm->pred_mode == DC_PRED_UP) {
                pred = col->seen ? col->prev : 0;
            } else if (prm->pred_mode == DC_PRED_BASE) {
                pred = base[i];
                if (pred < -DC_LEVELS_MAX_ABS || pred > DC_LEVELS_MAX_ABS) {
                    st = DC_ERR_ARG;
                    break;
                }
            }
            v = level - pred;
        }
        unsigned rc = dc_levels_row_class(nbr.mean_acc);
        unsigned cc = dc_levels_col_class(col);
        unsigned c = dc_levels_ctx_sig(nbr.dq_state & 1u, cc, rc);
        dc_cabac_encode_bin(ac, &ctx[c], &cnt[c], v != 0, sf, ss); /* sig_flag */
        if (v != 0) {
            uint32_t a = (uint32_t)(v < 0 ? -v : v);
            c = dc_levels_ctx_sign(col, nbr.left_sign);
            dc_cabac_encode_bin(ac, &ctx[c], &cnt[c], v < 0, sf, ss); /* sign_flag */
            c = dc_levels_ctx_gt1(cc, rc);
            dc_cabac_encode_bin(ac, &ctx[c], &cnt[c], a > 1u, sf, ss); /* abs_level_greater_x[0] */
            if (a > 1u) {
                unsigned k = prm->rice_flag ? dc_levels_rice_k(nbr.mean_acc) : 0u;
                uint32_t rem = a - 2u;
                uint32_t r = rem >> k;
                unsigned pre = 0u;
                while (r >= (1u << pre)) { /* abs_level_greater_x2 */
                    c = dc_levels_ctx_x2(k, pre);
                    dc_cabac_encode_bin(ac, &ctx[c], &cnt[c], 1u, sf, ss);
                    r -= 1u << pre;
                    pre++;
                }
                c = dc_levels_ctx_x2(k, pre);
                dc_cabac_encode_bin(ac, &ctx[c], &cnt[c], 0u, sf, ss);
                if (pre > 0u) { /* abs_remainder */
                    unsigned node = 1u;
                    unsigned top = pre < DC_LEVELS_REM_CTX_BITS ? pre : DC_LEVELS_REM_CTX_BITS;
                    for (unsigned j = 0; j < top; j++) {
                        unsigned b = (r >> (pre - 1u - j)) & 1u;
                        c = dc_levels_ctx_rem(pre, node);
                        dc_cabac_encode_bin(ac, &ctx[c], &cnt[c], b, sf, ss);
                        node = 2u * node + b;
                    }
                    dc_cabac_encode_bypass(ac, r, pre - top);
                }
                dc_cabac_encode_bypass(ac, rem, k);
            }
        }
        if (prm->dq_flag) {
            nbr.dq_state = dc_dq_next_state[2u * nbr.dq_state + ((uint32_t)v & 1u)];
        }
        last = level;
        dc_levels_nbr_update(&nbr, v);
        if (col != NULL) {
            dc_levels_col_update(col, level, v);
            if (++colno == stride) {
                colno = 0u;
            }
        }
    }
    free(cols);
    return st;
}

dc_status_t dc_levels_encode(const int32_t *levels, uint32_t count, const int32_t *base,
                             const dc_levels_params_t *params, uint8_t *out, size_t cap, size_t *out_len)
{
    if ((levels == NULL && count > 0u) || params == NULL || out == NULL || out_len == NULL) {
        return DC_ERR_ARG;
    }
    *out_len = 0;
    if (dc_levels_check_params(params) != DC_OK) {
        return DC_ERR_ARG;
    }
    if (params->pred_mode == DC_PRED_BASE && base == NULL && count > 0u) {
        return DC_ERR_ARG;
    }
    if (cap < DC_LEVELS_MAX_HEADER) {
        return DC_ERR_BUFFER;
    }
    size_t header = dc_levels_write_header(params, out);
    if (count == 0u) {
        *out_len = header;
        return DC_OK;
    }
    level_coder_t *lc = malloc(sizeof(*lc));
    if (lc == NULL) {
        return DC_ERR_INTERNAL;
    }
    dc_cabac_enc_init(&lc->ac, out + header, cap - header, 0);
    dc_status_t st = code_levels(lc, levels, count, base, params);
    if (st == DC_OK) {
        st = dc_cabac_enc_finish(&lc->ac);
    }
    if (st == DC_OK) {
        *out_len = header + lc->ac.pos;
    }
    free(lc);
    return st;
}

dc_status_t dc_levels_cost(const int32_t *levels, uint32_t count, const int32_t *base,
                           const dc_levels_params_t *params, uint64_t *cost)
{
    if ((levels == NULL && count > 0u) || params == NULL || cost == NULL) {
        return DC_ERR_ARG;
    }
    if (dc_levels_check_params(params) != DC_OK ||
        (params->pred_mode == DC_PRED_BASE && base == NULL && count > 0u)) {
        return DC_ERR_ARG;
    }
    level_coder_t *lc = malloc(sizeof(*lc));
    if (lc == NULL) {
        return DC_ERR_INTERNAL;
    }
    dc_cabac_enc_init(&lc->ac, NULL, 0, 1);
    dc_status_t st = code_levels(lc, levels, count, base, params);
    if (st == DC_OK) {
        st = dc_cabac_enc_finish(&lc->ac);
        uint32_t stride = params->col_stride;
        uint32_t header_bits = 8u * (2u + (stride >= 128u) + (stride >= 16384u));
        *cost = lc->ac.cost + 256u * header_bits;
    }
    free(lc);
    return st;
}

/* Try *cand; keep it in *best if cheaper. */
static dc_status_t try_params(const int32_t *levels, uint32_t n, const int32_t *base, const dc_levels_params_t *cand,
                              dc_levels_params_t *best, uint64_t *best_cost)
{
    uint64_t cost = 0;
    dc_status_t st = dc_levels_cost(levels, n, base, cand, &cost);
    if (st == DC_OK && cost < *best_cost) {
        *best_cost = cost;
        *best = *cand;
    }
    return st;
}

dc_status_t dc_levels_choose(const int32_t *levels, uint32_t count, const int32_t *base, int dq_flag,
                             uint32_t kernel_len, uint32_t row_len, uint32_t max_trial,
                             dc_levels_params_t *best)
{
    if ((levels == NULL && count > 0u) || best == NULL) {
        return DC_ERR_ARG;
    }
    uint32_t n = (max_trial > 0u && count > max_trial) ? max_trial : count;
    dc_levels_params_t cand = {DC_PRED_NONE, (uint8_t)(dq_flag ? 1u : 0u), 0u, 5u, 8u, 0u};
    *best = cand;
    if (count == 0u) {
        return DC_OK;
    }
    uint64_t best_cost = UINT64_MAX;
    uint32_t strides[3] = {0u, 0u, 0u};
    unsigned n_strides = 1;
    if (kernel_len > 1u && kernel_len < count && kernel_len <= DC_LEVELS_MAX_STRIDE) {
        strides[n_strides++] = kernel_len;
    }
    if (row_len > 1u && row_len < count && row_len != kernel_len && row_len <= DC_LEVELS_MAX_STRIDE) {
        strides[n_strides++] = row_len;
    }
    dc_status_t st;
    /* Stage 1: column period and Rice split, no prediction. */
    for (unsigned s = 0; s < n_strides; s++) {
        for (uint8_t rice = 0; rice <= 1u; rice++) {
            cand.col_stride = (uint16_t)strides[s];
            cand.rice_flag = rice;
            if ((st = try_params(levels, n, base, &cand, best, &best_cost)) != DC_OK) {
                return st;
            }
        }
    }
    /* Stage 2: prediction (not with DQ). */
    if (!dq_flag) {
        dc_levels_params_t stage = *best;
        cand = stage;
        cand.pred_mode = DC_PRED_LEFT;
        if ((st = try_params(levels, n, base, &cand, best, &best_cost)) != DC_OK) {
            return st;
        }
        for (unsigned s = 1; s < n_strides; s++) {
            cand = stage;
            cand.pred_mode = DC_PRED_UP;
            cand.col_stride = (uint16_t)strides[s];
            if ((st = try_params(levels, n, base, &cand, best, &best_cost)) != DC_OK) {
                return st;
            }
        }
        if (base != NULL) {
            for (uint8_t rice = 0; rice <= 1u; rice++) {
                cand = stage;
                cand.pred_mode = DC_PRED_BASE;
                cand.rice_flag = rice;
                if ((st = try_params(levels, n, base, &cand, best, &best_cost)) != DC_OK) {
                    return st;
                }
            }
        }
    }
    /* Stage 3: adaptation windows. */
    static const uint8_t windows[][2] = {{4u, 7u}, {5u, 7u}, {4u, 8u}};
    dc_levels_params_t stage = *best;
    for (unsigned w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
        cand = stage;
        cand.shift_fast = windows[w][0];
        cand.shift_slow = windows[w][1];
        if ((st = try_params(levels, n, base, &cand, best, &best_cost)) != DC_OK) {
            return st;
        }
    }
    return DC_OK;
}
