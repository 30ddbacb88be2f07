/* dc_mqtt_client.c: the MQTT 3.1.1 client session: connect, subscribe, publish, poll, keep-alive. */
#include <string.h>

#include "dc_mqtt.h"
#include "dc_status.h"

#define SEND_TIMEOUT_MS 5000u /* one packet to the transport */

/* ---- small helpers ---------------------------------------------------------------- */

static uint32_t now(const dc_mqtt_client_t *c)
{
    return c->io.millis(c->io.ctx);
}

/* Ends the session with `status` (kept in last_error) and returns it. */
static int fail(dc_mqtt_client_t *c, int status)
{
    c->connected = 0;
    c->last_error = status;
    c->wait_type = 0;
    return status;
}

static int send_bytes(dc_mqtt_client_t *c, const uint8_t *data, size_t len)
{
    int rc;
    if (len == 0u) {
        return DC_OK;
    }
    rc = c->io.send(c->io.ctx, data, len, SEND_TIMEOUT_MS);
    if (rc < 0) {
        return fail(c, rc);
    }
    if ((size_t)rc != len) {
        return fail(c, DC_ERR_TIMEOUT);
    }
    c->stats.bytes_out += (uint32_t)len;
    c->last_tx_ms = now(c);
    return DC_OK;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

/* Appends a length-prefixed string to tx at *at; DC_ERR_BUFFER when it does not fit. */
static int put_string(dc_mqtt_client_t *c, size_t *at, const uint8_t *s, size_t n)
{
    if (n > 0xFFFFu || DC_MQTT_TX_SIZE - *at < 2u + n) {
        return DC_ERR_BUFFER;
    }
    put16(c->tx + *at, (uint32_t)n);
    memcpy(c->tx + *at + 2, s, n);
    *at += 2u + n;
    return DC_OK;
}

/* A topic name a client may publish to or receive on: 1..65535 bytes of UTF-8, no
 * wildcards (MQTT 3.1.1 section 4.7). */
static int topic_name_ok(const uint8_t *t, size_t n)
{
    size_t i;
    if (n == 0u || n > 0xFFFFu || !dc_mqtt_utf8_ok(t, n)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (t[i] == '+' || t[i] == '#') {
            return 0;
        }
    }
    return 1;
}

static uint16_t take_id(dc_mqtt_client_t *c)
{
    if (c->next_id == 0u) {
        c->next_id = 1;
    }
    return c->next_id++;
}

/* Sends a two-byte-body packet (PUBACK) or a bare one (PINGREQ, DISCONNECT). */
static int send_short(dc_mqtt_client_t *c, uint8_t type_flags, int with_id, uint16_t id)
{
    uint8_t p[4];
    size_t n = 2;
    p[0] = type_flags;
    p[1] = with_id ? 2u : 0u;
    if (with_id) {
        put16(p + 2, id);
        n = 4;
    }
    c->stats.packets_out++;
    return send_bytes(c, p, n);
}

/* ---- receiving -------------------------------------------------------------------- */

static int handle_publish(dc_mqtt_client_t *c, uint8_t flags, const uint8_t *body, uint32_t len)
{
    dc_mqtt_message_t m;
    uint8_t qos = (uint8_t)((flags >> 1) & 3u);
    uint32_t tlen, at;
    uint16_t id = 0;
    if (qos > 1u || (qos == 0u && (flags & 8u) != 0u) || len < 2u) {
        return DC_ERR_PROTOCOL; /* QoS 2/3 never subscribed; DUP needs QoS > 0 */
    }
    tlen = get16(body);
    at = 2u + tlen;
    if (tlen > len - 2u || !topic_name_ok(body + 2, tlen)) {
        return DC_ERR_PROTOCOL;
    }
    if (qos == 1u) {
        if (len - at < 2u) {
            return DC_ERR_PROTOCOL;
        }
        id = (uint16_t)get16(body + at);
        if (id == 0u) {
            return DC_ERR_PROTOCOL;
        }
        at += 2u;
    }
    c->stats.publishes_in++;
    if (c->on_message != NULL) {
        m.topic = (const char *)(body + 2);
        m.topic_len = tlen;
        m.payload = body + at;
        m.payload_len = len - at;
        m.qos = qos;
        m.retain = (uint8_t)(flags & 1u);
        m.dup = (uint8_t)((flags >> 3) & 1u);
        c->in_callback = 1;
        c->on_message(c->message_ctx, &m);
        c->in_callback = 0;
    }
    return qos == 1u ? send_short(c, DC_MQTT_PUBACK << 4, 1, id) : DC_OK;
}

/* Handles one complete packet: type/flags byte, body of `len` bytes. */
static int handle_packet(dc_mqtt_client_t *c, uint8_t type_flags, const uint8_t *body, uint32_t len)
{
    uint8_t type = (uint8_t)(type_flags >> 4), flags = (uint8_t)(type_flags & 0xFu);
    c->stats.packets_in++;
    if (type == DC_MQTT_PUBLISH) {
        return handle_publish(c, flags, body, len);
    }
    if (flags != 0u) {
        return DC_ERR_PROTOCOL; /* reserved flags of every other type a broker sends are 0 */
    }
    switch (type) {
    case DC_MQTT_CONNACK:
        if (c->wait_type != DC_MQTT_CONNACK || len != 2u || (body[0] & 0xFEu) != 0u || body[1] > 5u) {
            return DC_ERR_PROTOCOL;
        }
        c->session_present = body[0];
        c->connack_code = body[1];
        c->wait_done = 1;
        return DC_OK;
    case DC_MQTT_PUBACK:
        if (len != 2u || c->wait_type != DC_MQTT_PUBACK || get16(body) != c->wait_id) {
            return DC_ERR_PROTOCOL;
        }
        c->wait_done = 1;
        return DC_OK;
    case DC_MQTT_SUBACK:
        if (len != 3u || c->wait_type != DC_MQTT_SUBACK || get16(body) != c->wait_id ||
            (body[2] > 1u && body[2] != 0x80u)) {
            return DC_ERR_PROTOCOL; /* one filter per SUBSCRIBE, granted QoS <= 1 asked */
        }
        c->suback_code = body[2];
        c->wait_done = 1;
        return DC_OK;
    case DC_MQTT_PINGRESP:
        if (len != 0u) {
            return DC_ERR_PROTOCOL;
        }
        c->ping_outstanding = 0;
        return DC_OK;
    default:
        return DC_ERR_PROTOCOL; /* CONNECT, PUBREC.., SUBSCRIBE, UNSUBACK, PINGREQ, DISCONNECT */
    }
}

/* Skips a PUBLISH larger than the receive buffer, whose first DC_MQTT_RX_SIZE bytes are in rx:
 * acknowledges it when QoS 1 (its packet id is among those bytes) and discards the rest. */
static int skip_oversize(dc_mqtt_client_t *c, uint32_t header_len, uint32_t total)
{
    const uint8_t *body = c->rx + header_len;
    uint8_t qos = (uint8_t)((c->rx[0] >> 1) & 3u);
    uint32_t tlen = get16(body);
    if (qos > 1u || (qos == 0u && (c->rx[0] & 8u) != 0u)) {
        return DC_ERR_PROTOCOL;
    }
    c->stats.packets_in++;
    c->stats.dropped++;
    c->discard = total - DC_MQTT_RX_SIZE;
    c->rx_have = 0;
    if (qos == 1u && header_len + 2u + tlen + 2u <= DC_MQTT_RX_SIZE) {
        uint16_t id = (uint16_t)get16(body + 2 + tlen);
        if (id == 0u) {
            return DC_ERR_PROTOCOL;
        }
        return send_short(c, DC_MQTT_PUBACK << 4, 1, id);
    }
    return DC_OK;
}

/* Handles every complete packet in rx. DC_OK (maybe waiting for more bytes) or an error. */
static int process(dc_mqtt_client_t *c)
{
    while (c->discard == 0u && c->rx_have > 0u) {
        uint8_t tf;
        uint32_t hlen, remaining, total;
        int rc = dc_mqtt_fixed_header(c->rx, c->rx_have, &tf, &hlen, &remaining);
        if (rc <= 0) {
            return rc; /* 0: header incomplete */
        }
        if (remaining > DC_MQTT_RX_SIZE - hlen) {
            if ((tf >> 4) != DC_MQTT_PUBLISH) {
                return DC_ERR_PROTOCOL; /* no other packet a broker sends is this long */
            }
            if (c->rx_have < DC_MQTT_RX_SIZE) {
                return DC_OK;
            }
            rc = skip_oversize(c, hlen, hlen + remaining);
            if (rc != DC_OK) {
                return rc;
            }
            continue;
        }
        total = hlen + remaining;
        if (c->rx_have < total) {
            return DC_OK;
        }
        rc = handle_packet(c, tf, c->rx + hlen, remaining);
        if (rc != DC_OK) {
            return rc;
        }
        memmove(c->rx, c->rx + total, c->rx_have - total);
        c->rx_have -= total;
    }
    return DC_OK;
}

/* One transport read (waiting at most timeout_ms), then process. DC_OK or an error that
 * ended the session. */
static int receive(dc_mqtt_client_t *c, uint32_t timeout_ms)
{
    int rc, n;
    if (c->discard > 0u) {
        uint32_t cap = c->discard < DC_MQTT_RX_SIZE ? c->discard : DC_MQTT_RX_SIZE;
        n = c->io.recv(c->io.ctx, c->rx, cap, timeout_ms);
        if (n < 0) {
            return fail(c, n);
        }
        if ((uint32_t)n > cap) {
            return fail(c, DC_ERR_INTERNAL);
        }
        c->discard -= (uint32_t)n;
        c->stats.bytes_in += (uint32_t)n;
        return DC_OK;
    }
    n = c->io.recv(c->io.ctx, c->rx + c->rx_have, DC_MQTT_RX_SIZE - c->rx_have, timeout_ms);
    if (n < 0) {
        return fail(c, n);
    }
    if ((uint32_t)n > DC_MQTT_RX_SIZE - c->rx_have) {
        return fail(c, DC_ERR_INTERNAL); /* a transport that overran its buffer */
    }
    c->rx_have += (uint32_t)n;
    c->stats.bytes_in += (uint32_t)n;
    rc = process(c);
    return rc == DC_OK ? DC_OK : fail(c, rc);
}

/* Waits until the awaited ack (c->wait_type/wait_id) arrives, at most timeout_ms. */
static int await(dc_mqtt_client_t *c, uint32_t timeout_ms)
{
    uint32_t start = now(c);
    int rc = process(c);
    if (rc != DC_OK) {
        return fail(c, rc);
    }
    while (!c->wait_done) {
        uint32_t spent = now(c) - start;
        if (spent >= timeout_ms) {
            return fail(c, DC_ERR_TIMEOUT);
        }
        rc = receive(c, timeout_ms - spent);
        if (rc != DC_OK) {
            return rc;
        }
    }
    c->wait_type = 0;
    return DC_OK;
}

static void expect(dc_mqtt_client_t *c, uint8_t type, uint16_t id)
{
    c->wait_type = type;
    c->wait_id = id;
    c->wait_done = 0;
}

/* ---- public ----------------------------------------------------------------------- */

void dc_mqtt_init(dc_mqtt_client_t *c, const dc_mqtt_transport_t *io, dc_mqtt_message_fn on_message,
                  void *ctx)
{
    if (c == NULL || io == NULL) {
        return;
    }
    memset(c, 0, sizeof(*c));
    c->io = *io;
    c->on_message = on_message;
    c->message_ctx = ctx;
    c->next_id = 1;
}

static int usable(const dc_mqtt_client_t *c)
{
    return c != NULL && c->io.send != NULL && c->io.recv != NULL && c->io.millis != NULL &&
           !c->in_callback;
}

int dc_mqtt_connect(dc_mqtt_client_t *c, const dc_mqtt_connect_opts_t *o, uint32_t timeout_ms)
{
    static const uint8_t protocol[7] = {0, 4, 'M', 'Q', 'T', 'T', 4};
    size_t at = 5, id_len, user_len = 0, pass_len = 0, hdr;
    uint8_t flags = 0, head[5];
    uint32_t remaining;
    int rc;
    if (!usable(c) || o == NULL || o->client_id == NULL || (o->password != NULL && o->username == NULL)) {
        return DC_ERR_ARG;
    }
    id_len = strlen(o->client_id);
    if (o->username != NULL) {
        user_len = strlen(o->username);
        flags |= 0x80u;
    }
    if (o->password != NULL) {
        pass_len = strlen(o->password);
        flags |= 0x40u;
    }
    if (id_len == 0u || !dc_mqtt_utf8_ok((const uint8_t *)o->client_id, id_len) ||
        !dc_mqtt_utf8_ok((const uint8_t *)o->username, user_len)) {
        return DC_ERR_ARG;
    }
    if (o->clean_session) {
        flags |= 0x02u;
    }
    /* Build the variable header and payload after 5 bytes of room for the fixed header. */
    memcpy(c->tx + at, protocol, sizeof protocol);
    at += sizeof protocol;
    c->tx[at++] = flags;
    put16(c->tx + at, o->keepalive_s);
    at += 2;
    rc = put_string(c, &at, (const uint8_t *)o->client_id, id_len);
    if (rc == DC_OK && o->username != NULL) {
        rc = put_string(c, &at, (const uint8_t *)o->username, user_len);
    }
    if (rc == DC_OK && o->password != NULL) {
        rc = put_string(c, &at, (const uint8_t *)o->password, pass_len);
    }
    if (rc != DC_OK) {
        return rc;
    }
    remaining = (uint32_t)(at - 5u);
    head[0] = DC_MQTT_CONNECT << 4;
    hdr = 1u + dc_mqtt_put_remaining(head + 1, remaining);
    memcpy(c->tx + 5u - hdr, head, hdr);
    /* A fresh session: forget what an earlier connection left in the buffers. */
    c->connected = 0;
    c->last_error = DC_OK;
    c->rx_have = 0;
    c->discard = 0;
    c->ping_outstanding = 0;
    c->keepalive_s = o->keepalive_s;
    c->connack_code = 0;
    c->session_present = 0;
    c->stats.packets_out++;
    rc = send_bytes(c, c->tx + 5u - hdr, hdr + remaining);
    if (rc != DC_OK) {
        return rc;
    }
    expect(c, DC_MQTT_CONNACK, 0);
    rc = await(c, timeout_ms);
    if (rc != DC_OK) {
        return rc;
    }
    if (c->connack_code != 0u) {
        return fail(c, DC_ERR_REFUSED);
    }
    c->connected = 1;
    return DC_OK;
}

int dc_mqtt_subscribe(dc_mqtt_client_t *c, const char *filter, uint8_t qos, uint32_t timeout_ms)
{
    size_t at = 5, flen, hdr;
    uint8_t head[5];
    uint16_t id;
    int rc;
    if (!usable(c) || !c->connected || filter == NULL || qos > 1u) {
        return DC_ERR_ARG;
    }
    flen = strlen(filter);
    if (flen == 0u || !dc_mqtt_utf8_ok((const uint8_t *)filter, flen)) {
        return DC_ERR_ARG;
    }
    id = take_id(c);
    if (DC_MQTT_TX_SIZE - at < 2u) {
        return DC_ERR_BUFFER;
    }
    put16(c->tx + at, id);
    at += 2;
    rc = put_string(c, &at, (const uint8_t *)filter, flen);
    if (rc != DC_OK || DC_MQTT_TX_SIZE - at < 1u) {
        return DC_ERR_BUFFER;
    }
    c->tx[at++] = qos;
    head[0] = DC_MQTT_SUBSCRIBE << 4 | 0x2u;
    hdr = 1u + dc_mqtt_put_remaining(head + 1, (uint32_t)(at - 5u));
    memcpy(c->tx + 5u - hdr, head, hdr);
    c->stats.packets_out++;
    rc = send_bytes(c, c->tx + 5u - hdr, hdr + at - 5u);
    if (rc != DC_OK) {
        return rc;
    }
    expect(c, DC_MQTT_SUBACK, id);
    rc = await(c, timeout_ms);
    if (rc != DC_OK) {
        return rc;
    }
    return c->suback_code == 0x80u ? DC_ERR_REFUSED : DC_OK;
}

int dc_mqtt_publish(dc_mqtt_client_t *c, const char *topic, const uint8_t *payload, size_t len,
                    uint8_t qos, uint8_t retain, uint32_t timeout_ms)
{
    size_t at = 5, tlen, hdr;
    uint8_t head[5];
    uint16_t id = 0;
    uint64_t remaining;
    int rc;
    if (!usable(c) || !c->connected || topic == NULL || (payload == NULL && len > 0u) || qos > 1u) {
        return DC_ERR_ARG;
    }
    tlen = strlen(topic);
    if (!topic_name_ok((const uint8_t *)topic, tlen)) {
        return DC_ERR_ARG;
    }
    remaining = 2u + (uint64_t)tlen + (qos ? 2u : 0u) + (uint64_t)len;
    if (remaining > DC_MQTT_MAX_REMAINING) {
        return DC_ERR_ARG;
    }
    rc = put_string(c, &at, (const uint8_t *)topic, tlen);
    if (rc != DC_OK) {
        return rc;
    }
    if (qos) {
        if (DC_MQTT_TX_SIZE - at < 2u) {
            return DC_ERR_BUFFER;
        }
        id = take_id(c);
        put16(c->tx + at, id);
        at += 2;
    }
    head[0] = (uint8_t)(DC_MQTT_PUBLISH << 4 | qos << 1 | (retain ? 1u : 0u));
    hdr = 1u + dc_mqtt_put_remaining(head + 1, (uint32_t)remaining);
    memcpy(c->tx + 5u - hdr, head, hdr);
    c->stats.packets_out++;
    c->stats.publishes_out++;
    if (len <= DC_MQTT_TX_SIZE - at) {
        /* One write when it fits: a header and a small payload in two TCP segments would wait
         * for the peer's delayed ACK (Nagle), about 40 ms per message on Linux. */
        if (len > 0u) {
            memcpy(c->tx + at, payload, len);
        }
        rc = send_bytes(c, c->tx + 5u - hdr, hdr + at - 5u + len);
    } else {
        rc = send_bytes(c, c->tx + 5u - hdr, hdr + at - 5u);
        if (rc == DC_OK) {
            rc = send_bytes(c, payload, len);
        }
    }
    if (rc != DC_OK || qos == 0u) {
        return rc;
    }
    expect(c, DC_MQTT_PUBACK, id);
    return await(c, timeout_ms);
}

int dc_mqtt_poll(dc_mqtt_client_t *c, uint32_t timeout_ms)
{
    uint32_t t, ka_ms;
    int rc;
    if (!usable(c) || !c->connected) {
        return DC_ERR_ARG;
    }
    ka_ms = (uint32_t)c->keepalive_s * 1000u;
    if (ka_ms > 0u) {
        /* Wake up in time for the next keep-alive duty. */
        uint32_t idle = now(c) - (c->ping_outstanding ? c->ping_sent_ms : c->last_tx_ms);
        uint32_t due = c->ping_outstanding ? ka_ms : ka_ms / 2u;
        uint32_t left = idle >= due ? 0u : due - idle;
        if (timeout_ms > left) {
            timeout_ms = left;
        }
    }
    rc = receive(c, timeout_ms);
    if (rc != DC_OK || ka_ms == 0u) {
        return rc;
    }
    t = now(c);
    if (c->ping_outstanding) {
        if (t - c->ping_sent_ms >= ka_ms) {
            return fail(c, DC_ERR_TIMEOUT);
        }
    } else if (t - c->last_tx_ms >= ka_ms / 2u) {
        rc = send_short(c, DC_MQTT_PINGREQ << 4, 0, 0);
        if (rc != DC_OK) {
            return rc;
        }
        c->stats.pings++;
        c->ping_outstanding = 1;
        c->ping_sent_ms = t;
    }
    return DC_OK;
}

int dc_mqtt_disconnect(dc_mqtt_client_t *c, uint32_t timeout_ms)
{
    int rc;
    (void)timeout_ms;
    if (!usable(c)) {
        return DC_ERR_ARG;
    }
    if (!c->connected) {
        return DC_OK;
    }
    rc = send_short(c, DC_MQTT_DISCONNECT << 4, 0, 0);
    c->connected = 0;
    c->wait_type = 0;
    return rc;
}
