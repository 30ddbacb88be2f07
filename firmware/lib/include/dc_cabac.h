/* dc_cabac.h: the binary arithmetic decoding engine (LZMA-style range decoder, adaptive models).
 *
 * Spec: docs/coder.md, sections "Probability model" and "Arithmetic decoder".
 *
 * A context is a 16-bit estimate of P(bin == 0) scaled by 65536 (dc_cabac_prob_t) plus a
 * one-byte adaptation state (dc_cabac_state_t) counting the context's first uses: a fresh
 * context learns at rate 1/2, 1/2, 1/4, 1/4, ... until the tensor's window (state 0).
 * Both arrays are owned by the caller.
 *
 * The decoder reads the caller's payload buffer (not copied, not modified; it must stay valid
 * while decoding), one byte at a time, most significant byte first. Past the end of the buffer
 * it reads zero bytes ("virtual bytes"); a well-formed stream consumes exactly 3 virtual bytes
 * (docs/coder.md, "Termination"), which is how truncated and over-long payloads are told apart.
 *
 * Speed: the level decoder keeps `range`, `code` and the input pointer in local variables for
 * a whole slice (DC_CABAC_* macros below operate on such locals), so the hot path is a handful
 * of instructions per bin; dc_cabac_dec_t only holds them between slices.
 */
#ifndef DC_CABAC_H
#define DC_CABAC_H

#include <stdint.h>

#include "dc_status.h"

#define DC_CABAC_PROB_ONE 65536u   /* probabilities are P(bin == 0) * 65536, in [1, 65535] */
#define DC_CABAC_PROB_INIT 32768u  /* every context starts at P = 1/2 */
#define DC_CABAC_TOP (1u << 24)    /* renormalise when range falls below this */
#define DC_CABAC_VIRTUAL 3u        /* virtual zero bytes a well-formed stream consumes */
#define DC_CABAC_MAX_WINDOW 8u     /* largest adaptation window (shift) */
#define DC_CABAC_GROUP_MAX 16u     /* bypass bins in one group at most (one division) */

typedef uint16_t dc_cabac_prob_t;  /* P(bin == 0) * 65536 */
typedef uint8_t dc_cabac_state_t;  /* adaptation state: counts down from 2 * window - 1 to 0 */

/* Range-decoder state between slices. `pos` counts consumed bytes including virtual ones,
 * capped at len + DC_CABAC_VIRTUAL + 1 (which then means "read past the end": truncated). */
typedef struct {
    const uint8_t *buf; /* payload bytes of the arithmetic-coded part (borrowed) */
    uint32_t len;       /* number of bytes at buf */
    uint32_t pos;       /* bytes consumed so far, virtual zeros included */
    uint32_t range;     /* current interval width, >= DC_CABAC_TOP between bins */
    uint32_t code;      /* offset of the coded value inside the interval; < range if valid */
} dc_cabac_dec_t;

/* Set `n` contexts to P = 1/2 and the fresh adaptation state of `window` (1..15). */
void dc_cabac_ctx_init(dc_cabac_prob_t *prob, dc_cabac_state_t *state, uint32_t n, unsigned window);

/* The adaptation table of `window` (DC_CABAC_STATES entries): entry s holds the shift of state
 * s, window - s / 2, in bits 0-7 and the next state, max(s - 1, 0), in bits 8-15. */
#define DC_CABAC_STATES 32u
void dc_cabac_adapt_table(uint16_t *adapt, unsigned window);

/* Start decoding `len` bytes at `buf` (reads the first 4 bytes into the code register).
 * Returns DC_OK, DC_ERR_ARG (NULL buf with len > 0, or len > 2^32 - 8), or DC_ERR_CORRUPT
 * (the first 4 bytes are 0xFFFFFFFF, which no encoder produces). */
dc_status_t dc_cabac_dec_init(dc_cabac_dec_t *dec, const uint8_t *buf, uint32_t len);

/* After the last bin: DC_OK if exactly len bytes (+ 3 virtual) were consumed, DC_ERR_TRAILING
 * if real bytes are left over, DC_ERR_TRUNCATED if more than 3 virtual bytes were needed,
 * DC_ERR_CORRUPT if the code register left the interval. */
dc_status_t dc_cabac_dec_finish(const dc_cabac_dec_t *dec);

/* The next payload byte, or a virtual zero past the end (pos stops at len + VIRTUAL + 1). */
static inline uint32_t dc_cabac_byte(const uint8_t *buf, uint32_t len, uint32_t *pos)
{
    uint32_t p = *pos;
    if (p < len) {
        *pos = p + 1u;
        return buf[p];
    }
    if (p <= len + DC_CABAC_VIRTUAL) {
        *pos = p + 1u;
    }
    return 0u;
}

/* Adapt a probability towards `bin` with shift `sh` (p stays in [1, 65535] for sh >= 1). */
static inline uint32_t dc_cabac_adapt(uint32_t p, unsigned bin, unsigned sh)
{
    return bin ? p - (p >> sh) : p + ((DC_CABAC_PROB_ONE - p) >> sh);
}

/* --- Hot-path macros over local variables -------------------------------------------------
 * They expect in scope: `uint32_t range, code;` `const uint8_t *in, *in_end;` (the next byte
 * and the end of the payload) `uint32_t virt;` (virtual zero bytes consumed so far)
 * `dc_cabac_prob_t *prob; dc_cabac_state_t *state;` and `const uint16_t *adapt` (the
 * adaptation table of the tensor's window, dc_cabac_adapt_table()).
 * Renormalisation is lazy: range may be below 2^24 after a bin and is renormalised before the
 * next one (and at the end of a slice), which keeps the bin's two outcomes apart in the code. */

/* Renormalise: shift in bytes while range < 2^24; past the end of the payload, zero bytes. */
#define DC_CABAC_RENORM()                                                                        \
    do {                                                                                         \
        while (range < DC_CABAC_TOP) {                                                           \
            range <<= 8;                                                                         \
            code <<= 8;                                                                          \
            if (in < in_end) {                                                                   \
                code |= *in++;                                                                   \
            } else {                                                                             \
                virt += virt <= DC_CABAC_VIRTUAL;                                                \
            }                                                                                    \
        }                                                                                        \
    } while (0)

/* Decode one bin with context index `ctx` and adapt the context; evaluates to the bin (0/1).
 * A GNU statement expression would be neater; this stays C99 by assigning `bin`. */
#define DC_CABAC_BIN(bin, ctx)                                                                   \
    do {                                                                                         \
        DC_CABAC_RENORM();                                                                       \
        unsigned c_ = (ctx);                                                                     \
        uint32_t p_ = prob[c_];                                                                  \
        unsigned a_ = adapt[state[c_]];                                                          \
        uint32_t bound_ = (range >> 16) * p_;                                                    \
        state[c_] = (dc_cabac_state_t)(a_ >> 8);                                                 \
        if (code < bound_) {                                                                     \
            range = bound_;                                                                      \
            prob[c_] = (dc_cabac_prob_t)(p_ + ((DC_CABAC_PROB_ONE - p_) >> (a_ & 0xFFu)));       \
            (bin) = 0u;                                                                          \
        } else {                                                                                 \
            code -= bound_;                                                                      \
            range -= bound_;                                                                     \
            prob[c_] = (dc_cabac_prob_t)(p_ - (p_ >> (a_ & 0xFFu)));                             \
            (bin) = 1u;                                                                          \
        }                                                                                        \
    } while (0)

/* Decode a group of `n` (1..16) equiprobable bins as an n-bit value (first bin most
 * significant) with one division: r = range >> n, value = code / r. A value >= 2^n (only a
 * corrupt stream lands in the unused top of the interval) jumps to label `corrupt_label`. */
#define DC_CABAC_GROUP(value, n, corrupt_label)                                                  \
    do {                                                                                         \
        DC_CABAC_RENORM();                                                                       \
        unsigned n_ = (n);                                                                       \
        uint32_t r_ = range >> n_;                                                               \
        uint32_t v_ = code / r_;                                                                 \
        if ((v_ >> n_) != 0u) {                                                                  \
            goto corrupt_label;                                                                  \
        }                                                                                        \
        code -= v_ * r_;                                                                         \
        range = r_;                                                                              \
        (value) = v_;                                                                            \
    } while (0)

#endif /* DC_CABAC_H */
