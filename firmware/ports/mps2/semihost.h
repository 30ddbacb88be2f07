/* semihost.h: Arm semihosting calls (BKPT 0xAB) used by the mps2 port: exit codes and host files.
 *
 * QEMU serves them when started with -semihosting-config enable=on,target=native; without
 * it, BKPT faults (the HardFault handler then locks up and QEMU aborts with status 134).
 * Paths are relative to QEMU's working directory. Buffers are owned by the caller.
 */
#ifndef DC_SEMIHOST_H
#define DC_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

/* Open modes of SYS_OPEN (ISO C fopen equivalents). */
#define DC_SH_MODE_RB 1      /* "rb" */
#define DC_SH_MODE_RPLUSB 3  /* "r+b" */
#define DC_SH_MODE_WPLUSB 7  /* "w+b" */

/* SYS_EXIT_EXTENDED: end the emulator with status `code`. Does not return. */
__attribute__((noreturn)) void dc_sh_exit(int code);

/* The command line given by -semihosting-config arg=...; writes a NUL-terminated string
 * into buf (cap bytes). Returns 0, or -1 when none is available. */
int dc_sh_cmdline(char *buf, size_t cap);

/* File calls: handle >= 0 or -1; read/write return 0 when all bytes moved, else -1. */
int dc_sh_open(const char *path, int mode);
int dc_sh_close(int handle);
int dc_sh_seek(int handle, uint32_t position);
long dc_sh_flen(int handle);
int dc_sh_read(int handle, void *buf, size_t len);
int dc_sh_write(int handle, const void *buf, size_t len);
int dc_sh_rename(const char *from, const char *to);

#endif /* DC_SEMIHOST_H */
