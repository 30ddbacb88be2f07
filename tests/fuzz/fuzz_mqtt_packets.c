/* corpus: tests/vectors/mqtt */
/* fuzz_mqtt_packets.c: arbitrary broker bytes into the firmware's MQTT 3.1.1 client and its
 * fleet agent (manifest checks, block requests, slot writes over RAM flash). Byte 0 picks the
 * mode: bit 0 set, the harness acknowledges SUBSCRIBE, QoS 1 PUBLISH and PINGREQ itself (so
 * the input reaches the application messages); clear, the input is the whole broker stream.
 * Nothing may crash, read out of bounds or loop forever. */
#include <stdint.h>
#include <string.h>

#include "dc_fleet.h"
#include "dc_flash.h"
#include "dc_mqtt.h"
#include "dc_slots.h"
#include "dc_status.h"

#define SECTOR 1024u
#define SLOT (16u * SECTOR)

/* The public key of tests/vectors/gen_mqtt.py KEY_SEED (bytes 0..31). */
static const uint8_t KEY[1][32] = {{
    0x03, 0xa1, 0x07, 0xbf, 0xf3, 0xce, 0x10, 0xbe, 0x1d, 0x70, 0xdd, 0x18, 0xe7, 0x4b, 0xc0, 0x99,
    0x67, 0xe4, 0xd6, 0x30, 0x9b, 0xa5, 0x0d, 0x5f, 0x1d, 0xdc, 0x86, 0x64, 0x12, 0x55, 0x31, 0xb8,
}};

typedef struct {
    const uint8_t *in;
    size_t left;
    int auto_ack;
    uint8_t acks[64];   /* answers the harness owes the client */
    size_t acks_len;
    size_t skip;        /* bytes of an outgoing packet still to come (a PUBLISH payload) */
    size_t pkt_left;    /* bytes of the current input packet not yet delivered */
    int pkt_started;    /* part of the current input packet was delivered */
    uint32_t clock;
    uint32_t reads;
} fuzz_io_t;

static void owe(fuzz_io_t *io, const uint8_t *p, size_t n)
{
    if (io->acks_len + n <= sizeof io->acks) {
        memcpy(io->acks + io->acks_len, p, n);
        io->acks_len += n;
    }
}

/* Sees the client's packets; in auto mode, queues the acknowledgement each one needs. */
static int io_send(void *ctx, const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    fuzz_io_t *io = ctx;
    uint8_t tf;
    uint32_t hlen, rem;
    (void)timeout_ms;
    if (io->skip > 0) {
        io->skip -= len < io->skip ? len : io->skip;
        return (int)len;
    }
    if (dc_mqtt_fixed_header(data, len, &tf, &hlen, &rem) != 1) {
        return (int)len;
    }
    if (hlen + rem > len) {
        io->skip = hlen + rem - len;
    }
    if (!io->auto_ack) {
        return (int)len;
    }
    if (tf == 0x82 && len >= hlen + 2) {
        uint8_t suback[5] = {0x90, 3, data[hlen], data[hlen + 1], 1};
        owe(io, suback, sizeof suback);
    } else if ((tf & 0xF6) == 0x32 && len >= hlen + 2) {
        uint32_t tlen = (uint32_t)data[hlen] << 8 | data[hlen + 1];
        if (len >= hlen + 2 + tlen + 2) {
            uint8_t puback[4] = {0x40, 2, data[hlen + 2 + tlen], data[hlen + 3 + tlen]};
            owe(io, puback, sizeof puback);
        }
    } else if (tf == 0xC0) {
        static const uint8_t pingresp[2] = {0xD0, 0};
        owe(io, pingresp, sizeof pingresp);
    }
    return (int)len;
}

/* The input in chunks of varying size, cut at the input's packet boundaries; owed acks go in
 * between two input packets (never inside one). Closed at the end. */
static int io_recv(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    static const size_t chunks[] = {1, 7, 64, 2048, 3};
    fuzz_io_t *io = ctx;
    size_t n;
    (void)timeout_ms;
    io->clock += 50; /* time passes with every read: timeouts happen, deterministically */
    if (io->acks_len > 0 && !io->pkt_started) {
        n = io->acks_len < cap ? io->acks_len : cap;
        memcpy(buf, io->acks, n);
        memmove(io->acks, io->acks + n, io->acks_len - n);
        io->acks_len -= n;
        return (int)n;
    }
    if (io->left == 0) {
        return DC_ERR_CLOSED;
    }
    if (io->pkt_left == 0) {
        uint8_t tf;
        uint32_t hlen, rem;
        int r = dc_mqtt_fixed_header(io->in, io->left, &tf, &hlen, &rem);
        io->pkt_left = (r == 1 && (size_t)hlen + rem < io->left) ? (size_t)hlen + rem : io->left;
    }
    n = chunks[io->reads++ % (sizeof chunks / sizeof chunks[0])];
    if (n > cap) {
        n = cap;
    }
    if (n > io->pkt_left) {
        n = io->pkt_left;
    }
    memcpy(buf, io->in, n);
    io->in += n;
    io->left -= n;
    io->pkt_left -= n;
    io->pkt_started = io->pkt_left > 0;
    return (int)n;
}

static uint32_t io_millis(void *ctx)
{
    return ((fuzz_io_t *)ctx)->clock;
}

static uint8_t g_mem[2 * SLOT];
static dc_flash_sim_t g_sim;
static dc_slots_t g_slots;
static dc_mqtt_client_t g_mqtt;
static dc_fleet_t g_fleet;
static uint8_t g_window[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_io_t io;
    dc_mqtt_transport_t t = {io_send, io_recv, io_millis, &io};
    dc_fleet_verifier_t v = {g_mem, KEY, 1};
    dc_verifier_t verifier = {dc_fleet_verify, &v};
    dc_mqtt_connect_opts_t opts = {"dev-a1", "dev-a1", "pw", 30, 1};
    dc_fleet_config_t cfg;
    if (size < 1) {
        return 0;
    }
    memset(&io, 0, sizeof io);
    io.auto_ack = data[0] & 1;
    io.in = data + 1;
    io.left = size - 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.device_id = "dev-a1";
    cfg.fleet = "alpha";
    cfg.arch = "host";
    cfg.flash_map = g_mem;
    cfg.keys = KEY;
    cfg.key_count = 1;
    cfg.block_size = 1024;
    cfg.request_timeout_ms = 200;
    cfg.max_retries = 3;
    if (dc_flash_sim_init(&g_sim, g_mem, sizeof g_mem, SECTOR, 8) != DC_OK ||
        dc_slots_init(&g_slots, &g_sim.dev, 0, SLOT, SLOT, verifier) != DC_OK) {
        __builtin_trap();
    }
    dc_mqtt_init(&g_mqtt, &t, dc_fleet_on_message, &g_fleet);
    if (dc_fleet_init(&g_fleet, &cfg, &g_mqtt, &g_slots, g_window, sizeof g_window) != DC_OK) {
        __builtin_trap();
    }
    if (dc_mqtt_connect(&g_mqtt, &opts, 1000) != DC_OK || dc_fleet_on_connect(&g_fleet) != DC_OK) {
        return 0;
    }
    for (int i = 0; i < 4096 && g_mqtt.connected; i++) {
        int rc = dc_mqtt_poll(&g_mqtt, 0);
        if (rc == DC_OK) {
            rc = dc_fleet_step(&g_fleet);
        }
        if (rc != DC_OK) {
            break; /* the session ended, or the update asks for a reboot */
        }
        if (g_mqtt.rx_have > DC_MQTT_RX_SIZE || g_fleet.written > g_fleet.man.size) {
            __builtin_trap(); /* invariants */
        }
    }
    return 0;
}
