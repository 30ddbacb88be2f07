/* dc_smp.h: the device's MCUmgr SMP server over a serial console (docs/protocol.md, "SMP").
 *
 * Wire format (compatible with Zephyr's MCUmgr serial/console transport and the `smpclient`
 * SMPSerialTransport): a frame is [uint16 total length][SMP message][uint16 CRC16], big-endian;
 * total length counts the message and the CRC; the CRC is CRC-16/XMODEM (poly 0x1021, init
 * 0, not reflected) over the message alone. The frame is base64-encoded and cut into lines:
 * the first line starts with 0x06 0x09, the next ones with 0x04 0x14, each ends with '\n'.
 * Bytes outside such lines are text and go to the `text` callback unchanged, so one UART can
 * carry SMP and a text protocol. An SMP message is an 8-byte header (op|version<<3, flags,
 * length BE16, group BE16, sequence, command id) and a CBOR map of `length` bytes.
 *
 * Groups: OS (0: echo 0, reset 5, MCUmgr parameters 6), image management (1: state 0,
 * upload 1, erase 5) and DC_SMP_GROUP_MODEL (info 0, inference 1, statistics 2, read the
 * running model 3).
 *
 * Bounds: one decoded frame (length + message + CRC) is at most DC_SMP_BUF_SIZE bytes (the
 * `buf_size` the parameters command reports); a longer or malformed frame (bad base64, bad
 * length, bad CRC, short header, header length not matching) is dropped and counted. Responses
 * are built in a buffer of the same size inside the server.
 *
 * Ownership: dc_smp_server_t is caller-owned (about 2 * DC_SMP_BUF_SIZE + 400 bytes, no
 * allocation) and keeps a pointer to the dc_slots_t, which must outlive it. Not thread-safe:
 * feed it from one context.
 */
#ifndef DC_SMP_H
#define DC_SMP_H

#include <stddef.h>
#include <stdint.h>

#include "dc_slots.h"

#ifndef DC_SMP_BUF_SIZE
#define DC_SMP_BUF_SIZE 1024u /* decoded frame buffer: 2 + message + 2 bytes */
#endif
#define DC_SMP_HDR_SIZE 8u
#define DC_SMP_LINE_B64 124u  /* base64 characters per output line (lines of 127 bytes) */

/* Groups and commands. */
#define DC_SMP_GROUP_OS 0u
#define DC_SMP_GROUP_IMAGE 1u
#define DC_SMP_GROUP_MODEL 96u /* dcagent's own group (user range >= 64) */
#define DC_SMP_OS_ECHO 0u
#define DC_SMP_OS_RESET 5u
#define DC_SMP_OS_PARAMS 6u
#define DC_SMP_IMG_STATE 0u
#define DC_SMP_IMG_UPLOAD 1u
#define DC_SMP_IMG_ERASE 5u
#define DC_SMP_MODEL_INFO 0u
#define DC_SMP_MODEL_INFER 1u
#define DC_SMP_MODEL_STATS 2u
#define DC_SMP_MODEL_READ 3u

/* SMP generic error codes (MGMT_ERR, the v1 `rc` and the v2 top-level `rc`). */
enum {
    DC_SMP_EOK = 0, DC_SMP_EUNKNOWN = 1, DC_SMP_ENOMEM = 2, DC_SMP_EINVAL = 3,
    DC_SMP_ETIMEOUT = 4, DC_SMP_ENOENT = 5, DC_SMP_EBADSTATE = 6, DC_SMP_EMSGSIZE = 7,
    DC_SMP_ENOTSUP = 8, DC_SMP_ECORRUPT = 9, DC_SMP_EBUSY = 10, DC_SMP_EACCESSDENIED = 11,
    DC_SMP_UNSUPPORTED_TOO_OLD = 12, DC_SMP_UNSUPPORTED_TOO_NEW = 13,
};

/* Image management group error codes (IMG_MGMT_ERR, the v2 `err.rc` of group 1). */
enum {
    DC_SMP_IMG_UNKNOWN = 1, DC_SMP_IMG_NO_IMAGE = 3, DC_SMP_IMG_INVALID_TLV = 5,
    DC_SMP_IMG_HASH_NOT_FOUND = 8, DC_SMP_IMG_NO_FREE_SLOT = 9, DC_SMP_IMG_FLASH_READ_FAILED = 11,
    DC_SMP_IMG_FLASH_WRITE_FAILED = 12, DC_SMP_IMG_FLASH_ERASE_FAILED = 13,
    DC_SMP_IMG_INVALID_SLOT = 14, DC_SMP_IMG_INVALID_OFFSET = 20, DC_SMP_IMG_INVALID_LENGTH = 21,
    DC_SMP_IMG_INVALID_IMAGE_HEADER = 22, DC_SMP_IMG_INVALID_IMAGE_HEADER_MAGIC = 23,
    DC_SMP_IMG_INVALID_HASH = 24, DC_SMP_IMG_CURRENT_VERSION_IS_NEWER = 27,
    DC_SMP_IMG_INVALID_IMAGE_TOO_LARGE = 30, DC_SMP_IMG_INVALID_IMAGE_DATA_OVERRUN = 31,
    DC_SMP_IMG_IMAGE_CONFIRMATION_DENIED = 32, DC_SMP_IMG_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED = 33,
};
/* Errors of DC_SMP_GROUP_MODEL carry err.rc = -(dc_status_t), e.g. 103 for DC_ERR_NO_MODEL. */

/* What a runtime reports about one inference. */
typedef struct {
    size_t out_len;        /* bytes written to the output buffer */
    uint64_t instructions; /* executed instructions (0 if unknown) */
    uint64_t cycles;       /* CPU cycles (0 if unknown) */
} dc_smp_infer_result_t;

/* What a runtime reports about the running model (for the model info command). */
typedef struct {
    uint32_t input_bytes, output_bytes, arena_bytes; /* arena_bytes: what the model needs */
    uint32_t arena_capacity; /* the arena the device has; 0: not reported (nor the two below) */
    int32_t load_status;     /* DC_OK, or why the runtime cannot run the model (DC_ERR_ARENA, ...) */
    uint8_t decode;          /* weights decoded 0: at load, 1: per layer, 2: streamed (dc_model_mode_t) */
} dc_smp_model_desc_t;

/* Callbacks of the port and the runtime; each may be NULL (the matching command then answers
 * ENOTSUP, text is dropped, reset is refused). `ctx` is passed to all of them. */
typedef struct {
    /* Non-SMP bytes received, in order (not split into lines). */
    void (*text)(void *ctx, const uint8_t *bytes, size_t n);
    /* Called after the reset response has been written: the port resets the device. */
    void (*reset)(void *ctx);
    /* Runs the model in `slot` on `in` (in_len bytes), writing at most out_cap bytes to `out`.
     * Returns DC_OK or a dc_status_t (reported as err {96, -status}). */
    int (*infer)(void *ctx, int slot, const uint8_t *in, size_t in_len, uint8_t *out,
                 size_t out_cap, dc_smp_infer_result_t *result);
    /* The runtime's input tensor buffer (for inputs larger than one frame, sent in pieces);
     * NULL or *cap == 0: inputs must come in one request. */
    uint8_t *(*input_buffer)(void *ctx, size_t *cap);
    /* Describes the model in `slot`; DC_OK or a dc_status_t. */
    int (*describe)(void *ctx, int slot, dc_smp_model_desc_t *desc);
    void *ctx;
    /* dc_slots flags for upload/test/confirm: DC_SLOTS_ALLOW_DOWNGRADE accepts versions
     * below the last confirmed one (the upload's `upgrade: true` still asks for newer). */
    uint32_t slot_flags;
} dc_smp_callbacks_t;

typedef struct {
    uint32_t frames;        /* frames decoded with a good CRC */
    uint32_t dropped;       /* frames dropped: base64, length, CRC, header errors */
    uint32_t requests;      /* requests answered */
    uint32_t errors;        /* of which answered with an error */
    uint32_t uploads;       /* images uploaded and verified */
    uint32_t inferences;    /* inferences run */
    uint64_t instructions;  /* total instructions over all inferences */
    uint64_t cycles;        /* total cycles over all inferences */
    uint64_t last_instructions, last_cycles;
} dc_smp_stats_t;

typedef void (*dc_smp_write_fn)(void *ctx, const uint8_t *bytes, size_t n);

typedef struct {
    dc_slots_t *slots;
    dc_smp_callbacks_t cb;
    dc_smp_stats_t stats;
    /* receiver */
    uint8_t rx_state;        /* text / maybe-delimiter / in an SMP line / skipping a bad line */
    uint8_t held;            /* first delimiter byte seen in text */
    uint8_t quad[4];         /* base64 characters not yet decoded */
    uint8_t nquad;
    uint8_t in_frame;        /* a start line was seen and the frame is not complete */
    uint8_t bad;             /* the current frame is broken: drop it at its end */
    uint8_t pad;             /* '=' seen: the base64 stream has ended */
    size_t rx_len;           /* decoded bytes in rx */
    uint8_t rx[DC_SMP_BUF_SIZE];
    /* responses */
    uint8_t tx[DC_SMP_BUF_SIZE];
    /* upload session options given with its first chunk */
    uint8_t upload_has_sha;
    uint32_t upload_flags;
    uint8_t reset_due;       /* a reset response is on its way: reset after writing it */
    /* staged inference input */
    size_t in_staged, in_total;
} dc_smp_server_t;

/* Sets up the server over `slots` (which the caller has booted) with the callbacks `cb`
 * (copied; may be NULL for none). DC_ERR_ARG for NULL srv/slots. */
int dc_smp_server_init(dc_smp_server_t *srv, dc_slots_t *slots, const dc_smp_callbacks_t *cb);

/* Feeds `n` received bytes. Complete requests are answered through `write` (whole framed
 * lines, possibly several calls); text bytes go to the `text` callback. Never fails: bad
 * input is dropped and counted in srv->stats. */
void dc_smp_server_feed(dc_smp_server_t *srv, const uint8_t *bytes, size_t n, dc_smp_write_fn write,
                        void *write_ctx);

/* Handles one decoded SMP message (no console framing: for raw transports and tests) and
 * writes the response message into rsp (cap bytes). Returns the response length, or 0 when
 * the message gets no response (a response op, or shorter than a header). */
size_t dc_smp_server_handle(dc_smp_server_t *srv, const uint8_t *req, size_t n, uint8_t *rsp,
                            size_t cap);

/* CRC-16/XMODEM as the serial framing uses it. */
uint16_t dc_smp_crc16(const uint8_t *p, size_t n);

#endif /* DC_SMP_H */
