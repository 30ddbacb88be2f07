/* app.h: the application's state (flash device, provisioning, the ONE pair of model slots, the
 * verifier, SMP server, MLPerf Tiny protocol) and the board flash layout, shared by main.c,
 * console.c, fleet_app.c and the runtime adapter.
 *
 * Flash layout (offsets in the board's flash storage area; docs/boards.md "Flash layout"):
 *   [0, 64 KiB)                         provisioning area
 *     sector 0  (DC_APP_KEY_SECTOR)       device key record "DCK1" (`provision HEX`)
 *     sector 1  (DC_APP_FLEET_SECTOR)     fleet record "DCN1": broker URL, fleet, trusted
 *                                         publisher Ed25519 key, device id (`fleet start`)
 *     sector 2  (DC_APP_TRIAL_SECTOR)     the fleet agent's trial records "DCT1" (what the
 *                                         self-test of the image about to boot on trial must
 *                                         find) and "DCR1" (why a trial failed), fleet_app.c
 *     sector 3  (DC_APP_TLS_SECTOR)       TLS record "DCS1": CA certificate, optional client
 *                                         certificate and key, DER (`fleet tls`), fleet_app.c
 *     the rest                            reserved (erased)
 *   [64 KiB, +slot_size)                model slot A (its last sector: the slot trailer)
 *   [64 KiB + slot_size, +slot_size)    model slot B
 * with slot_size = (flash size - 64 KiB) / 2 rounded down to whole sectors (0xF8000 on the
 * 2 MiB simulated boards). Both the SMP server (a gateway or a host delivering over the UART)
 * and the board's own fleet agent (MQTT) write the same two slots through the same dc_slots_t,
 * so they share one trial/confirm state and one anti-rollback floor.
 *
 * Key record (one flash write; little-endian):
 *   +0 magic "DCK1" | +4 key length u32 (1..64) | +8 key[64] (unused bytes 0) |
 *   +72 SHA-256 of bytes [0, 72) | +104 zero padding to 128 bytes.
 *
 * Trust (dc_app_verify): a model is accepted when EITHER its device tag verifies with the
 * device key (HMAC-SHA256; a gateway re-tags each model for the device) OR its Ed25519
 * signature verifies with a provisioned trusted publisher key (the board on the network by
 * itself). A board with neither provisioned refuses every model (DC_ERR_AUTH).
 *
 * Ownership: one static instance (dc_app()), set up by dc_app_init() before the main loop.
 */
#ifndef DC_APP_H
#define DC_APP_H

#include <stddef.h>
#include <stdint.h>

#include "dc_flash.h"
#include "dc_fleet.h"
#include "dc_mlperf.h"
#include "dc_model_verify.h"
#include "dc_slots.h"
#include "dc_smp.h"

#define DC_APP_RESERVED (64u * 1024u) /* the provisioning area before slot A */
#define DC_APP_KEY_SECTOR 0u          /* sector index of the device key record */
#define DC_APP_FLEET_SECTOR 1u        /* sector index of the fleet record */
#define DC_APP_TRIAL_SECTOR 2u        /* sector index of the fleet agent's trial records */
#define DC_APP_TLS_SECTOR 3u          /* sector index of the TLS record */
#define DC_APP_KEY_MAX 64u
#define DC_APP_KEY_RECORD 128u

/* The slot verifier's context: what the board trusts (dc_app_verify). */
typedef struct {
    dc_model_verifier_t device;    /* flash map + device HMAC key (key_length 0: none) */
    dc_fleet_verifier_t publisher; /* flash map + trusted publisher keys (key_count 0: none) */
    uint8_t publisher_key[1][DC_FLEET_KEY_SIZE];
} dc_app_verifier_t;

typedef struct {
    dc_flash_t flash;              /* the board's flash (dc_port_flash_*) as a dc_flash_t */
    uint32_t slot_offset[2], slot_size;
    uint8_t key[DC_APP_KEY_MAX];
    size_t key_length;             /* 0: not provisioned */
    dc_app_verifier_t verifier;    /* borrows key[] and the flash map */
    dc_slots_t slots;              /* THE model slots (SMP and the fleet agent) */
    int boot_status;               /* dc_slots_boot's result (DC_OK or DC_ERR_NO_MODEL) */
    dc_smp_server_t smp;
    dc_mlperf_t mlperf;
} dc_app_t;

/* The application's state. */
dc_app_t *dc_app(void);

/* Sets up flash, provisioning (device key, fleet record), the slots (boots one; a trial image
 * of a fleet-managed board is self-tested and confirmed, or the board resets), the model
 * runtime, the SMP server and the MLPerf protocol. Returns DC_OK or the failing status (bad
 * flash geometry). */
int dc_app_init(void);

/* Fills `flash` with the board's flash storage area (dc_port_flash_*). DC_OK or DC_ERR_ARG
 * when the geometry is unusable for the layout above. */
int dc_app_flash_device(dc_flash_t *flash);

/* Byte offset of provisioning sector `index` (DC_APP_KEY_SECTOR, DC_APP_FLEET_SECTOR). */
uint32_t dc_app_sector_offset(uint32_t index);

/* Reads the key record into app->key/key_length (0 when not provisioned). */
void dc_app_key_load(dc_app_t *app);

/* Writes `key` (1..64 bytes) to the erased key sector and uses it from now on. DC_OK (also
 * when the same key is already there), DC_ERR_ARG (length), DC_ERR_SLOT (another key is
 * already provisioned: erase the sector first), DC_ERR_FLASH. */
int dc_app_key_provision(dc_app_t *app, const uint8_t *key, size_t length);

/* Trusts `key` (32 bytes, an Ed25519 public key) as the publisher's from now on; NULL
 * forgets it. RAM only: the fleet record in flash is fleet_app.c's. */
void dc_app_trust_publisher(dc_app_t *app, const uint8_t *key);

/* The dc_verify_fn of the slots; `ctx` is a dc_app_verifier_t. DC_OK when the device tag
 * verifies with the device key or the Ed25519 signature with a trusted publisher key.
 * Otherwise: the container's own status for a file that does not open (DC_ERR_MAGIC,
 * DC_ERR_HASH, ...); with a trusted publisher key, the signature check's status
 * (DC_ERR_SIGNATURE unsigned or forged, DC_ERR_AUTH untrusted key); without one, the device
 * tag's (DC_ERR_AUTH, DC_ERR_BASE for a delta). `info` gets the version and image hash. */
int dc_app_verify(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size,
                  dc_model_info_t *info);

/* Writes bytes to the UART (the SMP server's and the protocols' output). */
void dc_app_uart_write(void *ctx, const uint8_t *bytes, size_t n);

#endif /* DC_APP_H */
