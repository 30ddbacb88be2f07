/* cortexm_port.c: board description, DWT cycle counter, profiling regions, exit and reset (real Cortex-M). */
#include <stdint.h>

#include "cortexm.h"
#include "dc_port.h"

extern uint8_t dc_cortexm_storage_start[];
extern uint8_t dc_cortexm_storage_end[];
extern uint8_t dc_cortexm_ram_size[]; /* an absolute symbol: its address is the size */

static const dc_port_info_t *describe(void)
{
    static dc_port_info_t info = {
        .name = DC_BOARD_NAME,
        .cpu = DC_BOARD_CPU,
        .counter_hz = DC_BOARD_CLOCK_HZ,
        .counter_unit = "cycles",
    };
    info.ram_size = (uint32_t)(uintptr_t)dc_cortexm_ram_size;
    info.flash_size = (uint32_t)(dc_cortexm_storage_end - dc_cortexm_storage_start);
    return &info;
}

const dc_port_info_t *dc_port_info(void)
{
    return describe();
}

/* ---- time: DWT CYCCNT (32 bits, CPU clock) extended to 64 bits in software ---- */

static uint32_t g_last;  /* last CYCCNT reading, to see wraps */
static uint64_t g_high;  /* wraps seen, << 32 */

uint64_t dc_port_counter(void)
{
    /* Must run at least once per 2^32 cycles (53 s at 80 MHz, 67 s at 64 MHz): the UART wait
     * loops call it continuously; a single computation longer than that would lose a wrap. */
    uint32_t now = DC_DWT_CYCCNT;
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

/* ---- profiling: cycles per region, readable with a debugger ---- */

uint64_t dc_cortexm_profile_cycles[DC_PORT_PROFILE_REGIONS];
static uint32_t g_region;      /* current region (0 at reset) */
static uint64_t g_region_start;

void dc_port_profile_mark(uint32_t region)
{
    uint64_t now = dc_port_counter();
    dc_cortexm_profile_cycles[g_region] += now - g_region_start;
    g_region = region % DC_PORT_PROFILE_REGIONS;
    g_region_start = now;
}

/* ---- life cycle ---- */

/* A real board has no process to end: the firmware stops here. With a debugger attached (DHCSR
 * C_DEBUGEN) BKPT halts the core with the status in r0, so `pio debug`/OpenOCD sees it; without
 * one BKPT would fault, so the core sleeps with interrupts masked instead. */
void dc_port_exit(int code)
{
    dc_cortexm_uart_flush();
    __asm__ volatile("cpsid i" ::: "memory");
    if ((DC_DHCSR & 1u) != 0) {
        register uint32_t r0 __asm__("r0") = (uint32_t)code & 0xFFu;
        __asm__ volatile("bkpt 0" : : "r"(r0) : "memory");
    }
    for (;;) {
        __asm__ volatile("wfi" ::: "memory");
    }
}

void dc_port_reset(void)
{
    dc_cortexm_uart_flush();
    __asm__ volatile("dsb" ::: "memory");
    DC_SCB_AIRCR = DC_SCB_AIRCR_SYSRESETREQ;
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
}
