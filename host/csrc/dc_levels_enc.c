/* dc_levels_enc.c: level encoder and parameter search (docs/coder.md, "Decoding one level" and
 * "Encoder parameter choice"). */
#include "dc_levels_enc.h"

#include <stdlib.h>
#include <string.h>

#include "dc_cabac_enc.h"
#include "dc_levels_ctx.h"

dc_status_t dc_levels_check_params(const dc_levels_params_t *p)
{
    if (p->pred_mode > DC_PRED_BASE || p->dq_flag > 1u || p->sign_bypass > 1u || p->row_skip > 1u ||
        p->rem_ctx > 2u || p->sig_skip > 1u || p->window < 1u || p->window > DC_CABAC_MAX_WINDOW ||
        p->start_base > 15u || p->fast != 0u) { /* the fast syntax has its own encoder */
        return DC_ERR_PARAMS;
    }
    if ((p->pred_mode == DC_PRED_UP && p->col_stride == 0u) ||
        (p->dq_flag && (p->pred_mode != DC_PRED_NONE || p->row_skip)) || (p->row_skip && p->row_len == 0u) ||
        (!p->row_skip && p->row_len != 0u)) {
        return DC_ERR_PARAMS;
    }
    return DC_OK;
}

size_t dc_levels_write_header(const dc_levels_params_t *p, uint8_t *out)
{
    size_t n = 0;
    out[n++] = (uint8_t)(p->pred_mode | (p->dq_flag << 2) | (p->sign_bypass << 3) | (p->row_skip << 4) |
                         (p->rem_ctx << 5));
    out[n++] = (uint8_t)((p->window - 1u) | (p->start_base << 3) | (p->sig_skip << 7));
    for (unsigned f = 0; f < (p->row_skip ? 2u : 1u); f++) {
        uint32_t s = f ? p->row_len : p->col_stride;
        do {
            uint8_t b = (uint8_t)(s & 0x7Fu);
            s >>= 7;
            out[n++] = (uint8_t)(b | (s ? 0x80u : 0u));
        } while (s);
    }
    return n;
}

static size_t header_bytes(const dc_levels_params_t *p)
{
    size_t n = 3u + (p->col_stride >= 128u) + (p->col_stride >= 16384u);
    if (p->row_skip) {
        n += 1u + (p->row_len >= 128u) + (p->row_len >= 16384u);
    }
    return n;
}

typedef struct {
    dc_cabac_enc_t ac;
    dc_cabac_prob_t prob[DC_LEVELS_NUM_CTX];
    dc_cabac_state_t state[DC_LEVELS_NUM_CTX];
    /* cost-only mode: what the context-coded sign and suffix bins cost (bits * 256) and how
     * many there were, for the decision to send them as bypass bins instead */
    uint64_t sign_cost, rem1_cost, rem2_cost;
    uint32_t sign_bins, rem1_bins, rem2_bins;
    /* cost-only mode: how often bucket L followed floor(log2(mean_acc | 1)) = m, [m][L], to
     * choose the start base that needs the fewest prefix bins */
    uint32_t bucket_hist[32][DC_LEVELS_MAX_BUCKET + 1u];
    uint32_t wide_levels, wide_zeros; /* values coded at row class 7, and how many were 0 */
    /* cost-only mode: a second probability model with window alt_window (0: none) runs beside
     * the first on the same bins, so one pass costs two windows */
    unsigned alt_window;
    uint64_t alt_cost;
    dc_cabac_prob_t alt_prob[DC_LEVELS_NUM_CTX];
    dc_cabac_state_t alt_state[DC_LEVELS_NUM_CTX];
} level_coder_t;

/* Cost `bin` in the second model (alt_window) too. */
static inline void alt_bin(level_coder_t *lc, const uint16_t *alt_adapt, unsigned c, unsigned bin)
{
    uint32_t p = lc->alt_prob[c];
    unsigned a = alt_adapt[lc->alt_state[c]];
    lc->alt_state[c] = (dc_cabac_state_t)(a >> 8);
    lc->alt_prob[c] = (dc_cabac_prob_t)dc_cabac_adapt(p, bin, a & 0xFFu);
    lc->alt_cost += dc_cabac_cost_table[(bin ? DC_CABAC_PROB_ONE - p : p) >> 4];
}

/* The coded value of `level` at position i given the prediction state; DC_ERR_ARG if the level
 * is out of range or not reachable in DQ. */
static inline dc_status_t coded_value(const dc_levels_params_t *prm, int32_t level, unsigned dqs, int32_t last,
                                      const dc_levels_col_t *col, const int32_t *base, uint32_t i, int32_t *v)
{
    if (level < -DC_LEVELS_MAX_ABS || level > DC_LEVELS_MAX_ABS) {
        return DC_ERR_ARG;
    }
    if (prm->dq_flag) {
        unsigned odd = dqs & 1u;
        if (level == 0) {
            *v = 0;
        } else if (((uint32_t)level & 1u) != odd) {
            return DC_ERR_ARG; /* not a reconstruction level of this DQ state */
        } else {
            *v = level > 0 ? (level + (int32_t)odd) / 2 : (level - (int32_t)odd) / 2;
        }
        return DC_OK;
    }
    int32_t pred = 0;
    if (prm->pred_mode == DC_PRED_LEFT) {
        pred = last;
    } else if (prm->pred_mode == DC_PRED_UP) {
        pred = col->prev;
    } else if (prm->pred_mode == DC_PRED_BASE) {
        pred = base[i];
        if (pred < -DC_LEVELS_MAX_ABS || pred > DC_LEVELS_MAX_ABS) {
            return DC_ERR_ARG;
        }
    }
    *v = level - pred;
    return DC_OK;
}

/* 1 when every level of [i, end) equals its prediction (a row the decoder can skip). */
static int row_is_predicted(const dc_levels_params_t *prm, const int32_t *levels, uint32_t i, uint32_t end,
                            int32_t last, const dc_levels_col_t *cols, uint32_t colno, const int32_t *base)
{
    for (; i < end; i++) {
        int32_t pred = 0;
        if (prm->pred_mode == DC_PRED_LEFT) {
            pred = last;
        } else if (prm->pred_mode == DC_PRED_UP) {
            pred = cols[colno].prev;
            if (++colno == prm->col_stride) {
                colno = 0u;
            }
        } else if (prm->pred_mode == DC_PRED_BASE) {
            pred = base[i];
        }
        if (levels[i] != pred) {
            return 0;
        }
    }
    return 1;
}

/* Code levels[0..count-1] through lc->ac (writing or, with cost_only, costing). The one
 * encoding loop; `cols` holds col_stride zeroed records when col_stride > 0. */
static inline dc_status_t code_levels(level_coder_t *lc, const int32_t *levels, uint32_t count, const int32_t *base,
                                      const dc_levels_params_t *prm, dc_levels_col_t *cols, const int cost_only)
{
    static const dc_levels_col_t no_column = {0, 0u, 0u};
    const uint32_t stride = prm->col_stride;
    const unsigned sign_bypass = prm->sign_bypass;
    const unsigned rem_ctx = prm->rem_ctx;
    /* A local copy of the coder: no store to the (char-typed) context states can alias it. */
    dc_cabac_enc_t enc = lc->ac;
    dc_cabac_enc_t *ac = &enc;
    dc_cabac_prob_t *prob = lc->prob;
    dc_cabac_state_t *state = lc->state;
    dc_cabac_ctx_init(prob, state, DC_LEVELS_NUM_CTX, prm->window);
    if (cost_only) {
        memset(lc->bucket_hist, 0, sizeof(lc->bucket_hist));
        lc->wide_levels = 0u;
        lc->wide_zeros = 0u;
    }
    uint16_t adapt[DC_CABAC_STATES];
    dc_cabac_adapt_table(adapt, prm->window);
    uint16_t alt_adapt[DC_CABAC_STATES];
    const int alt = cost_only && lc->alt_window != 0u;
    if (alt) {
        dc_cabac_ctx_init(lc->alt_prob, lc->alt_state, DC_LEVELS_NUM_CTX, lc->alt_window);
        dc_cabac_adapt_table(alt_adapt, lc->alt_window);
        lc->alt_cost = 0u;
    }
#define ENC_BIN(c, bin)                                                                          \
    do {                                                                                         \
        unsigned c__ = (c), b__ = (bin);                                                         \
        dc_cabac_encode_bin(ac, prob, state, adapt, c__, b__, cost_only);                        \
        if (alt) {                                                                               \
            alt_bin(lc, alt_adapt, c__, b__);                                                    \
        }                                                                                        \
    } while (0)
    uint8_t classes[32];
    for (unsigned z = 0; z < 32u; z++) {
        classes[z] = dc_levels_class_entry(31u - z, prm->start_base);
    }
    uint32_t mean = 0u;
    unsigned left = 0u;
    unsigned dqs = 0u;
    int32_t last = 0;
    uint32_t colno = 0;
    unsigned row_zero = 0u;
    uint32_t row_end = 0u;
    uint64_t c0;
    uint64_t sign_cost = 0u, rem1_cost = 0u, rem2_cost = 0u;
    uint32_t sign_bins = 0u, rem1_bins = 0u, rem2_bins = 0u;

    for (uint32_t i = 0; i < count; i++) {
        if (prm->row_skip && i == row_end) { /* row_zero_flag */
            row_end = count - i > prm->row_len ? i + prm->row_len : count;
            unsigned z = row_is_predicted(prm, levels, i, row_end, last, cols, colno, base);
            ENC_BIN(DC_LEVELS_CTX_ROW + row_zero, z);
            row_zero = z;
            if (z) {
                uint32_t m = row_end - i;
                for (; i < row_end; i++) { /* only the range checks and the column cursor */
                    if (levels[i] < -DC_LEVELS_MAX_ABS || levels[i] > DC_LEVELS_MAX_ABS) {
                        return DC_ERR_ARG;
                    }
                }
                if (stride) {
                    colno = (uint32_t)(((uint64_t)colno + m) % stride);
                }
                i--;
                continue;
            }
        }
        const dc_levels_col_t *col = stride ? &cols[colno] : &no_column;
        int32_t level = levels[i];
        int32_t v;
        dc_status_t st = coded_value(prm, level, dqs, last, col, base, i, &v);
        if (st != DC_OK) {
            return st;
        }
        uint32_t a = (uint32_t)(v < 0 ? -v : v);
        unsigned neg = v < 0;
        unsigned cls = classes[__builtin_clz(mean | 1u)];
        unsigned rc = cls & 7u;
        unsigned cc = col->cls;
        const unsigned off = prm->sig_skip && rc == DC_LEVELS_ROW_CLASSES - 1u;
        if (cost_only && rc == DC_LEVELS_ROW_CLASSES - 1u) {
            lc->wide_levels++;
            lc->wide_zeros += a == 0u;
        }
        if (!off) {
            ENC_BIN(dc_levels_ctx_sig(dqs & 1u, cc, rc), a != 0u);
        }
        if (a != 0u || off) {
            unsigned sign_ctx = dc_levels_ctx_sign(dc_levels_sign_class(col->prev), left);
            if (!sign_bypass && !off) {
                c0 = ac->cost;
                ENC_BIN(sign_ctx, neg);
                sign_cost += ac->cost - c0;
                sign_bins++;
            }
            /* bucket L = floor(log2 max(a, 1)), coded from the start bucket k */
            unsigned k = cls >> 3;
            uint32_t w = a ? a : 1u;
            unsigned bucket = 31u - (unsigned)__builtin_clz(w);
            if (cost_only) {
                lc->bucket_hist[dc_levels_log_mean(mean)][bucket]++;
            }
            unsigned xbase = dc_levels_ctx_x2(k);
            ENC_BIN(k ? xbase : dc_levels_ctx_gt1(cc, rc), bucket > k);
            if (bucket > k) { /* abs_level_greater_x2 */
                for (unsigned b = k + 1u; b < DC_LEVELS_MAX_BUCKET; b++) {
                    unsigned j = b - k;
                    ENC_BIN(xbase + (j < 7u ? j : 7u), bucket > b);
                    if (bucket == b) {
                        break;
                    }
                }
            } else if (k > 0u) { /* abs_level_less_x2 */
                unsigned dbase = dc_levels_ctx_down(k);
                for (unsigned b = k; b > 0u; b--) {
                    unsigned j = k - b;
                    ENC_BIN(dbase + (j < 3u ? j : 3u), bucket < b);
                    if (bucket == b) {
                        break;
                    }
                }
            }
            if (off && bucket == 0u) { /* sig_flag after all: a is 0 or 1 */
                ENC_BIN(dc_levels_ctx_sig(dqs & 1u, cc, rc), a != 0u);
                if (a == 0u) {
                    goto coded;
                }
            }
            if (!sign_bypass && off) {
                c0 = ac->cost;
                ENC_BIN(sign_ctx, neg);
                sign_cost += ac->cost - c0;
                sign_bins++;
            }
            /* abs_remainder: the bucket's L suffix bits, the top rem_ctx context coded */
            uint32_t t = w - (1u << bucket);
            unsigned nctx = bucket < rem_ctx ? bucket : rem_ctx;
            if (nctx > 0u) {
                unsigned rbase = dc_levels_ctx_rem(bucket);
                unsigned b1 = (t >> (bucket - 1u)) & 1u;
                c0 = ac->cost;
                ENC_BIN(rbase, b1);
                rem1_cost += ac->cost - c0;
                rem1_bins++;
                if (nctx > 1u) {
                    unsigned b2 = (t >> (bucket - 2u)) & 1u;
                    c0 = ac->cost;
                    ENC_BIN(rbase + 1u + b1, b2);
                    rem2_cost += ac->cost - c0;
                    rem2_bins++;
                }
            }
            unsigned rest = bucket - nctx;
            uint32_t g = t & ((1u << rest) - 1u);
            unsigned nb = rest + sign_bypass;
            if (sign_bypass) {
                g = (g << 1) | neg;
            }
            if (nb > 0u) {
                dc_cabac_encode_group(ac, g, nb, cost_only);
                if (alt) {
                    lc->alt_cost += 256u * nb;
                }
            }
        }
    coded:
        if (prm->dq_flag) {
            dqs = dc_dq_next_state[2u * dqs + (a & 1u)];
        }
        last = level;
        mean = dc_levels_mean_update(mean, a);
        left = a ? 1u + neg : 0u;
        if (stride) {
            dc_levels_col_update(&cols[colno], level, a);
            if (++colno == stride) {
                colno = 0u;
            }
        }
    }
#undef ENC_BIN
    lc->ac = enc;
    lc->sign_cost = sign_cost;
    lc->rem1_cost = rem1_cost;
    lc->rem2_cost = rem2_cost;
    lc->sign_bins = sign_bins;
    lc->rem1_bins = rem1_bins;
    lc->rem2_bins = rem2_bins;
    return DC_OK;
}

/* Run code_levels with a fresh column buffer. */
static dc_status_t run_levels(level_coder_t *lc, const int32_t *levels, uint32_t count, const int32_t *base,
                              const dc_levels_params_t *prm, int cost_only)
{
    dc_levels_col_t *cols = NULL;
    if (prm->col_stride > 0u) {
        cols = calloc(prm->col_stride, sizeof(*cols));
        if (cols == NULL) {
            return DC_ERR_INTERNAL;
        }
    }
    dc_status_t st = cost_only ? code_levels(lc, levels, count, base, prm, cols, 1)
                               : code_levels(lc, levels, count, base, prm, cols, 0);
    free(cols);
    return st;
}

static dc_status_t check_args(const int32_t *levels, uint32_t count, const int32_t *base,
                              const dc_levels_params_t *params)
{
    if ((levels == NULL && count > 0u) || params == NULL) {
        return DC_ERR_ARG;
    }
    if (dc_levels_check_params(params) != DC_OK) {
        return DC_ERR_ARG;
    }
    if (params->pred_mode == DC_PRED_BASE && base == NULL && count > 0u) {
        return DC_ERR_ARG;
    }
    return DC_OK;
}

dc_status_t dc_levels_encode(const int32_t *levels, uint32_t count, const int32_t *base,
                             const dc_levels_params_t *params, uint8_t *out, size_t cap, size_t *out_len)
{
    if (out == NULL || out_len == NULL) {
        return DC_ERR_ARG;
    }
    *out_len = 0;
    dc_status_t st = check_args(levels, count, base, params);
    if (st != DC_OK) {
        return st;
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
    st = run_levels(lc, levels, count, base, params, 0);
    if (st == DC_OK) {
        st = dc_cabac_enc_finish(&lc->ac);
    }
    if (st == DC_OK) {
        *out_len = header + lc->ac.pos;
    }
    free(lc);
    return st;
}

/* Cost of *params on levels[0..count-1] with lc's scratch; also reports the sign statistics. */
static dc_status_t cost_with(level_coder_t *lc, const int32_t *levels, uint32_t count, const int32_t *base,
                             const dc_levels_params_t *params, uint64_t *cost)
{
    dc_cabac_enc_init(&lc->ac, NULL, 0, 1);
    dc_status_t st = run_levels(lc, levels, count, base, params, 1);
    if (st == DC_OK) {
        st = dc_cabac_enc_finish(&lc->ac);
        *cost = lc->ac.cost + 256u * 8u * header_bytes(params);
    }
    return st;
}

dc_status_t dc_levels_cost(const int32_t *levels, uint32_t count, const int32_t *base,
                           const dc_levels_params_t *params, uint64_t *cost, uint64_t *work)
{
    if (cost == NULL) {
        return DC_ERR_ARG;
    }
    dc_status_t st = check_args(levels, count, base, params);
    if (st != DC_OK) {
        return st;
    }
    level_coder_t *lc = malloc(sizeof(*lc));
    if (lc == NULL) {
        return DC_ERR_INTERNAL;
    }
    st = cost_with(lc, levels, count, base, params, cost);
    if (st == DC_OK && work != NULL) {
        *work = lc->ac.work;
    }
    free(lc);
    return st;
}

/* --- Parameter search ---------------------------------------------------------------------- */

typedef struct {
    level_coder_t *lc;
    const int32_t *levels;
    uint32_t n; /* levels tried per candidate */
    const int32_t *base;
    dc_levels_params_t best;
    uint64_t best_cost;
    level_coder_t *stats; /* the statistics of the best candidate's trial */
} search_t;

/* Try *cand, and the same with window `alt_window` when that is not 0 (one pass costs both);
 * keep the cheapest. */
static dc_status_t try_params2(search_t *s, const dc_levels_params_t *cand, unsigned alt_window)
{
    uint64_t cost = 0;
    s->lc->alt_window = alt_window;
    dc_status_t st = cost_with(s->lc, s->levels, s->n, s->base, cand, &cost);
    s->lc->alt_window = 0u;
    if (st != DC_OK) {
        return st;
    }
    /* the statistics (sign, suffix, buckets) hardly depend on the window: keep them either way */
    uint64_t alt_cost = cost - s->lc->ac.cost + s->lc->alt_cost;
    if (alt_window != 0u && alt_cost < cost && alt_cost < s->best_cost) {
        s->best_cost = alt_cost;
        s->best = *cand;
        s->best.window = (uint8_t)alt_window;
        memcpy(s->stats, s->lc, sizeof(*s->lc));
    } else if (cost < s->best_cost) {
        s->best_cost = cost;
        s->best = *cand;
        memcpy(s->stats, s->lc, sizeof(*s->lc));
    }
    return st;
}

static dc_status_t try_params(search_t *s, const dc_levels_params_t *cand)
{
    return try_params2(s, cand, 0u);
}

/* Approximate Exp-Golomb bits of a residual: the prediction proxy. */
static inline uint32_t eg_bits(int32_t d)
{
    uint32_t a = (uint32_t)(d < 0 ? -d : d);
    return 2u * (31u - (uint32_t)__builtin_clz(a + 1u)) + (a != 0u);
}

/* Sum of eg_bits over the residuals of each prediction: [NONE, LEFT, UP]. */
static void prediction_proxy(const int32_t *levels, uint32_t n, uint32_t stride, uint64_t out[3])
{
    uint64_t none = 0, left = 0, up = 0;
    int32_t last = 0;
    for (uint32_t i = 0; i < n; i++) {
        int32_t l = levels[i];
        none += eg_bits(l);
        left += eg_bits(l - last);
        if (stride) {
            up += eg_bits(l - (i >= stride ? levels[i - stride] : 0));
        }
        last = l;
    }
    out[0] = none;
    out[1] = left;
    out[2] = stride ? up : UINT64_MAX;
}

/* 1 when some whole row of row_len levels is zero (row skipping may pay). */
static int has_zero_row(const int32_t *levels, uint32_t count, uint32_t row_len)
{
    for (uint32_t i = 0; i + row_len <= count; i += row_len) {
        uint32_t j = 0;
        while (j < row_len && levels[i + j] == 0) {
            j++;
        }
        if (j == row_len) {
            return 1;
        }
    }
    return 0;
}

/* Prefix bins of bucket L coded from start k (docs/coder.md section 4.3). */
static unsigned prefix_bins(unsigned bucket, unsigned k)
{
    if (bucket > k) {
        return 1u + (bucket - k) - (bucket == DC_LEVELS_MAX_BUCKET);
    }
    if (k == 0u) {
        return 1u;
    }
    return 1u + (k - bucket) + (bucket > 0u);
}

/* The start base (0..15) with the fewest prefix bins over hist[log mean][bucket]. */
static uint8_t fewest_prefix_bins(const uint32_t hist[32][DC_LEVELS_MAX_BUCKET + 1u])
{
    uint64_t best = UINT64_MAX;
    uint8_t best_base = 6u;
    for (unsigned base = 0; base <= 15u; base++) {
        uint64_t bins = 0;
        for (unsigned m = 0; m < 32u; m++) {
            unsigned k = dc_levels_start(m, base);
            for (unsigned b = 0; b <= DC_LEVELS_MAX_BUCKET; b++) {
                bins += (uint64_t)hist[m][b] * prefix_bins(b, k);
            }
        }
        if (bins < best) {
            best = bins;
            best_base = (uint8_t)base;
        }
    }
    return best_base;
}

/* A context-coded bin kind is sent as bypass bits when its contexts save less than
 * 1/BYPASS_GAIN of a bit per bin: a bypass bit costs the decoder next to nothing (it rides in
 * the level's one bypass group), a context-coded bin a full bin decode. */
#define BYPASS_GAIN 64u

static int not_worth_context(uint64_t cost, uint32_t bins)
{
    return bins == 0u || cost * BYPASS_GAIN + bins * 256ull >= (uint64_t)bins * 256u * BYPASS_GAIN;
}

dc_status_t dc_levels_choose(const int32_t *levels, uint32_t count, const int32_t *base, int dq_flag,
                             uint32_t kernel_len, uint32_t row_len, unsigned effort,
                             dc_levels_params_t *best)
{
    if ((levels == NULL && count > 0u) || best == NULL || effort > DC_LEVELS_EFFORT_MAX) {
        return DC_ERR_ARG;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (levels[i] < -DC_LEVELS_MAX_ABS || levels[i] > DC_LEVELS_MAX_ABS ||
            (base != NULL && (base[i] < -DC_LEVELS_MAX_ABS || base[i] > DC_LEVELS_MAX_ABS))) {
            return DC_ERR_ARG;
        }
    }
    /* defaults: sign context coded, 2 suffix context bins, start bucket from the mean */
    dc_levels_params_t cand = {DC_PRED_NONE, (uint8_t)(dq_flag ? 1u : 0u), 0u, 0u, 2u, 0u, 6u, 6u, 0u, 0u, 0u};
    uint32_t strides[3] = {0u, 0u, 0u};
    unsigned n_strides = 1;
    if (kernel_len > 1u && kernel_len < count && kernel_len <= DC_LEVELS_MAX_STRIDE) {
        strides[n_strides++] = kernel_len;
    }
    if (row_len > 1u && row_len < count && row_len != kernel_len && row_len <= DC_LEVELS_MAX_STRIDE) {
        strides[n_strides++] = row_len;
    }
    /* row skipping over output-channel rows (kernel_len) */
    uint32_t skip_len = (kernel_len > 1u && kernel_len <= DC_LEVELS_MAX_STRIDE) ? kernel_len : 0u;
    int zero_rows = !dq_flag && skip_len && has_zero_row(levels, count, skip_len);
    if (zero_rows) {
        cand.row_skip = 1u;
        cand.row_len = (uint16_t)skip_len;
    }
    *best = cand;
    if (count == 0u || effort == 0u) {
        if (count == 0u) {
            best->row_skip = 0u;
            best->row_len = 0u;
        }
        return DC_OK;
    }
    static const uint32_t trial_levels[DC_LEVELS_EFFORT_MAX + 1u] = {0u, 2048u, 32768u, UINT32_MAX};
    search_t s;
    s.lc = malloc(2u * sizeof(*s.lc));
    if (s.lc == NULL) {
        return DC_ERR_INTERNAL;
    }
    s.stats = s.lc + 1;
    s.lc->alt_window = 0u;
    s.levels = levels;
    s.n = count < trial_levels[effort] ? count : trial_levels[effort];
    s.base = base;
    s.best_cost = UINT64_MAX;
    s.best = cand;
    memset(s.stats, 0, sizeof(*s.stats));
    dc_status_t st = DC_OK;
    /* Stage 1: column period, no prediction (row skipping wherever a row is zero: a zero row
     * then costs one bin, and the other rows one bin more). */
    const unsigned alt_window = 4u; /* every trial also costs window 4 beside 6 */
    for (unsigned si = 0; si < n_strides && st == DC_OK; si++) {
        cand.col_stride = (uint16_t)strides[si];
        st = try_params2(&s, &cand, alt_window);
    }
    if (effort >= 2u && zero_rows && st == DC_OK) {
        cand = s.best;
        cand.row_skip = 0u;
        cand.row_len = 0u;
        st = try_params(&s, &cand);
    }
    /* Stage 2: prediction (not with DQ), where the residual proxy promises (all at effort >= 2). */
    if (st == DC_OK && !dq_flag) {
        dc_levels_params_t stage = s.best;
        uint64_t proxy[3];
        prediction_proxy(levels, s.n, strides[n_strides - 1u], proxy);
        if (effort >= 2u || proxy[1] < proxy[0]) {
            cand = stage;
            cand.pred_mode = DC_PRED_LEFT;
            st = try_params2(&s, &cand, cand.window == alt_window ? 6u : alt_window);
        }
        for (unsigned si = 1; si < n_strides && st == DC_OK; si++) {
            if (effort >= 2u || proxy[2] < proxy[0]) {
                cand = stage;
                cand.pred_mode = DC_PRED_UP;
                cand.col_stride = (uint16_t)strides[si];
                st = try_params2(&s, &cand, cand.window == alt_window ? 6u : alt_window);
            }
        }
        if (st == DC_OK && base != NULL) {
            cand = stage;
            cand.pred_mode = DC_PRED_BASE;
            st = try_params2(&s, &cand, cand.window == alt_window ? 6u : alt_window);
        }
    }
    /* Stage 3: adaptation window and start bucket. */
    if (effort >= 2u) {
        static const uint8_t windows[] = {3u, 5u, 7u};
        dc_levels_params_t stage = s.best;
        for (unsigned w = 0; w < sizeof windows && st == DC_OK; w++) {
            cand = stage;
            cand.window = windows[w];
            st = try_params(&s, &cand);
        }
    }
    /* The start bucket hardly changes the size (docs/coder.md section 9): take the start
     * base that needs the fewest prefix bins on the trial's statistics. */
    if (st == DC_OK) {
        s.best.start_base = fewest_prefix_bins(s.stats->bucket_hist);
    }
    /* Stage 4: sign and suffix bins whose contexts hardly pay become bypass bits. */
    if (st == DC_OK) {
        if (not_worth_context(s.stats->sign_cost, s.stats->sign_bins)) {
            s.best.sign_bypass = 1u;
        }
        /* no sig_flag where the mean magnitude is >= 8 when zeros are rarer than 1 in 16 there */
        if (s.stats->wide_levels > 0u && 16u * (uint64_t)s.stats->wide_zeros < s.stats->wide_levels) {
            s.best.sig_skip = 1u;
        }
        if (not_worth_context(s.stats->rem2_cost, s.stats->rem2_bins)) {
            s.best.rem_ctx = not_worth_context(s.stats->rem1_cost, s.stats->rem1_bins) ? 0u : 1u;
        }
    }
    *best = s.best;
    free(s.lc);
    return st;
}
