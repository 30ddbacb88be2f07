/* dc_cabac_enc.h: the range encoder matching dc_cabac.h, with a cost-only mode for parameter search.
 *
 * Output goes to a caller buffer (out, cap); on overflow the encoder keeps counting but stops
 * writing and reports DC_ERR_BUFFER from dc_cabac_enc_finish(). Bytes are most significant first.
 */
#ifndef DC_CABAC_ENC_H
#define DC_CABAC_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "dc_cabac.h"
#include "dc_status.h"

typedef struct {
    uint64_t low;        /* low end of the interval, 33 bits used */
    uint32_t range;      /* interval width */
    uint8_t cache;       /* last byte not yet written (may still receive a carry) */
    uint64_t cache_size; /* cache byte plus pending 0xFF bytes */
    int first;           /* the first byte out is the always-zero top byte: dropped */
    uint8_t *out;        /* caller buffer, NULL in cost-only mode */
    size_t cap;
    size_t pos;          /* bytes produced (also counted past cap) */
    int bad_first;       /* the dropped byte was not zero: internal error */
    int cost_only;       /* 1: only accumulate `cost` */
    uint64_t cost;       /* bits * 256, cost-only mode */
} dc_cabac_enc_t;

/* -log2(p / 4096) * 256 for p = 0..4096 (index 0 saturated), built on first use. */
extern uint32_t dc_cabac_cost_table[4097];
void dc_cabac_cost_table_init(void);

void dc_cabac_enc_init(dc_cabac_enc_t *enc, uint8_t *out, size_t cap, int cost_only);
/* Flush (docs/coder.md, "Termination"); returns DC_OK, DC_ERR_BUFFER or DC_ERR_INTERNAL. */
dc_status_t dc_cabac_enc_finish(dc_cabac_enc_t *enc);
void dc_cabac_enc_shift_low(dc_cabac_enc_t *enc);

static inline void dc_cabac_encode_bin(dc_cabac_enc_t *e, dc_cabac_ctx_t *c, uint8_t *count, unsigned bin,
                                       unsigned shift_fast, unsigned shift_slow)
{
    uint32_t p = ((uint32_t)c->p_fast + c->p_slow) >> 1;
    if (e->cost_only) {
        e->cost += dc_cabac_cost_table[(bin ? DC_CABAC_PROB_ONE - p : p) >> 4];
    } else {
        uint32_t bound = (e->range >> 16) * p;
        if (bin) {
            e->low += bound;
            e->range -= bound;
        } else {
            e->range = bound;
        }
        while (e->range < DC_CABAC_TOP) {
            e->range <<= 8;
            dc_cabac_enc_shift_low(e);
        }
    }
    dc_cabac_update(c, count, bin, shift_fast, shift_slow);
}

/* Encode the n (0..24) low bits of value as equiprobable bins, most significant first. */
static inline void dc_cabac_encode_bypass(dc_cabac_enc_t *e, uint32_t value, unsigned n)
{
    if (e->cost_only) {
        e->cost += 256u * n;
        return;
    }
    while (n-- > 0u) {
        e->range >>= 1;
        if ((value >> n) & 1u) {
            e->low += e->range;
        }
        if (e->range < DC_CABAC_TOP) {
            e->range <<= 8;
            dc_cabac_enc_shift_low(e);
        }
    }
}

#endif /* DC_CABAC_ENC_H */
