/* dc_conv_s8_dsp_size.h: the scratch the armv7em (DSP) CONV_2D kernel asks for, computed on any build, so that
 * the host's runtime sizes a Cortex-M's arena exactly (dc_model_config_t.target). (internal) */
#ifndef DC_CONV_S8_DSP_SIZE_H
#define DC_CONV_S8_DSP_SIZE_H

#include <stdint.h>

#include "dc_kernels.h"

/* dc_conv_s8_get_buffer_size of the armv7em kernel (dc_conv_s8_dsp_layout.h). */
int32_t dc_conv_s8_dsp_buffer_size(const dc_conv_params_t *params, const dc_dims_t *input_dims,
                                   const dc_dims_t *filter_dims, const dc_dims_t *output_dims);

#endif
