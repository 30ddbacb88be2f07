/* dc_mlperf.h: the MLPerf Tiny (EEMBC) device-under-test text protocol (docs/protocol.md,
 * "MLPerf Tiny text protocol"), as the mlcommons/tiny runner and the EEMBC test harness
 * drive it.
 *
 * Commands are ASCII words separated by spaces and terminated by '%' (the terminator is not
 * part of the command given to dc_mlperf_command). Every command's output is a set of
 * lines ending in "\r\n"; the last one is always "m-ready". Errors are lines "e-[...]".
 *
 *   name               m-name-dut-[dcagent]
 *   profile            m-profile-[ULPMark for tinyML Firmware V0.0.1]  m-model-[NAME]
 *   timestamp          m-lap-us-N
 *   help               the command list
 *   db load N          m-[Expecting N bytes]        (N = 1 .. buffer capacity)
 *   db HEXBYTES        m-load-done once N bytes are loaded (extra digits are ignored)
 *   db print           m-buffer-xx-xx-... (8 bytes per line, the loaded bytes)
 *   infer N [W]        m-warmup-start-W, m-warmup-done, m-infer-start-N, m-lap-us-T0,
 *                      m-lap-us-T1, m-infer-done, m-results-[...] (N >= 1, W >= 0, default
 *                      N = 1, W = 10)
 *   results            m-results-[v0,v1,...] (dequantized outputs, 3 decimals)
 *
 * The runtime is reached through callbacks; without one (NULL, or a callback returning a
 * status) `infer` answers "e-[Inference failed: DC_ERR_...]".
 *
 * Ownership: dc_mlperf_t is caller-owned, as is the db buffer given to dc_mlperf_init (it
 * must outlive the protocol). No allocation; every parse is bounded by the command length.
 * Not thread-safe.
 */
#ifndef DC_MLPERF_H
#define DC_MLPERF_H

#include <stddef.h>
#include <stdint.h>

#define DC_MLPERF_CMD_MAX 256u          /* longest command accepted (the runner sends <= 65) */
#define DC_MLPERF_DEVICE_NAME "dcagent" /* the bracketed part of m-name-dut-[...] */
#define DC_MLPERF_FW_VERSION "ULPMark for tinyML Firmware V0.0.1" /* EE_FW_VERSION */
#define DC_MLPERF_DEFAULT_WARMUP 10u    /* `infer N` without W */

/* The quantized output vector of the last inference. `data` is borrowed from the runtime. */
typedef struct {
    const int8_t *data;
    size_t count;
    float scale;        /* real = (q - zero_point) * scale */
    int32_t zero_point;
} dc_mlperf_output_t;

typedef struct {
    /* Writes protocol output (whole lines or parts of one). Required. */
    void (*write)(void *ctx, const char *text, size_t n);
    /* Microseconds since some fixed point (m-lap-us). Required. */
    uint64_t (*micros)(void *ctx);
    /* Gives the runtime the loaded bytes as the input tensor (th_load_tensor). DC_OK or a
     * dc_status_t (e.g. DC_ERR_NO_MODEL, DC_ERR_SHAPE for a wrong size). */
    int (*load_input)(void *ctx, const uint8_t *bytes, size_t n);
    /* Runs one inference on the loaded input (th_infer). DC_OK or a dc_status_t. */
    int (*invoke)(void *ctx);
    /* The output of the last inference. DC_OK or a dc_status_t. */
    int (*output)(void *ctx, dc_mlperf_output_t *out);
    /* The running model's name for `profile` (m-model-[...]); NULL or "" -> "none". */
    const char *(*model_name)(void *ctx);
    void *ctx;
} dc_mlperf_callbacks_t;

typedef struct {
    dc_mlperf_callbacks_t cb;
    uint8_t *buf;       /* db buffer (caller-owned) */
    size_t cap;         /* its capacity */
    size_t size;        /* bytes announced by `db load` */
    size_t pos;         /* bytes loaded so far */
    uint8_t has_results;
} dc_mlperf_t;

/* Sets up the protocol with a db buffer of `cap` bytes and the callbacks (copied).
 * Returns 0, or -1 when a pointer is NULL, cap is 0 or write/micros are missing. */
int dc_mlperf_init(dc_mlperf_t *p, uint8_t *buf, size_t cap, const dc_mlperf_callbacks_t *cb);

/* Runs one command (`len` bytes, without the '%' terminator; need not be NUL-terminated)
 * and writes its output, ending with "m-ready\r\n". Leading/trailing blanks are ignored; an
 * empty command only answers m-ready. */
void dc_mlperf_command(dc_mlperf_t *p, const char *cmd, size_t len);

/* Answers a command the caller could not take (e.g. longer than its line buffer):
 * "e-[why]" then "m-ready". */
void dc_mlperf_reject(dc_mlperf_t *p, const char *why);

#endif /* DC_MLPERF_H */
