/* dc_fleet_messages.c: decode manifests, block responses, rejections; encode block requests. */
#include <string.h>

#include "dc_cbor.h"
#include "dc_fleet.h"
#include "dc_fleet_cbor.h"
#include "dc_fleet_internal.h"
#include "dc_status.h"

#define BAD DC_ERR_METADATA
#define MAX_FILE_SIZE (64u * 1024u * 1024u)

int dc_fleet_name_ok(const char *s, size_t n)
{
    size_t i;
    if (s == NULL || n == 0u || n > DC_FLEET_NAME_MAX || (n == 1u && s[0] == '.') ||
        (n == 2u && s[0] == '.' && s[1] == '.')) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* Reads a uint in [low, high]. */
static int read_range(dc_cbor_reader_t *r, uint64_t low, uint64_t high, uint64_t *v)
{
    if (dc_cbor_read_uint(r, v) != DC_OK || *v < low || *v > high) {
        return BAD;
    }
    return DC_OK;
}

/* Reads a byte string of exactly `want` bytes (or 0 when `may_be_empty`) into out. */
static int read_fixed(dc_cbor_reader_t *r, uint8_t *out, size_t want, int may_be_empty, size_t *got)
{
    const uint8_t *p;
    size_t n;
    if (dc_cbor_read_bytes(r, &p, &n) != DC_OK || (n != want && !(may_be_empty && n == 0u))) {
        return BAD;
    }
    if (n > 0u) {
        memcpy(out, p, n);
    }
    if (got != NULL) {
        *got = n;
    }
    return DC_OK;
}

/* Reads a text of min..max bytes into out (NUL-terminated; out has max + 1 bytes). */
static int read_text(dc_cbor_reader_t *r, char *out, size_t min, size_t max)
{
    const char *t;
    size_t n;
    if (dc_cbor_read_text(r, &t, &n) != DC_OK || n < min || n > max) {
        return BAD;
    }
    memcpy(out, t, n);
    out[n] = '\0';
    return DC_OK;
}

/* Opens a map of exactly `pairs` entries. */
static int open_map(dc_cbor_reader_t *r, uint64_t pairs)
{
    uint64_t count;
    if (dc_cbor_read_map(r, &count) != DC_OK || count != pairs) {
        return BAD;
    }
    return DC_OK;
}

/* Reads the next key and checks it is `name` (deterministic CBOR fixes the key order). */
static int key(dc_cbor_reader_t *r, const char *name)
{
    const char *t;
    size_t n;
    if (dc_cbor_read_text(r, &t, &n) != DC_OK || !dc_cbor_text_equals(t, n, name)) {
        return BAD;
    }
    return DC_OK;
}

static uint32_t clamp32(uint64_t v)
{
    return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v;
}

int dc_fleet_manifest_parse(const uint8_t *payload, size_t len, const char *fleet, dc_fleet_manifest_t *m)
{
    dc_cbor_reader_t r;
    dc_cbor_type_t type;
    uint64_t v;
    uint64_t pairs;
    size_t kid_len, sig_len;
    const char *t;
    size_t n;
    int fleet_matches;
    if (payload == NULL || fleet == NULL || m == NULL) {
        return DC_ERR_ARG;
    }
    memset(m, 0, sizeof(*m));
    if (len > DC_FLEET_MANIFEST_MAX || dc_cbor_check(payload, len) != DC_OK) {
        return BAD;
    }
    dc_cbor_init(&r, payload, len);
    /* Canonical key order: length first, then bytewise. 13 keys when `check_sha256` is there. */
    if (dc_cbor_read_map(&r, &v) != DC_OK || (v != 12u && v != 13u)) {
        return BAD;
    }
    pairs = v;
    if (key(&r, "size") || read_range(&r, 1, MAX_FILE_SIZE, &v)) {
        return BAD;
    }
    m->size = (uint32_t)v;
    if (key(&r, "fleet") || dc_cbor_read_text(&r, &t, &n) || !dc_fleet_name_ok(t, n)) {
        return BAD;
    }
    fleet_matches = strlen(fleet) == n && memcmp(fleet, t, n) == 0;
    if (key(&r, "model") || open_map(&r, 2) || key(&r, "name") ||
        read_text(&r, m->name, 1, DC_FLEET_MODEL_NAME_MAX) || key(&r, "version") ||
        read_range(&r, 0, 0xFFFFFFFFu, &v)) {
        return BAD;
    }
    m->version = (uint32_t)v;
    if (key(&r, "format") || read_range(&r, 1, 1, &v)) {
        return BAD;
    }
    if (key(&r, "key_id") || read_fixed(&r, m->key_id, 16, 1, &kid_len)) {
        return BAD;
    }
    if (key(&r, "sha256") || read_fixed(&r, m->sha256, 32, 0, NULL)) {
        return BAD;
    }
    if (key(&r, "target") || open_map(&r, 3) || key(&r, "arch") ||
        read_text(&r, m->arch, 0, DC_FLEET_ARCH_MAX) || key(&r, "min_ram") || dc_cbor_read_uint(&r, &v)) {
        return BAD;
    }
    m->min_ram = clamp32(v);
    if (key(&r, "min_flash") || dc_cbor_read_uint(&r, &v)) {
        return BAD;
    }
    m->min_flash = clamp32(v);
    if (key(&r, "signature") || read_fixed(&r, m->signature, 64, 1, &sig_len)) {
        return BAD;
    }
    if (key(&r, "stream_id") || dc_cbor_read_text(&r, &t, &n) || !dc_fleet_name_ok(t, n)) {
        return BAD;
    }
    memcpy(m->stream_id, t, n);
    m->stream_id[n] = '\0';
    if (key(&r, "block_size") || read_range(&r, DC_FLEET_MIN_BLOCK, DC_FLEET_MAX_BLOCK, &v)) {
        return BAD;
    }
    m->block_size = (uint32_t)v;
    if (key(&r, "base_sha256") || dc_cbor_peek(&r, &type)) {
        return BAD;
    }
    if (type == DC_CBOR_NULL) {
        if (dc_cbor_skip(&r) != DC_OK) {
            return BAD;
        }
    } else if (read_fixed(&r, m->base_sha256, 32, 0, NULL) != DC_OK) {
        return BAD;
    } else {
        m->has_base = 1;
    }
    if (pairs == 13u) {
        if (key(&r, "check_sha256") || read_fixed(&r, m->check_sha256, 32, 0, NULL)) {
            return BAD;
        }
        m->has_check = 1;
    }
    if (key(&r, "content_sha256") || read_fixed(&r, m->content_sha256, 32, 0, NULL) || r.position != len) {
        return BAD;
    }
    if ((kid_len == 0u) != (sig_len == 0u)) {
        return BAD;
    }
    m->is_signed = kid_len != 0u;
    return fleet_matches ? DC_OK : DC_ERR_FIELD;
}

int dc_fleet_block_parse(const uint8_t *payload, size_t len, dc_fleet_block_t *b)
{
    dc_cbor_reader_t r;
    uint64_t v;
    if (payload == NULL || b == NULL) {
        return DC_ERR_ARG;
    }
    memset(b, 0, sizeof(*b));
    if (len > DC_FLEET_MAX_BLOCK + 256u || dc_cbor_check(payload, len) != DC_OK) {
        return BAD;
    }
    dc_cbor_init(&r, payload, len);
    if (open_map(&r, 5) || key(&r, "c") || dc_cbor_read_text(&r, &b->token, &b->token_len) ||
        b->token_len < 1u || b->token_len > 64u) {
        return BAD;
    }
    if (key(&r, "f") || read_range(&r, 0, 255, &v)) {
        return BAD;
    }
    b->file_id = (uint32_t)v;
    if (key(&r, "i") || read_range(&r, 0, MAX_FILE_SIZE / DC_FLEET_MIN_BLOCK, &v)) {
        return BAD;
    }
    b->index = (uint32_t)v;
    if (key(&r, "l") || read_range(&r, DC_FLEET_MIN_BLOCK, DC_FLEET_MAX_BLOCK, &v)) {
        return BAD;
    }
    b->block_size = (uint32_t)v;
    if (key(&r, "p") || dc_cbor_read_bytes(&r, &b->payload, &b->payload_len) || b->payload_len == 0u ||
        b->payload_len > b->block_size || r.position != len) {
        return BAD;
    }
    return DC_OK;
}

static int known_code(const char *t, size_t n)
{
    return dc_cbor_text_equals(t, n, "bad_request") || dc_cbor_text_equals(t, n, "unknown_stream") ||
           dc_cbor_text_equals(t, n, "out_of_range") || dc_cbor_text_equals(t, n, "block_size");
}

int dc_fleet_rejection_parse(const uint8_t *payload, size_t len, dc_fleet_rejection_t *x)
{
    dc_cbor_reader_t r;
    if (payload == NULL || x == NULL) {
        return DC_ERR_ARG;
    }
    memset(x, 0, sizeof(*x));
    if (len > 512u || dc_cbor_check(payload, len) != DC_OK) {
        return BAD;
    }
    dc_cbor_init(&r, payload, len);
    if (open_map(&r, 3) || key(&r, "c") || dc_cbor_read_text(&r, &x->token, &x->token_len) ||
        x->token_len > 64u || key(&r, "m") || dc_cbor_read_text(&r, &x->message, &x->message_len) ||
        x->message_len > 1024u || key(&r, "o") || dc_cbor_read_text(&r, &x->code, &x->code_len) ||
        !known_code(x->code, x->code_len) || r.position != len) {
        return BAD;
    }
    return DC_OK;
}

int dc_fleet_request_encode(uint8_t *out, size_t cap, const char *token, uint32_t block_size,
                            uint32_t offset, uint32_t count, const uint8_t *bitmap)
{
    dc_fleet_cbor_t w;
    size_t tlen;
    if (out == NULL || token == NULL || count < 1u || count > DC_FLEET_MAX_WINDOW ||
        block_size < DC_FLEET_MIN_BLOCK || block_size > DC_FLEET_MAX_BLOCK) {
        return DC_ERR_ARG;
    }
    tlen = strlen(token);
    if (tlen < 1u || tlen > 64u) {
        return DC_ERR_ARG;
    }
    dc_fleet_cbor_init(&w, out, cap);
    dc_fleet_cbor_map(&w, bitmap != NULL ? 6u : 5u);
    if (bitmap != NULL) {
        dc_fleet_cbor_cstr(&w, "b");
        dc_fleet_cbor_bytes(&w, bitmap, (count + 7u) / 8u);
    }
    dc_fleet_cbor_cstr(&w, "c");
    dc_fleet_cbor_text(&w, token, tlen);
    dc_fleet_cbor_cstr(&w, "f");
    dc_fleet_cbor_uint(&w, 0);
    dc_fleet_cbor_cstr(&w, "l");
    dc_fleet_cbor_uint(&w, block_size);
    dc_fleet_cbor_cstr(&w, "n");
    dc_fleet_cbor_uint(&w, count);
    dc_fleet_cbor_cstr(&w, "o");
    dc_fleet_cbor_uint(&w, offset);
    if (w.overflow || w.len > 0x7FFFFFFFu) {
        return DC_ERR_BUFFER;
    }
    return (int)w.len;
}

void dc_fleet_signed_message(const uint8_t content_sha256[32], const uint8_t key_id[16], uint8_t out[68])
{
    memcpy(out, "dcb-signature-v1", 16);
    memcpy(out + 16, content_sha256, 32);
    out[48] = 1; /* SIGNATURE_ED25519, little-endian */
    out[49] = 0;
    out[50] = 0; /* signature_reserved */
    out[51] = 0;
    memcpy(out + 52, key_id, 16);
}
