/* corpus: tests/vectors/model */
/* fuzz_model_load.c: libFuzzer target for the model runtime's graph builder, planner and invoke.
 *
 * Each input is loaded as it is, then again with its content_sha256 fixed up (so mutations reach
 * the metadata graph behind the hash), in every decode mode (AUTO included), into an arena of the size the model
 * asks for (capped). A model that loads is run once on a zero input, so every planned buffer and
 * decoded weight is touched; AddressSanitizer catches any access outside the arena or container.
 * STREAMED and AUTO load again into 4 KiB more arena (larger chunks): the plan must stay inside
 * it and the first output must equal the one of the least arena. A model this build can size is
 * sized for the Cortex-M targets too (config.target): that must succeed, and the DSP kernels'
 * scratch can only add to the reference kernels' arena. STREAMED also runs in chunks of 1 and 3 output
 * channels (config.stream_channels), whose weights need not fill whole words: the same first output.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dc_container.h"
#include "dc_model.h"
#include "dc_sha256.h"
#include "dc_status.h"

#define ARENA_CAP (1u << 20)

static uint8_t copy[1u << 20];
static uint64_t arena_words[ARENA_CAP / 8u];
static uint8_t *const arena = (uint8_t *)arena_words;
static uint8_t first_output[4096];

#define EXTRA_ARENA 4096u

/* Zero every input, invoke, and copy up to sizeof first_output bytes of output 0 to out (its
 * length to *len; 0 when the model has no output or the invoke fails). */
static void run_once(dc_model_t *m, uint8_t *out, size_t *len)
{
    *len = 0;
    for (uint32_t i = 0; i < m->input_count; i++) {
        dc_model_io_t io;
        if (dc_model_input(m, i, &io) == DC_OK) {
            memset(io.data, 0, io.bytes);
        }
    }
    dc_model_io_t o;
    if (dc_model_invoke(m) == DC_OK && m->output_count > 0 && dc_model_output(m, 0, &o) == DC_OK) {
        *len = o.bytes < sizeof first_output ? o.bytes : sizeof first_output;
        if (out != NULL) {
            memcpy(out, o.data, *len);
        }
    }
}

/* Size `mode` for both Cortex-M targets of a model this build sized: both succeed, DSP >= reference. */
static void size_targets(const uint8_t *data, size_t size, dc_model_mode_t mode)
{
    size_t cortex_m = 0, cortex_m_dsp = 0;
    dc_model_config_t config = {mode, 0u, DC_MODEL_TARGET_CORTEX_M};
    if (dc_model_arena_size_config(data, size, &config, arena, ARENA_CAP, &cortex_m) != DC_OK) {
        __builtin_trap();
    }
    config.target = DC_MODEL_TARGET_CORTEX_M_DSP;
    if (dc_model_arena_size_config(data, size, &config, arena, ARENA_CAP, &cortex_m_dsp) != DC_OK ||
        cortex_m_dsp < cortex_m) {
        __builtin_trap();
    }
}

/* STREAMED in chunks of `channels` output channels: where it loads, its first output equals `expected`. */
static void try_chunks(const uint8_t *data, size_t size, uint32_t channels, const uint8_t *expected, size_t length)
{
    dc_model_config_t config = {DC_MODEL_DECODE_STREAMED, channels, DC_MODEL_TARGET_BUILD};
    dc_model_t m;
    size_t needed = 0;
    uint8_t out[sizeof first_output];
    size_t out_len = 0;
    if (dc_model_arena_size_config(data, size, &config, arena, ARENA_CAP, &needed) != DC_OK || needed > ARENA_CAP ||
        dc_model_load_config(&m, data, size, arena, needed, &config) != DC_OK) {
        return;
    }
    run_once(&m, out, &out_len);
    if (out_len != length || memcmp(out, expected, length) != 0) {
        __builtin_trap();
    }
}

static void try_model(const uint8_t *data, size_t size)
{
    for (int mode = 0; mode < 4; mode++) { /* AT_LOAD, PER_LAYER, STREAMED, AUTO */
        dc_model_t m;
        size_t needed = 0;
        if (dc_model_arena_size(data, size, (dc_model_mode_t)mode, arena, ARENA_CAP, &needed) != DC_OK ||
            needed > ARENA_CAP) {
            continue;
        }
        size_targets(data, size, (dc_model_mode_t)mode);
        if (dc_model_load(&m, data, size, arena, needed, (dc_model_mode_t)mode) != DC_OK) {
            continue;
        }
        size_t first_len = 0;
        run_once(&m, first_output, &first_len);
        if (mode == DC_MODEL_DECODE_STREAMED && first_len > 0) {
            try_chunks(data, size, 1u, first_output, first_len);
            try_chunks(data, size, 3u, first_output, first_len);
        }
        if ((mode == DC_MODEL_DECODE_STREAMED || mode == DC_MODEL_DECODE_AUTO) && needed + EXTRA_ARENA <= ARENA_CAP) {
            /* more arena: the streamed chunks may grow, the values may not change */
            dc_model_t big;
            dc_status_t st = dc_model_load(&big, data, size, arena, needed + EXTRA_ARENA, (dc_model_mode_t)mode);
            if (st == DC_ERR_ARENA || (st == DC_OK && big.arena_used > needed + EXTRA_ARENA)) {
                __builtin_trap(); /* more arena can never be too little, and the plan must stay inside it */
            }
            /* (another status: AUTO may now pick AT_LOAD, which decodes and rejects bad payloads at load) */
            uint8_t again[sizeof first_output];
            size_t again_len = 0;
            if (st == DC_OK) {
                run_once(&big, again, &again_len);
                if (again_len != first_len || memcmp(again, first_output, first_len) != 0) {
                    __builtin_trap();
                }
            }
        }
        /* one byte short must be refused before anything runs */
        if (needed > 0 && dc_model_load(&m, data, size, arena, needed - 1u, (dc_model_mode_t)mode) != DC_ERR_ARENA) {
            __builtin_trap();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_model(data, size);
    if (size < DC_CONTAINER_HEADER_LENGTH || size > sizeof copy) {
        return 0;
    }
    uint32_t trailer_offset;
    memcpy(&trailer_offset, data + 40, 4); /* little-endian hosts */
    if (trailer_offset > size || size - trailer_offset < DC_CONTAINER_TRAILER_LENGTH) {
        return 0;
    }
    memcpy(copy, data, size);
    dc_sha256(copy, trailer_offset, copy + trailer_offset);
    try_model(copy, size);
    return 0;
}
