/* cortexm_uart.c: the console UART of the real Cortex-M boards: an interrupt-fed receive ring, polled transmit. */
#include <stdint.h>

#include "cortexm.h"
#include "dc_port.h"

#define RING_MASK (DC_CORTEXM_RX_RING - 1u)
#define TICKS_PER_MS (DC_BOARD_CLOCK_HZ / 1000u)

/* Single producer (the UART interrupt) writes g_head, single consumer (thread mode) g_tail. */
static volatile uint8_t g_ring[DC_CORTEXM_RX_RING];
static volatile uint32_t g_head;
static volatile uint32_t g_tail;
volatile uint32_t dc_cortexm_rx_dropped;

void dc_cortexm_rx_push(uint8_t byte)
{
    uint32_t head = g_head;
    if (head - g_tail >= DC_CORTEXM_RX_RING) {
        dc_cortexm_rx_dropped++;
        return;
    }
    g_ring[head & RING_MASK] = byte;
    __asm__ volatile("dmb" ::: "memory"); /* the byte before the index that publishes it */
    g_head = head + 1u;
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
    while (g_head == g_tail) {
        /* Reading the counter on every turn also keeps its wrap detection fed while idle. */
        uint64_t now = dc_port_counter();
        if (timeout_ms != DC_PORT_WAIT_FOREVER && now - start >= limit) {
            return 0;
        }
    }
    size_t got = 0;
    uint32_t tail = g_tail;
    uint32_t head = g_head;
    __asm__ volatile("dmb" ::: "memory");
    while (got < cap && tail != head) {
        buf[got++] = g_ring[tail & RING_MASK];
        tail++;
    }
    g_tail = tail;
    return (int)got;
}

int dc_port_uart_write(const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    if (data == NULL && len > 0) {
        return DC_ERR_ARG;
    }
    uint64_t start = dc_port_counter();
    uint64_t limit = (uint64_t)timeout_ms * TICKS_PER_MS;
    for (size_t i = 0; i < len; i++) {
        while (!dc_board_uart_tx_ready()) {
            if (timeout_ms != DC_PORT_WAIT_FOREVER && dc_port_counter() - start >= limit) {
                return (int)i;
            }
        }
        dc_board_uart_tx(data[i]);
    }
    return (int)len;
}

void dc_cortexm_puts(const char *text)
{
    while (*text != '\0') {
        (void)dc_port_uart_write((const uint8_t *)text++, 1, 100u);
    }
}

void dc_cortexm_puthex(uint32_t value)
{
    char text[11] = "0x";
    for (int i = 0; i < 8; i++) {
        text[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xFu];
    }
    text[10] = '\0';
    dc_cortexm_puts(text);
}

void dc_cortexm_uart_flush(void)
{
    uint64_t start = dc_port_counter();
    while (!dc_board_uart_tx_idle() && dc_port_counter() - start < 100u * (uint64_t)TICKS_PER_MS) {
    }
}
