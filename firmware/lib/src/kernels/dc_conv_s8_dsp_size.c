/* dc_conv_s8_dsp_size.c: the armv7em CONV_2D kernel's scratch size, built everywhere (dc_conv_s8_dsp_size.h). */
#include "dc_conv_s8_dsp_size.h"
#include "dc_conv_s8_dsp_layout.h"

int32_t dc_conv_s8_dsp_buffer_size(const dc_conv_params_t *params, const dc_dims_t *input_dims,
                                   const dc_dims_t *filter_dims, const dc_dims_t *output_dims)
{
    if (params == NULL || input_dims == NULL || filter_dims == NULL || output_dims == NULL) {
        return DC_ERR_ARG;
    }
    const int64_t band = band_bytes(params, input_dims, filter_dims, output_dims);
    if (band >= 0) {
        return (int32_t)band;
    }
    const int64_t k = (int64_t)filter_dims->h * filter_dims->w * filter_dims->c;
    const int32_t k32 = (int32_t)(k > INT32_MAX ? INT32_MAX : k);
    const int64_t bytes = scratch_bytes(k32, filter_dims->n,
                                        fw_channels(k32, filter_dims->c, input_dims->c, filter_dims->n));
    return k < 0 || filter_dims->n < 0 || bytes > INT32_MAX ? INT32_MAX : (int32_t)bytes;
}
