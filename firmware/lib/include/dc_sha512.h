/* dc_sha512.h: SHA-512 (FIPS 180-4), incremental, no allocation (for Ed25519 verification).
 *
 * Ownership: the context is caller-owned. Byte order: the digest is the standard big-endian
 * byte string. Inputs up to 2^61 bytes. Functions cannot fail.
 */
#ifndef DC_SHA512_H
#define DC_SHA512_H

#include <stddef.h>
#include <stdint.h>

#define DC_SHA512_DIGEST_LENGTH 64u

typedef struct {
    uint64_t state[8];
    uint64_t length;   /* bytes hashed so far */
    uint8_t block[128];
    size_t used;       /* bytes in block */
} dc_sha512_t;

void dc_sha512_init(dc_sha512_t *ctx);
void dc_sha512_update(dc_sha512_t *ctx, const uint8_t *data, size_t length);
void dc_sha512_final(dc_sha512_t *ctx, uint8_t digest[DC_SHA512_DIGEST_LENGTH]);

#endif /* DC_SHA512_H */
