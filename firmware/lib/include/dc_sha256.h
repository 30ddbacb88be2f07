/* dc_sha256.h: SHA-256 (FIPS 180-4), incremental and one-shot, no allocation.
 *
 * The caller owns the context (112 bytes on the stack is enough). Digests are 32 bytes in
 * the standard big-endian byte order of FIPS 180-4. No function can fail on valid pointers;
 * NULL pointers are a caller bug (data may be NULL only when its length is 0).
 */
#ifndef DC_SHA256_H
#define DC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define DC_SHA256_DIGEST_LENGTH 32u
#define DC_SHA256_BLOCK_LENGTH 64u

typedef struct {
    uint32_t state[8];
    uint64_t total_length;                  /* bytes hashed so far */
    uint8_t block[DC_SHA256_BLOCK_LENGTH];  /* pending partial block */
    size_t block_fill;                      /* bytes in `block` */
} dc_sha256_t;

void dc_sha256_init(dc_sha256_t *ctx);
void dc_sha256_update(dc_sha256_t *ctx, const uint8_t *data, size_t length);
/* Writes the 32-byte digest to `digest`; the context must be re-initialised before reuse. */
void dc_sha256_final(dc_sha256_t *ctx, uint8_t digest[DC_SHA256_DIGEST_LENGTH]);
/* One-shot: digest of `length` bytes at `data`. */
void dc_sha256(const uint8_t *data, size_t length, uint8_t digest[DC_SHA256_DIGEST_LENGTH]);

#endif /* DC_SHA256_H */
