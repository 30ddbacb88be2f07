/* dc_concat_s8.c: int8 CONCATENATION along one of the 4 axes (inputs share the output's quantization). */
#include "dc_kernel_checks.h"

dc_status_t dc_concat_s8(int32_t axis, int32_t count,
                         const dc_dims_t *inputs_dims, const int8_t *const *inputs, const int32_t *inputs_len,
                         const dc_dims_t *output_dims, int8_t *output, int32_t output_len)
{
    int32_t out_count = 0;
    dc_status_t st;
    if (inputs_dims == NULL || inputs == NULL || inputs_len == NULL || axis < 0 || axis > 3 || count < 1 ||
        count > DC_CONCAT_MAX_INPUTS) {
        return DC_ERR_ARG;
    }
    if ((st = dc_dims_count(output_dims, &out_count)) != DC_OK) {
        return st;
    }
    const int32_t od[4] = {output_dims->n, output_dims->h, output_dims->w, output_dims->c};
    int64_t axis_total = 0;
    for (int32_t k = 0; k < count; ++k) {
        int32_t in_count = 0;
        if ((st = dc_dims_count(&inputs_dims[k], &in_count)) != DC_OK) {
            return st;
        }
        const int32_t id[4] = {inputs_dims[k].n, inputs_dims[k].h, inputs_dims[k].w, inputs_dims[k].c};
        for (int d = 0; d < 4; ++d) {
            if (d != axis && id[d] != od[d]) {
                return DC_ERR_SHAPE;
            }
        }
        axis_total += id[axis];
        if ((st = dc_check_buffer(inputs[k], inputs_len[k], in_count)) != DC_OK) {
            return st;
        }
    }
    if (axis_total != od[axis]) {
        return DC_ERR_SHAPE;
    }
    if ((st = dc_check_buffer(output, output_len, out_count)) != DC_OK) {
        return st;
    }
    int32_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) {
        outer *= od[d];
    }
    for (int d = axis + 1; d < 4; ++d) {
        inner *= od[d];
    }
    int8_t *o = output;
    for (int32_t i = 0; i < outer; ++i) {
        for (int32_t k = 0; k < count; ++k) {
            const int32_t id[4] = {inputs_dims[k].n, inputs_dims[k].h, inputs_dims[k].w, inputs_dims[k].c};
            const int32_t chunk = id[axis] * inner;
            const int8_t *src = inputs[k] + (int64_t)i * chunk;
            for (int32_t j = 0; j < chunk; ++j) {
                *o++ = src[j];
            }
        }
    }
    return DC_OK;
}
