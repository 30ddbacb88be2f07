/* fleet_app.h: the board's own fleet update agent (MQTT 3.1.1 over the port's sockets,
 * docs/protocol-mqtt.md "Devices without a gateway") as the application runs it.
 *
 * It uses the application's model slots (dc_app()->slots, app.h: the same slots the SMP server
 * writes) and keeps its provisioning, the fleet record, in sector DC_APP_FLEET_SECTOR of the
 * provisioning area (app.h, docs/boards.md "Flash layout"). The record's publisher key is what
 * the slot verifier trusts for Ed25519-signed models (dc_app_verify).
 *
 * Console (one command-table entry, `fleet`):
 *   fleet start URL FLEET KEYHEX [DEVICE_ID]   provision and start: URL mqtt://USER:PASSWORD@HOST[:PORT]
 *                                              or mqtts://... (TLS, default port 8883, needs the
 *                                              TLS record; HOST is the name checked against the
 *                                              broker's certificate), the device id defaults to
 *                                              USER, KEYHEX the publisher's Ed25519 public key
 *   fleet tls ca|cert|key HEX                  stage up to 120 bytes of the DER CA certificate,
 *                                              client certificate or its key (in that order)
 *   fleet tls save | clear                     write the staged TLS record / erase it
 *   fleet stop                                 stop and forget the provisioning
 *   fleet status                               one line: state, reason, link, progress, counters
 * A provisioned agent starts again by itself after every reset (that is how the board gets
 * back on the network after rebooting into a new model).
 */
#ifndef DC_FLEET_APP_H
#define DC_FLEET_APP_H

#include <stddef.h>
#include <stdint.h>

/* At start-up, before the slots boot: loads the fleet record and trusts its publisher key. */
void dc_fleet_app_load(void);

/* At start-up, after the slots booted: when provisioned, a trial image gets its self-test and
 * is confirmed (or the board resets so the old one runs), and the agent starts. */
void dc_fleet_app_boot(void);

/* Runs the agent for a few milliseconds (connect with backoff, MQTT traffic, the update
 * steps; resets the board when a new model is pending). Returns how long main's loop may
 * wait for UART input: DC_PORT_WAIT_FOREVER when the agent is stopped. */
uint32_t dc_fleet_app_poll(void);

/* The console command `fleet ARGS`: `args` (len bytes, not NUL-terminated) follows the word. */
void dc_fleet_app_command(const char *args, size_t len);

#endif /* DC_FLEET_APP_H */
