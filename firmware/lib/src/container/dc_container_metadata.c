/* dc_container_metadata.c: the container metadata schema (docs/bitstream.md section 4) checked in C, and tensor_info lookup. */
#include <string.h>

#include "dc_cbor.h"
#include "dc_container.h"
#include "dc_status.h"

#define META DC_ERR_METADATA
#define REQUIRE(expr)            \
    do {                         \
        if ((expr) != DC_OK) {   \
            return META;         \
        }                        \
    } while (0)

/* The key lists of the schema's maps (section 4.3): a key's code is its index. */
static const char *const metadata_keys[] = {"compressor", "extensions", "graph", "model", "target", "tensors"};
static const char *const compressor_keys[] = {"name", "settings", "version"};
static const char *const graph_keys[] = {"inputs", "nodes", "outputs", "values"};
static const char *const model_keys[] = {"name", "version"};
static const char *const target_keys[] = {"arch", "min_flash", "min_ram"};
static const char *const node_keys[] = {"i", "k", "o", "p"};
static const char *const tensor_info_keys[] = {"e", "n", "q", "s", "t"};
static const char *const quantization_keys[] = {"a", "s", "x", "z"};
static const char *const encoding_keys[] = {"b", "c", "i", "k", "r"};

static const struct {
    const char *const *names;
    unsigned count;
} key_lists[DC_MAP_COUNT] = {
    {metadata_keys, 6}, {compressor_keys, 3},  {graph_keys, 4},        {model_keys, 2},    {target_keys, 3},
    {node_keys, 4},     {tensor_info_keys, 5}, {quantization_keys, 4}, {encoding_keys, 5},
};

int dc_container_read_key(dc_cbor_reader_t *r, dc_container_map_t map, unsigned *key)
{
    if (r == NULL || key == NULL || (unsigned)map >= DC_MAP_COUNT) {
        return DC_ERR_ARG;
    }
    REQUIRE(dc_cbor_read_code(r, key_lists[map].names, key_lists[map].count, key));
    return *key < key_lists[map].count ? DC_OK : META; /* an unknown key */
}

int dc_container_find_key(dc_cbor_reader_t *r, dc_container_map_t map, unsigned key)
{
    if (r == NULL || (unsigned)map >= DC_MAP_COUNT) {
        return DC_ERR_ARG;
    }
    return dc_cbor_find_code(r, key_lists[map].names, key_lists[map].count, key) == DC_OK ? DC_OK : META;
}

static int check_text(dc_cbor_reader_t *r, int nonempty)
{
    const char *text;
    size_t length;
    REQUIRE(dc_cbor_read_text(r, &text, &length));
    return (nonempty && length == 0) ? META : DC_OK;
}

/* An array of operand indices: uints, or also -1 (absent optional operand) when `optional`. */
static int check_operand_array(dc_cbor_reader_t *r, int optional)
{
    uint64_t count;
    REQUIRE(dc_cbor_read_array(r, &count));
    for (uint64_t i = 0; i < count; i++) {
        dc_cbor_type_t type;
        REQUIRE(dc_cbor_peek(r, &type));
        if (type != DC_CBOR_INT) {
            return META;
        }
        if (optional) {
            int64_t value;
            /* a uint beyond INT64_MAX is no valid index either */
            if (dc_cbor_read_int(r, &value) != DC_OK || value < -1) {
                return META;
            }
        } else {
            uint64_t value;
            REQUIRE(dc_cbor_read_uint(r, &value));
        }
    }
    return DC_OK;
}

static int check_uint(dc_cbor_reader_t *r)
{
    uint64_t value;
    return dc_cbor_read_uint(r, &value) == DC_OK ? DC_OK : META;
}

static int check_scalar(dc_cbor_reader_t *r)
{
    dc_cbor_type_t type;
    REQUIRE(dc_cbor_peek(r, &type));
    if (type != DC_CBOR_INT && type != DC_CBOR_FLOAT && type != DC_CBOR_TEXT && type != DC_CBOR_BOOL) {
        return META;
    }
    return dc_cbor_skip(r) == DC_OK ? DC_OK : META;
}

/* option map: {* key => scalar / bytes / [* scalar]}, keys uint option codes when `coded` (node options in
 * format 3; any code, unknown ones are ignored by the device), else text. */
static int check_options(dc_cbor_reader_t *r, int coded)
{
    uint64_t count;
    REQUIRE(dc_cbor_read_map(r, &count));
    for (uint64_t i = 0; i < count; i++) {
        dc_cbor_type_t type;
        REQUIRE(coded ? check_uint(r) : check_text(r, 0));
        REQUIRE(dc_cbor_peek(r, &type));
        if (type == DC_CBOR_BYTES) {
            REQUIRE(dc_cbor_skip(r));
        } else if (type == DC_CBOR_ARRAY) {
            uint64_t items;
            REQUIRE(dc_cbor_read_array(r, &items));
            for (uint64_t k = 0; k < items; k++) {
                REQUIRE(check_scalar(r));
            }
        } else {
            REQUIRE(check_scalar(r));
        }
    }
    return DC_OK;
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

float dc_container_scale(const uint8_t *scale, uint8_t scale_bytes, int16_t scale_exp, uint32_t k)
{
    uint32_t bits;
    float value;
    if (scale_bytes == 1u) {
        /* m * 2^x as float32 bits: normalise m (1..255) to 1.f * 2^p; x + p lies in -126..127 */
        uint32_t m = scale[k], p = 7u;
        while ((m >> p) == 0u) {
            p--;
        }
        bits = ((uint32_t)(scale_exp + (int32_t)p + 127) << 23) | ((m << (23u - p)) & 0x7FFFFFu);
    } else {
        bits = load_le32(scale + 4u * (size_t)k);
    }
    memcpy(&value, &bits, sizeof value);
    return value;
}

float dc_tensor_info_scale(const dc_tensor_info_t *info, uint32_t k)
{
    if (info == NULL || info->scale == NULL || k >= info->channel_count) {
        return 0.0f;
    }
    return dc_container_scale(info->scale, info->scale_bytes, info->scale_exp, k);
}

/* quantization = {? "a": uint (axis, default 0), "s": bytes, ? "x": int, ? "z": int / [+ int] (default 0)}:
 * without "x", "s" holds 4n bytes (float32 LE, each finite and > 0); with "x" (-126..120), n
 * mantissa bytes, each 1..255. */
static int parse_quantization(dc_cbor_reader_t *r, dc_tensor_info_t *info, uint64_t *axis, uint64_t *scales,
                              uint64_t *zero_points, int64_t *zp_min, int64_t *zp_max)
{
    uint64_t count;
    unsigned seen = 0;
    const uint8_t *bytes = NULL;
    size_t length = 0;
    int64_t exponent = 0;
    REQUIRE(dc_cbor_read_map(r, &count));
    info->zero_point = 0;
    info->zero_point_count = 1u; /* absent "z": 0 for every channel */
    *zp_min = 0;
    *zp_max = 0;
    for (uint64_t k = 0; k < count; k++) {
        unsigned which;
        REQUIRE(dc_container_read_key(r, DC_MAP_QUANTIZATION, &which));
        seen |= 1u << which;
        if (which == 0) {
            REQUIRE(dc_cbor_read_uint(r, axis));
        } else if (which == 1) {
            REQUIRE(dc_cbor_read_bytes(r, &bytes, &length));
        } else if (which == 2) {
            REQUIRE(dc_cbor_read_int(r, &exponent));
            if (exponent < -126 || exponent > 120) {
                return META;
            }
        } else {
            dc_cbor_type_t type;
            int64_t zp;
            REQUIRE(dc_cbor_peek(r, &type));
            if (type == DC_CBOR_ARRAY) {
                REQUIRE(dc_cbor_read_array(r, zero_points));
                info->zero_points = *r;
                info->zero_point_count = 0u; /* set from the array's length by the caller */
                for (uint64_t i = 0; i < *zero_points; i++) {
                    REQUIRE(dc_cbor_read_int(r, &zp));
                    if (i == 0) {
                        info->zero_point = (int32_t)(zp < INT32_MIN ? INT32_MIN : zp > INT32_MAX ? INT32_MAX : zp);
                    }
                    *zp_min = (i == 0 || zp < *zp_min) ? zp : *zp_min;
                    *zp_max = (i == 0 || zp > *zp_max) ? zp : *zp_max;
                }
            } else {
                REQUIRE(dc_cbor_read_int(r, &zp));
                info->zero_point = (int32_t)(zp < INT32_MIN ? INT32_MIN : zp > INT32_MAX ? INT32_MAX : zp);
                *zp_min = zp;
                *zp_max = zp;
            }
        }
    }
    if ((seen & 2u) == 0 || length == 0) {
        return META;
    }
    if (seen & 4u) {
        for (size_t i = 0; i < length; i++) {
            if (bytes[i] == 0u) {
                return META;
            }
        }
        info->scale_bytes = 1u;
        info->scale_exp = (int16_t)exponent;
        *scales = length;
    } else {
        if (length % 4u != 0) {
            return META;
        }
        for (size_t i = 0; i < length; i += 4u) {
            uint32_t bits = load_le32(bytes + i);
            /* finite and > 0 without FP arithmetic: sign clear, not zero, exponent not all ones */
            if ((bits >> 31) != 0 || bits == 0 || ((bits >> 23) & 0xFFu) == 0xFFu) {
                return META;
            }
        }
        info->scale_bytes = 4u;
        *scales = length / 4u;
    }
    info->scale = bytes;
    return DC_OK;
}

/* encoding = {"b": bits, "k": step, "r": 1 (uniform) / 3 (dependent)} / {"b", "c": codebook, "i": zero_index, "r": 2}
 *          / {"k": shift, "r": 4 (scaled)} */
static int parse_encoding(dc_cbor_reader_t *r, dc_tensor_info_t *info)
{
    uint64_t count, bits = 0, step = 0, zero_index = 0, rule = DC_LEVEL_RULE_NONE;
    const uint8_t *book = NULL;
    size_t book_length = 0;
    unsigned seen = 0;
    REQUIRE(dc_cbor_read_map(r, &count));
    for (uint64_t k = 0; k < count; k++) {
        unsigned which;
        REQUIRE(dc_container_read_key(r, DC_MAP_ENCODING, &which));
        seen |= 1u << which;
        if (which == 1) {
            REQUIRE(dc_cbor_read_bytes(r, &book, &book_length));
        } else {
            REQUIRE(dc_cbor_read_uint(r, which == 0 ? &bits : which == 2 ? &zero_index : which == 3 ? &step : &rule));
        }
    }
    if (rule == DC_LEVEL_RULE_CODEBOOK) {
        if (seen != 0x17u || bits < 1u || bits > 8u || book_length < 1u || book_length > (1u << bits) ||
            zero_index >= book_length || book[zero_index] != 0u) {
            return META;
        }
        info->codebook = (const int8_t *)(const void *)book;
        info->codebook_length = (uint16_t)book_length;
        info->zero_index = (uint8_t)zero_index;
    } else if (rule == DC_LEVEL_RULE_UNIFORM || rule == DC_LEVEL_RULE_DEPENDENT) {
        uint64_t max_level, reach;
        if (seen != 0x19u || bits < 2u || bits > (rule == DC_LEVEL_RULE_DEPENDENT ? 7u : 8u) || step > 127u) {
            return META;
        }
        max_level = (1u << (bits - 1u)) - 1u;
        reach = max_level * step * (rule == DC_LEVEL_RULE_DEPENDENT ? 2u : 1u);
        if (reach < 1u || reach > 127u) {
            return META;
        }
        info->step = (uint8_t)step;
    } else if (rule == DC_LEVEL_RULE_SCALED) {
        if (seen != 0x18u || step < 1u || step > DC_LEVEL_SCALED_MAX_SHIFT) {
            return META;
        }
        info->step = (uint8_t)step; /* the shift; bits stays 0 */
        info->rule = (uint8_t)rule;
        return DC_OK;
    } else {
        return META;
    }
    info->rule = (uint8_t)rule;
    info->bits = (uint8_t)bits;
    return DC_OK;
}

/* tensor_info = {? "e": encoding, ? "n": text, ? "q": quantization, "s": [* uint] (shape),
 *                ? "t": 1 (int16) / 2 (int32); absent: int8} */
int dc_container_parse_tensor_info(dc_cbor_reader_t *r, dc_tensor_info_t *info)
{
    static const int64_t low[3] = {-128, -32768, -2147483647 - 1};
    static const int64_t high[3] = {127, 32767, 2147483647};
    uint64_t count, axis = 0, scales = 0, zero_points = 0;
    int64_t zp_min = 0, zp_max = 0;
    unsigned seen = 0;
    int quantized = 0;
    if (r == NULL || info == NULL) {
        return DC_ERR_ARG;
    }
    memset(info, 0, sizeof *info);
    info->level_dtype = DC_LEVEL_INT8;
    REQUIRE(dc_cbor_read_map(r, &count));
    for (uint64_t k = 0; k < count; k++) {
        unsigned which;
        REQUIRE(dc_container_read_key(r, DC_MAP_TENSOR_INFO, &which));
        seen |= 1u << which;
        if (which == 0) {
            REQUIRE(parse_encoding(r, info));
        } else if (which == 1) {
            REQUIRE(dc_cbor_read_text(r, &info->name, &info->name_length));
            if (info->name_length == 0) {
                return META;
            }
        } else if (which == 2) {
            quantized = 1;
            REQUIRE(parse_quantization(r, info, &axis, &scales, &zero_points, &zp_min, &zp_max));
        } else if (which == 3) {
            uint64_t rank, product = 1;
            REQUIRE(dc_cbor_read_array(r, &rank));
            if (rank > DC_CONTAINER_MAX_RANK) {
                return META;
            }
            for (uint64_t i = 0; i < rank; i++) {
                uint64_t dim;
                REQUIRE(dc_cbor_read_uint(r, &dim));
                if (dim < 1 || dim > DC_CONTAINER_MAX_LEVELS_PER_TENSOR) {
                    return META;
                }
                product *= dim;
                if (product > DC_CONTAINER_MAX_LEVELS_PER_TENSOR) {
                    return META;
                }
                info->shape[i] = (uint32_t)dim;
            }
            info->rank = (uint32_t)rank;
        } else {
            uint64_t code;
            REQUIRE(dc_cbor_read_uint(r, &code));
            if (code != DC_LEVEL_INT16 && code != DC_LEVEL_INT32) {
                return META;
            }
            info->level_dtype = (uint8_t)code;
        }
    }
    if ((seen & 0x08u) == 0) { /* shape */
        return META;
    }
    if (info->rule != DC_LEVEL_RULE_NONE &&
        info->level_dtype != (info->rule == DC_LEVEL_RULE_SCALED ? DC_LEVEL_INT32 : DC_LEVEL_INT8)) {
        return META; /* rule scaled rebuilds int32 values, the others int8 */
    }
    if (!quantized) {
        return DC_OK; /* channel_count 0: no quantization */
    }
    if (zp_min < low[info->level_dtype] || zp_max > high[info->level_dtype]) {
        return META;
    }
    if (info->zero_point_count == 1u) {
        zero_points = scales; /* one zero point for every channel */
    } else {
        info->zero_point_count = (uint32_t)zero_points;
    }
    if (scales == 0 || zero_points != scales) {
        return META;
    }
    if (scales == 1) {
        if (axis >= (info->rank > 1 ? info->rank : 1u)) {
            return META;
        }
    } else if (axis >= info->rank || info->shape[axis] != scales) {
        return META;
    }
    info->axis = (uint32_t)axis;
    info->channel_count = (uint32_t)scales;
    return DC_OK;
}

static uint64_t element_count(const dc_tensor_info_t *info)
{
    uint64_t product = 1;
    for (uint32_t i = 0; i < info->rank; i++) {
        product *= info->shape[i];
    }
    return product;
}

/* node = {"i": [* operand / -1], "k": uint (op code), "o": [* operand], "p": options} */
static int check_node(dc_cbor_reader_t *r)
{
    uint64_t count;
    unsigned seen = 0;
    REQUIRE(dc_cbor_read_map(r, &count));
    for (uint64_t k = 0; k < count; k++) {
        unsigned which;
        REQUIRE(dc_container_read_key(r, DC_MAP_NODE, &which));
        seen |= 1u << which;
        if (which == DC_KEY_NODE_KIND) {
            REQUIRE(check_uint(r));
        } else if (which == DC_KEY_NODE_OPTIONS) {
            REQUIRE(check_options(r, r->codes));
        } else {
            REQUIRE(check_operand_array(r, which == DC_KEY_NODE_INPUTS));
        }
    }
    return seen == 15u ? DC_OK : META;
}

static int check_graph(dc_cbor_reader_t *r)
{
    uint64_t count;
    unsigned seen = 0;
    REQUIRE(dc_cbor_read_map(r, &count));
    for (uint64_t k = 0; k < count; k++) {
        unsigned which;
        uint64_t items;
        REQUIRE(dc_container_read_key(r, DC_MAP_GRAPH, &which));
        seen |= 1u << which;
        if (which == DC_KEY_GRAPH_INPUTS || which == DC_KEY_GRAPH_OUTPUTS) {
            REQUIRE(check_operand_array(r, 0));
        } else if (which == DC_KEY_GRAPH_NODES) {
            REQUIRE(dc_cbor_read_array(r, &items));
            for (uint64_t i = 0; i < items; i++) {
                REQUIRE(check_node(r));
            }
        } else {
            REQUIRE(dc_cbor_read_array(r, &items));
            for (uint64_t i = 0; i < items; i++) {
                dc_tensor_info_t info;
                REQUIRE(dc_container_parse_tensor_info(r, &info));
                if (info.rule != DC_LEVEL_RULE_NONE) {
                    return META; /* a value has no payload to rebuild */
                }
            }
        }
    }
    return seen == 15u ? DC_OK : META;
}

/* A closed map whose members are all text (`text_mask` bits) or uint (the others). */
static int check_flat(dc_cbor_reader_t *r, dc_container_map_t map, unsigned text_mask, unsigned nonempty_mask)
{
    uint64_t members;
    unsigned seen = 0;
    REQUIRE(dc_cbor_read_map(r, &members));
    for (uint64_t k = 0; k < members; k++) {
        unsigned which;
        REQUIRE(dc_container_read_key(r, map, &which));
        seen |= 1u << which;
        if (text_mask & (1u << which)) {
            REQUIRE(check_text(r, (nonempty_mask >> which) & 1u));
        } else {
            REQUIRE(check_uint(r));
        }
    }
    return seen == (1u << key_lists[map].count) - 1u ? DC_OK : META;
}

/* extensions = {* text => any}: text keys in every format (section 4.3); the values are free (a delta's
 * metadata patch holds format 3's integer keys, docs/delta.md). */
static int check_extensions(dc_cbor_reader_t *r)
{
    uint64_t count;
    REQUIRE(dc_cbor_read_map(r, &count));
    for (uint64_t k = 0; k < count; k++) {
        REQUIRE(check_text(r, 0));
        REQUIRE(dc_cbor_skip(r));
    }
    return DC_OK;
}

static int check_compressor(dc_cbor_reader_t *r)
{
    uint64_t count;
    unsigned seen = 0;
    REQUIRE(dc_cbor_read_map(r, &count));
    for (uint64_t k = 0; k < count; k++) {
        unsigned which;
        REQUIRE(dc_container_read_key(r, DC_MAP_COMPRESSOR, &which));
        seen |= 1u << which;
        if (which == 1) {
            REQUIRE(check_options(r, 0)); /* settings: text keys in every format */
        } else {
            REQUIRE(check_text(r, 0));
        }
    }
    return seen == 7u ? DC_OK : META;
}

int dc_container_check_metadata(const dc_container_t *c)
{
    const uint8_t *bytes = c->data + c->metadata_offset;
    dc_cbor_reader_t reader, *r = &reader;
    uint64_t count, tensors = 0;
    unsigned seen = 0;
    int tensor_status = DC_OK;
    if (dc_cbor_check(bytes, c->metadata_length) != DC_OK) {
        return META;
    }
    REQUIRE(dc_container_metadata(c, r));
    REQUIRE(dc_cbor_read_map(r, &count));
    for (uint64_t k = 0; k < count; k++) {
        unsigned which;
        dc_cbor_type_t type;
        REQUIRE(dc_container_read_key(r, DC_MAP_METADATA, &which));
        seen |= 1u << which;
        switch (which) {
        case DC_KEY_COMPRESSOR:
            REQUIRE(check_compressor(r));
            break;
        case DC_KEY_EXTENSIONS:
            REQUIRE(dc_cbor_peek(r, &type));
            if (type != DC_CBOR_MAP) {
                return META;
            }
            REQUIRE(check_extensions(r));
            break;
        case DC_KEY_GRAPH:
            REQUIRE(check_graph(r));
            break;
        case DC_KEY_MODEL:
            REQUIRE(check_flat(r, DC_MAP_MODEL, 1u, 1u));
            break;
        case DC_KEY_TARGET:
            REQUIRE(check_flat(r, DC_MAP_TARGET, 1u, 0u));
            break;
        default:
            REQUIRE(dc_cbor_read_array(r, &tensors));
            for (uint64_t i = 0; i < tensors; i++) {
                dc_tensor_info_t info;
                REQUIRE(dc_container_parse_tensor_info(r, &info));
                if (i < c->tensor_count && tensor_status == DC_OK) {
                    dc_tensor_entry_t entry;
                    if (dc_container_tensor(c, (uint32_t)i, &entry) != DC_OK) {
                        return DC_ERR_INTERNAL;
                    }
                    if (element_count(&info) != entry.level_count || info.level_dtype != entry.level_dtype) {
                        tensor_status = DC_ERR_TENSOR;
                    }
                }
            }
            break;
        }
    }
    if ((seen & 0x3du) != 0x3du) { /* every key but `extensions` */
        return META;
    }
    if (tensors != c->tensor_count) {
        return DC_ERR_TENSOR;
    }
    return tensor_status;
}


int dc_container_tensor_info(const dc_container_t *c, uint32_t index, dc_tensor_info_t *info)
{
    dc_cbor_reader_t reader;
    uint64_t tensors;
    if (c == NULL || info == NULL || c->data == NULL || index >= c->tensor_count) {
        return DC_ERR_ARG;
    }
    REQUIRE(dc_container_metadata(c, &reader));
    REQUIRE(dc_container_find_key(&reader, DC_MAP_METADATA, DC_KEY_TENSORS));
    REQUIRE(dc_cbor_read_array(&reader, &tensors));
    for (uint32_t i = 0; i < index; i++) {
        REQUIRE(dc_cbor_skip(&reader));
    }
    return dc_container_parse_tensor_info(&reader, info);
}
