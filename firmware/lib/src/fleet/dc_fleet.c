/* dc_fleet.c: the device's fleet update agent: manifest checks, windowed block requests,
 * in-order slot writes, verification, pending + reboot, status reports (docs/protocol-mqtt.md). */
#include "dc_fleet.h"

#include <string.h>

#include "dc_container.h"
#include "dc_ed25519.h"
#include "dc_fleet_cbor.h"
#include "dc_fleet_internal.h"
#include "dc_status.h"

#define PUBLISH_TIMEOUT_MS 5000u
#define PROGRESS_INTERVAL_MS 1000u
#define PREFIX "dcagent/v1/"

static const char *const STATE_NAMES[] = {
    "idle", "downloading", "verifying", "verified", "flashing", "testing", "confirmed",
    "rolled_back", "rejected", "failed",
};

static const char *const REASON_NAMES[] = {
    "", "malformed", "unsigned", "untrusted_key", "bad_signature", "hash_mismatch",
    "manifest_mismatch", "downgrade", "wrong_target", "base_mismatch", "too_large",
    "stream_error", "timeout", "board_error",
};

const char *dc_fleet_state_name(dc_fleet_state_t state)
{
    return (unsigned)state < sizeof STATE_NAMES / sizeof STATE_NAMES[0] ? STATE_NAMES[state] : "idle";
}

const char *dc_fleet_reason_name(dc_fleet_reason_t reason)
{
    return (unsigned)reason < sizeof REASON_NAMES / sizeof REASON_NAMES[0] ? REASON_NAMES[reason] : "";
}

/* ---- small text helpers (no printf on the targets) -------------------------------- */

typedef struct {
    char *buf;
    size_t cap; /* bytes of buf, the NUL included */
    size_t len;
} text_t;

static void text_init(text_t *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->cap = cap;
    t->len = 0;
    buf[0] = '\0';
}

static void text_add(text_t *t, const char *s)
{
    while (*s != '\0' && t->len + 1u < t->cap) {
        t->buf[t->len++] = *s++;
    }
    t->buf[t->len] = '\0';
}

static void text_u32(text_t *t, uint32_t v)
{
    char digits[11];
    size_t n = sizeof digits - 1u;
    digits[n] = '\0';
    do {
        digits[--n] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    text_add(t, digits + n);
}

/* Builds PREFIX a b c d into out (NUL-terminated); 0 when it does not fit. */
static int topic4(char *out, const char *a, const char *b, const char *c, const char *d)
{
    text_t t;
    const char *parts[5] = {PREFIX, a, b, c, d};
    size_t need = 1;
    for (int i = 0; i < 5; i++) {
        need += parts[i] != NULL ? strlen(parts[i]) : 0u;
    }
    if (need > DC_FLEET_TOPIC_MAX) {
        return 0;
    }
    text_init(&t, out, DC_FLEET_TOPIC_MAX);
    for (int i = 0; i < 5; i++) {
        if (parts[i] != NULL) {
            text_add(&t, parts[i]);
        }
    }
    return 1;
}

static int topic_manifest(const dc_fleet_t *f, char *out)
{
    return topic4(out, "fleets/", f->cfg.fleet, "/manifest", NULL);
}

static int topic_stream(const dc_fleet_t *f, char *out, const char *leaf)
{
    text_t t;
    if (strlen(f->cfg.device_id) + strlen(f->man.stream_id) + 40u > DC_FLEET_TOPIC_MAX) {
        return 0;
    }
    text_init(&t, out, DC_FLEET_TOPIC_MAX);
    text_add(&t, PREFIX "devices/");
    text_add(&t, f->cfg.device_id);
    text_add(&t, "/streams/");
    text_add(&t, f->man.stream_id);
    text_add(&t, leaf);
    return 1;
}

static int topic_is(const dc_mqtt_message_t *msg, const char *topic)
{
    return strlen(topic) == msg->topic_len && memcmp(topic, msg->topic, msg->topic_len) == 0;
}

static uint32_t now(const dc_fleet_t *f)
{
    return f->mqtt->io.millis(f->mqtt->io.ctx);
}

/* ---- state ------------------------------------------------------------------------ */

static void set_state(dc_fleet_t *f, dc_fleet_state_t state, dc_fleet_reason_t reason, const char *detail)
{
    text_t t;
    f->state = state;
    f->reason = reason;
    text_init(&t, f->detail, sizeof f->detail);
    text_add(&t, detail != NULL ? detail : "");
    f->status_dirty = 1;
}

static void set_model(dc_fleet_t *f, const dc_fleet_manifest_t *m)
{
    f->has_model = 1;
    memcpy(f->model_name, m->name, sizeof f->model_name);
    f->model_version = m->version;
    memcpy(f->stream_id, m->stream_id, sizeof f->stream_id);
}

static int encode_status(dc_fleet_t *f, size_t *len)
{
    dc_fleet_cbor_t w;
    /* Canonical order: keys by encoded length, then bytewise. */
    dc_fleet_cbor_init(&w, f->scratch, sizeof f->scratch);
    dc_fleet_cbor_map(&w, 8);
    dc_fleet_cbor_cstr(&w, "model");
    if (f->has_model) {
        dc_fleet_cbor_map(&w, 2);
        dc_fleet_cbor_cstr(&w, "name");
        dc_fleet_cbor_cstr(&w, f->model_name);
        dc_fleet_cbor_cstr(&w, "version");
        dc_fleet_cbor_uint(&w, f->model_version);
    } else {
        dc_fleet_cbor_null(&w);
    }
    dc_fleet_cbor_cstr(&w, "state");
    dc_fleet_cbor_cstr(&w, dc_fleet_state_name(f->state));
    dc_fleet_cbor_cstr(&w, "detail");
    dc_fleet_cbor_cstr(&w, f->detail);
    dc_fleet_cbor_cstr(&w, "reason");
    if (f->reason != DC_FLEET_REASON_NONE) {
        dc_fleet_cbor_cstr(&w, dc_fleet_reason_name(f->reason));
    } else {
        dc_fleet_cbor_null(&w);
    }
    dc_fleet_cbor_cstr(&w, "time_ms");
    dc_fleet_cbor_uint(&w, now(f)); /* no real-time clock: milliseconds since boot */
    dc_fleet_cbor_cstr(&w, "progress");
    dc_fleet_cbor_map(&w, 2);
    dc_fleet_cbor_cstr(&w, "total");
    dc_fleet_cbor_uint(&w, f->have_man ? f->man.size : 0u);
    dc_fleet_cbor_cstr(&w, "received");
    dc_fleet_cbor_uint(&w, f->have_man ? f->written : 0u);
    dc_fleet_cbor_cstr(&w, "device_id");
    dc_fleet_cbor_cstr(&w, f->cfg.device_id);
    dc_fleet_cbor_cstr(&w, "stream_id");
    if (f->has_model && f->stream_id[0] != '\0') {
        dc_fleet_cbor_cstr(&w, f->stream_id);
    } else {
        dc_fleet_cbor_null(&w);
    }
    if (w.overflow) {
        return DC_ERR_BUFFER;
    }
    *len = w.len;
    return DC_OK;
}

static int publish_status(dc_fleet_t *f)
{
    size_t len;
    int rc = encode_status(f, &len);
    if (rc != DC_OK) {
        return rc;
    }
    if (!topic4(f->topic, "devices/", f->cfg.device_id, "/status", NULL)) {
        return DC_ERR_ARG;
    }
    rc = dc_mqtt_publish(f->mqtt, f->topic, f->scratch, len, 1, 1, PUBLISH_TIMEOUT_MS);
    if (rc == DC_OK) {
        f->status_dirty = 0;
        f->status_sent_ms = now(f);
        f->status_written = f->written;
    }
    return rc;
}

/* ---- the device's view of its slots ----------------------------------------------- */

static uint32_t slot_capacity(const dc_fleet_t *f)
{
    return f->slots->slot_size - f->slots->flash->sector_size;
}

/* The running image's file SHA-256 (dc_slots hash) and container content_sha256; 0 if none. */
static int running_hashes(const dc_fleet_t *f, uint8_t file_sha[32], uint8_t content_sha[32])
{
    dc_slot_status_t st;
    int slot = dc_slots_running(f->slots);
    if (slot == DC_SLOT_NONE || dc_slots_status(f->slots, slot, &st) != DC_OK || !st.bootable ||
        st.image_size < DC_CONTAINER_TRAILER_LENGTH) {
        return 0;
    }
    memcpy(file_sha, st.hash, 32);
    memcpy(content_sha, f->cfg.flash_map + f->slots->slot_offset[slot] + st.image_size - DC_CONTAINER_TRAILER_LENGTH,
           32);
    return 1;
}

/* ---- manifest checks (docs/protocol-mqtt.md section 6 step 2) ---------------------- */

static dc_fleet_reason_t check_manifest(dc_fleet_t *f, const dc_fleet_manifest_t *m, text_t *why)
{
    uint8_t message[68], file_sha[32], content_sha[32];
    const uint8_t *key;
    uint32_t floor = dc_slots_confirmed_version(f->slots);
    if (!m->is_signed) {
        text_add(why, "the manifest is not signed");
        return DC_FLEET_UNSIGNED;
    }
    key = dc_fleet_find_key(f->cfg.keys, f->cfg.key_count, m->key_id);
    if (key == NULL) {
        text_add(why, "signed by a key this device does not trust");
        return DC_FLEET_UNTRUSTED_KEY;
    }
    dc_fleet_signed_message(m->content_sha256, m->key_id, message);
    if (dc_ed25519_verify(m->signature, message, sizeof message, key) != DC_OK) {
        text_add(why, "the announced signature does not verify");
        return DC_FLEET_BAD_SIGNATURE;
    }
    if (m->size > slot_capacity(f)) {
        text_add(why, "file is ");
        text_u32(why, m->size);
        text_add(why, " bytes, a slot holds ");
        text_u32(why, slot_capacity(f));
        return DC_FLEET_TOO_LARGE;
    }
    if (m->version < floor) {
        text_add(why, "version ");
        text_u32(why, m->version);
        text_add(why, " is below the device's anti-rollback floor ");
        text_u32(why, floor);
        return DC_FLEET_DOWNGRADE;
    }
    if (f->cfg.arch != NULL && strcmp(f->cfg.arch, m->arch) != 0) {
        text_add(why, "model is for '");
        text_add(why, m->arch);
        text_add(why, "', this device is '");
        text_add(why, f->cfg.arch);
        text_add(why, "'");
        return DC_FLEET_WRONG_TARGET;
    }
    if ((f->cfg.flash_bytes != 0u && m->min_flash > f->cfg.flash_bytes) ||
        (f->cfg.ram_bytes != 0u && m->min_ram > f->cfg.ram_bytes)) {
        text_add(why, "model needs more flash or RAM than the device has");
        return DC_FLEET_WRONG_TARGET;
    }
    if (m->has_base && (!running_hashes(f, file_sha, content_sha) || memcmp(content_sha, m->base_sha256, 32) != 0)) {
        text_add(why, "delta against a model this device does not run");
        return DC_FLEET_BASE_MISMATCH;
    }
    return DC_FLEET_REASON_NONE;
}

/* ---- the transfer ----------------------------------------------------------------- */

static uint32_t block_len(const dc_fleet_t *f, uint32_t index)
{
    uint32_t start = index * f->block;
    return f->man.size - start < f->block ? f->man.size - start : f->block;
}

static int have_bit(const dc_fleet_t *f, uint32_t k)
{
    return (f->win_have[k / 8u] >> (k % 8u)) & 1u;
}

static void start_window(dc_fleet_t *f)
{
    uint32_t first = f->written / f->block;
    uint32_t left = f->blocks - first;
    f->win_first = first;
    f->win_count = left < f->window ? left : f->window;
    memset(f->win_have, 0, sizeof f->win_have);
    f->need_request = 1;
}

static int window_done(const dc_fleet_t *f)
{
    uint32_t end = f->win_first + f->win_count;
    return f->written == f->man.size || f->written >= end * f->block;
}

/* Writes the blocks of the window that continue the slot's contents, in order. */
static void flush(dc_fleet_t *f)
{
    while (f->written < f->man.size && f->slot_error == DC_OK) {
        uint32_t idx = f->written / f->block, k, skip, len;
        int rc;
        if (idx < f->win_first || idx >= f->win_first + f->win_count) {
            return;
        }
        k = idx - f->win_first;
        if (!have_bit(f, k)) {
            return;
        }
        skip = f->written - idx * f->block; /* resumed mid-block: those bytes are in the slot */
        len = block_len(f, idx);
        rc = dc_slots_upload_write(f->slots, f->written, f->window_buf + (size_t)k * f->block + skip, len - skip);
        if (rc != DC_OK) {
            f->slot_error = rc;
            return;
        }
        f->written = idx * f->block + len;
    }
}

static void on_block(dc_fleet_t *f, const uint8_t *payload, size_t len)
{
    dc_fleet_block_t b;
    uint32_t k;
    if (dc_fleet_block_parse(payload, len, &b) != DC_OK) {
        f->bad_messages++;
        return;
    }
    if (b.file_id != 0u || b.block_size != f->block || b.index >= f->blocks ||
        b.payload_len != block_len(f, b.index)) {
        f->bad_messages++; /* another block size (an older request), or a wrong length */
        return;
    }
    if (b.index < f->win_first || b.index >= f->win_first + f->win_count ||
        have_bit(f, b.index - f->win_first) || (b.index + 1u) * f->block <= f->written) {
        f->duplicates++;
        return;
    }
    k = b.index - f->win_first;
    memcpy(f->window_buf + (size_t)k * f->block, b.payload, b.payload_len);
    f->win_have[k / 8u] |= (uint8_t)(1u << (k % 8u));
    f->blocks_received++;
    f->retries = 0;
    f->last_progress_ms = now(f);
    flush(f);
}

/* 1 when `token` is one this transfer issued ("t<n>", token_first <= n <= token). */
static int our_token(const dc_fleet_t *f, const char *token, size_t len)
{
    uint32_t v = 0;
    size_t i;
    if (len < 2u || len > 11u || token[0] != 't') {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if (token[i] < '0' || token[i] > '9' || v > 429496728u) {
            return 0;
        }
        v = v * 10u + (uint32_t)(token[i] - '0');
    }
    return v >= f->token_first && v <= f->token;
}

void dc_fleet_on_message(void *ctx, const dc_mqtt_message_t *msg)
{
    dc_fleet_t *f = (dc_fleet_t *)ctx;
    if (f == NULL || msg == NULL) {
        return;
    }
    if (topic_manifest(f, f->match) && topic_is(msg, f->match)) {
        if (msg->payload_len == 0u) {
            f->incoming_state = 3;
            return;
        }
        f->incoming_status = dc_fleet_manifest_parse(msg->payload, msg->payload_len, f->cfg.fleet, &f->incoming);
        f->incoming_state = f->incoming_status == DC_OK ? 1u : 2u;
        return;
    }
    if (!f->downloading) {
        return;
    }
    if (topic_stream(f, f->match, "/data") && topic_is(msg, f->match)) {
        on_block(f, msg->payload, msg->payload_len);
    } else if (topic_stream(f, f->match, "/rejected") && topic_is(msg, f->match)) {
        dc_fleet_rejection_t r;
        text_t t;
        if (dc_fleet_rejection_parse(msg->payload, msg->payload_len, &r) != DC_OK) {
            f->bad_messages++;
            return;
        }
        if (!our_token(f, r.token, r.token_len)) {
            return;
        }
        f->stream_rejected = 1;
        text_init(&t, f->rejection, sizeof f->rejection);
        text_add(&t, "stream server: ");
        if (r.code_len < sizeof f->rejection - t.len) {
            memcpy(f->rejection + t.len, r.code, r.code_len);
            t.len += r.code_len;
            f->rejection[t.len] = '\0';
        }
    }
}

static int send_request(dc_fleet_t *f)
{
    uint8_t bitmap[DC_FLEET_MAX_WINDOW / 8];
    char token[12];
    text_t t;
    uint32_t i, missing = 0;
    int len;
    memset(bitmap, 0, sizeof bitmap);
    for (i = 0; i < f->win_count; i++) {
        uint32_t idx = f->win_first + i;
        if (!have_bit(f, i) && (idx + 1u) * f->block > f->written) {
            bitmap[i / 8u] |= (uint8_t)(1u << (i % 8u));
            missing++;
        }
    }
    if (missing == 0u) {
        f->need_request = 0;
        return DC_OK;
    }
    f->token++;
    text_init(&t, token, sizeof token);
    text_add(&t, "t");
    text_u32(&t, f->token);
    len = dc_fleet_request_encode(f->scratch, DC_FLEET_REQUEST_MAX, token, f->block, f->win_first, f->win_count,
                                  missing == f->win_count ? NULL : bitmap);
    if (len < 0) {
        return len;
    }
    if (!topic_stream(f, f->topic, "/get")) {
        return DC_ERR_ARG;
    }
    f->need_request = 0;
    f->requests++;
    f->last_progress_ms = now(f);
    return dc_mqtt_publish(f->mqtt, f->topic, f->scratch, (size_t)len, 1, 0, PUBLISH_TIMEOUT_MS);
}

/* ---- install ---------------------------------------------------------------------- */

static int fail_transfer(dc_fleet_t *f, dc_fleet_state_t state, dc_fleet_reason_t reason, const char *detail,
                         int status)
{
    text_t t;
    f->downloading = 0;
    set_state(f, state, reason, detail);
    if (status != DC_OK) {
        text_init(&t, f->detail + strlen(f->detail), sizeof f->detail - strlen(f->detail));
        text_add(&t, " (");
        text_add(&t, dc_status_name(status));
        text_add(&t, ")");
    }
    return publish_status(f);
}

/* Marks the verified inactive slot pending and asks for the reboot. */
static int install(dc_fleet_t *f)
{
    int slot = dc_slots_inactive(f->slots);
    int rc;
    f->pending_install = 0;
    set_state(f, DC_FLEET_FLASHING, DC_FLEET_REASON_NONE, "marking the new slot to run on trial");
    rc = publish_status(f);
    if (rc != DC_OK) {
        return rc;
    }
    rc = dc_slots_mark_pending(f->slots, slot, 0);
    if (rc != DC_OK) {
        return fail_transfer(f, DC_FLEET_FAILED, DC_FLEET_BOARD_ERROR, "could not mark the slot pending", rc);
    }
    set_state(f, DC_FLEET_TESTING, DC_FLEET_REASON_NONE, "rebooting into the new model on trial");
    rc = publish_status(f);
    return rc != DC_OK ? rc : DC_FLEET_ACT_REBOOT;
}

static dc_fleet_reason_t reason_of(int status)
{
    switch (status) {
    case DC_ERR_HASH: return DC_FLEET_HASH_MISMATCH;
    case DC_ERR_SIGNATURE: return DC_FLEET_BAD_SIGNATURE;
    case DC_ERR_AUTH: return DC_FLEET_UNTRUSTED_KEY;
    case DC_ERR_ROLLBACK: return DC_FLEET_DOWNGRADE;
    case DC_ERR_FLASH: return DC_FLEET_BOARD_ERROR;
    default: return DC_FLEET_MALFORMED;
    }
}

/* The container in the slot must say what the manifest announced (section 6 step 4). */
static int matches_manifest(const dc_fleet_t *f, int slot)
{
    const dc_fleet_manifest_t *m = &f->man;
    dc_container_t c;
    const char *name, *arch;
    size_t name_len, arch_len;
    uint32_t version;
    uint64_t min_flash, min_ram;
    int is_delta;
    if (dc_container_open(&c, f->cfg.flash_map + f->slots->slot_offset[slot], m->size) != DC_OK ||
        dc_fleet_model_of(&c, &name, &name_len, &version) != DC_OK ||
        dc_fleet_target_of(&c, &arch, &arch_len, &min_flash, &min_ram) != DC_OK) {
        return 0;
    }
    is_delta = (c.flags & DC_CONTAINER_FLAG_DELTA) != 0u;
    return memcmp(c.content_sha256, m->content_sha256, 32) == 0 && name_len == strlen(m->name) &&
           memcmp(name, m->name, name_len) == 0 && version == m->version && arch_len == strlen(m->arch) &&
           memcmp(arch, m->arch, arch_len) == 0 && min_flash == m->min_flash && min_ram == m->min_ram &&
           is_delta == m->has_base && (!is_delta || memcmp(c.base_sha256, m->base_sha256, 32) == 0);
}

static int finish(dc_fleet_t *f)
{
    dc_model_info_t info;
    int slot = dc_slots_inactive(f->slots);
    int rc;
    set_state(f, DC_FLEET_VERIFYING, DC_FLEET_REASON_NONE, "");
    rc = publish_status(f);
    if (rc != DC_OK) {
        return rc;
    }
    f->downloading = 0;
    rc = dc_slots_upload_finish(f->slots, 0, &info);
    if (rc != DC_OK) {
        dc_fleet_reason_t reason = reason_of(rc);
        return fail_transfer(f, reason == DC_FLEET_BOARD_ERROR ? DC_FLEET_FAILED : DC_FLEET_REJECTED, reason,
                             "the downloaded image does not verify", rc);
    }
    if (!matches_manifest(f, slot)) {
        (void)dc_slots_erase(f->slots, slot);
        return fail_transfer(f, DC_FLEET_REJECTED, DC_FLEET_MANIFEST_MISMATCH,
                             "the container's metadata differs from its manifest", DC_OK);
    }
    set_state(f, DC_FLEET_VERIFIED, DC_FLEET_REASON_NONE, "");
    rc = publish_status(f);
    return rc != DC_OK ? rc : install(f);
}

/* A new, parsed manifest (section 6): ignore, reject, or start/resume its download. */
static int consider(dc_fleet_t *f, const dc_fleet_manifest_t *m)
{
    uint8_t file_sha[32], content_sha[32];
    dc_slot_status_t st;
    dc_fleet_reason_t reason;
    char why[DC_FLEET_DETAIL_MAX + 1];
    text_t t;
    uint32_t resume = 0;
    int slot, rc;
    if (f->downloading && memcmp(m->sha256, f->man.sha256, 32) == 0) {
        return DC_OK; /* the same update, delivered again (retained, after a reconnect) */
    }
    f->downloading = 0;
    if (running_hashes(f, file_sha, content_sha) && memcmp(file_sha, m->sha256, 32) == 0) {
        /* Already running (e.g. just confirmed after the reboot): report it with its stream. */
        int first = !f->have_man || memcmp(f->man.sha256, m->sha256, 32) != 0;
        f->man = *m;
        f->have_man = 1;
        f->written = m->size;
        set_model(f, m);
        if (f->state != DC_FLEET_CONFIRMED) {
            set_state(f, DC_FLEET_IDLE, DC_FLEET_REASON_NONE, "this model is running");
        } else if (first) {
            f->status_dirty = 1;
        }
        return DC_OK;
    }
    f->man = *m;
    f->have_man = 1;
    f->written = 0;
    set_model(f, m);
    text_init(&t, why, sizeof why);
    reason = check_manifest(f, m, &t);
    if (reason != DC_FLEET_REASON_NONE) {
        set_state(f, DC_FLEET_REJECTED, reason, why);
        return DC_OK;
    }
    slot = dc_slots_inactive(f->slots);
    if (dc_slots_status(f->slots, slot, &st) == DC_OK && st.bootable && memcmp(st.hash, m->sha256, 32) == 0) {
        if (st.tried) {
            set_state(f, DC_FLEET_ROLLED_BACK, DC_FLEET_BOARD_ERROR, "this image failed its trial run before");
        } else {
            f->pending_install = 1; /* verified earlier: install without downloading again */
        }
        return DC_OK;
    }
    rc = dc_slots_upload_begin(f->slots, slot, m->size, m->sha256, &resume);
    if (rc != DC_OK) {
        set_state(f, DC_FLEET_FAILED, DC_FLEET_BOARD_ERROR, "cannot open the inactive slot");
        return DC_OK;
    }
    f->block = m->block_size;
    if (f->block > f->cfg.block_size) {
        f->block = f->cfg.block_size;
    }
    if (f->block > f->window_cap) {
        f->block = (uint32_t)f->window_cap;
    }
    f->blocks = (m->size + f->block - 1u) / f->block;
    f->window = (uint32_t)(f->window_cap / f->block);
    if (f->window > DC_FLEET_MAX_WINDOW) {
        f->window = DC_FLEET_MAX_WINDOW;
    }
    f->written = resume;
    f->downloading = 1;
    f->need_subscribe = 1;
    f->slot_error = DC_OK;
    f->stream_rejected = 0;
    f->retries = 0;
    f->token_first = f->token + 1u;
    start_window(f);
    text_init(&t, why, sizeof why);
    if (resume > 0u) {
        text_add(&t, "resuming at byte ");
        text_u32(&t, resume);
    }
    set_state(f, DC_FLEET_DOWNLOADING, DC_FLEET_REASON_NONE, why);
    f->last_progress_ms = now(f);
    return DC_OK;
}

/* ---- public ----------------------------------------------------------------------- */

int dc_fleet_init(dc_fleet_t *f, const dc_fleet_config_t *cfg, dc_mqtt_client_t *mqtt, dc_slots_t *slots,
                  uint8_t *window_buf, size_t window_cap)
{
    if (f == NULL || cfg == NULL || mqtt == NULL || slots == NULL || window_buf == NULL ||
        window_cap < DC_FLEET_MIN_BLOCK || cfg->device_id == NULL || cfg->fleet == NULL ||
        !dc_fleet_name_ok(cfg->device_id, strlen(cfg->device_id)) ||
        !dc_fleet_name_ok(cfg->fleet, strlen(cfg->fleet)) || cfg->flash_map == NULL ||
        (cfg->keys == NULL && cfg->key_count > 0u) || cfg->block_size < DC_FLEET_MIN_BLOCK ||
        cfg->block_size > DC_FLEET_MAX_BLOCK || cfg->request_timeout_ms == 0u ||
        (cfg->arch != NULL && strlen(cfg->arch) > DC_FLEET_ARCH_MAX)) {
        return DC_ERR_ARG;
    }
    memset(f, 0, sizeof(*f));
    f->cfg = *cfg;
    f->mqtt = mqtt;
    f->slots = slots;
    f->window_buf = window_buf;
    f->window_cap = window_cap;
    f->state = DC_FLEET_IDLE;
    f->status_dirty = 1;
    return DC_OK;
}

void dc_fleet_boot_result(dc_fleet_t *f, dc_fleet_state_t state, const char *name, size_t name_len,
                          uint32_t version, const char *detail)
{
    if (f == NULL) {
        return;
    }
    if (name != NULL) {
        if (name_len > DC_FLEET_MODEL_NAME_MAX) {
            name_len = DC_FLEET_MODEL_NAME_MAX;
        }
        memcpy(f->model_name, name, name_len);
        f->model_name[name_len] = '\0';
        f->model_version = version;
        f->has_model = 1;
    }
    set_state(f, state, state == DC_FLEET_ROLLED_BACK ? DC_FLEET_BOARD_ERROR : DC_FLEET_REASON_NONE, detail);
}

int dc_fleet_on_connect(dc_fleet_t *f)
{
    int rc;
    if (f == NULL) {
        return DC_ERR_ARG;
    }
    if (!topic_manifest(f, f->topic)) {
        return DC_ERR_ARG;
    }
    rc = dc_mqtt_subscribe(f->mqtt, f->topic, 1, PUBLISH_TIMEOUT_MS);
    if (rc != DC_OK) {
        return rc;
    }
    if (f->downloading) {
        f->need_subscribe = 1;
        f->need_request = 1;
    }
    f->status_dirty = 1;
    return DC_OK;
}

static int subscribe_stream(dc_fleet_t *f)
{
    int rc;
    if (!topic_stream(f, f->topic, "/data")) {
        return DC_ERR_ARG;
    }
    rc = dc_mqtt_subscribe(f->mqtt, f->topic, 0, PUBLISH_TIMEOUT_MS);
    if (rc == DC_OK && topic_stream(f, f->topic, "/rejected")) {
        rc = dc_mqtt_subscribe(f->mqtt, f->topic, 1, PUBLISH_TIMEOUT_MS);
    }
    if (rc == DC_OK) {
        f->need_subscribe = 0;
    }
    return rc;
}

int dc_fleet_step(dc_fleet_t *f)
{
    int rc = DC_OK;
    if (f == NULL) {
        return DC_ERR_ARG;
    }
    if (!f->mqtt->connected) {
        return f->mqtt->last_error != DC_OK ? f->mqtt->last_error : DC_ERR_CLOSED;
    }
    if (f->status_dirty && f->incoming_state != 0u) {
        /* Report what happened (the boot's outcome, say) before a manifest changes the state. */
        rc = publish_status(f);
        if (rc != DC_OK) {
            return rc;
        }
    }
    if (f->incoming_state == 1u) {
        f->incoming_state = 0;
        rc = consider(f, &f->incoming);
    } else if (f->incoming_state == 2u) {
        f->incoming_state = 0;
        f->downloading = 0;
        set_state(f, DC_FLEET_REJECTED, DC_FLEET_MALFORMED,
                  f->incoming_status == DC_ERR_FIELD ? "the manifest names another fleet"
                                                     : "the manifest does not parse");
    } else if (f->incoming_state == 3u) {
        f->incoming_state = 0;
        if (f->downloading) {
            f->downloading = 0;
            set_state(f, DC_FLEET_IDLE, DC_FLEET_REASON_NONE, "the manifest was withdrawn");
        }
    }
    if (rc != DC_OK) {
        return rc;
    }
    if (f->pending_install) {
        return install(f);
    }
    if (f->downloading) {
        if (f->slot_error != DC_OK) {
            return fail_transfer(f, DC_FLEET_FAILED, DC_FLEET_BOARD_ERROR, "writing the slot failed", f->slot_error);
        }
        if (f->stream_rejected) {
            return fail_transfer(f, DC_FLEET_FAILED, DC_FLEET_STREAM_ERROR, f->rejection, DC_OK);
        }
        if (f->need_subscribe) {
            rc = subscribe_stream(f);
            if (rc != DC_OK) {
                return rc;
            }
        }
        if (f->written == f->man.size) {
            return finish(f);
        }
        if (window_done(f)) {
            start_window(f);
        }
        if (f->need_request) {
            rc = send_request(f);
        } else if (now(f) - f->last_progress_ms >= f->cfg.request_timeout_ms) {
            if (++f->retries > f->cfg.max_retries) {
                return fail_transfer(f, DC_FLEET_FAILED, DC_FLEET_TIMEOUT, "no block arrived in time", DC_OK);
            }
            f->need_request = 1;
            rc = send_request(f);
        }
        if (rc != DC_OK) {
            return rc;
        }
        if (!f->status_dirty && f->written != f->status_written &&
            now(f) - f->status_sent_ms >= PROGRESS_INTERVAL_MS) {
            f->status_dirty = 1;
        }
    }
    if (f->status_dirty) {
        rc = publish_status(f);
    }
    return rc;
}
