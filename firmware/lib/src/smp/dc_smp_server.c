/* dc_smp_server.c: the SMP server core: header parsing, dispatch, error responses, and the
 * OS management group (echo, reset, MCUmgr parameters). */
#include <string.h>

#include "dc_smp_internal.h"
#include "dc_status.h"

void dc_smp_frame_feed(dc_smp_server_t *srv, const uint8_t *bytes, size_t n, dc_smp_write_fn write,
                       void *ctx);
size_t dc_smp_process(dc_smp_server_t *srv, const uint8_t *msg, size_t n);

int dc_smp_server_init(dc_smp_server_t *srv, dc_slots_t *slots, const dc_smp_callbacks_t *cb)
{
    if (srv == NULL || slots == NULL) {
        return DC_ERR_ARG;
    }
    memset(srv, 0, sizeof(*srv));
    srv->slots = slots;
    if (cb != NULL) {
        srv->cb = *cb;
    }
    return DC_OK;
}

void dc_smp_server_feed(dc_smp_server_t *srv, const uint8_t *bytes, size_t n, dc_smp_write_fn write,
                        void *write_ctx)
{
    if (srv == NULL || (bytes == NULL && n != 0u)) {
        return;
    }
    srv->reset_due = 0;
    dc_smp_frame_feed(srv, bytes, n, write, write_ctx);
    if (srv->reset_due && srv->cb.reset != NULL) {
        srv->reset_due = 0;
        srv->cb.reset(srv->cb.ctx);
    }
}

size_t dc_smp_server_handle(dc_smp_server_t *srv, const uint8_t *req, size_t n, uint8_t *rsp,
                            size_t cap)
{
    size_t len;
    if (srv == NULL || req == NULL || rsp == NULL) {
        return 0;
    }
    srv->reset_due = 0;
    len = dc_smp_process(srv, req, n);
    if (len > cap) {
        return 0;
    }
    memcpy(rsp, srv->tx, len);
    if (srv->reset_due && srv->cb.reset != NULL) {
        srv->reset_due = 0;
        srv->cb.reset(srv->cb.ctx);
    }
    return len;
}

void dc_smp_error(dc_smp_req_t *q, int mgmt_rc)
{
    dc_smp_cbor_writer_init(&q->w, q->w.buf, q->w.cap);
    dc_smp_cbor_put_map(&q->w, 1);
    dc_smp_cbor_put_text(&q->w, "rc");
    dc_smp_cbor_put_uint(&q->w, (uint64_t)mgmt_rc);
    q->error = 1;
}

void dc_smp_group_error(dc_smp_req_t *q, int mgmt_rc, int group_rc)
{
    if (q->version == 0u) {
        dc_smp_error(q, mgmt_rc);
        return;
    }
    dc_smp_cbor_writer_init(&q->w, q->w.buf, q->w.cap);
    dc_smp_cbor_put_map(&q->w, 1);
    dc_smp_cbor_put_text(&q->w, "err");
    dc_smp_cbor_put_map(&q->w, 2);
    dc_smp_cbor_put_text(&q->w, "group");
    dc_smp_cbor_put_uint(&q->w, q->group);
    dc_smp_cbor_put_text(&q->w, "rc");
    dc_smp_cbor_put_uint(&q->w, (uint64_t)group_rc);
    q->error = 1;
}

void dc_smp_version_text(uint32_t version, char out[24])
{
    uint32_t parts[3];
    size_t pos = 0;
    int k;
    parts[0] = version >> 24;
    parts[1] = (version >> 16) & 0xFFu;
    parts[2] = version & 0xFFFFu;
    for (k = 0; k < 3; k++) {
        char digits[8];
        size_t nd = 0;
        uint32_t v = parts[k];
        do {
            digits[nd++] = (char)('0' + v % 10u);
            v /= 10u;
        } while (v != 0u);
        while (nd > 0u) {
            out[pos++] = digits[--nd];
        }
        if (k < 2) {
            out[pos++] = '.';
        }
    }
    out[pos] = '\0';
}

/* Decodes the header, dispatches, and writes [header][CBOR] into srv->tx. */
size_t dc_smp_process(dc_smp_server_t *srv, const uint8_t *msg, size_t n)
{
    dc_smp_req_t q;
    uint8_t *h = srv->tx;
    size_t len;
    if (n < DC_SMP_HDR_SIZE) {
        srv->stats.dropped++;
        return 0;
    }
    memset(&q, 0, sizeof(q));
    q.op = (uint8_t)(msg[0] & 0x07u);
    q.version = (uint8_t)((msg[0] >> 3) & 0x03u);
    len = ((size_t)msg[2] << 8) | msg[3];
    q.group = (uint16_t)(((uint16_t)msg[4] << 8) | msg[5]);
    q.seq = msg[6];
    q.cmd = msg[7];
    if (q.op != DC_SMP_OP_READ && q.op != DC_SMP_OP_WRITE) {
        return 0; /* responses and unknown ops are not answered */
    }
    if (len != n - DC_SMP_HDR_SIZE) {
        srv->stats.dropped++;
        return 0;
    }
    q.data = msg + DC_SMP_HDR_SIZE;
    q.len = len;
    dc_smp_cbor_writer_init(&q.w, srv->tx + DC_SMP_HDR_SIZE, sizeof(srv->tx) - DC_SMP_HDR_SIZE);
    if (q.version > 1u) {
        q.version = 1u;
        dc_smp_error(&q, DC_SMP_UNSUPPORTED_TOO_NEW);
    } else if (q.group == DC_SMP_GROUP_OS) {
        dc_smp_handle_os(srv, &q);
    } else if (q.group == DC_SMP_GROUP_IMAGE) {
        dc_smp_handle_image(srv, &q);
    } else if (q.group == DC_SMP_GROUP_MODEL) {
        dc_smp_handle_model(srv, &q);
    } else {
        dc_smp_error(&q, DC_SMP_ENOTSUP);
    }
    if (q.w.overflow) {
        dc_smp_cbor_writer_init(&q.w, q.w.buf, q.w.cap);
        dc_smp_error(&q, DC_SMP_EMSGSIZE);
        q.reset_after = 0;
    }
    srv->stats.requests++;
    if (q.error) {
        srv->stats.errors++;
    }
    if (q.reset_after) {
        srv->reset_due = 1;
    }
    h[0] = (uint8_t)((q.op + 1u) | (uint8_t)(q.version << 3));
    h[1] = 0;
    h[2] = (uint8_t)(q.w.len >> 8);
    h[3] = (uint8_t)q.w.len;
    h[4] = (uint8_t)(q.group >> 8);
    h[5] = (uint8_t)q.group;
    h[6] = q.seq;
    h[7] = (uint8_t)q.cmd;
    return DC_SMP_HDR_SIZE + q.w.len;
}

/* ---- OS management group ---------------------------------------------------------- */

void dc_smp_handle_os(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    if (q->cmd == DC_SMP_OS_ECHO && q->op == DC_SMP_OP_WRITE) {
        dc_smp_cbor_field_t f[1] = {DC_SMP_FIELD("d", DC_SMP_CBOR_TSTR)};
        if (dc_smp_cbor_decode_map(q->data, q->len, f, 1) != DC_OK || !f[0].found) {
            dc_smp_error(q, DC_SMP_EINVAL);
            return;
        }
        dc_smp_cbor_put_map(&q->w, 1);
        dc_smp_cbor_put_text(&q->w, "r");
        dc_smp_cbor_put_tstr(&q->w, (const char *)f[0].str, f[0].len);
    } else if (q->cmd == DC_SMP_OS_RESET && q->op == DC_SMP_OP_WRITE) {
        dc_smp_cbor_field_t f[2] = {DC_SMP_FIELD("force", DC_SMP_CBOR_UINT), DC_SMP_FIELD("boot_mode", DC_SMP_CBOR_UINT)};
        if (dc_smp_cbor_decode_map(q->data, q->len, f, 2) != DC_OK) {
            dc_smp_error(q, DC_SMP_EINVAL);
            return;
        }
        if (srv->cb.reset == NULL || (f[1].found && f[1].u != 0u)) {
            dc_smp_error(q, DC_SMP_ENOTSUP); /* no reset hook, or a boot mode we lack */
            return;
        }
        dc_smp_cbor_put_map(&q->w, 0);
        q->reset_after = 1;
    } else if (q->cmd == DC_SMP_OS_PARAMS && q->op == DC_SMP_OP_READ) {
        dc_smp_cbor_put_map(&q->w, 2);
        dc_smp_cbor_put_text(&q->w, "buf_size");
        dc_smp_cbor_put_uint(&q->w, DC_SMP_BUF_SIZE);
        dc_smp_cbor_put_text(&q->w, "buf_count");
        dc_smp_cbor_put_uint(&q->w, 1);
    } else {
        dc_smp_error(q, DC_SMP_ENOTSUP);
    }
}
