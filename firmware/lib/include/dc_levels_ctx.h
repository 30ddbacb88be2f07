/* dc_levels_ctx.h: the ONE definition of binarization constants and context selection of the
 * level coder, shared by the firmware decoder and the host encoder.
 *
 * Spec: docs/coder.md, sections "Neighbourhood state", "Contexts", "Binarization" and
 * "Dependent quantization". Every function here is a pure function of already-coded data, so
 * encoder and decoder stay in step by construction. Names follow the MPEG NNC syntax elements
 * (sig_flag, sign_flag, abs_level_greater_x, abs_level_greater_x2, abs_remainder).
 */
#ifndef DC_LEVELS_CTX_H
#define DC_LEVELS_CTX_H

#include <stdint.h>

/* Context index layout (docs/coder.md, table "Contexts"). */
#define DC_LEVELS_ROW_CLASSES 8u  /* classes of the running mean of coded magnitudes */
#define DC_LEVELS_COL_CLASSES 4u  /* column classes: none, silent, quiet, active */
#define DC_LEVELS_CTX_SIG 0u      /* sig_flag: [dq set 2][col 4][row 8] */
#define DC_LEVELS_CTX_SIGN 64u    /* sign_flag: [column sign 3][left sign 3] */
#define DC_LEVELS_CTX_GT1 73u     /* abs_level_greater_x (x = 1, start 0): [col 4][row 8] */
#define DC_LEVELS_CTX_X2 105u     /* abs_level_greater_x2 (bucket prefix, upwards): [start 8][index 8] */
#define DC_LEVELS_CTX_DOWN 169u   /* abs_level_less_x2 (bucket prefix, downwards): [start 8][index 4] */
#define DC_LEVELS_CTX_REM 201u    /* abs_remainder top 2 bits: [bucket 8][tree node 3] */
#define DC_LEVELS_CTX_ROW 225u    /* row_zero_flag: [previous row skipped 2] */
#define DC_LEVELS_NUM_CTX 227u

#define DC_LEVELS_MAX_ABS 32767          /* |level| limit of the format */
#define DC_LEVELS_MAX_CODED 65534u       /* |coded value| limit (a level minus a prediction) */
#define DC_LEVELS_MAX_BUCKET 15u         /* largest Exp-Golomb bucket (|coded| - 1 < 2^16 - 1) */
#define DC_LEVELS_REM_CTX_MAX 2u         /* top suffix bits of abs_remainder that may be context coded */
#define DC_LEVELS_MAX_START 12u          /* largest predicted start bucket */

/* Prediction modes (coder_flags bits 0-1). */
#define DC_PRED_NONE 0u
#define DC_PRED_LEFT 1u
#define DC_PRED_UP 2u
#define DC_PRED_BASE 3u

/* State kept per column (position modulo col_stride) when col_stride > 0. */
typedef struct {
    int16_t prev; /* the level at this column in the previous row (0 before the first row) */
    uint8_t avg;  /* running mean of min(|coded|, 15) * 16, see dc_levels_col_update() */
    uint8_t cls;  /* column class 0..3 (0 until the column has been coded once) */
} dc_levels_col_t;

/* The 8-state dependent-quantization transition table, indexed [2 * state + (|q| & 1)]
 * (as in MPEG NNC; defined once in firmware/lib/src/coder/dc_dq.c). */
extern const uint8_t dc_dq_next_state[16];

/* floor(log2(mean_acc | 1)) from the count of leading zeros, the form both sides use. */
static inline unsigned dc_levels_log_mean(uint32_t mean_acc)
{
    return 31u - (unsigned)__builtin_clz(mean_acc | 1u);
}

/* Row class: clamp(floor(log2(mean_acc | 1)) - 2, 0, 7). */
static inline unsigned dc_levels_row_class(unsigned log_mean)
{
    return log_mean < 3u ? 0u : (log_mean - 2u < DC_LEVELS_ROW_CLASSES ? log_mean - 2u : DC_LEVELS_ROW_CLASSES - 1u);
}

/* Start bucket of the prefix: clamp(floor(log2(mean_acc | 1)) - start_base, 0, 12); always 0
 * when start_base is 0. */
static inline unsigned dc_levels_start(unsigned log_mean, unsigned start_base)
{
    if (start_base == 0u || log_mean <= start_base) {
        return 0u;
    }
    unsigned k = log_mean - start_base;
    return k < DC_LEVELS_MAX_START ? k : DC_LEVELS_MAX_START;
}

/* Packed per-tensor lookup of both, indexed by floor(log2(mean_acc | 1)) (0..31):
 * bits 0-2 the row class, bits 3-6 the start bucket. */
static inline uint8_t dc_levels_class_entry(unsigned log_mean, unsigned start_base)
{
    return (uint8_t)(dc_levels_row_class(log_mean) | (dc_levels_start(log_mean, start_base) << 3));
}

static inline unsigned dc_levels_sign_class(int32_t v)
{
    return v > 0 ? 1u : (v < 0 ? 2u : 0u);
}

/* Column class after an update: 1 column never non-zero lately, 2 quiet, 3 active. */
static inline unsigned dc_levels_col_class(unsigned avg)
{
    return 1u + (avg != 0u) + (avg >= 8u);
}

static inline unsigned dc_levels_ctx_sig(unsigned dq_set, unsigned col_class, unsigned row_class)
{
    return DC_LEVELS_CTX_SIG + (dq_set * DC_LEVELS_COL_CLASSES + col_class) * DC_LEVELS_ROW_CLASSES + row_class;
}

static inline unsigned dc_levels_ctx_sign(unsigned up_sign, unsigned left_sign)
{
    return DC_LEVELS_CTX_SIGN + 3u * up_sign + left_sign;
}

static inline unsigned dc_levels_ctx_gt1(unsigned col_class, unsigned row_class)
{
    return DC_LEVELS_CTX_GT1 + col_class * DC_LEVELS_ROW_CLASSES + row_class;
}

/* Base index of the upward prefix bins at start bucket k (bin j at base + min(j, 7); with
 * k == 0, bin 0 is the gt1 bin instead). */
static inline unsigned dc_levels_ctx_x2(unsigned start)
{
    return DC_LEVELS_CTX_X2 + (start < 7u ? start : 7u) * 8u;
}

/* Base index of the downward prefix bins at start bucket k >= 1 (bin j at base + min(j, 3)). */
static inline unsigned dc_levels_ctx_down(unsigned start)
{
    return DC_LEVELS_CTX_DOWN + (start < 7u ? start : 7u) * 4u;
}

/* Base index of the suffix bins of bucket L: node 1 (first bit) at base, node 2 + first bit
 * (second bit) at base + 1 + first bit. */
static inline unsigned dc_levels_ctx_rem(unsigned bucket)
{
    return DC_LEVELS_CTX_REM + (bucket < 7u ? bucket : 7u) * 3u;
}

/* Running mean of |coded| times 64 (window 1/8). */
static inline uint32_t dc_levels_mean_update(uint32_t mean_acc, uint32_t abs_v)
{
    return mean_acc - (mean_acc >> 3) + (abs_v << 3);
}

/* Update a column with the decoded level and |coded value|. */
static inline void dc_levels_col_update(dc_levels_col_t *col, int32_t level, uint32_t abs_v)
{
    uint32_t a = abs_v > 15u ? 15u : abs_v;
    unsigned avg = (unsigned)col->avg - ((unsigned)col->avg >> 2) + (a << 2);
    col->avg = (uint8_t)avg;
    col->cls = (uint8_t)dc_levels_col_class(avg);
    col->prev = (int16_t)level;
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
