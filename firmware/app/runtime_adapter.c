/* runtime_adapter.c: the runtime side of the SMP model group and the MLPerf protocol (stub until the runtime lands).
 *
 * TO COMPLETE when firmware/lib/src/runtime/ is merged: in dc_app_runtime_bind, call
 * dc_model_load(&m, model->image, model->size, arena, sizeof arena, mode) for the running
 * model; in smp_infer / mlperf_invoke call dc_model_invoke; fill smp_describe and
 * mlperf_output from the loaded model's input/output tensors. Keep the return values:
 * DC_ERR_NO_MODEL without a model, DC_ERR_SHAPE for an input of the wrong size.
 */
#include "runtime_adapter.h"

#include <string.h>

#include "dc_container.h"
#include "dc_model_verify.h"
#include "dc_status.h"

static uint8_t g_input[DC_APP_INPUT_CAP];
static dc_app_model_t g_model = {-1, NULL, 0};
static char g_name[64];

void dc_app_runtime_bind(const dc_app_model_t *model)
{
    dc_container_t c;
    const char *name;
    size_t length;
    uint32_t version;
    g_model = *model;
    g_name[0] = '\0';
    if (model->image != NULL && dc_container_open(&c, model->image, model->size) == DC_OK &&
        dc_model_identity(&c, &name, &length, &version) == DC_OK) {
        if (length >= sizeof g_name) {
            length = sizeof g_name - 1u;
        }
        for (size_t i = 0; i < length; i++) { /* keep the protocol lines printable */
            char ch = name[i];
            g_name[i] = (ch >= 0x21 && ch <= 0x7E && ch != '[' && ch != ']') ? ch : '_';
        }
        g_name[length] = '\0';
    }
}

uint8_t *dc_app_runtime_input(size_t *cap)
{
    *cap = sizeof g_input;
    return g_input;
}

static int smp_infer(void *ctx, int slot, const uint8_t *in, size_t in_len, uint8_t *out,
                     size_t out_cap, dc_smp_infer_result_t *result)
{
    (void)ctx;
    (void)in;
    (void)in_len;
    (void)out;
    (void)out_cap;
    (void)result;
    if (g_model.image == NULL || slot != g_model.slot) {
        return DC_ERR_NO_MODEL;
    }
    return DC_ERR_UNSUPPORTED; /* no runtime linked in yet */
}

static uint8_t *smp_input_buffer(void *ctx, size_t *cap)
{
    (void)ctx;
    return dc_app_runtime_input(cap);
}

void dc_app_runtime_smp(dc_smp_callbacks_t *cb)
{
    cb->infer = smp_infer;
    cb->input_buffer = smp_input_buffer;
    cb->describe = NULL; /* model info answers without in/out/arena sizes until the runtime lands */
}

static int mlperf_load_input(void *ctx, const uint8_t *bytes, size_t n)
{
    (void)ctx;
    (void)bytes;
    (void)n;
    return g_model.image == NULL ? DC_ERR_NO_MODEL : DC_ERR_UNSUPPORTED;
}

static int mlperf_invoke(void *ctx)
{
    (void)ctx;
    return DC_ERR_UNSUPPORTED;
}

static int mlperf_output(void *ctx, dc_mlperf_output_t *out)
{
    (void)ctx;
    (void)out;
    return DC_ERR_UNSUPPORTED;
}

static const char *mlperf_model_name(void *ctx)
{
    (void)ctx;
    return g_name;
}

void dc_app_runtime_mlperf(dc_mlperf_callbacks_t *cb)
{
    cb->load_input = mlperf_load_input;
    cb->invoke = mlperf_invoke;
    cb->output = mlperf_output;
    cb->model_name = mlperf_model_name;
}
