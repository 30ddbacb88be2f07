/* dc_hmac_sha256.c: HMAC-SHA256 (RFC 2104) and a constant-time compare for the device tag. */
#include "dc_hmac.h"

#include "dc_sha256.h"
#include "dc_status.h"

int dc_hmac_sha256(const uint8_t *key, size_t key_length, const uint8_t *data, size_t length,
                   uint8_t tag[DC_HMAC_SHA256_LENGTH])
{
    if (key == NULL || tag == NULL || (data == NULL && length > 0) || key_length == 0 ||
        key_length > DC_HMAC_MAX_KEY_LENGTH) {
        return DC_ERR_ARG;
    }
    uint8_t pad[DC_SHA256_BLOCK_LENGTH];
    uint8_t inner[DC_SHA256_DIGEST_LENGTH];
    dc_sha256_t ctx;
    for (size_t i = 0; i < DC_SHA256_BLOCK_LENGTH; i++) {
        pad[i] = (uint8_t)((i < key_length ? key[i] : 0u) ^ 0x36u);
    }
    dc_sha256_init(&ctx);
    dc_sha256_update(&ctx, pad, sizeof pad);
    dc_sha256_update(&ctx, data, length);
    dc_sha256_final(&ctx, inner);
    for (size_t i = 0; i < DC_SHA256_BLOCK_LENGTH; i++) {
        pad[i] = (uint8_t)((i < key_length ? key[i] : 0u) ^ 0x5cu);
    }
    dc_sha256_init(&ctx);
    dc_sha256_update(&ctx, pad, sizeof pad);
    dc_sha256_update(&ctx, inner, sizeof inner);
    dc_sha256_final(&ctx, tag);
    return DC_OK;
}

int dc_equal_ct(const uint8_t *a, const uint8_t *b, size_t length)
{
    uint8_t diff = 0;
    for (size_t i = 0; i < length; i++) {
        diff |= (uint8_t)(a[i] ^ b[i]);
    }
    return diff == 0;
}
