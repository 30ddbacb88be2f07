/* test_coder_vectors.c: decode every golden vector of tests/vectors/coder with the firmware decoder.
 *
 * Host program, no Python: for each MANIFEST line `NAME COUNT STATUS HAS_BASE` it decodes
 * NAME.payload whole and in slices of 1, 7 and 64 levels, compares with NAME.levels exactly
 * (reporting the first mismatch) or checks that decoding fails with STATUS. It also checks
 * DC_ERR_BUFFER (column buffer too small) and DC_ERR_ARG (reading past the count).
 * Usage: test_coder_vectors DIR   (exit status 0 when every check passes)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_levels.h"
#include "dc_status.h"

#define MAX_FILE (1u << 20)

static int failures;

static size_t read_file(const char *dir, const char *name, const char *ext, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return (size_t)-1;
    }
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static int32_t load_i32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

static dc_levels_dec_t dec;
static dc_levels_col_t cols[DC_LEVELS_MAX_STRIDE];
static uint8_t payload[MAX_FILE], levels_raw[MAX_FILE], base_raw[MAX_FILE];
static int32_t expect[MAX_FILE / 4], base[MAX_FILE / 4], out[MAX_FILE / 4];

/* Decode in slices of `slice` (0: whole); returns the first error or DC_OK. */
static int decode(size_t len, uint32_t count, const int32_t *b, uint32_t slice)
{
    int st = dc_levels_dec_init(&dec, payload, len, count, cols, DC_LEVELS_MAX_STRIDE);
    uint32_t done = 0;
    while (st == DC_OK && done < count) {
        uint32_t n = count - done;
        if (slice && slice < n) {
            n = slice;
        }
        st = dc_levels_read(&dec, out + done, n, b ? b + done : NULL);
        done += n;
    }
    return st;
}

static void check(int ok, const char *name, const char *what)
{
    if (!ok) {
        printf("FAIL %s: %s\n", name, what);
        failures++;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    char path[512];
    snprintf(path, sizeof(path), "%s/MANIFEST", dir);
    FILE *mf = fopen(path, "r");
    if (mf == NULL) {
        printf("FAIL cannot open %s\n", path);
        return 1;
    }
    char name[128], status[64];
    unsigned long count_ul;
    int has_base, vectors = 0;
    static const uint32_t slices[] = {0u, 1u, 7u, 64u};
    while (fscanf(mf, "%127s %lu %63s %d", name, &count_ul, status, &has_base) == 4) {
        uint32_t count = (uint32_t)count_ul;
        vectors++;
        size_t len = read_file(dir, name, "payload", payload, sizeof(payload));
        check(len != (size_t)-1, name, "missing payload");
        const int32_t *b = NULL;
        if (has_base) {
            size_t bl = read_file(dir, name, "base", base_raw, sizeof(base_raw));
            check(bl == (size_t)count * 4u, name, "base size");
            for (uint32_t i = 0; i < count; i++) {
                base[i] = load_i32(base_raw + 4u * i);
            }
            b = base;
        }
        if (strcmp(status, "DC_OK") == 0) {
            size_t ll = read_file(dir, name, "levels", levels_raw, sizeof(levels_raw));
            check(ll == (size_t)count * 4u, name, "levels size");
            for (uint32_t i = 0; i < count; i++) {
                expect[i] = load_i32(levels_raw + 4u * i);
            }
            for (unsigned s = 0; s < sizeof(slices) / sizeof(slices[0]); s++) {
                memset(out, 0x55, (size_t)count * 4u);
                int st = decode(len, count, b, slices[s]);
                if (st != DC_OK) {
                    printf("FAIL %s (slice %u): %s\n", name, slices[s], dc_status_name(st));
                    failures++;
                    continue;
                }
                for (uint32_t i = 0; i < count; i++) {
                    if (out[i] != expect[i]) {
                        printf("FAIL %s (slice %u): first mismatch at %u: got %d want %d\n", name, slices[s], i,
                               (int)out[i], (int)expect[i]);
                        failures++;
                        break;
                    }
                }
            }
            check(dc_levels_read(&dec, out, 1, b) == DC_ERR_ARG || count == 0u, name, "read past count");
            dc_levels_params_t prm;
            size_t hl;
            if (dc_levels_payload_params(payload, len, &prm, &hl) == DC_OK && prm.col_stride > 0u) {
                check(dc_levels_dec_init(&dec, payload, len, count, cols, prm.col_stride - 1u) == DC_ERR_BUFFER,
                      name, "small column buffer accepted");
            }
        } else {
            for (unsigned s = 0; s < sizeof(slices) / sizeof(slices[0]); s++) {
                int st = decode(len, count, b, slices[s]);
                if (strcmp(dc_status_name(st), status) != 0) {
                    printf("FAIL %s (slice %u): got %s want %s\n", name, slices[s], dc_status_name(st), status);
                    failures++;
                }
            }
        }
    }
    fclose(mf);
    check(vectors > 0, "MANIFEST", "no vectors");
    printf("%s: %d vectors, %d failures\n", failures ? "FAIL" : "ok", vectors, failures);
    return failures ? 1 : 0;
}
