/* dc_cbor.h: a small bounded CBOR reader over a memory buffer (no allocation, no recursion
 * beyond DC_CBOR_MAX_DEPTH), for the container metadata (docs/bitstream.md section 4).
 *
 * Ownership: a reader borrows the buffer; strings it returns point into that buffer and are
 * NOT NUL-terminated. Byte order: CBOR is big-endian on the wire; values are returned in host
 * order. Usage: first validate a whole buffer with dc_cbor_check() (deterministic encoding,
 * depth, UTF-8, no tags), then walk it with a reader: dc_cbor_read_map()/read_array() return
 * the item count and the following reads consume the members in order; dc_cbor_skip() steps
 * over one complete item. Every function returns DC_OK, DC_ERR_ARG for NULL pointers, or
 * DC_ERR_METADATA when the next item is malformed or not of the requested type; on an error
 * the reader's position is unspecified.
 */
#ifndef DC_CBOR_H
#define DC_CBOR_H

#include <stddef.h>
#include <stdint.h>

#define DC_CBOR_MAX_DEPTH 16u

typedef struct {
    const uint8_t *data; /* borrowed */
    size_t length;       /* bytes at `data` */
    size_t position;     /* offset of the next item */
    uint8_t codes;       /* dc_cbor_read_code: 1 reads uint codes (container format 3), 0 text (format 2) */
} dc_cbor_reader_t;

typedef enum {
    DC_CBOR_INT = 0,   /* major types 0 and 1 */
    DC_CBOR_BYTES = 1, /* major type 2 */
    DC_CBOR_TEXT = 2,  /* major type 3 */
    DC_CBOR_ARRAY = 3, /* major type 4 */
    DC_CBOR_MAP = 4,   /* major type 5 */
    DC_CBOR_TAG = 5,   /* major type 6 */
    DC_CBOR_FLOAT = 6, /* major type 7, half/single/double */
    DC_CBOR_BOOL = 7,  /* false, true */
    DC_CBOR_NULL = 8,  /* null */
    DC_CBOR_OTHER = 9  /* any other simple value or break */
} dc_cbor_type_t;

/* DC_OK when `data` holds exactly one CBOR item in the deterministic form of
 * docs/bitstream.md section 4 (definite lengths, shortest arguments, map keys unsigned integers or
 * text in strictly increasing encoded order, finite floats in their shortest exact width, valid
 * UTF-8, no tags, simple values only false/true/null, integers in [-2^63, 2^64-1], depth <= 16),
 * else DC_ERR_METADATA. */
int dc_cbor_check(const uint8_t *data, size_t length);

/* A reader at the start of `data`, reading text names (`codes` 0). */
void dc_cbor_init(dc_cbor_reader_t *reader, const uint8_t *data, size_t length);
/* The type of the next item without consuming it; DC_ERR_METADATA at the end of the buffer. */
int dc_cbor_peek(const dc_cbor_reader_t *reader, dc_cbor_type_t *type);
int dc_cbor_read_uint(dc_cbor_reader_t *reader, uint64_t *value);  /* major type 0 only */
int dc_cbor_read_int(dc_cbor_reader_t *reader, int64_t *value);    /* majors 0/1 within int64 */
int dc_cbor_read_float(dc_cbor_reader_t *reader, double *value);   /* any float width */
int dc_cbor_read_bool(dc_cbor_reader_t *reader, int *value);
int dc_cbor_read_text(dc_cbor_reader_t *reader, const char **text, size_t *length);
int dc_cbor_read_bytes(dc_cbor_reader_t *reader, const uint8_t **bytes, size_t *length);
int dc_cbor_read_array(dc_cbor_reader_t *reader, uint64_t *count);  /* then read `count` items */
int dc_cbor_read_map(dc_cbor_reader_t *reader, uint64_t *count);    /* then `count` key/value pairs */
/* Step over the next complete item, nested items included (iterative: no depth limit needed). */
int dc_cbor_skip(dc_cbor_reader_t *reader);
/* A name from the list `names` (`count` entries), written as its text when reader->codes is 0 and as
 * its index, a uint, when it is 1 (the keys of the container's schema maps and the node options'
 * enumerations, docs/bitstream.md section 4.3). *code = its index, or `count` when the item has the
 * right type but is not listed (an unknown key). DC_ERR_METADATA when it has the other type. */
int dc_cbor_read_code(dc_cbor_reader_t *reader, const char *const *names, unsigned count, unsigned *code);
/* In the map at the reader's position, whose keys are names of `names` as dc_cbor_read_code reads them,
 * positions the reader at the value of key `code`. DC_ERR_METADATA when it is absent. */
int dc_cbor_find_code(dc_cbor_reader_t *reader, const char *const *names, unsigned count, unsigned code);
/* 1 when the `length` bytes at `text` equal the NUL-terminated `literal`, else 0. */
int dc_cbor_text_equals(const char *text, size_t length, const char *literal);

#endif /* DC_CBOR_H */
