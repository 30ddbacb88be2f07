/* runtime_adapter.h: where the application meets the model runtime (firmware/lib/src/runtime/,
 * dc_model.h). The SMP model group and the MLPerf Tiny protocol reach the runtime only through
 * the callbacks filled in here.
 *
 * At boot dc_app_runtime_bind() loads the running slot's model (memory-mapped flash) with
 * dc_model_load into ONE static arena of DC_APP_ARENA_SIZE bytes (a build-time constant per
 * board, firmware/boards/<board>.mk) in DC_MODEL_DECODE_AUTO: weights decoded at load
 * (DC_MODEL_DECODE_AT_LOAD) when that fits, else decoded per layer before each op
 * (DC_MODEL_DECODE_PER_LAYER), else streamed a chunk of output channels at a time
 * (DC_MODEL_DECODE_STREAMED). A model that needs more arena than that even streamed is refused
 * before it runs: every inference answers DC_ERR_ARENA, and `model info` / the console's `model`
 * line say how much it needs. The console's `decode` command reloads it in a given mode
 * (dc_app_runtime_set_decode; benchmarks and tests compare the modes on one board).
 *
 * Inference: the input tensor's bytes in (exactly the graph input's size, else DC_ERR_SHAPE;
 * the model must have one graph input), the output tensors' bytes out (all graph outputs,
 * concatenated in order), and the port's counter over dc_model_invoke: on the QEMU boards
 * virtual CPU cycles (SMP `cycles`), on native nothing (its counter is nanoseconds; SMP
 * `cycles` 0). SMP `insn` is 0: the firmware cannot read an instruction count. On the QEMU
 * boards the exact count goes to the instruction-count plugin's log through
 * dc_port_profile_mark: region DC_APP_INFER_REGION for each dc_model_invoke, region
 * DC_APP_OP_REGION(k) while op k runs (its weights' decoding included), 0 afterwards.
 *
 * Statuses (SMP err rc = -status; MLPerf "e-[Inference failed: NAME]"): DC_ERR_NO_MODEL (no
 * model runs), DC_ERR_ARENA (the model does not fit the arena), DC_ERR_SHAPE (wrong input
 * size), DC_ERR_UNSUPPORTED (more than one graph input), DC_ERR_BUFFER (outputs larger than an
 * SMP response), the load's status for a model the runtime cannot build (DC_ERR_OP, ...), the
 * kernels' status from a failed invoke.
 *
 * Ownership: the image bytes given to dc_app_runtime_bind stay valid (memory-mapped flash)
 * until the next reset; the adapter owns its arena, model and input buffer (static).
 */
#ifndef DC_RUNTIME_ADAPTER_H
#define DC_RUNTIME_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "dc_mlperf.h"
#include "dc_smp.h"

/* Input buffer capacity: the largest MLPerf Tiny input (VWW, 96 x 96 x 3 int8). */
#define DC_APP_INPUT_CAP (96u * 96u * 3u)
/* MLPerf Tiny: the most float32 input values `infer` quantizes (db bytes = 4 x input size). */
#define DC_APP_FLOAT_INPUT_MAX 1024u

/* The model arena (bytes): set per board in firmware/boards/<board>.mk (ARENA_SIZE). */
#ifndef DC_APP_ARENA_SIZE
#define DC_APP_ARENA_SIZE (384u * 1024u)
#endif

/* Profiling regions (dc_port_profile_mark; `work` uses 1, `kcheck` 250 and 251). */
#define DC_APP_INFER_REGION 2u
#define DC_APP_OP_REGION(k) (16u + (uint32_t)(k) % 224u)

/* The model the device boots with: physical slot (or -1 for none) and its container bytes. */
typedef struct {
    int slot;
    const uint8_t *image;
    size_t size;
} dc_app_model_t;

/* What the runtime made of the running model (the console's `model` line). */
typedef struct {
    int slot;                 /* physical slot, -1 without a model */
    int status;               /* DC_OK when loaded, else why not (DC_ERR_NO_MODEL, DC_ERR_ARENA, ...) */
    int per_layer;            /* 1: weights decoded per layer or streamed (the at-load arena did not fit) */
    int mode;                 /* dc_model_mode_t loaded (after a failed load: the mode asked for) */
    uint32_t stream_channels; /* DECODE_STREAMED: output channels per chunk */
    size_t arena_needed;      /* bytes the model needs in the mode used (AUTO refused: the least of all) */
    size_t arena_at_load;     /* bytes it needs with every weight decoded at load (0 if unknown) */
    size_t arena_capacity;    /* DC_APP_ARENA_SIZE */
    size_t input_bytes, output_bytes;
    size_t scratch_bytes;     /* of arena_needed: the optimized kernels' scratch buffer */
    uint32_t ops;
    const char *name;         /* the model's metadata name (printable), "" without */
} dc_app_runtime_info_t;

/* Called once at boot with the running model (image NULL when none): loads it. */
void dc_app_runtime_bind(const dc_app_model_t *model);

/* Reload the running model in `mode` (a dc_model_mode_t, DECODE_AUTO included) with `stream_channels`
 * per chunk (0: DC_MODEL_STREAM_CHANNELS); later binds keep it. DC_OK, DC_ERR_ARG (mode or channels out
 * of range), DC_ERR_NO_MODEL, or the load's status (dc_app_runtime_info() says more). */
int dc_app_runtime_set_decode(int mode, uint32_t stream_channels);

/* The state of the running model. Never NULL. */
const dc_app_runtime_info_t *dc_app_runtime_info(void);

/* DC_APP_ARENA_SIZE (what a model's target.min_ram must not exceed). */
size_t dc_app_runtime_arena_capacity(void);

/* The self-test of a fleet update (docs/protocol.md, MQTT section 8 "Self-test"): writes the
 * check input (dc_fleet_check_input) into the input tensor, runs the model once and puts the
 * SHA-256 of all its outputs (concatenated in graph order) into `digest`. DC_OK, or the
 * model's load status (DC_ERR_NO_MODEL, DC_ERR_ARENA, DC_ERR_OP, ...; dc_app_runtime_info()
 * says more), DC_ERR_SHAPE (input larger than DC_APP_INPUT_CAP), or the invoke's status. */
int dc_app_runtime_check(uint8_t digest[32]);

/* Fills the runtime callbacks of the SMP server (infer, input_buffer, describe); `ctx` is
 * left as the caller set it. */
void dc_app_runtime_smp(dc_smp_callbacks_t *cb);

/* Fills the runtime callbacks of the MLPerf protocol (load_input, invoke, output,
 * model_name). */
void dc_app_runtime_mlperf(dc_mlperf_callbacks_t *cb);

/* The input tensor buffer shared by SMP staged inputs and the MLPerf `db` commands. */
uint8_t *dc_app_runtime_input(size_t *cap);

#endif /* DC_RUNTIME_ADAPTER_H */
