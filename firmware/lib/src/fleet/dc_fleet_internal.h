/* dc_fleet_internal.h: helpers shared by the files of firmware/lib/src/fleet (private). */
#ifndef DC_FLEET_INTERNAL_H
#define DC_FLEET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dc_container.h"
#include "dc_fleet.h"

/* 1 when the n bytes at s are a topic level name: 1..64 of [A-Za-z0-9_.-], not "." or "..". */
int dc_fleet_name_ok(const char *s, size_t n);

/* The trusted key whose key id (first 16 bytes of its SHA-256) is `key_id`, or NULL. */
const uint8_t *dc_fleet_find_key(const uint8_t (*keys)[DC_FLEET_KEY_SIZE], size_t count,
                                 const uint8_t key_id[16]);

/* The container's metadata target {arch, min_flash, min_ram}. */
int dc_fleet_target_of(const dc_container_t *c, const char **arch, size_t *arch_len, uint64_t *min_flash,
                       uint64_t *min_ram);

#endif /* DC_FLEET_INTERNAL_H */
