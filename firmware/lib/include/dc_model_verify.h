/* dc_model_verify.h: the device's model verifier for the A/B slots: a .dcb container in a
 * slot is accepted only if it parses (dc_container_open, which checks its content SHA-256),
 * is not a delta, and carries a device tag that verifies with this device's key.
 *
 * It plugs into dc_slots as the dc_verify_fn (dc_slots.h):
 *     dc_model_verifier_t v = {.flash_map = map, .key = key, .key_length = n};
 *     dc_verifier_t verifier = {dc_model_verify, &v};
 * and reports the model version (metadata `model.version`, for anti-rollback) and the
 * SHA-256 of the image bytes as stored (the identity MCUmgr shows and the uploader's `sha`).
 *
 * Ownership: the verifier context borrows the flash map and the key (both must outlive it).
 * The flash map is the memory-mapped view of the whole flash device the slots use (the
 * container parser needs the image in memory); byte order of the container: little-endian
 * (docs/bitstream.md).
 * Return codes of dc_model_verify: DC_OK; DC_ERR_UNSUPPORTED when the flash has no memory
 * map; DC_ERR_AUTH when no key is provisioned (key_length 0) or the tag is missing or wrong;
 * DC_ERR_BASE for a delta container; DC_ERR_METADATA when model.version exceeds 32 bits;
 * DC_ERR_ARG for bad arguments; otherwise the container parser's status (DC_ERR_MAGIC,
 * DC_ERR_LENGTH, DC_ERR_HASH, ...).
 */
#ifndef DC_MODEL_VERIFY_H
#define DC_MODEL_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "dc_container.h"
#include "dc_slots.h"

typedef struct {
    const uint8_t *flash_map; /* the flash device's bytes, flash->size of them (borrowed) */
    const uint8_t *key;       /* this device's HMAC key (borrowed), or NULL */
    size_t key_length;        /* 1..64; 0 = not provisioned: every model is refused */
} dc_model_verifier_t;

/* The dc_verify_fn for dc_slots: `ctx` is a dc_model_verifier_t. */
int dc_model_verify(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size,
                    dc_model_info_t *info);

/* The metadata `model` entry of an opened container: its name (UTF-8 in the container's
 * buffer, not NUL-terminated) and version. DC_ERR_METADATA when the version exceeds 32 bits;
 * DC_ERR_ARG for NULL pointers. */
int dc_model_identity(const dc_container_t *c, const char **name, size_t *name_length,
                      uint32_t *version);

#endif /* DC_MODEL_VERIFY_H */
