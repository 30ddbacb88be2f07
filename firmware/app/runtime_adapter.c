/* runtime_adapter.c: the model runtime behind the SMP model group and the MLPerf Tiny protocol: load the running slot's model, run it, report. */
#include "runtime_adapter.h"

#include <string.h>

#include "dc_container.h"
#include "dc_fleet.h"
#include "dc_model.h"
#include "dc_model_verify.h"
#include "dc_port.h"
#include "dc_sha256.h"
#include "dc_status.h"

/* The arena, 8-byte aligned (DC_MODEL_ARENA_ALIGN) without compiler attributes. */
static uint64_t g_arena[(DC_APP_ARENA_SIZE + 7u) / 8u];
static uint8_t g_input[DC_APP_INPUT_CAP];
static dc_model_t g_m;
static dc_app_model_t g_model = {-1, NULL, 0};
static dc_app_runtime_info_t g_info;
static char g_name[64];
/* MLPerf: the bytes `db` loaded (kept: the input tensor's buffer may be reused during a run). */
static const uint8_t *g_loaded;
static size_t g_loaded_len;
static int g_have_output;
/* How the model is loaded (the console's `decode` command changes it; boot: AUTO). */
static dc_model_config_t g_config = {DC_MODEL_DECODE_AUTO, 0u, DC_MODEL_TARGET_BUILD};

static void profile_op(void *context, uint32_t op_index, dc_model_event_t event)
{
    (void)context;
    dc_port_profile_mark(event == DC_MODEL_EVENT_BEGIN ? DC_APP_OP_REGION(op_index) : DC_APP_INFER_REGION);
}

static void keep_name(const uint8_t *image, size_t size)
{
    dc_container_t c;
    const char *name;
    size_t length;
    uint32_t version;
    g_name[0] = '\0';
    if (image == NULL || dc_container_open(&c, image, size) != DC_OK ||
        dc_model_identity(&c, &name, &length, &version) != DC_OK) {
        return;
    }
    if (length >= sizeof g_name) {
        length = sizeof g_name - 1u;
    }
    for (size_t i = 0; i < length; i++) { /* keep the protocol lines printable */
        char ch = name[i];
        g_name[i] = (ch >= 0x21 && ch <= 0x7E && ch != '[' && ch != ']') ? ch : '_';
    }
    g_name[length] = '\0';
}

void dc_app_runtime_bind(const dc_app_model_t *model)
{
    dc_model_io_t io;
    dc_status_t status;
    g_model = *model;
    memset(&g_info, 0, sizeof g_info);
    g_info.slot = model->image != NULL ? model->slot : -1;
    g_info.status = DC_ERR_NO_MODEL;
    g_info.arena_capacity = sizeof g_arena;
    g_info.name = g_name;
    g_have_output = 0;
    keep_name(model->image, model->size);
    if (model->image == NULL) {
        return;
    }
    if (dc_model_arena_size(model->image, model->size, DC_MODEL_DECODE_AT_LOAD, (uint8_t *)g_arena, sizeof g_arena,
                            &g_info.arena_at_load) != DC_OK) {
        g_info.arena_at_load = 0;
    }
    /* AUTO: decoded at load when that fits, else per layer, else streamed in chunks of output channels */
    status = dc_model_load_config(&g_m, model->image, model->size, (uint8_t *)g_arena, sizeof g_arena, &g_config);
    g_info.mode = status == DC_OK ? (int)g_m.mode : (int)g_config.mode;
    g_info.per_layer = status == DC_OK && g_m.mode != DC_MODEL_DECODE_AT_LOAD;
    g_info.stream_channels = g_m.stream_channels;
    g_info.arena_needed = g_m.arena_needed;
    if (status == DC_OK && g_m.input_count != 1u) {
        status = DC_ERR_UNSUPPORTED; /* the protocols carry one input tensor */
    }
    g_info.status = status;
    if (status != DC_OK) {
        return;
    }
    g_info.scratch_bytes = g_m.scratch_bytes;
    g_info.ops = g_m.op_count;
    (void)dc_model_input(&g_m, 0, &io);
    g_info.input_bytes = io.bytes;
    for (uint32_t k = 0; k < g_m.output_count; k++) {
        (void)dc_model_output(&g_m, k, &io);
        g_info.output_bytes += io.bytes;
    }
    (void)dc_model_set_profiler(&g_m, profile_op, NULL);
}

int dc_app_runtime_set_decode(int mode, uint32_t stream_channels)
{
    dc_app_model_t model = g_model;
    if (mode < (int)DC_MODEL_DECODE_AT_LOAD || mode > (int)DC_MODEL_DECODE_AUTO || stream_channels > 65535u) {
        return DC_ERR_ARG;
    }
    g_config.mode = (dc_model_mode_t)mode;
    g_config.stream_channels = stream_channels;
    dc_app_runtime_bind(&model);
    return model.image == NULL ? DC_ERR_NO_MODEL : g_info.status;
}

const dc_app_runtime_info_t *dc_app_runtime_info(void)
{
    return &g_info;
}

size_t dc_app_runtime_arena_capacity(void)
{
    return sizeof g_arena;
}

uint8_t *dc_app_runtime_input(size_t *cap)
{
    *cap = sizeof g_input;
    return g_input;
}

/* Copies `in` into the input tensor and runs the model once; `*counter` gets the port's counter
 * over the run. The input is copied every time: the planner may reuse the input tensor's
 * memory for later activations. */
static int run(const uint8_t *in, size_t in_len, uint64_t *counter)
{
    dc_model_io_t io;
    uint64_t start;
    dc_status_t status;
    g_have_output = 0;
    if (g_info.status != DC_OK) {
        return g_info.status;
    }
    if (dc_model_input(&g_m, 0, &io) != DC_OK || in_len != io.bytes) {
        return DC_ERR_SHAPE;
    }
    memcpy(io.data, in, in_len);
    start = dc_port_counter();
    dc_port_profile_mark(DC_APP_INFER_REGION);
    status = dc_model_invoke(&g_m);
    dc_port_profile_mark(0);
    *counter = dc_port_counter() - start;
    g_have_output = status == DC_OK;
    return status;
}

int dc_app_runtime_check(uint8_t digest[32])
{
    dc_sha256_t ctx;
    uint64_t counter = 0;
    int status;
    if (g_info.status != DC_OK) {
        return g_info.status;
    }
    if (g_info.input_bytes > sizeof g_input) {
        return DC_ERR_SHAPE;
    }
    dc_fleet_check_input(g_input, g_info.input_bytes);
    status = run(g_input, g_info.input_bytes, &counter);
    if (status != DC_OK) {
        return status;
    }
    dc_sha256_init(&ctx);
    for (uint32_t k = 0; k < g_m.output_count; k++) {
        dc_model_io_t io;
        (void)dc_model_output(&g_m, k, &io);
        dc_sha256_update(&ctx, (const uint8_t *)io.data, io.bytes);
    }
    dc_sha256_final(&ctx, digest);
    return DC_OK;
}

/* ---- SMP model group ---- */

static int smp_infer(void *ctx, int slot, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                     dc_smp_infer_result_t *result)
{
    uint64_t counter = 0;
    size_t at = 0;
    int status;
    (void)ctx;
    if (g_model.image == NULL || slot != g_model.slot) {
        return DC_ERR_NO_MODEL;
    }
    if (g_info.status == DC_OK && g_info.output_bytes > out_cap) {
        return DC_ERR_BUFFER; /* before running: the answer could not carry it */
    }
    status = run(in, in_len, &counter);
    if (status != DC_OK) {
        return status;
    }
    for (uint32_t k = 0; k < g_m.output_count; k++) {
        dc_model_io_t io;
        (void)dc_model_output(&g_m, k, &io);
        memcpy(out + at, io.data, io.bytes);
        at += io.bytes;
    }
    result->out_len = at;
    result->instructions = 0; /* only the QEMU plugin counts instructions (its log) */
    result->cycles = strcmp(dc_port_info()->counter_unit, "cycles") == 0 ? counter : 0u;
    return DC_OK;
}

static uint8_t *smp_input_buffer(void *ctx, size_t *cap)
{
    (void)ctx;
    return dc_app_runtime_input(cap);
}

static int smp_describe(void *ctx, int slot, dc_smp_model_desc_t *desc)
{
    (void)ctx;
    if (g_model.image == NULL || slot != g_model.slot) {
        return DC_ERR_NO_MODEL;
    }
    desc->input_bytes = (uint32_t)g_info.input_bytes;
    desc->output_bytes = (uint32_t)g_info.output_bytes;
    desc->arena_bytes = (uint32_t)g_info.arena_needed;
    desc->arena_capacity = (uint32_t)g_info.arena_capacity;
    desc->load_status = g_info.status;
    desc->decode = (uint8_t)(g_info.status == DC_OK ? g_info.mode : 0);
    return DC_OK;
}

void dc_app_runtime_smp(dc_smp_callbacks_t *cb)
{
    cb->infer = smp_infer;
    cb->input_buffer = smp_input_buffer;
    cb->describe = smp_describe;
}

/* ---- MLPerf Tiny ---- */

/* MLPerf float32 inputs quantized (the db buffer is g_input: it keeps the floats). AD: 640. */
static uint8_t g_quantized[DC_APP_FLOAT_INPUT_MAX];

/* `count` float32 little-endian values quantized with the input tensor's scale and zero point
 * (round half away from zero, saturated; NaN -> zero point) into g_quantized, as the reference
 * AD submission's th_load_tensor does. The db buffer is left as loaded. DC_ERR_SHAPE when
 * count exceeds DC_APP_FLOAT_INPUT_MAX. */
static int quantize_floats(const uint8_t *bytes, size_t count)
{
    dc_model_io_t io;
    if (count > sizeof g_quantized || dc_model_input(&g_m, 0, &io) != DC_OK || io.scale <= 0.0f) {
        return DC_ERR_SHAPE;
    }
    for (size_t i = 0; i < count; i++) {
        const uint8_t *b = bytes + 4u * i;
        uint32_t bits = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
        float x, q;
        int32_t v;
        memcpy(&x, &bits, sizeof x);
        q = x / io.scale;
        if (!(q == q)) {
            v = io.zero_point;
        } else if (q >= 256.0f) {
            v = 127;
        } else if (q <= -256.0f) {
            v = -128;
        } else {
            v = (int32_t)(q >= 0.0f ? q + 0.5f : q - 0.5f) + io.zero_point;
            v = v > 127 ? 127 : (v < -128 ? -128 : v);
        }
        g_quantized[i] = (uint8_t)(int8_t)v;
    }
    g_loaded = g_quantized;
    g_loaded_len = count;
    return DC_OK;
}

static int mlperf_load_input(void *ctx, const uint8_t *bytes, size_t n)
{
    (void)ctx;
    g_loaded = NULL;
    g_loaded_len = 0;
    if (g_info.status != DC_OK) {
        return g_info.status;
    }
    if (n == 4u * (size_t)g_info.input_bytes && n != 0u) {
        return quantize_floats(bytes, n / 4u); /* float32 LE (the AD benchmark's files) */
    }
    if (n != g_info.input_bytes) {
        return DC_ERR_SHAPE;
    }
    g_loaded = bytes; /* the db buffer: it stays as loaded until the next `db load` */
    g_loaded_len = n;
    return DC_OK;
}

static int mlperf_invoke(void *ctx)
{
    uint64_t counter;
    (void)ctx;
    if (g_loaded == NULL) {
        return g_info.status != DC_OK ? g_info.status : DC_ERR_SHAPE;
    }
    return run(g_loaded, g_loaded_len, &counter);
}

static int mlperf_output(void *ctx, dc_mlperf_output_t *out)
{
    dc_model_io_t io;
    (void)ctx;
    if (!g_have_output || dc_model_output(&g_m, 0, &io) != DC_OK) {
        return g_info.status != DC_OK ? g_info.status : DC_ERR_NO_MODEL;
    }
    out->data = io.data;
    out->count = io.bytes;
    out->scale = io.scale;
    out->zero_point = io.zero_point;
    return DC_OK;
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
