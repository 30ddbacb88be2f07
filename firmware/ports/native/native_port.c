/* native_port.c: the native board's main(), signals, time, exit and reset. */
#define _XOPEN_SOURCE 700
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dc_port.h"
#include "native.h"

static const dc_port_info_t g_info = {
    .name = "native",
    .cpu = "host",
    .ram_size = 4u * 1024u * 1024u, /* nominal: the process itself is not limited */
    .flash_size = DC_NATIVE_FLASH_SIZE,
    .counter_hz = 1000000000u,
    .counter_unit = "ns",
};

static char **g_argv;
static struct timespec g_start;
static volatile sig_atomic_t g_critical;
static volatile sig_atomic_t g_term_pending;

const dc_port_info_t *dc_port_info(void)
{
    return &g_info;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t dc_port_millis(void)
{
    uint64_t start = (uint64_t)g_start.tv_sec * 1000000000u + (uint64_t)g_start.tv_nsec;
    return (uint32_t)((monotonic_ns() - start) / 1000000u);
}

uint64_t dc_port_counter(void)
{
    return monotonic_ns();
}

void dc_port_profile_mark(uint32_t region)
{
    (void)region; /* no instruction counter on the host; see docs/boards.md */
}

/* How long an exiting firmware waits for the client to read its last UART bytes. */
#define EXIT_DRAIN_MS 200u

void dc_port_exit(int code)
{
    fflush(stdout);
    dc_native_uart_drain(EXIT_DRAIN_MS);
    exit(code & 0xFF);
}

void dc_port_reset(void)
{
    fflush(stdout);
    if (dc_native_uart_export() == 0) {
        execv("/proc/self/exe", g_argv);
    }
    perror("native: reset failed");
    _exit(DC_PORT_EXIT_FAULT);
}

void dc_native_critical_enter(void)
{
    g_critical = 1;
}

void dc_native_critical_exit(void)
{
    g_critical = 0;
    if (g_term_pending) {
        _exit(0);
    }
}

static void on_term(int sig)
{
    (void)sig;
    if (g_critical) {
        g_term_pending = 1;
        return;
    }
    _exit(0);
}

/* Append the hexadecimal digits of `value` to `out`; returns the new end. */
static char *put_hex(char *out, uintptr_t value)
{
    int started = 0;
    for (int shift = (int)(sizeof value * 8) - 4; shift >= 0; shift -= 4) {
        unsigned digit = (unsigned)(value >> shift) & 0xFu;
        if (digit != 0 || started || shift < 32) {
            *out++ = "0123456789abcdef"[digit];
            started = 1;
        }
    }
    return out;
}

/* The native stand-in for the Cortex-M HardFault handler: report on the UART, then exit. */
static void on_fault(int sig, siginfo_t *info, void *context)
{
    (void)context;
    const char *name = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS"
                     : sig == SIGILL ? "SIGILL" : sig == SIGTRAP ? "SIGTRAP" : "SIGFPE";
    char line[96];
    char *p = line;
    static const char head[] = "FAULT signal=";
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    size_t n = strlen(name);
    memcpy(p, name, n);
    p += n;
    static const char addr[] = " addr=0x";
    memcpy(p, addr, sizeof addr - 1);
    p += sizeof addr - 1;
    p = put_hex(p, (uintptr_t)info->si_addr);
    *p++ = '\r';
    *p++ = '\n';
    int fd = dc_native_uart_fd();
    if (fd >= 0) {
        ssize_t ignored = write(fd, line, (size_t)(p - line));
        (void)ignored;
    }
    dc_native_uart_drain(EXIT_DRAIN_MS);
    _exit(DC_PORT_EXIT_FAULT);
}

static int install_signals(void)
{
    struct sigaction term;
    memset(&term, 0, sizeof term);
    term.sa_handler = on_term;
    sigemptyset(&term.sa_mask);
    struct sigaction fault;
    memset(&fault, 0, sizeof fault);
    fault.sa_sigaction = on_fault;
    fault.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigemptyset(&fault.sa_mask);
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    return sigaction(SIGTERM, &term, NULL) | sigaction(SIGINT, &term, NULL)
         | sigaction(SIGHUP, &term, NULL) | sigaction(SIGPIPE, &ignore, NULL)
         | sigaction(SIGSEGV, &fault, NULL) | sigaction(SIGBUS, &fault, NULL)
         | sigaction(SIGILL, &fault, NULL) | sigaction(SIGFPE, &fault, NULL)
         | sigaction(SIGTRAP, &fault, NULL); /* __builtin_trap on arm64 hosts */
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--state DIR]\n"
            "  Runs the dcagent firmware on a pseudo-terminal. Prints \"port=/dev/pts/N\" as\n"
            "  its first line on stdout, then serves until SIGTERM or the firmware exits.\n"
            "  --state DIR  keep the flash in DIR/%s (created erased on first use);\n"
            "               without it the flash is erased memory, lost at exit.\n",
            prog, DC_NATIVE_FLASH_FILE);
    return 2;
}

int main(int argc, char **argv)
{
    const char *state_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            state_dir = argv[++i];
        } else {
            return usage(argv[0]);
        }
    }
    g_argv = argv;
    clock_gettime(CLOCK_MONOTONIC, &g_start);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int reset = getenv(DC_NATIVE_PTY_ENV) != NULL;
    char port[256];
    if (install_signals() != 0 || dc_native_uart_open(port, sizeof port) != 0) {
        return 1;
    }
    if (reset) {
        printf("reset\n");
    } else {
        printf("port=%s\n", port);
    }
    fflush(stdout);
    if (dc_native_flash_open(state_dir) != 0) {
        return 1;
    }
    dc_port_exit(dc_app_main());
}
