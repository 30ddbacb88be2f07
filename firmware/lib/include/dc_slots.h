/* dc_slots.h: two model slots (A/B) on flash with trial boot, confirm, revert and
 * anti-rollback, safe against a power cut at any flash operation.
 *
 * Layout. Each slot is `slot_size` bytes (a multiple of the sector size, >= 2 sectors). Its
 * last sector is the TRAILER; the sectors before it hold the image (so the largest image is
 * slot_size - sector_size). The trailer holds write-once records at fixed offsets, each
 * written with ONE flash write and never rewritten until the trailer sector is erased
 * (all multi-byte integers little-endian):
 *
 *   +0   UPLOAD    {magic "DCU1", image size, has_sha, sha[32], crc32}  an upload session began
 *   +64  INFO      {magic "DCI1", image size, version, seq, hash[32], crc32}
 *                                                  the image was verified (seq orders slots)
 *   +128 PENDING   flag word: run this image once on trial at the next boot
 *   +160 TESTING   flag word: the boot started that trial run
 *   +192 CONFIRMED flag word: the image is permanent
 *
 * A record is valid only with its magic and CRC; a flag is SET only if its whole program unit
 * holds the flag pattern, ERASED if all 0xFF, otherwise DIRTY (a torn write). Every state
 * change is therefore one aligned write whose partial result reads as "not happened"; TESTING
 * counts as happened once it is not erased (a torn trial start still means "tried").
 *
 * Ownership: dc_slots_t is caller-owned (no allocation) and keeps pointers to the flash
 * device and the verifier context, which must outlive it. Not thread-safe.
 * Return codes: DC_OK, DC_ERR_ARG (bad arguments/geometry), DC_ERR_FLASH (a flash operation
 * failed), DC_ERR_SLOT (the slot is running, is the fallback of a trial, or has no verified
 * image), DC_ERR_OVERSIZE (image larger than the slot), DC_ERR_LENGTH (offset not the next
 * expected byte, or data past the announced size, or finish before all bytes), DC_ERR_HASH
 * (image hash differs from the announced SHA-256), DC_ERR_ROLLBACK (version below the last
 * confirmed one), DC_ERR_NO_MODEL (no slot holds a verified image), or the verifier's status.
 */
#ifndef DC_SLOTS_H
#define DC_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "dc_flash.h"

#define DC_SLOTS_HASH_SIZE 32u
#define DC_SLOTS_COUNT 2
#define DC_SLOT_NONE (-1)

/* What a verifier reports about a good image. */
typedef struct {
    uint32_t version;                  /* model version, for anti-rollback (higher is newer) */
    uint8_t hash[DC_SLOTS_HASH_SIZE];  /* SHA-256 of the image bytes as stored: its identity
                                          (state listing, test/confirm by hash, upload `sha`) */
} dc_model_info_t;

/* Checks the image of `size` bytes at `offset` of `flash` (reading it in bounded pieces) and
 * fills `info`. Returns DC_OK, or why the image is not acceptable (DC_ERR_HASH, DC_ERR_AUTH,
 * DC_ERR_MAGIC, ...). The real one is the container parser (dc_container_open) plus SHA-256;
 * tests inject their own. */
typedef int (*dc_verify_fn)(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size,
                            dc_model_info_t *info);

typedef struct {
    dc_verify_fn verify;
    void *ctx;
} dc_verifier_t;

/* Flag state of a trailer flag word. */
enum { DC_FLAG_ERASED = 0, DC_FLAG_SET = 1, DC_FLAG_DIRTY = 2 };

/* What the trailer of one slot says (read by dc_slots_init, kept up to date). */
typedef struct {
    uint8_t upload_valid;              /* UPLOAD record valid */
    uint8_t upload_has_sha;            /* the upload announced a SHA-256 */
    uint8_t resumable;                 /* UPLOAD valid and everything after it erased */
    uint8_t info_valid;                /* INFO record valid: holds a verified image */
    uint8_t pending, testing, confirmed; /* DC_FLAG_* */
    uint32_t upload_size;              /* from UPLOAD */
    uint8_t upload_sha[DC_SLOTS_HASH_SIZE];
    uint32_t image_size, version, seq; /* from INFO */
    uint8_t hash[DC_SLOTS_HASH_SIZE];  /* from INFO */
} dc_slot_trailer_t;

/* A slot's state as the management protocol shows it. */
typedef struct {
    uint8_t bootable;   /* holds a verified image */
    uint8_t active;     /* the running slot */
    uint8_t confirmed;  /* CONFIRMED is set */
    uint8_t pending;    /* will be booted (trial, or permanent) at the next boot */
    uint8_t permanent;  /* pending and confirmed: stays after the next boot */
    uint8_t tried;      /* its trial run started and it was never confirmed (reverted) */
    uint8_t uploading;  /* an upload session is open on it */
    uint32_t image_size, version, seq;
    uint32_t written;   /* bytes accepted by the open upload session */
    uint8_t hash[DC_SLOTS_HASH_SIZE];
} dc_slot_status_t;

/* Flags for dc_slots_upload_finish. */
#define DC_SLOTS_ALLOW_DOWNGRADE 0x1u /* accept a version below the last confirmed one */
#define DC_SLOTS_UPGRADE_ONLY 0x2u    /* require a version strictly above the last confirmed */

typedef struct {
    const dc_flash_t *flash;
    dc_verifier_t verifier;
    uint32_t slot_offset[DC_SLOTS_COUNT];
    uint32_t slot_size;
    int running;                        /* slot chosen by dc_slots_boot, or DC_SLOT_NONE */
    uint8_t trial;                      /* the running slot runs on trial */
    dc_slot_trailer_t tr[DC_SLOTS_COUNT];
    /* The open upload session (at most one, on the inactive slot). */
    int up_slot;                        /* DC_SLOT_NONE when no session */
    uint32_t up_size;                   /* announced image size */
    uint32_t up_written;                /* bytes accepted (flushed + staged) */
    uint32_t up_flushed;                /* bytes programmed (multiple of write_size) */
    uint32_t up_erased;                 /* image bytes known erased from here on */
    uint8_t stage[DC_FLASH_MAX_WRITE_SIZE]; /* accepted bytes not yet programmed */
} dc_slots_t;

/* Binds the slots to `flash` (slot A at slot0_offset, B at slot1_offset, each slot_size bytes,
 * sector-aligned, not overlapping) and reads both trailers. An upload interrupted by a reset
 * is found again (see dc_slots_upload_begin). Runs no model: call dc_slots_boot. */
int dc_slots_init(dc_slots_t *s, const dc_flash_t *flash, uint32_t slot0_offset,
                  uint32_t slot1_offset, uint32_t slot_size, dc_verifier_t verifier);

/* Chooses the slot to run from the trailers alone and re-verifies it before answering:
 *   1. a PENDING, untested image newer (seq) than every confirmed one: TESTING is written
 *      and it runs on trial;
 *   2. else the newest CONFIRMED image;
 *   3. else the newest verified image of any state.
 * A candidate whose re-verification fails (or whose hash changed) is skipped. `*slot` gets
 * the slot (0 or 1). DC_ERR_NO_MODEL if no slot holds a verifiable image. */
int dc_slots_boot(dc_slots_t *s, int *slot);

/* The running slot (DC_SLOT_NONE before boot or when no model) and the inactive one (the
 * upload target: the other slot, or slot 0 when none runs). */
int dc_slots_running(const dc_slots_t *s);
int dc_slots_inactive(const dc_slots_t *s);

/* Opens an upload of `size` bytes into `slot`, which must be the inactive slot (DC_ERR_SLOT
 * for the running slot, and for any slot while the running image is on trial: the other one
 * is its fallback). `sha` (32 bytes, or NULL) is the SHA-256 the sender announces: with it an
 * interrupted session of the same size and hash is resumed, also after a reset, and
 * `*resume` gets the next offset to send; otherwise the slot is invalidated and erased for
 * `size` bytes and `*resume` is 0. */
int dc_slots_upload_begin(dc_slots_t *s, int slot, uint32_t size, const uint8_t *sha,
                          uint32_t *resume);

/* Appends `n` bytes at `offset`, which must equal the bytes accepted so far
 * (dc_slots_upload_offset); DC_ERR_LENGTH otherwise or past the announced size. Bytes are
 * programmed in whole program units as they arrive; a partial unit is staged in RAM. */
int dc_slots_upload_write(dc_slots_t *s, uint32_t offset, const uint8_t *data, uint32_t n);

/* Bytes accepted by the open session, or 0 when none. */
uint32_t dc_slots_upload_offset(const dc_slots_t *s);

/* Completes the session: programs the staged tail, verifies the image with the verifier,
 * checks the announced SHA-256 against its hash (DC_ERR_HASH) and the version against the
 * last confirmed one (DC_ERR_ROLLBACK unless DC_SLOTS_ALLOW_DOWNGRADE), then writes INFO.
 * `info` (may be NULL) gets what the verifier reported. The session is closed either way
 * when the image is complete. */
int dc_slots_upload_finish(dc_slots_t *s, uint32_t flags, dc_model_info_t *info);

/* Marks the verified image in the inactive `slot` to run on trial at the next boot. A slot
 * whose earlier trial was reverted, or that is older than the running one, gets its trailer
 * rewritten first (same image, new seq). Its version is checked against the last confirmed
 * one as in dc_slots_upload_finish (`flags`). */
int dc_slots_mark_pending(dc_slots_t *s, int slot, uint32_t flags);

/* Makes `slot` permanent: the running slot (ends its trial), or the inactive verified slot
 * (pending + confirmed: it replaces the running one at the next boot without a trial; its
 * version is checked as in dc_slots_mark_pending with `flags`). */
int dc_slots_confirm(dc_slots_t *s, int slot, uint32_t flags);

/* Erases the inactive `slot` (trailer first, so it is invalid before any image byte goes).
 * DC_ERR_SLOT for the running slot or a trial's fallback. */
int dc_slots_erase(dc_slots_t *s, int slot);

/* The version of the newest confirmed image (the anti-rollback floor); 0 if none. */
uint32_t dc_slots_confirmed_version(const dc_slots_t *s);

/* Fills `out` with the state of `slot` (0 or 1). */
int dc_slots_status(const dc_slots_t *s, int slot, dc_slot_status_t *out);

#endif /* DC_SLOTS_H */
