/* dc_hmac.h: HMAC-SHA256 (RFC 2104) for the container's per-device tag, and a constant-time compare.
 *
 * Keys are 1..DC_HMAC_MAX_KEY_LENGTH (64) bytes, borrowed for the call. The tag is 32 bytes.
 * Returns DC_OK, or DC_ERR_ARG for a NULL pointer or a key length outside 1..64.
 */
#ifndef DC_HMAC_H
#define DC_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define DC_HMAC_MAX_KEY_LENGTH 64u
#define DC_HMAC_SHA256_LENGTH 32u

int dc_hmac_sha256(const uint8_t *key, size_t key_length, const uint8_t *data, size_t length,
                   uint8_t tag[DC_HMAC_SHA256_LENGTH]);

/* 1 when the `length` bytes at `a` and `b` are equal, else 0; time independent of the contents. */
int dc_equal_ct(const uint8_t *a, const uint8_t *b, size_t length);

#endif /* DC_HMAC_H */
