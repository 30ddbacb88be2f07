/* native_flash.c: the native board's flash, a file mapped into memory (or anonymous memory). */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_port_nor.h"
#include "dc_port.h"
#include "native.h"

static dc_port_nor_t g_flash = {
    .mem = NULL,
    .geometry = {
        .size = DC_NATIVE_FLASH_SIZE,
        .erase_size = DC_NATIVE_FLASH_ERASE,
        .write_size = DC_NATIVE_FLASH_WRITE,
        .erased_value = 0xFF,
    },
};

/* Fault injection for power-cut tests (docs/boards.md): with DC_NATIVE_POWER_CUT=N in the
 * environment at start, the N-th flash erase or write of this process is torn (the first half
 * of its program units / bytes done, the rest untouched) and the process then kills itself
 * with SIGKILL, as a power cut would stop it. The variable is removed at start, so the
 * firmware after a reset or restart runs normally. */
#define POWER_CUT_ENV "DC_NATIVE_POWER_CUT"
static long g_cut_at = -1; /* flash operation that is torn, -1: none */
static long g_ops;         /* flash erase/write operations so far */

static void arm_power_cut(void)
{
    const char *text = getenv(POWER_CUT_ENV);
    if (text != NULL) {
        char *end;
        long n = strtol(text, &end, 10);
        if (end != text && *end == '\0' && n > 0) {
            g_cut_at = n;
        }
        unsetenv(POWER_CUT_ENV);
    }
}

/* Counts one operation; at the armed one, does the torn half of it and dies. */
static void maybe_cut(int is_write, uint32_t offset, const void *src, size_t len)
{
    if (g_cut_at < 0 || ++g_ops != g_cut_at) {
        return;
    }
    size_t half = len / 2u;
    if (is_write) {
        half -= half % g_flash.geometry.write_size;
        if (dc_port_nor_check_range(&g_flash, offset, len) == DC_OK && src != NULL) {
            memcpy(g_flash.mem + offset, src, half);
        }
    } else if (dc_port_nor_check_range(&g_flash, offset, len) == DC_OK) {
        memset(g_flash.mem + offset, 0xFF, half);
    }
    fprintf(stderr, "native: power cut at flash %s #%ld (offset %u, %zu of %zu bytes done)\n",
            is_write ? "write" : "erase", g_ops, offset, half, len);
    fflush(stderr);
    raise(SIGKILL);
}

/* Create `path` erased, atomically: write a temporary file, fsync it, rename it into place. */
static int create_erased(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        return -1;
    }
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return -1;
    }
    uint8_t page[DC_NATIVE_FLASH_ERASE];
    memset(page, 0xFF, sizeof page);
    for (uint32_t off = 0; off < DC_NATIVE_FLASH_SIZE; off += sizeof page) {
        if (write(fd, page, sizeof page) != (ssize_t)sizeof page) {
            close(fd);
            return -1;
        }
    }
    int ok = fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        return -1;
    }
    return 0;
}

static int map_file(const char *state_dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", state_dir, DC_NATIVE_FLASH_FILE) >= (int)sizeof path) {
        fprintf(stderr, "native: --state path too long\n");
        return -1;
    }
    if (mkdir(state_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "native: cannot create %s: %s\n", state_dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT || create_erased(path) != 0) {
            fprintf(stderr, "native: cannot create %s: %s\n", path, strerror(errno));
            return -1;
        }
        printf("flash: created %s (%u bytes, erased)\n", path, DC_NATIVE_FLASH_SIZE);
    } else if ((uint64_t)st.st_size != DC_NATIVE_FLASH_SIZE) {
        fprintf(stderr, "native: %s has %lld bytes, expected %u\n", path, (long long)st.st_size,
                DC_NATIVE_FLASH_SIZE);
        return -1;
    }
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        fprintf(stderr, "native: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    void *mem = mmap(NULL, DC_NATIVE_FLASH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (mem == MAP_FAILED) {
        fprintf(stderr, "native: cannot map %s: %s\n", path, strerror(errno));
        return -1;
    }
    g_flash.mem = mem;
    return 0;
}

int dc_native_flash_open(const char *state_dir)
{
    arm_power_cut();
    if (state_dir != NULL) {
        return map_file(state_dir);
    }
    void *mem = mmap(NULL, DC_NATIVE_FLASH_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        fprintf(stderr, "native: cannot allocate flash: %s\n", strerror(errno));
        return -1;
    }
    g_flash.mem = mem;
    dc_port_nor_erase_all(&g_flash);
    return 0;
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
    dc_native_critical_enter();
    maybe_cut(0, offset, NULL, len);
    dc_status_t status = dc_port_nor_erase(&g_flash, offset, len);
    dc_native_critical_exit();
    return status;
}

dc_status_t dc_port_flash_write(uint32_t offset, const void *src, size_t len)
{
    dc_native_critical_enter();
    maybe_cut(1, offset, src, len);
    dc_status_t status = dc_port_nor_write(&g_flash, offset, src, len);
    dc_native_critical_exit();
    return status;
}

const uint8_t *dc_port_flash_map(void)
{
    return g_flash.mem;
}
