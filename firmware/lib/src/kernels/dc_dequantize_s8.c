/* dc_dequantize_s8.c: DEQUANTIZE int8 -> float, scale * (q - zero_point). */
#include "dc_kernel_checks.h"

dc_status_t dc_dequantize_s8(float scale, int32_t zero_point, int32_t size,
                             const int8_t *input, int32_t input_len, float *output, int32_t output_len)
{
    dc_status_t st;
    if (zero_point < -128 || zero_point > 127) {
        return DC_ERR_ARG;
    }
    if (size < 1) {
        return DC_ERR_SHAPE;
    }
    if ((st = dc_check_buffer(input, input_len, size)) != DC_OK ||
        (st = dc_check_buffer(output, output_len, size)) != DC_OK) {
        return st;
    }
    for (int32_t i = 0; i < size; ++i) {
        /* One rounding of the exact product, as TFLite's double product cast to float. */
        output[i] = scale * (float)(input[i] - zero_point);
    }
    return DC_OK;
}
