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
    if (nwords < 3 || strncmp(words[0], "mqtt://", 7) != 0 || strlen(words[2]) != 2u * DC_FLEET_KEY_SIZE) {
        return -1;
    }
    for (i = 0; i < DC_FLEET_KEY_SIZE; i++) {
        int hi = hex_digit(words[2][2 * i]), lo = hex_digit(words[2][2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        c->key[0][i] = (uint8_t)(hi << 4 | lo);
    }
    url = (char *)words[0] + 7;
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

/* The structural self-test of a trial image (the inference runtime is not wired in yet): the
 * container opens, every tensor entry reads, and it is built for this board's CPU. */
static int self_test(int slot, const char **name, size_t *name_len, uint32_t *version)
{
    dc_slot_status_t st;
    dc_container_t c;
    dc_tensor_entry_t e;
    const uint8_t *map = dc_port_flash_map();
    dc_slots_t *slots = &dc_app()->slots;
    if (map == NULL || dc_slots_status(slots, slot, &st) != DC_OK ||
        dc_container_open(&c, map + slots->slot_offset[slot], st.image_size) != DC_OK) {
        return DC_ERR_NO_MODEL;
    }
    for (uint32_t i = 0; i < c.tensor_count; i++) {
        if (dc_container_tensor(&c, i, &e) != DC_OK) {
            return DC_ERR_TENSOR;
        }
    }
    *name = NULL;
    *name_len = 0;
    return dc_fleet_model_of(&c, name, name_len, version);
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

/* The slots were booted by dc_app_init (one dc_slots_t for SMP and this agent). A board whose
 * fleet agent is provisioned manages itself: a trial image that passes the self-test is
 * confirmed here, one that fails it makes the board reset (the previous model runs again).
 * Without the agent a trial waits for the host's SMP confirm (docs/protocol.md). */
static void boot_slots(void)
{
    dc_slots_t *slots = &dc_app()->slots;
    int slot = dc_slots_running(slots);
    if (slot == DC_SLOT_NONE) {
        return; /* no model: the agent can still fetch one */
    }
    {
        const char *name = NULL;
        size_t name_len = 0;
        uint32_t version = 0;
        dc_slot_status_t other;
        int tested = self_test(slot, &name, &name_len, &version);
        if (slots->trial) {
            if (tested != DC_OK || dc_slots_confirm(slots, slot, 0) != DC_OK) {
                dc_port_reset(); /* not confirmed: the next boot runs the previous model */
            }
            remember_boot(DC_FLEET_CONFIRMED, name, name_len, version, "self-test passed, confirmed");
        } else if (dc_slots_status(slots, 1 - slot, &other) == DC_OK && other.tried) {
            remember_boot(DC_FLEET_ROLLED_BACK, NULL, 0, other.version, "the new model failed its trial run");
        } else if (tested == DC_OK) {
            remember_boot(DC_FLEET_IDLE, name, name_len, version, "running");
        }
    }
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
    g_sock = dc_port_net_connect(g_conf.host, g_conf.port, NET_TIMEOUT_MS);
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
    } else if (n - i == 5 && memcmp(args + i, "start", 5) == 0) {
        conf_t parsed;
        const char *rest = args + n;
        size_t rest_len = len - n;
        while (rest_len > 0u && rest[0] == ' ') {
            rest++;
            rest_len--;
        }
        if (parse_conf(&parsed, rest, rest_len) != 0) {
            dc_console_line("error: usage: fleet start mqtt://USER:PASSWORD@HOST[:PORT] FLEET KEYHEX [DEVICE_ID]");
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
        dc_console_line("error: usage: fleet start URL FLEET KEYHEX [DEVICE_ID] | stop | status");
    }
}
