/* native.h: internals shared by the files of the native (host process) port. */
#ifndef DC_NATIVE_H
#define DC_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#include "dc_status.h"

/* Geometry of the native flash file: 2 MiB in 4 KiB erase pages, 8-byte write units. */
#define DC_NATIVE_FLASH_SIZE (2u * 1024u * 1024u)
#define DC_NATIVE_FLASH_ERASE 4096u
#define DC_NATIVE_FLASH_WRITE 8u
/* Name of the flash file inside the --state directory. */
#define DC_NATIVE_FLASH_FILE "flash.bin"
/* Environment variable carrying "MASTER,SLAVE" pty descriptors across dc_port_reset(). */
#define DC_NATIVE_PTY_ENV "DC_NATIVE_PTY_FDS"

/* Open the pseudo-terminal (or adopt the one inherited across a reset). Writes its slave
 * path into `path` (cap bytes). Returns 0 or -1 with a message on stderr. */
int dc_native_uart_open(char *path, size_t cap);
/* The master descriptor (for the fault handler's direct writes), -1 before open. */
int dc_native_uart_fd(void);
/* Wait up to max_ms until the client has read everything written (before exiting). */
void dc_native_uart_drain(unsigned max_ms);
/* Export the pty descriptors to the environment so an exec'd image adopts them. */
int dc_native_uart_export(void);

/* Map the flash: a file in `state_dir` (created erased on first use), or anonymous memory
 * erased at start when state_dir is NULL. Returns 0 or -1 with a message on stderr. */
int dc_native_flash_open(const char *state_dir);

/* SIGTERM handling: a flash erase/write in progress completes before the process exits. */
void dc_native_critical_enter(void);
void dc_native_critical_exit(void);

/* Sockets (native_net.c) and their TLS sessions (native_tls.c). */
/* The POSIX descriptor of socket handle `sock`, -1 when it is not open. */
int dc_native_net_fd(int sock);
/* 1 when handle `sock` (open) carries a TLS session: send/recv/close go through it. */
int dc_native_tls_active(int sock);
/* dc_port_net_send/recv over the TLS session of `sock` (same contracts). */
int dc_native_tls_send(int sock, const uint8_t *data, size_t len, uint32_t timeout_ms);
int dc_native_tls_recv(int sock, uint8_t *buf, size_t cap, uint32_t timeout_ms);
/* Ends and frees the TLS session of `sock` (the caller closes the descriptor). */
void dc_native_tls_close(int sock);

#endif /* DC_NATIVE_H */
