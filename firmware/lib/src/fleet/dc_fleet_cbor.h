/* dc_fleet_cbor.h: a tiny bounded CBOR encoder for the fleet messages (private to src/fleet).
 *
 * Writes definite-length items (shortest heads) into a caller buffer; an overflow is sticky
 * (`overflow`) and nothing is written past `cap`. The caller orders map keys canonically.
 */
#ifndef DC_FLEET_CBOR_H
#define DC_FLEET_CBOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int overflow;
} dc_fleet_cbor_t;

void dc_fleet_cbor_init(dc_fleet_cbor_t *w, uint8_t *buf, size_t cap);
void dc_fleet_cbor_map(dc_fleet_cbor_t *w, uint32_t pairs);
void dc_fleet_cbor_uint(dc_fleet_cbor_t *w, uint64_t v);
void dc_fleet_cbor_bytes(dc_fleet_cbor_t *w, const uint8_t *p, size_t n);
void dc_fleet_cbor_text(dc_fleet_cbor_t *w, const char *s, size_t n);
void dc_fleet_cbor_cstr(dc_fleet_cbor_t *w, const char *s); /* NUL-terminated text */
void dc_fleet_cbor_null(dc_fleet_cbor_t *w);

#endif /* DC_FLEET_CBOR_H */
