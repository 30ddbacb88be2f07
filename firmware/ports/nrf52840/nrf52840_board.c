/* nrf52840_board.c: nrf52840-dk clock (HFXO) and UART0 on P0.06/P0.08 (the J-Link OB virtual COM port). */
#include <stdint.h>

#include "cortexm.h"
#include "nrf52840.h"

int dc_board_init(void)
{
    /* The crystal: the UART's baud rate from the internal RC oscillator is off by up to ~1.5%. */
    CLOCK_EVENTS_HFCLKSTARTED = 0;
    CLOCK_TASKS_HFCLKSTART = 1;
    while (CLOCK_EVENTS_HFCLKSTARTED == 0) {
    }

    P0_OUTSET = 1u << DC_BOARD_UART_TX_PIN; /* TX idles high */
    P0_PIN_CNF(DC_BOARD_UART_TX_PIN) = PIN_CNF_OUTPUT;
    P0_PIN_CNF(DC_BOARD_UART_RX_PIN) = PIN_CNF_INPUT_PULLUP;
    UART_ENABLE = 0;
    UART_PSEL_TXD = DC_BOARD_UART_TX_PIN; /* port 0, CONNECT = 0 (connected) */
    UART_PSEL_RXD = DC_BOARD_UART_RX_PIN;
    UART_PSEL_RTS = UART_PSEL_DISCONNECTED;
    UART_PSEL_CTS = UART_PSEL_DISCONNECTED;
    UART_BAUDRATE = UART_BAUDRATE_115200;
    UART_CONFIG = 0;
    UART_ENABLE = UART_ENABLE_UART;
    UART_EVENTS_RXDRDY = 0;
    UART_EVENTS_TXDRDY = 0;
    UART_EVENTS_ERROR = 0;
    UART_INTENSET = UART_INTEN_RXDRDY | UART_INTEN_ERROR;
    UART_TASKS_STARTRX = 1;
    UART_TASKS_STARTTX = 1;
    return 0;
}

/* The legacy UART has a 6-byte receive FIFO: clear RXDRDY first, then read RXD (which may
 * raise RXDRDY again for the next byte already waiting). */
void dc_board_uart_isr(void)
{
    while (UART_EVENTS_RXDRDY != 0) {
        UART_EVENTS_RXDRDY = 0;
        (void)UART_EVENTS_RXDRDY; /* the clear reaches the peripheral before RXD is read */
        dc_cortexm_rx_push((uint8_t)UART_RXD);
    }
    if (UART_EVENTS_ERROR != 0) {
        UART_EVENTS_ERROR = 0;
        UART_ERRORSRC = UART_ERRORSRC;
        (void)UART_EVENTS_ERROR;
    }
}

/* Transmission is one byte at a time: TXD is written, then TXDRDY tells it has been sent. */
static int g_tx_busy;

int dc_board_uart_tx_ready(void)
{
    if (g_tx_busy && UART_EVENTS_TXDRDY != 0) {
        UART_EVENTS_TXDRDY = 0;
        g_tx_busy = 0;
    }
    return !g_tx_busy;
}

int dc_board_uart_tx_idle(void)
{
    return dc_board_uart_tx_ready();
}

void dc_board_uart_tx(uint8_t byte)
{
    g_tx_busy = 1;
    UART_TXD = byte;
}
