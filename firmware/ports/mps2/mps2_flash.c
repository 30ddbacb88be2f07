/* mps2_flash.c: the mps2 port's flash: a RAM region with NOR rules, optionally kept in a host file.
 *
 * The region (dc_mps2_flash_start .. dc_mps2_flash_end, from the linker script) lies in the
 * machine's code memory, which QEMU models as RAM. Persistence: when QEMU's semihosting
 * command line holds a word "flash=NAME" (the board driver passes it, with QEMU's working
 * directory set to the state directory), NAME is read into the region at boot (created
 * erased on first use, atomically through NAME.tmp) and every erase/write is written
 * through to it at once, so the file survives any way QEMU ends. Without that word the
 * region is erased at every boot.
 */
#include <stdint.h>
#include <string.h>

#include "dc_port_nor.h"
#include "dc_port.h"
#include "mps2.h"
#include "semihost.h"

#define FLASH_ERASE_SIZE 4096u
#define FLASH_WRITE_SIZE 8u
#define CMDLINE_MAX 256u
#define NAME_MAX_LEN 128u

extern uint8_t dc_mps2_flash_start[];
extern uint8_t dc_mps2_flash_end[];

static dc_port_nor_t g_flash;
static int g_handle = -1;

/* Copy the value of the word "flash=NAME" of the semihosting command line into name. */
static int find_state_name(char *name, size_t cap)
{
    char cmdline[CMDLINE_MAX];
    if (dc_sh_cmdline(cmdline, sizeof cmdline) != 0) {
        return -1;
    }
    static const char key[] = "flash=";
    for (const char *p = cmdline; *p != '\0'; p++) {
        if ((p == cmdline || p[-1] == ' ') && strncmp(p, key, sizeof key - 1) == 0) {
            p += sizeof key - 1;
            size_t n = 0;
            while (p[n] != '\0' && p[n] != ' ' && n + 1 < cap) {
                name[n] = p[n];
                n++;
            }
            name[n] = '\0';
            return n > 0 ? 0 : -1;
        }
    }
    return -1;
}

static int fail(const char *what, const char *name)
{
    dc_mps2_uart_puts("flash: ");
    dc_mps2_uart_puts(what);
    dc_mps2_uart_puts(" ");
    dc_mps2_uart_puts(name);
    dc_mps2_uart_puts("\r\n");
    return -1;
}

/* Write an erased image to NAME.tmp, then rename it to NAME. */
static int create_erased(const char *name)
{
    char tmp[NAME_MAX_LEN + 8];
    size_t n = strlen(name);
    memcpy(tmp, name, n);
    memcpy(tmp + n, ".tmp", 5);
    int handle = dc_sh_open(tmp, DC_SH_MODE_WPLUSB);
    if (handle < 0) {
        return fail("cannot create", tmp);
    }
    dc_port_nor_erase_all(&g_flash);
    int ok = dc_sh_write(handle, g_flash.mem, g_flash.geometry.size) == 0;
    ok = dc_sh_close(handle) == 0 && ok;
    if (!ok || dc_sh_rename(tmp, name) != 0) {
        return fail("cannot write", tmp);
    }
    return 0;
}

int dc_mps2_flash_init(void)
{
    g_flash.mem = dc_mps2_flash_start;
    g_flash.geometry.size = (uint32_t)(dc_mps2_flash_end - dc_mps2_flash_start);
    g_flash.geometry.erase_size = FLASH_ERASE_SIZE;
    g_flash.geometry.write_size = FLASH_WRITE_SIZE;
    g_flash.geometry.erased_value = 0xFF;
    g_handle = -1;

    char name[NAME_MAX_LEN];
    if (find_state_name(name, sizeof name) != 0) {
        dc_port_nor_erase_all(&g_flash);
        return 0;
    }
    int handle = dc_sh_open(name, DC_SH_MODE_RPLUSB);
    if (handle < 0) {
        if (create_erased(name) != 0) {
            return -1;
        }
        handle = dc_sh_open(name, DC_SH_MODE_RPLUSB);
        if (handle < 0) {
            return fail("cannot open", name);
        }
    } else {
        if (dc_sh_flen(handle) != (long)g_flash.geometry.size) {
            (void)dc_sh_close(handle);
            return fail("wrong size:", name);
        }
        if (dc_sh_read(handle, g_flash.mem, g_flash.geometry.size) != 0) {
            (void)dc_sh_close(handle);
            return fail("cannot read", name);
        }
    }
    g_handle = handle;
    return 0;
}

void dc_mps2_flash_close(void)
{
    if (g_handle >= 0) {
        (void)dc_sh_close(g_handle);
        g_handle = -1;
    }
}

/* Write [offset, offset+len) of the region through to the backing file, if any. */
static dc_status_t write_through(uint32_t offset, size_t len)
{
    if (g_handle < 0 || len == 0) {
        return DC_OK;
    }
    if (dc_sh_seek(g_handle, offset) != 0 || dc_sh_write(g_handle, g_flash.mem + offset, len) != 0) {
        return DC_ERR_FLASH;
    }
    return DC_OK;
}

const dc_flash_geometry_t *dc_port_flash_geometry(void)
{
    return &g_flash.geometry;
}

dc_status_t dc_port_flash_read(uint32_t offset, void *dst, size_t len)
{
    return dc_port_nor_read(&g_flash, offset, dst, len);
}

dc_status_t dc_port_flash_erase(uint32_t offset, size_t len)
{
    dc_status_t status = dc_port_nor_erase(&g_flash, offset, len);
    return status == DC_OK ? write_through(offset, len) : status;
}

dc_status_t dc_port_flash_write(uint32_t offset, const void *src, size_t len)
{
    dc_status_t status = dc_port_nor_write(&g_flash, offset, src, len);
    return status == DC_OK ? write_through(offset, len) : status;
}

const uint8_t *dc_port_flash_map(void)
{
    return g_flash.mem;
}
