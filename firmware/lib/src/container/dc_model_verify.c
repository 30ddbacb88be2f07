/* dc_model_verify.c: the slot verifier for .dcb models: container checks, device tag, version, image hash. */
#include "dc_model_verify.h"

#include "dc_cbor.h"
#include "dc_sha256.h"
#include "dc_status.h"

int dc_model_identity(const dc_container_t *c, const char **name, size_t *name_length,
                      uint32_t *version)
{
    dc_cbor_reader_t r;
    uint64_t fields;
    int found = 0;
    if (c == NULL || name == NULL || name_length == NULL || version == NULL) {
        return DC_ERR_ARG;
    }
    if (dc_container_metadata(c, &r) != DC_OK) {
        return DC_ERR_ARG;
    }
    /* The parser validated the schema: `model` is a map {name: text, version: uint}. */
    if (dc_container_find_key(&r, DC_MAP_METADATA, DC_KEY_MODEL) != DC_OK || dc_cbor_read_map(&r, &fields) != DC_OK) {
        return DC_ERR_METADATA;
    }
    for (uint64_t f = 0; f < fields; f++) {
        unsigned key;
        uint64_t value;
        if (dc_container_read_key(&r, DC_MAP_MODEL, &key) != DC_OK) {
            return DC_ERR_METADATA;
        }
        if (key == DC_KEY_MODEL_NAME) {
            if (dc_cbor_read_text(&r, name, name_length) != DC_OK) {
                return DC_ERR_METADATA;
            }
            found |= 1;
        } else {
            if (dc_cbor_read_uint(&r, &value) != DC_OK || value > 0xFFFFFFFFu) {
                return DC_ERR_METADATA;
            }
            *version = (uint32_t)value;
            found |= 2;
        }
    }
    return found == 3 ? DC_OK : DC_ERR_METADATA;
}

int dc_model_verify(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size,
                    dc_model_info_t *info)
{
    const dc_model_verifier_t *v = (const dc_model_verifier_t *)ctx;
    dc_container_t c;
    const char *name;
    size_t name_length;
    uint32_t version = 0;
    int status;
    if (v == NULL || flash == NULL || info == NULL) {
        return DC_ERR_ARG;
    }
    if (v->flash_map == NULL) {
        return DC_ERR_UNSUPPORTED;
    }
    if (offset > flash->size || size > flash->size - offset) {
        return DC_ERR_ARG;
    }
    status = dc_container_open(&c, v->flash_map + offset, size);
    if (status != DC_OK) {
        return status;
    }
    if (dc_container_check_base(&c, NULL) != DC_OK) {
        return DC_ERR_BASE; /* deltas need a base model the slots do not track yet */
    }
    if (v->key == NULL || v->key_length == 0u) {
        return DC_ERR_AUTH; /* not provisioned: nothing is trusted */
    }
    status = dc_container_verify_tag(&c, v->key, v->key_length);
    if (status != DC_OK) {
        return status == DC_ERR_ARG ? DC_ERR_AUTH : status;
    }
    status = dc_model_identity(&c, &name, &name_length, &version);
    if (status != DC_OK) {
        return status;
    }
    info->version = version;
    dc_sha256(v->flash_map + offset, size, info->hash);
    return DC_OK;
}
