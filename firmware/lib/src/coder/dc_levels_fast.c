/* dc_levels_fast.c: the fast level syntax: static per-tensor rANS over magnitude classes, raw
 * remainder and sign bits (docs/coder.md section 10).
 *
 * Speed: one table lookup per level (slot -> class), one multiply, at most one 16-bit read from
 * each of the two streams; no division. The slice loop is instantiated twice: without bounds
 * tests when both streams hold at least one word per level of the slice, with them otherwise
 * (the tail of a tensor). With row skipping, a raw bit before each row says whether the row is
 * all zero (then nothing else is read for it); the slice loop runs on the coded rows' levels. */
#include "dc_levels.h"

#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define DC_FAST_INLINE inline __attribute__((always_inline))
#else /* -Os: one copy of the slice loop, shared */
#define DC_FAST_INLINE inline
#endif

/* Read a minimal unsigned LEB128 value < 2^32 (at most 5 bytes) at payload[*pos]. */
static dc_status_t read_leb32(const uint8_t *payload, size_t len, size_t *pos, uint32_t *value)
{
    uint32_t v = 0u;
    for (unsigned i = 0;; i++) {
        if (*pos >= len) {
            return DC_ERR_TRUNCATED;
        }
        uint8_t b = payload[(*pos)++];
        if (i == 4u && b > 15u) { /* the fifth byte carries the top 4 bits */
            return DC_ERR_PARAMS;
        }
        v |= (uint32_t)(b & 0x7Fu) << (7u * i);
        if ((b & 0x80u) == 0u) {
            if (b == 0u && i > 0u) {
                return DC_ERR_PARAMS;
            }
            break;
        }
    }
    *value = v;
    return DC_OK;
}

/* MSB-first bit reader over payload[*pos..len) for the class table. */
typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;    /* byte index of the next unread byte */
    unsigned used; /* bits of payload[pos - 1] already taken (8 = none left) */
} bit_reader_t;

static dc_status_t read_bits(bit_reader_t *br, unsigned n, uint32_t *value)
{
    uint32_t v = 0u;
    for (unsigned i = 0; i < n; i++) {
        if (br->used == 8u) {
            if (br->pos >= br->len) {
                return DC_ERR_TRUNCATED;
            }
            br->pos++;
            br->used = 0u;
        }
        v = (v << 1) | ((br->p[br->pos - 1u] >> (7u - br->used)) & 1u);
        br->used++;
    }
    *value = v;
    return DC_OK;
}

/* Bits needed for a value 0..rem: the bit length of rem (0 for rem == 0). */
static unsigned bit_length(uint32_t rem)
{
    unsigned n = 0u;
    while (rem) {
        n++;
        rem >>= 1;
    }
    return n;
}

dc_status_t dc_levels_fast_header(const uint8_t *payload, size_t len, dc_levels_params_t *params,
                                  size_t *header_len, dc_levels_fast_t *tab)
{
    if (len < 2u) {
        return DC_ERR_TRUNCATED;
    }
    uint8_t b0 = payload[0];
    uint8_t b1 = payload[1];
    if ((b0 & 0x30u) != 0u || (b0 & 0x0Fu) >= DC_LEVELS_FAST_MAX_PREC || (b1 & 0xE0u) != 0u) {
        return DC_ERR_PARAMS;
    }
    params->pred_mode = DC_PRED_NONE;
    params->dq_flag = 0u;
    params->sign_bypass = 0u;
    params->row_skip = 0u;
    params->rem_ctx = 0u;
    params->sig_skip = 0u;
    params->window = 0u;
    params->start_base = 0u;
    params->col_stride = 0u;
    params->row_len = 0u;
    params->fast = 1u;
    const unsigned prec = (b0 & 0x0Fu) + 1u;
    size_t pos = 2u;
    uint32_t rans_words = 0u, raw_words = 0u;
    dc_status_t st = read_leb32(payload, len, &pos, &rans_words);
    if (st == DC_OK) {
        st = read_leb32(payload, len, &pos, &raw_words);
    }
    uint32_t row_len = 0u;
    if (st == DC_OK && (b0 & 0x40u) != 0u) { /* row_skip: the row length follows */
        st = read_leb32(payload, len, &pos, &row_len);
        if (st == DC_OK && (row_len == 0u || row_len > 65535u)) {
            st = DC_ERR_PARAMS;
        }
    }
    if (st != DC_OK) {
        return st;
    }
    params->row_skip = row_len != 0u ? 1u : 0u;
    params->row_len = (uint16_t)row_len;
    const unsigned n = (b1 & 0x1Fu) + 1u;
    const uint32_t total = 1u << prec;
    bit_reader_t br = {payload, len, pos, 8u};
    uint32_t base = 1u; /* class 0 is magnitude 0 alone */
    uint8_t nraw[DC_LEVELS_FAST_MAX_CLASSES];
    nraw[0] = 0u;
    if (tab) {
        tab->base[0] = 0u;
    }
    for (unsigned c = 1; c < n; c++) {
        uint32_t v;
        st = read_bits(&br, 4u, &v);
        if (st != DC_OK) {
            return st;
        }
        nraw[c] = (uint8_t)(v + 1u); /* remainder bits and the sign */
        if (tab && base <= (uint32_t)DC_LEVELS_MAX_ABS) {
            tab->base[c] = (uint16_t)base;
        }
        base += 1u << v;
    }
    if (base - 1u > (uint32_t)DC_LEVELS_MAX_ABS) { /* the largest magnitude of the last class */
        return DC_ERR_PARAMS;
    }
    uint32_t start = 0u;
    for (unsigned c = 0; c < n; c++) {
        uint32_t f = total - start;
        if (c + 1u < n) {
            st = read_bits(&br, bit_length(total - start), &f);
            if (st != DC_OK) {
                return st;
            }
            if (f > total - start) {
                return DC_ERR_PARAMS;
            }
        }
        if (tab) {
            tab->sym[c] = f | (start << 10) | ((uint32_t)nraw[c] << 20);
            for (uint32_t s = start; s < start + f; s++) {
                tab->slot[s] = (uint8_t)c;
            }
        }
        start += f;
    }
    if (br.used < 8u && (br.p[br.pos - 1u] & (0xFFu >> br.used)) != 0u) { /* padding must be 0 */
        return DC_ERR_PARAMS;
    }
    if (tab) {
        tab->prec = (uint8_t)prec;
        tab->n_classes = (uint8_t)n;
        tab->rans_words = rans_words;
        tab->raw_words = raw_words;
        tab->row_skip = row_len != 0u ? 1u : 0u;
        tab->row_zero = 0u;
        tab->row_len = row_len;
        tab->row_left = 0u;
    }
    *header_len = br.pos;
    return DC_OK;
}

static DC_FAST_INLINE uint32_t load16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

dc_status_t dc_levels_fast_start(dc_levels_dec_t *dec, const uint8_t *payload, size_t len, size_t header_len)
{
    dc_levels_fast_t *f = &dec->m.fast;
    dc_levels_params_t *prm = &dec->params;
    size_t hl = 0;
    dc_status_t st = dc_levels_fast_header(payload, len, prm, &hl, f);
    if (st != DC_OK) {
        return st;
    }
    (void)header_len;
    const uint32_t rans_words = f->rans_words, raw_words = f->raw_words;
    size_t body = len - hl;
    if (dec->remaining == 0u) {
        if (rans_words != 0u || raw_words != 0u) {
            return DC_ERR_PARAMS;
        }
        return body == 0u ? DC_OK : DC_ERR_TRAILING;
    }
    /* exact size: 4-byte state, then both streams */
    uint64_t need = 4u + 2u * ((uint64_t)rans_words + raw_words);
    if ((uint64_t)body < need) {
        return DC_ERR_TRUNCATED;
    }
    if ((uint64_t)body > need) {
        return DC_ERR_TRAILING;
    }
    const uint8_t *p = payload + hl;
    f->x = load16(p) | (load16(p + 2) << 16);
    if (f->x < DC_LEVELS_FAST_LOW) {
        return DC_ERR_CORRUPT;
    }
    if (body > UINT32_MAX) {
        return DC_ERR_ARG;
    }
    dec->ac.buf = p;
    dec->ac.len = (uint32_t)body;
    f->rans = 4u;
    f->rans_left = rans_words;
    f->raw = 4u + 2u * rans_words;
    f->raw_left = raw_words;
    f->bits = 0u;
    f->nbits = 0u;
    return DC_OK;
}

/* Decode n levels; `checked` is a compile-time constant: 0 when both streams are known to hold
 * at least n words (no bounds test needed), else each read is tested. */
static DC_FAST_INLINE dc_status_t fast_slice(dc_levels_fast_t *f, const uint8_t *buf, int32_t *out, uint32_t n,
                                             unsigned prec, const unsigned checked)
{
    const uint8_t *const slot = f->slot;
    const uint32_t *const sym = f->sym;
    const uint16_t *const cbase = f->base;
    const uint32_t mask = (1u << prec) - 1u;
    const uint8_t *rans = buf + f->rans;
    const uint8_t *raw = buf + f->raw;
    const uint8_t *const rans_end = rans + 2u * (size_t)f->rans_left;
    const uint8_t *const raw_end = raw + 2u * (size_t)f->raw_left;
    uint32_t x = f->x;
    uint32_t bits = f->bits;
    uint32_t nb = f->nbits;
    int32_t *const end = out + n;
    while (out != end) {
        uint32_t s = x & mask;
        uint32_t c = slot[s];
        uint32_t e = sym[c];
        x = (e & 0x3FFu) * (x >> prec) + s - ((e >> 10) & 0x3FFu);
        if (x < DC_LEVELS_FAST_LOW) {
            if (checked && rans == rans_end) {
                return DC_ERR_CORRUPT;
            }
            x = (x << 16) | load16(rans);
            rans += 2;
        }
        uint32_t k = e >> 20; /* raw bits: remainder and sign (0 for magnitude 0) */
        if (nb < k) {
            if (checked && raw == raw_end) {
                return DC_ERR_CORRUPT;
            }
            bits |= load16(raw) << nb;
            raw += 2;
            nb += 16u;
        }
        uint32_t v = bits & ((1u << k) - 1u);
        bits >>= k;
        nb -= k;
        int32_t mag = (int32_t)(cbase[c] + (v >> 1));
        int32_t neg = -(int32_t)(v & 1u);
        *out++ = (mag ^ neg) - neg;
    }
    f->rans_left -= ((uint32_t)(rans - buf) - f->rans) / 2u;
    f->raw_left -= ((uint32_t)(raw - buf) - f->raw) / 2u;
    f->rans = (uint32_t)(rans - buf);
    f->raw = (uint32_t)(raw - buf);
    f->x = x;
    f->bits = bits;
    f->nbits = nb;
    return DC_OK;
}

/* n zero levels (an all-zero row). GCC would turn the loop into a memset call (also where it is
 * inlined), which a bare firmware has no C library for. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((noinline, optimize("no-tree-loop-distribute-patterns")))
#endif
static void zero_levels(int32_t *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        out[i] = 0;
    }
}

/* Decode n levels without row starts among them (the slice loop, instantiated twice). */
static DC_FAST_INLINE dc_status_t fast_levels(dc_levels_fast_t *f, const uint8_t *buf, int32_t *out, uint32_t n)
{
    unsigned prec = f->prec;
    if (f->rans_left >= n && f->raw_left >= n) {
        return fast_slice(f, buf, out, n, prec, 0u);
    }
    return fast_slice(f, buf, out, n, prec, 1u);
}

/* Decode n levels with row skipping: a row_zero bit from the raw stream before each row. Kept
 * out of line so that the loop without rows compiles exactly as before. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static dc_status_t fast_rows(dc_levels_fast_t *f, const uint8_t *buf, int32_t *out, uint32_t n)
{
    while (n > 0u) {
        if (f->row_left == 0u) { /* a row starts: its row_zero bit */
            if (f->nbits == 0u) {
                if (f->raw_left == 0u) {
                    return DC_ERR_CORRUPT;
                }
                f->bits = load16(buf + f->raw);
                f->raw += 2u;
                f->raw_left--;
                f->nbits = 16u;
            }
            f->row_zero = (uint8_t)(f->bits & 1u);
            f->bits >>= 1;
            f->nbits--;
            f->row_left = f->row_len;
        }
        uint32_t m = n < f->row_left ? n : f->row_left;
        if (f->row_zero) {
            zero_levels(out, m);
        } else {
            dc_status_t st = fast_levels(f, buf, out, m);
            if (st != DC_OK) {
                return st;
            }
        }
        out += m;
        n -= m;
        f->row_left -= m;
    }
    return DC_OK;
}

dc_status_t dc_levels_fast_read(dc_levels_dec_t *dec, int32_t *out, uint32_t n)
{
    dc_levels_fast_t *f = &dec->m.fast;
    if (f->row_skip) {
        return fast_rows(f, dec->ac.buf, out, n);
    }
#if defined(__OPTIMIZE_SIZE__)
    return fast_levels(f, dec->ac.buf, out, n);
#else
    unsigned prec = f->prec;
    if (f->rans_left >= n && f->raw_left >= n) {
        return fast_slice(f, dec->ac.buf, out, n, prec, 0u);
    }
    return fast_slice(f, dec->ac.buf, out, n, prec, 1u);
#endif
}

dc_status_t dc_levels_fast_finish(const dc_levels_dec_t *dec)
{
    const dc_levels_fast_t *f = &dec->m.fast;
    if (f->x != DC_LEVELS_FAST_LOW || f->rans_left != 0u || f->raw_left != 0u || f->bits != 0u) {
        return DC_ERR_CORRUPT;
    }
    return DC_OK;
}
