/* dc_port.h: the interface every board port implements (UART, time, profiling, flash, exit).
 *
 * The firmware library and application call only these functions to touch hardware; each
 * board (firmware/ports/<port>/) implements all of them. Boards today:
 *   native    the firmware as a host process: UART = pseudo-terminal, flash = a file
 *   qemu-m4   mps2-an386 (Cortex-M4F), qemu-m7 mps2-an500 (Cortex-M7),
 *   qemu-m33  mps2-an505 (Cortex-M33, Secure): CMSDK UART0, flash = a region of RAM,
 *             optionally persisted to a host file through semihosting (docs/boards.md).
 *   nucleo-l476rg, nrf52840-dk, esp32dev: real boards built by firmware/platformio.ini
 *             (ports/stm32l4, ports/nrf52840 over ports/cortexm; ports/esp32), untested on hardware.
 *
 * Threading: single-threaded; no function may be called from an interrupt handler.
 * Ownership: every buffer is owned by the caller and only used during the call.
 * Byte order: flash and UART carry bytes; multi-byte values are the caller's business
 * (all supported targets are little-endian).
 * Return codes: functions returning dc_status_t give DC_OK or a negative DC_ERR_* code and
 * change nothing on error (no partial flash writes because of bad arguments).
 *
 * The port owns main(): it initialises the board, then calls dc_app_main() (below), and
 * exits with its return value through dc_port_exit().
 */
#ifndef DC_PORT_H
#define DC_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "dc_status.h"

#if defined(__GNUC__) || defined(__clang__)
#define DC_NORETURN __attribute__((noreturn))
#else
#define DC_NORETURN
#endif

/* Process / emulator exit status after an unrecoverable CPU fault (HardFault on Cortex-M;
 * SIGSEGV, SIGBUS, SIGILL or SIGFPE on native). Before exiting the port prints one line
 * "FAULT pc=0x%08x" (native: the signal name too) on the UART. */
#define DC_PORT_EXIT_FAULT 120

/* Timeout value meaning "wait as long as it takes". */
#define DC_PORT_WAIT_FOREVER 0xFFFFFFFFu

/* Number of distinct profiling regions (ids 0 .. DC_PORT_PROFILE_REGIONS - 1). */
#define DC_PORT_PROFILE_REGIONS 256u

/* Static description of the board, valid for the life of the program. */
typedef struct {
    const char *name;         /* registry name: "native", "qemu-m4", "qemu-m7", "qemu-m33" */
    const char *cpu;          /* "cortex-m4f", "cortex-m7", "cortex-m33", "host" */
    uint32_t ram_size;        /* bytes of RAM given to the firmware (data, bss, stack) */
    uint32_t flash_size;      /* bytes of the flash storage area (see dc_flash_geometry_t) */
    uint32_t counter_hz;      /* dc_port_counter() units per second of (virtual) time */
    const char *counter_unit; /* "cycles" (CPU clock ticks) or "ns" */
} dc_port_info_t;

/* Geometry of the flash storage area, modelled on NOR flash in real parts.
 * Offsets are relative to the start of the area (0 .. size-1). */
typedef struct {
    uint32_t size;         /* bytes; a multiple of erase_size */
    uint32_t erase_size;   /* erase unit (page / sector), a power of two */
    uint32_t write_size;   /* program unit, a power of two dividing erase_size */
    uint8_t erased_value;  /* value of every byte after an erase (0xFF) */
} dc_flash_geometry_t;

/* The application's entry point, called by the port once the board is ready.
 * Its return value becomes the exit status (dc_port_exit). Defined in firmware/app/. */
int dc_app_main(void);

/* The board's description. Never NULL. */
const dc_port_info_t *dc_port_info(void);

/* ---- UART (the one console / protocol link to the host) ---- */

/* Read up to `cap` bytes into `buf`. Waits at most `timeout_ms` for the first byte, then
 * returns what has arrived without waiting further. 0 = timed out with nothing read;
 * DC_PORT_WAIT_FOREVER waits without limit. Returns the number of bytes read (0..cap) or
 * DC_ERR_ARG (buf NULL with cap > 0). Bytes are never dropped by the port. */
int dc_port_uart_read(uint8_t *buf, size_t cap, uint32_t timeout_ms);

/* Write `len` bytes. Waits at most `timeout_ms` in total for the link to accept them (the
 * host may not be reading). Returns the number of bytes written (== len unless timed out)
 * or DC_ERR_ARG. */
int dc_port_uart_write(const uint8_t *data, size_t len, uint32_t timeout_ms);

/* ---- Time and profiling ---- */

/* Milliseconds since start, monotonic, wrapping at 2^32. On QEMU boards this is virtual
 * time: with -icount shift=0 one instruction advances it by 1 ns; while the CPU sleeps
 * waiting for the UART it follows real time. */
uint32_t dc_port_millis(void);

/* A monotonic 64-bit counter for per-layer profiling, in dc_port_info()->counter_unit at
 * counter_hz. QEMU boards: CPU clock cycles of virtual time (under -icount shift=0 one
 * count per 1e9/counter_hz instructions, i.e. 40 instructions at 25 MHz); native:
 * nanoseconds of CLOCK_MONOTONIC. Exact instruction counts come from the QEMU plugin via
 * dc_port_profile_mark(). QEMU boards must call it at least once every 2^32 counts
 * (171 s of virtual time at 25 MHz) to see every wrap of the hardware timer. */
uint64_t dc_port_counter(void);

/* Start profiling region `region` (0 .. DC_PORT_PROFILE_REGIONS-1; larger ids are reduced
 * modulo 256), ending the current one. Region 0 is "not profiled" and is current at reset.
 * On QEMU boards the instruction-count plugin attributes every instruction to the current
 * region and logs each switch (docs/boards.md); on native it does nothing. Costs a few
 * instructions; safe to call in loops. */
void dc_port_profile_mark(uint32_t region);

/* ---- Flash storage ---- */

/* The storage geometry. Never NULL. */
const dc_flash_geometry_t *dc_port_flash_geometry(void);

/* Copy `len` bytes at `offset` into `dst`. DC_ERR_ARG if dst is NULL (len > 0) or the range
 * leaves the area. */
dc_status_t dc_port_flash_read(uint32_t offset, void *dst, size_t len);

/* Erase whole erase units: `offset` and `len` must be multiples of erase_size and the range
 * inside the area (DC_ERR_ARG otherwise). Afterwards every byte reads erased_value. */
dc_status_t dc_port_flash_erase(uint32_t offset, size_t len);

/* Program `len` bytes at `offset`: `offset` and `len` must be multiples of write_size and
 * the range inside the area (DC_ERR_ARG otherwise). Like real parts that refuse to program
 * a non-erased word, every byte of the destination must be erased first: otherwise nothing
 * is written and DC_ERR_FLASH is returned. DC_ERR_FLASH also reports a failed write-through
 * to the backing store (native file, QEMU semihosting file). */
dc_status_t dc_port_flash_write(uint32_t offset, const void *src, size_t len);

/* A read-only memory-mapped view of the whole area (execute-in-place style reads), or NULL
 * when the board has none. Valid until exit; changes after flash writes. */
const uint8_t *dc_port_flash_map(void);

/* ---- Network (an optional capability) ---- */

/* TCP client sockets, for boards with their own network stack (docs/boards.md). Boards without
 * one (the mps2 QEMU boards) return DC_ERR_UNSUPPORTED from dc_port_net_connect, so no other
 * net function ever gets a valid handle there. At most DC_PORT_NET_SOCKETS are open at once.
 * Handles are small integers >= 0, valid until dc_port_net_close. */
#define DC_PORT_NET_SOCKETS 4

/* Connects to `host` (NUL-terminated name or dotted IPv4/IPv6 address) on TCP `port`, waiting
 * at most `timeout_ms`. Returns a handle >= 0, or DC_ERR_UNSUPPORTED (no network on this
 * board), DC_ERR_NET (name not resolved, refused, unreachable), DC_ERR_TIMEOUT, DC_ERR_BUFFER
 * (all DC_PORT_NET_SOCKETS in use) or DC_ERR_ARG. */
int dc_port_net_connect(const char *host, uint16_t port, uint32_t timeout_ms);

/* TLS client credentials for dc_port_net_connect_tls: DER bytes, borrowed for the call only. */
typedef struct {
    const uint8_t *ca;          /* the CA certificate the server's chain must verify against */
    size_t ca_len;              /* 1.. (required: there is no TLS without server verification) */
    const uint8_t *cert;        /* the client certificate, or NULL (cert_len 0): none */
    size_t cert_len;
    const uint8_t *key;         /* the client certificate's private key (PKCS#8 or SEC1 DER) */
    size_t key_len;
    const char *server_name;    /* checked against the server certificate's names and sent as
                                   SNI; NULL: `host` */
} dc_port_tls_t;

/* As dc_port_net_connect, then a TLS 1.2 handshake that verifies the server's certificate chain
 * against `tls->ca` and its name against `tls->server_name`, presenting the client certificate
 * when one is given; the handle then carries TLS records through dc_port_net_send/recv
 * transparently. Returns a handle >= 0, or DC_ERR_UNSUPPORTED (no TLS on this board), the
 * connect statuses, DC_ERR_TLS (handshake failed: the certificate does not verify, wrong name,
 * no common cipher suite, the server refused the client certificate), DC_ERR_ARG (no CA). */
int dc_port_net_connect_tls(const char *host, uint16_t port, const dc_port_tls_t *tls, uint32_t timeout_ms);

/* Sends all `len` bytes, waiting at most `timeout_ms` in total. Returns `len`, or
 * DC_ERR_TIMEOUT (part may have been sent: close the socket), DC_ERR_CLOSED (the peer is
 * gone), DC_ERR_NET, DC_ERR_ARG (bad handle). */
int dc_port_net_send(int sock, const uint8_t *data, size_t len, uint32_t timeout_ms);

/* Receives up to `cap` bytes, waiting at most `timeout_ms` for the first (0: poll). Returns
 * the number of bytes (1..cap), 0 when nothing arrived in time, DC_ERR_CLOSED when the peer
 * closed the connection, DC_ERR_NET, DC_ERR_ARG (bad handle, buf NULL with cap > 0). */
int dc_port_net_recv(int sock, uint8_t *buf, size_t cap, uint32_t timeout_ms);

/* Closes the socket; a bad or closed handle is ignored. */
void dc_port_net_close(int sock);

/* ---- Life cycle ---- */

/* End the program with status `code` (0..255): native exits the process; QEMU boards end
 * the emulator through semihosting SYS_EXIT_EXTENDED, so QEMU exits with `code`. */
DC_NORETURN void dc_port_exit(int code);

/* Restart the firmware from its reset vector, keeping the flash contents and the UART link
 * (native: the process re-executes itself on the same pseudo-terminal, same pid; QEMU:
 * system reset request). */
DC_NORETURN void dc_port_reset(void);

#endif /* DC_PORT_H */
