/* dc_container.c: the .dcb container parser: header, layout, trailer, SHA-256, directory (docs/bitstream.md). */
#include "dc_container.h"

#include <string.h>

#include "dc_hmac.h"
#include "dc_sha256.h"
#include "dc_status.h"

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++) {
        any |= p[i];
    }
    return any == 0;
}

static uint64_t align4(uint64_t x)
{
    return (x + 3u) & ~(uint64_t)3u;
}

static void read_entry(const dc_container_t *c, uint32_t index, dc_tensor_entry_t *e)
{
    const uint8_t *p = c->data + DC_CONTAINER_HEADER_LENGTH + (size_t)DC_CONTAINER_ENTRY_LENGTH * index;
    e->payload_offset = le32(p);
    e->payload_length = le32(p + 4);
    e->level_count = le32(p + 8);
    e->codec = p[12];
    e->level_dtype = p[13];
    e->tensor_flags = le16(p + 14);
    e->payload = c->data + e->payload_offset;
}

/* Steps 1-7 of section 7: magic, version, header fields, limits, size and layout. */
static int check_header(dc_container_t *c, const uint8_t *buf, size_t len)
{
    size_t head = len < DC_CONTAINER_MAGIC_LENGTH ? len : DC_CONTAINER_MAGIC_LENGTH;
    if (memcmp(buf, DC_CONTAINER_MAGIC, head) != 0) {
        return DC_ERR_MAGIC;
    }
    if (len >= 9 && (buf[8] < DC_CONTAINER_VERSION_MAJOR_MIN || buf[8] > DC_CONTAINER_VERSION_MAJOR)) {
        return DC_ERR_VERSION;
    }
    if (len < DC_CONTAINER_HEADER_LENGTH) {
        return DC_ERR_TRUNCATED;
    }
    c->version_major = buf[8];
    c->version_minor = buf[9];
    c->header_length = le16(buf + 10);
    c->flags = le32(buf + 12);
    c->tensor_count = le32(buf + 16);
    c->directory_offset = le32(buf + 20);
    c->metadata_offset = le32(buf + 24);
    c->metadata_length = le32(buf + 28);
    c->payload_offset = le32(buf + 32);
    c->payload_length = le32(buf + 36);
    c->trailer_offset = le32(buf + 40);
    c->file_length = le32(buf + 44);
    c->base_sha256 = buf + 64;

    if (c->header_length != DC_CONTAINER_HEADER_LENGTH || c->directory_offset != DC_CONTAINER_HEADER_LENGTH ||
        (c->flags & ~DC_CONTAINER_FLAG_DELTA) != 0 || !all_zero(buf + 48, 16)) {
        return DC_ERR_FIELD;
    }
    if ((c->flags & DC_CONTAINER_FLAG_DELTA) ? all_zero(c->base_sha256, 32) : !all_zero(c->base_sha256, 32)) {
        return DC_ERR_FIELD;
    }
    if (c->file_length > DC_CONTAINER_MAX_FILE_LENGTH || c->tensor_count > DC_CONTAINER_MAX_TENSORS ||
        c->metadata_length > DC_CONTAINER_MAX_METADATA_LENGTH) {
        return DC_ERR_OVERSIZE;
    }
    if (len < c->file_length) {
        return DC_ERR_TRUNCATED;
    }
    if (len > c->file_length) {
        return DC_ERR_LENGTH;
    }
    if (c->metadata_offset != (uint64_t)DC_CONTAINER_HEADER_LENGTH + (uint64_t)DC_CONTAINER_ENTRY_LENGTH * c->tensor_count ||
        c->payload_offset != align4((uint64_t)c->metadata_offset + c->metadata_length) ||
        c->trailer_offset < c->payload_offset || (c->trailer_offset & 3u) != 0 ||
        c->payload_length != c->trailer_offset - c->payload_offset ||
        c->file_length != (uint64_t)c->trailer_offset + DC_CONTAINER_TRAILER_LENGTH) {
        return DC_ERR_LENGTH;
    }
    return DC_OK;
}

/* Step 8: well-formed signature block, then tag block. */
static int check_trailer(dc_container_t *c)
{
    const uint8_t *t = c->data + c->trailer_offset;
    c->content_sha256 = t;
    c->signature_algorithm = le16(t + 32);
    c->key_id = t + 36;
    c->signature = t + 52;
    c->tag_algorithm = le16(t + 116);
    c->device_tag = t + 120;
    int unsigned_zero = all_zero(c->key_id, DC_CONTAINER_KEY_ID_LENGTH) && all_zero(c->signature, DC_CONTAINER_SIGNATURE_LENGTH);
    int signed_set = !all_zero(c->key_id, DC_CONTAINER_KEY_ID_LENGTH) && !all_zero(c->signature, DC_CONTAINER_SIGNATURE_LENGTH);
    if (c->signature_algorithm > DC_SIGNATURE_ED25519 || le16(t + 34) != 0 ||
        (c->signature_algorithm == DC_SIGNATURE_NONE && !unsigned_zero) ||
        (c->signature_algorithm == DC_SIGNATURE_ED25519 && !signed_set)) {
        return DC_ERR_SIGNATURE;
    }
    int tag_zero = all_zero(c->device_tag, DC_CONTAINER_DEVICE_TAG_LENGTH);
    if (c->tag_algorithm > DC_TAG_HMAC_SHA256 || le16(t + 118) != 0 ||
        (c->tag_algorithm == DC_TAG_NONE && !tag_zero) || (c->tag_algorithm == DC_TAG_HMAC_SHA256 && tag_zero)) {
        return DC_ERR_AUTH;
    }
    return DC_OK;
}

/* Step 10: every directory entry, then the end of the payloads and the padding. */
static int check_directory(const dc_container_t *c)
{
    uint64_t position = c->payload_offset;
    for (uint32_t i = 0; i < c->tensor_count; i++) {
        dc_tensor_entry_t e;
        read_entry(c, i, &e);
        if (e.codec > DC_CODEC_CABAC || e.level_dtype > DC_LEVEL_INT32 || (e.tensor_flags & ~DC_TENSOR_FLAG_DELTA) != 0) {
            return DC_ERR_FIELD;
        }
        if ((e.tensor_flags & DC_TENSOR_FLAG_DELTA) && !(c->flags & DC_CONTAINER_FLAG_DELTA)) {
            return DC_ERR_TENSOR;
        }
        if (e.level_count > DC_CONTAINER_MAX_LEVELS_PER_TENSOR) {
            return DC_ERR_OVERSIZE;
        }
        uint64_t end = (uint64_t)e.payload_offset + e.payload_length;
        if (e.payload_offset != position || e.payload_offset < c->payload_offset || (e.payload_offset & 3u) != 0 ||
            end > c->trailer_offset) {
            return DC_ERR_LENGTH;
        }
        if (e.codec == DC_CODEC_RAW && (uint64_t)e.payload_length != (uint64_t)e.level_count << e.level_dtype) {
            return DC_ERR_TENSOR;
        }
        position = align4(end);
    }
    if (position != c->trailer_offset) {
        return DC_ERR_LENGTH;
    }
    uint64_t metadata_end = (uint64_t)c->metadata_offset + c->metadata_length;
    if (!all_zero(c->data + metadata_end, (size_t)(c->payload_offset - metadata_end))) {
        return DC_ERR_FIELD;
    }
    for (uint32_t i = 0; i < c->tensor_count; i++) {
        dc_tensor_entry_t e;
        read_entry(c, i, &e);
        uint64_t end = (uint64_t)e.payload_offset + e.payload_length;
        if (!all_zero(c->data + end, (size_t)(align4(end) - end))) {
            return DC_ERR_FIELD;
        }
    }
    return DC_OK;
}

int dc_container_open(dc_container_t *c, const uint8_t *buf, size_t len)
{
    if (c == NULL) {
        return DC_ERR_ARG;
    }
    memset(c, 0, sizeof *c);
    if (buf == NULL) {
        return DC_ERR_ARG;
    }
    int status = check_header(c, buf, len);
    if (status == DC_OK) {
        c->data = buf;
        c->data_length = len;
        status = check_trailer(c);
    }
    if (status == DC_OK) {
        uint8_t digest[DC_SHA256_DIGEST_LENGTH];
        dc_sha256(buf, c->trailer_offset, digest);
        if (memcmp(digest, c->content_sha256, sizeof digest) != 0) {
            status = DC_ERR_HASH;
        }
    }
    if (status == DC_OK) {
        status = check_directory(c);
    }
    if (status == DC_OK) {
        status = dc_container_check_metadata(c);
    }
    if (status != DC_OK) {
        memset(c, 0, sizeof *c);
    }
    return status;
}

int dc_container_tensor(const dc_container_t *c, uint32_t index, dc_tensor_entry_t *entry)
{
    if (c == NULL || entry == NULL || c->data == NULL || index >= c->tensor_count) {
        return DC_ERR_ARG;
    }
    read_entry(c, index, entry);
    return DC_OK;
}

int dc_container_metadata(const dc_container_t *c, dc_cbor_reader_t *reader)
{
    if (c == NULL || reader == NULL || c->data == NULL) {
        return DC_ERR_ARG;
    }
    dc_cbor_init(reader, c->data + c->metadata_offset, c->metadata_length);
    reader->codes = c->version_major >= 3u; /* format 3: integer keys (section 4.3) */
    return DC_OK;
}

int dc_container_verify_tag(const dc_container_t *c, const uint8_t *key, size_t key_length)
{
    uint8_t expected[DC_HMAC_SHA256_LENGTH];
    if (c == NULL || c->data == NULL || key == NULL || key_length == 0 || key_length > DC_HMAC_MAX_KEY_LENGTH) {
        return DC_ERR_ARG;
    }
    if (c->tag_algorithm != DC_TAG_HMAC_SHA256) {
        return DC_ERR_AUTH;
    }
    int status = dc_hmac_sha256(key, key_length, c->data, (size_t)c->trailer_offset + DC_CONTAINER_TAG_INPUT_END, expected);
    if (status != DC_OK) {
        return status;
    }
    return dc_equal_ct(expected, c->device_tag, sizeof expected) ? DC_OK : DC_ERR_AUTH;
}

int dc_container_check_base(const dc_container_t *c, const uint8_t *base_sha256)
{
    if (c == NULL || c->data == NULL) {
        return DC_ERR_ARG;
    }
    if (!(c->flags & DC_CONTAINER_FLAG_DELTA)) {
        return DC_OK;
    }
    if (base_sha256 == NULL || memcmp(base_sha256, c->base_sha256, 32) != 0) {
        return DC_ERR_BASE;
    }
    return DC_OK;
}
