/* dc_cabac_enc.c: range encoder (LZMA-style carry handling) and its termination (docs/coder.md). */
#include "dc_cabac_enc.h"

uint32_t dc_cabac_cost_table[4097];
static int cost_table_ready;

/* log2(x) for x in [1, 2), 20 fractional bits by repeated squaring (no libm needed). */
static double log2_unit(double x)
{
    double result = 0.0;
    double bit = 0.5;
    for (int i = 0; i < 20; i++) {
        x *= x;
        if (x >= 2.0) {
            x *= 0.5;
            result += bit;
        }
        bit *= 0.5;
    }
    return result;
}

void dc_cabac_cost_table_init(void)
{
    if (cost_table_ready) {
        return;
    }
    for (uint32_t p = 1; p <= 4096u; p++) {
        /* -log2(p / 4096) = 12 - log2(p); log2(p) = e + log2(p / 2^e) */
        unsigned e = 0;
        while ((p >> (e + 1u)) != 0u) {
            e++;
        }
        double frac = log2_unit((double)p / (double)(1u << e));
        dc_cabac_cost_table[p] = (uint32_t)((12.0 - (double)e - frac) * 256.0 + 0.5);
    }
    dc_cabac_cost_table[0] = dc_cabac_cost_table[1];
    cost_table_ready = 1;
}

void dc_cabac_enc_init(dc_cabac_enc_t *enc, uint8_t *out, size_t cap, int cost_only)
{
    enc->low = 0u;
    enc->range = 0xFFFFFFFFu;
    enc->cache = 0u;
    enc->cache_size = 1u;
    enc->first = 1;
    enc->out = out;
    enc->cap = cap;
    enc->pos = 0u;
    enc->bad_first = 0;
    enc->cost_only = cost_only;
    enc->cost = 0u;
    enc->work = 0u;
    if (cost_only) {
        dc_cabac_cost_table_init();
    }
}

static void put_byte(dc_cabac_enc_t *enc, uint8_t b)
{
    if (enc->first) {
        enc->first = 0;
        if (b != 0u) {
            enc->bad_first = 1;
        }
        return;
    }
    if (enc->pos < enc->cap) {
        enc->out[enc->pos] = b;
    }
    enc->pos++;
}

void dc_cabac_enc_put_bytes(dc_cabac_enc_t *enc)
{
    uint8_t carry = (uint8_t)(enc->low >> 32);
    uint8_t temp = enc->cache;
    do {
        put_byte(enc, (uint8_t)(temp + carry));
        temp = 0xFFu;
    } while (--enc->cache_size != 0u);
    enc->cache = (uint8_t)(enc->low >> 24);
}

dc_status_t dc_cabac_enc_finish(dc_cabac_enc_t *enc)
{
    if (enc->cost_only) {
        enc->cost += 8u * 256u;
        return DC_OK;
    }
    /* Any value in [low, low + range) identifies the interval; take the one whose three low
     * bytes are zero (range >= 2^24 guarantees it exists), write its top byte only: the
     * decoder supplies the three zero bytes as virtual bytes. */
    enc->low = (enc->low + 0x00FFFFFFu) & ~(uint64_t)0x00FFFFFFu;
    dc_cabac_enc_shift_low(enc);
    dc_cabac_enc_shift_low(enc);
    if (enc->bad_first) {
        return DC_ERR_INTERNAL;
    }
    return enc->pos > enc->cap ? DC_ERR_BUFFER : DC_OK;
}
