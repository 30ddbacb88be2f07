/* console.h: the bring-up console: one text command per line, one response line per command.
 *
 * Lines are ASCII, end with "\n" ("\r" is ignored), at most DC_CONSOLE_LINE_MAX bytes.
 * Each command answers exactly one line ending in "\r\n"; errors start with "error: ".
 * The command table lives in console.c; main.c assembles lines from the UART. The SMP
 * server and the MLPerf Tiny protocol will sit beside this dispatcher: main.c tells the
 * protocols apart by the first bytes of a frame.
 */
#ifndef DC_CONSOLE_H
#define DC_CONSOLE_H

#include <stddef.h>

#define DC_CONSOLE_LINE_MAX 256u

/* Run the command in `line` (`len` bytes, no line terminator, need not be NUL-terminated).
 * Writes its response line to the UART. Commands `exit`, `fault` and `reset` do not return. */
void dc_console_dispatch(const char *line, size_t len);

/* Write a NUL-terminated string to the UART (no terminator added). */
void dc_console_write(const char *text);

/* Write `text` followed by "\r\n". */
void dc_console_line(const char *text);

#endif /* DC_CONSOLE_H */
