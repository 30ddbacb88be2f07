/* mps2_startup.c: vector table, reset handler and fault handlers of the mps2 (QEMU Cortex-M) port.
 *
 * Interrupts stay masked (PRIMASK=1) for the program's whole life: interrupt lines are only
 * used to wake WFI (mps2_time.c), so no handler ever interrupts measured code. Faults are
 * not maskable: HardFault (and any unexpected exception) prints "FAULT pc=0x... exception=N"
 * on the UART and ends QEMU with status DC_PORT_EXIT_FAULT through semihosting.
 */
#include <stdint.h>
#include <string.h>

#include "dc_port.h"
#include "mps2.h"
#include "semihost.h"

/* Provided by the linker script (mps2_sections.ld). */
extern uint32_t __stack_top[];
extern uint32_t __data_load[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void dc_mps2_fault_report(const uint32_t *frame);

#define VECTOR_COUNT (16u + 48u) /* system exceptions + external interrupts 0..47 */

__attribute__((section(".vectors"), used))
static void (*const g_vectors[VECTOR_COUNT])(void) = {
    [0] = (void (*)(void))(uintptr_t)__stack_top,
    [1] = Reset_Handler,
    [2] = Default_Handler,   /* NMI */
    [3] = HardFault_Handler,
    [4] = Default_Handler,   /* MemManage */
    [5] = Default_Handler,   /* BusFault */
    [6] = Default_Handler,   /* UsageFault */
    [7] = Default_Handler,   /* SecureFault (ARMv8-M) */
    [11] = Default_Handler,  /* SVCall */
    [12] = Default_Handler,  /* DebugMonitor */
    [14] = Default_Handler,  /* PendSV */
    [15] = Default_Handler,  /* SysTick (never taken: PRIMASK) */
    [16 ... VECTOR_COUNT - 1] = Default_Handler,
};

void Reset_Handler(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
    size_t data_bytes = (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start);
    memcpy(__data_start, __data_load, data_bytes);
    size_t bss_bytes = (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start);
    memset(__bss_start, 0, bss_bytes);
#if defined(__ARM_FP)
    SCB_CPACR |= 0xFu << 20; /* CP10, CP11: full access to the FPU */
    __asm__ volatile("dsb\n isb" ::: "memory");
#endif
    dc_mps2_time_init();
    dc_mps2_uart_init();
    if (dc_mps2_flash_init() != 0) {
        dc_port_exit(1);
    }
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
        "b dc_mps2_fault_report\n");
}

__attribute__((naked)) void Default_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "b dc_mps2_fault_report\n");
}

/* frame: r0, r1, r2, r3, r12, lr, pc, xpsr as stacked on exception entry. */
__attribute__((used, noreturn)) void dc_mps2_fault_report(const uint32_t *frame)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    dc_mps2_uart_puts("\r\nFAULT pc=");
    dc_mps2_uart_puthex(frame[6]);
    dc_mps2_uart_puts(" exception=");
    dc_mps2_uart_puthex(ipsr & 0x1FFu);
    dc_mps2_uart_puts("\r\n");
    dc_mps2_uart_flush();
    dc_sh_exit(DC_PORT_EXIT_FAULT);
}
