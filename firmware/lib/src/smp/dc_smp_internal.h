/* dc_smp_internal.h: what the SMP server's files share (private to firmware/lib/src/smp). */
#ifndef DC_SMP_INTERNAL_H
#define DC_SMP_INTERNAL_H

#include "dc_smp.h"
#include "dc_smp_cbor.h"

/* A request being answered: its header fields and CBOR payload, and the response writer
 * (over srv->tx after the 8 header bytes). */
typedef struct {
    uint8_t op, version, seq;
    uint16_t group, cmd;
    const uint8_t *data;
    size_t len;
    dc_smp_cbor_writer_t w;
    int error;       /* an error response was written */
    int reset_after; /* call the reset callback once the response is out */
} dc_smp_req_t;

#define DC_SMP_OP_READ 0u
#define DC_SMP_OP_WRITE 2u

/* Error responses: a generic MGMT_ERR (`rc`, any version), or a group error (v2: err {group,
 * rc}; v1: `rc` = mgmt_rc, since v1 has no group errors). */
void dc_smp_error(dc_smp_req_t *q, int mgmt_rc);
void dc_smp_group_error(dc_smp_req_t *q, int mgmt_rc, int group_rc);

/* Group handlers: write the response (or an error) into q->w. */
void dc_smp_handle_os(dc_smp_server_t *srv, dc_smp_req_t *q);
void dc_smp_handle_image(dc_smp_server_t *srv, dc_smp_req_t *q);
void dc_smp_handle_model(dc_smp_server_t *srv, dc_smp_req_t *q);

/* The model version as "major.minor.revision" (version = major << 24 | minor << 16 | rev). */
void dc_smp_version_text(uint32_t version, char out[24]);

#endif /* DC_SMP_INTERNAL_H */
