/* semihost.c: Arm semihosting calls (BKPT 0xAB): exit codes, command line and host files. */
#include "semihost.h"

#include <string.h>

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_SEEK 0x0A
#define SYS_FLEN 0x0C
#define SYS_RENAME 0x0F
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int32_t call(uint32_t op, const void *args)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = args;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

void dc_sh_exit(int code)
{
    const uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    for (;;) {
        (void)call(SYS_EXIT_EXTENDED, args);
    }
}

int dc_sh_cmdline(char *buf, size_t cap)
{
    if (cap == 0) {
        return -1;
    }
    uint32_t args[2] = {(uint32_t)(uintptr_t)buf, (uint32_t)cap};
    if (call(SYS_GET_CMDLINE, args) != 0) {
        buf[0] = '\0';
        return -1;
    }
    buf[cap - 1] = '\0';
    return 0;
}

int dc_sh_open(const char *path, int mode)
{
    const uint32_t args[3] = {(uint32_t)(uintptr_t)path, (uint32_t)mode, (uint32_t)strlen(path)};
    return call(SYS_OPEN, args);
}

int dc_sh_close(int handle)
{
    const uint32_t args[1] = {(uint32_t)handle};
    return call(SYS_CLOSE, args) == 0 ? 0 : -1;
}

int dc_sh_seek(int handle, uint32_t position)
{
    const uint32_t args[2] = {(uint32_t)handle, position};
    return call(SYS_SEEK, args) == 0 ? 0 : -1;
}

long dc_sh_flen(int handle)
{
    const uint32_t args[1] = {(uint32_t)handle};
    return (long)call(SYS_FLEN, args);
}

int dc_sh_read(int handle, void *buf, size_t len)
{
    const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)len};
    return call(SYS_READ, args) == 0 ? 0 : -1;
}

int dc_sh_write(int handle, const void *buf, size_t len)
{
    const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)len};
    return call(SYS_WRITE, args) == 0 ? 0 : -1;
}

int dc_sh_rename(const char *from, const char *to)
{
    const uint32_t args[4] = {(uint32_t)(uintptr_t)from, (uint32_t)strlen(from),
                              (uint32_t)(uintptr_t)to, (uint32_t)strlen(to)};
    return call(SYS_RENAME, args) == 0 ? 0 : -1;
}
