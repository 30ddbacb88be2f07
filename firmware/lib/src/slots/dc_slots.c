/* dc_slots.c: A/B model slots with write-once trailers (see dc_slots.h for the layout and the
 * state machine; docs/protocol.md "Model slots" for the diagram). */
#include "dc_slots.h"

#include <string.h>

#include "dc_status.h"

#define TR_UPLOAD 0u
#define TR_INFO 64u
#define TR_PENDING 128u
#define TR_TESTING 160u
#define TR_CONFIRMED 192u
#define TR_END 224u
#define REC_LEN 52u /* both records: 12 or 16 bytes of fields, 32 of hash, 4 of CRC */

#define MAGIC_UPLOAD 0x31554344u /* "DCU1" */
#define MAGIC_INFO 0x31494344u   /* "DCI1" */
#define FLAG_PENDING 0x444E4550u /* "PEND" */
#define FLAG_TESTING 0x54534554u /* "TEST" */
#define FLAG_CONFIRMED 0x464E4F43u /* "CONF" */

/* ---- little helpers --------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (uint32_t)(-(int32_t)(c & 1u)));
        }
    }
    return ~c;
}

static uint32_t round_up(uint32_t v, uint32_t unit)
{
    return (v + unit - 1u) / unit * unit;
}

static uint32_t flag_len(const dc_slots_t *s)
{
    return s->flash->write_size < 8u ? 8u : s->flash->write_size;
}

static uint32_t rec_len(const dc_slots_t *s)
{
    return round_up(REC_LEN, s->flash->write_size);
}

static uint32_t trailer_off(const dc_slots_t *s, int slot)
{
    return s->slot_offset[slot] + s->slot_size - s->flash->sector_size;
}

static uint32_t capacity(const dc_slots_t *s)
{
    return s->slot_size - s->flash->sector_size;
}

static int valid_slot(int slot)
{
    return slot == 0 || slot == 1;
}

/* ---- trailer encode/decode -------------------------------------------------------- */

static int all_ff(const uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != 0xFFu) {
            return 0;
        }
    }
    return 1;
}

static uint8_t parse_flag(const uint8_t *p, uint32_t n, uint32_t pattern)
{
    uint32_t i;
    if (all_ff(p, n)) {
        return DC_FLAG_ERASED;
    }
    for (i = 0; i + 4u <= n; i += 4u) {
        if (get32(p + i) != pattern) {
            return DC_FLAG_DIRTY;
        }
    }
    return DC_FLAG_SET;
}

static void parse_trailer(const dc_slots_t *s, const uint8_t *t, dc_slot_trailer_t *tr)
{
    uint32_t fl = flag_len(s);
    memset(tr, 0, sizeof(*tr));
    if (get32(t + TR_UPLOAD) == MAGIC_UPLOAD &&
        crc32(t + TR_UPLOAD, REC_LEN - 4u) == get32(t + TR_UPLOAD + REC_LEN - 4u)) {
        tr->upload_valid = 1;
        tr->upload_size = get32(t + TR_UPLOAD + 4u);
        tr->upload_has_sha = get32(t + TR_UPLOAD + 8u) == 1u;
        memcpy(tr->upload_sha, t + TR_UPLOAD + 12u, DC_SLOTS_HASH_SIZE);
    }
    if (get32(t + TR_INFO) == MAGIC_INFO &&
        crc32(t + TR_INFO, REC_LEN - 4u) == get32(t + TR_INFO + REC_LEN - 4u)) {
        tr->info_valid = 1;
        tr->image_size = get32(t + TR_INFO + 4u);
        tr->version = get32(t + TR_INFO + 8u);
        tr->seq = get32(t + TR_INFO + 12u);
        memcpy(tr->hash, t + TR_INFO + 16u, DC_SLOTS_HASH_SIZE);
    }
    /* An INFO record is only meaningful over a complete upload of the same size. */
    if (tr->info_valid && (!tr->upload_valid || tr->upload_size != tr->image_size ||
                           tr->image_size == 0u || tr->image_size > capacity(s))) {
        tr->info_valid = 0;
    }
    tr->pending = parse_flag(t + TR_PENDING, fl, FLAG_PENDING);
    tr->testing = parse_flag(t + TR_TESTING, fl, FLAG_TESTING);
    tr->confirmed = parse_flag(t + TR_CONFIRMED, fl, FLAG_CONFIRMED);
    /* An upload can only go on where everything after UPLOAD is still erased. */
    tr->resumable = tr->upload_valid && all_ff(t + TR_INFO, TR_END - TR_INFO);
}

static int read_trailer(dc_slots_t *s, int slot)
{
    uint8_t t[TR_END];
    int rc = dc_flash_read(s->flash, trailer_off(s, slot), t, TR_END);
    if (rc != DC_OK) {
        memset(&s->tr[slot], 0, sizeof(s->tr[slot]));
        return rc;
    }
    parse_trailer(s, t, &s->tr[slot]);
    return DC_OK;
}

static int write_upload_rec(dc_slots_t *s, int slot, uint32_t size, const uint8_t *sha)
{
    uint8_t r[64];
    memset(r, 0xFF, sizeof(r));
    put32(r, MAGIC_UPLOAD);
    put32(r + 4, size);
    put32(r + 8, sha != NULL ? 1u : 0u);
    if (sha != NULL) {
        memcpy(r + 12, sha, DC_SLOTS_HASH_SIZE);
    } else {
        memset(r + 12, 0, DC_SLOTS_HASH_SIZE);
    }
    put32(r + REC_LEN - 4u, crc32(r, REC_LEN - 4u));
    return dc_flash_write(s->flash, trailer_off(s, slot) + TR_UPLOAD, r, rec_len(s));
}

static int write_info_rec(dc_slots_t *s, int slot, uint32_t size, uint32_t version, uint32_t seq,
                          const uint8_t *hash)
{
    uint8_t r[64];
    memset(r, 0xFF, sizeof(r));
    put32(r, MAGIC_INFO);
    put32(r + 4, size);
    put32(r + 8, version);
    put32(r + 12, seq);
    memcpy(r + 16, hash, DC_SLOTS_HASH_SIZE);
    put32(r + REC_LEN - 4u, crc32(r, REC_LEN - 4u));
    return dc_flash_write(s->flash, trailer_off(s, slot) + TR_INFO, r, rec_len(s));
}

static int write_flag(dc_slots_t *s, int slot, uint32_t where, uint32_t pattern)
{
    uint8_t f[DC_FLASH_MAX_WRITE_SIZE];
    uint32_t i, n = flag_len(s);
    for (i = 0; i < n; i += 4u) {
        put32(f + i, pattern);
    }
    return dc_flash_write(s->flash, trailer_off(s, slot) + where, f, n);
}

/* Sets one flag: no-op if already SET, DC_ERR_SLOT if DIRTY (the caller rewrites). */
static int set_flag(dc_slots_t *s, int slot, uint8_t *state, uint32_t where, uint32_t pattern)
{
    int rc;
    if (*state == DC_FLAG_SET) {
        return DC_OK;
    }
    if (*state == DC_FLAG_DIRTY) {
        return DC_ERR_SLOT;
    }
    rc = write_flag(s, slot, where, pattern);
    if (rc != DC_OK) {
        *state = DC_FLAG_DIRTY;
        return rc;
    }
    *state = DC_FLAG_SET;
    return DC_OK;
}

#define WANT_PENDING 0x1u
#define WANT_TESTING 0x2u
#define WANT_CONFIRMED 0x4u

/* Rewrites the trailer of a verified slot from RAM: erase, UPLOAD, INFO (with `seq`), then the
 * wanted flags. Any cut leaves the slot either invalid or valid with a prefix of the flags. */
static int rewrite_trailer(dc_slots_t *s, int slot, uint32_t seq, unsigned want)
{
    dc_slot_trailer_t old = s->tr[slot];
    int rc;
    s->tr[slot].info_valid = 0;
    rc = dc_flash_erase(s->flash, trailer_off(s, slot), s->flash->sector_size);
    if (rc == DC_OK) {
        memset(&s->tr[slot], 0, sizeof(s->tr[slot]));
        rc = write_upload_rec(s, slot, old.upload_size, old.upload_has_sha ? old.upload_sha : NULL);
    }
    if (rc == DC_OK) {
        rc = write_info_rec(s, slot, old.image_size, old.version, seq, old.hash);
    }
    if (rc == DC_OK && (want & WANT_PENDING)) {
        rc = write_flag(s, slot, TR_PENDING, FLAG_PENDING);
    }
    if (rc == DC_OK && (want & WANT_TESTING)) {
        rc = write_flag(s, slot, TR_TESTING, FLAG_TESTING);
    }
    if (rc == DC_OK && (want & WANT_CONFIRMED)) {
        rc = write_flag(s, slot, TR_CONFIRMED, FLAG_CONFIRMED);
    }
    (void)read_trailer(s, slot); /* RAM follows flash, whatever happened */
    return rc;
}

/* ---- upload session --------------------------------------------------------------- */

static void close_session(dc_slots_t *s)
{
    s->up_slot = DC_SLOT_NONE;
    s->up_size = 0;
    s->up_written = 0;
    s->up_flushed = 0;
}

/* Finds where an upload interrupted by a reset can go on: the start of the sector holding
 * the last programmed byte (that sector is erased again before use). */
static int recover_session(dc_slots_t *s, int slot)
{
    const dc_slot_trailer_t *tr = &s->tr[slot];
    uint8_t buf[64];
    uint32_t end, at, last = 0;
    int any = 0, rc;
    if (!tr->resumable || tr->upload_size == 0u ||
        tr->upload_size > capacity(s)) {
        return DC_OK;
    }
    end = round_up(tr->upload_size, s->flash->write_size);
    for (at = 0; at < end; at += sizeof(buf)) {
        uint32_t n = end - at < sizeof(buf) ? end - at : (uint32_t)sizeof(buf);
        uint32_t i;
        rc = dc_flash_read(s->flash, s->slot_offset[slot] + at, buf, n);
        if (rc != DC_OK) {
            return rc;
        }
        for (i = 0; i < n; i++) {
            if (buf[i] != 0xFFu) {
                last = at + i;
                any = 1;
            }
        }
    }
    s->up_slot = slot;
    s->up_size = tr->upload_size;
    s->up_written = any ? last / s->flash->sector_size * s->flash->sector_size : 0u;
    s->up_flushed = s->up_written;
    if (any) {
        /* The sector holding the last programmed byte may hold a torn unit: start it over. */
        rc = dc_flash_erase(s->flash, s->slot_offset[slot] + s->up_written, s->flash->sector_size);
        if (rc != DC_OK) {
            close_session(s);
            return rc;
        }
    }
    return DC_OK;
}

static int program(dc_slots_t *s, uint32_t at, const uint8_t *data, uint32_t n)
{
    int rc = dc_flash_write(s->flash, s->slot_offset[s->up_slot] + at, data, n);
    if (rc != DC_OK) {
        close_session(s); /* the unit may be half-programmed: only a new session is safe */
    }
    return rc;
}

/* ---- public ----------------------------------------------------------------------- */

int dc_slots_init(dc_slots_t *s, const dc_flash_t *flash, uint32_t slot0_offset,
                  uint32_t slot1_offset, uint32_t slot_size, dc_verifier_t verifier)
{
    int i, rc;
    if (s == NULL || dc_flash_check(flash) != DC_OK || verifier.verify == NULL) {
        return DC_ERR_ARG;
    }
    memset(s, 0, sizeof(*s));
    if (slot_size < 2u * flash->sector_size || slot_size % flash->sector_size != 0u ||
        slot0_offset % flash->sector_size != 0u || slot1_offset % flash->sector_size != 0u ||
        slot0_offset > flash->size || flash->size - slot0_offset < slot_size ||
        slot1_offset > flash->size || flash->size - slot1_offset < slot_size ||
        (slot0_offset < slot1_offset ? slot1_offset - slot0_offset : slot0_offset - slot1_offset) <
            slot_size) {
        return DC_ERR_ARG;
    }
    s->flash = flash;
    s->verifier = verifier;
    s->slot_offset[0] = slot0_offset;
    s->slot_offset[1] = slot1_offset;
    s->slot_size = slot_size;
    s->running = DC_SLOT_NONE;
    close_session(s);
    for (i = 0; i < DC_SLOTS_COUNT; i++) {
        rc = read_trailer(s, i);
        if (rc != DC_OK) {
            return rc;
        }
    }
    for (i = 0; i < DC_SLOTS_COUNT && s->up_slot == DC_SLOT_NONE; i++) {
        rc = recover_session(s, i);
        if (rc != DC_OK) {
            return rc;
        }
    }
    return DC_OK;
}

/* Re-verifies a slot's image against its INFO record. */
static int check_slot(dc_slots_t *s, int slot)
{
    dc_model_info_t info;
    int rc;
    if (!s->tr[slot].info_valid) {
        return DC_ERR_SLOT;
    }
    memset(&info, 0, sizeof(info));
    rc = s->verifier.verify(s->verifier.ctx, s->flash, s->slot_offset[slot], s->tr[slot].image_size,
                            &info);
    if (rc != DC_OK) {
        return rc;
    }
    if (memcmp(info.hash, s->tr[slot].hash, DC_SLOTS_HASH_SIZE) != 0 ||
        info.version != s->tr[slot].version) {
        return DC_ERR_HASH;
    }
    return DC_OK;
}

static int is_confirmed(const dc_slots_t *s, int slot)
{
    return s->tr[slot].info_valid && s->tr[slot].confirmed == DC_FLAG_SET;
}

/* The newest (highest seq) slot satisfying `confirmed_only`, skipping `skip`. */
static int newest(const dc_slots_t *s, int confirmed_only, int skip)
{
    int best = DC_SLOT_NONE, i;
    for (i = 0; i < DC_SLOTS_COUNT; i++) {
        if (i == skip || !s->tr[i].info_valid || (confirmed_only && !is_confirmed(s, i))) {
            continue;
        }
        if (best == DC_SLOT_NONE || s->tr[i].seq > s->tr[best].seq) {
            best = i;
        }
    }
    return best;
}

/* Rule 1 of dc_slots_boot: the slot to try, or DC_SLOT_NONE. */
static int trial_candidate(const dc_slots_t *s)
{
    int i, conf = newest(s, 1, DC_SLOT_NONE);
    for (i = 0; i < DC_SLOTS_COUNT; i++) {
        const dc_slot_trailer_t *t = &s->tr[i];
        if (t->info_valid && t->pending == DC_FLAG_SET && t->testing == DC_FLAG_ERASED &&
            t->confirmed != DC_FLAG_SET && (conf == DC_SLOT_NONE || t->seq > s->tr[conf].seq)) {
            return i;
        }
    }
    return DC_SLOT_NONE;
}

int dc_slots_boot(dc_slots_t *s, int *slot)
{
    int cand, pass, i;
    if (s == NULL || slot == NULL) {
        return DC_ERR_ARG;
    }
    s->running = DC_SLOT_NONE;
    s->trial = 0;
    *slot = DC_SLOT_NONE;
    cand = trial_candidate(s);
    if (cand != DC_SLOT_NONE && check_slot(s, cand) == DC_OK &&
        set_flag(s, cand, &s->tr[cand].testing, TR_TESTING, FLAG_TESTING) == DC_OK) {
        /* TESTING is on flash before the trial runs: a reset without confirm reverts. */
        s->running = cand;
        s->trial = 1;
    }
    /* Rule 2 (confirmed, newest first), then rule 3 (any verified, newest first). */
    for (pass = 0; pass < 2 && s->running == DC_SLOT_NONE; pass++) {
        int skip = DC_SLOT_NONE;
        for (i = 0; i < DC_SLOTS_COUNT && s->running == DC_SLOT_NONE; i++) {
            int c = newest(s, pass == 0, skip);
            if (c == DC_SLOT_NONE) {
                break;
            }
            if (check_slot(s, c) == DC_OK) {
                s->running = c;
            }
            skip = c;
        }
    }
    if (s->running == DC_SLOT_NONE) {
        return DC_ERR_NO_MODEL;
    }
    if (s->up_slot == s->running) {
        close_session(s);
    }
    *slot = s->running;
    return DC_OK;
}

int dc_slots_running(const dc_slots_t *s)
{
    return s == NULL ? DC_SLOT_NONE : s->running;
}

int dc_slots_inactive(const dc_slots_t *s)
{
    if (s == NULL) {
        return DC_SLOT_NONE;
    }
    return s->running == DC_SLOT_NONE ? 0 : 1 - s->running;
}

/* May the inactive `slot` be changed (written, erased, re-marked)? */
static int writable(const dc_slots_t *s, int slot)
{
    if (!valid_slot(slot)) {
        return DC_ERR_ARG;
    }
    if (slot == s->running || (s->running != DC_SLOT_NONE && s->trial)) {
        return DC_ERR_SLOT;
    }
    return DC_OK;
}

int dc_slots_upload_begin(dc_slots_t *s, int slot, uint32_t size, const uint8_t *sha,
                          uint32_t *resume)
{
    uint32_t span;
    int rc;
    if (s == NULL || resume == NULL) {
        return DC_ERR_ARG;
    }
    *resume = 0;
    rc = writable(s, slot);
    if (rc != DC_OK) {
        return rc;
    }
    if (size == 0u) {
        return DC_ERR_LENGTH;
    }
    if (size > capacity(s)) {
        return DC_ERR_OVERSIZE;
    }
    if (sha != NULL && s->up_slot == slot && s->up_size == size && s->tr[slot].resumable &&
        s->tr[slot].upload_has_sha &&
        memcmp(s->tr[slot].upload_sha, sha, DC_SLOTS_HASH_SIZE) == 0) {
        *resume = s->up_written;
        return DC_OK;
    }
    close_session(s);
    /* Invalidate first (trailer), then clear the image area, then record the session. */
    memset(&s->tr[slot], 0, sizeof(s->tr[slot]));
    rc = dc_flash_erase(s->flash, trailer_off(s, slot), s->flash->sector_size);
    if (rc != DC_OK) {
        (void)read_trailer(s, slot);
        return rc;
    }
    memset(&s->tr[slot], 0, sizeof(s->tr[slot]));
    span = round_up(size, s->flash->sector_size);
    rc = dc_flash_erase(s->flash, s->slot_offset[slot], span);
    if (rc != DC_OK) {
        return rc;
    }
    rc = write_upload_rec(s, slot, size, sha);
    if (rc != DC_OK) {
        (void)read_trailer(s, slot);
        return rc;
    }
    s->tr[slot].upload_valid = 1;
    s->tr[slot].resumable = 1;
    s->tr[slot].upload_size = size;
    s->tr[slot].upload_has_sha = sha != NULL;
    if (sha != NULL) {
        memcpy(s->tr[slot].upload_sha, sha, DC_SLOTS_HASH_SIZE);
    }
    s->up_slot = slot;
    s->up_size = size;
    return DC_OK;
}

int dc_slots_upload_write(dc_slots_t *s, uint32_t offset, const uint8_t *data, uint32_t n)
{
    uint32_t w;
    int rc;
    if (s == NULL || (data == NULL && n != 0u)) {
        return DC_ERR_ARG;
    }
    if (s->up_slot == DC_SLOT_NONE) {
        return DC_ERR_SLOT;
    }
    if (offset != s->up_written || n > s->up_size - s->up_written) {
        return DC_ERR_LENGTH;
    }
    w = s->flash->write_size;
    while (n > 0u) {
        uint32_t staged = s->up_written - s->up_flushed;
        if (staged > 0u || n < w) {
            uint32_t take = w - staged < n ? w - staged : n;
            memcpy(s->stage + staged, data, take);
            s->up_written += take;
            data += take;
            n -= take;
            if (staged + take == w) {
                rc = program(s, s->up_flushed, s->stage, w);
                if (rc != DC_OK) {
                    return rc;
                }
                s->up_flushed += w;
            }
        } else {
            /* Whole units straight from the caller's buffer, never across a sector end. */
            uint32_t sector_left = s->flash->sector_size - s->up_flushed % s->flash->sector_size;
            uint32_t len = n / w * w;
            if (len > sector_left) {
                len = sector_left;
            }
            rc = program(s, s->up_flushed, data, len);
            if (rc != DC_OK) {
                return rc;
            }
            s->up_flushed += len;
            s->up_written += len;
            data += len;
            n -= len;
        }
    }
    return DC_OK;
}

uint32_t dc_slots_upload_offset(const dc_slots_t *s)
{
    return (s == NULL || s->up_slot == DC_SLOT_NONE) ? 0u : s->up_written;
}

uint32_t dc_slots_confirmed_version(const dc_slots_t *s)
{
    int c = newest(s, 1, DC_SLOT_NONE);
    return c == DC_SLOT_NONE ? 0u : s->tr[c].version;
}

static int rollback_ok(const dc_slots_t *s, int slot, uint32_t version, uint32_t flags)
{
    int c = newest(s, 1, slot);
    if (c == DC_SLOT_NONE) {
        return 1;
    }
    if (flags & DC_SLOTS_UPGRADE_ONLY) {
        return version > s->tr[c].version;
    }
    return version >= s->tr[c].version || (flags & DC_SLOTS_ALLOW_DOWNGRADE) != 0u;
}

static uint32_t next_seq(const dc_slots_t *s, int slot)
{
    int other = 1 - slot;
    return s->tr[other].info_valid ? s->tr[other].seq + 1u : 1u;
}

int dc_slots_upload_finish(dc_slots_t *s, uint32_t flags, dc_model_info_t *info)
{
    dc_model_info_t got;
    uint32_t staged, size;
    int slot, rc;
    if (s == NULL) {
        return DC_ERR_ARG;
    }
    if (s->up_slot == DC_SLOT_NONE) {
        return DC_ERR_SLOT;
    }
    if (s->up_written != s->up_size) {
        return DC_ERR_LENGTH;
    }
    staged = s->up_written - s->up_flushed;
    if (staged > 0u) {
        memset(s->stage + staged, 0xFF, s->flash->write_size - staged);
        rc = program(s, s->up_flushed, s->stage, s->flash->write_size);
        if (rc != DC_OK) {
            return rc;
        }
    }
    slot = s->up_slot;
    size = s->up_size;
    close_session(s);
    memset(&got, 0, sizeof(got));
    rc = s->verifier.verify(s->verifier.ctx, s->flash, s->slot_offset[slot], size, &got);
    if (info != NULL) {
        *info = got;
    }
    if (rc != DC_OK) {
        return rc;
    }
    if (s->tr[slot].upload_has_sha &&
        memcmp(s->tr[slot].upload_sha, got.hash, DC_SLOTS_HASH_SIZE) != 0) {
        return DC_ERR_HASH;
    }
    if (!rollback_ok(s, slot, got.version, flags)) {
        return DC_ERR_ROLLBACK;
    }
    rc = write_info_rec(s, slot, size, got.version, next_seq(s, slot), got.hash);
    (void)read_trailer(s, slot);
    return rc;
}

/* Brings the inactive verified `slot` to: seq above the other slot, the `want` flags set and
 * no others, writing single flags where the trailer allows and rewriting it otherwise. */
static int ensure_flags(dc_slots_t *s, int slot, unsigned want)
{
    dc_slot_trailer_t *t = &s->tr[slot];
    int other = 1 - slot, rc;
    int seq_ok = !s->tr[other].info_valid || t->seq > s->tr[other].seq;
    int clean = t->testing == DC_FLAG_ERASED && t->pending != DC_FLAG_DIRTY &&
                (t->confirmed == DC_FLAG_ERASED ||
                 (t->confirmed == DC_FLAG_SET && (want & WANT_CONFIRMED)));
    if (!seq_ok || !clean) {
        return rewrite_trailer(s, slot, next_seq(s, slot), want);
    }
    rc = set_flag(s, slot, &t->pending, TR_PENDING, FLAG_PENDING);
    if (rc == DC_OK && (want & WANT_CONFIRMED)) {
        rc = set_flag(s, slot, &t->confirmed, TR_CONFIRMED, FLAG_CONFIRMED);
    }
    return rc;
}

int dc_slots_mark_pending(dc_slots_t *s, int slot, uint32_t flags)
{
    int rc;
    if (s == NULL) {
        return DC_ERR_ARG;
    }
    rc = writable(s, slot);
    if (rc != DC_OK) {
        return rc;
    }
    if (!s->tr[slot].info_valid) {
        return DC_ERR_SLOT;
    }
    if (!rollback_ok(s, slot, s->tr[slot].version, flags)) {
        return DC_ERR_ROLLBACK;
    }
    return ensure_flags(s, slot, WANT_PENDING);
}

int dc_slots_confirm(dc_slots_t *s, int slot, uint32_t flags)
{
    int rc;
    if (s == NULL || !valid_slot(slot)) {
        return DC_ERR_ARG;
    }
    if (slot == s->running) {
        dc_slot_trailer_t *t = &s->tr[slot];
        if (t->confirmed == DC_FLAG_SET) {
            s->trial = 0;
            return DC_OK;
        }
        if (t->confirmed == DC_FLAG_ERASED) {
            rc = set_flag(s, slot, &t->confirmed, TR_CONFIRMED, FLAG_CONFIRMED);
        } else {
            rc = rewrite_trailer(s, slot, t->seq, WANT_PENDING | WANT_TESTING | WANT_CONFIRMED);
        }
        if (rc == DC_OK) {
            s->trial = 0;
        }
        return rc;
    }
    rc = writable(s, slot);
    if (rc != DC_OK) {
        return rc;
    }
    if (!s->tr[slot].info_valid) {
        return DC_ERR_SLOT;
    }
    if (!rollback_ok(s, slot, s->tr[slot].version, flags)) {
        return DC_ERR_ROLLBACK;
    }
    return ensure_flags(s, slot, WANT_PENDING | WANT_CONFIRMED);
}

int dc_slots_erase(dc_slots_t *s, int slot)
{
    int rc;
    if (s == NULL) {
        return DC_ERR_ARG;
    }
    rc = writable(s, slot);
    if (rc != DC_OK) {
        return rc;
    }
    if (s->up_slot == slot) {
        close_session(s);
    }
    memset(&s->tr[slot], 0, sizeof(s->tr[slot]));
    rc = dc_flash_erase(s->flash, trailer_off(s, slot), s->flash->sector_size);
    if (rc == DC_OK) {
        rc = dc_flash_erase(s->flash, s->slot_offset[slot], capacity(s));
    }
    (void)read_trailer(s, slot);
    return rc;
}

/* The slot dc_slots_boot would choose next, without verifying (for the state listing). */
static int predicted_next(const dc_slots_t *s)
{
    int c = trial_candidate(s);
    if (c != DC_SLOT_NONE) {
        return c;
    }
    c = newest(s, 1, DC_SLOT_NONE);
    return c != DC_SLOT_NONE ? c : newest(s, 0, DC_SLOT_NONE);
}

int dc_slots_status(const dc_slots_t *s, int slot, dc_slot_status_t *out)
{
    const dc_slot_trailer_t *t;
    if (s == NULL || out == NULL || !valid_slot(slot)) {
        return DC_ERR_ARG;
    }
    t = &s->tr[slot];
    memset(out, 0, sizeof(*out));
    out->bootable = t->info_valid;
    out->active = slot == s->running;
    out->confirmed = is_confirmed(s, slot);
    out->pending = t->info_valid && slot != s->running && t->pending == DC_FLAG_SET &&
                   predicted_next(s) == slot;
    out->permanent = out->pending && out->confirmed;
    out->tried = t->info_valid && slot != s->running && t->testing != DC_FLAG_ERASED &&
                 t->confirmed != DC_FLAG_SET;
    out->uploading = s->up_slot == slot;
    out->written = out->uploading ? s->up_written : 0u;
    if (t->info_valid) {
        out->image_size = t->image_size;
        out->version = t->version;
        out->seq = t->seq;
        memcpy(out->hash, t->hash, DC_SLOTS_HASH_SIZE);
    }
    return DC_OK;
}
