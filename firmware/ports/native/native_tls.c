/* native_tls.c: TLS 1.2 client sockets of the native board (dc_port_net_connect_tls) over mbedTLS 2.28 from Debian. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MSG_NOSIGNAL */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "dc_port.h"
#include "native.h"

/* One TLS session per socket handle (mbedTLS allocates its buffers from the host's heap: this
 * is the host-process port; firmware/lib itself never allocates). */
typedef struct {
    int used;
    int fd;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca, cert;
    mbedtls_pk_context key;
} tls_t;

static tls_t g_tls[DC_PORT_NET_SOCKETS];
static mbedtls_entropy_context g_entropy;
static mbedtls_ctr_drbg_context g_drbg;
static int g_seeded;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t deadline_of(uint32_t timeout_ms)
{
    return timeout_ms == DC_PORT_WAIT_FOREVER ? UINT64_MAX : now_ms() + timeout_ms;
}

/* Waits until `fd` is readable (want_read) or writable, at most until `deadline`: 1, or 0 on timeout. */
static int wait_fd(int fd, int want_read, uint64_t deadline)
{
    for (;;) {
        uint64_t now = now_ms();
        int ms = now >= deadline ? 0 : (deadline - now > 0x7FFFFFFFu ? 0x7FFFFFFF : (int)(deadline - now));
        struct pollfd p = {fd, (short)(want_read ? POLLIN : POLLOUT), 0};
        int rc = poll(&p, 1, ms);
        if (rc > 0) {
            return 1;
        }
        if (rc == 0 || errno != EINTR) {
            return 0;
        }
    }
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    const tls_t *t = (const tls_t *)ctx;
    ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) {
        return (int)n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    }
    return (errno == EPIPE || errno == ECONNRESET) ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    const tls_t *t = (const tls_t *)ctx;
    ssize_t n = recv(t->fd, buf, len, 0);
    if (n >= 0) {
        return (int)n; /* 0: the peer closed the connection */
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

static void release(tls_t *t)
{
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_x509_crt_free(&t->cert);
    mbedtls_pk_free(&t->key);
    t->used = 0;
    t->fd = -1;
}

/* Sets up `t` for `tls`; 0 or -1 (credentials that do not parse). */
static int configure(tls_t *t, const dc_port_tls_t *tls, const char *host)
{
    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_x509_crt_init(&t->cert);
    mbedtls_pk_init(&t->key);
    if (mbedtls_x509_crt_parse_der(&t->ca, tls->ca, tls->ca_len) != 0) {
        return -1;
    }
    if (mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        return -1;
    }
    mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &g_drbg);
    if (tls->cert_len > 0u) {
        if (mbedtls_x509_crt_parse_der(&t->cert, tls->cert, tls->cert_len) != 0 ||
            mbedtls_pk_parse_key(&t->key, tls->key, tls->key_len, NULL, 0) != 0 ||
            mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key) != 0) {
            return -1;
        }
    }
    if (mbedtls_ssl_setup(&t->ssl, &t->conf) != 0 ||
        mbedtls_ssl_set_hostname(&t->ssl, tls->server_name != NULL ? tls->server_name : host) != 0) {
        return -1;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    return 0;
}

int dc_port_net_connect_tls(const char *host, uint16_t port, const dc_port_tls_t *tls, uint32_t timeout_ms)
{
    uint64_t deadline = deadline_of(timeout_ms);
    tls_t *t;
    int sock, rc;
    if (tls == NULL || tls->ca == NULL || tls->ca_len == 0u || (tls->cert_len > 0u && tls->key == NULL)) {
        return DC_ERR_ARG;
    }
    if (!g_seeded) {
        static const unsigned char personal[] = "dcfw-native-tls";
        mbedtls_entropy_init(&g_entropy);
        mbedtls_ctr_drbg_init(&g_drbg);
        if (mbedtls_ctr_drbg_seed(&g_drbg, mbedtls_entropy_func, &g_entropy, personal, sizeof personal - 1u) != 0) {
            return DC_ERR_INTERNAL;
        }
        g_seeded = 1;
    }
    sock = dc_port_net_connect(host, port, timeout_ms);
    if (sock < 0) {
        return sock;
    }
    t = &g_tls[sock];
    t->fd = dc_native_net_fd(sock);
    if (configure(t, tls, host) != 0) {
        release(t);
        dc_port_net_close(sock);
        return DC_ERR_TLS;
    }
    t->used = 1;
    while ((rc = mbedtls_ssl_handshake(&t->ssl)) != 0) {
        if ((rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) ||
            !wait_fd(t->fd, rc == MBEDTLS_ERR_SSL_WANT_READ, deadline)) {
            dc_port_net_close(sock); /* releases t */
            return (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) ? DC_ERR_TIMEOUT : DC_ERR_TLS;
        }
    }
    return sock;
}

int dc_native_tls_active(int sock)
{
    return sock >= 0 && sock < DC_PORT_NET_SOCKETS && g_tls[sock].used;
}

int dc_native_tls_send(int sock, const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    tls_t *t = &g_tls[sock];
    uint64_t deadline = deadline_of(timeout_ms);
    size_t done = 0;
    while (done < len) {
        int n = mbedtls_ssl_write(&t->ssl, data + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) {
            if (!wait_fd(t->fd, n == MBEDTLS_ERR_SSL_WANT_READ, deadline)) {
                return DC_ERR_TIMEOUT;
            }
        } else {
            return n == MBEDTLS_ERR_NET_CONN_RESET ? DC_ERR_CLOSED : DC_ERR_NET;
        }
    }
    return (int)len;
}

int dc_native_tls_recv(int sock, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    tls_t *t = &g_tls[sock];
    uint64_t deadline = deadline_of(timeout_ms);
    if (cap > 0x7FFFFFFFu) {
        cap = 0x7FFFFFFFu;
    }
    for (;;) {
        int n = mbedtls_ssl_read(&t->ssl, buf, cap);
        if (n > 0) {
            return n;
        }
        if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == MBEDTLS_ERR_NET_CONN_RESET) {
            return DC_ERR_CLOSED;
        }
        if (n != MBEDTLS_ERR_SSL_WANT_READ && n != MBEDTLS_ERR_SSL_WANT_WRITE) {
            return DC_ERR_NET;
        }
        if (!wait_fd(t->fd, n == MBEDTLS_ERR_SSL_WANT_READ, deadline)) {
            return 0; /* nothing within the timeout */
        }
    }
}

void dc_native_tls_close(int sock)
{
    tls_t *t = &g_tls[sock];
    (void)mbedtls_ssl_close_notify(&t->ssl); /* best effort on a non-blocking socket */
    release(t);
}
