/* mps2_time.c: the mps2 port's clocks: a 64-bit cycle counter (CMSDK timer 0), millis, WFI waits. */
#include <stdint.h>

#include "dc_port.h"
#include "mps2.h"

static uint32_t g_last;  /* last 32-bit reading, to see wraps */
static uint64_t g_high;  /* wraps seen, << 32 */

void dc_mps2_time_init(void)
{
    TIMER_CTRL = 0;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = TIMER_CTRL_ENABLE;
    g_last = 0;
    g_high = 0;
    SYST_CSR = 0;
}

uint64_t dc_port_counter(void)
{
    uint32_t now = ~TIMER_VALUE; /* the timer counts down from 0xFFFFFFFF */
    if (now < g_last) {
        g_high += (uint64_t)1 << 32;
    }
    g_last = now;
    return g_high | now;
}

uint32_t dc_port_millis(void)
{
    return (uint32_t)(dc_port_counter() / (DC_BOARD_CLOCK_HZ / 1000u));
}

void dc_mps2_wait(uint32_t ticks)
{
    if (ticks == 0) {
        return;
    }
    if (ticks > 0xFFFFFFu) {
        ticks = 0xFFFFFFu;
    }
    /* SysTick as a one-shot alarm: its exception pends (never runs, PRIMASK) and wakes WFI. */
    SYST_CSR = 0;
    SYST_RVR = ticks;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
    __asm__ volatile("dsb\n wfi" ::: "memory");
    SYST_CSR = 0;
    SCB_ICSR = SCB_ICSR_PENDSTCLR;
}
