/* dc_board.h: constants of the nrf52840-dk board (nRF52840, Cortex-M4F) for ports/cortexm. */
#ifndef DC_BOARD_H
#define DC_BOARD_H

#define DC_BOARD_NAME "nrf52840-dk"
#define DC_BOARD_CPU "cortex-m4f"
#define DC_BOARD_CLOCK_HZ 64000000u /* HCLK, fixed; the crystal (HFXO) is started for the UART */
#define DC_BOARD_IRQ_COUNT 48u      /* nRF52840 peripheral interrupt lines 0..47 */
#define DC_BOARD_UART_IRQ 2u        /* UARTE0_UART0 (peripheral id = address bits 16:12) */
#define DC_BOARD_UART_TX_PIN 6u     /* P0.06 -> interface MCU (J-Link OB) virtual COM port */
#define DC_BOARD_UART_RX_PIN 8u     /* P0.08 <- interface MCU */
#define DC_BOARD_FLASH_ERASE_SIZE 4096u /* one page */
#define DC_BOARD_FLASH_WRITE_SIZE 4u    /* one word through the NVMC */

#endif /* DC_BOARD_H */
