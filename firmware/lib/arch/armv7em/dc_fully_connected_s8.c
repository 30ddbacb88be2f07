/* dc_fully_connected_s8.c (armv7em): int8 FULLY_CONNECTED with the DSP extension, bit-exact with
 * lib/src/kernels/dc_fully_connected_s8.c.
 *
 * Method (docs/kernels.md, "Optimized kernels"): two units (output neurons) at a time share each input
 * word; input and filter words are unpacked with their offsets by SXTAB16 (lanes 0, 2 and 1, 3) and
 * multiplied by SMLAD, 8 SMLADs per 4 input values. Requantization as in dc_arm_dsp.h.
 */
#include "dc_arm_dsp.h"
#include "dc_kernels.h"
#include "../../src/kernels/dc_kernel_checks.h"

/* Dot products of one input row with filter rows f0 and f1 (depth values each). */
static __attribute__((noinline)) void dot_2units(const int8_t *x, const int8_t *f0, const int8_t *f1, int32_t depth,
                                                 uint32_t in_off2, uint32_t f_off2, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    const int8_t *end4 = x + (depth & ~3);
    for (; x < end4; x += 4, f0 += 4, f1 += 4) {
        const uint32_t xv = dc_load32(x);
        const uint32_t xe = dc_sxtab16(in_off2, xv), xo = dc_sxtab16_ror8(in_off2, xv);
        const uint32_t w0 = dc_load32(f0), w1 = dc_load32(f1);
        a0 = dc_smlad(xe, dc_sxtab16(f_off2, w0), a0);
        a0 = dc_smlad(xo, dc_sxtab16_ror8(f_off2, w0), a0);
        a1 = dc_smlad(xe, dc_sxtab16(f_off2, w1), a1);
        a1 = dc_smlad(xo, dc_sxtab16_ror8(f_off2, w1), a1);
    }
    const int32_t in_off = (int16_t)(in_off2 & 0xFFFFu), f_off = (int16_t)(f_off2 & 0xFFFFu);
    for (int32_t j = 0; j < (depth & 3); ++j) {
        const int32_t v = x[j] + in_off;
        a0 = dc_mac(a0, f0[j] + f_off, v);
        a1 = dc_mac(a1, f1[j] + f_off, v);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* One unit. */
static int32_t dot_1unit(const int8_t *x, const int8_t *f0, int32_t depth, uint32_t in_off2, uint32_t f_off2,
                         int32_t acc)
{
    const int8_t *end4 = x + (depth & ~3);
    for (; x < end4; x += 4, f0 += 4) {
        const uint32_t xv = dc_load32(x), w0 = dc_load32(f0);
        acc = dc_smlad(dc_sxtab16(in_off2, xv), dc_sxtab16(f_off2, w0), acc);
        acc = dc_smlad(dc_sxtab16_ror8(in_off2, xv), dc_sxtab16_ror8(f_off2, w0), acc);
    }
    const int32_t in_off = (int16_t)(in_off2 & 0xFFFFu), f_off = (int16_t)(f_off2 & 0xFFFFu);
    for (int32_t j = 0; j < (depth & 3); ++j) {
        acc = dc_mac(acc, f0[j] + f_off, x[j] + in_off);
    }
    return acc;
}

dc_status_t dc_fully_connected_s8(const dc_fully_connected_params_t *params, const dc_channel_quant_t *quant,
                                  int32_t batches, int32_t depth, int32_t units,
                                  const int8_t *input, int32_t input_len,
                                  const int8_t *filter, int32_t filter_len,
                                  const int32_t *bias, int32_t bias_len,
                                  int8_t *output, int32_t output_len)
{
    const dc_status_t st = dc_fully_connected_check(params, quant, batches, depth, units, input, input_len, filter,
                                                    filter_len, bias, bias_len, output, output_len);
    if (st != DC_OK) {
        return st;
    }
    const dc_fully_connected_params_t *p = params;
    dc_dsp_out_t o;
    dc_dsp_out_init(&o, p->rounding, p->output_offset, p->act_min, p->act_max);
    const int per_channel = quant->count != 1;
    dc_dsp_rq_t shared;
    dc_dsp_rq_prepare(&shared, quant->multiplier[0], quant->shift[0], &o);
    const uint32_t in_off2 = dc_dup16(p->input_offset), f_off2 = dc_dup16(p->filter_offset);
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + (int64_t)b * depth;
        int8_t *out = output + (int64_t)b * (p->output_stride > 0 ? p->output_stride : units);
        int32_t u = 0;
        for (; u + 1 < units; u += 2) {
            int32_t acc[2] = {bias != NULL ? bias[u] : 0, bias != NULL ? bias[u + 1] : 0};
            const int8_t *f0 = filter + (int64_t)u * depth;
            dot_2units(x, f0, f0 + depth, depth, in_off2, f_off2, acc);
            dc_dsp_rq_t q0 = shared, q1 = shared;
            if (per_channel) {
                dc_dsp_rq_prepare(&q0, quant->multiplier[u], quant->shift[u], &o);
                dc_dsp_rq_prepare(&q1, quant->multiplier[u + 1], quant->shift[u + 1], &o);
            }
            out[u] = dc_dsp_rq_output(acc[0], &q0, &o);
            out[u + 1] = dc_dsp_rq_output(acc[1], &q1, &o);
        }
        if (u < units) {
            const int32_t acc = dot_1unit(x, filter + (int64_t)u * depth, depth, in_off2, f_off2,
                                          bias != NULL ? bias[u] : 0);
            dc_dsp_rq_t q0 = shared;
            if (per_channel) {
                dc_dsp_rq_prepare(&q0, quant->multiplier[u], quant->shift[u], &o);
            }
            out[u] = dc_dsp_rq_output(acc, &q0, &o);
        }
    }
    return DC_OK;
}
