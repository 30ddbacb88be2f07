/* app.c: application start-up: flash device, provisioning, the model slots and boot choice, runtime, SMP server, MLPerf protocol. */
#include "app.h"

#include <string.h>

#include "dc_port.h"
#include "dc_status.h"
#include "fleet_app.h"
#include "runtime_adapter.h"

#define UART_TIMEOUT_MS 1000u

static dc_app_t g_app;

dc_app_t *dc_app(void)
{
    return &g_app;
}

void dc_app_uart_write(void *ctx, const uint8_t *bytes, size_t n)
{
    (void)ctx;
    (void)dc_port_uart_write(bytes, n, UART_TIMEOUT_MS);
}

static void smp_reset(void *ctx)
{
    (void)ctx;
    dc_port_reset();
}

static void mlperf_write(void *ctx, const char *text, size_t n)
{
    dc_app_uart_write(ctx, (const uint8_t *)text, n);
}

/* Microseconds of (virtual) time from the port's counter. */
static uint64_t mlperf_micros(void *ctx)
{
    const dc_port_info_t *info = dc_port_info();
    uint64_t count = dc_port_counter();
    (void)ctx;
    if (info->counter_hz >= 1000000u) {
        return count / (info->counter_hz / 1000000u);
    }
    return count * (1000000u / (info->counter_hz == 0u ? 1u : info->counter_hz));
}

/* Defined in main.c: routes text bytes between the console and the MLPerf protocol. */
void dc_app_text(void *ctx, const uint8_t *bytes, size_t n);

int dc_app_init(void)
{
    dc_app_t *app = &g_app;
    dc_smp_callbacks_t cb;
    dc_mlperf_callbacks_t mcb;
    dc_app_model_t model = {-1, NULL, 0};
    const uint8_t *map = dc_port_flash_map();
    uint8_t *input;
    size_t input_cap;
    int status;
    int slot = DC_SLOT_NONE;

    memset(app, 0, sizeof *app);
    status = dc_app_flash_device(&app->flash);
    if (status != DC_OK) {
        return status;
    }
    app->slot_size = (app->flash.size - DC_APP_RESERVED) / 2u;
    app->slot_size -= app->slot_size % app->flash.sector_size;
    app->slot_offset[0] = DC_APP_RESERVED;
    app->slot_offset[1] = DC_APP_RESERVED + app->slot_size;
    app->verifier.device.flash_map = map;
    app->verifier.publisher.flash_map = map;
    app->verifier.publisher.keys = (const uint8_t (*)[DC_FLEET_KEY_SIZE])app->verifier.publisher_key;
    app->verifier.publisher.key_count = 0;
    /* What the board trusts must be known before the boot re-verifies the slots. */
    dc_app_key_load(app);
    dc_fleet_app_load();
    status = dc_slots_init(&app->slots, &app->flash, app->slot_offset[0], app->slot_offset[1],
                           app->slot_size, (dc_verifier_t){dc_app_verify, &app->verifier});
    if (status != DC_OK) {
        return status;
    }
    app->boot_status = dc_slots_boot(&app->slots, &slot);
    if (app->boot_status == DC_OK && map != NULL) {
        dc_slot_status_t st;
        if (dc_slots_status(&app->slots, slot, &st) == DC_OK) {
            model.slot = slot;
            model.image = map + app->slot_offset[slot];
            model.size = st.image_size;
        }
    }
    dc_app_runtime_bind(&model);
    /* A fleet-managed board self-tests a trial image now (one inference through the runtime
     * just bound) and confirms it, or resets so the previous model runs again. */
    dc_fleet_app_boot();

    memset(&cb, 0, sizeof cb);
    cb.text = dc_app_text;
    cb.reset = smp_reset;
    dc_app_runtime_smp(&cb);
    cb.ctx = NULL;
    cb.slot_flags = 0u; /* anti-rollback: no downgrades */
    status = dc_smp_server_init(&app->smp, &app->slots, &cb);
    if (status != DC_OK) {
        return status;
    }

    memset(&mcb, 0, sizeof mcb);
    mcb.write = mlperf_write;
    mcb.micros = mlperf_micros;
    dc_app_runtime_mlperf(&mcb);
    mcb.ctx = NULL;
    input = dc_app_runtime_input(&input_cap);
    return dc_mlperf_init(&app->mlperf, input, input_cap, &mcb) == 0 ? DC_OK : DC_ERR_INTERNAL;
}
