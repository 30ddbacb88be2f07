/* corpus: tests/vectors/mlperf */
/* fuzz_mlperf.c: arbitrary bytes, cut at '%', into the MLPerf Tiny protocol with a fake
 * runtime; nothing may crash or read out of bounds, and every command ends with m-ready. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dc_mlperf.h"
#include "dc_status.h"

static uint8_t db[64];
static int8_t output[12] = {-128, -1, 0, 1, 127, 5, -5, 64, -64, 100, -100, 33};
static size_t written;
static char tail[9];

static void sink(void *ctx, const char *text, size_t n)
{
    (void)ctx;
    written += n;
    for (size_t i = 0; i < n; i++) { /* keep the last 8 bytes written */
        memmove(tail, tail + 1, 7);
        tail[7] = text[i];
    }
}

static uint64_t micros(void *ctx)
{
    (void)ctx;
    return written;
}

static int load_input(void *ctx, const uint8_t *bytes, size_t n)
{
    (void)ctx;
    return n > 0 && bytes[0] == 0xEE ? DC_ERR_SHAPE : DC_OK;
}

static unsigned invocations;

/* Fails after 1000 calls per command, so `infer 999999999` stays quick (and the error path runs). */
static int invoke(void *ctx)
{
    (void)ctx;
    return ++invocations > 1000u ? DC_ERR_INTERNAL : DC_OK;
}

static int get_output(void *ctx, dc_mlperf_output_t *out)
{
    (void)ctx;
    out->data = output;
    out->count = sizeof output;
    out->scale = 0.00390625f;
    out->zero_point = -128;
    return DC_OK;
}

static const char *model_name(void *ctx)
{
    (void)ctx;
    return "kws01";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_mlperf_t p;
    dc_mlperf_callbacks_t cb = {sink, micros, load_input, invoke, get_output, model_name, NULL};
    if (dc_mlperf_init(&p, db, sizeof db, &cb) != 0) {
        abort();
    }
    size_t start = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '%') {
            /* copy so that reading past the command would be caught by ASan */
            size_t n = i - start;
            char *cmd = malloc(n > 0 ? n : 1);
            if (cmd == NULL) {
                return 0;
            }
            memcpy(cmd, data + start, n);
            invocations = 0;
            dc_mlperf_command(&p, cmd, n);
            free(cmd);
            if (memcmp(tail, "-ready\r\n", 8) != 0) {
                abort(); /* every command must end with the prompt */
            }
            start = i + 1;
        }
    }
    return 0;
}
