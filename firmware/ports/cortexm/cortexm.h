/* cortexm.h: the shared part of the real Cortex-M board ports (Nucleo-L476RG, nRF52840-DK).
 *
 * ports/cortexm/ implements dc_port.h once for real Cortex-M4F parts: start-up and vector table,
 * the DWT cycle counter, profiling regions, the UART receive ring, flash rules (range, alignment,
 * erase-before-write, read-back verification), exit, reset and fault reports. Each board directory
 * (ports/<board>/) adds only what touches its peripherals: clocks, the UART registers and the
 * flash controller, through the dc_board_* hooks below, and its constants in dc_board.h:
 *
 *   DC_BOARD_NAME, DC_BOARD_CPU          registry name and CPU ("cortex-m4f")
 *   DC_BOARD_CLOCK_HZ                    CPU clock after dc_board_init() (= DWT CYCCNT rate)
 *   DC_BOARD_IRQ_COUNT                   external interrupt lines in the vector table
 *   DC_BOARD_UART_IRQ                    NVIC line of the console UART
 *   DC_BOARD_FLASH_ERASE_SIZE / _WRITE_SIZE   the part's erase and program units, in bytes
 *
 * The memory map comes from the board's linker script (ports/<board>/<part>.ld, which includes cortexm_sections.ld):
 * dc_cortexm_storage_start/_end (the flash storage area, erase-unit aligned) and dc_cortexm_ram_size.
 *
 * Interrupts: only the UART receive interrupt is enabled; its handler pushes bytes into a ring
 * (DC_CORTEXM_RX_RING bytes) that dc_port_uart_read() drains. No timer interrupt: time is the
 * DWT cycle counter, polled. Everything else runs in thread mode, single-threaded.
 */
#ifndef DC_CORTEXM_H
#define DC_CORTEXM_H

#include <stddef.h>
#include <stdint.h>

#include "dc_board.h"
#include "dc_port.h"
#include "dc_status.h"

#define DC_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* Architecture registers (ARMv7-M system control space, identical on every Cortex-M4). */
#define DC_SCB_VTOR DC_REG32(0xE000ED08u)
#define DC_SCB_AIRCR DC_REG32(0xE000ED0Cu)
#define DC_SCB_AIRCR_SYSRESETREQ (0x05FA0000u | (1u << 2)) /* VECTKEY | SYSRESETREQ */
#define DC_SCB_CPACR DC_REG32(0xE000ED88u)
#define DC_DHCSR DC_REG32(0xE000EDF0u)    /* bit 0 C_DEBUGEN: a debugger is attached */
#define DC_DEMCR DC_REG32(0xE000EDFCu)    /* bit 24 TRCENA: enables the DWT */
#define DC_DWT_CTRL DC_REG32(0xE0001000u) /* bit 0 CYCCNTENA */
#define DC_DWT_CYCCNT DC_REG32(0xE0001004u)
#define DC_NVIC_ISER(n) DC_REG32(0xE000E100u + 4u * (n))
#define DC_NVIC_ICPR(n) DC_REG32(0xE000E280u + 4u * (n))

/* Receive ring size (a power of two). Bytes arriving while it is full are counted in
 * dc_cortexm_rx_dropped and lost; the host protocols wait for each answer, so it never fills. */
#define DC_CORTEXM_RX_RING 1024u

/* ---- Hooks each board implements (ports/<board>/) ---- */

/* Clocks to DC_BOARD_CLOCK_HZ, the UART (8N1, receive interrupt enabled in the peripheral; the
 * NVIC line is enabled by the caller) and the flash controller. 0, or -1 when the part is not in
 * the state the port needs (then the reset handler exits with status 1). */
int dc_board_init(void);

/* The UART's interrupt handler (vector DC_BOARD_UART_IRQ): pushes every received byte with
 * dc_cortexm_rx_push() and clears error flags. */
void dc_board_uart_isr(void);

/* 1 when the transmitter accepts a byte now / when the last byte has left the pin. */
int dc_board_uart_tx_ready(void);
int dc_board_uart_tx_idle(void);
/* Hand one byte to the transmitter (only after dc_board_uart_tx_ready() said 1). */
void dc_board_uart_tx(uint8_t byte);

/* Erase the one erase unit at absolute address `address` (erase-unit aligned, inside the
 * storage area), or program the DC_BOARD_FLASH_WRITE_SIZE bytes at `src` (any alignment) to the
 * write-unit aligned `address`. DC_OK or DC_ERR_FLASH (controller error flags). Callers check
 * ranges and alignment; they also verify the result by reading it back. */
dc_status_t dc_board_flash_erase_unit(uintptr_t address);
dc_status_t dc_board_flash_program_unit(uintptr_t address, const uint8_t *src);

/* ---- Shared helpers (ports/cortexm/) ---- */

/* Called by dc_board_uart_isr() for each received byte. */
void dc_cortexm_rx_push(uint8_t byte);
/* Bytes lost because the ring was full (for a debugger; never reset). */
extern volatile uint32_t dc_cortexm_rx_dropped;

/* Write a NUL-terminated string / a hexadecimal word to the UART, polling (faults, start-up). */
void dc_cortexm_puts(const char *text);
void dc_cortexm_puthex(uint32_t value);
/* Wait (at most 100 ms) until the UART has sent everything. */
void dc_cortexm_uart_flush(void);

/* Cycles spent in each profiling region so far (dc_port_profile_mark), for a debugger:
 * `print dc_cortexm_profile_cycles` under `pio debug`. Indexed by region id. */
extern uint64_t dc_cortexm_profile_cycles[DC_PORT_PROFILE_REGIONS];

#endif /* DC_CORTEXM_H */
