/* dc_model_internal.h: the runtime's tables (tensors, ops) and the functions its files share. */
#ifndef DC_MODEL_INTERNAL_H
#define DC_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dc_cbor.h"
#include "dc_kernels.h"
#include "dc_model.h"

#define DC_MODEL_NONE 0xFFFFu   /* an absent operand */
#define DC_MODEL_SLICE 64u      /* levels decoded per dc_levels_read call */
#define DC_MODEL_STREAM_SLICE 16u /* DECODE_STREAMED: fewer per call, a smaller persistent slice buffer */
#define DC_MODEL_PLAN_ALIGN 4u  /* planned buffers: int32 biases need 4 */

/* Where an operand's data comes from. */
enum {
    DC_TENSOR_VALUE = 0,     /* computed (or a graph input): a planned buffer */
    DC_TENSOR_CONST = 1,     /* a coded tensor decoded into the arena (persistent or planned) */
    DC_TENSOR_IN_PLACE = 2,  /* a raw-coded tensor read in place from the container */
    DC_TENSOR_PARAM = 3,     /* a coded tensor no kernel reads (shape/axes/paddings operands) */
};

typedef struct dc_model_tensor {
    int8_t *data;             /* resolved at load; NULL for PARAM tensors */
    uint32_t count;           /* elements */
    uint32_t bytes;           /* count * element width */
    int32_t dims[DC_MODEL_MAX_RANK]; /* NHWC, leading 1s */
    uint8_t rank;             /* as in the metadata (<= 4 for tensors the kernels touch) */
    uint8_t dtype;            /* DC_LEVEL_* */
    uint8_t source;           /* DC_TENSOR_* */
    uint8_t decoded;          /* PER_LAYER: decoded during this invoke */
    float scale;              /* first scale (per-tensor quantization) */
    int32_t zero_point;
    uint32_t channel_count;   /* scales in the metadata (0: not quantized) */
    const uint8_t *scales;    /* channel_count packed scales in the container (dc_container_scale) */
    uint8_t scale_bytes;      /* 4: float32 LE; 1: mantissa bytes with scale_exp */
    int16_t scale_exp;
    const int8_t *codebook;   /* DC_LEVEL_RULE_CODEBOOK: codebook_length entries in the container */
    uint16_t codebook_length;
    uint8_t rule;             /* DC_LEVEL_RULE_*: how decoded levels rebuild the int8 values */
    uint8_t bits;             /* uniform/dependent: |level| <= 2^(bits-1) - 1 */
    uint8_t step;             /* uniform/dependent step */
    uint8_t zero_index;       /* codebook: index of the 0 entry */
    uint16_t stream;          /* STREAMED weights: output channels per chunk (0: decoded whole) */
    uint32_t offset;          /* planned buffers: offset in the planned region */
    uint32_t extra;           /* PER_LAYER/STREAMED weights: bytes after the weights for their op's multipliers
                               * (STREAMED: and the op's kernel scratch); streamed weights: the whole buffer,
                               * [chunk multipliers, shifts][kernel scratch][one chunk of weights] */
    int16_t first, last;      /* lifetime: op indices (-1: before the first op) */
    uint16_t alias;           /* DC_MODEL_NONE, or the operand whose buffer this one shares */
    uint8_t planned;          /* has a planned buffer */
    uint8_t placed;           /* planner bookkeeping */
} dc_model_tensor_t;

/* Op kinds the runtime implements (indices into the name table of dc_model_ops.c). */
typedef enum {
    DC_OP_CONV_2D = 0,
    DC_OP_DEPTHWISE_CONV_2D,
    DC_OP_FULLY_CONNECTED,
    DC_OP_AVERAGE_POOL_2D,
    DC_OP_MAX_POOL_2D,
    DC_OP_ADD,
    DC_OP_MUL,
    DC_OP_RESHAPE,
    DC_OP_SOFTMAX,
    DC_OP_LOGISTIC,
    DC_OP_RELU,
    DC_OP_RELU6,
    DC_OP_HARD_SWISH,
    DC_OP_PAD,
    DC_OP_CONCATENATION,
    DC_OP_MEAN,
    DC_OP_QUANTIZE,
    DC_OP_COUNT
} dc_op_kind_t;

typedef struct dc_model_op {
    uint8_t kind;             /* dc_op_kind_t */
    uint8_t input_count;
    uint16_t first_input;     /* index into m->operand_pool */
    uint16_t output;
    uint8_t planned_scratch;  /* STREAMED conv: the kernel scratch is in the weights' planned buffer */
    uint32_t options_position;  /* metadata offset of the node's options map */
    int32_t *multiplier;      /* conv / depthwise / fully connected: per-channel, persistent, or NULL: */
    int32_t *shift;           /* computed before each run after the decoded weights (PER_LAYER) */
    int32_t channels;
    int32_t act_min, act_max; /* fused clamp (also CONCATENATION's) */
    union {
        dc_conv_params_t conv;
        dc_depthwise_conv_params_t depthwise;
        dc_fully_connected_params_t fc;
        dc_pool_params_t pool;
        dc_add_params_t add;
        dc_mul_params_t mul;
        dc_softmax_fixed_params_t softmax;
        const int8_t *lut;
        dc_relu_params_t relu;
        dc_hard_swish_params_t hard_swish;
        dc_pad_params_t pad;
        int32_t concat_axis;
        dc_mean_params_t mean;
        struct {
            int32_t multiplier, shift, input_zero_point, output_zero_point;
            dc_rounding_t rounding;
        } requantize;
    } p;
} dc_model_op_t;

/* Bump allocator over the persistent part of the arena; counts what it could not give. */
typedef struct {
    uint8_t *base;
    size_t capacity;
    size_t used;       /* bytes asked for so far (may exceed capacity) */
} dc_model_bump_t;

void *dc_model_bump(dc_model_bump_t *b, size_t bytes);

/* dc_model_graph.c: the node/value tables from the metadata. */
dc_status_t dc_model_build_graph(dc_model_t *m, dc_model_bump_t *b);
/* dc_model_prepare.c: per-op parameters (multipliers, clamps, tables) into the arena. */
dc_status_t dc_model_prepare_ops(dc_model_t *m, dc_model_bump_t *b);
/* dc_model_plan.c: lifetimes and offsets of every planned buffer; returns the region size. */
dc_status_t dc_model_plan(dc_model_t *m, size_t *planned_bytes);
/* dc_model_plan.c: which operands get a planned buffer (`planned`) and their lifetimes (a shared buffer's
 * root lives as long as every tensor on it); idempotent. */
void dc_model_plan_lifetimes(dc_model_t *m);
/* Bytes of a planned buffer: the tensor, then its op's multipliers and scratch (streamed: `extra` only). */
size_t dc_model_plan_buffer_bytes(const dc_model_tensor_t *t);
/* dc_model_prepare.c: the per-channel multipliers of a conv/depthwise/FC op into the two arrays. */
dc_status_t dc_model_channel_multipliers(const dc_model_t *m, const dc_model_op_t *op, int32_t *multiplier,
                                         int32_t *shift);
/* The range [first, first + count) of the per-channel multipliers (first + count <= op->channels). */
dc_status_t dc_model_channel_multipliers_range(const dc_model_t *m, const dc_model_op_t *op, int32_t first,
                                               int32_t count, int32_t *multiplier, int32_t *shift);
/* Bytes of a planned weight buffer before its op's multipliers: the weights, 4-aligned (streamed: none). */
static inline uint32_t dc_model_weight_buffer_bytes(const struct dc_model_tensor *w)
{
    return w->stream != 0u ? 0u : (w->bytes + 3u) & ~3u;
}
/* Where a PER_LAYER/STREAMED weight tensor's op multipliers go: after its decoded levels (streamed: first). */
static inline int32_t *dc_model_scratch_multipliers(const struct dc_model_tensor *w)
{
    return (int32_t *)(void *)(w->data + dc_model_weight_buffer_bytes(w));
}
/* dc_model_weights.c: decode coded tensor `index` into `out` (its `bytes`). */
dc_status_t dc_model_decode_tensor(dc_model_t *m, uint32_t index, int8_t *out);
/* A coded tensor decoded a piece at a time (STREAMED): begin, then read its levels in order. One stream at a
 * time (the decoder state is shared). */
typedef struct {
    const dc_model_tensor_t *tensor;
    dc_tensor_entry_t entry;
    uint32_t done;   /* levels read so far */
    uint8_t state;   /* dependent quantization's trellis state */
} dc_model_stream_t;
dc_status_t dc_model_stream_begin(dc_model_t *m, uint32_t index, dc_model_stream_t *s);
/* The next `count` levels (<= what is left) rebuilt into out[0 .. count) (elements of the tensor's type). */
dc_status_t dc_model_stream_read(dc_model_t *m, dc_model_stream_t *s, int8_t *out, uint32_t count);
/* Levels per dc_levels_read call in mode `mode` (the slice buffer holds that many int32). */
static inline uint32_t dc_model_slice_levels(dc_model_mode_t mode)
{
    return mode == DC_MODEL_DECODE_STREAMED ? DC_MODEL_STREAM_SLICE : DC_MODEL_SLICE;
}
/* Bytes of the decoder scratch: the level decoder, `columns` column records, a slice of `slice` levels. */
size_t dc_model_decoder_bytes(uint32_t columns, uint32_t slice);
dc_status_t dc_model_max_columns(const dc_model_t *m, uint32_t *columns);
/* dc_model_invoke.c */
dc_status_t dc_model_run_op(dc_model_t *m, uint32_t op_index);

/* Option lookup in a node's options map (dc_model_options.c). `found` is 0 when absent. */
typedef struct {
    dc_cbor_reader_t reader;  /* positioned at the options map */
} dc_model_options_t;

void dc_model_options_at(const dc_model_t *m, uint32_t position, dc_model_options_t *o);
dc_status_t dc_model_option_int(const dc_model_options_t *o, const char *name, int64_t low, int64_t high,
                                int32_t *value);
dc_status_t dc_model_option_text(const dc_model_options_t *o, const char *name, const char **text, size_t *length);
dc_status_t dc_model_option_bool(const dc_model_options_t *o, const char *name, int *value);
/* A float option (stored as a CBOR float); absent: `fallback`. DC_ERR_OPTION if not a finite float. */
dc_status_t dc_model_option_float(const dc_model_options_t *o, const char *name, float fallback, float *value);
/* 1 when the node's options hold `name`, else 0. */
int dc_model_option_present(const dc_model_options_t *o, const char *name);
/* As dc_model_option_int, but an absent option takes `fallback` (the spec's default). */
dc_status_t dc_model_option_int_or(const dc_model_options_t *o, const char *name, int32_t fallback, int64_t low,
                                   int64_t high, int32_t *value);
/* A byte-string option of exactly `length` bytes; DC_ERR_OPTION if absent or of another length. */
dc_status_t dc_model_option_bytes(const dc_model_options_t *o, const char *name, size_t length,
                                  const uint8_t **bytes);
/* Scale k of a quantized tensor (float32 from the packed metadata bytes). */
float dc_model_tensor_scale(const dc_model_tensor_t *t, uint32_t k);
/* An array option: *count elements, `reader` positioned at the first. DC_ERR_OPTION if absent. */
dc_status_t dc_model_option_array(const dc_model_options_t *o, const char *name, uint64_t *count,
                                  dc_cbor_reader_t *reader);

static inline dc_model_tensor_t *dc_model_input_tensor(const dc_model_t *m, const dc_model_op_t *op, uint32_t k)
{
    uint16_t index = m->operand_pool[op->first_input + k];
    return index == DC_MODEL_NONE ? NULL : &m->tensors[index];
}

#endif /* DC_MODEL_INTERNAL_H */
