/* runtime_adapter.h: where the application meets the model runtime (firmware/lib/src/runtime/,
 * dc_model_load / dc_model_invoke). The SMP model group and the MLPerf Tiny protocol reach
 * the runtime only through the callbacks filled in here.
 *
 * Until the runtime is merged, runtime_adapter.c answers every inference with
 * DC_ERR_UNSUPPORTED: SMP `model infer` gets {"err": {"group": 96, "rc": 3}} (v1: rc 8
 * ENOTSUP), MLPerf `infer` gets "e-[Inference failed: DC_ERR_UNSUPPORTED]". Everything else
 * (upload, state, test, confirm, revert, erase, model info, MLPerf name/profile/db) works.
 *
 * Ownership: the image bytes given to dc_app_runtime_bind stay valid (memory-mapped flash)
 * until the next reset; the adapter owns its arena and input buffer (static).
 */
#ifndef DC_RUNTIME_ADAPTER_H
#define DC_RUNTIME_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "dc_mlperf.h"
#include "dc_smp.h"

/* Input buffer capacity: the largest MLPerf Tiny input (VWW, 96 x 96 x 3 int8). */
#define DC_APP_INPUT_CAP (96u * 96u * 3u)

/* The model the device boots with: physical slot (or -1 for none) and its container bytes. */
typedef struct {
    int slot;
    const uint8_t *image;
    size_t size;
} dc_app_model_t;

/* Called once at boot with the running model (image NULL when none). */
void dc_app_runtime_bind(const dc_app_model_t *model);

/* Fills the runtime callbacks of the SMP server (infer, input_buffer, describe); `ctx` is
 * left as the caller set it. */
void dc_app_runtime_smp(dc_smp_callbacks_t *cb);

/* Fills the runtime callbacks of the MLPerf protocol (load_input, invoke, output,
 * model_name). */
void dc_app_runtime_mlperf(dc_mlperf_callbacks_t *cb);

/* The input tensor buffer shared by SMP staged inputs and the MLPerf `db` commands. */
uint8_t *dc_app_runtime_input(size_t *cap);

#endif /* DC_RUNTIME_ADAPTER_H */
