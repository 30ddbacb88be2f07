/* corpus: tests/vectors/container */
/* fuzz_container.c: libFuzzer target for the .dcb container parser and the bounded CBOR reader.
 *
 * Each input is opened as it is, then again with its content_sha256 fixed up (so mutations
 * reach the directory and metadata checks behind the hash), and walked as raw CBOR. Every
 * accessor of an opened container is exercised and every byte it points at is read, so
 * AddressSanitizer catches any out-of-bounds pointer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dc_cbor.h"
#include "dc_container.h"
#include "dc_model_verify.h"
#include "dc_sha256.h"
#include "dc_status.h"

static uint8_t copy[1u << 20];
static volatile uint32_t sink;

static void touch(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += p[i];
    }
    sink += sum;
}

/* Walks one item with the typed reader API, recursing into arrays and maps. */
static int walk(dc_cbor_reader_t *r, unsigned depth)
{
    dc_cbor_type_t type;
    uint64_t count, u;
    int64_t i;
    double d;
    int b;
    const char *text;
    const uint8_t *bytes;
    size_t n;
    if (depth > DC_CBOR_MAX_DEPTH || dc_cbor_peek(r, &type) != DC_OK) {
        return -1;
    }
    switch (type) {
    case DC_CBOR_INT:
        if (dc_cbor_read_int(r, &i) != DC_OK && dc_cbor_read_uint(r, &u) != DC_OK) {
            return -1;
        }
        return 0;
    case DC_CBOR_FLOAT:
        return dc_cbor_read_float(r, &d) == DC_OK ? 0 : -1;
    case DC_CBOR_BOOL:
        return dc_cbor_read_bool(r, &b) == DC_OK ? 0 : -1;
    case DC_CBOR_TEXT:
        if (dc_cbor_read_text(r, &text, &n) != DC_OK) {
            return -1;
        }
        touch((const uint8_t *)text, n);
        return 0;
    case DC_CBOR_BYTES:
        if (dc_cbor_read_bytes(r, &bytes, &n) != DC_OK) {
            return -1;
        }
        touch(bytes, n);
        return 0;
    case DC_CBOR_ARRAY:
    case DC_CBOR_MAP:
        if ((type == DC_CBOR_ARRAY ? dc_cbor_read_array(r, &count) : dc_cbor_read_map(r, &count)) != DC_OK) {
            return -1;
        }
        for (uint64_t k = 0; k < count * (type == DC_CBOR_MAP ? 2u : 1u); k++) {
            if (walk(r, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    default:
        return dc_cbor_skip(r) == DC_OK ? 0 : -1;
    }
}

static void exercise(const dc_container_t *c)
{
    static const uint8_t key[32] = {1, 2, 3};
    dc_cbor_reader_t r;
    touch(c->data, c->data_length);
    for (uint32_t i = 0; i < c->tensor_count; i++) {
        dc_tensor_entry_t e;
        dc_tensor_info_t info;
        if (dc_container_tensor(c, i, &e) == DC_OK) {
            touch(e.payload, e.payload_length);
        }
        if (dc_container_tensor_info(c, i, &info) == DC_OK) {
            touch((const uint8_t *)info.name, info.name_length);
            for (uint32_t k = 0; k < info.channel_count; k++) {
                int64_t zp;
                if (!(dc_tensor_info_scale(&info, k) > 0.0f) ||
                    (info.zero_point_count > 1u && dc_cbor_read_int(&info.zero_points, &zp) != DC_OK)) {
                    __builtin_trap(); /* a validated tensor_info must yield its quantization */
                }
            }
            if (info.rule == DC_LEVEL_RULE_CODEBOOK) {
                touch((const uint8_t *)info.codebook, info.codebook_length);
            }
        }
    }
    if (dc_container_metadata(c, &r) == DC_OK && walk(&r, 0) != 0) {
        __builtin_trap(); /* validated metadata must walk cleanly */
    }
    for (unsigned k = DC_KEY_COMPRESSOR; k <= DC_KEY_TENSORS; k++) {
        if (k != DC_KEY_EXTENSIONS && (dc_container_metadata(c, &r) != DC_OK ||
                                       dc_container_find_key(&r, DC_MAP_METADATA, k) != DC_OK)) {
            __builtin_trap(); /* validated metadata holds every required key, in its format's form */
        }
    }
    const char *name;
    size_t name_length;
    uint32_t version;
    if (dc_model_identity(c, &name, &name_length, &version) != DC_OK) {
        __builtin_trap(); /* and its model's identity */
    }
    touch((const uint8_t *)name, name_length);
    (void)dc_container_verify_tag(c, key, sizeof key);
    (void)dc_container_check_base(c, NULL);
    (void)dc_container_check_base(c, key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_container_t c;
    dc_cbor_reader_t r;
    if (dc_container_open(&c, data, size) == DC_OK) {
        exercise(&c);
    }
    if (dc_cbor_check(data, size) == DC_OK) {
        dc_cbor_init(&r, data, size);
        if (walk(&r, 0) != 0 || r.position != size) {
            __builtin_trap(); /* a checked item must walk to its end */
        }
    }
    dc_cbor_init(&r, data, size);
    (void)walk(&r, 0);
    dc_cbor_init(&r, data, size);
    (void)dc_cbor_skip(&r);
    for (uint8_t codes = 0; codes < 2u; codes++) { /* schema keys as text (format 2) and as codes (3) */
        static const char *const names[] = {"a", "bb", "c"};
        dc_cbor_init(&r, data, size);
        r.codes = codes;
        (void)dc_cbor_find_code(&r, names, 3u, 1u);
    }

    if (size >= DC_CONTAINER_HEADER_LENGTH && size <= sizeof copy) {
        memcpy(copy, data, size);
        uint32_t trailer = (uint32_t)copy[40] | (uint32_t)copy[41] << 8 | (uint32_t)copy[42] << 16 |
                           (uint32_t)copy[43] << 24;
        if ((uint64_t)trailer + DC_SHA256_DIGEST_LENGTH <= size) {
            dc_sha256(copy, trailer, copy + trailer);
            if (dc_container_open(&c, copy, size) == DC_OK) {
                exercise(&c);
            }
        }
    }
    return 0;
}
