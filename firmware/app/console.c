/* console.c: the bring-up console's commands (version, info, echo, work, flash, slots, provision, model, fleet, kcheck, fault, reset, exit). */
#include "console.h"

#include <stdint.h>
#include <string.h>

#include "app.h"
#include "dc_port.h"
#include "dc_status.h"
#include "dc_version.h"
#include "bench_decode.h"
#include "fleet_app.h"
#include "kernel_check.h"
#include "runtime_adapter.h"

#define UART_TIMEOUT_MS 1000u
#define FLASH_CHUNK 64u /* bytes per `flash read` / `flash write` line */

/* Profiling region of the `work` command (see docs/boards.md). */
#define WORK_REGION 1u

void dc_console_write(const char *text)
{
    (void)dc_port_uart_write((const uint8_t *)text, strlen(text), UART_TIMEOUT_MS);
}

void dc_console_line(const char *text)
{
    dc_console_write(text);
    dc_console_write("\r\n");
}

/* ---- small text helpers (no libc printf on the targets) ---- */

/* Writes `value` in decimal into out (>= 21 bytes), NUL-terminated; returns the length. */
static size_t format_u64(char *out, uint64_t value)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = digits[n - 1 - i];
    }
    out[n] = '\0';
    return n;
}

static void write_u64(uint64_t value)
{
    char text[21];
    format_u64(text, value);
    dc_console_write(text);
}

static void write_hex32(uint32_t value)
{
    char text[11] = "0x";
    for (int i = 0; i < 8; i++) {
        text[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xFu];
    }
    text[10] = '\0';
    dc_console_write(text);
}

static void write_status_error(dc_status_t status)
{
    dc_console_write("error: ");
    dc_console_line(dc_status_name(status));
}

/* A cursor over the command line's arguments. */
typedef struct {
    const char *pos;
    const char *end;
} args_t;

/* Next space-separated word; returns its length (0 at the end). */
static size_t next_word(args_t *args, const char **word)
{
    while (args->pos < args->end && *args->pos == ' ') {
        args->pos++;
    }
    *word = args->pos;
    while (args->pos < args->end && *args->pos != ' ') {
        args->pos++;
    }
    return (size_t)(args->pos - *word);
}

static int hex_digit(char c)
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

/* Parse the next word as a decimal or 0x-hexadecimal uint32; returns 0 on success. */
static int next_u32(args_t *args, uint32_t *value)
{
    const char *word;
    size_t len = next_word(args, &word);
    if (len == 0) {
        return -1;
    }
    uint32_t base = 10;
    if (len > 2 && word[0] == '0' && (word[1] == 'x' || word[1] == 'X')) {
        base = 16;
        word += 2;
        len -= 2;
    }
    uint64_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        int digit = hex_digit(word[i]);
        if (digit < 0 || (uint32_t)digit >= base) {
            return -1;
        }
        acc = acc * base + (uint32_t)digit;
        if (acc > 0xFFFFFFFFu) {
            return -1;
        }
    }
    *value = (uint32_t)acc;
    return 0;
}

static int words_equal(const char *word, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(word, name, len) == 0;
}

/* ---- commands ---- */

static void cmd_version(args_t *args)
{
    (void)args;
    dc_console_write(DC_FW_NAME " " DC_FW_VERSION " board=");
    dc_console_line(dc_port_info()->name);
}

static void cmd_info(args_t *args)
{
    (void)args;
    const dc_port_info_t *info = dc_port_info();
    const dc_flash_geometry_t *geo = dc_port_flash_geometry();
    dc_console_write("board=");
    dc_console_write(info->name);
    dc_console_write(" cpu=");
    dc_console_write(info->cpu);
    dc_console_write(" ram=");
    write_u64(info->ram_size);
    dc_console_write(" flash=");
    write_u64(geo->size);
    dc_console_write(" erase=");
    write_u64(geo->erase_size);
    dc_console_write(" write=");
    write_u64(geo->write_size);
    dc_console_write(" counter=");
    dc_console_write(info->counter_unit);
    dc_console_write("@");
    write_u64(info->counter_hz);
    dc_console_line("");
}

static void cmd_echo(args_t *args)
{
    while (args->pos < args->end && *args->pos == ' ') {
        args->pos++;
    }
    (void)dc_port_uart_write((const uint8_t *)args->pos, (size_t)(args->end - args->pos),
                             UART_TIMEOUT_MS);
    dc_console_line("");
}

/* A fixed, input-independent workload (an int8 multiply-accumulate over a xorshift32
 * sequence), run inside profiling region WORK_REGION: its instruction count is the
 * determinism probe of the QEMU boards. */
static void cmd_work(args_t *args)
{
    uint32_t iterations;
    if (next_u32(args, &iterations) != 0) {
        dc_console_line("error: usage: work N");
        return;
    }
    uint64_t start = dc_port_counter();
    dc_port_profile_mark(WORK_REGION);
    uint32_t state = 0x12345678u;
    int32_t acc = 0;
    /* The barriers keep the loop between the two marks (it touches no memory). */
    __asm__ volatile("" : "+r"(state), "+r"(acc));
    for (uint32_t i = 0; i < iterations; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        acc += (int32_t)(int8_t)(state & 0xFFu) * (int32_t)(int8_t)((state >> 8) & 0xFFu);
    }
    __asm__ volatile("" : "+r"(state), "+r"(acc));
    dc_port_profile_mark(0);
    uint64_t elapsed = dc_port_counter() - start;
    dc_console_write("work n=");
    write_u64(iterations);
    dc_console_write(" result=");
    write_hex32((uint32_t)acc);
    dc_console_write(" counter=");
    write_u64(elapsed);
    dc_console_line("");
}

static void flash_read(args_t *args)
{
    uint32_t offset;
    uint32_t len;
    if (next_u32(args, &offset) != 0 || next_u32(args, &len) != 0 || len > FLASH_CHUNK) {
        dc_console_line("error: usage: flash read OFFSET LEN (LEN <= 64)");
        return;
    }
    uint8_t data[FLASH_CHUNK];
    dc_status_t status = dc_port_flash_read(offset, data, len);
    if (status != DC_OK) {
        write_status_error(status);
        return;
    }
    char text[2 * FLASH_CHUNK + 1];
    for (uint32_t i = 0; i < len; i++) {
        text[2 * i] = "0123456789abcdef"[data[i] >> 4];
        text[2 * i + 1] = "0123456789abcdef"[data[i] & 0xFu];
    }
    text[2 * len] = '\0';
    dc_console_line(text);
}

static void flash_write(args_t *args)
{
    uint32_t offset;
    const char *hex;
    size_t hex_len = 0;
    if (next_u32(args, &offset) == 0) {
        hex_len = next_word(args, &hex);
    }
    if (hex_len == 0 || hex_len % 2 != 0 || hex_len / 2 > FLASH_CHUNK) {
        dc_console_line("error: usage: flash write OFFSET HEXBYTES (<= 64 bytes)");
        return;
    }
    uint8_t data[FLASH_CHUNK];
    for (size_t i = 0; i < hex_len / 2; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            dc_console_line("error: bad hex");
            return;
        }
        data[i] = (uint8_t)(hi << 4 | lo);
    }
    dc_status_t status = dc_port_flash_write(offset, data, hex_len / 2);
    if (status != DC_OK) {
        write_status_error(status);
        return;
    }
    dc_console_line("ok");
}

static void flash_erase(args_t *args)
{
    uint32_t offset;
    uint32_t len;
    if (next_u32(args, &offset) != 0 || next_u32(args, &len) != 0) {
        dc_console_line("error: usage: flash erase OFFSET LEN");
        return;
    }
    dc_status_t status = dc_port_flash_erase(offset, len);
    if (status != DC_OK) {
        write_status_error(status);
        return;
    }
    dc_console_line("ok");
}

static void cmd_flash(args_t *args)
{
    const char *word;
    size_t len = next_word(args, &word);
    if (words_equal(word, len, "read")) {
        flash_read(args);
    } else if (words_equal(word, len, "write")) {
        flash_write(args);
    } else if (words_equal(word, len, "erase")) {
        flash_erase(args);
    } else {
        dc_console_line("error: usage: flash read|write|erase ...");
    }
}

void dc_console_slot_line(const char *prefix, int slot)
{
    dc_app_t *app = dc_app();
    dc_slot_status_t st;
    dc_console_write(prefix);
    dc_console_write(" slot=");
    write_u64((uint64_t)slot);
    if (dc_slots_status(&app->slots, slot, &st) != DC_OK) {
        dc_console_line(" error");
        return;
    }
    if (!st.bootable) {
        dc_console_write(" empty");
        if (st.uploading) {
            dc_console_write(" uploading=");
            write_u64(st.written);
        }
        dc_console_line("");
        return;
    }
    dc_console_write(" version=");
    write_u64(st.version >> 24);
    dc_console_write(".");
    write_u64((st.version >> 16) & 0xFFu);
    dc_console_write(".");
    write_u64(st.version & 0xFFFFu);
    dc_console_write(" size=");
    write_u64(st.image_size);
    dc_console_write(" hash=");
    char hex[17];
    for (int i = 0; i < 8; i++) {
        hex[2 * i] = "0123456789abcdef"[st.hash[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[st.hash[i] & 0xFu];
    }
    hex[16] = '\0';
    dc_console_write(hex);
    dc_console_write(st.active ? " active=1" : " active=0");
    dc_console_write(st.confirmed ? " confirmed=1" : " confirmed=0");
    dc_console_write(st.pending ? " pending=1" : " pending=0");
    dc_console_line(app->slots.trial && st.active ? " trial=1" : " trial=0");
}

/* `slots`: one line per physical slot, then the running slot. */
static void cmd_slots(args_t *args)
{
    (void)args;
    dc_app_t *app = dc_app();
    dc_console_slot_line("slot", 0);
    dc_console_slot_line("slot", 1);
    dc_console_write("running=");
    int running = dc_slots_running(&app->slots);
    if (running == DC_SLOT_NONE) {
        dc_console_write("none");
    } else {
        write_u64((uint64_t)running);
    }
    dc_console_write(" key=");
    dc_console_write(app->key_length > 0 ? "provisioned" : "none");
    dc_console_line(app->verifier.publisher.key_count > 0 ? " publisher=trusted" : " publisher=none");
}

/* `provision HEXKEY`: store the device key (1..64 bytes) in the key record, once. */
static void cmd_provision(args_t *args)
{
    const char *hex;
    size_t hex_len = next_word(args, &hex);
    uint8_t key[DC_APP_KEY_MAX];
    if (hex_len == 0 || hex_len % 2 != 0 || hex_len / 2 > DC_APP_KEY_MAX) {
        dc_console_line("error: usage: provision HEXKEY (1..64 bytes)");
        return;
    }
    for (size_t i = 0; i < hex_len / 2; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            dc_console_line("error: bad hex");
            return;
        }
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    int status = dc_app_key_provision(dc_app(), key, hex_len / 2);
    memset(key, 0, sizeof key);
    if (status == DC_ERR_SLOT) {
        dc_console_line("error: another key is provisioned (erase the key sector first)");
    } else if (status != DC_OK) {
        write_status_error((dc_status_t)status);
    } else {
        dc_console_line("ok");
    }
}

static const char *const g_decode_names[] = {"at_load", "per_layer", "streamed", "auto"};

/* `decode auto|at_load|per_layer|streamed [CHANNELS]`: reload the running model in that mode (streamed:
 * CHANNELS output channels per chunk, default DC_MODEL_STREAM_CHANNELS). "ok", or "error: STATUS". */
static void cmd_decode(args_t *args)
{
    const char *word;
    size_t len = next_word(args, &word);
    uint32_t channels = 0;
    int mode = -1;
    args_t probe;
    for (int k = 0; k < 4; k++) {
        if (strlen(g_decode_names[k]) == len && memcmp(word, g_decode_names[k], len) == 0) {
            mode = k;
        }
    }
    probe = *args;
    if (mode < 0 || (next_word(&probe, &word) != 0 && (next_u32(args, &channels) != 0 || channels < 1u))) {
        dc_console_line("error: usage: decode auto|at_load|per_layer|streamed [CHANNELS]");
        return;
    }
    int status = dc_app_runtime_set_decode(mode, channels);
    if (status != DC_OK) {
        write_status_error((dc_status_t)status);
        return;
    }
    dc_console_line("ok");
}

/* `model`: what the runtime made of the running model, one line:
 * model slot=S name=N status=DC_OK decode=at_load|per_layer|streamed arena=NEEDED/CAPACITY at_load=B
 * scratch=B in=B out=B ops=K [chunk=C]   ("model slot=none status=DC_ERR_NO_MODEL" without a model). */
static void cmd_model(args_t *args)
{
    const dc_app_runtime_info_t *info = dc_app_runtime_info();
    (void)args;
    if (info->slot < 0) {
        dc_console_line("model slot=none status=DC_ERR_NO_MODEL");
        return;
    }
    dc_console_write("model slot=");
    write_u64((uint64_t)info->slot);
    dc_console_write(" name=");
    dc_console_write(info->name[0] != '\0' ? info->name : "-");
    dc_console_write(" status=");
    dc_console_write(dc_status_name(info->status));
    dc_console_write(" decode=");
    dc_console_write(info->mode >= 0 && info->mode < 3 ? g_decode_names[info->mode] : "auto");
    dc_console_write(" arena=");
    write_u64(info->arena_needed);
    dc_console_write("/");
    write_u64(info->arena_capacity);
    dc_console_write(" at_load=");
    write_u64(info->arena_at_load);
    dc_console_write(" scratch=");
    write_u64(info->scratch_bytes);
    dc_console_write(" in=");
    write_u64(info->input_bytes);
    dc_console_write(" out=");
    write_u64(info->output_bytes);
    dc_console_write(" ops=");
    write_u64(info->ops);
    if (info->status == DC_OK && info->mode == 2) {
        dc_console_write(" chunk=");
        write_u64(info->stream_channels);
    }
    dc_console_line("");
}

static void cmd_fault(args_t *args)
{
    (void)args;
    __builtin_trap(); /* Cortex-M: UDF -> HardFault; native: SIGILL */
}

static void cmd_reset(args_t *args)
{
    (void)args;
    dc_console_line("ok");
    dc_port_reset();
}

static void cmd_exit(args_t *args)
{
    uint32_t code = 0;
    const char *rest;
    args_t probe = *args;
    if (next_word(&probe, &rest) != 0 && (next_u32(args, &code) != 0 || code > 255u)) {
        dc_console_line("error: usage: exit [0..255]");
        return;
    }
    dc_console_line("ok");
    dc_port_exit((int)code);
}

static void cmd_bench(args_t *args)
{
    dc_bench_command(args->pos, (size_t)(args->end - args->pos));
}

static void cmd_fleet(args_t *args)
{
    dc_fleet_app_command(args->pos, (size_t)(args->end - args->pos));
}

static void cmd_kcheck(args_t *args)
{
    dc_kcheck_command(args->pos, (size_t)(args->end - args->pos));
}

static void cmd_help(args_t *args);

typedef struct {
    const char *name;
    void (*run)(args_t *args);
    const char *usage;
} command_t;

static const command_t g_commands[] = {
    {"version", cmd_version, "version"},
    {"info", cmd_info, "info"},
    {"echo", cmd_echo, "echo TEXT"},
    {"work", cmd_work, "work N"},
    {"bench", cmd_bench, "bench decode OFFSET LEN COUNT"},
    {"flash", cmd_flash, "flash read|write|erase ..."},
    {"slots", cmd_slots, "slots"},
    {"provision", cmd_provision, "provision HEXKEY"},
    {"model", cmd_model, "model"},
    {"decode", cmd_decode, "decode auto|at_load|per_layer|streamed [CHANNELS]"},
    {"fault", cmd_fault, "fault"},
    {"reset", cmd_reset, "reset"},
    {"exit", cmd_exit, "exit [N]"},
    {"fleet", cmd_fleet, "fleet start URL FLEET KEYHEX [DEVICE_ID]|stop|status"},
    {"kcheck", cmd_kcheck, "kcheck conv|dw|fc ..."},
    {"help", cmd_help, "help"},
};

static void cmd_help(args_t *args)
{
    (void)args;
    dc_console_write("commands:");
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++) {
        dc_console_write(" | ");
        dc_console_write(g_commands[i].usage);
    }
    dc_console_line("");
}

int dc_console_owns(const char *line, size_t len)
{
    args_t args = {line, line + len};
    const char *word;
    size_t word_len = next_word(&args, &word);
    if (words_equal(word, word_len, "help")) {
        return 0; /* "help%" is the MLPerf Tiny command */
    }
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++) {
        if (words_equal(word, word_len, g_commands[i].name)) {
            return 1;
        }
    }
    return 0;
}

void dc_console_dispatch(const char *line, size_t len)
{
    args_t args = {line, line + len};
    const char *word;
    size_t word_len = next_word(&args, &word);
    if (word_len == 0) {
        return;
    }
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++) {
        if (words_equal(word, word_len, g_commands[i].name)) {
            g_commands[i].run(&args);
            return;
        }
    }
    dc_console_line("error: unknown command (try help)");
}
