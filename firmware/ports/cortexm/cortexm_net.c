/* cortexm_net.c: the real Cortex-M boards have no network stack: every dc_port_net_* call says so. */
#include "dc_port.h"

int dc_port_net_connect(const char *host, uint16_t port, uint32_t timeout_ms)
{
    (void)host;
    (void)port;
    (void)timeout_ms;
    return DC_ERR_UNSUPPORTED;
}

int dc_port_net_connect_tls(const char *host, uint16_t port, const dc_port_tls_t *tls, uint32_t timeout_ms)
{
    (void)host;
    (void)port;
    (void)tls;
    (void)timeout_ms;
    return DC_ERR_UNSUPPORTED;
}

int dc_port_net_send(int sock, const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    (void)sock;
    (void)data;
    (void)len;
    (void)timeout_ms;
    return DC_ERR_ARG;
}

int dc_port_net_recv(int sock, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    (void)sock;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    return DC_ERR_ARG;
}

void dc_port_net_close(int sock)
{
    (void)sock;
}
