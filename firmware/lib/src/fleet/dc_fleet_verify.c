/* dc_fleet_verify.c: the slot verifier of gateway-less devices (container + trusted Ed25519 signature) and the self-test check input. */
#include <string.h>

#include "dc_cbor.h"
#include "dc_container.h"
#include "dc_ed25519.h"
#include "dc_fleet.h"
#include "dc_fleet_internal.h"
#include "dc_model_verify.h"
#include "dc_sha256.h"
#include "dc_status.h"

const uint8_t *dc_fleet_find_key(const uint8_t (*keys)[DC_FLEET_KEY_SIZE], size_t count,
                                 const uint8_t key_id[16])
{
    uint8_t digest[DC_SHA256_DIGEST_LENGTH];
    size_t i;
    for (i = 0; keys != NULL && i < count; i++) {
        dc_sha256(keys[i], DC_FLEET_KEY_SIZE, digest);
        if (memcmp(digest, key_id, 16) == 0) {
            return keys[i];
        }
    }
    return NULL;
}

/* Positions `r` at the value of top-level metadata key `key` (DC_KEY_*). */
static int find_top(const dc_container_t *c, unsigned key, dc_cbor_reader_t *r)
{
    if (dc_container_metadata(c, r) != DC_OK || dc_container_find_key(r, DC_MAP_METADATA, key) != DC_OK) {
        return DC_ERR_METADATA;
    }
    return DC_OK;
}

int dc_fleet_model_of(const dc_container_t *c, const char **name, size_t *name_len, uint32_t *version)
{
    /* the same reading as the runtime's anti-rollback check; every failure is the metadata's here */
    return dc_model_identity(c, name, name_len, version) == DC_OK ? DC_OK : DC_ERR_METADATA;
}

int dc_fleet_target_of(const dc_container_t *c, const char **arch, size_t *arch_len, uint64_t *min_flash,
                       uint64_t *min_ram)
{
    dc_cbor_reader_t r;
    uint64_t pairs, i;
    int got = 0;
    if (find_top(c, DC_KEY_TARGET, &r) != DC_OK || dc_cbor_read_map(&r, &pairs) != DC_OK) {
        return DC_ERR_METADATA;
    }
    for (i = 0; i < pairs; i++) {
        unsigned k;
        int rc;
        if (dc_container_read_key(&r, DC_MAP_TARGET, &k) != DC_OK) {
            return DC_ERR_METADATA;
        }
        if (k == DC_KEY_TARGET_ARCH) {
            rc = dc_cbor_read_text(&r, arch, arch_len);
        } else {
            rc = dc_cbor_read_uint(&r, k == DC_KEY_TARGET_MIN_FLASH ? min_flash : min_ram);
        }
        got |= 1 << k;
        if (rc != DC_OK) {
            return DC_ERR_METADATA;
        }
    }
    return got == 7 ? DC_OK : DC_ERR_METADATA;
}

int dc_fleet_verify(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size,
                    dc_model_info_t *info)
{
    const dc_fleet_verifier_t *v = (const dc_fleet_verifier_t *)ctx;
    dc_container_t c;
    const uint8_t *key;
    const char *name;
    size_t name_len;
    uint8_t message[68];
    int rc;
    if (v == NULL || flash == NULL || info == NULL || v->flash_map == NULL || offset > flash->size ||
        size > flash->size - offset) {
        return DC_ERR_ARG;
    }
    rc = dc_container_open(&c, v->flash_map + offset, size);
    if (rc != DC_OK) {
        return rc;
    }
    if (c.signature_algorithm != DC_SIGNATURE_ED25519) {
        return DC_ERR_SIGNATURE;
    }
    key = dc_fleet_find_key(v->keys, v->key_count, c.key_id);
    if (key == NULL) {
        return DC_ERR_AUTH;
    }
    dc_fleet_signed_message(c.content_sha256, c.key_id, message);
    rc = dc_ed25519_verify(c.signature, message, sizeof message, key);
    if (rc != DC_OK) {
        return rc;
    }
    rc = dc_fleet_model_of(&c, &name, &name_len, &info->version);
    if (rc != DC_OK) {
        return rc;
    }
    dc_sha256(v->flash_map + offset, size, info->hash);
    return DC_OK;
}

void dc_fleet_check_input(uint8_t *out, size_t n)
{
    static const char context[] = DC_FLEET_CHECK_CONTEXT;
    uint8_t block[DC_SHA256_DIGEST_LENGTH];
    uint32_t k = 0;
    size_t at = 0;
    while (at < n) {
        dc_sha256_t ctx;
        uint8_t counter[4];
        size_t take = n - at < sizeof block ? n - at : sizeof block;
        counter[0] = (uint8_t)k;
        counter[1] = (uint8_t)(k >> 8);
        counter[2] = (uint8_t)(k >> 16);
        counter[3] = (uint8_t)(k >> 24);
        dc_sha256_init(&ctx);
        dc_sha256_update(&ctx, (const uint8_t *)context, sizeof context - 1u);
        dc_sha256_update(&ctx, counter, sizeof counter);
        dc_sha256_final(&ctx, block);
        memcpy(out + at, block, take);
        at += take;
        k++;
    }
}
