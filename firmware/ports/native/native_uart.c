/* native_uart.c: the native board's UART, the master side of a pseudo-terminal. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "dc_port.h"
#include "native.h"

#define DRAIN_SETTLE_MS 20u

static int g_master = -1;
/* The port holds the slave open itself, so that (1) bytes written before a client opens the
 * pty are kept, not discarded, and (2) reads never fail with EIO between clients. */
static int g_slave = -1;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until `deadline` (-1 = forever) as a poll() timeout. */
static int poll_timeout(int64_t deadline)
{
    if (deadline < 0) {
        return -1;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) {
        return 0;
    }
    return left > 60000 ? 60000 : (int)left;
}

static int64_t deadline_for(uint32_t timeout_ms)
{
    return timeout_ms == DC_PORT_WAIT_FOREVER ? -1 : now_ms() + (int64_t)timeout_ms;
}

static int set_raw(int fd)
{
    struct termios tio;
    if (tcgetattr(fd, &tio) != 0) {
        return -1;
    }
    tio.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    tio.c_oflag &= ~(tcflag_t)OPOST;
    tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    tio.c_cflag |= CS8;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    return tcsetattr(fd, TCSANOW, &tio);
}

static int adopt_inherited(char *path, size_t cap)
{
    const char *env = getenv(DC_NATIVE_PTY_ENV);
    if (env == NULL) {
        return 0;
    }
    char *end = NULL;
    long master = strtol(env, &end, 10);
    if (end == NULL || *end != ',') {
        return -1;
    }
    long slave = strtol(end + 1, NULL, 10);
    const char *name = ptsname((int)master);
    if (name == NULL || strlen(name) >= cap) {
        return -1;
    }
    strcpy(path, name);
    g_master = (int)master;
    g_slave = (int)slave;
    unsetenv(DC_NATIVE_PTY_ENV);
    return 1;
}

int dc_native_uart_open(char *path, size_t cap)
{
    int inherited = adopt_inherited(path, cap);
    if (inherited < 0) {
        fprintf(stderr, "native: bad %s\n", DC_NATIVE_PTY_ENV);
        return -1;
    }
    if (inherited == 0) {
        g_master = posix_openpt(O_RDWR | O_NOCTTY);
        if (g_master < 0 || grantpt(g_master) != 0 || unlockpt(g_master) != 0) {
            fprintf(stderr, "native: cannot open a pseudo-terminal: %s\n", strerror(errno));
            return -1;
        }
        const char *name = ptsname(g_master);
        if (name == NULL || strlen(name) >= cap) {
            fprintf(stderr, "native: ptsname failed\n");
            return -1;
        }
        strcpy(path, name);
        g_slave = open(name, O_RDWR | O_NOCTTY);
        if (g_slave < 0 || set_raw(g_slave) != 0) {
            fprintf(stderr, "native: cannot open %s: %s\n", name, strerror(errno));
            return -1;
        }
    }
    int flags = fcntl(g_master, F_GETFL);
    if (flags < 0 || fcntl(g_master, F_SETFL, flags | O_NONBLOCK) != 0) {
        fprintf(stderr, "native: fcntl: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int dc_native_uart_fd(void)
{
    return g_master;
}

void dc_native_uart_drain(unsigned max_ms)
{
    /* Bytes still queued at the slave are lost once the master closes: give the client up
     * to max_ms to read them. The kernel moves written bytes to the slave's queue a little
     * later, so an empty queue counts only after DRAIN_SETTLE_MS. nanosleep and ioctl are
     * safe in a signal handler. */
    for (unsigned waited = 0; g_slave >= 0 && waited < max_ms; waited++) {
        int queued = 0;
        if (ioctl(g_slave, FIONREAD, &queued) != 0 || (queued == 0 && waited >= DRAIN_SETTLE_MS)) {
            return;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

int dc_native_uart_export(void)
{
    char value[32];
    snprintf(value, sizeof value, "%d,%d", g_master, g_slave);
    return setenv(DC_NATIVE_PTY_ENV, value, 1);
}

int dc_port_uart_read(uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    if (buf == NULL && cap > 0) {
        return DC_ERR_ARG;
    }
    if (cap == 0) {
        return 0;
    }
    int64_t deadline = deadline_for(timeout_ms);
    for (;;) {
        ssize_t got = read(g_master, buf, cap > 4096 ? 4096 : cap);
        if (got > 0) {
            return (int)got;
        }
        if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return DC_ERR_INTERNAL;
        }
        struct pollfd pfd = {.fd = g_master, .events = POLLIN, .revents = 0};
        int wait = poll_timeout(deadline);
        if (wait == 0) {
            return 0;
        }
        if (poll(&pfd, 1, wait) < 0 && errno != EINTR) {
            return DC_ERR_INTERNAL;
        }
    }
}

int dc_port_uart_write(const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    if (data == NULL && len > 0) {
        return DC_ERR_ARG;
    }
    int64_t deadline = deadline_for(timeout_ms);
    size_t done = 0;
    while (done < len) {
        ssize_t put = write(g_master, data + done, len - done);
        if (put > 0) {
            done += (size_t)put;
            continue;
        }
        if (put < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return DC_ERR_INTERNAL;
        }
        struct pollfd pfd = {.fd = g_master, .events = POLLOUT, .revents = 0};
        int wait = poll_timeout(deadline);
        if (wait == 0) {
            break;
        }
        if (poll(&pfd, 1, wait) < 0 && errno != EINTR) {
            return DC_ERR_INTERNAL;
        }
    }
    return (int)done;
}
