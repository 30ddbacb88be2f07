/* dc_model.h: the model runtime: build a graph from a .dcb container, plan its memory, run it.
 *
 * A model is loaded from a container in memory (flash is memory-mapped on MCUs): the graph comes
 * from the container's CBOR metadata (docs/bitstream.md section 4), weights from its payloads,
 * and everything the model needs at run time lives in ONE caller-given arena:
 *
 *   arena: [ persistent: graph tables, per-channel multipliers, logistic look-up tables, the
 *            kernels' scratch buffer (optimized conv kernels only: the largest
 *            dc_conv_s8_get_buffer_size() of the model's layers, shared by all of them; in
 *            DECODE_STREAMED each op's scratch is planned behind its weights instead),
 *            (DECODE_AT_LOAD) every decoded weight, (PER_LAYER, STREAMED) the decoder state ]
 *          [ planned: activations, (DECODE_PER_LAYER) each op's weights, (DECODE_STREAMED) each
 *            op's weight chunk, placed by a greedy planner over tensor lifetimes so that buffers
 *            never live at the same time overlap ]
 *
 * Three modes (dc_model_mode_t): DECODE_AT_LOAD decodes every weight into the arena at load (most
 * RAM, fastest inference); DECODE_PER_LAYER keeps weights compressed in the container and decodes
 * an op's weights just before the op runs into planned buffers that live only during that op
 * (less RAM; each inference pays the decoding); DECODE_STREAMED decodes CONV_2D and FULLY_CONNECTED
 * weights a chunk of output channels at a time and runs the kernel per chunk (least RAM: the
 * largest layer's weights are never whole in RAM; same decoding cost as PER_LAYER). Raw-coded
 * (`CODEC_RAW`) tensors are read in place from the container in every mode when their alignment
 * allows.
 *
 * Ownership: the caller owns the dc_model_t, the container bytes and the arena; all must stay
 * valid and unchanged (the container) for as long as the model is used. No allocation.
 * Arena: 8-byte aligned. Byte order: the container is little-endian; tensors are native.
 *
 * Return codes (dc_status_t): DC_OK; the container's own statuses (dc_container.h) for a file
 * that does not open; DC_ERR_ARG (NULL, misaligned arena, unknown mode, index out of range,
 * model not loaded); DC_ERR_OVERSIZE (more ops/operands/inputs than the compile-time limits
 * below); DC_ERR_GRAPH (an operand reference out of range, a value used before it is computed
 * or computed twice, a wrong operand count, a constant where a computed value must be);
 * DC_ERR_OP (an op the runtime does not implement); DC_ERR_OPTION (an op option missing, of the
 * wrong type or out of range); DC_ERR_SHAPE (shapes that do not fit the op); DC_ERR_UNSUPPORTED
 * (a valid graph using a feature the runtime lacks: non-int8 activations, rank > 4, a delta
 * container); DC_ERR_ARENA (the arena is too small: reported by dc_model_load before anything
 * runs, with m->arena_needed); the coder's statuses (DC_ERR_CORRUPT, DC_ERR_TRUNCATED, ...) for
 * a payload that does not decode; the kernels' statuses from dc_model_invoke.
 */
#ifndef DC_MODEL_H
#define DC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "dc_container.h"
#include "dc_status.h"

/* Compile-time limits (override with -D). Exceeding one is DC_ERR_OVERSIZE. */
#ifndef DC_MODEL_MAX_OPS
#define DC_MODEL_MAX_OPS 1024u
#endif
#ifndef DC_MODEL_MAX_OPERANDS /* coded tensors + graph values */
#define DC_MODEL_MAX_OPERANDS 4096u
#endif
#ifndef DC_MODEL_MAX_OP_INPUTS /* CONCATENATION takes the most */
#define DC_MODEL_MAX_OP_INPUTS 16u
#endif
#ifndef DC_MODEL_MAX_IO /* graph inputs, graph outputs */
#define DC_MODEL_MAX_IO 8u
#endif
#define DC_MODEL_MAX_RANK 4u      /* tensors the kernels take (NHWC) */
#define DC_MODEL_ARENA_ALIGN 8u   /* the arena's required alignment */

/* Output channels per chunk in DECODE_STREAMED (dc_model_config_t.stream_channels 0 takes this). */
#ifndef DC_MODEL_STREAM_CHANNELS
#define DC_MODEL_STREAM_CHANNELS 8u
#endif

typedef enum {
    DC_MODEL_DECODE_AT_LOAD = 0,   /* every weight decoded into the arena by dc_model_load */
    DC_MODEL_DECODE_PER_LAYER = 1, /* weights decoded from the container just before their op */
    DC_MODEL_DECODE_STREAMED = 2,  /* as PER_LAYER, but CONV_2D (one group) and FULLY_CONNECTED weights are
                                    * decoded a chunk of output channels at a time into a small buffer and the
                                    * kernel runs on each chunk (docs/runtime.md) */
    DC_MODEL_DECODE_AUTO = 3,      /* dc_model_load: AT_LOAD if the arena holds it, else PER_LAYER, else
                                    * STREAMED (m->mode says which); dc_model_arena_size: the least of the three */
} dc_model_mode_t;

/* The device an arena size is computed for (dc_model_arena_size_config): this build itself, or a Cortex-M
 * (4-byte pointers in the tables) with the reference kernels or with the armv7em DSP kernels (their CONV_2D
 * scratch). A host sizes a board's arena with it to the byte; dc_model_load takes only TARGET_BUILD. */
typedef enum {
    DC_MODEL_TARGET_BUILD = 0,
    DC_MODEL_TARGET_CORTEX_M = 1,
    DC_MODEL_TARGET_CORTEX_M_DSP = 2,
} dc_model_target_t;

/* Load options beyond the mode (dc_model_load_config). */
typedef struct {
    dc_model_mode_t mode;
    uint32_t stream_channels;  /* DECODE_STREAMED: output channels per chunk, 0: DC_MODEL_STREAM_CHANNELS */
    dc_model_target_t target;  /* dc_model_arena_size_config: the device sized (0: this build) */
} dc_model_config_t;

/* Profiling hook: called with DC_MODEL_EVENT_BEGIN before op `op_index` (before its weights are
 * decoded) and DC_MODEL_EVENT_END after it. A port wires it to dc_port_profile_mark(); the
 * runtime itself depends on no port. */
typedef enum { DC_MODEL_EVENT_BEGIN = 0, DC_MODEL_EVENT_END = 1 } dc_model_event_t;
typedef void (*dc_model_profile_fn)(void *context, uint32_t op_index, dc_model_event_t event);

/* A graph input or output, or an op's output (valid until the next dc_model_invoke). */
typedef struct {
    int8_t *data;        /* in the arena */
    uint32_t bytes;      /* element count (int8) */
    uint32_t rank;
    int32_t shape[DC_MODEL_MAX_RANK];  /* the first `rank` entries are the tensor's shape */
    float scale;
    int32_t zero_point;
} dc_model_io_t;

struct dc_model_tensor;  /* internal (src/runtime/dc_model_internal.h) */
struct dc_model_op;
struct dc_model_life;

/* The runtime state of one model (small; the tables live in the arena). */
typedef struct {
    dc_container_t container;
    dc_model_mode_t mode;     /* the mode loaded (never DECODE_AUTO) */
    uint32_t stream_channels; /* DECODE_STREAMED: output channels per chunk */
    uint8_t *arena;
    size_t arena_size;
    size_t arena_needed;      /* bytes the model needs in `mode` (set by dc_model_load, also on DC_ERR_ARENA) */
    size_t persistent_bytes;  /* of which: persistent part */
    size_t planned_bytes;     /* of which: planned part */
    size_t arena_used;        /* bytes of the arena the loaded model uses: arena_needed, or more in STREAMED
                               * when the arena is larger (the chunks then grow, docs/runtime.md) */
    size_t weight_bytes;      /* decoded weight bytes (DECODE_AT_LOAD: persistent; PER_LAYER: planned) */
    size_t scratch_bytes;     /* kernel scratch (persistent; 0 with the reference kernels, docs/kernels.md;
                               * STREAMED: only what ops without planned weights share) */
    uint32_t op_count;
    uint32_t operand_count;   /* coded tensors + values */
    uint32_t coded_count;
    uint32_t input_count, output_count;
    uint16_t inputs[DC_MODEL_MAX_IO];
    uint16_t outputs[DC_MODEL_MAX_IO];
    struct dc_model_tensor *tensors;  /* operand_count entries, in the arena */
    struct dc_model_op *ops;          /* op_count entries, in the arena */
    uint16_t *operand_pool;           /* op inputs, in the arena */
    struct dc_model_life *life;       /* dc_model_load only: per operand, lifetimes and plan (top of the arena) */
    uint32_t *options;                /* dc_model_load only: per op, the metadata position of its options */
    void *kernel_scratch;             /* the kernels' shared scratch (scratch_bytes), in the arena, or NULL */
    uint8_t *plan;                    /* start of the planned region */
    void *decoder;                    /* decoder scratch (dc_levels_dec_t + columns + slice) */
    uint32_t decoder_columns;         /* column entries the scratch holds */
    dc_model_target_t target;         /* the device sized (dc_model_arena_size_config); BUILD when loaded */
    dc_model_profile_fn profile;
    void *profile_context;
    int loaded;
} dc_model_t;

/* Build the model in `container` (len bytes, fully validated first) into `arena` in `mode`.
 * On DC_ERR_ARENA nothing ran and m->arena_needed holds the bytes needed: exact whenever the
 * arena held the persistent tables, otherwise a lower bound (call again with that many bytes, or
 * use dc_model_arena_size). Any other failure leaves the model unloaded. */
dc_status_t dc_model_load(dc_model_t *m, const uint8_t *container, size_t len, uint8_t *arena, size_t arena_size,
                          dc_model_mode_t mode);

/* dc_model_load with options: config->mode and the streamed chunk size (stream_channels >= 1, or 0 for
 * DC_MODEL_STREAM_CHANNELS). NULL config: DC_ERR_ARG. */
dc_status_t dc_model_load_config(dc_model_t *m, const uint8_t *container, size_t len, uint8_t *arena,
                                 size_t arena_size, const dc_model_config_t *config);

/* dc_model_arena_size with options (as dc_model_load_config); config->target sizes another device's arena
 * (dc_model_target_t): its record sizes and its kernels' scratch. */
dc_status_t dc_model_arena_size_config(const uint8_t *container, size_t len, const dc_model_config_t *config,
                                       uint8_t *work, size_t work_size, size_t *size);

/* The exact arena bytes the model in `container` needs in `mode`, computed by loading it into
 * `work` (work_size bytes, 8-byte aligned; the model's persistent tables must fit, a few KiB, and
 * a full-size arena always does). Nothing is decoded. DC_ERR_ARENA when `work` is too small even
 * for the tables (*size then holds a lower bound); the load statuses for a bad container. */
dc_status_t dc_model_arena_size(const uint8_t *container, size_t len, dc_model_mode_t mode, uint8_t *work,
                                size_t work_size, size_t *size);

/* Install (or clear, with NULL) the per-op profiling hook. */
dc_status_t dc_model_set_profiler(dc_model_t *m, dc_model_profile_fn fn, void *context);

/* Graph input / output `index`: where to write the input, where to read the output. */
dc_status_t dc_model_input(dc_model_t *m, uint32_t index, dc_model_io_t *io);
dc_status_t dc_model_output(dc_model_t *m, uint32_t index, dc_model_io_t *io);

/* The output tensor of op `op_index` (valid in the profiling hook's END event for that op). */
dc_status_t dc_model_op_output(dc_model_t *m, uint32_t op_index, dc_model_io_t *io);

/* Run every op once on the current inputs. DC_OK, or the first failing op's status (decoder or
 * kernel); outputs are then unspecified. */
dc_status_t dc_model_invoke(dc_model_t *m);

/* DECODE_STREAMED: output channels per chunk of op `op_index`'s streamed weights (the planner's choice:
 * the least arena's chunks, grown to at most stream_channels when the arena holds more); 0 for an op
 * that does not stream, a bad index, another mode or a model not loaded. */
uint32_t dc_model_op_chunk(const dc_model_t *m, uint32_t op_index);

/* The op's kind as it appears in the metadata ("CONV_2D", ...), or NULL for a bad index. */
const char *dc_model_op_name(const dc_model_t *m, uint32_t op_index);

#endif /* DC_MODEL_H */
