/* dc_smp_cbor.h: a small bounded CBOR (RFC 8949) encoder and map decoder for SMP payloads.
 *
 * Private to firmware/lib/src/smp. Decoding reads one definite-length top-level map whose keys
 * are text strings, fills the fields the caller asks for and skips the rest (nesting bounded
 * by DC_SMP_CBOR_MAX_DEPTH); it never reads outside the given buffer and keeps pointers into
 * it for strings. Indefinite lengths, tags are refused. Encoding writes definite-length items
 * into a caller buffer; an overflow is sticky (w->overflow) and nothing is written past cap.
 */
#ifndef DC_SMP_CBOR_H
#define DC_SMP_CBOR_H

#include <stddef.h>
#include <stdint.h>

#define DC_SMP_CBOR_MAX_DEPTH 8

enum {
    DC_SMP_CBOR_UINT = 1, /* major 0 */
    DC_SMP_CBOR_INT,      /* major 0 or 1, as int64 */
    DC_SMP_CBOR_BSTR,     /* major 2 */
    DC_SMP_CBOR_TSTR,     /* major 3 */
    DC_SMP_CBOR_BOOL,     /* simple 20/21 */
};

typedef struct {
    const char *key;      /* text key to look for */
    uint8_t kind;         /* DC_SMP_CBOR_* expected */
    uint8_t found;        /* set by the decoder */
    uint64_t u;           /* UINT value; BOOL as 0/1 */
    int64_t i;            /* INT value */
    const uint8_t *str;   /* BSTR/TSTR: points into the decoded buffer */
    size_t len;           /* BSTR/TSTR length */
} dc_smp_cbor_field_t;

/* A field initializer: DC_SMP_FIELD("off", DC_SMP_CBOR_UINT). */
#define DC_SMP_FIELD(key, kind) {(key), (kind), 0u, 0u, 0, NULL, 0u}

/* Decodes the map in buf[0..n) (n == 0 reads as an empty map). DC_OK, or DC_ERR_CORRUPT for
 * malformed CBOR, trailing bytes, a wanted key with the wrong type, a duplicate wanted key, or
 * nesting deeper than DC_SMP_CBOR_MAX_DEPTH. */
int dc_smp_cbor_decode_map(const uint8_t *buf, size_t n, dc_smp_cbor_field_t *fields, size_t nfields);

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int overflow;
} dc_smp_cbor_writer_t;

void dc_smp_cbor_writer_init(dc_smp_cbor_writer_t *w, uint8_t *buf, size_t cap);
void dc_smp_cbor_put_map(dc_smp_cbor_writer_t *w, size_t pairs);
void dc_smp_cbor_put_array(dc_smp_cbor_writer_t *w, size_t items);
void dc_smp_cbor_put_uint(dc_smp_cbor_writer_t *w, uint64_t v);
void dc_smp_cbor_put_int(dc_smp_cbor_writer_t *w, int64_t v);
void dc_smp_cbor_put_bool(dc_smp_cbor_writer_t *w, int v);
void dc_smp_cbor_put_bstr(dc_smp_cbor_writer_t *w, const uint8_t *p, size_t n);
void dc_smp_cbor_put_tstr(dc_smp_cbor_writer_t *w, const char *s, size_t n);
void dc_smp_cbor_put_text(dc_smp_cbor_writer_t *w, const char *s); /* NUL-terminated */
/* The head of a byte string of n bytes (the caller appends the bytes itself). */
void dc_smp_cbor_put_bstr_head(dc_smp_cbor_writer_t *w, size_t n);

#endif /* DC_SMP_CBOR_H */
