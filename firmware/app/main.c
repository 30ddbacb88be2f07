/* main.c: the firmware's entry: start the application, greet, then serve the UART: SMP frames,
 * MLPerf Tiny commands (text ending in '%') and console lines (text ending in '\n'). */
#include <stdint.h>

#include "app.h"
#include "console.h"
#include "dc_port.h"
#include "dc_status.h"
#include "dc_version.h"
#include "fleet_app.h"

/* The text router: bytes that are not SMP frames. A command ends at '%' (MLPerf Tiny) or at
 * '\n' (console); '\r' is dropped. A '%' inside a line whose first word is a console command
 * (all but `help`) is text of that line (`echo 100%`). A command longer than
 * DC_CONSOLE_LINE_MAX is answered with an error by whichever protocol its terminator names. */
static char g_line[DC_CONSOLE_LINE_MAX];
static size_t g_used;
static int g_overflow;

void dc_app_text(void *ctx, const uint8_t *bytes, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        char c = (char)bytes[i];
        if (c == '\r') {
            continue;
        }
        if (c == '%' && !g_overflow && dc_console_owns(g_line, g_used)) {
            if (g_used < sizeof g_line) {
                g_line[g_used++] = c;
            } else {
                g_overflow = 1;
            }
            continue;
        }
        if (c == '%') {
            if (g_overflow) {
                dc_mlperf_reject(&dc_app()->mlperf, "Command too long");
            } else {
                dc_mlperf_command(&dc_app()->mlperf, g_line, g_used);
            }
        } else if (c == '\n') {
            if (g_overflow) {
                dc_console_line("error: line too long");
            } else if (g_used > 0) {
                dc_console_dispatch(g_line, g_used);
            }
        } else {
            if (g_used < sizeof g_line) {
                g_line[g_used++] = c;
            } else {
                g_overflow = 1;
            }
            continue;
        }
        g_used = 0;
        g_overflow = 0;
    }
}

int dc_app_main(void)
{
    const dc_port_info_t *info = dc_port_info();
    int status = dc_app_init();
    if (status != DC_OK) {
        dc_console_write("error: application start failed: ");
        dc_console_line(dc_status_name(status));
        return 1;
    }
    dc_console_write(DC_FW_NAME " " DC_FW_VERSION " board=");
    dc_console_write(info->name);
    dc_console_line(" ready");

    uint8_t chunk[256];
    for (;;) {
        int got = dc_port_uart_read(chunk, sizeof chunk, dc_fleet_app_poll());
        if (got < 0) {
            return 1;
        }
        dc_smp_server_feed(&dc_app()->smp, chunk, (size_t)got, dc_app_uart_write, NULL);
    }
}
