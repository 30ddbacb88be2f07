/* dc_smp_img.c: the SMP image management group (state, upload, erase) over the model slots.
 *
 * Slot numbers on the wire are MCUmgr's: slot 0 is the primary (the running model), slot 1
 * the secondary (the inactive model slot, where uploads go). See docs/protocol.md. */
#include <string.h>

#include "dc_smp_internal.h"
#include "dc_status.h"

/* Physical slot of wire slot `wire` (0 primary, 1 secondary). */
static int physical(const dc_slots_t *s, uint64_t wire)
{
    int inactive = dc_slots_inactive(s);
    return wire == 1u ? inactive : 1 - inactive;
}

/* Reports a dc_status_t from the slots or the verifier as the matching SMP error. */
static void slot_error(dc_smp_req_t *q, int status)
{
    int mgmt = DC_SMP_EUNKNOWN, img = DC_SMP_IMG_UNKNOWN;
    switch (status) {
    case DC_ERR_SLOT: mgmt = DC_SMP_EBADSTATE; img = DC_SMP_IMG_NO_FREE_SLOT; break;
    case DC_ERR_NO_MODEL: mgmt = DC_SMP_ENOENT; img = DC_SMP_IMG_NO_IMAGE; break;
    case DC_ERR_ROLLBACK: mgmt = DC_SMP_EACCESSDENIED; img = DC_SMP_IMG_CURRENT_VERSION_IS_NEWER; break;
    case DC_ERR_OVERSIZE: mgmt = DC_SMP_ENOMEM; img = DC_SMP_IMG_INVALID_IMAGE_TOO_LARGE; break;
    case DC_ERR_LENGTH: mgmt = DC_SMP_EINVAL; img = DC_SMP_IMG_INVALID_LENGTH; break;
    case DC_ERR_FLASH: mgmt = DC_SMP_EUNKNOWN; img = DC_SMP_IMG_FLASH_WRITE_FAILED; break;
    case DC_ERR_HASH: mgmt = DC_SMP_EINVAL; img = DC_SMP_IMG_INVALID_HASH; break;
    case DC_ERR_AUTH:
    case DC_ERR_SIGNATURE: mgmt = DC_SMP_EACCESSDENIED; img = DC_SMP_IMG_INVALID_TLV; break;
    case DC_ERR_MAGIC: mgmt = DC_SMP_EINVAL; img = DC_SMP_IMG_INVALID_IMAGE_HEADER_MAGIC; break;
    case DC_ERR_ARG: mgmt = DC_SMP_EINVAL; img = DC_SMP_IMG_INVALID_SLOT; break;
    default:
        if (status <= -20 && status > -70) { /* coder and container errors: a malformed image */
            mgmt = DC_SMP_EINVAL;
            img = DC_SMP_IMG_INVALID_IMAGE_HEADER;
        }
        break;
    }
    dc_smp_group_error(q, mgmt, img);
}

static void put_slot(dc_smp_cbor_writer_t *w, const dc_slots_t *s, int wire)
{
    dc_slot_status_t st;
    char version[24];
    (void)dc_slots_status(s, physical(s, (uint64_t)wire), &st);
    dc_smp_version_text(st.version, version);
    dc_smp_cbor_put_map(w, 9);
    dc_smp_cbor_put_text(w, "image");
    dc_smp_cbor_put_uint(w, 0);
    dc_smp_cbor_put_text(w, "slot");
    dc_smp_cbor_put_uint(w, (uint64_t)wire);
    dc_smp_cbor_put_text(w, "version");
    dc_smp_cbor_put_text(w, version);
    dc_smp_cbor_put_text(w, "hash");
    dc_smp_cbor_put_bstr(w, st.hash, DC_SLOTS_HASH_SIZE);
    dc_smp_cbor_put_text(w, "bootable");
    dc_smp_cbor_put_bool(w, st.bootable);
    dc_smp_cbor_put_text(w, "pending");
    dc_smp_cbor_put_bool(w, st.pending);
    dc_smp_cbor_put_text(w, "confirmed");
    dc_smp_cbor_put_bool(w, st.confirmed);
    dc_smp_cbor_put_text(w, "active");
    dc_smp_cbor_put_bool(w, st.active);
    dc_smp_cbor_put_text(w, "permanent");
    dc_smp_cbor_put_bool(w, st.permanent);
}

/* {"images": [one entry per slot holding a verified image], "splitStatus": 0} */
static void put_state(dc_smp_req_t *q, const dc_slots_t *s)
{
    dc_slot_status_t st;
    int wire, count = 0;
    for (wire = 0; wire < 2; wire++) {
        (void)dc_slots_status(s, physical(s, (uint64_t)wire), &st);
        count += st.bootable;
    }
    dc_smp_cbor_put_map(&q->w, 2);
    dc_smp_cbor_put_text(&q->w, "images");
    dc_smp_cbor_put_array(&q->w, (size_t)count);
    for (wire = 0; wire < 2; wire++) {
        (void)dc_slots_status(s, physical(s, (uint64_t)wire), &st);
        if (st.bootable) {
            put_slot(&q->w, s, wire);
        }
    }
    dc_smp_cbor_put_text(&q->w, "splitStatus");
    dc_smp_cbor_put_uint(&q->w, 0);
}

static void state_write(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    dc_slots_t *s = srv->slots;
    dc_smp_cbor_field_t f[2] = {DC_SMP_FIELD("hash", DC_SMP_CBOR_BSTR), DC_SMP_FIELD("confirm", DC_SMP_CBOR_BOOL)};
    int slot = DC_SLOT_NONE, i, rc;
    if (dc_smp_cbor_decode_map(q->data, q->len, f, 2) != DC_OK) {
        dc_smp_error(q, DC_SMP_EINVAL);
        return;
    }
    if (f[0].found) {
        for (i = 0; i < DC_SLOTS_COUNT; i++) {
            dc_slot_status_t st;
            (void)dc_slots_status(s, i, &st);
            if (st.bootable && f[0].len == DC_SLOTS_HASH_SIZE &&
                memcmp(st.hash, f[0].str, DC_SLOTS_HASH_SIZE) == 0) {
                slot = i;
            }
        }
        if (slot == DC_SLOT_NONE) {
            dc_smp_group_error(q, DC_SMP_EINVAL, DC_SMP_IMG_HASH_NOT_FOUND);
            return;
        }
    }
    if (f[1].found && f[1].u) {
        if (slot == DC_SLOT_NONE) {
            slot = dc_slots_running(s); /* confirm without hash: the running image */
            if (slot == DC_SLOT_NONE) {
                dc_smp_group_error(q, DC_SMP_ENOENT, DC_SMP_IMG_NO_IMAGE);
                return;
            }
        }
        rc = dc_slots_confirm(s, slot, srv->cb.slot_flags);
        if (rc == DC_ERR_SLOT) {
            dc_smp_group_error(q, DC_SMP_EBADSTATE, DC_SMP_IMG_IMAGE_CONFIRMATION_DENIED);
            return;
        }
    } else {
        if (slot == DC_SLOT_NONE) {
            dc_smp_error(q, DC_SMP_EINVAL); /* test needs a hash */
            return;
        }
        if (slot == dc_slots_running(s)) {
            dc_smp_group_error(q, DC_SMP_EBADSTATE, DC_SMP_IMG_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED);
            return;
        }
        rc = dc_slots_mark_pending(s, slot, srv->cb.slot_flags);
    }
    if (rc != DC_OK) {
        slot_error(q, rc);
        return;
    }
    put_state(q, s);
}

static void upload(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    dc_slots_t *s = srv->slots;
    dc_smp_cbor_field_t f[6] = {DC_SMP_FIELD("off", DC_SMP_CBOR_UINT),   DC_SMP_FIELD("data", DC_SMP_CBOR_BSTR),
                                DC_SMP_FIELD("len", DC_SMP_CBOR_UINT),   DC_SMP_FIELD("sha", DC_SMP_CBOR_BSTR),
                                DC_SMP_FIELD("image", DC_SMP_CBOR_UINT), DC_SMP_FIELD("upgrade", DC_SMP_CBOR_BOOL)};
    uint32_t off, expected;
    int rc;
    if (dc_smp_cbor_decode_map(q->data, q->len, f, 6) != DC_OK || !f[0].found || !f[1].found ||
        (f[3].found && f[3].len != DC_SLOTS_HASH_SIZE)) {
        dc_smp_error(q, DC_SMP_EINVAL);
        return;
    }
    if (f[0].u > 0xFFFFFFFFu) {
        dc_smp_group_error(q, DC_SMP_EINVAL, DC_SMP_IMG_INVALID_OFFSET);
        return;
    }
    off = (uint32_t)f[0].u;
    if (off == 0u) {
        uint32_t resume = 0;
        uint64_t image = f[4].found ? f[4].u : 1u;
        if (!f[2].found) {
            dc_smp_group_error(q, DC_SMP_EINVAL, DC_SMP_IMG_INVALID_LENGTH);
            return;
        }
        if (image > 1u) {
            dc_smp_group_error(q, DC_SMP_EINVAL, DC_SMP_IMG_INVALID_SLOT);
            return;
        }
        if (f[2].u > 0xFFFFFFFFu) {
            slot_error(q, DC_ERR_OVERSIZE);
            return;
        }
        rc = dc_slots_upload_begin(s, physical(s, image), (uint32_t)f[2].u, f[3].found ? f[3].str : NULL,
                                   &resume);
        if (rc != DC_OK) {
            slot_error(q, rc);
            return;
        }
        srv->upload_has_sha = f[3].found;
        srv->upload_flags = srv->cb.slot_flags & ~(uint32_t)DC_SLOTS_UPGRADE_ONLY;
        if (f[5].found && f[5].u) {
            srv->upload_flags = DC_SLOTS_UPGRADE_ONLY;
        }
        if (resume > 0u) {
            /* The same image (size and SHA-256) was partly here: go on from there. */
            dc_smp_cbor_put_map(&q->w, 1);
            dc_smp_cbor_put_text(&q->w, "off");
            dc_smp_cbor_put_uint(&q->w, resume);
            return;
        }
    } else if (s->up_slot == DC_SLOT_NONE) {
        dc_smp_group_error(q, DC_SMP_EINVAL, DC_SMP_IMG_INVALID_OFFSET);
        return;
    }
    expected = dc_slots_upload_offset(s);
    if (off != expected) {
        /* Out of step (a lost response): tell the client where to go on. */
        dc_smp_cbor_put_map(&q->w, 1);
        dc_smp_cbor_put_text(&q->w, "off");
        dc_smp_cbor_put_uint(&q->w, expected);
        return;
    }
    if (f[1].len > (size_t)(s->up_size - off)) {
        dc_smp_group_error(q, DC_SMP_EINVAL, DC_SMP_IMG_INVALID_IMAGE_DATA_OVERRUN);
        return;
    }
    rc = dc_slots_upload_write(s, off, f[1].str, (uint32_t)f[1].len);
    if (rc != DC_OK) {
        slot_error(q, rc);
        return;
    }
    off += (uint32_t)f[1].len;
    if (off == s->up_size) {
        int had_sha = srv->upload_has_sha;
        rc = dc_slots_upload_finish(s, srv->upload_flags, NULL);
        if (rc != DC_OK) {
            slot_error(q, rc);
            return;
        }
        srv->stats.uploads++;
        dc_smp_cbor_put_map(&q->w, had_sha ? 2u : 1u);
        dc_smp_cbor_put_text(&q->w, "off");
        dc_smp_cbor_put_uint(&q->w, off);
        if (had_sha) {
            dc_smp_cbor_put_text(&q->w, "match");
            dc_smp_cbor_put_bool(&q->w, 1);
        }
        return;
    }
    dc_smp_cbor_put_map(&q->w, 1);
    dc_smp_cbor_put_text(&q->w, "off");
    dc_smp_cbor_put_uint(&q->w, off);
}

static void erase(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    dc_smp_cbor_field_t f[1] = {DC_SMP_FIELD("slot", DC_SMP_CBOR_UINT)};
    int rc;
    if (dc_smp_cbor_decode_map(q->data, q->len, f, 1) != DC_OK) {
        dc_smp_error(q, DC_SMP_EINVAL);
        return;
    }
    if (f[0].found && f[0].u > 1u) {
        dc_smp_group_error(q, DC_SMP_EINVAL, DC_SMP_IMG_INVALID_SLOT);
        return;
    }
    rc = dc_slots_erase(srv->slots, physical(srv->slots, f[0].found ? f[0].u : 1u));
    if (rc != DC_OK) {
        slot_error(q, rc);
        return;
    }
    dc_smp_cbor_put_map(&q->w, 0);
}

void dc_smp_handle_image(dc_smp_server_t *srv, dc_smp_req_t *q)
{
    if (q->cmd == DC_SMP_IMG_STATE && q->op == DC_SMP_OP_READ) {
        put_state(q, srv->slots);
    } else if (q->cmd == DC_SMP_IMG_STATE) {
        state_write(srv, q);
    } else if (q->cmd == DC_SMP_IMG_UPLOAD && q->op == DC_SMP_OP_WRITE) {
        upload(srv, q);
    } else if (q->cmd == DC_SMP_IMG_ERASE && q->op == DC_SMP_OP_WRITE) {
        erase(srv, q);
    } else {
        dc_smp_error(q, DC_SMP_ENOTSUP);
    }
}
