/* dc_cabac.h: the binary arithmetic decoding engine (LZMA-style range decoder, dual-rate models).
 *
 * Spec: docs/coder.md, sections "Probability model" and "Arithmetic decoder".
 *
 * A context (dc_cabac_ctx_t) holds two 16-bit estimates of P(bin == 0), scaled by 65536, one
 * adapting fast and one slowly; the coding probability is their mean. A per-context use count
 * (uint8_t, owned by the caller beside the context) speeds up adaptation of fresh contexts.
 *
 * The decoder reads the caller's payload buffer (not copied, not modified; it must stay valid
 * while decoding), one byte at a time, most significant byte first. Past the end of the buffer
 * it reads zero bytes ("virtual bytes"); a well-formed stream consumes exactly 3 virtual bytes
 * (docs/coder.md, "Termination"), which is how truncated and over-long payloads are told apart.
 * The hot functions are static inline so the level decoder can inline them.
 */
#ifndef DC_CABAC_H
#define DC_CABAC_H

#include <stdint.h>

#include "dc_status.h"

#define DC_CABAC_PROB_ONE 65536u   /* probabilities are P(bin == 0) * 65536, in [1, 65535] */
#define DC_CABAC_PROB_INIT 32768u  /* every context starts at P = 1/2 */
#define DC_CABAC_COUNT_MAX 30u     /* the use count saturates here */
#define DC_CABAC_TOP (1u << 24)    /* renormalise when range falls below this */
#define DC_CABAC_VIRTUAL 3u        /* virtual zero bytes a well-formed stream consumes */

/* One adaptive binary model: two estimates of P(bin == 0) * 65536. */
typedef struct {
    uint16_t p_fast; /* window 2^-shift_fast */
    uint16_t p_slow; /* window 2^-shift_slow */
} dc_cabac_ctx_t;

/* Range-decoder state. `pos` counts consumed bytes including virtual ones, capped at
 * len + DC_CABAC_VIRTUAL + 1 (which then means "read past the end": truncated). */
typedef struct {
    const uint8_t *buf; /* payload bytes of the arithmetic-coded part (borrowed) */
    uint32_t len;       /* number of bytes at buf */
    uint32_t pos;       /* bytes consumed so far, virtual zeros included */
    uint32_t range;     /* current interval width, >= DC_CABAC_TOP between bins */
    uint32_t code;      /* offset of the coded value inside the interval; < range if valid */
} dc_cabac_dec_t;

/* Set `n` contexts to P = 1/2 and their counts to 0. */
void dc_cabac_ctx_init(dc_cabac_ctx_t *ctx, uint8_t *count, uint32_t n);

/* Start decoding `len` bytes at `buf` (reads the first 4 bytes into the code register).
 * Returns DC_OK, DC_ERR_ARG (NULL buf with len > 0, or len > 2^32 - 8), or DC_ERR_CORRUPT
 * (the first 4 bytes are 0xFFFFFFFF, which no encoder produces). */
dc_status_t dc_cabac_dec_init(dc_cabac_dec_t *dec, const uint8_t *buf, uint32_t len);

/* After the last bin: DC_OK if exactly len bytes (+ 3 virtual) were consumed, DC_ERR_TRAILING
 * if real bytes are left over, DC_ERR_TRUNCATED if more than 3 virtual bytes were needed,
 * DC_ERR_CORRUPT if the code register left the interval. */
dc_status_t dc_cabac_dec_finish(const dc_cabac_dec_t *dec);

/* Adapt a model towards `bin`. The effective shifts are min(shift, 1 + count / 2): a fresh
 * model learns fast, then settles to the signalled windows. */
static inline void dc_cabac_update(dc_cabac_ctx_t *c, uint8_t *count, unsigned bin, unsigned shift_fast,
                                   unsigned shift_slow)
{
    unsigned n = *count;
    unsigned warm = 1u + (n >> 1);
    *count = (uint8_t)(n + (n < DC_CABAC_COUNT_MAX));
    unsigned sf = warm < shift_fast ? warm : shift_fast;
    unsigned ss = warm < shift_slow ? warm : shift_slow;
    uint32_t pf = c->p_fast;
    uint32_t ps = c->p_slow;
    if (bin) {
        pf -= pf >> sf;
        ps -= ps >> ss;
    } else {
        pf += (DC_CABAC_PROB_ONE - pf) >> sf;
        ps += (DC_CABAC_PROB_ONE - ps) >> ss;
    }
    c->p_fast = (uint16_t)pf;
    c->p_slow = (uint16_t)ps;
}

/* The next payload byte, or a virtual zero past the end. */
static inline uint32_t dc_cabac_next_byte(dc_cabac_dec_t *d)
{
    uint32_t pos = d->pos;
    if (pos < d->len) {
        d->pos = pos + 1u;
        return d->buf[pos];
    }
    if (pos <= d->len + DC_CABAC_VIRTUAL) {
        d->pos = pos + 1u;
    }
    return 0u;
}

/* True once the decoder has needed more virtual bytes than a valid stream can. */
static inline int dc_cabac_overrun(const dc_cabac_dec_t *d)
{
    return d->pos > d->len + DC_CABAC_VIRTUAL;
}

/* Decode one context-coded bin with model `c` (count `count`) and adapt the model. */
static inline unsigned dc_cabac_decode_bin(dc_cabac_dec_t *d, dc_cabac_ctx_t *c, uint8_t *count,
                                           unsigned shift_fast, unsigned shift_slow)
{
    uint32_t p = ((uint32_t)c->p_fast + c->p_slow) >> 1;
    uint32_t bound = (d->range >> 16) * p;
    unsigned bin;
    if (d->code < bound) {
        d->range = bound;
        bin = 0u;
    } else {
        d->code -= bound;
        d->range -= bound;
        bin = 1u;
    }
    dc_cabac_update(c, count, bin, shift_fast, shift_slow);
    while (d->range < DC_CABAC_TOP) {
        d->range <<= 8;
        d->code = (d->code << 8) | dc_cabac_next_byte(d);
    }
    return bin;
}

/* Decode `n` (0..24) equiprobable bins, first bin in the most significant position. */
static inline uint32_t dc_cabac_decode_bypass(dc_cabac_dec_t *d, unsigned n)
{
    uint32_t value = 0u;
    uint32_t range = d->range;
    uint32_t code = d->code;
    while (n-- > 0u) {
        range >>= 1;
        uint32_t mask = 0u - (uint32_t)(code >= range); /* branch-free: bins are random */
        code -= range & mask;
        value = (value << 1) | (mask & 1u);
        if (range < DC_CABAC_TOP) {
            range <<= 8;
            code = (code << 8) | dc_cabac_next_byte(d);
        }
    }
    d->range = range;
    d->code = code;
    return value;
}

#endif /* DC_CABAC_H */
