/* dc_smp_frame.c: MCUmgr serial console framing: base64 lines in and out, CRC16, and the
 * split between SMP lines and text on a shared UART. */
#include <string.h>

#include "dc_smp_internal.h"
#include "dc_status.h"

enum { RX_TEXT = 0, RX_HELD, RX_LINE, RX_SKIP };

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint16_t dc_smp_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= (uint16_t)((uint16_t)p[i] << 8);
        for (k = 0; k < 8; k++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* ---- transmit --------------------------------------------------------------------- */

typedef struct {
    char line[2 + DC_SMP_LINE_B64 + 1];
    size_t n;       /* base64 characters in the line */
    int first;      /* the next line is the frame's first */
    dc_smp_write_fn write;
    void *ctx;
} tx_lines_t;

static void flush_line(tx_lines_t *t)
{
    if (t->n == 0u) {
        return;
    }
    t->line[0] = t->first ? 0x06 : 0x04;
    t->line[1] = t->first ? 0x09 : 0x14;
    t->line[2 + t->n] = '\n';
    t->write(t->ctx, (const uint8_t *)t->line, 2u + t->n + 1u);
    t->first = 0;
    t->n = 0;
}

static void put_quad(tx_lines_t *t, const uint8_t *b, size_t have)
{
    uint32_t v = ((uint32_t)b[0] << 16) | ((uint32_t)(have > 1u ? b[1] : 0u) << 8) |
                 (uint32_t)(have > 2u ? b[2] : 0u);
    char *q = t->line + 2 + t->n;
    q[0] = b64_alphabet[(v >> 18) & 63u];
    q[1] = b64_alphabet[(v >> 12) & 63u];
    q[2] = have > 1u ? b64_alphabet[(v >> 6) & 63u] : '=';
    q[3] = have > 2u ? b64_alphabet[v & 63u] : '=';
    t->n += 4u;
    if (t->n == DC_SMP_LINE_B64) {
        flush_line(t);
    }
}

/* Frames msg[0..n) as [len][msg][crc], base64, in lines. */
static void send_frame(const uint8_t *msg, size_t n, dc_smp_write_fn write, void *ctx)
{
    tx_lines_t t;
    uint8_t head[2], tail[2], tri[3];
    uint16_t crc = dc_smp_crc16(msg, n);
    size_t total = n + 4u, i, have = 0;
    if (write == NULL) {
        return;
    }
    t.n = 0;
    t.first = 1;
    t.write = write;
    t.ctx = ctx;
    head[0] = (uint8_t)((n + 2u) >> 8);
    head[1] = (uint8_t)(n + 2u);
    tail[0] = (uint8_t)(crc >> 8);
    tail[1] = (uint8_t)crc;
    for (i = 0; i < total; i++) {
        tri[have++] = i < 2u ? head[i] : i < 2u + n ? msg[i - 2u] : tail[i - 2u - n];
        if (have == 3u) {
            put_quad(&t, tri, 3);
            have = 0;
        }
    }
    if (have > 0u) {
        put_quad(&t, tri, have);
    }
    flush_line(&t);
}

/* ---- receive ---------------------------------------------------------------------- */

size_t dc_smp_process(dc_smp_server_t *srv, const uint8_t *msg, size_t n);

static void drop_frame(dc_smp_server_t *srv)
{
    srv->stats.dropped++;
    srv->in_frame = 0;
    srv->bad = 0;
    srv->rx_len = 0;
    srv->nquad = 0;
    srv->pad = 0;
}

static void decode_quad(dc_smp_server_t *srv)
{
    int v[4], k;
    size_t out;
    uint32_t bits;
    srv->nquad = 0;
    if (srv->pad) {
        srv->bad = 1; /* data after padding */
        return;
    }
    for (k = 0; k < 4; k++) {
        v[k] = srv->quad[k] == '=' ? -2 : b64_value(srv->quad[k]);
        if (v[k] == -1 || (v[k] == -2 && k < 2)) {
            srv->bad = 1;
            return;
        }
    }
    if (v[2] == -2 && v[3] != -2) {
        srv->bad = 1;
        return;
    }
    out = v[2] == -2 ? 1u : v[3] == -2 ? 2u : 3u;
    srv->pad = out < 3u;
    bits = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)(v[2] < 0 ? 0 : v[2]) << 6) |
           (uint32_t)(v[3] < 0 ? 0 : v[3]);
    if (out > sizeof(srv->rx) - srv->rx_len) {
        srv->bad = 1; /* longer than the frame buffer */
        return;
    }
    srv->rx[srv->rx_len++] = (uint8_t)(bits >> 16);
    if (out > 1u) {
        srv->rx[srv->rx_len++] = (uint8_t)(bits >> 8);
    }
    if (out > 2u) {
        srv->rx[srv->rx_len++] = (uint8_t)bits;
    }
}

/* An SMP line ended: complete the frame if all of it is here. */
static void end_line(dc_smp_server_t *srv, dc_smp_write_fn write, void *ctx)
{
    size_t total;
    uint16_t crc;
    size_t rsp;
    if (srv->nquad != 0u) {
        srv->bad = 1; /* a line must hold whole base64 quads */
    }
    if (srv->bad) {
        drop_frame(srv);
        return;
    }
    if (srv->rx_len < 2u) {
        return;
    }
    total = ((size_t)srv->rx[0] << 8) | srv->rx[1];
    if (total < 2u + DC_SMP_HDR_SIZE || total > sizeof(srv->rx) - 2u || srv->rx_len > 2u + total) {
        drop_frame(srv);
        return;
    }
    if (srv->rx_len < 2u + total) {
        return; /* continuation lines follow */
    }
    crc = (uint16_t)(((uint16_t)srv->rx[total] << 8) | srv->rx[total + 1u]);
    if (crc != dc_smp_crc16(srv->rx + 2, total - 2u)) {
        drop_frame(srv);
        return;
    }
    srv->stats.frames++;
    srv->in_frame = 0;
    srv->rx_len = 0;
    srv->pad = 0;
    rsp = dc_smp_process(srv, srv->rx + 2, total - 2u);
    if (rsp > 0u) {
        send_frame(srv->tx, rsp, write, ctx);
    }
}

static void text_byte(dc_smp_server_t *srv, const uint8_t *b, size_t n)
{
    if (srv->cb.text != NULL && n > 0u) {
        srv->cb.text(srv->cb.ctx, b, n);
    }
}

void dc_smp_frame_feed(dc_smp_server_t *srv, const uint8_t *bytes, size_t n, dc_smp_write_fn write,
                       void *ctx);

void dc_smp_frame_feed(dc_smp_server_t *srv, const uint8_t *bytes, size_t n, dc_smp_write_fn write,
                       void *ctx)
{
    size_t i, run = 0; /* text bytes pending delivery start at bytes + i - run */
    for (i = 0; i < n; i++) {
        uint8_t c = bytes[i];
        switch (srv->rx_state) {
        case RX_TEXT:
            if (c == 0x06u || c == 0x04u) {
                text_byte(srv, bytes + i - run, run);
                run = 0;
                srv->held = c;
                srv->rx_state = RX_HELD;
            } else {
                run++;
            }
            break;
        case RX_HELD:
            if ((srv->held == 0x06u && c == 0x09u) || (srv->held == 0x04u && c == 0x14u)) {
                if (srv->held == 0x06u) {
                    if (srv->in_frame) {
                        srv->stats.dropped++; /* a new frame abandons an unfinished one */
                    }
                    srv->in_frame = 1;
                    srv->bad = 0;
                    srv->pad = 0;
                    srv->rx_len = 0;
                    srv->nquad = 0;
                    srv->rx_state = RX_LINE;
                } else {
                    srv->nquad = 0;
                    srv->rx_state = srv->in_frame ? RX_LINE : RX_SKIP;
                }
            } else {
                text_byte(srv, &srv->held, 1);
                if (c == 0x06u || c == 0x04u) {
                    srv->held = c;
                } else {
                    srv->rx_state = RX_TEXT;
                    run = 1;
                }
            }
            break;
        case RX_LINE:
            if (c == 0x06u || c == 0x04u) {
                /* a delimiter inside a line: the line was cut off; resynchronise on it */
                if (srv->in_frame) {
                    drop_frame(srv);
                }
                srv->held = c;
                srv->rx_state = RX_HELD;
            } else if (c == '\n') {
                srv->rx_state = RX_TEXT;
                end_line(srv, write, ctx);
            } else if (c == '\r') {
                /* tolerated before the newline */
            } else {
                srv->quad[srv->nquad++] = c;
                if (srv->nquad == 4u) {
                    decode_quad(srv);
                }
            }
            break;
        default: /* RX_SKIP: a continuation line without a frame */
            if (c == '\n') {
                srv->rx_state = RX_TEXT;
            }
            break;
        }
    }
    if (srv->rx_state == RX_TEXT) {
        text_byte(srv, bytes + n - run, run);
    }
}
