/* dc_cabac_enc.h: the range encoder matching dc_cabac.h, with a cost-only mode for parameter search.
 *
 * Output goes to a caller buffer (out, cap); on overflow the encoder keeps counting but stops
 * writing and reports DC_ERR_BUFFER from dc_cabac_enc_finish(). Bytes are most significant first.
 * The bin functions are static inline and take the cost-only switch as an argument so that a
 * caller passing a constant gets a loop without the test.
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
    uint64_t work;       /* cost-only mode: context-coded bins + bypass groups (the decoder's work) */
} dc_cabac_enc_t;

/* -log2(p / 4096) * 256 for p = 0..4096 (index 0 saturated), built on first use. */
extern uint32_t dc_cabac_cost_table[4097];
void dc_cabac_cost_table_init(void);

void dc_cabac_enc_init(dc_cabac_enc_t *enc, uint8_t *out, size_t cap, int cost_only);
/* Flush (docs/coder.md, "Termination"); returns DC_OK, DC_ERR_BUFFER or DC_ERR_INTERNAL. */
dc_status_t dc_cabac_enc_finish(dc_cabac_enc_t *enc);
void dc_cabac_enc_put_bytes(dc_cabac_enc_t *enc);

/* Move the top byte of low out (LZMA's ShiftLow): the common case inline, carries out of line. */
static inline void dc_cabac_enc_shift_low(dc_cabac_enc_t *enc)
{
    if ((uint32_t)enc->low < 0xFF000000u || (enc->low >> 32) != 0u) {
        dc_cabac_enc_put_bytes(enc);
    }
    enc->cache_size++;
    enc->low = (enc->low & 0x00FFFFFFu) << 8;
}

/* Encode (or cost) `bin` with context c of (prob, state); `adapt` from dc_cabac_adapt_table(). */
static inline void dc_cabac_encode_bin(dc_cabac_enc_t *e, dc_cabac_prob_t *prob, dc_cabac_state_t *state,
                                       const uint16_t *adapt, unsigned c, unsigned bin, const int cost_only)
{
    uint32_t p = prob[c];
    unsigned a = adapt[state[c]];
    state[c] = (dc_cabac_state_t)(a >> 8);
    prob[c] = (dc_cabac_prob_t)dc_cabac_adapt(p, bin, a & 0xFFu);
    if (cost_only) {
        e->cost += dc_cabac_cost_table[(bin ? DC_CABAC_PROB_ONE - p : p) >> 4];
        e->work++;
        return;
    }
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

/* Encode the n (1..16) low bits of value as one bypass group (docs/coder.md, "Arithmetic decoder"). */
static inline void dc_cabac_encode_group(dc_cabac_enc_t *e, uint32_t value, unsigned n, const int cost_only)
{
    if (cost_only) {
        e->cost += 256u * n;
        e->work++;
        return;
    }
    uint32_t r = e->range >> n;
    e->low += (uint64_t)value * r;
    e->range = r;
    while (e->range < DC_CABAC_TOP) {
        e->range <<= 8;
        dc_cabac_enc_shift_low(e);
    }
}

#endif /* DC_CABAC_ENC_H */
