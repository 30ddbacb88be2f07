/* console.h: the bring-up console: one text command per line, one response line per command.
 *
 * Lines are ASCII, end with "\n" ("\r" is ignored), at most DC_CONSOLE_LINE_MAX bytes.
 * Each command answers exactly one line ending in "\r\n"; errors start with "error: ".
 * The command table lives in console.c. main.c feeds the UART to the SMP server, which
 * passes non-SMP bytes on as text; main.c's router sends text ending in '\n' here and text
 * ending in '%' to the MLPerf Tiny protocol.
 */
#ifndef DC_CONSOLE_H
#define DC_CONSOLE_H

#include <stddef.h>

#define DC_CONSOLE_LINE_MAX 256u

/* Run the command in `line` (`len` bytes, no line terminator, need not be NUL-terminated).
 * Writes its response line to the UART. Commands `exit`, `fault` and `reset` do not return. */
void dc_console_dispatch(const char *line, size_t len);

/* 1 when the line so far starts with a console command word other than `help` (its '%'
 * characters are then text, e.g. `echo 100%`), else 0 (a '%' ends an MLPerf command). */
int dc_console_owns(const char *line, size_t len);

/* Write a NUL-terminated string to the UART (no terminator added). */
void dc_console_write(const char *text);

/* Write `text` followed by "\r\n". */
void dc_console_line(const char *text);

/* Write "PREFIX slot=N version=M.m.r size=.. hash=<8 bytes hex> active=A confirmed=C
 * pending=P trial=T" for physical model slot `slot` ("PREFIX slot=N empty" without a
 * verified model). */
void dc_console_slot_line(const char *prefix, int slot);

#endif /* DC_CONSOLE_H */
