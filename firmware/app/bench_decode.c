/* bench_decode.c: the `bench decode` console command (see bench_decode.h). */
#include "bench_decode.h"

#include <stdint.h>

#include "console.h"
#include "dc_levels.h"
#include "dc_port.h"
#include "dc_status.h"

static dc_levels_dec_t g_dec;
static dc_levels_col_t g_cols[DC_BENCH_MAX_STRIDE];
static int32_t g_out[DC_BENCH_SLICE];

/* Next space-separated decimal or 0x-hex uint32 from *pos (before end); 0 on success. */
static int parse_u32(const char **pos, const char *end, uint32_t *value)
{
    const char *p = *pos;
    while (p < end && *p == ' ') {
        p++;
    }
    uint32_t base = 10u;
    if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16u;
        p += 2;
    }
    uint64_t acc = 0;
    const char *start = p;
    while (p < end && *p != ' ') {
        char c = *p++;
        uint32_t d;
        if (c >= '0' && c <= '9') {
            d = (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (uint32_t)(c - 'A' + 10);
        } else {
            return -1;
        }
        if (d >= base) {
            return -1;
        }
        acc = acc * base + d;
        if (acc > 0xFFFFFFFFu) {
            return -1;
        }
    }
    if (p == start) {
        return -1;
    }
    *pos = p;
    *value = (uint32_t)acc;
    return 0;
}

static void write_u32(uint32_t value, int hex)
{
    char text[12];
    size_t n = 0;
    if (hex) {
        text[n++] = '0';
        text[n++] = 'x';
        for (int i = 0; i < 8; i++) {
            text[n++] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xFu];
        }
    } else {
        char digits[10];
        size_t d = 0;
        do {
            digits[d++] = (char)('0' + (int)(value % 10u));
            value /= 10u;
        } while (value != 0u);
        while (d > 0u) {
            text[n++] = digits[--d];
        }
    }
    text[n] = '\0';
    dc_console_write(text);
}

/* sum of (uint32)level[i] * (2i + 1) over the global index i, mod 2^32 */
static uint32_t checksum(uint32_t sum, const int32_t *levels, uint32_t first, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        sum += (uint32_t)levels[i] * (2u * (first + i) + 1u);
    }
    return sum;
}

static void bench_decode(const char *pos, const char *end)
{
    uint32_t offset, len, count;
    if (parse_u32(&pos, end, &offset) != 0 || parse_u32(&pos, end, &len) != 0 ||
        parse_u32(&pos, end, &count) != 0) {
        dc_console_line("error: usage: bench decode OFFSET LEN COUNT");
        return;
    }
    const dc_flash_geometry_t *geo = dc_port_flash_geometry();
    if (offset > geo->size || len > geo->size - offset) {
        dc_console_line("error: payload outside flash");
        return;
    }
    const uint8_t *payload = dc_port_flash_map() + offset;
    dc_port_profile_mark(DC_BENCH_DECODE_REGION);
    dc_status_t st = dc_levels_dec_init(&g_dec, payload, len, count, g_cols, DC_BENCH_MAX_STRIDE);
    dc_port_profile_mark(0);
    uint32_t hash = 0u;
    uint32_t done = 0;
    while (st == DC_OK && done < count) {
        uint32_t n = count - done < DC_BENCH_SLICE ? count - done : DC_BENCH_SLICE;
        dc_port_profile_mark(DC_BENCH_DECODE_REGION);
        st = dc_levels_read(&g_dec, g_out, n, NULL);
        dc_port_profile_mark(0);
        hash = checksum(hash, g_out, done, n);
        done += n;
    }
    if (st != DC_OK) {
        dc_console_write("error: ");
        dc_console_line(dc_status_name(st));
        return;
    }
    dc_console_write("bench decode n=");
    write_u32(count, 0);
    dc_console_write(" status=DC_OK hash=");
    write_u32(hash, 1);
    dc_console_line("");
}

void dc_bench_command(const char *args, size_t len)
{
    const char *pos = args;
    const char *end = args + len;
    while (pos < end && *pos == ' ') {
        pos++;
    }
    if (end - pos >= 6 && pos[0] == 'd' && pos[1] == 'e' && pos[2] == 'c' && pos[3] == 'o' && pos[4] == 'd' &&
        pos[5] == 'e' && (end - pos == 6 || pos[6] == ' ')) {
        bench_decode(pos + 6, end);
        return;
    }
    dc_console_line("error: usage: bench decode OFFSET LEN COUNT");
}
