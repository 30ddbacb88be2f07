/* dc_levels_enc.h: host-only encoder of tensor payloads (the inverse of firmware's dc_levels.h).
 *
 * Spec: docs/coder.md. The encoder writes exactly the syntax the decoder reads; context
 * selection and binarization come from the shared header dc_levels_ctx.h.
 * Memory: the caller owns `levels`, `base` and `out`; the encoder allocates its context state
 * and a column buffer (col_stride entries) on the heap for the duration of a call.
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

/* Effort of the parameter search (dc_levels_choose). */
#define DC_LEVELS_EFFORT_MIN 0u
#define DC_LEVELS_EFFORT_DEFAULT 1u
#define DC_LEVELS_EFFORT_MAX 3u

/* Write the payload of levels[0..count-1] coded with *params into out[0..cap-1]. */
dc_status_t dc_levels_encode(const int32_t *levels, uint32_t count, const int32_t *base,
                             const dc_levels_params_t *params, uint8_t *out, size_t cap, size_t *out_len);

/* The size in bits (times 256) the payload of the first `count` levels would take with
 * *params (header included), estimated from the model probabilities without writing anything;
 * *work (may be NULL) gets the decoder's work: context-coded bins plus bypass groups. */
dc_status_t dc_levels_cost(const int32_t *levels, uint32_t count, const int32_t *base,
                           const dc_levels_params_t *params, uint64_t *cost, uint64_t *work);

/* Choose the parameters that code the levels smallest among candidates (docs/coder.md,
 * "Encoder parameter choice"): column period in {0, kernel_len, row_len}, Rice split,
 * prediction, adaptation window, sign coding. `effort` 0..3 sets how many candidates are
 * tried and on how many levels (0: none, rules of thumb only; 3: all, on the whole tensor).
 * `base` may be NULL; dq_flag fixes DQ mode. */
dc_status_t dc_levels_choose(const int32_t *levels, uint32_t count, const int32_t *base, int dq_flag,
                             uint32_t kernel_len, uint32_t row_len, unsigned effort,
                             dc_levels_params_t *best);

/* Validate params the way the decoder does (DC_ERR_PARAMS when it would reject them). */
dc_status_t dc_levels_check_params(const dc_levels_params_t *params);

/* Write the header of *params into out (at least DC_LEVELS_MAX_HEADER bytes); returns its length. */
size_t dc_levels_write_header(const dc_levels_params_t *params, uint8_t *out);

#endif /* DC_LEVELS_ENC_H */
