/* app.h: the application's state (flash device, device key, model slots, SMP server, MLPerf
 * Tiny protocol) and the flash layout, shared by main.c, console.c and the runtime adapter.
 *
 * Flash layout (offsets in the board's flash storage area, docs/protocol.md "Flash layout"):
 *   [0, sector)                         device key page (written once at provisioning)
 *   [DC_APP_RESERVED, +slot_size)       model slot A
 *   [DC_APP_RESERVED + slot_size, ...)  model slot B
 * with slot_size = (flash size - DC_APP_RESERVED) / 2 rounded down to whole sectors.
 *
 * Key page record (one flash write; little-endian):
 *   +0 magic "DCK1" | +4 key length u32 (1..64) | +8 key[64] (unused bytes 0) |
 *   +72 SHA-256 of bytes [0, 72) | +104 zero padding to 128 bytes.
 * A page without a valid record means "not provisioned": every model is refused
 * (DC_ERR_AUTH) until a key is written with the console command `provision HEX`.
 *
 * Ownership: one static instance (dc_app()), set up by dc_app_init() before the main loop.
 */
#ifndef DC_APP_H
#define DC_APP_H

#include <stddef.h>
#include <stdint.h>

#include "dc_flash.h"
#include "dc_mlperf.h"
#include "dc_model_verify.h"
#include "dc_slots.h"
#include "dc_smp.h"

#define DC_APP_RESERVED (64u * 1024u) /* bytes before slot A (key page + spare) */
#define DC_APP_KEY_MAX 64u
#define DC_APP_KEY_RECORD 128u

typedef struct {
    dc_flash_t flash;              /* the board's flash (dc_port_flash_*) as a dc_flash_t */
    uint32_t slot_offset[2], slot_size;
    uint8_t key[DC_APP_KEY_MAX];
    size_t key_length;             /* 0: not provisioned */
    dc_model_verifier_t verifier;  /* borrows key[] and the flash map */
    dc_slots_t slots;
    int boot_status;               /* dc_slots_boot's result (DC_OK or DC_ERR_NO_MODEL) */
    dc_smp_server_t smp;
    dc_mlperf_t mlperf;
} dc_app_t;

/* The application's state. */
dc_app_t *dc_app(void);

/* Sets up flash, key, slots (and boots one), the SMP server and the MLPerf protocol.
 * Returns DC_OK or the failing status (bad flash geometry). */
int dc_app_init(void);

/* Fills `flash` with the board's flash storage area (dc_port_flash_*). DC_OK or DC_ERR_ARG
 * when the geometry is unusable for the slots. */
int dc_app_flash_device(dc_flash_t *flash);

/* Reads the key page into app->key/key_length (0 when not provisioned). */
void dc_app_key_load(dc_app_t *app);

/* Writes `key` (1..64 bytes) to the erased key page and uses it from now on. DC_OK (also when
 * the same key is already there), DC_ERR_ARG (length), DC_ERR_SLOT (another key is already
 * provisioned: erase the page first), DC_ERR_FLASH. */
int dc_app_key_provision(dc_app_t *app, const uint8_t *key, size_t length);

/* Writes bytes to the UART (the SMP server's and the protocols' output). */
void dc_app_uart_write(void *ctx, const uint8_t *bytes, size_t n);

#endif /* DC_APP_H */
