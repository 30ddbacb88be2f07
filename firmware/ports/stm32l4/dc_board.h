/* dc_board.h: constants of the nucleo-l476rg board (STM32L476RG, Cortex-M4F) for ports/cortexm. */
#ifndef DC_BOARD_H
#define DC_BOARD_H

#define DC_BOARD_NAME "nucleo-l476rg"
#define DC_BOARD_CPU "cortex-m4f"
#define DC_BOARD_CLOCK_HZ 80000000u /* SYSCLK = HCLK = PCLK1 = PLL(HSI16 / 1 * 10 / 2) */
#define DC_BOARD_IRQ_COUNT 82u      /* STM32L476 external interrupt lines 0..81 (RM0351 NVIC table) */
#define DC_BOARD_UART_IRQ 38u       /* USART2 global interrupt */
#define DC_BOARD_UART_BAUD 115200u  /* USART2 on PA2/PA3 = the ST-LINK virtual COM port */
#define DC_BOARD_FLASH_ERASE_SIZE 2048u /* one page */
#define DC_BOARD_FLASH_WRITE_SIZE 8u    /* one double word (plus its 8 ECC bits) */

#endif /* DC_BOARD_H */
