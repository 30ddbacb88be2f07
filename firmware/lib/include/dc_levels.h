/* dc_levels.h: decoding a tensor payload of integer weight levels, slice by slice.
 *
 * Spec: docs/coder.md (normative). A payload is a header (coder_flags, shift_idx, col_stride)
 * followed by the arithmetic-coded bytes; it decodes given only the payload, the level count
 * and, for delta payloads (pred_mode == DC_PRED_BASE), the co-located base levels.
 *
 * Memory: no allocation. The caller owns
 *   - the decoder state dc_levels_dec_t (sizeof: DC_LEVELS_DEC_BYTES on a 32-bit target,
 *     of which 675 bytes are context state: 225 contexts x (2 + 1) bytes),
 *   - the payload bytes (borrowed; must stay valid and unchanged until decoding ends),
 *   - a column buffer of col_stride dc_levels_col_t (4 bytes each) when the payload's
 *     col_stride is non-zero (dc_levels_payload_params() tells col_stride before init),
 *   - the output slices.
 * Levels are int32_t in the range [-32767, 32767], in C (row-major) order of the tensor.
 *
 * Return codes: DC_OK or a negative dc_status_t: DC_ERR_ARG (NULL pointer, reading more levels
 * than remain, missing base), DC_ERR_BUFFER (column buffer too small), DC_ERR_PARAMS (invalid
 * header), DC_ERR_TRUNCATED, DC_ERR_CORRUPT, DC_ERR_TRAILING (see dc_status.h), DC_ERR_BASE
 * (a delta payload read without its base levels). After an error the decoder keeps returning
 * that error.
 */
#ifndef DC_LEVELS_H
#define DC_LEVELS_H

#include <stddef.h>
#include <stdint.h>

#include "dc_cabac.h"
#include "dc_levels_ctx.h"
#include "dc_status.h"

#define DC_LEVELS_MAX_STRIDE 65535u  /* largest col_stride */
#define DC_LEVELS_MAX_HEADER 8u      /* header bytes at most: 2 + LEB128 col_stride and row_len (<= 3 each) */

/* The per-tensor coder parameters, as signalled in the payload header. */
typedef struct {
    uint8_t pred_mode;   /* DC_PRED_NONE / LEFT / UP / BASE */
    uint8_t dq_flag;     /* 1: levels are 8-state dependent-quantization reconstructions */
    uint8_t sign_bypass; /* 1: sign_flag is a bypass bin after the magnitude, else context coded */
    uint8_t row_skip;    /* 1: a row_zero_flag before every row of row_len levels */
    uint8_t rem_ctx;     /* context-coded top bits of abs_remainder: 0, 1 or 2 */
    uint8_t sig_skip;    /* 1: no sig_flag where the row class is 7 (|level| + 1 coded instead) */
    uint8_t window;      /* adaptation window 2^-window of the probability model, 1..8 */
    uint8_t start_base;  /* 0: prefix starts at bucket 0; 1..15: at clamp(log2(mean_acc) - start_base, 0, 12) */
    uint16_t col_stride; /* column period for column contexts and pred UP; 0 = none */
    uint16_t row_len;    /* row length of row skipping (1..65535; 0 without row_skip) */
    /* The fast syntax (docs/coder.md section 10; coder_flags bit 7): when fast == 1 every
     * field above is 0 and the levels are coded by a static per-tensor rANS table instead
     * (its parameters: dc_levels_fast_t). */
    uint8_t fast;        /* 1: fast syntax (static rANS over magnitude classes, raw bits) */
} dc_levels_params_t;

#define DC_LEVELS_FAST_MAX_PREC 9u      /* largest table precision: 2^9 = 512 slots */
#define DC_LEVELS_FAST_MAX_CLASSES 32u  /* magnitude classes at most */
#define DC_LEVELS_FAST_LOW (1u << 16)   /* rANS state interval [2^16, 2^32); initial/final state */
/* fast header bytes at most: 2 + 2 LEB128 (<= 5 each) + row_len LEB128 (<= 3) + table
 * (31 x 4 + 31 x 10 bits) */
#define DC_LEVELS_FAST_MAX_HEADER (15u + (31u * 4u + 31u * 10u + 7u) / 8u)

/* Decoding tables and stream cursors of the fast syntax (overlays the CABAC contexts; the
 * payload body is at dec->ac.buf, words are little-endian u16). */
typedef struct {
    uint8_t slot[1u << DC_LEVELS_FAST_MAX_PREC]; /* class of each slot 0..2^prec-1 */
    uint32_t sym[DC_LEVELS_FAST_MAX_CLASSES];    /* class: freq | start << 10 | raw bits (with sign) << 20 */
    uint16_t base[DC_LEVELS_FAST_MAX_CLASSES];   /* class: its first magnitude */
    uint32_t rans;                               /* offset of the next rANS word from ac.buf */
    uint32_t raw;                                /* offset of the next raw-bit word from ac.buf */
    uint8_t prec;                                /* table precision: frequencies sum to 2^prec (1..9) */
    uint8_t n_classes;                           /* magnitude classes 1..32 */
    uint8_t row_skip;                            /* 1: a raw row_zero bit starts every row of row_len levels */
    uint8_t row_zero;                            /* the current row's row_zero bit */
    uint32_t row_len;                            /* levels per row (row_skip == 1), 1..65535 */
    uint32_t row_left;                           /* levels left in the current row (0: a row starts next) */
    uint32_t rans_words;                         /* rANS words in the payload (header) */
    uint32_t raw_words;                          /* raw-bit words in the payload (header) */
    uint32_t rans_left;                          /* rANS words not yet read */
    uint32_t raw_left;                           /* raw words not yet read */
    uint32_t x;                                  /* rANS state, in [2^16, 2^32) between levels */
    uint32_t bits;                               /* raw bits read but not used, LSB first */
    uint32_t nbits;                              /* how many (0..31) */
} dc_levels_fast_t;

/* The adaptive models of the CABAC syntax. */
typedef struct {
    dc_cabac_prob_t prob[DC_LEVELS_NUM_CTX];      /* adaptive models: P(bin == 0) */
    dc_cabac_state_t state[DC_LEVELS_NUM_CTX];    /* adaptation states (warm-up) */
    uint16_t adapt[DC_CABAC_STATES];              /* shift and next state by state (dc_cabac_adapt_table) */
    uint8_t classes[32];                          /* row class | start bucket << 3, by clz(mean_acc | 1) */
} dc_levels_cabac_t;

typedef struct {
    dc_cabac_dec_t ac;                            /* range decoder between slices */
    union {
        dc_levels_cabac_t cabac;                  /* CABAC syntax (params.fast == 0) */
        dc_levels_fast_t fast;                    /* fast syntax (params.fast == 1) */
    } m;
    dc_levels_params_t params;
    uint8_t left_sign;                            /* sign class of the last coded value */
    uint8_t dq_state;                             /* dependent-quantization state 0..7 */
    uint32_t mean_acc;                            /* running mean of |coded| * 64 */
    dc_levels_col_t *cols;                        /* caller's column buffer (col_stride entries) */
    uint32_t col;                                 /* current column, 0..col_stride-1 */
    uint32_t row_left;                            /* levels left in the current row (row_skip) */
    uint8_t row_zero;                             /* the current row is skipped (all coded values 0) */
    int32_t last_level;                           /* previous level (pred LEFT) */
    uint32_t remaining;                           /* levels still to decode */
    int32_t status;                               /* sticky error, DC_OK while fine */
} dc_levels_dec_t;

#define DC_LEVELS_DEC_BYTES 848u /* sizeof(dc_levels_dec_t) on Cortex-M (arm-none-eabi-gcc 12) */

/* Parse the header of `payload` (`len` bytes) into *params; *header_len gets its size.
 * Returns DC_OK, DC_ERR_ARG, DC_ERR_TRUNCATED (shorter than its header) or DC_ERR_PARAMS. */
dc_status_t dc_levels_payload_params(const uint8_t *payload, size_t len, dc_levels_params_t *params,
                                     size_t *header_len);

/* Start decoding `count` levels from `payload`. `cols` may be NULL when n_cols == 0; it must
 * hold at least params.col_stride entries (else DC_ERR_BUFFER). */
dc_status_t dc_levels_dec_init(dc_levels_dec_t *dec, const uint8_t *payload, size_t len, uint32_t count,
                               dc_levels_col_t *cols, uint32_t n_cols);

/* Decode the next `n` levels into out[0..n-1]. `base` holds the n co-located base levels
 * (required iff pred_mode == DC_PRED_BASE, else ignored and may be NULL). When the last level
 * has been decoded the termination is checked (DC_ERR_TRAILING / DC_ERR_TRUNCATED). */
dc_status_t dc_levels_read(dc_levels_dec_t *dec, int32_t *out, uint32_t n, const int32_t *base);

/* Internal (dc_levels_fast.c): parse a fast-syntax header (payload[0] bit 7 set) and its
 * class table; fills *tab when not NULL. Same return codes as dc_levels_payload_params(). */
dc_status_t dc_levels_fast_header(const uint8_t *payload, size_t len, dc_levels_params_t *params,
                                  size_t *header_len, dc_levels_fast_t *tab);
/* Internal: start / continue decoding a fast-syntax payload (called by the functions above). */
dc_status_t dc_levels_fast_start(dc_levels_dec_t *dec, const uint8_t *payload, size_t len, size_t header_len);
dc_status_t dc_levels_fast_read(dc_levels_dec_t *dec, int32_t *out, uint32_t n);
dc_status_t dc_levels_fast_finish(const dc_levels_dec_t *dec);

/* Levels not yet decoded. */
uint32_t dc_levels_remaining(const dc_levels_dec_t *dec);

#endif /* DC_LEVELS_H */
