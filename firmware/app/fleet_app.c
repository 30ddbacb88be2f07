/* fleet_app.c: the board's fleet agent: fleet record, trial self-test at boot, MQTT link, console. */
#include "fleet_app.h"

#include <string.h>

#include "app.h"
#include "console.h"
#include "dc_container.h"
#include "dc_fleet.h"
#include "dc_mqtt.h"
#include "dc_port.h"
#include "dc_sha256.h"
#include "dc_slots.h"
#include "dc_status.h"
#include "runtime_adapter.h"

#define CONF_MAGIC "DCN1"
#define CONF_TEXT_MAX 255u
#define CONF_RECORD 272u          /* magic 4, length 2, pad 2, text 256, check 8: a multiple of 8 */
#define NET_TIMEOUT_MS 3000u
#define CONNECT_TIMEOUT_MS 5000u
#define KEEPALIVE_S 30u
#define BACKOFF_MIN_MS 200u
#define BACKOFF_MAX_MS 5000u
#define POLL_BUDGET_MS 20u
#define BLOCK_SIZE 1024u
#define WINDOW_BYTES (16u * 1024u)

/* ---- state ------------------------------------------------------------------------------ */

typedef struct {
    char text[CONF_TEXT_MAX + 1]; /* the `fleet start` arguments as provisioned */
    char store[CONF_TEXT_MAX + 8]; /* the parsed words, NUL-separated */
    const char *host, *user, *password, *fleet, *device_id;
    uint16_t port;
    uint8_t tls;                  /* mqtts://: TLS with the CA of the TLS record */
    uint8_t key[1][DC_FLEET_KEY_SIZE];
} conf_t;

static conf_t g_conf;
static uint8_t g_provisioned;
static dc_mqtt_client_t g_mqtt;
static dc_fleet_t g_fleet;
static uint8_t g_window[WINDOW_BYTES];
static uint8_t g_active;
static int g_sock = -1;
static int g_error = DC_OK;          /* why the link is down */
static uint32_t g_next_try;
static uint32_t g_backoff = BACKOFF_MIN_MS;
static uint32_t g_connects;
/* what the boot did, handed to the agent when it starts */
static dc_fleet_state_t g_boot_state = DC_FLEET_IDLE;
static char g_boot_name[DC_FLEET_MODEL_NAME_MAX + 1];
static uint32_t g_boot_version;
static const char *g_boot_detail = "";

/* ---- provisioning --------------------------------------------------------------------- */

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

/* Splits `text` into words in conf->store; parses URL FLEET KEYHEX [DEVICE_ID]. 0 or -1. */
static int parse_conf(conf_t *c, const char *text, size_t len)
{
    const char *words[4];
    size_t nwords = 0, at = 0, i;
    char *url, *host, *colon, *at_sign;
    uint32_t port = 1883;
    if (len > CONF_TEXT_MAX) {
        return -1;
    }
    memcpy(c->text, text, len);
    c->text[len] = '\0';
    for (i = 0; i < len;) {
        size_t start;
        while (i < len && text[i] == ' ') {
            i++;
        }
        if (i == len) {
            break;
        }
        if (nwords == 4) {
            return -1;
        }
        start = i;
        while (i < len && text[i] != ' ') {
            i++;
        }
        memcpy(c->store + at, text + start, i - start);
        c->store[at + (i - start)] = '\0';
        words[nwords++] = c->store + at;
        at += i - start + 1;
    }
    if (nwords < 3 || strlen(words[2]) != 2u * DC_FLEET_KEY_SIZE) {
        return -1;
    }
    if (strncmp(words[0], "mqtt://", 7) == 0) {
        c->tls = 0;
    } else if (strncmp(words[0], "mqtts://", 8) == 0) {
        c->tls = 1;
        port = 8883;
    } else {
        return -1;
    }
    for (i = 0; i < DC_FLEET_KEY_SIZE; i++) {
        int hi = hex_digit(words[2][2 * i]), lo = hex_digit(words[2][2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        c->key[0][i] = (uint8_t)(hi << 4 | lo);
    }
    url = (char *)words[0] + (c->tls ? 8 : 7);
    at_sign = strchr(url, '@');
    if (at_sign == NULL) {
        return -1;
    }
    *at_sign = '\0';
    host = at_sign + 1;
    colon = strchr(url, ':');
    c->user = url;
    c->password = NULL;
    if (colon != NULL) {
        *colon = '\0';
        c->password = colon + 1;
    }
    colon = strchr(host, ':');
    if (colon != NULL) {
        const char *p = colon + 1;
        *colon = '\0';
        port = 0;
        if (*p == '\0') {
            return -1;
        }
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9' || port > 6553u) {
                return -1;
            }
            port = port * 10u + (uint32_t)(*p - '0');
        }
    }
    if (host[0] == '\0' || c->user[0] == '\0' || port == 0u || port > 65535u) {
        return -1;
    }
    c->host = host;
    c->port = (uint16_t)port;
    c->fleet = words[1];
    c->device_id = nwords == 4 ? words[3] : c->user;
    return 0;
}

/* The fleet record's sector in the provisioning area (app.h). */
static uint32_t conf_offset(void)
{
    return dc_app_sector_offset(DC_APP_FLEET_SECTOR);
}

static int save_conf(const char *text, size_t len)
{
    uint8_t rec[CONF_RECORD], digest[32];
    int rc = dc_port_flash_erase(conf_offset(), dc_port_flash_geometry()->erase_size);
    if (rc != DC_OK || len == 0u) {
        return rc; /* len 0: forget the provisioning */
    }
    memset(rec, 0xFF, sizeof rec);
    memcpy(rec, CONF_MAGIC, 4);
    rec[4] = (uint8_t)len;
    rec[5] = (uint8_t)(len >> 8);
    rec[6] = rec[7] = 0;
    memcpy(rec + 8, text, len);
    dc_sha256(rec, 8u + len, digest);
    memcpy(rec + CONF_RECORD - 8u, digest, 8);
    return dc_port_flash_write(conf_offset(), rec, sizeof rec);
}

static int load_conf(conf_t *c)
{
    uint8_t rec[CONF_RECORD], digest[32];
    size_t len;
    if (dc_port_flash_read(conf_offset(), rec, sizeof rec) != DC_OK || memcmp(rec, CONF_MAGIC, 4) != 0) {
        return -1;
    }
    len = (size_t)rec[4] | (size_t)rec[5] << 8;
    if (len == 0u || len > CONF_TEXT_MAX) {
        return -1;
    }
    dc_sha256(rec, 8u + len, digest);
    if (memcmp(rec + CONF_RECORD - 8u, digest, 8) != 0) {
        return -1;
    }
    return parse_conf(c, (const char *)rec + 8, len);
}

/* ---- boot: slots, trial, self-test ----------------------------------------------------- */

/* Trial records in sector DC_APP_TRIAL_SECTOR (little-endian; each one flash write, checked
 * by the first 8 bytes of the SHA-256 of the bytes before it):
 *   +0   TRIAL  "DCT1" | flags u32 (bit 0: check present) | image hash[32] | check_sha256[32] | sha8
 *        written (sector erased first) just before the reboot into a new image on trial
 *   +128 RESULT "DCR1" | status i32 | image hash[32] | arena needed u32 | kind u32 | sha8
 *        written when that image failed its self-test (kind 1: the runtime's status;
 *        kind 2: its outputs differ from check_sha256), read after the rollback to report why */
#define TRIAL_MAGIC "DCT1"
#define TRIAL_RECORD 80u
#define RESULT_MAGIC "DCR1"
#define RESULT_OFFSET 128u
#define RESULT_RECORD 56u
#define FAIL_STATUS 1u
#define FAIL_OUTPUT 2u

static uint32_t trial_offset(void)
{
    return dc_app_sector_offset(DC_APP_TRIAL_SECTOR);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Seals `len` bytes of `rec` (the check goes at rec + len) and writes them at `offset`. */
static int write_record(uint32_t offset, uint8_t *rec, size_t len)
{
    uint8_t digest[32];
    dc_sha256(rec, len, digest);
    memcpy(rec + len, digest, 8);
    return dc_port_flash_write(offset, rec, len + 8u);
}

/* Reads a record of `len` + 8 bytes at `offset`: 1 when its magic and check hold. */
static int read_record(uint32_t offset, const char *magic, uint8_t *rec, size_t len)
{
    uint8_t digest[32];
    if (dc_port_flash_read(offset, rec, len + 8u) != DC_OK || memcmp(rec, magic, 4) != 0) {
        return 0;
    }
    dc_sha256(rec, len, digest);
    return memcmp(rec + len, digest, 8) == 0;
}

/* Before rebooting into the image the agent just marked pending: what its self-test checks. */
static void save_trial(const dc_fleet_manifest_t *m)
{
    uint8_t rec[TRIAL_RECORD];
    if (dc_port_flash_erase(trial_offset(), dc_port_flash_geometry()->erase_size) != DC_OK) {
        return; /* the self-test then runs without the check digest */
    }
    memset(rec, 0, sizeof rec);
    memcpy(rec, TRIAL_MAGIC, 4);
    put_u32(rec + 4, m->has_check ? 1u : 0u);
    memcpy(rec + 8, m->sha256, 32);
    memcpy(rec + 40, m->check_sha256, 32);
    (void)write_record(trial_offset(), rec, TRIAL_RECORD - 8u);
}

static void save_result(const uint8_t hash[32], int status, uint32_t kind, size_t arena)
{
    uint8_t rec[RESULT_RECORD], trial[TRIAL_RECORD];
    const dc_flash_geometry_t *g = dc_port_flash_geometry();
    size_t i;
    /* A RESULT of an earlier trial (an SMP trial has no TRIAL record of its own) is erased
     * with the sector; the TRIAL record, if any, is written back. */
    if (dc_port_flash_read(trial_offset() + RESULT_OFFSET, rec, sizeof rec) != DC_OK) {
        return;
    }
    for (i = 0; i < sizeof rec && rec[i] == g->erased_value; i++) {
    }
    if (i < sizeof rec) {
        int have_trial = read_record(trial_offset(), TRIAL_MAGIC, trial, TRIAL_RECORD - 8u);
        if (dc_port_flash_erase(trial_offset(), g->erase_size) != DC_OK) {
            return;
        }
        if (have_trial) {
            (void)dc_port_flash_write(trial_offset(), trial, sizeof trial);
        }
    }
    memset(rec, 0, sizeof rec);
    memcpy(rec, RESULT_MAGIC, 4);
    put_u32(rec + 4, (uint32_t)status);
    memcpy(rec + 8, hash, 32);
    put_u32(rec + 40, (uint32_t)arena);
    put_u32(rec + 44, kind);
    (void)write_record(trial_offset() + RESULT_OFFSET, rec, RESULT_RECORD - 8u);
}

static char g_boot_text[DC_FLEET_DETAIL_MAX + 1];

static size_t g_boot_len;

/* Appends `text` to g_boot_text (truncated at DC_FLEET_DETAIL_MAX). */
static void boot_add(const char *text)
{
    while (*text != '\0' && g_boot_len < DC_FLEET_DETAIL_MAX) {
        g_boot_text[g_boot_len++] = *text++;
    }
    g_boot_text[g_boot_len] = '\0';
}

static void boot_add_u32(uint32_t v)
{
    char digits[11];
    size_t n = sizeof digits - 1u;
    digits[n] = '\0';
    do {
        digits[--n] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    boot_add(digits + n);
}

/* Runs the trial image's self-test: the model loads into the arena, one inference on the
 * check input succeeds and, when the trial record for this image carries check_sha256, its
 * outputs hash to it. DC_OK, or the failure (recorded in the RESULT record). */
static int self_test(const dc_slot_status_t *st, int *compared)
{
    uint8_t digest[32], rec[TRIAL_RECORD];
    const dc_app_runtime_info_t *info = dc_app_runtime_info();
    int status = dc_app_runtime_check(digest);
    *compared = 0;
    if (status != DC_OK) {
        save_result(st->hash, status, FAIL_STATUS, info->arena_needed);
        return status;
    }
    if (read_record(trial_offset(), TRIAL_MAGIC, rec, TRIAL_RECORD - 8u) && memcmp(rec + 8, st->hash, 32) == 0 &&
        (get_u32(rec + 4) & 1u) != 0u) {
        if (memcmp(rec + 40, digest, 32) != 0) {
            save_result(st->hash, DC_ERR_HASH, FAIL_OUTPUT, info->arena_needed);
            return DC_ERR_HASH;
        }
        *compared = 1;
    }
    return DC_OK;
}

/* Why the image in `st` (reverted after its trial) failed, from the RESULT record. */
static const char *rollback_reason(const dc_slot_status_t *st)
{
    uint8_t rec[RESULT_RECORD];
    if (!read_record(trial_offset() + RESULT_OFFSET, RESULT_MAGIC, rec, RESULT_RECORD - 8u) ||
        memcmp(rec + 8, st->hash, 32) != 0) {
        return "the new model failed its trial run (reset before its self-test ended)";
    }
    if (get_u32(rec + 44) == FAIL_OUTPUT) {
        return "self-test: the outputs for the check input differ from the manifest's check_sha256";
    }
    g_boot_len = 0;
    boot_add("self-test: the model does not run: ");
    boot_add(dc_status_name((int)get_u32(rec + 4)));
    if ((int)get_u32(rec + 4) == DC_ERR_ARENA) {
        boot_add(" (it needs ");
        boot_add_u32(get_u32(rec + 40));
        boot_add(" bytes of arena, the board has ");
        boot_add_u32((uint32_t)dc_app_runtime_arena_capacity());
        boot_add(")");
    }
    return g_boot_text;
}

static void model_name_of(const dc_slot_status_t *st, int slot, const char **name, size_t *name_len)
{
    dc_container_t c;
    uint32_t version;
    const uint8_t *map = dc_port_flash_map();
    *name = NULL;
    *name_len = 0;
    if (map == NULL || dc_container_open(&c, map + dc_app()->slots.slot_offset[slot], st->image_size) != DC_OK ||
        dc_fleet_model_of(&c, name, name_len, &version) != DC_OK) {
        *name = NULL;
        *name_len = 0;
    }
}

static void remember_boot(dc_fleet_state_t state, const char *name, size_t name_len, uint32_t version,
                          const char *detail)
{
    g_boot_state = state;
    if (name_len > DC_FLEET_MODEL_NAME_MAX) {
        name_len = DC_FLEET_MODEL_NAME_MAX;
    }
    if (name != NULL) {
        memcpy(g_boot_name, name, name_len);
    }
    g_boot_name[name != NULL ? name_len : 0] = '\0';
    g_boot_version = version;
    g_boot_detail = detail;
}

/* The slots were booted and the runtime bound by dc_app_init (one dc_slots_t for SMP and this
 * agent). A board whose fleet agent is provisioned manages itself: a trial image that passes
 * the self-test is confirmed here; one that fails it makes the board reset, and the next boot
 * runs the previous model and reports the rollback with the reason. Without the agent a trial
 * waits for the host's SMP confirm (docs/protocol.md). */
static void boot_slots(void)
{
    dc_slots_t *slots = &dc_app()->slots;
    int slot = dc_slots_running(slots);
    const char *name = NULL;
    size_t name_len = 0;
    dc_slot_status_t st, other;
    if (slot == DC_SLOT_NONE || dc_slots_status(slots, slot, &st) != DC_OK) {
        return; /* no model: the agent can still fetch one */
    }
    model_name_of(&st, slot, &name, &name_len);
    if (slots->trial) {
        int compared = 0;
        if (self_test(&st, &compared) != DC_OK || dc_slots_confirm(slots, slot, 0) != DC_OK) {
            dc_port_reset(); /* not confirmed: the next boot runs the previous model */
        }
        remember_boot(DC_FLEET_CONFIRMED, name, name_len, st.version,
                      compared ? "self-test passed: the outputs for the check input equal check_sha256; confirmed"
                               : "self-test passed: the model ran on the check input (no check_sha256); confirmed");
    } else if (dc_slots_status(slots, 1 - slot, &other) == DC_OK && other.tried) {
        model_name_of(&other, 1 - slot, &name, &name_len);
        remember_boot(DC_FLEET_ROLLED_BACK, name, name_len, other.version, rollback_reason(&other));
    } else {
        remember_boot(DC_FLEET_IDLE, name, name_len, st.version, "running");
    }
}

/* ---- TLS record ------------------------------------------------------------------------ */

/* The TLS record in sector DC_APP_TLS_SECTOR (one flash write; little-endian):
 *   +0 "DCS1" | +4 ca_len u16 | +6 cert_len u16 | +8 key_len u16 | +10 0 u16 |
 *   +12 CA certificate, client certificate, client key (DER, in that order) |
 *   then the first 8 bytes of the SHA-256 of everything before, 0xFF padding to the write unit.
 * `fleet tls ca|cert|key HEX` appends bytes to a RAM copy, `fleet tls save` writes it,
 * `fleet tls clear` erases it. The port gets pointers into the memory-mapped flash. */
#define TLS_MAGIC "DCS1"
#define TLS_HEADER 12u
#define TLS_DATA_MAX 2048u
#define TLS_CHUNK_MAX 120u        /* bytes per `fleet tls` line (the console takes 256 characters) */

/* The record being staged: parts are appended in order (CA, then certificate, then key). */
static uint8_t g_tls_stage[TLS_HEADER + TLS_DATA_MAX + 16u];
static uint16_t g_tls_len[3];     /* ca, cert, key bytes staged */

/* The record in flash: DC_OK and `out` pointing into the flash map, or DC_ERR_TLS (none or damaged). */
static int load_tls(dc_port_tls_t *out)
{
    const uint8_t *map = dc_port_flash_map();
    const uint8_t *rec;
    uint8_t digest[32];
    size_t ca, cert, key;
    if (map == NULL) {
        return DC_ERR_UNSUPPORTED;
    }
    rec = map + dc_app_sector_offset(DC_APP_TLS_SECTOR);
    if (memcmp(rec, TLS_MAGIC, 4) != 0) {
        return DC_ERR_TLS;
    }
    ca = (size_t)rec[4] | (size_t)rec[5] << 8;
    cert = (size_t)rec[6] | (size_t)rec[7] << 8;
    key = (size_t)rec[8] | (size_t)rec[9] << 8;
    if (ca == 0u || ca + cert + key > TLS_DATA_MAX || (cert == 0u) != (key == 0u)) {
        return DC_ERR_TLS;
    }
    dc_sha256(rec, TLS_HEADER + ca + cert + key, digest);
    if (memcmp(rec + TLS_HEADER + ca + cert + key, digest, 8) != 0) {
        return DC_ERR_TLS;
    }
    memset(out, 0, sizeof *out);
    out->ca = rec + TLS_HEADER;
    out->ca_len = ca;
    out->cert = cert > 0u ? rec + TLS_HEADER + ca : NULL;
    out->cert_len = cert;
    out->key = key > 0u ? rec + TLS_HEADER + ca + cert : NULL;
    out->key_len = key;
    return DC_OK;
}

static int save_tls(void)
{
    size_t at = TLS_HEADER + (size_t)g_tls_len[0] + g_tls_len[1] + g_tls_len[2];
    size_t len, unit = dc_port_flash_geometry()->write_size;
    uint8_t digest[32];
    int rc;
    if (g_tls_len[0] == 0u || (g_tls_len[1] == 0u) != (g_tls_len[2] == 0u) ||
        (size_t)g_tls_len[0] + g_tls_len[1] + g_tls_len[2] > TLS_DATA_MAX) {
        return DC_ERR_ARG;
    }
    memcpy(g_tls_stage, TLS_MAGIC, 4);
    for (int i = 0; i < 3; i++) {
        g_tls_stage[4 + 2 * i] = (uint8_t)g_tls_len[i];
        g_tls_stage[5 + 2 * i] = (uint8_t)(g_tls_len[i] >> 8);
    }
    g_tls_stage[10] = g_tls_stage[11] = 0;
    dc_sha256(g_tls_stage, at, digest);
    memcpy(g_tls_stage + at, digest, 8);
    len = at + 8u;
    memset(g_tls_stage + len, 0xFF, sizeof g_tls_stage - len);
    len += (unit - len % unit) % unit;
    rc = dc_port_flash_erase(dc_app_sector_offset(DC_APP_TLS_SECTOR), dc_port_flash_geometry()->erase_size);
    return rc != DC_OK ? rc : dc_port_flash_write(dc_app_sector_offset(DC_APP_TLS_SECTOR), g_tls_stage, len);
}

/* `fleet tls ca|cert|key HEX` | `save` | `clear` (args after "tls"). */
static void tls_command(const char *args, size_t len)
{
    static const char *const parts[3] = {"ca", "cert", "key"};
    size_t i = 0, n;
    while (i < len && args[i] == ' ') {
        i++;
    }
    n = i;
    while (n < len && args[n] != ' ') {
        n++;
    }
    if (n - i == 4 && memcmp(args + i, "save", 4) == 0) {
        int rc = save_tls();
        dc_console_line(rc == DC_OK ? "ok" : rc == DC_ERR_ARG ? "error: stage a CA (and a key with a certificate) first"
                                                                : "error: DC_ERR_FLASH");
        memset(g_tls_len, 0, sizeof g_tls_len);
        return;
    }
    if (n - i == 5 && memcmp(args + i, "clear", 5) == 0) {
        memset(g_tls_len, 0, sizeof g_tls_len);
        dc_console_line(dc_port_flash_erase(dc_app_sector_offset(DC_APP_TLS_SECTOR),
                                            dc_port_flash_geometry()->erase_size) == DC_OK ? "ok" : "error: DC_ERR_FLASH");
        return;
    }
    for (int p = 0; p < 3; p++) {
        if (n - i == strlen(parts[p]) && memcmp(args + i, parts[p], n - i) == 0) {
            const char *hex = args + n;
            size_t hex_len = len - n;
            while (hex_len > 0u && hex[0] == ' ') {
                hex++;
                hex_len--;
            }
            size_t at = TLS_HEADER + (size_t)g_tls_len[0] + g_tls_len[1] + g_tls_len[2];
            if (hex_len == 0u || hex_len % 2u != 0u || hex_len / 2u > TLS_CHUNK_MAX ||
                at - TLS_HEADER + hex_len / 2u > TLS_DATA_MAX) {
                dc_console_line("error: HEX must be 1..120 bytes, at most 2048 in all");
                return;
            }
            if ((p < 2 && g_tls_len[2] != 0u) || (p < 1 && g_tls_len[1] != 0u)) {
                dc_console_line("error: stage the CA, then the certificate, then the key");
                return;
            }
            for (size_t k = 0; k < hex_len / 2u; k++) {
                int hi = hex_digit(hex[2 * k]), lo = hex_digit(hex[2 * k + 1]);
                if (hi < 0 || lo < 0) {
                    dc_console_line("error: HEX must be hexadecimal digits");
                    return;
                }
                g_tls_stage[at + k] = (uint8_t)(hi << 4 | lo);
            }
            g_tls_len[p] = (uint16_t)(g_tls_len[p] + hex_len / 2u);
            dc_console_line("ok");
            return;
        }
    }
    dc_console_line("error: usage: fleet tls ca|cert|key HEX | save | clear");
}

/* ---- the agent ------------------------------------------------------------------------ */

static int io_send(void *ctx, const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    return dc_port_net_send(*(const int *)ctx, data, len, timeout_ms);
}

static int io_recv(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    return dc_port_net_recv(*(const int *)ctx, buf, cap, timeout_ms);
}

static uint32_t io_millis(void *ctx)
{
    (void)ctx;
    return dc_port_millis();
}

static void link_down(int status)
{
    if (g_sock >= 0) {
        dc_port_net_close(g_sock);
        g_sock = -1;
    }
    g_mqtt.connected = 0;
    g_error = status;
    g_next_try = dc_port_millis() + g_backoff;
    g_backoff = g_backoff * 2u > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : g_backoff * 2u;
}

static int start_agent(void)
{
    static const dc_mqtt_transport_t io = {io_send, io_recv, io_millis, &g_sock};
    dc_fleet_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.device_id = g_conf.device_id;
    cfg.fleet = g_conf.fleet;
    cfg.arch = dc_port_info()->cpu;
    cfg.flash_bytes = dc_port_info()->flash_size;
    cfg.ram_bytes = (uint32_t)dc_app_runtime_arena_capacity(); /* manifest target.min_ram is the model's arena */
    cfg.flash_map = dc_port_flash_map();
    cfg.keys = (const uint8_t (*)[DC_FLEET_KEY_SIZE])g_conf.key;
    cfg.key_count = 1;
    cfg.block_size = BLOCK_SIZE;
    cfg.request_timeout_ms = 1000;
    cfg.max_retries = 30;
    dc_app_trust_publisher(dc_app(), g_conf.key[0]);
    if (cfg.flash_map == NULL) {
        return DC_ERR_UNSUPPORTED;
    }
    dc_mqtt_init(&g_mqtt, &io, dc_fleet_on_message, &g_fleet);
    int rc = dc_fleet_init(&g_fleet, &cfg, &g_mqtt, &dc_app()->slots, g_window, sizeof g_window);
    if (rc != DC_OK) {
        return rc;
    }
    if (g_boot_state != DC_FLEET_IDLE || g_boot_name[0] != '\0') {
        dc_fleet_boot_result(&g_fleet, g_boot_state, g_boot_name[0] != '\0' ? g_boot_name : NULL,
                             strlen(g_boot_name), g_boot_version, g_boot_detail);
    }
    g_active = 1;
    g_error = DC_OK;
    g_backoff = BACKOFF_MIN_MS;
    g_next_try = dc_port_millis();
    return DC_OK;
}

static void stop_agent(void)
{
    if (g_mqtt.connected) {
        (void)dc_mqtt_disconnect(&g_mqtt, NET_TIMEOUT_MS);
    }
    if (g_sock >= 0) {
        dc_port_net_close(g_sock);
        g_sock = -1;
    }
    g_active = 0;
}

static void try_connect(void)
{
    dc_mqtt_connect_opts_t opts = {g_conf.device_id, g_conf.user, g_conf.password, KEEPALIVE_S, 1};
    int rc;
    if ((int32_t)(dc_port_millis() - g_next_try) < 0) {
        return;
    }
    g_connects++;
    if (g_conf.tls) {
        dc_port_tls_t tls;
        rc = load_tls(&tls);
        g_sock = rc == DC_OK ? dc_port_net_connect_tls(g_conf.host, g_conf.port, &tls, CONNECT_TIMEOUT_MS) : rc;
    } else {
        g_sock = dc_port_net_connect(g_conf.host, g_conf.port, NET_TIMEOUT_MS);
    }
    if (g_sock < 0) {
        rc = g_sock;
        g_sock = -1;
        link_down(rc);
        return;
    }
    rc = dc_mqtt_connect(&g_mqtt, &opts, CONNECT_TIMEOUT_MS);
    if (rc == DC_OK) {
        rc = dc_fleet_on_connect(&g_fleet);
    }
    if (rc != DC_OK) {
        link_down(rc);
        return;
    }
    g_error = DC_OK;
    g_backoff = BACKOFF_MIN_MS;
}

void dc_fleet_app_load(void)
{
    g_provisioned = load_conf(&g_conf) == 0;
    dc_app_trust_publisher(dc_app(), g_provisioned ? g_conf.key[0] : NULL);
}

void dc_fleet_app_boot(void)
{
    if (g_provisioned) {
        boot_slots();
        (void)start_agent();
    }
}

uint32_t dc_fleet_app_poll(void)
{
    uint32_t start = dc_port_millis();
    if (!g_active) {
        return DC_PORT_WAIT_FOREVER;
    }
    if (!g_mqtt.connected) {
        if (g_sock >= 0) {
            link_down(g_mqtt.last_error != DC_OK ? g_mqtt.last_error : DC_ERR_CLOSED);
        }
        try_connect();
        if (!g_mqtt.connected) {
            return POLL_BUDGET_MS;
        }
    }
    do {
        int rc = dc_mqtt_poll(&g_mqtt, 2);
        if (rc == DC_OK) {
            rc = dc_fleet_step(&g_fleet);
        }
        if (rc == DC_FLEET_ACT_REBOOT) {
            save_trial(&g_fleet.man);
            stop_agent();
            dc_port_reset();
        }
        if (rc < 0) {
            link_down(rc);
            return POLL_BUDGET_MS;
        }
    } while (dc_port_millis() - start < POLL_BUDGET_MS);
    return 0;
}

/* ---- console ---------------------------------------------------------------------------- */

static void write_u32(uint32_t v)
{
    char digits[11];
    size_t n = sizeof digits - 1u;
    digits[n] = '\0';
    do {
        digits[--n] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    dc_console_write(digits + n);
}

static void print_status(void)
{
    dc_slot_status_t st;
    dc_slots_t *slots = &dc_app()->slots;
    int running = dc_slots_running(slots);
    dc_console_write("fleet active=");
    write_u32(g_active);
    dc_console_write(" state=");
    dc_console_write(dc_fleet_state_name(g_fleet.state));
    dc_console_write(" reason=");
    dc_console_write(g_fleet.reason != DC_FLEET_REASON_NONE ? dc_fleet_reason_name(g_fleet.reason) : "-");
    dc_console_write(" link=");
    dc_console_write(g_mqtt.connected ? "up" : "down");
    dc_console_write(" error=");
    dc_console_write(dc_status_name(g_error));
    dc_console_write(" received=");
    write_u32(g_fleet.written);
    dc_console_write("/");
    write_u32(g_fleet.have_man ? g_fleet.man.size : 0u);
    dc_console_write(" requests=");
    write_u32(g_fleet.requests);
    dc_console_write(" blocks=");
    write_u32(g_fleet.blocks_received);
    dc_console_write(" duplicates=");
    write_u32(g_fleet.duplicates);
    dc_console_write(" connects=");
    write_u32(g_connects);
    dc_console_write(" running=");
    if (running != DC_SLOT_NONE && dc_slots_status(slots, running, &st) == DC_OK) {
        write_u32((uint32_t)running);
        dc_console_write(" version=");
        write_u32(st.version);
    } else {
        dc_console_write("none version=0");
    }
    dc_console_write(" floor=");
    write_u32(dc_slots_confirmed_version(slots));
    dc_console_line("");
}

void dc_fleet_app_command(const char *args, size_t len)
{
    size_t i = 0, n;
    while (i < len && args[i] == ' ') {
        i++;
    }
    n = i;
    while (n < len && args[n] != ' ') {
        n++;
    }
    if (n - i == 6 && memcmp(args + i, "status", 6) == 0) {
        print_status();
    } else if (n - i == 4 && memcmp(args + i, "stop", 4) == 0) {
        stop_agent();
        g_provisioned = 0;
        dc_app_trust_publisher(dc_app(), NULL);
        dc_console_line(save_conf("", 0) == DC_OK ? "ok" : "error: DC_ERR_FLASH");
    } else if (n - i == 3 && memcmp(args + i, "tls", 3) == 0) {
        tls_command(args + n, len - n);
    } else if (n - i == 5 && memcmp(args + i, "start", 5) == 0) {
        conf_t parsed;
        const char *rest = args + n;
        size_t rest_len = len - n;
        while (rest_len > 0u && rest[0] == ' ') {
            rest++;
            rest_len--;
        }
        if (parse_conf(&parsed, rest, rest_len) != 0) {
            dc_console_line("error: usage: fleet start mqtt[s]://USER:PASSWORD@HOST[:PORT] FLEET KEYHEX [DEVICE_ID]");
            return;
        }
        if (save_conf(rest, rest_len) != DC_OK) {
            dc_console_line("error: DC_ERR_FLASH");
            return;
        }
        stop_agent();
        (void)parse_conf(&g_conf, rest, rest_len);
        g_provisioned = 1;
        int rc = start_agent();
        if (rc != DC_OK) {
            dc_console_write("error: ");
            dc_console_line(dc_status_name(rc));
            return;
        }
        dc_console_line("ok");
    } else {
        dc_console_line("error: usage: fleet start URL FLEET KEYHEX [DEVICE_ID] | stop | status | tls ...");
    }
}
