/* dc_levels.h: decoding a tensor payload of integer weight levels, slice by slice.
 *
 * Spec: docs/coder.md (normative). A payload is a header (coder_flags, shift_idx, col_stride)
 * followed by the arithmetic-coded bytes; it decodes given only the payload, the level count
 * and, for delta payloads (pred_mode == DC_PRED_BASE), the co-located base levels.
 *
 * Memory: no allocation. The caller owns
 *   - the decoder state dc_levels_dec_t (sizeof: DC_LEVELS_DEC_BYTES on a 32-bit target,
 *     of which 885 bytes are context state: 177 contexts x (4 + 1) bytes),
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
#define DC_LEVELS_MAX_HEADER 5u      /* header bytes at most: 2 + LEB128 col_stride (<= 3) */

/* The per-tensor coder parameters, as signalled in the payload header. */
typedef struct {
    uint8_t pred_mode;   /* DC_PRED_NONE / LEFT / UP / BASE */
    uint8_t dq_flag;     /* 1: levels are 8-state dependent-quantization reconstructions */
    uint8_t rice_flag;   /* 1: adaptive Rice split of abs_remainder */
    uint8_t shift_fast;  /* fast adaptation window 2^-shift_fast, 1..15 */
    uint8_t shift_slow;  /* slow adaptation window, shift_fast..15 */
    uint16_t col_stride; /* column period for column contexts and pred UP; 0 = none */
} dc_levels_params_t;

typedef struct {
    dc_cabac_dec_t ac;                           /* range decoder */
    dc_cabac_ctx_t ctx[DC_LEVELS_NUM_CTX];        /* adaptive models */
    uint8_t count[DC_LEVELS_NUM_CTX];             /* model use counts (warm-up) */
    dc_levels_params_t params;
    dc_levels_nbr_t nbr;                          /* scan neighbourhood */
    dc_levels_col_t *cols;                        /* caller's column buffer (col_stride entries) */
    uint32_t col;                                 /* current column, 0..col_stride-1 */
    int32_t last_level;                           /* previous level (pred LEFT) */
    uint32_t remaining;                           /* levels still to decode */
    int32_t status;                               /* sticky error, DC_OK while fine */
} dc_levels_dec_t;

#define DC_LEVELS_DEC_BYTES 944u /* sizeof(dc_levels_dec_t) on Cortex-M (arm-none-eabi-gcc 12) */

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

/* Levels not yet decoded. */
uint32_t dc_levels_remaining(const dc_levels_dec_t *dec);

#endif /* DC_LEVELS_H */
