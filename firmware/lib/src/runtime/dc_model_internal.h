/* dc_model_internal.h: the runtime's tables (tensors, ops) and the functions its files share. */
#ifndef DC_MODEL_INTERNAL_H
#define DC_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dc_cbor.h"
#include "dc_kernels.h"
#include "dc_levels.h"
#include "dc_model.h"

#define DC_MODEL_NONE 0xFFFFu   /* an absent operand */
#define DC_MODEL_SLICE 64u      /* levels decoded per dc_levels_read call */
#define DC_MODEL_STREAM_SLICE 16u /* DECODE_STREAMED: fewer per call, a smaller persistent slice buffer */
#define DC_MODEL_PLAN_ALIGN 4u  /* planned buffers: int32 biases need 4 */

/* A streamed chunk of `chunk` output channels of `row` weight bytes each, as it ends its op's buffer: whole
 * words, so that what lies before it (a streamed int32 bias chunk) stays 4-aligned. */
static inline uint32_t dc_model_chunk_bytes(uint32_t chunk, uint32_t row)
{
    return (chunk * row + (DC_MODEL_PLAN_ALIGN - 1u)) & ~(DC_MODEL_PLAN_ALIGN - 1u);
}

/* Where an operand's data comes from. */
enum {
    DC_TENSOR_VALUE = 0,     /* computed (or a graph input): a planned buffer */
    DC_TENSOR_CONST = 1,     /* a coded tensor decoded into the arena (persistent or planned) */
    DC_TENSOR_IN_PLACE = 2,  /* a raw-coded tensor read in place from the container */
    DC_TENSOR_PARAM = 3,     /* a coded tensor no kernel reads (shape/axes/paddings operands) */
};

/* The run-time record of one operand (persistent: 40 B on a 32-bit target). What only loading needs (lifetimes,
 * plan offsets, zero points of constants, channel counts) is in dc_model_life_t instead; element counts and
 * scales are derived (dc_model_count, dc_model_tensor_scale). The small fields share bytes (bit-fields of a byte). */
typedef struct dc_model_tensor {
    int8_t *data;             /* resolved at load; NULL for PARAM tensors */
    int32_t dims[DC_MODEL_MAX_RANK]; /* NHWC, leading 1s; rank > 4: {1, 1, 1, element count} */
    const uint8_t *scales;    /* the packed scales in the container (dc_model_tensor_scale), NULL: not quantized */
    union {
        int32_t zero_point;       /* graph values (activations): the zero point */
        const int8_t *codebook;   /* coded tensors, DC_LEVEL_RULE_CODEBOOK: step + 1 entries in the container */
    } q;
    uint32_t extra;           /* PER_LAYER/STREAMED weights: bytes after the weights for their op's multipliers
                               * (STREAMED: and the op's kernel scratch); streamed weights: the whole buffer,
                               * [chunk multipliers, shifts][kernel scratch][bias chunk, its decoder][one chunk
                               * of weights] */
    uint16_t stream;          /* STREAMED int8 weights: output channels per chunk (0: decoded whole); an int32 bias:
                               * 1 when it is read a chunk at a time into its op's weight buffer */
    uint8_t step;             /* uniform/dependent step; codebook: its last index (length - 1); scaled: the shift k */
    uint8_t zero_index;       /* codebook: index of the 0 entry */
    int8_t scale_exp;         /* compact scales: the exponent, -126..120 */
    uint8_t rank : 4;         /* as in the metadata (<= 8; <= 4 for tensors the kernels touch) */
    uint8_t bits : 4;         /* uniform/dependent: |level| <= 2^(bits-1) - 1 (<= 8) */
    uint8_t rule : 3;         /* DC_LEVEL_RULE_* (0..4): how decoded levels rebuild the values (scaled: int32) */
    uint8_t dtype : 2;        /* DC_LEVEL_* (0..2) */
    uint8_t source : 2;       /* DC_TENSOR_* (0..3) */
    uint8_t decoded : 1;      /* PER_LAYER: decoded during this invoke */
    uint8_t compact_scale : 1; /* scales of 1 byte each (with scale_exp), else float32 LE */
    uint8_t one_scale : 1;    /* one scale for every channel (per-tensor quantization) */
} dc_model_tensor_t;

/* What only dc_model_load needs of an operand (lifetimes, planning, quantization checks): kept at the top of the
 * arena while loading, in memory the planned region reuses afterwards (the arena holds the larger of the two). */
typedef struct dc_model_life {
    uint32_t offset;          /* planned buffers: offset in the planned region */
    uint32_t channel_count;   /* scales in the metadata (0: not quantized) */
    int32_t zero_point;       /* the first zero point */
    int16_t first, last;      /* lifetime: op indices (-1: before the first op) */
    uint16_t alias;           /* DC_MODEL_NONE, or the operand whose buffer this one shares */
    uint8_t planned;          /* has a planned buffer */
    uint8_t placed;           /* planner bookkeeping */
} dc_model_life_t;

/* Bytes of the load-time records (dc_model_life_t per operand, an options position per op), 8-aligned. */
static inline size_t dc_model_load_bytes(const dc_model_t *m)
{
    return (sizeof(dc_model_life_t) * m->operand_count + sizeof(uint32_t) * m->op_count + 7u) & ~(size_t)7u;
}

static inline uint32_t dc_model_count(const dc_model_tensor_t *t)
{
    return (uint32_t)t->dims[0] * (uint32_t)t->dims[1] * (uint32_t)t->dims[2] * (uint32_t)t->dims[3];
}

/* An int32 bias read a chunk at a time beside its op's streamed weights (no buffer of its own). */
static inline int dc_model_streamed_bias(const dc_model_tensor_t *t)
{
    return t->stream != 0u && t->dtype == DC_LEVEL_INT32;
}

/* Bytes of the tensor's elements (int8, int16 or int32). */
static inline uint32_t dc_model_bytes(const dc_model_tensor_t *t)
{
    return dc_model_count(t) << (t->dtype == DC_LEVEL_INT8 ? 0 : t->dtype == DC_LEVEL_INT16 ? 1 : 2);
}

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

/* The op parameters are stored compactly (the largest is 24 B on a 32-bit target) and expanded into the kernels'
 * parameter structs just before each call. Window sizes, strides, dilations, paddings and the depth multiplier
 * fit int16: dc_model_load refuses a larger one with DC_ERR_UNSUPPORTED. */

/* CONV_2D / DEPTHWISE_CONV_2D parameters (dc_model_conv_params expands them for the kernel). */
typedef struct {
    int16_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
    int16_t depth_multiplier;
    int16_t input_offset, output_offset;
    int8_t act_min, act_max;
    uint8_t rounding;         /* dc_rounding_t */
} dc_model_conv_t;

typedef struct {
    int32_t quant[2];         /* per-tensor weights: the multiplier and the shift (op->multiplier points here) */
    int16_t input_offset, filter_offset, output_offset;
    int8_t act_min, act_max;
    uint8_t rounding;         /* dc_rounding_t */
} dc_model_fc_t;

typedef struct {
    int16_t stride_h, stride_w, filter_h, filter_w, pad_h, pad_w;
    int8_t act_min, act_max;
} dc_model_pool_t;

typedef struct {
    int32_t input1_multiplier, input2_multiplier, output_multiplier;
    int16_t input1_offset, input2_offset, output_offset;
    int8_t input1_shift, input2_shift, output_shift, left_shift;
    int8_t act_min, act_max;
} dc_model_add_t;

typedef struct {
    int32_t output_multiplier;
    int16_t input1_offset, input2_offset, output_offset;
    int8_t output_shift, act_min, act_max;
} dc_model_mul_t;

typedef struct {
    int16_t before[DC_MODEL_MAX_RANK], after[DC_MODEL_MAX_RANK]; /* elements added before / after N, H, W, C */
    int8_t pad_value;
} dc_model_pad_t;

#if DC_MODEL_MAX_OP_INPUTS > 127
#error "dc_model_op_t.input_count holds at most 127 inputs"
#endif

/* The run-time record of one op (persistent: 36 B on a 32-bit target; the options' position in the metadata
 * is a load-time array). */
typedef struct dc_model_op {
    uint8_t kind;             /* dc_op_kind_t */
    uint8_t input_count : 7;  /* <= DC_MODEL_MAX_OP_INPUTS */
    uint8_t planned_scratch : 1; /* STREAMED conv: the kernel scratch is in the weights' planned buffer */
    uint16_t first_input;     /* index into m->operand_pool */
    uint16_t output;
    uint16_t channels;        /* conv / depthwise / fully connected: the weights' scales, 1 or the output channels
                               * (more than UINT16_MAX: DC_ERR_UNSUPPORTED) */
    int32_t *multiplier;      /* conv / depthwise / fully connected: `channels` multipliers then `channels` shifts,
                               * persistent (a per-tensor FULLY_CONNECTED's in p.fc.quant, in every mode), or NULL:
                               * computed before each run after the decoded weights */
    union {
        dc_model_conv_t conv;     /* also DEPTHWISE_CONV_2D */
        dc_model_fc_t fc;
        dc_model_pool_t pool;
        dc_model_add_t add;
        dc_model_mul_t mul;
        dc_softmax_fixed_params_t softmax;
        const int8_t *lut;
        dc_relu_params_t relu;
        dc_hard_swish_params_t hard_swish;
        dc_model_pad_t pad;
        struct {
            int32_t axis;
            int8_t act_min, act_max;
        } concat;
        dc_mean_params_t mean;
        struct {
            int32_t multiplier, shift, input_zero_point, output_zero_point;
            dc_rounding_t rounding;
        } requantize;
    } p;
} dc_model_op_t;

/* How many multipliers (and as many shifts) an op keeps in its weights' planned buffer for `chunk` output channels:
 * none when they live in the op record (a per-tensor FULLY_CONNECTED), 1 for other per-tensor weights, else `chunk`.
 * The planner sizes the buffer with it and dc_model_invoke lays the buffer out with it. */
static inline int32_t dc_model_buffer_quant_count(const dc_model_op_t *op, int32_t chunk)
{
    return op->multiplier != NULL ? 0 : op->channels == 1u ? 1 : chunk;
}

/* The record sizes on a 32-bit target (docs/runtime.md), which DC_MODEL_TARGET_CORTEX_M* size with; checked on
 * every 32-bit build (a negative array size fails it), so a 64-bit host computes the target's arena to the byte. */
#define DC_MODEL_TENSOR_BYTES_32 40u
#define DC_MODEL_OP_BYTES_32 36u
#if UINTPTR_MAX == 0xFFFFFFFFu
typedef char dc_model_tensor_is_40_bytes[sizeof(dc_model_tensor_t) == DC_MODEL_TENSOR_BYTES_32 ? 1 : -1];
typedef char dc_model_op_is_36_bytes[sizeof(dc_model_op_t) == DC_MODEL_OP_BYTES_32 ? 1 : -1];
typedef char dc_levels_dec_is_848_bytes[sizeof(dc_levels_dec_t) == DC_LEVELS_DEC_BYTES ? 1 : -1];
#endif

/* The kernel parameters of a CONV_2D / DEPTHWISE_CONV_2D op (scratch: the model's shared kernel scratch, or
 * NULL / 0 where the op's scratch is planned: the caller sets it). */
void dc_model_conv_params(const dc_model_t *m, const dc_model_op_t *op, dc_depthwise_conv_params_t *p);

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
    return w->stream != 0u ? 0u : (dc_model_bytes(w) + 3u) & ~3u;
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
    void *decoder;   /* its level decoder state (dc_levels_dec_t), then its column records */
    uint32_t done;   /* levels read so far */
    uint8_t state;   /* dependent quantization's trellis state */
} dc_model_stream_t;
dc_status_t dc_model_stream_begin(dc_model_t *m, uint32_t index, dc_model_stream_t *s);
/* As dc_model_stream_begin, with its own decoder state at `decoder` (dc_model_decoder_bytes(columns, 0) bytes,
 * 8-aligned), so that it can run beside the shared one (STREAMED: a bias read a chunk at a time beside the
 * weights). The slice buffer stays the shared one. */
dc_status_t dc_model_stream_begin_with(dc_model_t *m, uint32_t index, dc_model_stream_t *s, void *decoder,
                                       uint32_t columns);
/* The column records a CABAC payload's decoder needs (0 for a raw tensor). */
dc_status_t dc_model_tensor_columns(const dc_model_t *m, uint32_t index, uint32_t *columns);
/* The next `count` levels (<= what is left) rebuilt into out[0 .. count) (elements of the tensor's type). */
dc_status_t dc_model_stream_read(dc_model_t *m, dc_model_stream_t *s, int8_t *out, uint32_t count);
/* Levels per dc_levels_read call in mode `mode` (the slice buffer holds that many int32). */
static inline uint32_t dc_model_slice_levels(dc_model_mode_t mode)
{
    return mode == DC_MODEL_DECODE_STREAMED ? DC_MODEL_STREAM_SLICE : DC_MODEL_SLICE;
}
/* Bytes of the decoder scratch: the level decoder, `columns` column records, a slice of `slice` levels. */
size_t dc_model_decoder_bytes(const dc_model_t *m, uint32_t columns, uint32_t slice);
dc_status_t dc_model_max_columns(const dc_model_t *m, uint32_t *columns);
/* dc_model_invoke.c */
dc_status_t dc_model_run_op(dc_model_t *m, uint32_t op_index);

/* Node options (docs/bitstream.md sections 4.1, 4.3): the option's code, its key in format 3; format 2
 * keys it by name (dc_model_options.c). */
typedef enum {
    DC_OPTION_ACT_MAX,
    DC_OPTION_ACT_MIN,
    DC_OPTION_ACTIVATION,
    DC_OPTION_AXES,
    DC_OPTION_AXIS,
    DC_OPTION_BETA,
    DC_OPTION_DEPTH_MULTIPLIER,
    DC_OPTION_DILATION_H,
    DC_OPTION_DILATION_W,
    DC_OPTION_FILTER_H,
    DC_OPTION_FILTER_W,
    DC_OPTION_KEEP_DIMS,
    DC_OPTION_KEEP_NUM_DIMS,
    DC_OPTION_LUT,
    DC_OPTION_NEW_SHAPE,
    DC_OPTION_PADDING,
    DC_OPTION_PADDINGS,
    DC_OPTION_ROUNDING,
    DC_OPTION_STRIDE_H,
    DC_OPTION_STRIDE_W,
    DC_OPTION_COUNT
} dc_option_t;

/* Option lookup in a node's options map (dc_model_options.c). Every getter returns DC_ERR_OPTION for a
 * required option that is absent, and for a mistyped or out-of-range one. */
typedef struct {
    dc_cbor_reader_t reader;  /* positioned at the options map, reading the container's format */
} dc_model_options_t;

void dc_model_options_at(const dc_model_t *m, uint32_t position, dc_model_options_t *o);
dc_status_t dc_model_option_int(const dc_model_options_t *o, dc_option_t option, int64_t low, int64_t high,
                                int32_t *value);
dc_status_t dc_model_option_bool(const dc_model_options_t *o, dc_option_t option, int *value);
/* A float option (stored as a CBOR float); absent: `fallback`. DC_ERR_OPTION if not a finite float. */
dc_status_t dc_model_option_float(const dc_model_options_t *o, dc_option_t option, float fallback, float *value);
/* An enumeration option (section 4.3): *value = its index in `names` (`count` entries), read as the text in
 * format 2 and as the uint code in format 3; absent: `fallback`. DC_ERR_OPTION for another value. */
dc_status_t dc_model_option_enum(const dc_model_options_t *o, dc_option_t option, const char *const *names,
                                 unsigned count, unsigned fallback, unsigned *value);
/* As dc_model_option_int, but an absent option takes `fallback` (the spec's default). */
dc_status_t dc_model_option_int_or(const dc_model_options_t *o, dc_option_t option, int32_t fallback, int64_t low,
                                   int64_t high, int32_t *value);
/* A byte-string option of exactly `length` bytes; DC_ERR_OPTION if absent or of another length. */
dc_status_t dc_model_option_bytes(const dc_model_options_t *o, dc_option_t option, size_t length,
                                  const uint8_t **bytes);
/* Scale k (the caller bounds it by the tensor's scale count) of a quantized tensor (float32 from the packed
 * metadata bytes); 0 when not quantized. */
float dc_model_tensor_scale(const dc_model_tensor_t *t, uint32_t k);
/* An array option: *count elements, `reader` positioned at the first. DC_ERR_OPTION if absent. */
dc_status_t dc_model_option_array(const dc_model_options_t *o, dc_option_t option, uint64_t *count,
                                  dc_cbor_reader_t *reader);

/* The load-time record of operand `t` (valid during dc_model_load only). */
static inline dc_model_life_t *dc_model_life(const dc_model_t *m, const dc_model_tensor_t *t)
{
    return &m->life[t - m->tensors];
}

static inline dc_model_tensor_t *dc_model_input_tensor(const dc_model_t *m, const dc_model_op_t *op, uint32_t k)
{
    uint16_t index = m->operand_pool[op->first_input + k];
    return index == DC_MODEL_NONE ? NULL : &m->tensors[index];
}

#endif /* DC_MODEL_INTERNAL_H */
