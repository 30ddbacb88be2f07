/* dc_fleet_cbor.c: the fleet messages' bounded CBOR encoder (definite lengths, shortest heads). */
#include "dc_fleet_cbor.h"

#include <string.h>

void dc_fleet_cbor_init(dc_fleet_cbor_t *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

static void put(dc_fleet_cbor_t *w, const uint8_t *p, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = 1;
        return;
    }
    if (n > 0u) {
        memcpy(w->buf + w->len, p, n);
    }
    w->len += n;
}

static void head(dc_fleet_cbor_t *w, uint8_t major, uint64_t v)
{
    uint8_t h[9];
    size_t n, i;
    if (v < 24u) {
        h[0] = (uint8_t)(major << 5 | v);
        n = 1;
    } else {
        size_t width = v <= 0xFFu ? 1u : v <= 0xFFFFu ? 2u : v <= 0xFFFFFFFFu ? 4u : 8u;
        h[0] = (uint8_t)(major << 5 | (width == 1u ? 24u : width == 2u ? 25u : width == 4u ? 26u : 27u));
        for (i = 0; i < width; i++) {
            h[1 + i] = (uint8_t)(v >> (8u * (width - 1u - i)));
        }
        n = 1u + width;
    }
    put(w, h, n);
}

void dc_fleet_cbor_map(dc_fleet_cbor_t *w, uint32_t pairs)
{
    head(w, 5, pairs);
}

void dc_fleet_cbor_uint(dc_fleet_cbor_t *w, uint64_t v)
{
    head(w, 0, v);
}

void dc_fleet_cbor_bytes(dc_fleet_cbor_t *w, const uint8_t *p, size_t n)
{
    head(w, 2, n);
    put(w, p, n);
}

void dc_fleet_cbor_text(dc_fleet_cbor_t *w, const char *s, size_t n)
{
    head(w, 3, n);
    put(w, (const uint8_t *)s, n);
}

void dc_fleet_cbor_cstr(dc_fleet_cbor_t *w, const char *s)
{
    dc_fleet_cbor_text(w, s, strlen(s));
}

void dc_fleet_cbor_null(dc_fleet_cbor_t *w)
{
    static const uint8_t null_item = 0xF6u;
    put(w, &null_item, 1);
}
