/* dc_smp_model.c: dcagent's own SMP group (DC_SMP_GROUP_MODEL): model info, inference on a
 * given input tensor, statistics, and reading back the running model. Errors are err {group 96, rc = -dc_status_t}. */
#include <string.h>

#include "dc_smp_internal.h"
#include "dc_status.h"

static void model_error(dc_smp_req_t *q, int status)
{
    int mgmt = status == DC_ERR_NO_MODEL ? DC_SMP_ENOENT
             : status == DC_ERR_BUFFER   ? DC_SMP_EMSGSIZE
             : status == DC_ERR_ARG      ? DC_SMP_EINVAL
             : status == DC_ERR_UNSUPPORTED ? DC_SMP_ENOTSUP /* e.g. no runtime linked in */
                                         : DC_SMP_EUNKNOWN;
    dc_smp_group_error(q, mgmt, -status);
}

static void info(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    dc_slot_status_t st;
    dc_smp_model_desc_t d;
    char version[24];
    int slot = dc_slots_running(srv->slots), have_desc = 0;
    if (slot == DC_SLOT_NONE) {
        model_error(q, DC_ERR_NO_MODEL);
        return;
    }
    (void)dc_slots_status(srv->slots, slot, &st);
    memset(&d, 0, sizeof(d));
    if (srv->cb.describe != NULL) {
        int rc = srv->cb.describe(srv->cb.ctx, slot, &d);
        if (rc != DC_OK) {
            model_error(q, rc);
            return;
        }
        have_desc = 1;
    }
    dc_smp_version_text(st.version, version);
    dc_smp_cbor_put_map(&q->w, have_desc ? (d.arena_capacity != 0u ? 12u : 9u) : 6u);
    dc_smp_cbor_put_text(&q->w, "slot");
    dc_smp_cbor_put_uint(&q->w, (uint64_t)slot);
    dc_smp_cbor_put_text(&q->w, "model_version");
    dc_smp_cbor_put_text(&q->w, version);
    dc_smp_cbor_put_text(&q->w, "model_version_code");
    dc_smp_cbor_put_uint(&q->w, st.version);
    dc_smp_cbor_put_text(&q->w, "hash");
    dc_smp_cbor_put_bstr(&q->w, st.hash, DC_SLOTS_HASH_SIZE);
    dc_smp_cbor_put_text(&q->w, "size");
    dc_smp_cbor_put_uint(&q->w, st.image_size);
    dc_smp_cbor_put_text(&q->w, "trial");
    dc_smp_cbor_put_bool(&q->w, srv->slots->trial);
    if (have_desc) {
        dc_smp_cbor_put_text(&q->w, "in_bytes");
        dc_smp_cbor_put_uint(&q->w, d.input_bytes);
        dc_smp_cbor_put_text(&q->w, "out_bytes");
        dc_smp_cbor_put_uint(&q->w, d.output_bytes);
        dc_smp_cbor_put_text(&q->w, "arena_bytes");
        dc_smp_cbor_put_uint(&q->w, d.arena_bytes);
        if (d.arena_capacity != 0u) {
            dc_smp_cbor_put_text(&q->w, "arena_capacity");
            dc_smp_cbor_put_uint(&q->w, d.arena_capacity);
            dc_smp_cbor_put_text(&q->w, "decode");
            dc_smp_cbor_put_text(&q->w, d.decode == 2u ? "streamed" : d.decode == 1u ? "per_layer" : "at_load");
            dc_smp_cbor_put_text(&q->w, "load_rc");
            dc_smp_cbor_put_uint(&q->w, (uint64_t)(d.load_status < 0 ? -(int64_t)d.load_status : 0));
        }
    }
}

/* {"input": bstr, "off": uint (0), "len": uint (total, default len(input))} -> {"off": next}
 * while pieces arrive, then {"output": bstr, "insn": uint, "cycles": uint}. */
static void infer(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    dc_smp_cbor_field_t f[3] = {DC_SMP_FIELD("input", DC_SMP_CBOR_BSTR), DC_SMP_FIELD("off", DC_SMP_CBOR_UINT),
                                DC_SMP_FIELD("len", DC_SMP_CBOR_UINT)};
    dc_smp_infer_result_t res;
    const uint8_t *in;
    size_t in_len, prefix_max = 16u, cap, off, total;
    uint8_t *out, *staging = NULL;
    size_t staging_cap = 0;
    int slot = dc_slots_running(srv->slots), rc;
    if (dc_smp_cbor_decode_map(q->data, q->len, f, 3) != DC_OK || !f[0].found) {
        dc_smp_error(q, DC_SMP_EINVAL);
        return;
    }
    if (srv->cb.infer == NULL) {
        dc_smp_error(q, DC_SMP_ENOTSUP);
        return;
    }
    if (slot == DC_SLOT_NONE) {
        model_error(q, DC_ERR_NO_MODEL);
        return;
    }
    off = f[1].found ? (size_t)f[1].u : 0u;
    total = f[2].found ? (size_t)f[2].u : f[0].len;
    if ((f[1].found && f[1].u > 0xFFFFFFFFu) || (f[2].found && f[2].u > 0xFFFFFFFFu) ||
        off > total || f[0].len > total - off) {
        model_error(q, DC_ERR_ARG);
        return;
    }
    if (off == 0u && f[0].len == total) {
        in = f[0].str; /* the whole input in this request */
        in_len = total;
    } else {
        if (srv->cb.input_buffer != NULL) {
            staging = srv->cb.input_buffer(srv->cb.ctx, &staging_cap);
        }
        if (staging == NULL || total > staging_cap) {
            model_error(q, DC_ERR_BUFFER);
            return;
        }
        if (off != (off == 0u ? 0u : srv->in_staged) || (off > 0u && total != srv->in_total)) {
            dc_smp_cbor_put_map(&q->w, 1); /* out of step: say where to go on */
            dc_smp_cbor_put_text(&q->w, "off");
            dc_smp_cbor_put_uint(&q->w, srv->in_total == total ? srv->in_staged : 0u);
            return;
        }
        memcpy(staging + off, f[0].str, f[0].len);
        srv->in_staged = off + f[0].len;
        srv->in_total = total;
        if (srv->in_staged < total) {
            dc_smp_cbor_put_map(&q->w, 1);
            dc_smp_cbor_put_text(&q->w, "off");
            dc_smp_cbor_put_uint(&q->w, srv->in_staged);
            return;
        }
        srv->in_staged = 0;
        srv->in_total = 0;
        in = staging;
        in_len = total;
    }
    /* The output goes straight into the response buffer, after room for the CBOR prefix; the
     * request (in srv->rx or the staging buffer) is not overwritten. */
    out = q->w.buf + prefix_max;
    cap = q->w.cap - prefix_max - 32u; /* room for the two counters */
    memset(&res, 0, sizeof(res));
    rc = srv->cb.infer(srv->cb.ctx, slot, in, in_len, out, cap, &res);
    if (rc == DC_OK && res.out_len > cap) {
        rc = DC_ERR_BUFFER;
    }
    if (rc != DC_OK) {
        model_error(q, rc);
        return;
    }
    srv->stats.inferences++;
    srv->stats.instructions += res.instructions;
    srv->stats.cycles += res.cycles;
    srv->stats.last_instructions = res.instructions;
    srv->stats.last_cycles = res.cycles;
    dc_smp_cbor_put_map(&q->w, 3);
    dc_smp_cbor_put_text(&q->w, "output");
    dc_smp_cbor_put_bstr_head(&q->w, res.out_len);
    if (q->w.len + res.out_len > q->w.cap) {
        q->w.overflow = 1;
        return;
    }
    memmove(q->w.buf + q->w.len, out, res.out_len); /* prefix <= 16 bytes: moves left */
    q->w.len += res.out_len;
    dc_smp_cbor_put_text(&q->w, "insn");
    dc_smp_cbor_put_uint(&q->w, res.instructions);
    dc_smp_cbor_put_text(&q->w, "cycles");
    dc_smp_cbor_put_uint(&q->w, res.cycles);
}

/* {"off": uint} -> {"off": off, "len": image size, "data": bstr}: the running model's stored
 * bytes from `off`, as many as fit a response (the host reads back what the device runs). */
static void image_read(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    dc_smp_cbor_field_t f[1] = {DC_SMP_FIELD("off", DC_SMP_CBOR_UINT)};
    dc_slot_status_t st;
    int slot = dc_slots_running(srv->slots);
    size_t room, n;
    uint8_t *data;
    if (dc_smp_cbor_decode_map(q->data, q->len, f, 1) != DC_OK || !f[0].found) {
        dc_smp_error(q, DC_SMP_EINVAL);
        return;
    }
    if (slot == DC_SLOT_NONE || dc_slots_status(srv->slots, slot, &st) != DC_OK || !st.bootable) {
        model_error(q, DC_ERR_NO_MODEL);
        return;
    }
    if (f[0].u > st.image_size) {
        model_error(q, DC_ERR_ARG);
        return;
    }
    room = q->w.cap > 64u ? q->w.cap - 64u : 0u; /* map, keys, two integers, bstr head; frame length + CRC */
    n = st.image_size - (size_t)f[0].u;
    n = n < room ? n : room;
    dc_smp_cbor_put_map(&q->w, 3);
    dc_smp_cbor_put_text(&q->w, "off");
    dc_smp_cbor_put_uint(&q->w, f[0].u);
    dc_smp_cbor_put_text(&q->w, "len");
    dc_smp_cbor_put_uint(&q->w, st.image_size);
    dc_smp_cbor_put_text(&q->w, "data");
    dc_smp_cbor_put_bstr_head(&q->w, n);
    if (q->w.len + n > q->w.cap) {
        q->w.overflow = 1;
        return;
    }
    data = q->w.buf + q->w.len;
    if (dc_flash_read(srv->slots->flash, srv->slots->slot_offset[slot] + (uint32_t)f[0].u, data, (uint32_t)n) !=
        DC_OK) {
        model_error(q, DC_ERR_FLASH);
        return;
    }
    q->w.len += n;
}

static void put_u(dc_smp_cbor_writer_t *w, const char *key, uint64_t v)
{
    dc_smp_cbor_put_text(w, key);
    dc_smp_cbor_put_uint(w, v);
}

static void stats(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    const dc_smp_stats_t *st = &srv->stats;
    dc_smp_cbor_put_map(&q->w, 11);
    put_u(&q->w, "frames", st->frames);
    put_u(&q->w, "dropped", st->dropped);
    put_u(&q->w, "requests", st->requests);
    put_u(&q->w, "errors", st->errors);
    put_u(&q->w, "uploads", st->uploads);
    put_u(&q->w, "inferences", st->inferences);
    put_u(&q->w, "insn_total", st->instructions);
    put_u(&q->w, "cycles_total", st->cycles);
    put_u(&q->w, "insn_last", st->last_instructions);
    put_u(&q->w, "cycles_last", st->last_cycles);
    dc_smp_cbor_put_text(&q->w, "running");
    dc_smp_cbor_put_int(&q->w, dc_slots_running(srv->slots));
}

void dc_smp_handle_model(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    if (q->cmd == DC_SMP_MODEL_INFO && q->op == DC_SMP_OP_READ) {
        info(srv, q);
    } else if (q->cmd == DC_SMP_MODEL_INFER && q->op == DC_SMP_OP_WRITE) {
        infer(srv, q);
    } else if (q->cmd == DC_SMP_MODEL_STATS && q->op == DC_SMP_OP_READ) {
        stats(srv, q);
    } else if (q->cmd == DC_SMP_MODEL_READ && q->op == DC_SMP_OP_READ) {
        image_read(srv, q);
    } else {
        dc_smp_error(q, DC_SMP_ENOTSUP);
    }
}
