/* dc_fleet.h: the device side of fleet updates over MQTT for a board with its own network
 * stack (docs/protocol-mqtt.md, sections 5, 6 and "Devices without a gateway").
 *
 * The agent subscribes to its fleet's retained manifest, checks it (signed by a trusted
 * Ed25519 key, signature over the announced content hash, size vs the slot, anti-rollback
 * floor, target, delta base), asks the stream server for blocks in windows with the bitmap
 * of section 5.2, writes them in order to the inactive model slot (dc_slots.h), resumes after
 * a disconnect or a reset from what the slot holds, verifies the complete image (SHA-256 of
 * the manifest, container, Ed25519 signature of the container, metadata vs manifest), marks it
 * pending and asks the caller to reboot into it on trial. Every step is reported as a CBOR
 * Status (section 5.5) on `dcagent/v1/devices/{device_id}/status` (QoS 1, retained).
 *
 * Driving it (single-threaded, no allocation):
 *     dc_fleet_init(&f, &cfg, &mqtt, &slots, window_buf, sizeof window_buf);
 *     dc_mqtt_init(&mqtt, &io, dc_fleet_on_message, &f);
 *     ... open the socket, dc_mqtt_connect(...), then dc_fleet_on_connect(&f);
 *     loop: dc_mqtt_poll(&mqtt, ms); action = dc_fleet_step(&f);
 *           DC_FLEET_ACT_REBOOT: disconnect and reset the board (the new model runs on trial);
 *           a negative status: the session ended; reconnect later and call dc_fleet_on_connect.
 * After a reset: dc_slots_boot, a self-test, dc_slots_confirm, then dc_fleet_boot_result()
 * before the first connect so the agent reports `confirmed` (or `rolled_back`).
 *
 * Ownership: every pointer given to dc_fleet_init (config strings, keys, client, slots, window
 * buffer, flash map) is borrowed and must outlive the agent. The reorder window buffer holds
 * `window` blocks of `block` bytes: the agent requests min(manifest block_size,
 * cfg.block_size) bytes per block and window = buffer / block blocks (1..128).
 * Byte order: CBOR is big-endian; the container little-endian (docs/bitstream.md).
 * Return codes: DC_OK or a negative dc_status_t (DC_ERR_ARG for bad arguments; the MQTT
 * client's status when a publish/subscribe failed: the session is then over).
 */
#ifndef DC_FLEET_H
#define DC_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "dc_container.h"
#include "dc_mqtt.h"
#include "dc_slots.h"

#define DC_FLEET_NAME_MAX 64u         /* fleet, device id, stream id: 1..64 of [A-Za-z0-9_.-] */
#define DC_FLEET_MODEL_NAME_MAX 256u  /* bytes of model.name kept (longer: malformed) */
#define DC_FLEET_ARCH_MAX 64u
#define DC_FLEET_DETAIL_MAX 160u      /* bytes of the status detail text */
#define DC_FLEET_MANIFEST_MAX 4096u   /* section 5.1 */
#define DC_FLEET_REQUEST_MAX 256u     /* section 5.2 */
#define DC_FLEET_STATUS_MAX 1024u     /* section 5.5 */
#define DC_FLEET_MIN_BLOCK 128u
#define DC_FLEET_MAX_BLOCK 65536u
#define DC_FLEET_MAX_WINDOW 128u
#define DC_FLEET_KEY_SIZE 32u         /* Ed25519 public key */
#define DC_FLEET_TOPIC_MAX 192u

/* Status states (section 5.5), in the order of an update. */
typedef enum {
    DC_FLEET_IDLE = 0, DC_FLEET_DOWNLOADING, DC_FLEET_VERIFYING, DC_FLEET_VERIFIED,
    DC_FLEET_FLASHING, DC_FLEET_TESTING, DC_FLEET_CONFIRMED, DC_FLEET_ROLLED_BACK,
    DC_FLEET_REJECTED, DC_FLEET_FAILED,
} dc_fleet_state_t;

/* Status reasons (section 5.5). */
typedef enum {
    DC_FLEET_REASON_NONE = 0, DC_FLEET_MALFORMED, DC_FLEET_UNSIGNED, DC_FLEET_UNTRUSTED_KEY,
    DC_FLEET_BAD_SIGNATURE, DC_FLEET_HASH_MISMATCH, DC_FLEET_MANIFEST_MISMATCH,
    DC_FLEET_DOWNGRADE, DC_FLEET_WRONG_TARGET, DC_FLEET_BASE_MISMATCH, DC_FLEET_TOO_LARGE,
    DC_FLEET_STREAM_ERROR, DC_FLEET_TIMEOUT, DC_FLEET_BOARD_ERROR,
} dc_fleet_reason_t;

/* The wire names: "downloading", "hash_mismatch", ... ("" for REASON_NONE). */
const char *dc_fleet_state_name(dc_fleet_state_t state);
const char *dc_fleet_reason_name(dc_fleet_reason_t reason);

/* A decoded manifest (section 5.1). Strings are NUL-terminated copies. */
typedef struct {
    uint32_t version;          /* model.version (a version above 2^32-1 is malformed here) */
    uint32_t size;             /* bytes of the .dcb file */
    uint32_t block_size;       /* 128..65536 */
    uint32_t min_flash, min_ram;
    uint8_t is_signed;         /* key_id and signature present */
    uint8_t has_base;          /* base_sha256 not null: a delta */
    uint8_t has_check;         /* check_sha256 present */
    uint8_t sha256[32], content_sha256[32], base_sha256[32];
    uint8_t check_sha256[32];  /* SHA-256 of the model's outputs for the check input */
    uint8_t key_id[16], signature[64];
    char name[DC_FLEET_MODEL_NAME_MAX + 1];
    char arch[DC_FLEET_ARCH_MAX + 1];
    char stream_id[DC_FLEET_NAME_MAX + 1];
} dc_fleet_manifest_t;

/* The check input of section 5.1 `check_sha256`: n bytes, block k (32 bytes) being
 * SHA-256(DC_FLEET_CHECK_CONTEXT || k as 4 bytes little-endian), the last block truncated.
 * A board's self-test writes it into the model's input tensor, runs the model once and
 * compares the SHA-256 of all its outputs (concatenated in graph order) with check_sha256. */
#define DC_FLEET_CHECK_CONTEXT "dcagent-check-v1"
void dc_fleet_check_input(uint8_t *out, size_t n);

/* Decodes and checks a manifest payload for fleet `fleet` (NUL-terminated). DC_OK, or
 * DC_ERR_METADATA (not one deterministic CBOR map, an unknown, missing or mistyped key, a
 * value out of its range, format != 1, key_id/signature not both set or both empty) or
 * DC_ERR_FIELD (the manifest's `fleet` is not `fleet`). */
int dc_fleet_manifest_parse(const uint8_t *payload, size_t len, const char *fleet, dc_fleet_manifest_t *m);

/* A decoded BlockResponse (section 5.3): `payload` points into the message. */
typedef struct {
    const char *token;
    size_t token_len;
    uint32_t file_id, block_size, index;
    const uint8_t *payload;
    size_t payload_len;
} dc_fleet_block_t;

/* DC_OK or DC_ERR_METADATA (not a deterministic map of exactly c f l i p with their types and
 * ranges, an empty block or one longer than l). */
int dc_fleet_block_parse(const uint8_t *payload, size_t len, dc_fleet_block_t *b);

/* A decoded StreamRejection (section 5.4): strings point into the message. */
typedef struct {
    const char *token, *code, *message;
    size_t token_len, code_len, message_len;
} dc_fleet_rejection_t;

int dc_fleet_rejection_parse(const uint8_t *payload, size_t len, dc_fleet_rejection_t *r);

/* Encodes a BlockRequest {c, f: 0, l, o, n[, b]} canonically into out (cap bytes); `bitmap`
 * (ceil(n/8) bytes) or NULL for "all n blocks". Returns the length, or DC_ERR_BUFFER /
 * DC_ERR_ARG (n outside 1..128, l outside 128..65536, token not 1..64 bytes). */
int dc_fleet_request_encode(uint8_t *out, size_t cap, const char *token, uint32_t block_size,
                            uint32_t offset, uint32_t count, const uint8_t *bitmap);

/* ---- the slot verifier for gateway-less devices ---- */

/* Context of dc_fleet_verify: the flash map (the container parser needs the image in
 * memory) and the trusted Ed25519 public keys. Borrowed. */
typedef struct {
    const uint8_t *flash_map;   /* the bytes of the flash device the slots live on */
    const uint8_t (*keys)[DC_FLEET_KEY_SIZE];
    size_t key_count;
} dc_fleet_verifier_t;

/* dc_verify_fn for dc_slots: the image must be a container (dc_container_open), signed
 * (DC_ERR_SIGNATURE when unsigned), by a trusted key (DC_ERR_AUTH otherwise) whose Ed25519
 * signature over its trailer verifies (DC_ERR_SIGNATURE); model.version must fit 32 bits
 * (DC_ERR_METADATA). `info` gets the version and the SHA-256 of the image bytes. */
int dc_fleet_verify(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size,
                    dc_model_info_t *info);

/* The metadata model.name (UTF-8 in the container's buffer, not NUL-terminated) and
 * model.version of an opened container. DC_ERR_METADATA when missing or the version exceeds
 * 32 bits. */
int dc_fleet_model_of(const dc_container_t *c, const char **name, size_t *name_len, uint32_t *version);

/* ---- the agent ---- */

typedef struct {
    const char *device_id;       /* MQTT client id and user name; a topic level name */
    const char *fleet;           /* a topic level name */
    const char *arch;            /* this board's target arch (NULL: accept any) */
    uint32_t flash_bytes;        /* offered to target.min_flash (0: no check) */
    uint32_t ram_bytes;          /* offered to target.min_ram (0: no check) */
    const uint8_t *flash_map;    /* the slots' flash device in memory */
    const uint8_t (*keys)[DC_FLEET_KEY_SIZE]; /* trusted publisher keys */
    size_t key_count;
    uint32_t block_size;         /* largest block to ask for (128..65536) */
    uint32_t request_timeout_ms; /* re-ask for a window after this long without a block */
    uint32_t max_retries;        /* re-asks in a row without progress before `failed/timeout` */
} dc_fleet_config_t;

/* What dc_fleet_step asks the caller to do. */
enum { DC_FLEET_ACT_NONE = 0, DC_FLEET_ACT_REBOOT = 1 };

typedef struct {
    dc_fleet_config_t cfg;
    dc_mqtt_client_t *mqtt;
    dc_slots_t *slots;
    uint8_t *window_buf;
    size_t window_cap;
    /* reported state */
    dc_fleet_state_t state;
    dc_fleet_reason_t reason;
    char detail[DC_FLEET_DETAIL_MAX + 1];
    uint8_t status_dirty;         /* the state changed: publish it */
    uint32_t status_sent_ms;
    uint8_t has_model;            /* the status names a model (status.model) */
    char model_name[DC_FLEET_MODEL_NAME_MAX + 1];
    uint32_t model_version;
    char stream_id[DC_FLEET_NAME_MAX + 1];
    /* the manifest being worked on, and one just received */
    dc_fleet_manifest_t man;
    uint8_t have_man;             /* man holds the manifest of the current/last update */
    dc_fleet_manifest_t incoming;
    uint8_t incoming_state;       /* 0 none, 1 parsed manifest waiting, 2 bad manifest, 3 withdrawn */
    int incoming_status;
    /* the transfer */
    uint8_t downloading;          /* a transfer is running (state downloading) */
    uint8_t need_subscribe;       /* (re)subscribe the stream topics */
    uint8_t need_request;         /* send the request for the current window */
    uint32_t block;               /* block size asked for */
    uint32_t blocks;              /* blocks in the file */
    uint32_t window;              /* blocks per request (window_cap / block) */
    uint32_t written;             /* bytes written to the slot */
    uint32_t win_first, win_count;/* the window asked for */
    uint8_t win_have[DC_FLEET_MAX_WINDOW / 8]; /* blocks of the window held (bit i: win_first+i) */
    uint32_t token;               /* client token counter; tokens are "t<n>" */
    uint32_t token_first;         /* first token of this transfer */
    uint32_t last_progress_ms;    /* clock of the last new block or request */
    uint32_t retries;
    int slot_error;               /* a flash write failed in the callback */
    uint8_t stream_rejected;      /* a rejection for one of our tokens arrived */
    char rejection[DC_FLEET_DETAIL_MAX + 1];
    /* counters (for the console and tests) */
    uint32_t requests, blocks_received, duplicates, bad_messages;
    uint8_t pending_install;      /* the inactive slot already holds the announced image */
    uint32_t status_written;      /* `written` at the last progress report */
    uint8_t scratch[DC_FLEET_STATUS_MAX]; /* status and request encoding */
    char topic[DC_FLEET_TOPIC_MAX];       /* topics built by dc_fleet_step / on_connect */
    char match[DC_FLEET_TOPIC_MAX];       /* topics built by the message callback */
} dc_fleet_t;

/* Binds the agent; checks the config (names, keys, block size, window buffer of at least one
 * block of 128 bytes). State idle. DC_OK or DC_ERR_ARG. */
int dc_fleet_init(dc_fleet_t *f, const dc_fleet_config_t *cfg, dc_mqtt_client_t *mqtt, dc_slots_t *slots,
                  uint8_t *window_buf, size_t window_cap);

/* Records what the boot did, to report once connected: DC_FLEET_CONFIRMED (a trial image
 * passed its self-test and was confirmed), DC_FLEET_ROLLED_BACK (a trial image was reverted:
 * `detail` says why), or DC_FLEET_IDLE; name/version of the model concerned (name may be NULL). */
void dc_fleet_boot_result(dc_fleet_t *f, dc_fleet_state_t state, const char *name, size_t name_len,
                          uint32_t version, const char *detail);

/* The dc_mqtt_message_fn: feeds manifests, blocks and rejections to the agent (`ctx` is the
 * dc_fleet_t). It never calls the MQTT client; dc_fleet_step acts on what it recorded. */
void dc_fleet_on_message(void *ctx, const dc_mqtt_message_t *msg);

/* After every (re)connect: subscribes to the manifest (and to the stream of a running
 * transfer), publishes the current status and resends the current window request. DC_OK or
 * the MQTT status. */
int dc_fleet_on_connect(dc_fleet_t *f);

/* Acts on what arrived and on timers: new manifests, window requests and re-requests,
 * completion (verify, mark pending), status publishing. Returns DC_FLEET_ACT_NONE,
 * DC_FLEET_ACT_REBOOT (the new image is pending: reboot now), or the MQTT status that ended
 * the session. */
int dc_fleet_step(dc_fleet_t *f);

/* The Ed25519 message a container signature covers (docs/bitstream.md section 5): the 16-byte
 * context "dcb-signature-v1", content_sha256, algorithm 1 (LE16), reserved 0, key_id. */
void dc_fleet_signed_message(const uint8_t content_sha256[32], const uint8_t key_id[16], uint8_t out[68]);

#endif /* DC_FLEET_H */
