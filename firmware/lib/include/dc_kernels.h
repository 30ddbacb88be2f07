/* dc_kernels.h: int8 inference kernels bit-exact with TensorFlow Lite's int8 kernels.
 *
 * Semantics: TFLite's quantization spec (https://ai.google.dev/edge/litert/models/quantization_spec):
 * per-channel symmetric int8 weights, asymmetric int8 activations, int32 bias, requantization with
 * dc_multiply_by_quantized_multiplier (dc_fixed_point.h). docs/kernels.md gives each op's arithmetic.
 *
 * Ownership: the caller owns every buffer; no kernel allocates or keeps a pointer after it returns.
 * Input and output buffers must not overlap unless an op says so. Layout is NHWC, row-major,
 * C innermost; int32 arrays are in native byte order.
 * Lengths (`*_len`) are element counts of what the caller's buffer holds; a kernel never reads or
 * writes past them.
 *
 * Return codes (dc_status_t):
 *   DC_OK            success; the output is fully written.
 *   DC_ERR_ARG       a NULL pointer, or a parameter outside its documented range (stride < 1,
 *                    offset outside [-255, 255], activation min > max, shift outside [-31, 30],
 *                    negative multiplier, ...). Nothing is written.
 *   DC_ERR_SHAPE     dimensions that do not fit together (output size not what the op produces,
 *                    channel counts that differ, a dimension < 1). Nothing is written.
 *   DC_ERR_BUFFER    a buffer length is smaller than the dimensions need. Nothing is written.
 *   DC_ERR_OVERSIZE  a tensor has more than INT32_MAX elements.
 *
 * Scratch memory: CONV_2D and DEPTHWISE_CONV_2D take caller-owned scratch memory through
 * dc_conv_params_t.scratch / scratch_len (bytes, any alignment). dc_<op>_s8_get_buffer_size() says how
 * many bytes the kernel built into this firmware needs for given shapes: 0 for the reference kernels
 * (lib/src/kernels), more for the Cortex-M DSP kernels (lib/arch/armv7em, docs/kernels.md). A kernel
 * given less than that returns DC_ERR_BUFFER (after every other check). The scratch contents are
 * undefined after the call; one buffer can serve every layer (size it by the maximum).
 */
#ifndef DC_KERNELS_H
#define DC_KERNELS_H

#include <stdint.h>

#include "dc_fixed_point.h"
#include "dc_status.h"

/* A 4-D shape, NHWC. Lower-rank tensors use leading 1s (a [B, D] tensor is {B, 1, 1, D}). */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} dc_dims_t;

/* Per-channel requantization: output channel k uses multiplier[k] (Q31, >= 0) and shift[k]
 * (in [-31, 30]), as produced by dc_quantize_multiplier(input_scale * filter_scale[k] / output_scale).
 * count is 1 for per-tensor quantization (FULLY_CONNECTED only) or the number of output channels. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t count;
} dc_channel_quant_t;

/* ---- CONV_2D ---------------------------------------------------------------------------- */
typedef struct {
    int32_t input_offset;   /* -input_zero_point, in [-255, 255] */
    int32_t output_offset;  /* output_zero_point, in [-255, 255] */
    int32_t stride_h, stride_w;       /* >= 1 */
    int32_t dilation_h, dilation_w;   /* >= 1 */
    int32_t pad_h, pad_w;             /* top / left padding, >= 0 (TFLite's padding.height/width) */
    int32_t act_min, act_max;         /* fused activation clamp, within [-128, 127] */
    dc_rounding_t rounding;           /* DC_ROUNDING_DOUBLE for TFLite's reference kernels */
    void *scratch;                    /* caller-owned scratch memory, or NULL when scratch_len is 0 */
    int32_t scratch_len;              /* bytes at scratch, >= dc_conv_s8_get_buffer_size() */
    int32_t output_stride;            /* CONV_2D: elements from one output pixel to the next; 0 means Cout
                                       * (a dense output). A stride > Cout writes this call's Cout channels
                                       * into a channel sub-range of a wider tensor: pass output + first
                                       * channel (the runtime's streamed mode, docs/runtime.md).
                                       * DEPTHWISE_CONV_2D: 0 or Cout. Smaller: DC_ERR_ARG. */
} dc_conv_params_t;

/* Bytes of scratch memory dc_conv_s8 (this build's variant) needs for these shapes: >= 0, or
 * DC_ERR_ARG for a NULL argument. The shapes are not validated here (dc_conv_s8 does that). */
int32_t dc_conv_s8_get_buffer_size(const dc_conv_params_t *params, const dc_dims_t *input_dims,
                                   const dc_dims_t *filter_dims, const dc_dims_t *output_dims);

/* input [N,H,W,Cin], filter [Cout,KH,KW,Cin/groups] (groups = Cin / filter.c), bias [Cout] or NULL,
 * output [N,OH,OW,Cout] (pixels output_stride apart: output_len >= (N*OH*OW - 1) * stride + Cout) with OH = (H + pads - dilated KH) / stride + 1 as TFLite computes it:
 * the output dims must equal what the input, filter, stride, dilation and padding give for some
 * bottom/right padding in [pad, pad + 1] (TFLite SAME puts the odd pixel at the bottom/right). */
dc_status_t dc_conv_s8(const dc_conv_params_t *params, const dc_channel_quant_t *quant,
                       const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                       const dc_dims_t *filter_dims, const int8_t *filter, int32_t filter_len,
                       const int32_t *bias, int32_t bias_len,
                       const dc_dims_t *output_dims, int8_t *output, int32_t output_len);

/* ---- DEPTHWISE_CONV_2D ------------------------------------------------------------------ */
typedef struct {
    dc_conv_params_t conv;      /* same meaning as for CONV_2D */
    int32_t depth_multiplier;   /* >= 1; Cout = Cin * depth_multiplier */
} dc_depthwise_conv_params_t;

/* Bytes of scratch memory dc_depthwise_conv_s8 (this build's variant) needs (params->conv.scratch):
 * >= 0, or DC_ERR_ARG for a NULL argument. */
int32_t dc_depthwise_conv_s8_get_buffer_size(const dc_depthwise_conv_params_t *params, const dc_dims_t *input_dims,
                                             const dc_dims_t *filter_dims, const dc_dims_t *output_dims);

/* input [N,H,W,Cin], filter [1,KH,KW,Cout], bias [Cout] or NULL, output [N,OH,OW,Cout]. */
dc_status_t dc_depthwise_conv_s8(const dc_depthwise_conv_params_t *params, const dc_channel_quant_t *quant,
                                 const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                                 const dc_dims_t *filter_dims, const int8_t *filter, int32_t filter_len,
                                 const int32_t *bias, int32_t bias_len,
                                 const dc_dims_t *output_dims, int8_t *output, int32_t output_len);

/* ---- FULLY_CONNECTED -------------------------------------------------------------------- */
typedef struct {
    int32_t input_offset;   /* -input_zero_point, in [-255, 255] */
    int32_t filter_offset;  /* -filter_zero_point (0 for int8 per the spec), in [-255, 255] */
    int32_t output_offset;  /* output_zero_point, in [-255, 255] */
    int32_t act_min, act_max;
    dc_rounding_t rounding;   /* LiteRT's reference FULLY_CONNECTED rounds DC_ROUNDING_SINGLE */
    int32_t output_stride;    /* elements from one output row (batch) to the next; 0 means units. A stride >
                               * units writes this call's units into a sub-range of wider rows: pass
                               * output + first unit (the runtime's streamed mode). Smaller: DC_ERR_ARG. */
} dc_fully_connected_params_t;

/* input [batches * depth] (any shape whose size is a multiple of depth), filter [units, depth],
 * bias [units] or NULL, output [batches, units] (rows output_stride apart: output_len >=
 * (batches - 1) * stride + units). quant->count is 1 (per-tensor) or units. */
dc_status_t dc_fully_connected_s8(const dc_fully_connected_params_t *params, const dc_channel_quant_t *quant,
                                  int32_t batches, int32_t depth, int32_t units,
                                  const int8_t *input, int32_t input_len,
                                  const int8_t *filter, int32_t filter_len,
                                  const int32_t *bias, int32_t bias_len,
                                  int8_t *output, int32_t output_len);

/* ---- AVERAGE_POOL_2D / MAX_POOL_2D (input and output share scale and zero point) -------- */
typedef struct {
    int32_t stride_h, stride_w;   /* >= 1 */
    int32_t filter_h, filter_w;   /* >= 1 */
    int32_t pad_h, pad_w;         /* top / left, >= 0 */
    int32_t act_min, act_max;
} dc_pool_params_t;

/* input [N,H,W,C], output [N,OH,OW,C]. A window that covers no input pixel -> DC_ERR_SHAPE. */
dc_status_t dc_avgpool_s8(const dc_pool_params_t *params,
                          const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                          const dc_dims_t *output_dims, int8_t *output, int32_t output_len);
dc_status_t dc_maxpool_s8(const dc_pool_params_t *params,
                          const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                          const dc_dims_t *output_dims, int8_t *output, int32_t output_len);

/* ---- ADD / MUL (4-D broadcasting: a dimension of 1 in one input repeats) ----------------- */
typedef struct {
    int32_t input1_offset, input2_offset;   /* -zero_point, in [-255, 255] */
    int32_t output_offset;                  /* output zero point, in [-255, 255] */
    int32_t left_shift;                     /* 20 for int8 (TFLite), in [0, 20] */
    int32_t input1_multiplier, input1_shift;  /* scale1 / (2 max(scale1, scale2)), shift <= 0 */
    int32_t input2_multiplier, input2_shift;  /* scale2 / (2 max(scale1, scale2)), shift <= 0 */
    int32_t output_multiplier, output_shift;  /* 2 max(scale1, scale2) / (2^left_shift scale_out) */
    int32_t act_min, act_max;
} dc_add_params_t;

typedef struct {
    int32_t input1_offset, input2_offset;   /* -zero_point, in [-255, 255] */
    int32_t output_offset;
    int32_t output_multiplier, output_shift;  /* scale1 * scale2 / scale_out */
    int32_t act_min, act_max;
} dc_mul_params_t;

/* Each input dimension equals the output's or is 1. */
dc_status_t dc_add_s8(const dc_add_params_t *params,
                      const dc_dims_t *input1_dims, const int8_t *input1, int32_t input1_len,
                      const dc_dims_t *input2_dims, const int8_t *input2, int32_t input2_len,
                      const dc_dims_t *output_dims, int8_t *output, int32_t output_len);
dc_status_t dc_mul_s8(const dc_mul_params_t *params,
                      const dc_dims_t *input1_dims, const int8_t *input1, int32_t input1_len,
                      const dc_dims_t *input2_dims, const int8_t *input2, int32_t input2_len,
                      const dc_dims_t *output_dims, int8_t *output, int32_t output_len);

/* ---- SOFTMAX (LiteRT's int8 kernel: a float exp table, see docs/kernels.md) --------------- */
#define DC_SOFTMAX_TABLE_LEN 256

/* Host-only (host/csrc/dc_kernel_tables.c; needs libm): the tables ship in the model.
 * Fills table[255 - v] = expf(-input_scale * beta * v) for v = 0..255, as LiteRT's Prepare does.
 * Uses libm's expf: build the table where the reference is built (the host) for bit-exactness. */
dc_status_t dc_softmax_s8_populate_table(float input_scale, float beta, float *table, int32_t table_len);

typedef struct {
    const float *table;       /* DC_SOFTMAX_TABLE_LEN entries from dc_softmax_s8_populate_table */
    float output_scale;       /* > 0 (1/256 for int8 per the spec) */
    int32_t output_zero_point;  /* -128 for int8 per the spec; any value in [-128, 127] */
} dc_softmax_params_t;

/* Softmax over the last dimension: `rows` rows of `depth` values. */
dc_status_t dc_softmax_s8(const dc_softmax_params_t *params, int32_t rows, int32_t depth,
                          const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len);

/* ---- SOFTMAX in gemmlowp fixed point (TFLite reference_ops::Softmax, TFLite Micro) --------
 * What LiteRT's reference kernels (BUILTIN_REF) and host/reference/softmax.py compute; needs no
 * table and no libm. Output quantization is TFLite's int8 softmax one: scale 1/256, zero point
 * -128. Parameters as TFLite's PreprocessSoftmaxScaling computes them from beta and the input
 * scale: input_multiplier * 2^input_left_shift = min(beta * input_scale * 2^26, 2^31 - 1)
 * (QuantizeMultiplier, left shift in [0, 31]), diff_min = -CalculateInputRadius(5, left shift). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;         /* <= 0: inputs this far below the row maximum give -128 */
} dc_softmax_fixed_params_t;

/* Softmax over the last dimension: `rows` rows of `depth` values. DC_ERR_ARG for bad params. */
dc_status_t dc_softmax_fixed_s8(const dc_softmax_fixed_params_t *params, int32_t rows, int32_t depth,
                                const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len);

/* ---- LOGISTIC (LiteRT's int8 kernel: a 256-entry lookup table) --------------------------- */
#define DC_LUT_S8_LEN 256

/* lut[(uint8_t)q] = quantize_out(1 / (1 + expf(-dequantize_in(q)))), as LiteRT's LUTPopulate. */
dc_status_t dc_logistic_s8_populate_lut(float input_scale, int32_t input_zero_point, float output_scale,
                                        int32_t output_zero_point, int8_t *lut, int32_t lut_len);

/* output[i] = lut[(uint8_t)input[i]]. input and output may be the same buffer. */
dc_status_t dc_logistic_s8(const int8_t *lut, int32_t lut_len, int32_t size,
                           const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len);

/* ---- RELU / RELU6 / RELU_N1_TO_1 (requantizing clamp) -------------------------------------- */
typedef struct {
    int32_t input_zero_point, output_zero_point;   /* in [-128, 127] */
    int32_t output_multiplier, output_shift;       /* input_scale / output_scale */
    int32_t act_min, act_max;  /* quantized clamp: RELU [max(-128, zp), 127]; RELU6 adds zp + round(6/scale) */
} dc_relu_params_t;

/* output = clamp(zp_out + MBQM(input - zp_in), act_min, act_max). input may equal output. */
dc_status_t dc_relu_s8(const dc_relu_params_t *params, int32_t size,
                       const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len);

/* ---- HARD_SWISH (TFLite reference int16 fixed point) --------------------------------------- */
typedef struct {
    int32_t input_zero_point, output_zero_point;
    int16_t reluish_multiplier_fixedpoint_int16;   /* Q15 of (input_scale/128) / (3/32768) */
    int32_t reluish_multiplier_exponent;           /* in [-15, 15] */
    int16_t output_multiplier_fixedpoint_int16;    /* Q15 of (input_scale/128) / output_scale */
    int32_t output_multiplier_exponent;            /* in [-15, 0] */
} dc_hard_swish_params_t;

/* Fills the parameters exactly as LiteRT's HardSwishPrepare. DC_ERR_UNSUPPORTED when the output
 * multiplier needs a left shift (TFLite refuses such a model too). */
dc_status_t dc_hard_swish_s8_prepare(float input_scale, int32_t input_zero_point, float output_scale,
                                     int32_t output_zero_point, dc_hard_swish_params_t *params);

dc_status_t dc_hard_swish_s8(const dc_hard_swish_params_t *params, int32_t size,
                             const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len);

/* ---- PAD / PADV2 ------------------------------------------------------------------------- */
typedef struct {
    int32_t before[4];   /* elements added before each of N, H, W, C, >= 0 */
    int32_t after[4];    /* elements added after each of N, H, W, C, >= 0 */
    int8_t pad_value;    /* the output zero point for PAD; the quantized constant for PADV2 */
} dc_pad_params_t;

dc_status_t dc_pad_s8(const dc_pad_params_t *params,
                      const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                      const dc_dims_t *output_dims, int8_t *output, int32_t output_len);

/* ---- CONCATENATION (int8: all inputs share the output's scale and zero point) -------------- */
#define DC_CONCAT_MAX_INPUTS 16

/* Concatenates `count` tensors along axis 0..3 (N, H, W, C). inputs[k] has inputs_dims[k] and
 * inputs_len[k] elements of storage; every dimension but `axis` equals the output's. */
dc_status_t dc_concat_s8(int32_t axis, int32_t count,
                         const dc_dims_t *inputs_dims, const int8_t *const *inputs, const int32_t *inputs_len,
                         const dc_dims_t *output_dims, int8_t *output, int32_t output_len);

/* ---- MEAN (int8, any subset of the 4 axes reduced) -----------------------------------------
 * sum(input - zp_in) requantized once by multiplier * 2^shift / count, where the kernel folds
 * 1/count into the multiplier exactly as LiteRT's reference kernel (docs/kernels.md). */
typedef struct {
    int32_t input_zero_point, output_zero_point;   /* in [-128, 127] */
    int32_t multiplier, shift;   /* input_scale / output_scale, from dc_quantize_multiplier */
    uint8_t reduce[4];           /* 1 where axis N, H, W, C is reduced */
} dc_mean_params_t;

/* output dims are the input dims with every reduced axis set to 1 (keep_dims layout). */
dc_status_t dc_mean_s8(const dc_mean_params_t *params,
                       const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                       const dc_dims_t *output_dims, int8_t *output, int32_t output_len);

/* ---- QUANTIZE (float -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float) ---------------- */
/* output = clamp(round_half_away(input / scale) + zero_point, -128, 127); scale > 0. */
dc_status_t dc_quantize_f32_s8(float scale, int32_t zero_point, int32_t size,
                               const float *input, int32_t input_len, int8_t *output, int32_t output_len);

/* output = clamp(requantize(input - input_zero_point) + output_zero_point, -128, 127), rounding as
 * `rounding` says (LiteRT's reference kernel: DC_ROUNDING_DOUBLE; its optimized one: HALF_UP). */
dc_status_t dc_requantize_s8(int32_t input_zero_point, int32_t output_zero_point, int32_t multiplier,
                             int32_t shift, dc_rounding_t rounding, int32_t size,
                             const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len);

/* output = scale * (input - zero_point) in float. */
dc_status_t dc_dequantize_s8(float scale, int32_t zero_point, int32_t size,
                             const int8_t *input, int32_t input_len, float *output, int32_t output_len);

#endif /* DC_KERNELS_H */
