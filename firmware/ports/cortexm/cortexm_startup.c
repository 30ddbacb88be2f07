/* cortexm_startup.c: vector table, reset handler and fault handlers of the real Cortex-M boards.
 *
 * Reset: copy .data, zero .bss, enable the FPU, point VTOR at this table, start the DWT cycle
 * counter, let the board set up clocks, UART and flash (dc_board_init), enable the UART
 * interrupt, then run dc_app_main() and exit with its result (dc_port_exit: halt).
 * A fault (HardFault, or any exception without a handler) prints
 * "FAULT pc=0x<stacked PC> exception=0x<n>" on the UART and exits with DC_PORT_EXIT_FAULT.
 */
#include <stdint.h>
#include <string.h>

#include "cortexm.h"
#include "dc_port.h"

/* From the linker script (cortexm_sections.ld and the board's .ld). */
extern uint32_t __stack_top[];
extern uint32_t __data_load[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void dc_cortexm_fault_report(const uint32_t *frame);

/* dc_board.h must give 1 <= DC_BOARD_UART_IRQ < DC_BOARD_IRQ_COUNT - 1 (the ranges below). */
#define VECTOR_COUNT (16u + DC_BOARD_IRQ_COUNT)

__attribute__((section(".vectors"), used, aligned(512)))
static void (*const g_vectors[VECTOR_COUNT])(void) = {
    [0] = (void (*)(void))(uintptr_t)__stack_top,
    [1] = Reset_Handler,
    [2] = Default_Handler, /* NMI */
    [3] = HardFault_Handler,
    [4 ... 15] = Default_Handler, /* MemManage, BusFault, UsageFault, SVCall, PendSV, SysTick */
    [16 ... 16 + DC_BOARD_UART_IRQ - 1] = Default_Handler,
    [16 + DC_BOARD_UART_IRQ] = dc_board_uart_isr,
    [16 + DC_BOARD_UART_IRQ + 1 ... VECTOR_COUNT - 1] = Default_Handler,
};

void Reset_Handler(void)
{
    size_t data_bytes = (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start);
    memcpy(__data_start, __data_load, data_bytes);
    size_t bss_bytes = (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start);
    memset(__bss_start, 0, bss_bytes);
#if defined(__ARM_FP)
    DC_SCB_CPACR |= 0xFu << 20; /* CP10, CP11: full access to the FPU */
    __asm__ volatile("dsb\n isb" ::: "memory");
#endif
    DC_SCB_VTOR = (uint32_t)(uintptr_t)g_vectors;
    DC_DEMCR |= 1u << 24; /* TRCENA */
    DC_DWT_CYCCNT = 0;
    DC_DWT_CTRL |= 1u; /* CYCCNTENA */
    if (dc_board_init() != 0) {
        dc_cortexm_puts("\r\nerror: board start-up failed\r\n");
        dc_port_exit(1);
    }
    DC_NVIC_ICPR(DC_BOARD_UART_IRQ / 32u) = 1u << (DC_BOARD_UART_IRQ % 32u);
    DC_NVIC_ISER(DC_BOARD_UART_IRQ / 32u) = 1u << (DC_BOARD_UART_IRQ % 32u);
    __asm__ volatile("cpsie i" ::: "memory");
    dc_port_exit(dc_app_main());
}

/* Pick the stack the exception frame was pushed on (EXC_RETURN bit 2) and report. */
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "b dc_cortexm_fault_report\n");
}

__attribute__((naked)) void Default_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "b dc_cortexm_fault_report\n");
}

/* frame: r0, r1, r2, r3, r12, lr, pc, xpsr as stacked on exception entry. */
__attribute__((used, noreturn)) void dc_cortexm_fault_report(const uint32_t *frame)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    dc_cortexm_puts("\r\nFAULT pc=");
    dc_cortexm_puthex(frame[6]);
    dc_cortexm_puts(" exception=");
    dc_cortexm_puthex(ipsr & 0x1FFu);
    dc_cortexm_puts("\r\n");
    dc_port_exit(DC_PORT_EXIT_FAULT);
}
