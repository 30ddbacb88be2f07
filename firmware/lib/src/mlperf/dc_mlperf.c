/* dc_mlperf.c: the MLPerf Tiny device-under-test text protocol (name, profile, timestamp, db, infer, results). */
#include "dc_mlperf.h"

#include <string.h>

#include "dc_status.h"

/* ---- output helpers (no printf on the targets) ---- */

static void put(const dc_mlperf_t *p, const char *text)
{
    p->cb.write(p->cb.ctx, text, strlen(text));
}

static void put_n(const dc_mlperf_t *p, const char *text, size_t n)
{
    p->cb.write(p->cb.ctx, text, n);
}

static void put_u64(const dc_mlperf_t *p, uint64_t value)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    put_n(p, digits + sizeof digits - n, n);
}

static void put_line(const dc_mlperf_t *p, const char *text)
{
    put(p, text);
    put(p, "\r\n");
}

static void put_error(const dc_mlperf_t *p, const char *text)
{
    put(p, "e-[");
    put(p, text);
    put_line(p, "]");
}

static void put_hex_byte(const dc_mlperf_t *p, uint8_t b)
{
    char text[2] = {"0123456789abcdef"[b >> 4], "0123456789abcdef"[b & 0xFu]};
    put_n(p, text, 2);
}

static void put_timestamp(const dc_mlperf_t *p)
{
    put(p, "m-lap-us-");
    put_u64(p, p->cb.micros(p->cb.ctx));
    put(p, "\r\n");
}

/* A real value with three decimals, rounded half away from zero ("-0.125", "3.000"). */
static void put_fixed3(const dc_mlperf_t *p, float value)
{
    float scaled = value * 1000.0f;
    int negative = scaled < 0.0f;
    uint64_t milli;
    char frac[3];
    if (negative) {
        scaled = -scaled;
    }
    if (!(scaled < 1.8e19f)) { /* also NaN */
        put(p, negative ? "-inf" : "inf");
        return;
    }
    milli = (uint64_t)(scaled + 0.5f);
    if (negative && milli != 0u) {
        put(p, "-");
    }
    put_u64(p, milli / 1000u);
    frac[0] = (char)('0' + (int)(milli / 100u % 10u));
    frac[1] = (char)('0' + (int)(milli / 10u % 10u));
    frac[2] = (char)('0' + (int)(milli % 10u));
    put(p, ".");
    put_n(p, frac, 3);
}

/* ---- argument parsing ---- */

typedef struct {
    const char *pos, *end;
} words_t;

static size_t next_word(words_t *w, const char **word)
{
    while (w->pos < w->end && *w->pos == ' ') {
        w->pos++;
    }
    *word = w->pos;
    while (w->pos < w->end && *w->pos != ' ') {
        w->pos++;
    }
    return (size_t)(w->pos - *word);
}

static int is_word(const char *word, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(word, name, len) == 0;
}

/* A decimal number of at most 9 digits (values < 10^9). 0 on success, -1 otherwise. */
static int parse_decimal(const char *word, size_t len, uint32_t *value)
{
    uint32_t v = 0;
    if (len == 0u || len > 9u) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (word[i] < '0' || word[i] > '9') {
            return -1;
        }
        v = v * 10u + (uint32_t)(word[i] - '0');
    }
    *value = v;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* ---- commands ---- */

static void cmd_name(dc_mlperf_t *p)
{
    put_line(p, "m-name-dut-[" DC_MLPERF_DEVICE_NAME "]");
}

static void cmd_profile(dc_mlperf_t *p)
{
    const char *model = p->cb.model_name != NULL ? p->cb.model_name(p->cb.ctx) : NULL;
    put_line(p, "m-profile-[" DC_MLPERF_FW_VERSION "]");
    put(p, "m-model-[");
    put(p, model != NULL && model[0] != '\0' ? model : "none");
    put_line(p, "]");
}

static void cmd_help(dc_mlperf_t *p)
{
    put_line(p, DC_MLPERF_FW_VERSION);
    put_line(p, "");
    put_line(p, "help         : Print this information");
    put_line(p, "name         : Print the name of the device");
    put_line(p, "timestamp    : Generate a timestamp");
    put_line(p, "profile      : Print the firmware and model versions");
    put_line(p, "db SUBCMD    : Manipulate a generic byte buffer");
    put_line(p, "  load N     : Allocate N bytes and set load counter");
    put_line(p, "  db HH[HH]* : Load 8-bit hex byte(s) until N bytes");
    put_line(p, "  print [N] [offset=0]");
    put_line(p, "             : Print N bytes at offset as hex");
    put_line(p, "infer N [W=10]: Load input, execute N inferences after W warmup loops");
    put_line(p, "results      : Return the result fp32 vector");
}

static void db_load(dc_mlperf_t *p, words_t *w)
{
    const char *word;
    size_t len = next_word(w, &word);
    uint32_t n;
    if (len == 0u) {
        put_error(p, "Command 'db load' requires the # of bytes");
        return;
    }
    if (parse_decimal(word, len, &n) != 0 || n == 0u) {
        put_error(p, "Command 'db load' must be >0 bytes");
        return;
    }
    if (n > p->cap) {
        put(p, "e-[Supplied buffer size ");
        put_u64(p, n);
        put(p, " exceeds maximum of ");
        put_u64(p, p->cap);
        put_line(p, "]");
        return;
    }
    p->size = n;
    p->pos = 0;
    put(p, "m-[Expecting ");
    put_u64(p, n);
    put_line(p, " bytes]");
}

static void db_print(dc_mlperf_t *p, words_t *w)
{
    const char *word;
    size_t len;
    uint32_t count = (uint32_t)p->size, offset = 0;
    if ((len = next_word(w, &word)) != 0u && parse_decimal(word, len, &count) != 0) {
        put_error(p, "Usage: db print [N] [offset]");
        return;
    }
    if ((len = next_word(w, &word)) != 0u && parse_decimal(word, len, &offset) != 0) {
        put_error(p, "Usage: db print [N] [offset]");
        return;
    }
    if (offset > p->size) {
        offset = (uint32_t)p->size;
    }
    if (count > p->size - offset) {
        count = (uint32_t)(p->size - offset);
    }
    for (uint32_t i = 0; i < count; i++) {
        if (i % 8u == 0u) {
            put(p, "m-buffer-");
        }
        put_hex_byte(p, p->buf[offset + i]);
        put(p, (i + 1u) % 8u == 0u || i + 1u == count ? "\r\n" : "-");
    }
}

static void db_data(dc_mlperf_t *p, const char *hex, size_t len)
{
    if (len % 2u != 0u) {
        put_error(p, "Insufficient number of hex digits");
        return;
    }
    if (p->size == 0u) {
        put_error(p, "Command 'db load' must come first");
        return;
    }
    for (size_t i = 0; i < len; i += 2u) {
        int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1u]);
        if (hi < 0 || lo < 0) {
            put(p, "e-[Invalid hex digit '");
            put_n(p, hex + i, 2);
            put_line(p, "']");
            return;
        }
        if (p->pos < p->size) {
            p->buf[p->pos++] = (uint8_t)(hi << 4 | lo);
            if (p->pos == p->size) {
                put_line(p, "m-load-done");
                return; /* digits past the announced size are ignored, as upstream */
            }
        }
    }
}

static void cmd_db(dc_mlperf_t *p, words_t *w)
{
    const char *word;
    size_t len = next_word(w, &word);
    if (len == 0u) {
        put_error(p, "Command 'db' requires a subcommand");
    } else if (is_word(word, len, "load")) {
        db_load(p, w);
    } else if (is_word(word, len, "print")) {
        db_print(p, w);
    } else {
        db_data(p, word, len);
    }
}

static void put_status_error(dc_mlperf_t *p, const char *what, int status)
{
    put(p, "e-[");
    put(p, what);
    put(p, ": ");
    put(p, dc_status_name(status));
    put_line(p, "]");
}

static void cmd_results(dc_mlperf_t *p)
{
    dc_mlperf_output_t out;
    int status;
    if (!p->has_results || p->cb.output == NULL) {
        put_error(p, "No results: run infer first");
        return;
    }
    memset(&out, 0, sizeof out);
    status = p->cb.output(p->cb.ctx, &out);
    if (status != DC_OK) {
        put_status_error(p, "No results", status);
        return;
    }
    put(p, "m-results-[");
    for (size_t i = 0; i < out.count; i++) {
        put_fixed3(p, (float)((int32_t)out.data[i] - out.zero_point) * out.scale);
        if (i + 1u < out.count) {
            put(p, ",");
        }
    }
    put_line(p, "]");
}

static void cmd_infer(dc_mlperf_t *p, words_t *w)
{
    const char *word;
    size_t len;
    uint32_t n = 1, warmup = DC_MLPERF_DEFAULT_WARMUP;
    int status;
    if ((len = next_word(w, &word)) != 0u) {
        if (parse_decimal(word, len, &n) != 0 || n == 0u) {
            put_error(p, "Inference iterations must be >0");
            return;
        }
        if ((len = next_word(w, &word)) != 0u && parse_decimal(word, len, &warmup) != 0) {
            put_error(p, "Inference warmup must be >=0");
            return;
        }
    }
    if (p->cb.load_input == NULL || p->cb.invoke == NULL) {
        put_status_error(p, "Inference failed", DC_ERR_UNSUPPORTED);
        return;
    }
    p->has_results = 0;
    status = p->cb.load_input(p->cb.ctx, p->buf, p->pos);
    if (status != DC_OK) {
        put_status_error(p, "Inference failed", status);
        return;
    }
    put(p, "m-warmup-start-");
    put_u64(p, warmup);
    put(p, "\r\n");
    for (uint32_t i = 0; i < warmup && status == DC_OK; i++) {
        status = p->cb.invoke(p->cb.ctx);
    }
    put_line(p, "m-warmup-done");
    if (status != DC_OK) {
        put_status_error(p, "Inference failed", status);
        return;
    }
    put(p, "m-infer-start-");
    put_u64(p, n);
    put(p, "\r\n");
    put_timestamp(p);
    for (uint32_t i = 0; i < n && status == DC_OK; i++) {
        status = p->cb.invoke(p->cb.ctx);
    }
    put_timestamp(p);
    put_line(p, "m-infer-done");
    if (status != DC_OK) {
        put_status_error(p, "Inference failed", status);
        return;
    }
    p->has_results = 1;
    cmd_results(p);
}

int dc_mlperf_init(dc_mlperf_t *p, uint8_t *buf, size_t cap, const dc_mlperf_callbacks_t *cb)
{
    if (p == NULL || buf == NULL || cap == 0u || cb == NULL || cb->write == NULL || cb->micros == NULL) {
        return -1;
    }
    memset(p, 0, sizeof *p);
    p->cb = *cb;
    p->buf = buf;
    p->cap = cap;
    return 0;
}

void dc_mlperf_command(dc_mlperf_t *p, const char *cmd, size_t len)
{
    words_t w;
    const char *word;
    size_t word_len;
    if (p == NULL || (cmd == NULL && len != 0u)) {
        return;
    }
    if (len > DC_MLPERF_CMD_MAX) {
        dc_mlperf_reject(p, "Command too long");
        return;
    }
    w.pos = cmd;
    w.end = cmd + len;
    word_len = next_word(&w, &word);
    if (word_len == 0u) {
        /* empty command: only the prompt */
    } else if (is_word(word, word_len, "name")) {
        cmd_name(p);
    } else if (is_word(word, word_len, "timestamp")) {
        put_timestamp(p);
    } else if (is_word(word, word_len, "profile")) {
        cmd_profile(p);
    } else if (is_word(word, word_len, "help")) {
        cmd_help(p);
    } else if (is_word(word, word_len, "db")) {
        cmd_db(p, &w);
    } else if (is_word(word, word_len, "infer")) {
        cmd_infer(p, &w);
    } else if (is_word(word, word_len, "results")) {
        cmd_results(p);
    } else {
        put(p, "e-[Unknown command: ");
        put_n(p, word, word_len);
        put_line(p, "]");
    }
    put_line(p, "m-ready");
}

void dc_mlperf_reject(dc_mlperf_t *p, const char *why)
{
    if (p == NULL || why == NULL) {
        return;
    }
    put_error(p, why);
    put_line(p, "m-ready");
}
