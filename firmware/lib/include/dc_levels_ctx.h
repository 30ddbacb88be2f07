/* dc_levels_ctx.h: the ONE definition of binarization constants and context selection of the
 * level coder, shared by the firmware decoder and the host encoder.
 *
 * Spec: docs/coder.md, sections "Binarization", "Context selection" and "Dependent quantization".
 * Every function here is a pure function of already-coded data, so encoder and decoder stay in
 * step by construction. Names follow the MPEG NNC syntax elements (sig_flag, sign_flag,
 * abs_level_greater_x, abs_level_greater_x2, abs_remainder).
 */
#ifndef DC_LEVELS_CTX_H
#define DC_LEVELS_CTX_H

#include <stdint.h>

/* Context index layout (docs/coder.md, table "Contexts"). */
#define DC_LEVELS_ROW_CLASSES 8u  /* classes of the running mean of coded magnitudes */
#define DC_LEVELS_COL_CLASSES 4u  /* column classes: none, silent, quiet, active */
#define DC_LEVELS_CTX_SIG 0u      /* sig_flag: [dq set 2][col 4][row 8] */
#define DC_LEVELS_CTX_SIGN 64u    /* sign_flag: [column sign 3][left sign 3] */
#define DC_LEVELS_CTX_GT1 73u     /* abs_level_greater_x (x = 1): [col 4][row 8] */
#define DC_LEVELS_CTX_X2 105u     /* abs_level_greater_x2 (Exp-Golomb prefix): [rice k 6][index 8] */
#define DC_LEVELS_CTX_REM 153u    /* abs_remainder top 2 bits: [prefix length 8][tree node 3] */
#define DC_LEVELS_NUM_CTX 177u

#define DC_LEVELS_MAX_ABS 32767          /* |level| limit of the format */
#define DC_LEVELS_MAX_CODED 65534u       /* |coded value| limit (a level minus a prediction) */
#define DC_LEVELS_MAX_PREFIX 16u         /* abs_level_greater_x2 run longer than this: corrupt */
#define DC_LEVELS_REM_CTX_BITS 2u        /* top suffix bits of abs_remainder that are context coded */
#define DC_LEVELS_MAX_RICE 12u           /* largest Rice parameter */

/* Prediction modes (coder_flags bits 0-1). */
#define DC_PRED_NONE 0u
#define DC_PRED_LEFT 1u
#define DC_PRED_UP 2u
#define DC_PRED_BASE 3u

/* State kept per column (position modulo col_stride) when col_stride > 0. */
typedef struct {
    int16_t prev; /* the level decoded at this column in the previous row */
    uint8_t avg;  /* running mean of min(|coded|, 15) * 16, see dc_levels_col_update() */
    uint8_t seen; /* 1 once a previous row exists for this column */
} dc_levels_col_t;

/* Neighbourhood state along the scan. */
typedef struct {
    uint32_t mean_acc; /* running mean of |coded| times 64 (window 1/8) */
    uint8_t left_sign; /* sign class of the last coded value: 0 zero/none, 1 positive, 2 negative */
    uint8_t dq_state;  /* dependent-quantization state 0..7 (0 when DQ is off) */
} dc_levels_nbr_t;

/* The 8-state dependent-quantization transition table, indexed [2 * state + (|q| & 1)]
 * (as in MPEG NNC; defined once in firmware/lib/src/coder/dc_dq.c). */
extern const uint8_t dc_dq_next_state[16];

static inline unsigned dc_levels_ilog2(uint32_t v) /* v > 0 */
{
    return 31u - (unsigned)__builtin_clz(v);
}

static inline unsigned dc_levels_sign_class(int32_t v)
{
    return v > 0 ? 1u : (v < 0 ? 2u : 0u);
}

/* Row class: 0 if the running mean is 0, else 1 + floor(log2(mean_acc / 8)), at most 7. */
static inline unsigned dc_levels_row_class(uint32_t mean_acc)
{
    uint32_t m = mean_acc >> 3;
    if (m == 0u) {
        return 0u;
    }
    unsigned c = 1u + dc_levels_ilog2(m);
    return c < DC_LEVELS_ROW_CLASSES ? c : DC_LEVELS_ROW_CLASSES - 1u;
}

/* Rice parameter k when rice_flag is set: max(0, floor(log2(mean_acc / 64)) - 1), at most 12. */
static inline unsigned dc_levels_rice_k(uint32_t mean_acc)
{
    uint32_t m = mean_acc >> 6;
    if (m < 4u) {
        return 0u;
    }
    unsigned k = dc_levels_ilog2(m) - 1u;
    return k < DC_LEVELS_MAX_RICE ? k : DC_LEVELS_MAX_RICE;
}

/* Column class: 0 no previous row (or col_stride 0), 1 column never non-zero, 2 quiet, 3 active. */
static inline unsigned dc_levels_col_class(const dc_levels_col_t *col)
{
    if (col == 0 || !col->seen) {
        return 0u;
    }
    return col->avg == 0u ? 1u : (col->avg < 8u ? 2u : 3u);
}

static inline unsigned dc_levels_ctx_sig(unsigned dq_set, unsigned col_class, unsigned row_class)
{
    return DC_LEVELS_CTX_SIG + (dq_set * DC_LEVELS_COL_CLASSES + col_class) * DC_LEVELS_ROW_CLASSES + row_class;
}

static inline unsigned dc_levels_ctx_sign(const dc_levels_col_t *col, unsigned left_sign)
{
    unsigned up = (col != 0 && col->seen) ? dc_levels_sign_class(col->prev) : 0u;
    return DC_LEVELS_CTX_SIGN + 3u * up + left_sign;
}

static inline unsigned dc_levels_ctx_gt1(unsigned col_class, unsigned row_class)
{
    return DC_LEVELS_CTX_GT1 + col_class * DC_LEVELS_ROW_CLASSES + row_class;
}

static inline unsigned dc_levels_ctx_x2(unsigned rice_k, unsigned index)
{
    return DC_LEVELS_CTX_X2 + (rice_k < 5u ? rice_k : 5u) * 8u + (index < 7u ? index : 7u);
}

/* node is 1 (first suffix bit) or 2..3 (second bit, after a 0 or 1). */
static inline unsigned dc_levels_ctx_rem(unsigned prefix_len, unsigned node)
{
    return DC_LEVELS_CTX_REM + (prefix_len < 7u ? prefix_len : 7u) * 3u + node - 1u;
}

/* Update the scan neighbourhood with the coded value v (|v| <= DC_LEVELS_MAX_CODED). */
static inline void dc_levels_nbr_update(dc_levels_nbr_t *nbr, int32_t v)
{
    uint32_t a = (uint32_t)(v < 0 ? -v : v);
    nbr->mean_acc = nbr->mean_acc - (nbr->mean_acc >> 3) + (a << 3);
    nbr->left_sign = (uint8_t)dc_levels_sign_class(v);
}

/* Update a column with the decoded level and the coded value v. */
static inline void dc_levels_col_update(dc_levels_col_t *col, int32_t level, int32_t v)
{
    uint32_t a = (uint32_t)(v < 0 ? -v : v);
    if (a > 15u) {
        a = 15u;
    }
    col->avg = (uint8_t)(col->avg - (col->avg >> 2) + (a << 2));
    col->prev = (int16_t)level;
    col->seen = 1u;
}

/* DQ reconstruction: the level of index q in `state` (2q, or 2q - sign(q) in odd states). */
static inline int32_t dc_dq_level(int32_t q, unsigned state)
{
    if (q == 0) {
        return 0;
    }
    int32_t odd = (int32_t)(state & 1u);
    return q > 0 ? 2 * q - odd : 2 * q + odd;
}

#endif /* DC_LEVELS_CTX_H */
