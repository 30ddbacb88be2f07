/* dc_board.h: constants of the qemu-m4 board (mps2-an386 in QEMU, cortex-m4f). */
#ifndef DC_BOARD_H
#define DC_BOARD_H

#define DC_BOARD_NAME "qemu-m4"
#define DC_BOARD_CPU "cortex-m4f"
#define DC_BOARD_UART_BASE 0x40004000u     /* CMSDK UART0 */
#define DC_BOARD_UART_RX_IRQ 0u   /* NVIC line of UART0's receive interrupt */
#define DC_BOARD_TIMER_BASE 0x40000000u    /* CMSDK timer 0 */
#define DC_BOARD_CLOCK_HZ 25000000u      /* system clock: SysTick and timer 0 */

#endif /* DC_BOARD_H */
