/* dc_fully_connected_s8.c: int8 FULLY_CONNECTED, per-tensor or per-channel requantization. */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

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
    const int per_channel = quant->count != 1;
    const int64_t out_stride = p->output_stride > 0 ? p->output_stride : units;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in_row = input + (int64_t)b * depth;
        for (int32_t u = 0; u < units; ++u) {
            const int8_t *f_row = filter + (int64_t)u * depth;
            uint32_t acc = 0;
            for (int32_t d = 0; d < depth; ++d) {
                acc += (uint32_t)(((int32_t)f_row[d] + p->filter_offset) * ((int32_t)in_row[d] + p->input_offset));
            }
            if (bias != NULL) {
                acc += (uint32_t)bias[u];
            }
            const int32_t q = per_channel ? u : 0;
            int32_t v = dc_requantize_s32((int32_t)acc, quant->multiplier[q], quant->shift[q], p->rounding);
            v = dc_add_sat_s32(v, p->output_offset);
            output[(int64_t)b * out_stride + u] = (int8_t)dc_clamp_s32(v, p->act_min, p->act_max);
        }
    }
    return DC_OK;
}
