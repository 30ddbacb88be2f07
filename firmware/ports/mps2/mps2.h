/* mps2.h: registers and internals shared by the files of the mps2 (QEMU Cortex-M) port.
 *
 * Board constants (UART, timer, IRQ numbers, clock) come from boards/<board>/dc_board.h;
 * the memory map from the linker script <machine>.ld (docs/boards.md has both).
 */
#ifndef DC_MPS2_H
#define DC_MPS2_H

#include <stdint.h>

#include "dc_board.h"

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* CMSDK APB UART */
#define UART_DATA REG32(DC_BOARD_UART_BASE + 0x00u)
#define UART_STATE REG32(DC_BOARD_UART_BASE + 0x04u)
#define UART_CTRL REG32(DC_BOARD_UART_BASE + 0x08u)
#define UART_INTSTATUS REG32(DC_BOARD_UART_BASE + 0x0Cu) /* write 1 to clear */
#define UART_BAUDDIV REG32(DC_BOARD_UART_BASE + 0x10u)
#define UART_STATE_TXFULL (1u << 0)
#define UART_STATE_RXFULL (1u << 1)
#define UART_CTRL_TXEN (1u << 0)
#define UART_CTRL_RXEN (1u << 1)
#define UART_CTRL_RXIE (1u << 3)
#define UART_INT_RX (1u << 1)

/* CMSDK APB timer (a 32-bit down-counter at the system clock) */
#define TIMER_CTRL REG32(DC_BOARD_TIMER_BASE + 0x00u)
#define TIMER_VALUE REG32(DC_BOARD_TIMER_BASE + 0x04u)
#define TIMER_RELOAD REG32(DC_BOARD_TIMER_BASE + 0x08u)
#define TIMER_CTRL_ENABLE (1u << 0)

/* System control space */
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2)
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_ICPR(n) REG32(0xE000E280u + 4u * (n))
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_ICSR_PENDSTCLR (1u << 25)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_AIRCR_RESET (0x05FA0000u | (1u << 2))
#define SCB_CPACR REG32(0xE000ED88u)

/* Initialise the timers / UART / flash; called by the reset handler in this order. */
void dc_mps2_time_init(void);
void dc_mps2_uart_init(void);
int dc_mps2_flash_init(void); /* 0, or -1 after printing why on the UART */
/* Close the flash's backing file (before reset). */
void dc_mps2_flash_close(void);

/* Sleep (WFI, interrupts masked) until an enabled interrupt pends or `ticks` system clock
 * cycles pass (at most 2^24-1). Returns at once if one is already pending. */
void dc_mps2_wait(uint32_t ticks);

/* Write a NUL-terminated string / a hexadecimal word to the UART (blocking, for faults). */
void dc_mps2_uart_puts(const char *text);
void dc_mps2_uart_puthex(uint32_t value);
/* Drop the "byte received" wake-up so the next WFI sleeps until a new byte arrives. */
void dc_mps2_uart_clear_wakeup(void);
/* Wait (bounded) until the UART has sent its last byte. */
void dc_mps2_uart_flush(void);

#endif /* DC_MPS2_H */
