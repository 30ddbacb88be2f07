/* mps2_uart.c: the mps2 port's UART: CMSDK UART0 by polling, sleeping in WFI while idle. */
#include <stdint.h>

#include "dc_port.h"
#include "mps2.h"

#define TICKS_PER_MS (DC_BOARD_CLOCK_HZ / 1000u)
#define IRQ_WORD (DC_BOARD_UART_RX_IRQ / 32u)
#define IRQ_BIT (1u << (DC_BOARD_UART_RX_IRQ % 32u))

void dc_mps2_uart_init(void)
{
    UART_CTRL = 0;
    UART_BAUDDIV = 16; /* QEMU ignores the rate but wants BAUDDIV >= 16 */
    UART_INTSTATUS = 0xFu;
    /* TXEN and RXEN both, or QEMU neither sends nor receives; RXIE only to wake WFI. */
    UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN | UART_CTRL_RXIE;
    NVIC_ICPR(IRQ_WORD) = IRQ_BIT;
    NVIC_ISER(IRQ_WORD) = IRQ_BIT;
}

void dc_mps2_uart_clear_wakeup(void)
{
    UART_INTSTATUS = UART_INT_RX;
    NVIC_ICPR(IRQ_WORD) = IRQ_BIT;
}

int dc_port_uart_read(uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    if (buf == NULL && cap > 0) {
        return DC_ERR_ARG;
    }
    if (cap == 0) {
        return 0;
    }
    uint64_t start = dc_port_counter();
    uint64_t limit = (uint64_t)timeout_ms * TICKS_PER_MS;
    for (;;) {
        dc_mps2_uart_clear_wakeup();
        size_t got = 0;
        while (got < cap && (UART_STATE & UART_STATE_RXFULL) != 0) {
            buf[got++] = (uint8_t)UART_DATA;
        }
        if (got > 0) {
            /* A pending (masked) interrupt makes QEMU check for interrupts at every
             * translation block: drop it so compute after this read runs at full speed. */
            dc_mps2_uart_clear_wakeup();
            return (int)got;
        }
        uint32_t ticks = 0xFFFFFFu;
        if (timeout_ms != DC_PORT_WAIT_FOREVER) {
            uint64_t elapsed = dc_port_counter() - start;
            if (elapsed >= limit) {
                return 0;
            }
            if (limit - elapsed < ticks) {
                ticks = (uint32_t)(limit - elapsed);
            }
        }
        dc_mps2_wait(ticks);
    }
}

int dc_port_uart_write(const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    if (data == NULL && len > 0) {
        return DC_ERR_ARG;
    }
    uint64_t start = dc_port_counter();
    uint64_t limit = (uint64_t)timeout_ms * TICKS_PER_MS;
    for (size_t i = 0; i < len; i++) {
        while ((UART_STATE & UART_STATE_TXFULL) != 0) {
            if (timeout_ms != DC_PORT_WAIT_FOREVER && dc_port_counter() - start >= limit) {
                return (int)i;
            }
        }
        UART_DATA = data[i];
    }
    return (int)len;
}

void dc_mps2_uart_puts(const char *text)
{
    while (*text != '\0') {
        (void)dc_port_uart_write((const uint8_t *)text++, 1, 100u);
    }
}

void dc_mps2_uart_puthex(uint32_t value)
{
    char text[11] = "0x";
    for (int i = 0; i < 8; i++) {
        text[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xFu];
    }
    text[10] = '\0';
    dc_mps2_uart_puts(text);
}

void dc_mps2_uart_flush(void)
{
    uint64_t start = dc_port_counter();
    while ((UART_STATE & UART_STATE_TXFULL) != 0 && dc_port_counter() - start < 100u * TICKS_PER_MS) {
    }
}
