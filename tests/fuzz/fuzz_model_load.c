/* corpus: tests/vectors/model */
/* fuzz_model_load.c: libFuzzer target for the model runtime's graph builder, planner and invoke.
 *
 * Each input is loaded as it is, then again with its content_sha256 fixed up (so mutations reach
 * the metadata graph behind the hash), in every decode mode (AUTO included), into an arena of the size the model
 * asks for (capped). A model that loads is run once on a zero input, so every planned buffer and
 * decoded weight is touched; AddressSanitizer catches any access outside the arena or container.
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

static void try_model(const uint8_t *data, size_t size)
{
    for (int mode = 0; mode < 4; mode++) { /* AT_LOAD, PER_LAYER, STREAMED, AUTO */
        dc_model_t m;
        size_t needed = 0;
        if (dc_model_arena_size(data, size, (dc_model_mode_t)mode, arena, ARENA_CAP, &needed) != DC_OK ||
            needed > ARENA_CAP) {
            continue;
        }
        if (dc_model_load(&m, data, size, arena, needed, (dc_model_mode_t)mode) != DC_OK) {
            continue;
        }
        for (uint32_t i = 0; i < m.input_count; i++) {
            dc_model_io_t io;
            if (dc_model_input(&m, i, &io) == DC_OK) {
                memset(io.data, 0, io.bytes);
            }
        }
        (void)dc_model_invoke(&m);
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
