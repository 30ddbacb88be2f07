/* dc_logistic_s8.c: int8 LOGISTIC as LiteRT computes it: a 256-entry lookup table (dc_kernel_tables.c). */
#include "dc_fixed_point.h"
#include "dc_kernel_checks.h"

dc_status_t dc_logistic_s8(const int8_t *lut, int32_t lut_len, int32_t size,
                           const int8_t *input, int32_t input_len, int8_t *output, int32_t output_len)
{
    dc_status_t st;
    if (lut == NULL) {
        return DC_ERR_ARG;
    }
    if (lut_len < DC_LUT_S8_LEN) {
        return DC_ERR_BUFFER;
    }
    if (size < 1) {
        return DC_ERR_SHAPE;
    }
    if ((st = dc_check_buffer(input, input_len, size)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, size)) != DC_OK) {
        return st;
    }
    for (int32_t i = 0; i < size; ++i) {
        output[i] = lut[(uint8_t)input[i]];
    }
    return DC_OK;
}
