/* dc_levels_fast_enc.c: fast-syntax encoder and layout choice (docs/coder.md section 10). */
#include "dc_levels_fast_enc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static dc_status_t check_layout(const dc_levels_fast_layout_t *l)
{
    if (l->prec < 1u || l->prec > DC_LEVELS_FAST_MAX_PREC || l->n_classes < 1u ||
        l->n_classes > DC_LEVELS_FAST_MAX_CLASSES) {
        return DC_ERR_PARAMS;
    }
    uint32_t base = 1u;
    for (unsigned c = 1; c < l->n_classes; c++) {
        if (l->nbits[c] > 15u) {
            return DC_ERR_PARAMS;
        }
        base += 1u << l->nbits[c];
    }
    return base - 1u > (uint32_t)DC_LEVELS_MAX_ABS ? DC_ERR_PARAMS : DC_OK;
}

/* Class bases (first magnitude) of a layout; base[n_classes] = one past the last magnitude. */
static void class_bases(const dc_levels_fast_layout_t *l, uint32_t *base)
{
    base[0] = 0u;
    base[1] = 1u;
    for (unsigned c = 1; c < l->n_classes; c++) {
        base[c + 1] = base[c] + (1u << l->nbits[c]);
    }
}

/* Class of magnitude m (m < base[n]) by binary search over the bases. */
static unsigned class_of(const uint32_t *base, unsigned n, uint32_t m)
{
    unsigned lo = 0, hi = n - 1u;
    while (lo < hi) {
        unsigned mid = (lo + hi + 1u) / 2u;
        if (base[mid] <= m) {
            lo = mid;
        } else {
            hi = mid - 1u;
        }
    }
    return lo;
}

/* Quantise counts to frequencies summing to 2^prec, every used class >= 1. Returns 0 when
 * more classes are used than there are slots. */
static int quantise(const uint64_t *cnt, unsigned n, uint64_t total, unsigned prec, uint32_t *freq)
{
    const uint32_t m = 1u << prec;
    uint32_t sum = 0u, used = 0u;
    for (unsigned c = 0; c < n; c++) {
        freq[c] = 0u;
        if (cnt[c]) {
            double q = (double)cnt[c] * m / (double)total;
            uint32_t f = (uint32_t)(q + 0.5);
            freq[c] = f ? f : 1u;
            sum += freq[c];
            used++;
        }
    }
    if (used > m) {
        return 0;
    }
    while (sum != m) { /* move one slot at a time where it costs least / gains most */
        int best = -1;
        double best_d = 0.0;
        for (unsigned c = 0; c < n; c++) {
            if (!cnt[c] || (sum > m && freq[c] <= 1u)) {
                continue;
            }
            double d = sum > m ? (double)cnt[c] * log2((double)freq[c] / (freq[c] - 1u))
                               : -(double)cnt[c] * log2((double)(freq[c] + 1u) / freq[c]);
            if (best < 0 || d < best_d) {
                best = (int)c;
                best_d = d;
            }
        }
        if (sum > m) {
            freq[best]--;
            sum--;
        } else {
            freq[best]++;
            sum++;
        }
    }
    return 1;
}

static unsigned bit_length(uint32_t v)
{
    unsigned n = 0u;
    while (v) {
        n++;
        v >>= 1;
    }
    return n;
}

static size_t put_leb(uint8_t *out, uint32_t v)
{
    size_t n = 0;
    do {
        uint8_t b = (uint8_t)(v & 0x7Fu);
        v >>= 7;
        out[n++] = (uint8_t)(b | (v ? 0x80u : 0u));
    } while (v);
    return n;
}

/* MSB-first bit writer for the class table. */
typedef struct {
    uint8_t *p;
    size_t n;      /* bytes started */
    unsigned used; /* bits used in p[n - 1] (8 = full) */
} bit_writer_t;

static void put_bits(bit_writer_t *bw, uint32_t v, unsigned n)
{
    for (unsigned i = n; i-- > 0;) {
        if (bw->used == 8u) {
            bw->p[bw->n++] = 0u;
            bw->used = 0u;
        }
        bw->p[bw->n - 1u] |= (uint8_t)(((v >> i) & 1u) << (7u - bw->used));
        bw->used++;
    }
}

/* Move the complete 16-bit words of the raw-bit accumulator (nb bits, LSB first) to out. */
static void put_words(uint8_t *out, size_t *pos, uint64_t *bits, unsigned *nb)
{
    while (*nb >= 16u) {
        out[(*pos)++] = (uint8_t)*bits;
        out[(*pos)++] = (uint8_t)(*bits >> 8);
        *bits >>= 16;
        *nb -= 16u;
    }
}

/* 1 when levels[row * row_len ..] (the last row may be shorter) are all zero. */
static int row_is_zero(const int32_t *levels, uint32_t count, uint32_t row_len, uint32_t row)
{
    uint32_t end = (row + 1u) * row_len < count ? (row + 1u) * row_len : count;
    for (uint32_t i = row * row_len; i < end; i++) {
        if (levels[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* 1 when level i is coded: always without row skipping, else when its row is not all zero
 * (zero_row[r] caches row_is_zero). */
static int is_coded(const uint8_t *zero_row, uint32_t row_len, uint32_t i)
{
    return zero_row == NULL || !zero_row[i / row_len];
}

dc_status_t dc_levels_fast_encode(const int32_t *levels, uint32_t count, const dc_levels_fast_layout_t *layout,
                                  uint32_t row_len, uint8_t *out, size_t cap, size_t *out_len)
{
    if ((levels == NULL && count > 0u) || layout == NULL || out == NULL || out_len == NULL ||
        count > (1u << 28) || row_len > 65535u) {
        return DC_ERR_ARG;
    }
    *out_len = 0u;
    dc_status_t st = check_layout(layout);
    if (st != DC_OK) {
        return st;
    }
    const unsigned n = layout->n_classes;
    const unsigned prec = layout->prec;
    uint32_t base[DC_LEVELS_FAST_MAX_CLASSES + 1u];
    class_bases(layout, base);
    uint64_t cnt[DC_LEVELS_FAST_MAX_CLASSES] = {0};
    for (uint32_t i = 0; i < count; i++) {
        int32_t v = levels[i];
        if (v < -DC_LEVELS_MAX_ABS || v > DC_LEVELS_MAX_ABS) {
            return DC_ERR_ARG;
        }
        uint32_t a = (uint32_t)(v < 0 ? -v : v);
        if (a >= base[n]) {
            return DC_ERR_ARG;
        }
    }
    const uint32_t rows = row_len ? (count + row_len - 1u) / row_len : 0u;
    uint8_t *zero_row = NULL;
    if (row_len && count) {
        zero_row = malloc(rows);
        if (zero_row == NULL) {
            return DC_ERR_INTERNAL;
        }
        for (uint32_t r = 0; r < rows; r++) {
            zero_row[r] = (uint8_t)row_is_zero(levels, count, row_len, r);
        }
    }
    uint64_t coded = 0u;
    for (uint32_t i = 0; i < count; i++) {
        if (is_coded(zero_row, row_len, i)) {
            int32_t v = levels[i];
            cnt[class_of(base, n, (uint32_t)(v < 0 ? -v : v))]++;
            coded++;
        }
    }
    uint32_t freq[DC_LEVELS_FAST_MAX_CLASSES], start[DC_LEVELS_FAST_MAX_CLASSES];
    if (coded == 0u) {
        for (unsigned c = 0; c < n; c++) {
            freq[c] = c == 0u ? 1u << prec : 0u;
        }
    } else if (!quantise(cnt, n, coded, prec, freq)) {
        free(zero_row);
        return DC_ERR_PARAMS;
    }
    uint32_t acc = 0u;
    for (unsigned c = 0; c < n; c++) {
        start[c] = acc;
        acc += freq[c];
    }
    /* rANS, levels in reverse; words collected in reverse order */
    uint16_t *words = malloc(((size_t)count + 1u) * sizeof(uint16_t));
    if (words == NULL) {
        free(zero_row);
        return DC_ERR_INTERNAL;
    }
    size_t nw = 0;
    uint32_t x = DC_LEVELS_FAST_LOW;
    uint64_t raw_bits = rows; /* one row_zero bit per row (none without row skipping) */
    for (uint32_t i = count; i-- > 0;) {
        if (!is_coded(zero_row, row_len, i)) {
            continue;
        }
        int32_t v = levels[i];
        uint32_t a = (uint32_t)(v < 0 ? -v : v);
        unsigned c = class_of(base, n, a);
        uint32_t f = freq[c];
        if ((uint64_t)x >= ((uint64_t)f << (32u - prec))) {
            words[nw++] = (uint16_t)(x & 0xFFFFu);
            x >>= 16;
        }
        x = ((x / f) << prec) + (x % f) + start[c];
        if (c) {
            raw_bits += (uint64_t)layout->nbits[c] + 1u;
        }
    }
    uint32_t raw_words = (uint32_t)((raw_bits + 15u) / 16u);
    /* header */
    uint8_t hdr[DC_LEVELS_FAST_MAX_HEADER];
    size_t h = 0;
    hdr[h++] = (uint8_t)(0x80u | (row_len ? 0x40u : 0u) | (prec - 1u));
    hdr[h++] = (uint8_t)(n - 1u);
    h += put_leb(hdr + h, (uint32_t)nw);
    h += put_leb(hdr + h, raw_words);
    if (row_len) {
        h += put_leb(hdr + h, row_len);
    }
    bit_writer_t bw = {hdr + h, 0u, 8u};
    for (unsigned c = 1; c < n; c++) {
        put_bits(&bw, layout->nbits[c], 4u);
    }
    uint32_t rem = 1u << prec;
    for (unsigned c = 0; c + 1u < n; c++) {
        put_bits(&bw, freq[c], bit_length(rem));
        rem -= freq[c];
    }
    h += bw.n;
    size_t total = h + (count ? 4u + 2u * (nw + (size_t)raw_words) : 0u);
    if (total > cap) {
        free(words);
        free(zero_row);
        return DC_ERR_BUFFER;
    }
    memcpy(out, hdr, h);
    size_t pos = h;
    if (count) {
        out[pos++] = (uint8_t)x;
        out[pos++] = (uint8_t)(x >> 8);
        out[pos++] = (uint8_t)(x >> 16);
        out[pos++] = (uint8_t)(x >> 24);
        for (size_t j = nw; j-- > 0;) {
            out[pos++] = (uint8_t)words[j];
            out[pos++] = (uint8_t)(words[j] >> 8);
        }
        /* raw stream: per row (row skipping) its row_zero bit, per coded level (scan order) its
         * nbits + 1 bits, remainder above the sign, LSB first in 16-bit little-endian words */
        uint64_t bits = 0u;
        unsigned nb = 0u;
        for (uint32_t i = 0; i < count; i++) {
            if (zero_row != NULL && i % row_len == 0u) {
                bits |= (uint64_t)zero_row[i / row_len] << nb;
                nb += 1u;
                put_words(out, &pos, &bits, &nb);
            }
            if (!is_coded(zero_row, row_len, i)) {
                continue;
            }
            int32_t v = levels[i];
            uint32_t a = (uint32_t)(v < 0 ? -v : v);
            unsigned c = class_of(base, n, a);
            if (c == 0u) {
                continue;
            }
            unsigned k = layout->nbits[c] + 1u;
            uint64_t r = ((uint64_t)(a - base[c]) << 1) | (v < 0 ? 1u : 0u);
            bits |= r << nb;
            nb += k;
            put_words(out, &pos, &bits, &nb);
        }
        if (nb) {
            out[pos++] = (uint8_t)bits;
            out[pos++] = (uint8_t)(bits >> 8);
        }
    }
    free(words);
    free(zero_row);
    if (pos != total) {
        return DC_ERR_INTERNAL;
    }
    *out_len = pos;
    return DC_OK;
}

/* -n log2(n), 0 for n = 0 */
static double nlogn(uint64_t n)
{
    return n ? (double)n * log2((double)n) : 0.0;
}

dc_status_t dc_levels_fast_choose(const int32_t *levels, uint32_t count, uint32_t row_len,
                                  dc_levels_fast_layout_t *layout)
{
    if ((levels == NULL && count > 0u) || layout == NULL || row_len > 65535u) {
        return DC_ERR_ARG;
    }
    uint32_t maxa = 0u;
    for (uint32_t i = 0; i < count; i++) {
        int32_t v = levels[i];
        if (v < -DC_LEVELS_MAX_ABS || v > DC_LEVELS_MAX_ABS) {
            return DC_ERR_ARG;
        }
        uint32_t a = (uint32_t)(v < 0 ? -v : v);
        maxa = a > maxa ? a : maxa;
    }
    memset(layout, 0, sizeof(*layout));
    layout->prec = DC_LEVELS_FAST_MAX_PREC;
    layout->n_classes = 1u;
    if (maxa == 0u) {
        layout->prec = 1u;
        return DC_OK;
    }
    /* cum[m] = levels with magnitude < m, m = 0..maxa + 1 */
    const uint32_t top = maxa + 1u;
    uint64_t *cum = calloc((size_t)top + 1u, sizeof(uint64_t));
    /* dp[c][a]: least cost of classes 1..c covering magnitudes 1..a-1 (a = 1..top) */
    const unsigned nc = DC_LEVELS_FAST_MAX_CLASSES - 1u;
    double *dp = malloc(sizeof(double) * (nc + 1u) * ((size_t)top + 1u));
    uint8_t *how = malloc((nc + 1u) * ((size_t)top + 1u));
    uint32_t *from = malloc(sizeof(uint32_t) * (nc + 1u) * ((size_t)top + 1u));
    if (cum == NULL || dp == NULL || how == NULL || from == NULL) {
        free(cum);
        free(dp);
        free(how);
        free(from);
        return DC_ERR_INTERNAL;
    }
    const uint32_t step = row_len ? row_len : (count ? count : 1u);
    for (uint32_t r0 = 0; r0 < count; r0 += step) { /* the coded levels only (rows, or all) */
        if (row_len && row_is_zero(levels, count, row_len, r0 / row_len)) {
            continue;
        }
        for (uint32_t i = r0; i < count && i < r0 + step; i++) {
            int32_t v = levels[i];
            cum[(uint32_t)(v < 0 ? -v : v) + 1u]++;
        }
    }
    for (uint32_t m = 1; m <= top; m++) {
        cum[m] += cum[m - 1u];
    }
    const double table_bits = 4.0 + DC_LEVELS_FAST_MAX_PREC + 1.0; /* per class, roughly */
    const size_t w = (size_t)top + 1u;
    for (size_t i = 0; i < (nc + 1u) * w; i++) {
        dp[i] = INFINITY;
    }
    dp[1] = 0.0; /* dp[0][a = 1]: nothing above 0 covered yet */
    for (unsigned c = 1; c <= nc; c++) {
        for (uint32_t a = 1; a < top; a++) {
            double d0 = dp[(size_t)(c - 1u) * w + a];
            if (d0 == INFINITY) {
                continue;
            }
            for (unsigned b = 0; b <= 15u; b++) {
                uint32_t e = a + (1u << b); /* one past the class */
                if (e - 1u > (uint32_t)DC_LEVELS_MAX_ABS) {
                    break;
                }
                uint32_t ee = e > top ? top : e;
                uint64_t k = cum[ee] - cum[a];
                double cost = d0 - nlogn(k) + (double)k * (b + 1u) + table_bits;
                size_t at = (size_t)c * w + ee;
                if (cost < dp[at]) {
                    dp[at] = cost;
                    how[at] = (uint8_t)b;
                    from[at] = a;
                }
                if (e >= top) {
                    break;
                }
            }
        }
    }
    unsigned best_c = 1u;
    for (unsigned c = 1; c <= nc; c++) {
        if (dp[(size_t)c * w + top] < dp[(size_t)best_c * w + top]) {
            best_c = c;
        }
    }
    /* walk back */
    uint32_t a = top;
    for (unsigned c = best_c; c >= 1u; c--) {
        size_t at = (size_t)c * w + a;
        layout->nbits[c] = how[at];
        a = from[at];
    }
    free(cum);
    free(dp);
    free(how);
    free(from);
    layout->n_classes = (uint8_t)(best_c + 1u);
    /* precision: the fewest bytes over 1..9 */
    size_t cap = DC_LEVELS_FAST_ENC_BOUND(count);
    uint8_t *out = malloc(cap);
    if (out == NULL) {
        return DC_ERR_INTERNAL;
    }
    size_t best_len = (size_t)-1;
    uint8_t best_prec = DC_LEVELS_FAST_MAX_PREC;
    for (unsigned p = DC_LEVELS_FAST_MAX_PREC; p >= 1u; p--) {
        dc_levels_fast_layout_t t = *layout;
        t.prec = (uint8_t)p;
        size_t len = 0;
        dc_status_t st = dc_levels_fast_encode(levels, count, &t, row_len, out, cap, &len);
        if (st == DC_ERR_PARAMS) {
            break; /* more classes used than slots */
        }
        if (st != DC_OK) {
            free(out);
            return st;
        }
        if (len < best_len) {
            best_len = len;
            best_prec = (uint8_t)p;
        }
    }
    free(out);
    layout->prec = best_prec;
    return DC_OK;
}
