/* main.c: the firmware's application entry: greet, then read UART lines and dispatch them. */
#include <stdint.h>

#include "console.h"
#include "dc_port.h"
#include "dc_version.h"
#include "fleet_app.h"

int dc_app_main(void)
{
    const dc_port_info_t *info = dc_port_info();
    dc_fleet_app_boot();
    dc_console_write(DC_FW_NAME " " DC_FW_VERSION " board=");
    dc_console_write(info->name);
    dc_console_line(" ready");

    char line[DC_CONSOLE_LINE_MAX];
    size_t used = 0;
    int overflow = 0;
    uint8_t chunk[64];
    for (;;) {
        int got = dc_port_uart_read(chunk, sizeof chunk, dc_fleet_app_poll());
        if (got < 0) {
            return 1;
        }
        for (int i = 0; i < got; i++) {
            char c = (char)chunk[i];
            if (c == '\r') {
                continue;
            }
            if (c != '\n') {
                if (used < sizeof line) {
                    line[used++] = c;
                } else {
                    overflow = 1;
                }
                continue;
            }
            if (overflow) {
                dc_console_line("error: line too long");
            } else if (used > 0) {
                dc_console_dispatch(line, used);
            }
            used = 0;
            overflow = 0;
        }
    }
}
