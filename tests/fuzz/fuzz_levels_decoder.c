/* corpus: tests/vectors/coder */
/* fuzz_levels_decoder.c: arbitrary payloads, counts and slice sizes through the level decoder.
 *
 * Input: count (uint32 LE, used modulo 65537), one byte of slice size (low 7 bits + 1; bit 7 =
 * give base levels), then the payload. Every decode must end in DC_OK or a coder status without
 * touching memory out of bounds; a payload that decodes is re-encoded with its own parameters
 * (a fast-syntax payload with the layout the fast encoder chooses) and must decode to the same
 * levels again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dc_levels.h"
#include "dc_levels_enc.h"
#include "dc_levels_fast_enc.h"

#define MAX_COUNT 65536u

static dc_levels_dec_t dec;
static dc_levels_col_t cols[DC_LEVELS_MAX_STRIDE];
static int32_t levels[MAX_COUNT], again[MAX_COUNT], base[MAX_COUNT];

static int decode(const uint8_t *p, size_t len, uint32_t count, uint32_t slice, const int32_t *b, int32_t *out)
{
    int st = dc_levels_dec_init(&dec, p, len, count, cols, DC_LEVELS_MAX_STRIDE);
    uint32_t done = 0;
    while (st == DC_OK && done < count) {
        uint32_t n = count - done < slice ? count - done : slice;
        st = dc_levels_read(&dec, out + done, n, b ? b + done : NULL);
        done += n;
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) {
        return 0;
    }
    uint32_t count = ((uint32_t)data[0] | ((uint32_t)data[1] << 8) | ((uint32_t)data[2] << 16) |
                      ((uint32_t)data[3] << 24)) % (MAX_COUNT + 1u);
    uint32_t slice = (data[4] & 0x7Fu) + 1u;
    const int32_t *b = NULL;
    if (data[4] & 0x80u) {
        for (uint32_t i = 0; i < count; i++) {
            base[i] = (int32_t)((i * 2654435761u) % 255u) - 127;
        }
        b = base;
    }
    const uint8_t *payload = data + 5;
    size_t len = size - 5;
    int st = decode(payload, len, count, slice, b, levels);
    if (st < DC_ERR_TRAILING && st != DC_ERR_BASE) { /* only coder statuses (and base) may come back */
        abort();
    }
    if (st != DC_OK) {
        return 0;
    }
    dc_levels_params_t prm;
    size_t header_len;
    if (dc_levels_payload_params(payload, len, &prm, &header_len) != DC_OK) {
        abort();
    }
    size_t cap = DC_LEVELS_ENC_BOUND(count) + DC_LEVELS_FAST_ENC_BOUND(count);
    uint8_t *out = malloc(cap);
    size_t out_len = 0;
    if (out == NULL) {
        return 0;
    }
    dc_status_t enc;
    if (prm.fast) {
        dc_levels_fast_layout_t layout;
        uint32_t row_len = prm.row_skip ? prm.row_len : 0u;
        enc = dc_levels_fast_choose(levels, count, row_len, &layout);
        if (enc == DC_OK) {
            enc = dc_levels_fast_encode(levels, count, &layout, row_len, out, cap, &out_len);
        }
    } else {
        enc = dc_levels_encode(levels, count, b, &prm, out, cap, &out_len);
    }
    if (enc != DC_OK ||
        decode(out, out_len, count, slice, b, again) != DC_OK) {
        abort();
    }
    for (uint32_t i = 0; i < count; i++) {
        if (again[i] != levels[i]) {
            abort();
        }
    }
    free(out);
    return 0;
}
