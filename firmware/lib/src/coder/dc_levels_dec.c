/* dc_levels_dec.c: the level decoder: binarization, context selection, prediction and DQ
 * reconstruction on top of the range decoder (docs/coder.md, "Decoding one level").
 *
 * Speed: the range decoder's registers, the running mean and the column cursor live in local
 * variables for a whole slice; the loop is instantiated for the common parameter combinations
 * (read_slice() with constant `mode` bits) so that the per-level work carries few tests of
 * loop-invariant parameters. */
#include "dc_levels.h"

/* The decoder state is what a device keeps in RAM: keep it under 1 KB. */
typedef char dc_levels_dec_size_check[(sizeof(dc_levels_dec_t) <= 1024u) ? 1 : -1];

#if defined(__GNUC__)
#define DC_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define DC_ALWAYS_INLINE inline
#endif

/* Loop variants (bits of `mode`). */
#define MODE_COLS 1u   /* col_stride > 0 */
#define MODE_SIGN 2u   /* sign_flag context coded (not bypass) */
#define MODE_ANY 4u    /* the general loop: every parameter tested at run time (prediction, DQ) */
#define MODE_SKIP 8u   /* sig_skip == 1 (else 0); ignored with MODE_ANY */

/* A column record for col_stride == 0: class 0, previous level 0, never written. */
static const dc_levels_col_t no_column = {0, 0u, 0u};

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
    dec->mean_acc = 0u;
    dec->left_sign = 0u;
    dec->dq_state = 0u;
    dec->cols = NULL;
    dec->col = 0u;
    dec->row_left = 0u;
    dec->row_zero = 0u;
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
            cols[i].cls = 0u;
        }
        dec->cols = cols;
    }
    dec->remaining = count;
    if (dec->params.fast) {
        return fail(dec, dc_levels_fast_start(dec, payload, len, header_len));
    }
    for (unsigned z = 0; z < 32u; z++) { /* indexed by clz(mean_acc | 1) = 31 - log2 */
        dec->m.cabac.classes[z] = dc_levels_class_entry(31u - z, dec->params.start_base);
    }
    if (count == 0u) {
        return fail(dec, len == header_len ? DC_OK : DC_ERR_TRAILING);
    }
    if (len - header_len > UINT32_MAX - 8u) {
        return fail(dec, DC_ERR_ARG);
    }
    dc_cabac_ctx_init(dec->m.cabac.prob, dec->m.cabac.state, DC_LEVELS_NUM_CTX, dec->params.window);
    dc_cabac_adapt_table(dec->m.cabac.adapt, dec->params.window);
    st = dc_cabac_dec_init(&dec->ac, payload + header_len, (uint32_t)(len - header_len));
    return fail(dec, st);
}

uint32_t dc_levels_remaining(const dc_levels_dec_t *dec)
{
    return dec == NULL ? 0u : dec->remaining;
}

/* Fill levels[0..m-1] of a skipped row: coded values 0, so each level is its prediction. */
static void fill_zero_row(dc_levels_dec_t *dec, int32_t *out, uint32_t m, const int32_t *base, int32_t last,
                          uint32_t *colno)
{
    const dc_levels_params_t *prm = &dec->params;
    uint32_t stride = prm->col_stride;
    uint32_t c = *colno;
    if (prm->pred_mode == DC_PRED_UP) {
        for (uint32_t j = 0; j < m; j++) {
            out[j] = dec->cols[c].prev;
            if (++c == stride) {
                c = 0u;
            }
        }
    } else {
        for (uint32_t j = 0; j < m; j++) {
            out[j] = prm->pred_mode == DC_PRED_LEFT ? last : (prm->pred_mode == DC_PRED_BASE ? base[j] : 0);
        }
        if (stride) {
            c += m % stride;
            if (c >= stride) {
                c -= stride;
            }
        }
    }
    *colno = c;
}

/* Decode n levels; `mode` is a compile-time constant in every call (see MODE_*). */
static DC_ALWAYS_INLINE dc_status_t read_slice(dc_levels_dec_t *dec, int32_t *out, uint32_t n, const int32_t *base,
                                               const unsigned mode)
{
    const dc_levels_params_t prm = dec->params;
    const unsigned use_cols = (mode & MODE_ANY) ? prm.col_stride != 0u : (mode & MODE_COLS) != 0u;
    const unsigned use_sign = (mode & MODE_ANY) ? !prm.sign_bypass : (mode & MODE_SIGN) != 0u;
    const unsigned sign_bypass = !use_sign;
    const unsigned rem_ctx = prm.rem_ctx;
    const unsigned sig_skip = (mode & MODE_ANY) ? prm.sig_skip : (mode & MODE_SKIP) != 0u;
    const uint32_t max_abs = (mode & MODE_ANY) ? DC_LEVELS_MAX_CODED : (uint32_t)DC_LEVELS_MAX_ABS;
    const uint8_t *const buf = dec->ac.buf;
    const uint32_t len = dec->ac.len;
    const uint8_t *in = buf + (dec->ac.pos < len ? dec->ac.pos : len);
    const uint8_t *const in_end = buf + len;
    uint32_t virt = dec->ac.pos > len ? dec->ac.pos - len : 0u;
    uint32_t range = dec->ac.range;
    uint32_t code = dec->ac.code;
    /* The models and tables are addressed from `dec` alone: one base register for all. */
#define prob (dec->m.cabac.prob)
#define state (dec->m.cabac.state)
#define adapt (dec->m.cabac.adapt)
#define classes (dec->m.cabac.classes)
    uint32_t mean = dec->mean_acc;
    unsigned left = dec->left_sign;
    unsigned dqs = dec->dq_state;
    int32_t last = dec->last_level;
    dc_levels_col_t *cols = dec->cols;
    const uint32_t stride = prm.col_stride;
    uint32_t colno = dec->col;
    uint32_t row_left = dec->row_left;
    unsigned row_zero = dec->row_zero;

    uint32_t i = 0;
    while (i < n) {
        uint32_t end = n;
        if (prm.row_skip) { /* row_zero_flag at the start of each row */
            if (row_left == 0u) {
                DC_CABAC_BIN(row_zero, DC_LEVELS_CTX_ROW + row_zero);
                row_left = prm.row_len;
            }
            if (row_left < n - i) {
                end = i + row_left;
            }
            row_left -= end - i;
            if (row_zero) {
                fill_zero_row(dec, out + i, end - i, base ? base + i : NULL, last, &colno);
                i = end;
                continue;
            }
        }
        for (; i < end; i++) {
            const dc_levels_col_t *col = use_cols ? &cols[colno] : &no_column;
            unsigned cls = classes[__builtin_clz(mean | 1u)];
            unsigned rc = cls & 7u;
            unsigned cc = col->cls;
            unsigned bin;
            uint32_t a = 0u;
            unsigned neg = 0u;
            /* off = 1: no sig_flag first here: the bucket of max(|v|, 1) comes first, and in
             * bucket 0 the sig_flag tells 0 from 1 */
            const unsigned off = sig_skip && rc == DC_LEVELS_ROW_CLASSES - 1u;
            if (off) {
                bin = 1u;
            } else {
                DC_CABAC_BIN(bin, DC_LEVELS_CTX_SIG + (((dqs & 1u) * DC_LEVELS_COL_CLASSES + cc) << 3) + rc);
            }
            if (bin) { /* sig_flag */
                if (use_sign && !off) {
                    unsigned up = dc_levels_sign_class(col->prev);
                    DC_CABAC_BIN(neg, DC_LEVELS_CTX_SIGN + 3u * up + left);
                }
                /* bucket L = floor(log2 |v|), coded from the start bucket k: first bin "L > k" */
                unsigned k = cls >> 3;
                unsigned xbase = dc_levels_ctx_x2(k);
                unsigned bucket = k;
                DC_CABAC_BIN(bin, k ? xbase : DC_LEVELS_CTX_GT1 + (cc << 3) + rc);
                if (bin) { /* abs_level_greater_x2: "L > bucket + 1", upwards */
                    for (;;) {
                        if (++bucket == DC_LEVELS_MAX_BUCKET) {
                            break; /* truncated: no bucket above 15 */
                        }
                        unsigned j = bucket - k;
                        DC_CABAC_BIN(bin, xbase + (j < 7u ? j : 7u));
                        if (!bin) {
                            break;
                        }
                    }
                } else if (k > 0u) { /* abs_level_less_x2: "L < bucket", downwards */
                    unsigned dbase = dc_levels_ctx_down(k);
                    for (;;) {
                        unsigned j = k - bucket;
                        DC_CABAC_BIN(bin, dbase + (j < 3u ? j : 3u));
                        if (!bin || --bucket == 0u) {
                            break;
                        }
                    }
                }
                if (off && bucket == 0u) { /* sig_flag after all: |v| is 0 or 1 */
                    DC_CABAC_BIN(bin, DC_LEVELS_CTX_SIG + (((dqs & 1u) * DC_LEVELS_COL_CLASSES + cc) << 3) + rc);
                    if (!bin) {
                        goto zero;
                    }
                }
                if (use_sign && off) {
                    unsigned up = dc_levels_sign_class(col->prev);
                    DC_CABAC_BIN(neg, DC_LEVELS_CTX_SIGN + 3u * up + left);
                }
                /* abs_remainder: L bits, the top rem_ctx context coded, the rest in the bypass group */
                a = 1u << bucket;
                unsigned nctx = bucket < rem_ctx ? bucket : rem_ctx;
                uint32_t top = 0u;
                if (nctx > 0u) {
                    unsigned rbase = dc_levels_ctx_rem(bucket);
                    DC_CABAC_BIN(top, rbase);
                    if (nctx > 1u) {
                        unsigned b2;
                        DC_CABAC_BIN(b2, rbase + 1u + top);
                        top = 2u * top + b2;
                    }
                }
                unsigned rest = bucket - nctx;
                unsigned nbits = rest + sign_bypass;
                if (nbits > 0u) { /* one bypass group: [suffix rest][sign] */
                    uint32_t g;
                    DC_CABAC_GROUP(g, nbits, corrupt);
                    if (sign_bypass) {
                        neg = g & 1u;
                        g >>= 1;
                    }
                    a += (top << rest) + g;
                } else {
                    a += top;
                }
                if (a > max_abs) {
                    goto corrupt;
                }
            }
        zero:;
            int32_t v = neg ? -(int32_t)a : (int32_t)a;
            int32_t level = v;
            if (mode & MODE_ANY) {
                if (prm.dq_flag) {
                    level = dc_dq_level(v, dqs);
                    dqs = dc_dq_next_state[2u * dqs + (a & 1u)];
                } else if (prm.pred_mode == DC_PRED_LEFT) {
                    level = last + v;
                } else if (prm.pred_mode == DC_PRED_UP) {
                    level = col->prev + v;
                } else if (prm.pred_mode == DC_PRED_BASE) {
                    level = base[i] + v;
                }
                if (level < -DC_LEVELS_MAX_ABS || level > DC_LEVELS_MAX_ABS) {
                    goto corrupt;
                }
                last = level;
            }
            out[i] = level;
            mean = dc_levels_mean_update(mean, a);
            if (use_sign) {
                left = a ? 1u + neg : 0u;
            }
            if (use_cols) {
                dc_levels_col_update(&cols[colno], level, a);
                if (++colno == stride) {
                    colno = 0u;
                }
            }
        }
    }
#undef prob
#undef state
#undef adapt
#undef classes
    DC_CABAC_RENORM();
    if (virt > DC_CABAC_VIRTUAL) {
        return fail(dec, DC_ERR_TRUNCATED);
    }
    dec->ac.pos = (uint32_t)(in - buf) + virt;
    dec->ac.range = range;
    dec->ac.code = code;
    dec->mean_acc = mean;
    dec->left_sign = (uint8_t)left;
    dec->dq_state = (uint8_t)dqs;
    dec->last_level = last;
    dec->col = colno;
    dec->row_left = row_left;
    dec->row_zero = (uint8_t)row_zero;
    return DC_OK;
corrupt:
    return fail(dec, DC_ERR_CORRUPT);
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
    const dc_levels_params_t *prm = &dec->params;
    if (prm->pred_mode == DC_PRED_BASE) {
        if (base == NULL) {
            return DC_ERR_BASE;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (base[i] < -DC_LEVELS_MAX_ABS || base[i] > DC_LEVELS_MAX_ABS) {
                return DC_ERR_ARG;
            }
        }
    }
    /* Without prediction and DQ the loop is instantiated for column contexts on/off and sign
     * coding; a build for size (-Os) keeps the general loop only. */
    dc_status_t st;
    if (prm->fast) {
        st = dc_levels_fast_read(dec, out, n);
        if (st != DC_OK) {
            return fail(dec, st);
        }
        dec->remaining -= n;
        return dec->remaining == 0u ? fail(dec, dc_levels_fast_finish(dec)) : DC_OK;
    }
#if !defined(__OPTIMIZE_SIZE__)
    if (prm->pred_mode == DC_PRED_NONE && !prm->dq_flag) {
        unsigned mode = (prm->col_stride ? MODE_COLS : 0u) | (prm->sign_bypass ? 0u : MODE_SIGN) |
                        (prm->sig_skip ? MODE_SKIP : 0u);
        switch (mode) {
        case 0u: st = read_slice(dec, out, n, base, 0u); break;
        case MODE_COLS: st = read_slice(dec, out, n, base, MODE_COLS); break;
        case MODE_SIGN: st = read_slice(dec, out, n, base, MODE_SIGN); break;
        case MODE_COLS | MODE_SIGN: st = read_slice(dec, out, n, base, MODE_COLS | MODE_SIGN); break;
        case MODE_SKIP: st = read_slice(dec, out, n, base, MODE_SKIP); break;
        case MODE_SKIP | MODE_COLS: st = read_slice(dec, out, n, base, MODE_SKIP | MODE_COLS); break;
        case MODE_SKIP | MODE_SIGN: st = read_slice(dec, out, n, base, MODE_SKIP | MODE_SIGN); break;
        default: st = read_slice(dec, out, n, base, MODE_SKIP | MODE_COLS | MODE_SIGN); break;
        }
    } else
#endif
    {
        st = read_slice(dec, out, n, base, MODE_ANY);
    }
    if (st != DC_OK) {
        return st;
    }
    dec->remaining -= n;
    if (dec->remaining == 0u) {
        return fail(dec, dc_cabac_dec_finish(&dec->ac));
    }
    return DC_OK;
}
