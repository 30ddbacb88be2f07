/* dc_container.h: parse and validate a .dcb container held in memory (docs/bitstream.md).
 *
 * Ownership: the container borrows the caller's buffer (flash is memory-mapped on MCUs);
 * every pointer it hands out points into that buffer and lives as long as it. No function
 * allocates. Byte order: every multi-byte field of the file is little-endian; the structs hold
 * host-order values. Field names are those of the spec and of host/container/layout.py.
 *
 * dc_container_open() runs the normative checks of section 7 in order and returns the first
 * failure: DC_ERR_MAGIC, DC_ERR_VERSION, DC_ERR_TRUNCATED, DC_ERR_FIELD, DC_ERR_OVERSIZE,
 * DC_ERR_LENGTH, DC_ERR_SIGNATURE (signature block malformed; Ed25519 itself is verified by
 * the gateway, not here), DC_ERR_AUTH (device tag block malformed), DC_ERR_HASH,
 * DC_ERR_METADATA, DC_ERR_TENSOR; DC_ERR_ARG for NULL pointers. It never reads outside
 * [buf, buf + len). On failure the struct is cleared and every other call returns DC_ERR_ARG.
 */
#ifndef DC_CONTAINER_H
#define DC_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "dc_cbor.h"

#define DC_CONTAINER_MAGIC "\x89" "DCB\r\n\x1a\n"
#define DC_CONTAINER_MAGIC_LENGTH 8u
#define DC_CONTAINER_VERSION_MAJOR 3u     /* written; read: 3 and 2 */
#define DC_CONTAINER_VERSION_MAJOR_MIN 2u /* the oldest format read (text map keys, section 4.3) */
#define DC_CONTAINER_VERSION_MINOR 0u
#define DC_CONTAINER_HEADER_LENGTH 96u
#define DC_CONTAINER_ENTRY_LENGTH 16u
#define DC_CONTAINER_TRAILER_LENGTH 152u
#define DC_CONTAINER_SIGNED_BLOCK_LENGTH 52u /* trailer bytes covered by the signature */
#define DC_CONTAINER_TAG_INPUT_END 120u      /* the device tag covers [0, trailer_offset + 120) */
#define DC_CONTAINER_KEY_ID_LENGTH 16u
#define DC_CONTAINER_SIGNATURE_LENGTH 64u
#define DC_CONTAINER_DEVICE_TAG_LENGTH 32u

#define DC_CONTAINER_FLAG_DELTA 0x1u   /* header `flags` */
#define DC_TENSOR_FLAG_DELTA 0x1u      /* entry `tensor_flags` */

#define DC_CODEC_RAW 0u
#define DC_CODEC_CABAC 1u
#define DC_LEVEL_INT8 0u
#define DC_LEVEL_INT16 1u
#define DC_LEVEL_INT32 2u
#define DC_SIGNATURE_NONE 0u
#define DC_SIGNATURE_ED25519 1u
#define DC_TAG_NONE 0u
#define DC_TAG_HMAC_SHA256 1u

/* Limits (section 6); exceeding one is DC_ERR_OVERSIZE (DC_ERR_METADATA for a shape). */
#define DC_CONTAINER_MAX_FILE_LENGTH (64u * 1024u * 1024u)
#define DC_CONTAINER_MAX_TENSORS 1024u
#define DC_CONTAINER_MAX_METADATA_LENGTH (1024u * 1024u)
#define DC_CONTAINER_MAX_LEVELS_PER_TENSOR (1u << 24)
#define DC_CONTAINER_MAX_RANK 8u

typedef struct {
    /* header (section 2) */
    uint8_t version_major;
    uint8_t version_minor;
    uint16_t header_length;
    uint32_t flags;
    uint32_t tensor_count;
    uint32_t directory_offset;
    uint32_t metadata_offset;
    uint32_t metadata_length;
    uint32_t payload_offset;
    uint32_t payload_length;
    uint32_t trailer_offset;
    uint32_t file_length;
    const uint8_t *base_sha256;    /* 32 bytes in the buffer (all zero unless FLAG_DELTA) */
    /* trailer (section 5) */
    const uint8_t *content_sha256; /* 32 bytes */
    uint16_t signature_algorithm;
    const uint8_t *key_id;         /* 16 bytes */
    const uint8_t *signature;      /* 64 bytes */
    uint16_t tag_algorithm;
    const uint8_t *device_tag;     /* 32 bytes */
    /* the borrowed buffer */
    const uint8_t *data;
    size_t data_length;
} dc_container_t;

typedef struct {
    uint32_t payload_offset;
    uint32_t payload_length;
    uint32_t level_count;
    uint8_t codec;
    uint8_t level_dtype;
    uint16_t tensor_flags;
    const uint8_t *payload; /* payload_length bytes in the buffer */
} dc_tensor_entry_t;

/* Level reconstruction rules of a coded tensor (metadata `encoding.rule`, section 4.2): 1..3 rebuild int8
 * values, 4 int32 values. */
#define DC_LEVEL_RULE_NONE 0u      /* no `encoding`: the levels are the values */
#define DC_LEVEL_RULE_UNIFORM 1u   /* int8 = level * step */
#define DC_LEVEL_RULE_CODEBOOK 2u  /* int8 = codebook[level + zero_index] */
#define DC_LEVEL_RULE_DEPENDENT 3u /* 8-state trellis: int8 = (2 level - sgn(level) (state & 1)) * step */
#define DC_LEVEL_RULE_SCALED 4u    /* int32 = level * 2^step, step (the shift) 1..DC_LEVEL_SCALED_MAX_SHIFT */
#define DC_LEVEL_SCALED_MAX_SHIFT 24u

/* One metadata tensor_info (a coded tensor or a graph value), for building the graph. */
typedef struct {
    const char *name;          /* UTF-8, not NUL-terminated, in the buffer; NULL when unnamed */
    size_t name_length;        /* 0 when unnamed */
    uint8_t level_dtype;       /* DC_LEVEL_* of its `dtype` */
    uint32_t rank;
    uint32_t shape[DC_CONTAINER_MAX_RANK];
    uint32_t axis;
    uint32_t channel_count;    /* number of scales; 0: `quantization` is absent */
    const uint8_t *scale;      /* channel_count scales in the buffer, as `scale_bytes` says */
    uint8_t scale_bytes;       /* 4: float32, little-endian, unaligned; 1: mantissa m (1..255), scale = m * 2^scale_exp */
    int16_t scale_exp;         /* scale_bytes 1: the shared exponent, -126..120 (every scale a normal float32) */
    int32_t zero_point;        /* the first zero point (all of them when zero_point_count == 1) */
    uint32_t zero_point_count; /* 1: one zero point for every channel; else channel_count */
    dc_cbor_reader_t zero_points; /* zero_point_count > 1: positioned at the first of the array's ints */
    /* `encoding` (coded int8 tensors; int32 tensors: rule scaled only) */
    uint8_t rule;              /* DC_LEVEL_RULE_* */
    uint8_t bits;              /* level bound: |level| <= 2^(bits-1) - 1 (uniform, dependent); 0 otherwise */
    uint8_t step;              /* uniform, dependent: 1..127; scaled: the shift k, 1..24 */
    uint8_t zero_index;        /* codebook: the index of its 0 entry */
    uint16_t codebook_length;  /* codebook: 1..256 entries */
    const int8_t *codebook;    /* codebook: codebook_length int8 entries in the buffer */
} dc_tensor_info_t;

/* Scale `k` (< channel_count) of a parsed tensor_info (float32 read from the packed bytes). */
float dc_tensor_info_scale(const dc_tensor_info_t *info, uint32_t k);

/* Scale `k` of packed scales `scale` in either form of dc_tensor_info_t (`scale_bytes` 4 or 1 with
 * `scale_exp`), exact, without floating-point arithmetic. The caller bounds `k`. */
float dc_container_scale(const uint8_t *scale, uint8_t scale_bytes, int16_t scale_exp, uint32_t k);

/* Validate `len` bytes at `buf` as a container and fill `c`. Returns DC_OK or the first failure. */
int dc_container_open(dc_container_t *c, const uint8_t *buf, size_t len);

/* Directory entry `index` of an opened container. DC_ERR_ARG for an index >= tensor_count. */
int dc_container_tensor(const dc_container_t *c, uint32_t index, dc_tensor_entry_t *entry);

/* Metadata `tensors[index]` of an opened container. DC_ERR_ARG for an index >= tensor_count. */
int dc_container_tensor_info(const dc_container_t *c, uint32_t index, dc_tensor_info_t *info);

/* A reader positioned at the metadata map of an opened container (already fully validated), reading its
 * schema keys and option enumerations in the container's format (`codes` 1 from format 3 on). */
int dc_container_metadata(const dc_container_t *c, dc_cbor_reader_t *reader);

/* The metadata schema's maps (docs/bitstream.md section 4.3). Key k of a map is written as the uint k in
 * format 3 and as the text of the k-th name of the map's key list in format 2. */
typedef enum {
    DC_MAP_METADATA,
    DC_MAP_COMPRESSOR,
    DC_MAP_GRAPH,
    DC_MAP_MODEL,
    DC_MAP_TARGET,
    DC_MAP_NODE,
    DC_MAP_TENSOR_INFO,
    DC_MAP_QUANTIZATION,
    DC_MAP_ENCODING,
    DC_MAP_COUNT
} dc_container_map_t;

/* Key codes of the maps read outside the validator. */
enum { DC_KEY_COMPRESSOR, DC_KEY_EXTENSIONS, DC_KEY_GRAPH, DC_KEY_MODEL, DC_KEY_TARGET, DC_KEY_TENSORS };
enum { DC_KEY_GRAPH_INPUTS, DC_KEY_GRAPH_NODES, DC_KEY_GRAPH_OUTPUTS, DC_KEY_GRAPH_VALUES };
enum { DC_KEY_MODEL_NAME, DC_KEY_MODEL_VERSION };
enum { DC_KEY_TARGET_ARCH, DC_KEY_TARGET_MIN_FLASH, DC_KEY_TARGET_MIN_RAM };
enum { DC_KEY_NODE_INPUTS, DC_KEY_NODE_KIND, DC_KEY_NODE_OUTPUTS, DC_KEY_NODE_OPTIONS }; /* i, k, o, p */

/* Reads a key of schema map `map` at the reader's position, in the form the reader's `codes` says
 * (dc_container_metadata() sets it from the container's version_major), into *key, its code.
 * DC_ERR_METADATA for a key of the other form or not in the map's list; DC_ERR_ARG for NULL. */
int dc_container_read_key(dc_cbor_reader_t *r, dc_container_map_t map, unsigned *key);

/* Positions the reader at the value of key `key` of the schema map `map` at its position.
 * DC_ERR_METADATA when absent or malformed; DC_ERR_ARG for NULL. */
int dc_container_find_key(dc_cbor_reader_t *r, dc_container_map_t map, unsigned key);

/* Check the device tag with this device's key (1..64 bytes). DC_ERR_AUTH when the container
 * has no tag or the HMAC differs; DC_ERR_ARG for a bad key length or an unopened container. */
int dc_container_verify_tag(const dc_container_t *c, const uint8_t *key, size_t key_length);

/* Check that the container applies to the held base whose content_sha256 is `base_sha256`
 * (32 bytes, or NULL when no base is held). A non-delta container needs none: DC_OK.
 * DC_ERR_BASE when it is a delta and the hashes differ or no base is held. */
int dc_container_check_base(const dc_container_t *c, const uint8_t *base_sha256);

/* Read and validate one tensor_info map at the reader's position into `info` (the reader moves past
 * it). Used for `tensors` and `graph.values`. DC_OK, DC_ERR_METADATA, DC_ERR_ARG. */
int dc_container_parse_tensor_info(dc_cbor_reader_t *r, dc_tensor_info_t *info);

/* Internal to the container parser (dc_container_metadata.c): checks the metadata schema and
 * its cross-checks with the directory; DC_OK, DC_ERR_METADATA or DC_ERR_TENSOR. */
int dc_container_check_metadata(const dc_container_t *c);

#endif /* DC_CONTAINER_H */
