/* dc_levels_enc.h: host-only encoder of tensor payloads (the inverse of firmware's dc_levels.h).
 *
 * Spec: docs/coder.md. The encoder writes exactly the syntax the decoder reads; context
 * selection and binarization come from the shared header dc_levels_ctx.h.
 * Memory: the caller owns `levels`, `base` and `out`; the encoder allocates a column buffer
 * (col_stride entries) on the heap for the duration of a call and frees it.
 * Return codes: DC_OK, DC_ERR_ARG (bad pointer, a level outside [-32767, 32767], a level that
 * DQ cannot reach from its state, missing base, params that the format forbids),
 * DC_ERR_BUFFER (out too small; *out_len then holds 0), DC_ERR_INTERNAL (allocation failed).
 */
#ifndef DC_LEVELS_ENC_H
#define DC_LEVELS_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "dc_levels.h"
#include "dc_status.h"

/* Bytes of a payload for `count` levels can never exceed this (header + worst-case bins). */
#define DC_LEVELS_ENC_BOUND(count) (16u + (size_t)(count) * 96u)

/* Write the payload of levels[0..count-1] coded with *params into out[0..cap-1]. */
dc_status_t dc_levels_encode(const int32_t *levels, uint32_t count, const int32_t *base,
                             const dc_levels_params_t *params, uint8_t *out, size_t cap, size_t *out_len);

/* The size in bits (times 256) the arithmetic-coded part of the first `count` levels would
 * take with *params, estimated from the model probabilities without writing anything. */
dc_status_t dc_levels_cost(const int32_t *levels, uint32_t count, const int32_t *base,
                           const dc_levels_params_t *params, uint64_t *cost);

/* Choose the parameters that code the levels smallest among a few candidates (col_stride in
 * {0, kernel_len, row_len}, rice on/off, prediction none/left/up/base, two adaptation windows),
 * trying each on at most `max_trial` levels. `base` may be NULL; dq_flag fixes DQ mode. */
dc_status_t dc_levels_choose(const int32_t *levels, uint32_t count, const int32_t *base, int dq_flag,
                             uint32_t kernel_len, uint32_t row_len, uint32_t max_trial,
                             dc_levels_params_t *best);

/* Validate params the way the decoder does (DC_ERR_PARAMS when it would reject them). */
dc_status_t dc_levels_check_params(const dc_levels_params_t *params);

/* Write the header of *params into out (at least DC_LEVELS_MAX_HEADER bytes); returns its length. */
size_t dc_levels_write_header(const dc_levels_params_t *params, uint8_t *out);

#endif /* DC_LEVELS_ENC_H */
