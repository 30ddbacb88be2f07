/* dc_mqtt.h: a small MQTT 3.1.1 client (OASIS standard, 2014) for boards on the network
 * themselves: CONNECT (user name, password, clean session, keep-alive), SUBSCRIBE, PUBLISH at
 * QoS 0/1 (PUBACK both ways), PINGREQ/PINGRESP, DISCONNECT. No QoS 2, no will, no
 * UNSUBSCRIBE. Used by the fleet update client (dc_fleet.h, docs/protocol-mqtt.md).
 *
 * Transport: the caller opens the TCP connection (dc_port_net_connect on a board) and hands
 * the client a dc_mqtt_transport_t (send/recv with timeouts, a millisecond clock). The client
 * never opens or closes sockets itself, so the same code runs over a socket, a test pipe or
 * a fuzzer's bytes.
 *
 * Memory: no allocation. dc_mqtt_client_t holds a receive buffer of DC_MQTT_RX_SIZE bytes
 * (one whole incoming packet: fixed header, topic, payload) and a transmit buffer of
 * DC_MQTT_TX_SIZE bytes (packet headers only: a PUBLISH payload is sent from the caller's
 * buffer). A PUBLISH larger than DC_MQTT_RX_SIZE is skipped (acknowledged when QoS 1, counted
 * in stats.dropped) and the session goes on. Every length read from the network is checked
 * against what was received before it is used.
 *
 * Errors. Functions return DC_OK or a negative dc_status_t:
 *   DC_ERR_ARG       a NULL pointer, a string too long for the protocol, a bad QoS, a call
 *                    while disconnected, or a call from inside the message callback
 *   DC_ERR_BUFFER    the packet headers do not fit DC_MQTT_TX_SIZE
 *   DC_ERR_TIMEOUT   no CONNACK/SUBACK/PUBACK/PINGRESP in time
 *   DC_ERR_PROTOCOL  the broker sent a malformed or unexpected packet (bad remaining length,
 *                    reserved flags, QoS 2, a topic that is empty, not UTF-8 or has wildcards,
 *                    a packet type a broker never sends, a wrong packet id)
 *   DC_ERR_REFUSED   CONNACK with a non-zero return code (connack_code says which: 4 bad user
 *                    name or password, 5 not authorized) or SUBACK 0x80
 *   DC_ERR_CLOSED, DC_ERR_NET  the transport's status
 * Every error except DC_ERR_ARG, DC_ERR_BUFFER and a refused SUBSCRIBE ends the session:
 * `connected` drops to 0, `last_error` keeps the status, and the caller closes the socket and
 * may connect again.
 *
 * Callback: every PUBLISH received (in any call that reads from the network) is handed to
 * `on_message` with the topic and payload pointing into the receive buffer, valid only during
 * the call. The callback must not call dc_mqtt_* functions on the same client (they return
 * DC_ERR_ARG); it records what to do and the caller acts after the call returns.
 *
 * Byte order: MQTT integers are big-endian on the wire. Not thread-safe.
 */
#ifndef DC_MQTT_H
#define DC_MQTT_H

#include <stddef.h>
#include <stdint.h>

#ifndef DC_MQTT_RX_SIZE
#define DC_MQTT_RX_SIZE 2048u /* largest incoming packet kept (fixed header included) */
#endif
#ifndef DC_MQTT_TX_SIZE
#define DC_MQTT_TX_SIZE 384u  /* CONNECT / SUBSCRIBE packets, PUBLISH headers */
#endif
#define DC_MQTT_MAX_REMAINING 268435455u /* largest remaining length MQTT can express */

/* Packet types (fixed header, high nibble). */
enum {
    DC_MQTT_CONNECT = 1, DC_MQTT_CONNACK = 2, DC_MQTT_PUBLISH = 3, DC_MQTT_PUBACK = 4,
    DC_MQTT_PUBREC = 5, DC_MQTT_PUBREL = 6, DC_MQTT_PUBCOMP = 7, DC_MQTT_SUBSCRIBE = 8,
    DC_MQTT_SUBACK = 9, DC_MQTT_UNSUBSCRIBE = 10, DC_MQTT_UNSUBACK = 11, DC_MQTT_PINGREQ = 12,
    DC_MQTT_PINGRESP = 13, DC_MQTT_DISCONNECT = 14,
};

/* The connection, provided by the caller. `send` returns `len` or a negative status; `recv`
 * returns 1..cap bytes, 0 when nothing arrived within timeout_ms, or a negative status
 * (DC_ERR_CLOSED when the peer closed); `millis` is a monotonic clock wrapping at 2^32. */
typedef struct {
    int (*send)(void *ctx, const uint8_t *data, size_t len, uint32_t timeout_ms);
    int (*recv)(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms);
    uint32_t (*millis)(void *ctx);
    void *ctx;
} dc_mqtt_transport_t;

/* A received application message. `topic` (not NUL-terminated) and `payload` point into the
 * client's receive buffer and are valid during the callback only. */
typedef struct {
    const char *topic;
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
    uint8_t qos;
    uint8_t retain;
    uint8_t dup;
} dc_mqtt_message_t;

typedef void (*dc_mqtt_message_fn)(void *ctx, const dc_mqtt_message_t *msg);

typedef struct {
    const char *client_id; /* 1..65535 bytes of UTF-8 (brokers may limit it; mosquitto: any) */
    const char *username;  /* NULL: none */
    const char *password;  /* NULL: none; needs a user name (MQTT 3.1.1 section 3.1.2.9) */
    uint16_t keepalive_s;  /* 0: no keep-alive; else PINGREQ after keepalive_s/2 idle */
    uint8_t clean_session; /* 1: the broker forgets subscriptions and queued messages */
} dc_mqtt_connect_opts_t;

typedef struct {
    uint32_t packets_in, packets_out;
    uint32_t publishes_in, publishes_out;
    uint32_t dropped;     /* PUBLISH packets larger than DC_MQTT_RX_SIZE, skipped */
    uint32_t pings;       /* PINGREQ sent */
    uint32_t bytes_in, bytes_out;
} dc_mqtt_stats_t;

typedef struct {
    dc_mqtt_transport_t io;
    dc_mqtt_message_fn on_message;
    void *message_ctx;
    uint8_t connected;       /* CONNACK accepted and no error since */
    uint8_t in_callback;     /* inside on_message: client calls are refused */
    uint8_t connack_code;    /* the last CONNACK return code (0 accepted .. 5) */
    uint8_t session_present; /* the last CONNACK's session-present flag */
    uint8_t ping_outstanding;
    uint16_t keepalive_s;
    uint16_t next_id;        /* packet identifier of the next QoS 1 PUBLISH / SUBSCRIBE */
    uint16_t wait_id;        /* the identifier an ack is awaited for (0: none) */
    uint8_t wait_type;       /* DC_MQTT_PUBACK or DC_MQTT_SUBACK awaited, 0 none */
    uint8_t wait_done;       /* the awaited ack arrived */
    uint8_t suback_code;     /* return code of the awaited SUBACK */
    uint32_t last_tx_ms;     /* clock at the last packet sent */
    uint32_t ping_sent_ms;   /* clock at the outstanding PINGREQ */
    int last_error;          /* the status that ended the session, DC_OK while connected */
    uint32_t rx_have;        /* bytes in rx */
    uint32_t discard;        /* bytes of a skipped oversize PUBLISH still to read */
    dc_mqtt_stats_t stats;
    uint8_t rx[DC_MQTT_RX_SIZE];
    uint8_t tx[DC_MQTT_TX_SIZE];
} dc_mqtt_client_t;

/* Prepares `c` (disconnected) over `io`; `on_message` (may be NULL: messages are dropped)
 * gets `ctx`. */
void dc_mqtt_init(dc_mqtt_client_t *c, const dc_mqtt_transport_t *io, dc_mqtt_message_fn on_message,
                  void *ctx);

/* Sends CONNECT over the (already open) transport and waits up to timeout_ms for CONNACK.
 * DC_OK, DC_ERR_REFUSED (see connack_code), or a status that ended the attempt. */
int dc_mqtt_connect(dc_mqtt_client_t *c, const dc_mqtt_connect_opts_t *opts, uint32_t timeout_ms);

/* Subscribes to one topic filter at `qos` (0 or 1) and waits for its SUBACK; messages that
 * arrive meanwhile go to the callback. DC_ERR_REFUSED when the broker answers 0x80. */
int dc_mqtt_subscribe(dc_mqtt_client_t *c, const char *filter, uint8_t qos, uint32_t timeout_ms);

/* Publishes `len` bytes to `topic` (no wildcards) at `qos` 0 or 1 with the retain flag;
 * QoS 1 waits for the PUBACK (messages that arrive meanwhile go to the callback). */
int dc_mqtt_publish(dc_mqtt_client_t *c, const char *topic, const uint8_t *payload, size_t len,
                    uint8_t qos, uint8_t retain, uint32_t timeout_ms);

/* Reads what arrives within timeout_ms (0: only what is already there), handles every
 * complete packet (PUBLISH to the callback, PUBACK for QoS 1 messages), and keeps the
 * session alive (PINGREQ when idle for keepalive_s/2; DC_ERR_TIMEOUT when its PINGRESP
 * takes longer than keepalive_s). DC_OK or the status that ended the session. */
int dc_mqtt_poll(dc_mqtt_client_t *c, uint32_t timeout_ms);

/* Sends DISCONNECT (best effort) and marks the session ended. DC_OK or the send status. */
int dc_mqtt_disconnect(dc_mqtt_client_t *c, uint32_t timeout_ms);

/* ---- packet codec (also used by the client; public for tests and fuzzing) ---- */

/* Parses a fixed header at buf[0..have): `*type_flags` gets byte 0, `*header_len` the fixed
 * header's length (2..5) and `*remaining` the remaining length. Returns 1 when complete, 0
 * when more bytes are needed, DC_ERR_PROTOCOL for a remaining length longer than 4 bytes
 * (3.1.1 does not demand the shortest form: longer forms are accepted). */
int dc_mqtt_fixed_header(const uint8_t *buf, size_t have, uint8_t *type_flags, uint32_t *header_len,
                         uint32_t *remaining);

/* Writes the remaining-length varint of `value` (<= DC_MQTT_MAX_REMAINING) to out (4 bytes
 * of room); returns its length 1..4, or 0 when value is too large. */
size_t dc_mqtt_put_remaining(uint8_t *out, uint32_t value);

/* 1 when the `len` bytes at `s` are well-formed UTF-8 without U+0000 (MQTT 3.1.1 1.5.3). */
int dc_mqtt_utf8_ok(const uint8_t *s, size_t len);

#endif /* DC_MQTT_H */
