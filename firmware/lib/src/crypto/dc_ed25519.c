/* dc_ed25519.c: Ed25519 verification (RFC 8032) in the field representation of TweetNaCl:
 * an element of GF(2^255 - 19) is 16 signed 64-bit limbs of 16 bits; points are extended
 * twisted Edwards coordinates (X, Y, Z, T). Written for this project from the RFC. */
#include "dc_ed25519.h"

#include <string.h>

#include "dc_sha512.h"
#include "dc_status.h"

typedef int64_t gf[16];

static const gf GF0 = {0};
static const gf GF1 = {1};
/* d = -121665/121666, 2d, the base point (x, y = 4/5), sqrt(-1): computed with Python ints. */
static const gf D = {0x78a3, 0x1359, 0x4dca, 0x75eb, 0xd8ab, 0x4141, 0x0a4d, 0x0070,
                     0xe898, 0x7779, 0x4079, 0x8cc7, 0xfe73, 0x2b6f, 0x6cee, 0x5203};
static const gf D2 = {0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0,
                      0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7, 0x56df, 0xd9dc, 0x2406};
static const gf BX = {0xd51a, 0x8f25, 0x2d60, 0xc956, 0xa7b2, 0x9525, 0xc760, 0x692c,
                      0xdc5c, 0xfdd6, 0xe231, 0xc0a4, 0x53fe, 0xcd6e, 0x36d3, 0x2169};
static const gf BY = {0x6658, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666,
                      0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666};
static const gf SQRTM1 = {0xa0b0, 0x4a0e, 0x1b27, 0xc4ee, 0xe478, 0xad2f, 0x1806, 0x2f43,
                          0xd7a7, 0x3dfb, 0x0099, 0x2b4d, 0xdf0b, 0x4fc1, 0x2480, 0x2b83};
/* The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const int64_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                              0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                              0, 0, 0, 0, 0x10};

static void set(gf r, const gf a)
{
    memcpy(r, a, sizeof(gf));
}

/* Carries every limb into 16 bits (the top limb's carry wraps around times 38 = 2 * 19). */
static void carry(gf o)
{
    for (int i = 0; i < 16; i++) {
        int64_t c;
        o[i] += (int64_t)1 << 16;
        c = o[i] >> 16;
        o[(i + 1) * (i < 15)] += c - 1 + 37 * (c - 1) * (i == 15);
        o[i] -= c * 65536;
    }
}

/* Swaps p and q when b is 1. */
static void cswap_gf(gf p, gf q, int b)
{
    int64_t mask = ~((int64_t)b - 1);
    for (int i = 0; i < 16; i++) {
        int64_t t = mask & (p[i] ^ q[i]);
        p[i] ^= t;
        q[i] ^= t;
    }
}

/* The canonical 32-byte little-endian encoding of n (fully reduced mod p). */
static void pack_gf(uint8_t out[32], const gf n)
{
    gf m, t;
    set(t, n);
    carry(t);
    carry(t);
    carry(t);
    for (int j = 0; j < 2; j++) {
        int b;
        m[0] = t[0] - 0xffed;
        for (int i = 1; i < 15; i++) {
            m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1);
            m[i - 1] &= 0xffff;
        }
        m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1);
        b = (int)((m[15] >> 16) & 1);
        m[14] &= 0xffff;
        cswap_gf(t, m, 1 - b);
    }
    for (int i = 0; i < 16; i++) {
        out[2 * i] = (uint8_t)(t[i] & 0xff);
        out[2 * i + 1] = (uint8_t)((t[i] >> 8) & 0xff);
    }
}

static int differ32(const uint8_t *a, const uint8_t *b)
{
    uint8_t d = 0;
    for (int i = 0; i < 32; i++) {
        d |= (uint8_t)(a[i] ^ b[i]);
    }
    return d != 0;
}

static int gf_differ(const gf a, const gf b)
{
    uint8_t x[32], y[32];
    pack_gf(x, a);
    pack_gf(y, b);
    return differ32(x, y);
}

static int parity(const gf a)
{
    uint8_t d[32];
    pack_gf(d, a);
    return d[0] & 1;
}

static void unpack_gf(gf o, const uint8_t n[32])
{
    for (int i = 0; i < 16; i++) {
        o[i] = n[2 * i] + ((int64_t)n[2 * i + 1] << 8);
    }
    o[15] &= 0x7fff;
}

static void add_gf(gf o, const gf a, const gf b)
{
    for (int i = 0; i < 16; i++) {
        o[i] = a[i] + b[i];
    }
}

static void sub_gf(gf o, const gf a, const gf b)
{
    for (int i = 0; i < 16; i++) {
        o[i] = a[i] - b[i];
    }
}

static void mul_gf(gf o, const gf a, const gf b)
{
    int64_t t[31];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 16; j++) {
            t[i + j] += a[i] * b[j];
        }
    }
    for (int i = 0; i < 15; i++) {
        t[i] += 38 * t[i + 16];
    }
    for (int i = 0; i < 16; i++) {
        o[i] = t[i];
    }
    carry(o);
    carry(o);
}

static void sq_gf(gf o, const gf a)
{
    mul_gf(o, a, a);
}

/* i^(2^252 - 3), for the square root in point decoding. */
static void pow2523(gf o, const gf i)
{
    gf c;
    set(c, i);
    for (int a = 250; a >= 0; a--) {
        sq_gf(c, c);
        if (a != 1) {
            mul_gf(c, c, i);
        }
    }
    set(o, c);
}

/* i^(p - 2) = 1/i. */
static void inv_gf(gf o, const gf i)
{
    gf c;
    set(c, i);
    for (int a = 253; a >= 0; a--) {
        sq_gf(c, c);
        if (a != 2 && a != 4) {
            mul_gf(c, c, i);
        }
    }
    set(o, c);
}

/* p += q (extended coordinates, complete addition formula for a = -1). */
static void point_add(gf p[4], gf q[4])
{
    gf a, b, c, d, t, e, f, g, h;
    sub_gf(a, p[1], p[0]);
    sub_gf(t, q[1], q[0]);
    mul_gf(a, a, t);
    add_gf(b, p[0], p[1]);
    add_gf(t, q[0], q[1]);
    mul_gf(b, b, t);
    mul_gf(c, p[3], q[3]);
    mul_gf(c, c, D2);
    mul_gf(d, p[2], q[2]);
    add_gf(d, d, d);
    sub_gf(e, b, a);
    sub_gf(f, d, c);
    add_gf(g, d, c);
    add_gf(h, b, a);
    mul_gf(p[0], e, f);
    mul_gf(p[1], h, g);
    mul_gf(p[2], g, f);
    mul_gf(p[3], e, h);
}

static void point_cswap(gf p[4], gf q[4], int b)
{
    for (int i = 0; i < 4; i++) {
        cswap_gf(p[i], q[i], b);
    }
}

static void point_pack(uint8_t r[32], gf p[4])
{
    gf tx, ty, zi;
    inv_gf(zi, p[2]);
    mul_gf(tx, p[0], zi);
    mul_gf(ty, p[1], zi);
    pack_gf(r, ty);
    r[31] ^= (uint8_t)(parity(tx) << 7);
}

/* p = [s]q (q is clobbered); s is 32 little-endian bytes. */
static void scalarmult(gf p[4], gf q[4], const uint8_t s[32])
{
    set(p[0], GF0);
    set(p[1], GF1);
    set(p[2], GF1);
    set(p[3], GF0);
    for (int i = 255; i >= 0; i--) {
        int b = (s[i / 8] >> (i & 7)) & 1;
        point_cswap(p, q, b);
        point_add(q, p);
        point_add(p, p);
        point_cswap(p, q, b);
    }
}

static void scalarbase(gf p[4], const uint8_t s[32])
{
    gf q[4];
    set(q[0], BX);
    set(q[1], BY);
    set(q[2], GF1);
    mul_gf(q[3], BX, BY);
    scalarmult(p, q, s);
}

/* r = -A for the encoded point `p`; -1 when p is not on the curve. */
static int unpack_neg(gf r[4], const uint8_t p[32])
{
    gf t, chk, num, den, den2, den4, den6;
    set(r[2], GF1);
    unpack_gf(r[1], p);
    sq_gf(num, r[1]);
    mul_gf(den, num, D);
    sub_gf(num, num, r[2]);
    add_gf(den, r[2], den);
    sq_gf(den2, den);
    sq_gf(den4, den2);
    mul_gf(den6, den4, den2);
    mul_gf(t, den6, num);
    mul_gf(t, t, den);
    pow2523(t, t);
    mul_gf(t, t, num);
    mul_gf(t, t, den);
    mul_gf(t, t, den);
    mul_gf(r[0], t, den);
    sq_gf(chk, r[0]);
    mul_gf(chk, chk, den);
    if (gf_differ(chk, num)) {
        mul_gf(r[0], r[0], SQRTM1);
    }
    sq_gf(chk, r[0]);
    mul_gf(chk, chk, den);
    if (gf_differ(chk, num)) {
        return -1;
    }
    if (parity(r[0]) == (p[31] >> 7)) {
        sub_gf(r[0], GF0, r[0]);
    }
    mul_gf(r[3], r[0], r[1]);
    return 0;
}

/* r = x mod L, for the 64 limbs of x (bytes of a 512-bit number). */
static void mod_l(uint8_t r[32], int64_t x[64])
{
    int64_t c;
    int i, j;
    for (i = 63; i >= 32; i--) {
        c = 0;
        for (j = i - 32; j < i - 12; j++) {
            x[j] += c - 16 * x[i] * L[j - (i - 32)];
            c = (x[j] + 128) >> 8;
            x[j] -= c * 256;
        }
        x[j] += c;
        x[i] = 0;
    }
    c = 0;
    for (j = 0; j < 32; j++) {
        x[j] += c - (x[31] >> 4) * L[j];
        c = x[j] >> 8;
        x[j] &= 255;
    }
    for (j = 0; j < 32; j++) {
        x[j] -= c * L[j];
    }
    for (i = 0; i < 32; i++) {
        x[i + 1] += x[i] >> 8;
        r[i] = (uint8_t)(x[i] & 255);
    }
}

/* 1 when the little-endian scalar s < L (RFC 8032 5.1.7: reject S >= L). */
static int below_l(const uint8_t s[32])
{
    for (int i = 31; i >= 0; i--) {
        if (s[i] != L[i]) {
            return s[i] < L[i];
        }
    }
    return 0;
}

int dc_ed25519_verify(const uint8_t signature[DC_ED25519_SIGNATURE_SIZE], const uint8_t *message,
                      size_t length, const uint8_t public_key[DC_ED25519_KEY_SIZE])
{
    dc_sha512_t sha;
    uint8_t h[64], k[32], check[32];
    int64_t x[64];
    gf p[4], q[4];
    if (signature == NULL || public_key == NULL || (message == NULL && length > 0u)) {
        return DC_ERR_ARG;
    }
    if (!below_l(signature + 32) || unpack_neg(q, public_key) != 0) {
        return DC_ERR_SIGNATURE;
    }
    dc_sha512_init(&sha);
    dc_sha512_update(&sha, signature, 32);
    dc_sha512_update(&sha, public_key, 32);
    dc_sha512_update(&sha, message, length);
    dc_sha512_final(&sha, h);
    for (int i = 0; i < 64; i++) {
        x[i] = h[i];
    }
    mod_l(k, x);
    scalarmult(p, q, k);   /* [k](-A) */
    scalarbase(q, signature + 32);
    point_add(p, q);       /* [S]B - [k]A, which must equal R */
    point_pack(check, p);
    return differ32(signature, check) ? DC_ERR_SIGNATURE : DC_OK;
}
