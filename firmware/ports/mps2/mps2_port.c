/* mps2_port.c: the mps2 port's board description, profiling marks, exit and reset. */
#include <stdint.h>

#include "dc_port.h"
#include "mps2.h"
#include "semihost.h"

extern uint8_t __ram_start[];
extern uint8_t __ram_end[];
extern uint8_t dc_mps2_flash_start[];
extern uint8_t dc_mps2_flash_end[];

/* The profiling plugin watches stores into this array made by dc_port_profile_mark(): the
 * byte's index is the region id (docs/boards.md). Its address and the function's address
 * and size reach the plugin through build/<board>/dcfw.syms. */
volatile uint8_t dc_mps2_profile_marks[DC_PORT_PROFILE_REGIONS];

static dc_port_info_t g_info = {
    .name = DC_BOARD_NAME,
    .cpu = DC_BOARD_CPU,
    .counter_hz = DC_BOARD_CLOCK_HZ,
    .counter_unit = "cycles",
};

const dc_port_info_t *dc_port_info(void)
{
    g_info.ram_size = (uint32_t)(__ram_end - __ram_start);
    g_info.flash_size = (uint32_t)(dc_mps2_flash_end - dc_mps2_flash_start);
    return &g_info;
}

__attribute__((noinline)) void dc_port_profile_mark(uint32_t region)
{
    dc_mps2_profile_marks[region % DC_PORT_PROFILE_REGIONS] = 1;
}

void dc_port_exit(int code)
{
    /* The last bytes reach the host: QEMU writes each UART byte out at once, and the board
     * driver keeps the pty open after QEMU exits (docs/boards.md). */
    dc_mps2_uart_flush();
    dc_mps2_flash_close();
    dc_sh_exit(code & 0xFF);
}

void dc_port_reset(void)
{
    dc_mps2_uart_flush();
    dc_mps2_flash_close();
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = SCB_AIRCR_RESET;
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
}
