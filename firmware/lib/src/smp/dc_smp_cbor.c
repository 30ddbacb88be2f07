/* dc_smp_cbor.c: bounded CBOR encoder and map decoder for SMP (see dc_smp_cbor.h). */
#include "dc_smp_cbor.h"

#include <string.h>

#include "dc_status.h"

typedef struct {
    const uint8_t *p;
    size_t n, pos;
} reader_t;

/* Reads one item head: major type and argument. -1 on error (truncated, reserved, indefinite). */
static int read_head(reader_t *r, uint8_t *major, uint64_t *arg)
{
    uint8_t ib, ai;
    size_t k, len;
    if (r->pos >= r->n) {
        return -1;
    }
    ib = r->p[r->pos++];
    *major = (uint8_t)(ib >> 5);
    ai = (uint8_t)(ib & 0x1Fu);
    if (ai < 24u) {
        *arg = ai;
        return 0;
    }
    if (ai > 27u) {
        return -1; /* reserved, or indefinite length */
    }
    len = (size_t)1u << (ai - 24u);
    if (r->n - r->pos < len) {
        return -1;
    }
    *arg = 0;
    for (k = 0; k < len; k++) {
        *arg = (*arg << 8) | r->p[r->pos++];
    }
    return 0;
}

static int skip_item(reader_t *r, int depth)
{
    uint8_t major;
    uint64_t arg, i;
    if (depth > DC_SMP_CBOR_MAX_DEPTH || read_head(r, &major, &arg) != 0) {
        return -1;
    }
    switch (major) {
    case 0:
    case 1:
        return 0;
    case 2:
    case 3:
        if (arg > (uint64_t)(r->n - r->pos)) {
            return -1;
        }
        r->pos += (size_t)arg;
        return 0;
    case 4:
    case 5:
        /* Each element takes at least one byte: bound the count by what is left. */
        if (arg > (uint64_t)(r->n - r->pos)) {
            return -1;
        }
        for (i = 0; i < (major == 5 ? 2u * arg : arg); i++) {
            if (skip_item(r, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case 7:
        /* simple values and floats: the head already consumed the argument bytes */
        return 0;
    default:
        return -1; /* tags (6) are not used by SMP */
    }
}

int dc_smp_cbor_decode_map(const uint8_t *buf, size_t n, dc_smp_cbor_field_t *fields, size_t nfields)
{
    reader_t r;
    uint8_t major;
    uint64_t pairs, i;
    size_t f;
    for (f = 0; f < nfields; f++) {
        fields[f].found = 0;
    }
    if (n == 0u) {
        return DC_OK;
    }
    if (buf == NULL) {
        return DC_ERR_ARG;
    }
    r.p = buf;
    r.n = n;
    r.pos = 0;
    if (read_head(&r, &major, &pairs) != 0 || major != 5 || pairs > n) {
        return DC_ERR_CORRUPT;
    }
    for (i = 0; i < pairs; i++) {
        uint64_t klen, arg;
        const uint8_t *key;
        dc_smp_cbor_field_t *hit = NULL;
        size_t save = r.pos;
        if (read_head(&r, &major, &klen) != 0) {
            return DC_ERR_CORRUPT;
        }
        if (major != 3) {
            /* a key that is not text: skip it and its value */
            r.pos = save;
            if (skip_item(&r, 1) != 0 || skip_item(&r, 1) != 0) {
                return DC_ERR_CORRUPT;
            }
            continue;
        }
        if (klen > (uint64_t)(r.n - r.pos)) {
            return DC_ERR_CORRUPT;
        }
        key = r.p + r.pos;
        r.pos += (size_t)klen;
        for (f = 0; f < nfields; f++) {
            if (strlen(fields[f].key) == klen && memcmp(fields[f].key, key, (size_t)klen) == 0) {
                hit = &fields[f];
                break;
            }
        }
        if (hit == NULL) {
            if (skip_item(&r, 1) != 0) {
                return DC_ERR_CORRUPT;
            }
            continue;
        }
        if (hit->found) {
            return DC_ERR_CORRUPT;
        }
        save = r.pos;
        if (read_head(&r, &major, &arg) != 0) {
            return DC_ERR_CORRUPT;
        }
        switch (hit->kind) {
        case DC_SMP_CBOR_UINT:
            if (major != 0) {
                return DC_ERR_CORRUPT;
            }
            hit->u = arg;
            break;
        case DC_SMP_CBOR_INT:
            if ((major != 0 && major != 1) || arg > (uint64_t)INT64_MAX) {
                return DC_ERR_CORRUPT;
            }
            hit->i = major == 0 ? (int64_t)arg : -1 - (int64_t)arg;
            break;
        case DC_SMP_CBOR_BSTR:
        case DC_SMP_CBOR_TSTR:
            if (major != (hit->kind == DC_SMP_CBOR_BSTR ? 2 : 3) || arg > (uint64_t)(r.n - r.pos)) {
                return DC_ERR_CORRUPT;
            }
            hit->str = r.p + r.pos;
            hit->len = (size_t)arg;
            r.pos += (size_t)arg;
            break;
        case DC_SMP_CBOR_BOOL:
            if (major != 7 || (arg != 20u && arg != 21u) || r.p[save] != (uint8_t)(0xE0u | arg)) {
                return DC_ERR_CORRUPT;
            }
            hit->u = arg == 21u;
            break;
        default:
            return DC_ERR_ARG;
        }
        hit->found = 1;
    }
    return r.pos == r.n ? DC_OK : DC_ERR_CORRUPT;
}

/* ---- encoder ---------------------------------------------------------------------- */

void dc_smp_cbor_writer_init(dc_smp_cbor_writer_t *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

static void put_bytes(dc_smp_cbor_writer_t *w, const uint8_t *p, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    if (n > 0u) {
        memcpy(w->buf + w->len, p, n);
    }
    w->len += n;
}

static void put_head(dc_smp_cbor_writer_t *w, uint8_t major, uint64_t arg)
{
    uint8_t h[9];
    size_t n, k;
    if (arg < 24u) {
        h[0] = (uint8_t)((major << 5) | arg);
        n = 1;
    } else {
        uint8_t ai = arg <= 0xFFu ? 24u : arg <= 0xFFFFu ? 25u : arg <= 0xFFFFFFFFu ? 26u : 27u;
        size_t bytes = (size_t)1u << (ai - 24u);
        h[0] = (uint8_t)((major << 5) | ai);
        for (k = 0; k < bytes; k++) {
            h[1 + k] = (uint8_t)(arg >> (8u * (bytes - 1u - k)));
        }
        n = 1u + bytes;
    }
    put_bytes(w, h, n);
}

void dc_smp_cbor_put_map(dc_smp_cbor_writer_t *w, size_t pairs)
{
    put_head(w, 5, pairs);
}

void dc_smp_cbor_put_array(dc_smp_cbor_writer_t *w, size_t items)
{
    put_head(w, 4, items);
}

void dc_smp_cbor_put_uint(dc_smp_cbor_writer_t *w, uint64_t v)
{
    put_head(w, 0, v);
}

void dc_smp_cbor_put_int(dc_smp_cbor_writer_t *w, int64_t v)
{
    if (v >= 0) {
        put_head(w, 0, (uint64_t)v);
    } else {
        put_head(w, 1, (uint64_t)(-1 - v));
    }
}

void dc_smp_cbor_put_bool(dc_smp_cbor_writer_t *w, int v)
{
    uint8_t b = v ? 0xF5u : 0xF4u;
    put_bytes(w, &b, 1);
}

void dc_smp_cbor_put_bstr_head(dc_smp_cbor_writer_t *w, size_t n)
{
    put_head(w, 2, n);
}

void dc_smp_cbor_put_bstr(dc_smp_cbor_writer_t *w, const uint8_t *p, size_t n)
{
    put_head(w, 2, n);
    put_bytes(w, p, n);
}

void dc_smp_cbor_put_tstr(dc_smp_cbor_writer_t *w, const char *s, size_t n)
{
    put_head(w, 3, n);
    put_bytes(w, (const uint8_t *)s, n);
}

void dc_smp_cbor_put_text(dc_smp_cbor_writer_t *w, const char *s)
{
    dc_smp_cbor_put_tstr(w, s, strlen(s));
}
