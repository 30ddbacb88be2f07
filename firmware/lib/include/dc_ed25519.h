/* dc_ed25519.h: Ed25519 signature verification (RFC 8032, pure Ed25519), for devices that
 * check a publisher's signature themselves (no gateway). Verification only: no signing, no
 * secret data, so it need not run in constant time.
 *
 * Byte order: keys, signatures and scalars are the RFC's little-endian byte strings.
 * Ownership: all buffers are the caller's, read during the call only. No allocation; about
 * 4.5 KB of stack (Cortex-M4 -Os: 2.8 KB in dc_ed25519_verify, 1.2 KB in the point addition). Cost: two 256-bit scalar multiplications with 16x16-bit limb field arithmetic
 * (TweetNaCl's representation): a few milliseconds on a PC.
 * Returns DC_OK when `signature` (64 bytes: R || S) is a valid signature of `message` under
 * `public_key` (32 bytes); DC_ERR_SIGNATURE when it is not (S >= L, A not a curve point, or
 * the equation [S]B = R + [k]A fails); DC_ERR_ARG for NULL pointers.
 */
#ifndef DC_ED25519_H
#define DC_ED25519_H

#include <stddef.h>
#include <stdint.h>

#define DC_ED25519_KEY_SIZE 32u
#define DC_ED25519_SIGNATURE_SIZE 64u

int dc_ed25519_verify(const uint8_t signature[DC_ED25519_SIGNATURE_SIZE], const uint8_t *message,
                      size_t length, const uint8_t public_key[DC_ED25519_KEY_SIZE]);

#endif /* DC_ED25519_H */
