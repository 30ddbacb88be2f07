/* fleet_app.h: the board's own fleet update agent (MQTT 3.1.1 over the port's sockets,
 * docs/protocol-mqtt.md "Devices without a gateway") as the application runs it.
 *
 * Flash layout it uses (dc_port flash, 2 MiB on every board): model slot A at 0, slot B at
 * FLEET_APP_SLOT_SIZE, each FLEET_APP_SLOT_SIZE bytes (the last sector of each is the slot
 * trailer, dc_slots.h); the agent's provisioning record in the last erase sector.
 *
 * Console (one command-table entry, `fleet`):
 *   fleet start URL FLEET KEYHEX [DEVICE_ID]   provision and start: URL mqtt://USER:PASSWORD@HOST[:PORT]
 *                                              (the device id defaults to USER), KEYHEX the
 *                                              publisher's Ed25519 public key (64 hex digits)
 *   fleet stop                                 stop and forget the provisioning
 *   fleet status                               one line: state, reason, link, progress, counters
 * A provisioned agent starts again by itself after every reset (that is how the board gets
 * back on the network after rebooting into a new model).
 */
#ifndef DC_FLEET_APP_H
#define DC_FLEET_APP_H

#include <stddef.h>
#include <stdint.h>

#define FLEET_APP_SLOT_SIZE 0xFC000u /* 1008 KiB per model slot */

/* At start-up, before the greeting: loads the provisioning, boots the model slots (a trial
 * image gets its self-test and is confirmed, or the board resets so the old one runs). */
void dc_fleet_app_boot(void);

/* Runs the agent for a few milliseconds (connect with backoff, MQTT traffic, the update
 * steps; resets the board when a new model is pending). Returns how long main's loop may
 * wait for UART input: DC_PORT_WAIT_FOREVER when the agent is stopped. */
uint32_t dc_fleet_app_poll(void);

/* The console command `fleet ARGS`: `args` (len bytes, not NUL-terminated) follows the word. */
void dc_fleet_app_command(const char *args, size_t len);

#endif /* DC_FLEET_APP_H */
