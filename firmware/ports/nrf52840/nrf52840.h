/* nrf52840.h: the few nRF52840 registers the nrf52840-dk port uses (nRF52840 Product Specification).
 *
 * Written from the nRF52840 PS v1.x (CLOCK, UART (legacy, non-DMA), NVMC chapters); no vendor
 * headers. Event registers read 1 when the event happened and are cleared by writing 0.
 */
#ifndef DC_NRF52840_H
#define DC_NRF52840_H

#include "cortexm.h"

/* CLOCK, 0x40000000 */
#define CLOCK_TASKS_HFCLKSTART DC_REG32(0x40000000u)
#define CLOCK_EVENTS_HFCLKSTARTED DC_REG32(0x40000100u)

/* UART0 (legacy UART, sharing its id and address with UARTE0), 0x40002000 */
#define UART_TASKS_STARTRX DC_REG32(0x40002000u)
#define UART_TASKS_STARTTX DC_REG32(0x40002008u)
#define UART_EVENTS_RXDRDY DC_REG32(0x40002108u)
#define UART_EVENTS_TXDRDY DC_REG32(0x4000211Cu)
#define UART_EVENTS_ERROR DC_REG32(0x40002124u)
#define UART_INTENSET DC_REG32(0x40002304u)
#define UART_INTEN_RXDRDY (1u << 2)
#define UART_INTEN_ERROR (1u << 9)
#define UART_ERRORSRC DC_REG32(0x40002480u) /* write 1 to clear: OVERRUN, PARITY, FRAMING, BREAK */
#define UART_ENABLE DC_REG32(0x40002500u)
#define UART_ENABLE_UART 4u
#define UART_PSEL_RTS DC_REG32(0x40002508u)
#define UART_PSEL_TXD DC_REG32(0x4000250Cu)
#define UART_PSEL_CTS DC_REG32(0x40002510u)
#define UART_PSEL_RXD DC_REG32(0x40002514u)
#define UART_PSEL_DISCONNECTED 0xFFFFFFFFu /* CONNECT bit 31 = 1 */
#define UART_RXD DC_REG32(0x40002518u)
#define UART_TXD DC_REG32(0x4000251Cu)
#define UART_BAUDRATE DC_REG32(0x40002524u)
#define UART_BAUDRATE_115200 0x01D7E000u
#define UART_CONFIG DC_REG32(0x4000256Cu) /* 0: no flow control, no parity, one stop bit */

/* GPIO P0, 0x50000000: PIN_CNF[n] */
#define P0_PIN_CNF(n) DC_REG32(0x50000700u + 4u * (n))
#define P0_OUTSET DC_REG32(0x50000508u)
#define PIN_CNF_OUTPUT 0x1u     /* DIR = output, input buffer connected */
#define PIN_CNF_INPUT_PULLUP 0xCu /* DIR = input, input connected, PULL = pull-up */

/* NVMC (non-volatile memory controller), 0x4001E000 */
#define NVMC_READY DC_REG32(0x4001E400u)    /* bit 0: 1 = ready */
#define NVMC_CONFIG DC_REG32(0x4001E504u)
#define NVMC_CONFIG_REN 0u
#define NVMC_CONFIG_WEN 1u
#define NVMC_CONFIG_EEN 2u
#define NVMC_ERASEPAGE DC_REG32(0x4001E508u) /* write a page's address to erase it */

#endif /* DC_NRF52840_H */
