/* dc_status.h: the status codes every dcagent C function returns.
 *
 * One enum for the whole firmware library and the host extension. DC_OK is 0; every error is
 * negative and distinct, so a caller can report exactly what was wrong. The Python side maps
 * each code to a typed exception by name (host/errors.py); dc_status_name() gives that name.
 * Add new codes at the end of their section; never renumber (the values are part of the
 * device protocol's error reports).
 */
#ifndef DC_STATUS_H
#define DC_STATUS_H

typedef enum {
    DC_OK = 0,

    /* General (-1 .. -19) */
    DC_ERR_ARG = -1,          /* a NULL pointer or an argument out of its documented range */
    DC_ERR_BUFFER = -2,       /* a caller-given output/scratch buffer is too small */
    DC_ERR_UNSUPPORTED = -3,  /* a valid but unsupported feature, version or parameter */
    DC_ERR_INTERNAL = -4,     /* an invariant broke: a bug, please report */

    /* Entropy coder (-20 .. -39) */
    DC_ERR_TRUNCATED = -20,   /* the payload ended before the decoder was done */
    DC_ERR_CORRUPT = -21,     /* decoded syntax is impossible (e.g. level out of range) */
    DC_ERR_PARAMS = -22,      /* the payload's coder parameters are invalid */
    DC_ERR_TRAILING = -23,    /* the payload has bytes left after the last level */

    /* Container (-40 .. -69) */
    DC_ERR_MAGIC = -40,       /* the file does not start with the container magic */
    DC_ERR_VERSION = -41,     /* unknown major format version */
    DC_ERR_LENGTH = -42,      /* a length or offset points outside the file / section */
    DC_ERR_OVERSIZE = -43,    /* a size exceeds the reader's limits (tensor, metadata, file) */
    DC_ERR_HASH = -44,        /* the SHA-256 in the trailer does not match the content */
    DC_ERR_SIGNATURE = -45,   /* the signature is missing or malformed (C does not verify Ed25519) */
    DC_ERR_AUTH = -46,        /* the per-device HMAC tag does not match */
    DC_ERR_METADATA = -47,    /* the CBOR metadata is malformed or lacks a required field */
    DC_ERR_FIELD = -48,       /* a header field holds a value that is not allowed (flags, kinds) */
    DC_ERR_TENSOR = -49,      /* a tensor entry is inconsistent (shape vs count, dtype, index) */
    DC_ERR_BASE = -50,        /* a delta names a base model the reader does not hold */

    /* Runtime (-70 .. -99): graphs, kernels, memory planning */
    DC_ERR_ARENA = -70,       /* the model needs more arena than the caller gave */
    DC_ERR_OP = -71,          /* an operator the runtime does not implement */
    DC_ERR_SHAPE = -72,       /* shapes of an operator do not fit together */
    DC_ERR_GRAPH = -73,       /* the graph is malformed: an operand reference, order or count is wrong */
    DC_ERR_OPTION = -74,      /* an operator option is missing, of the wrong type or out of range */

    /* Model slots and storage (-100 .. -119) */
    DC_ERR_FLASH = -100,      /* a flash erase/write/read failed */
    DC_ERR_ROLLBACK = -101,   /* the model version is below the last confirmed one */
    DC_ERR_SLOT = -102,       /* the slot is busy, running, or empty */
    DC_ERR_NO_MODEL = -103,   /* neither model slot holds a verified model */

    /* Network and MQTT (-120 .. -139) */
    DC_ERR_NET = -120,        /* a socket failed: name not resolved, connection refused or reset */
    DC_ERR_CLOSED = -121,     /* the peer closed the connection */
    DC_ERR_TIMEOUT = -122,    /* the peer did not answer in time */
    DC_ERR_PROTOCOL = -123,   /* the peer sent a malformed or unexpected packet */
    DC_ERR_REFUSED = -124,    /* the broker refused (CONNACK return code, SUBACK failure) */
    DC_ERR_TLS = -125,        /* the TLS handshake failed (certificate does not verify, wrong name) */
} dc_status_t;

/* The enum name of `status` as a string ("DC_ERR_TRUNCATED"), or "DC_ERR_UNKNOWN". */
const char *dc_status_name(int status);

#endif /* DC_STATUS_H */
