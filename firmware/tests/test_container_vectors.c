/* test_container_vectors.c: checks the C container parser against every golden vector in tests/vectors/container.
 *
 * Usage: test_container_vectors DIR. For each DIR/NAME.dcb it reads DIR/NAME.expect (lines
 * `key value...`, written by tests/vectors/gen_container.py) and checks the status of
 * dc_container_open, the header, trailer and directory fields, the device tag status with the
 * given key, and the base status with the given base hash. Exits 0 when every vector passes
 * (and at least one was found), 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_container.h"
#include "dc_status.h"

#define MAX_FILE (1u << 20)

static uint8_t file_buf[MAX_FILE];
static int failures;

static void fail(const char *name, const char *what, const char *expected, const char *found)
{
    printf("FAIL %s: %s: expected %s, found %s\n", name, what, expected, found);
    failures++;
}

static void check_num(const char *name, const char *what, unsigned long expected, unsigned long found)
{
    if (expected != found) {
        char e[32], f[32];
        snprintf(e, sizeof e, "%lu", expected);
        snprintf(f, sizeof f, "%lu", found);
        fail(name, what, e, f);
    }
}

static size_t hex_decode(const char *hex, uint8_t *out, size_t capacity)
{
    size_t n = 0;
    while (hex[0] && hex[1] && n < capacity) {
        unsigned byte;
        if (sscanf(hex, "%2x", &byte) != 1) {
            break;
        }
        out[n++] = (uint8_t)byte;
        hex += 2;
    }
    return n;
}

static void to_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
    out[2 * n] = '\0';
}

static void check_vector(const char *dir, const char *name)
{
    char path[1024], line[512];
    snprintf(path, sizeof path, "%s/%s.dcb", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail(name, "open .dcb", "readable", "missing");
        return;
    }
    size_t len = fread(file_buf, 1, MAX_FILE, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.expect", dir, name);
    f = fopen(path, "r");
    if (f == NULL) {
        fail(name, "open .expect", "readable", "missing");
        return;
    }
    dc_container_t c;
    int status = dc_container_open(&c, file_buf, len);
    uint8_t key[64], base[32];
    size_t key_length = 0;
    int have_base = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char word[64], text[160];
        if (sscanf(line, "status %63s", word) == 1) {
            if (strcmp(word, dc_status_name(status)) != 0) {
                fail(name, "dc_container_open", word, dc_status_name(status));
            }
        } else if (sscanf(line, "device_key %159s", text) == 1) {
            key_length = hex_decode(text, key, sizeof key);
        } else if (sscanf(line, "tag_status %63s", word) == 1) {
            int tag = dc_container_verify_tag(&c, key, key_length);
            if (strcmp(word, dc_status_name(tag)) != 0) {
                fail(name, "dc_container_verify_tag", word, dc_status_name(tag));
            }
        } else if (sscanf(line, "base_sha256 %159s", text) == 1) {
            have_base = hex_decode(text, base, sizeof base) == sizeof base;
        } else if (sscanf(line, "base_status %63s", word) == 1) {
            int b = dc_container_check_base(&c, have_base ? base : NULL);
            if (strcmp(word, dc_status_name(b)) != 0) {
                fail(name, "dc_container_check_base", word, dc_status_name(b));
            }
        } else if (sscanf(line, "content_sha256 %159s", text) == 1) {
            char found[65] = "(none)";
            if (c.content_sha256 != NULL) {
                to_hex(c.content_sha256, 32, found);
            }
            if (strcmp(text, found) != 0) {
                fail(name, "content_sha256", text, found);
            }
        } else if (strncmp(line, "header ", 7) == 0) {
            unsigned long v[12];
            if (sscanf(line + 7, "%lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4],
                       &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]) != 12) {
                fail(name, "header line", "12 numbers", line);
                continue;
            }
            check_num(name, "version_major", v[0], c.version_major);
            check_num(name, "version_minor", v[1], c.version_minor);
            check_num(name, "flags", v[2], c.flags);
            check_num(name, "tensor_count", v[3], c.tensor_count);
            check_num(name, "metadata_offset", v[4], c.metadata_offset);
            check_num(name, "metadata_length", v[5], c.metadata_length);
            check_num(name, "payload_offset", v[6], c.payload_offset);
            check_num(name, "payload_length", v[7], c.payload_length);
            check_num(name, "trailer_offset", v[8], c.trailer_offset);
            check_num(name, "file_length", v[9], c.file_length);
            check_num(name, "signature_algorithm", v[10], c.signature_algorithm);
            check_num(name, "tag_algorithm", v[11], c.tag_algorithm);
        } else if (strncmp(line, "tensor ", 7) == 0) {
            unsigned long v[7];
            dc_tensor_entry_t e;
            if (sscanf(line + 7, "%lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7) {
                fail(name, "tensor line", "7 numbers", line);
                continue;
            }
            int s = dc_container_tensor(&c, (uint32_t)v[0], &e);
            if (s != DC_OK) {
                fail(name, "dc_container_tensor", "DC_OK", dc_status_name(s));
                continue;
            }
            check_num(name, "payload_offset", v[1], e.payload_offset);
            check_num(name, "payload_length", v[2], e.payload_length);
            check_num(name, "level_count", v[3], e.level_count);
            check_num(name, "codec", v[4], e.codec);
            check_num(name, "level_dtype", v[5], e.level_dtype);
            check_num(name, "tensor_flags", v[6], e.tensor_flags);
            check_num(name, "payload pointer", (unsigned long)(file_buf + e.payload_offset), (unsigned long)e.payload);
            dc_tensor_info_t info;
            s = dc_container_tensor_info(&c, (uint32_t)v[0], &info);
            if (s != DC_OK) {
                fail(name, "dc_container_tensor_info", "DC_OK", dc_status_name(s));
                continue;
            }
            unsigned long count = 1;
            for (uint32_t i = 0; i < info.rank; i++) {
                count *= info.shape[i];
            }
            check_num(name, "tensor_info element count", v[3], count);
            check_num(name, "tensor_info level_dtype", v[5], info.level_dtype);
        }
    }
    fclose(f);
    if (failures == 0) {
        printf("ok   %s (%s)\n", name, dc_status_name(status));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    DIR *dir = opendir(argv[1]);
    if (dir == NULL) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 2;
    }
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n > 4 && strcmp(entry->d_name + n - 4, ".dcb") == 0) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(n - 4), entry->d_name);
            check_vector(argv[1], name);
            count++;
        }
    }
    closedir(dir);
    printf("%d vectors, %d failures\n", count, failures);
    return (count > 0 && failures == 0) ? 0 : 1;
}
