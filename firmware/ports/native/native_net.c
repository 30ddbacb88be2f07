/* native_net.c: the native board's TCP client sockets (dc_port_net_*) over POSIX sockets. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* SOCK_CLOEXEC, MSG_NOSIGNAL */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "dc_port.h"
#include "native.h"

/* Handle i is g_fds[i]; -1 = free. Sockets are close-on-exec, so a reset (re-exec) starts
 * with none open. */
static int g_fds[DC_PORT_NET_SOCKETS] = {-1, -1, -1, -1};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds left until `deadline` as a poll() timeout. */
static int left_ms(uint64_t deadline)
{
    uint64_t now = now_ms();
    if (now >= deadline) {
        return 0;
    }
    return deadline - now > 0x7FFFFFFFu ? 0x7FFFFFFF : (int)(deadline - now);
}

static uint64_t deadline_of(uint32_t timeout_ms)
{
    return timeout_ms == DC_PORT_WAIT_FOREVER ? UINT64_MAX : now_ms() + timeout_ms;
}

static int fd_of(int sock)
{
    return sock >= 0 && sock < DC_PORT_NET_SOCKETS ? g_fds[sock] : -1;
}

int dc_native_net_fd(int sock)
{
    return fd_of(sock);
}

/* Connects one resolved address without blocking past `deadline`; the socket or -1/-2 (timeout). */
static int connect_one(const struct addrinfo *ai, uint64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        struct pollfd p = {fd, POLLOUT, 0};
        int rc;
        do {
            rc = poll(&p, 1, left_ms(deadline));
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            close(fd);
            return -2;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

int dc_port_net_connect(const char *host, uint16_t port, uint32_t timeout_ms)
{
    if (host == NULL || host[0] == '\0' || port == 0) {
        return DC_ERR_ARG;
    }
    int slot = -1;
    for (int i = 0; i < DC_PORT_NET_SOCKETS; i++) {
        if (g_fds[i] < 0) {
            slot = i;
            break;
        }
    }
    if (slot < 0) {
        return DC_ERR_BUFFER;
    }
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *list = NULL;
    if (getaddrinfo(host, service, &hints, &list) != 0 || list == NULL) {
        return DC_ERR_NET;
    }
    uint64_t deadline = deadline_of(timeout_ms);
    int fd = -1;
    for (const struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, deadline);
        if (fd == -2) {
            break;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) {
        return fd == -2 ? DC_ERR_TIMEOUT : DC_ERR_NET;
    }
    /* Small request/acknowledge exchanges: send each packet at once (no Nagle delay). */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    g_fds[slot] = fd;
    return slot;
}

int dc_port_net_send(int sock, const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    int fd = fd_of(sock);
    if (fd < 0 || (data == NULL && len > 0) || len > 0x7FFFFFFFu) {
        return DC_ERR_ARG;
    }
    if (dc_native_tls_active(sock)) {
        return dc_native_tls_send(sock, data, len, timeout_ms);
    }
    uint64_t deadline = deadline_of(timeout_ms);
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, data + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {fd, POLLOUT, 0};
            int rc = poll(&p, 1, left_ms(deadline));
            if (rc == 0) {
                return DC_ERR_TIMEOUT;
            }
            continue;
        }
        return (errno == EPIPE || errno == ECONNRESET) ? DC_ERR_CLOSED : DC_ERR_NET;
    }
    return (int)len;
}

int dc_port_net_recv(int sock, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    int fd = fd_of(sock);
    if (fd < 0 || (buf == NULL && cap > 0)) {
        return DC_ERR_ARG;
    }
    if (cap == 0) {
        return 0;
    }
    if (dc_native_tls_active(sock)) {
        return dc_native_tls_recv(sock, buf, cap, timeout_ms);
    }
    if (cap > 0x7FFFFFFFu) {
        cap = 0x7FFFFFFFu;
    }
    uint64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        ssize_t n = recv(fd, buf, cap, 0);
        if (n > 0) {
#ifdef TCP_QUICKACK
            /* Acknowledge at once: a sender holding its last small segment for our ACK (Nagle)
             * would otherwise wait for Linux's delayed ACK at the end of every burst. */
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#endif
            return (int)n;
        }
        if (n == 0) {
            return DC_ERR_CLOSED;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return errno == ECONNRESET ? DC_ERR_CLOSED : DC_ERR_NET;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, left_ms(deadline));
        if (rc == 0) {
            return 0;
        }
    }
}

void dc_port_net_close(int sock)
{
    int fd = fd_of(sock);
    if (fd >= 0) {
        if (dc_native_tls_active(sock)) {
            dc_native_tls_close(sock);
        }
        close(fd);
        g_fds[sock] = -1;
    }
}
