/* dc_levels_fast_enc.h: host-only encoder of fast-syntax tensor payloads (docs/coder.md
 * section 10; the inverse of firmware/lib/src/coder/dc_levels_fast.c).
 *
 * Memory: the caller owns `levels` and `out`; the encoder allocates the rANS word buffer
 * (2 bytes per level) on the heap for the duration of a call.
 * Return codes: DC_OK, DC_ERR_ARG (bad pointer, a level outside [-32767, 32767] or outside the
 * layout's classes, count > 2^28), DC_ERR_PARAMS (an invalid layout), DC_ERR_BUFFER (out too
 * small; *out_len then holds 0), DC_ERR_INTERNAL (allocation failed).
 */
#ifndef DC_LEVELS_FAST_ENC_H
#define DC_LEVELS_FAST_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "dc_levels.h"
#include "dc_status.h"

/* Bytes of a fast payload for `count` levels can never exceed this (per level at most one rANS
 * word and 16 raw bits, plus a row_zero bit per row). */
#define DC_LEVELS_FAST_ENC_BOUND(count) (DC_LEVELS_FAST_MAX_HEADER + 8u + (size_t)(count) * 5u)

/* The class layout of a fast payload: class 0 is magnitude 0; class c >= 1 holds 2^nbits[c]
 * magnitudes following those of class c - 1. nbits[0] is ignored. */
typedef struct {
    uint8_t prec;      /* table precision 1..9 */
    uint8_t n_classes; /* 1..32 */
    uint8_t nbits[DC_LEVELS_FAST_MAX_CLASSES];
} dc_levels_fast_layout_t;

/* Write the fast payload of levels[0..count-1] with *layout (frequencies from the coded levels).
 * row_len 1..65535 codes with row skipping (a row_zero bit per row of row_len levels; the rows
 * that are all zero are not coded otherwise); 0 without. */
dc_status_t dc_levels_fast_encode(const int32_t *levels, uint32_t count, const dc_levels_fast_layout_t *layout,
                                  uint32_t row_len, uint8_t *out, size_t cap, size_t *out_len);

/* Choose the layout that codes the levels smallest with row_len (as in dc_levels_fast_encode):
 * the class partition minimising the ideal size of the coded levels (class entropy + raw bits +
 * table bits), then the precision 1..9 giving the fewest bytes. */
dc_status_t dc_levels_fast_choose(const int32_t *levels, uint32_t count, uint32_t row_len,
                                  dc_levels_fast_layout_t *layout);

#endif /* DC_LEVELS_FAST_ENC_H */
