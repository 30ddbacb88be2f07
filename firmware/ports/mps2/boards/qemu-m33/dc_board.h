/* dc_board.h: constants of the qemu-m33 board (mps2-an505 in QEMU, cortex-m33). */
#ifndef DC_BOARD_H
#define DC_BOARD_H

#define DC_BOARD_NAME "qemu-m33"
#define DC_BOARD_CPU "cortex-m33"
#define DC_BOARD_UART_BASE 0x50200000u     /* CMSDK UART0 (Secure alias) */
#define DC_BOARD_UART_RX_IRQ 32u   /* NVIC line of UART0's receive interrupt */
#define DC_BOARD_TIMER_BASE 0x50000000u    /* CMSDK timer 0 (Secure alias) */
#define DC_BOARD_CLOCK_HZ 20000000u      /* system clock: SysTick and timer 0 */

#endif /* DC_BOARD_H */
