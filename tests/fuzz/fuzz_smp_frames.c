/* corpus: tests/vectors/smp */
/* fuzz_smp_frames.c: arbitrary bytes into the SMP server (console framing, SMP header, CBOR,
 * every group) over RAM flash with a model installed; nothing may crash or read out of bounds,
 * and the running slot's bytes must never change. */
#include <stdint.h>
#include <string.h>

#include "dc_flash.h"
#include "dc_slots.h"
#include "dc_smp.h"
#include "dc_status.h"

#define SECTOR 1024u
#define SLOT_SIZE (16u * SECTOR)

static uint8_t mem[2u * SLOT_SIZE];
static uint8_t snapshot[SLOT_SIZE];
static dc_flash_sim_t sim;
static dc_slots_t slots;
static dc_smp_server_t srv;
static uint8_t input[4096];

/* Accepts any image starting with "OK" (version = byte 2); hash = the first 32 bytes padded. */
static int verify(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size, dc_model_info_t *info)
{
    uint8_t head[32];
    (void)ctx;
    memset(head, 0, sizeof(head));
    if (dc_flash_read(flash, offset, head, size < 32u ? size : 32u) != DC_OK) {
        return DC_ERR_FLASH;
    }
    if (size < 3u || head[0] != 'O' || head[1] != 'K') {
        return DC_ERR_MAGIC;
    }
    info->version = head[2];
    memcpy(info->hash, head, 32);
    return DC_OK;
}

static int infer(void *ctx, int slot, const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                 dc_smp_infer_result_t *res)
{
    (void)ctx;
    (void)slot;
    res->out_len = in_len < cap ? in_len : cap;
    memcpy(out, in, res->out_len);
    res->instructions = in_len;
    return in_len == 7u ? DC_ERR_SHAPE : DC_OK;
}

static uint8_t *input_buffer(void *ctx, size_t *cap)
{
    (void)ctx;
    *cap = sizeof(input);
    return input;
}

static void sink(void *ctx, const uint8_t *b, size_t n)
{
    (void)ctx;
    (void)b;
    (void)n;
}

static uint32_t text_sum; /* touches every text byte, so ASan checks the bounds */
static void text(void *ctx, const uint8_t *b, size_t n)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < n; i++) {
        text_sum += b[i];
    }
}

static int reset_requested;
static void on_reset(void *ctx)
{
    (void)ctx;
    reset_requested = 1;
}

static void boot(void)
{
    dc_verifier_t v = {verify, NULL};
    dc_smp_callbacks_t cb;
    int slot;
    memset(&cb, 0, sizeof(cb));
    cb.text = text;
    cb.reset = on_reset;
    cb.infer = infer;
    cb.input_buffer = input_buffer;
    dc_slots_init(&slots, &sim.dev, 0, SLOT_SIZE, SLOT_SIZE, v);
    dc_slots_boot(&slots, &slot);
    dc_smp_server_init(&srv, &slots, &cb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t model[] = "OK\x05 a model that is running";
    uint32_t off;
    size_t at = 0;
    int running;
    dc_flash_sim_init(&sim, mem, sizeof(mem), SECTOR, 8);
    boot();
    /* install a confirmed model in slot 0 */
    dc_slots_upload_begin(&slots, 0, sizeof(model), NULL, &off);
    dc_slots_upload_write(&slots, 0, model, sizeof(model));
    dc_slots_upload_finish(&slots, 0, NULL);
    dc_slots_mark_pending(&slots, 0, 0);
    boot();
    dc_slots_confirm(&slots, dc_slots_running(&slots), 0);
    running = dc_slots_running(&slots);
    memcpy(snapshot, mem + (uint32_t)running * SLOT_SIZE, SLOT_SIZE);
    /* feed in uneven pieces, as a UART would */
    while (at < size) {
        size_t n = 1u + (data[at] % 64u);
        if (n > size - at) {
            n = size - at;
        }
        reset_requested = 0;
        dc_smp_server_feed(&srv, data + at, n, sink, NULL);
        if (reset_requested) {
            boot();
        }
        at += n;
    }
    if (dc_slots_running(&slots) == running && !slots.trial &&
        memcmp(snapshot, mem + (uint32_t)running * SLOT_SIZE, SLOT_SIZE) != 0) {
        __builtin_trap(); /* the running model was modified */
    }
    return 0;
}
