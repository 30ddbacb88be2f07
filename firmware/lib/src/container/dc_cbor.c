/* dc_cbor.c: bounded CBOR reader and deterministic-encoding checker for the container metadata. */
#include "dc_cbor.h"

#include <string.h>

#include "dc_status.h"

#define META DC_ERR_METADATA

typedef struct {
    uint8_t major;
    uint8_t info;
    uint64_t argument; /* length, count, integer, simple value, or float bits */
} head_t;

/* Reads one initial byte and its argument at *pos; checks shortest form for majors 0..6. */
static int read_head(const uint8_t *data, size_t length, size_t *pos, head_t *head)
{
    if (*pos >= length) {
        return META;
    }
    uint8_t initial = data[(*pos)++];
    head->major = (uint8_t)(initial >> 5);
    head->info = (uint8_t)(initial & 0x1fu);
    if (head->info < 24) {
        head->argument = head->info;
        return DC_OK;
    }
    if (head->info > 27) {
        return META; /* reserved, or indefinite length / break */
    }
    size_t size = (size_t)1u << (head->info - 24);
    if (length - *pos < size) {
        return META;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < size; i++) {
        value = value << 8 | data[*pos + i];
    }
    *pos += size;
    if (head->major != 7) {
        uint64_t smallest = size == 1 ? 24u : (uint64_t)1u << (4u * size);
        if (value < smallest) {
            return META;
        }
    }
    head->argument = value;
    return DC_OK;
}

static uint64_t half_to_double_bits(uint16_t half)
{
    uint64_t sign = (uint64_t)(half >> 15) << 63;
    int exponent = (half >> 10) & 0x1f;
    uint64_t mantissa = half & 0x3ffu;
    if (exponent == 0) {
        if (mantissa == 0) {
            return sign;
        }
        exponent = -14;
        while (!(mantissa & 0x400u)) {
            mantissa <<= 1;
            exponent--;
        }
        return sign | (uint64_t)(exponent + 1023) << 52 | (mantissa & 0x3ffu) << 42;
    }
    return sign | (uint64_t)(exponent - 15 + 1023) << 52 | mantissa << 42;
}

static uint64_t single_to_double_bits(uint32_t single)
{
    uint64_t sign = (uint64_t)(single >> 31) << 63;
    int exponent = (int)((single >> 23) & 0xffu);
    uint64_t mantissa = single & 0x7fffffu;
    if (exponent == 0) {
        if (mantissa == 0) {
            return sign;
        }
        exponent = -126;
        while (!(mantissa & 0x800000u)) {
            mantissa <<= 1;
            exponent--;
        }
        return sign | (uint64_t)(exponent + 1023) << 52 | (mantissa & 0x7fffffu) << 29;
    }
    return sign | (uint64_t)(exponent - 127 + 1023) << 52 | mantissa << 29;
}

/* Whether the finite double with these bits is exactly representable with `precision`
 * significand bits and normal exponents emin..emax (subnormals included). */
static int fits_float(uint64_t bits, unsigned precision, int emin, int emax)
{
    unsigned biased = (unsigned)(bits >> 52) & 0x7ffu;
    uint64_t mantissa = bits & ((UINT64_C(1) << 52) - 1u);
    int exponent;
    if (biased == 0) {
        if (mantissa == 0) {
            return 1;
        }
        exponent = -1074;
    } else {
        mantissa |= UINT64_C(1) << 52;
        exponent = (int)biased - 1075;
    }
    while (!(mantissa & 1u)) {
        mantissa >>= 1;
        exponent++;
    }
    int width = 0;
    for (uint64_t t = mantissa; t != 0; t >>= 1) {
        width++;
    }
    return width <= (int)precision && exponent >= emin - (int)(precision - 1) && exponent + width - 1 <= emax;
}

/* The value of a float item as double bits; DC_ERR_METADATA when it is NaN or infinite. */
static int float_bits(const head_t *head, uint64_t *bits)
{
    if (head->info == 25) {
        if (((head->argument >> 10) & 0x1fu) == 0x1fu) {
            return META;
        }
        *bits = half_to_double_bits((uint16_t)head->argument);
    } else if (head->info == 26) {
        if (((head->argument >> 23) & 0xffu) == 0xffu) {
            return META;
        }
        *bits = single_to_double_bits((uint32_t)head->argument);
    } else if (head->info == 27) {
        if (((head->argument >> 52) & 0x7ffu) == 0x7ffu) {
            return META;
        }
        *bits = head->argument;
    } else {
        return META;
    }
    return DC_OK;
}

static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t extra;
        uint8_t low = 0x80, high = 0xbf;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            if (c == 0xe0) {
                low = 0xa0;
            } else if (c == 0xed) {
                high = 0x9f;
            }
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            if (c == 0xf0) {
                low = 0x90;
            } else if (c == 0xf4) {
                high = 0x8f;
            }
        } else {
            return 0;
        }
        if (n - i - 1 < extra) {
            return 0;
        }
        if (s[i + 1] < low || s[i + 1] > high) {
            return 0;
        }
        for (size_t k = 2; k <= extra; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xbf) {
                return 0;
            }
        }
        i += extra + 1;
    }
    return 1;
}

static int check_item(const uint8_t *data, size_t length, size_t *pos, unsigned depth)
{
    head_t head;
    if (read_head(data, length, pos, &head) != DC_OK) {
        return META;
    }
    switch (head.major) {
    case 0:
        return DC_OK;
    case 1:
        return head.argument >= (UINT64_C(1) << 63) ? META : DC_OK;
    case 2:
    case 3:
        if (head.argument > length - *pos) {
            return META;
        }
        if (head.major == 3 && !utf8_valid(data + *pos, (size_t)head.argument)) {
            return META;
        }
        *pos += (size_t)head.argument;
        return DC_OK;
    case 4:
    case 5: {
        if (depth >= DC_CBOR_MAX_DEPTH || head.argument > length - *pos) {
            return META;
        }
        size_t previous = 0, previous_length = 0;
        for (uint64_t i = 0; i < head.argument; i++) {
            if (head.major == 5) {
                size_t key = *pos;
                /* keys: uints (major 0) or text (major 3) */
                if (key >= length || ((data[key] >> 5) != 0 && (data[key] >> 5) != 3) ||
                    check_item(data, length, pos, depth + 1) != DC_OK) {
                    return META;
                }
                size_t key_length = *pos - key;
                if (i > 0) {
                    size_t common = key_length < previous_length ? key_length : previous_length;
                    int order = memcmp(data + key, data + previous, common);
                    if (order < 0 || (order == 0 && key_length <= previous_length)) {
                        return META;
                    }
                }
                previous = key;
                previous_length = key_length;
            }
            if (check_item(data, length, pos, depth + 1) != DC_OK) {
                return META;
            }
        }
        return DC_OK;
    }
    case 6:
        return META;
    default: {
        uint64_t bits;
        if (head.info >= 20 && head.info <= 22) {
            return DC_OK;
        }
        if (float_bits(&head, &bits) != DC_OK) {
            return META;
        }
        if (head.info == 26 && fits_float(bits, 11, -14, 15)) {
            return META;
        }
        if (head.info == 27 && fits_float(bits, 24, -126, 127)) {
            return META;
        }
        return DC_OK;
    }
    }
}

int dc_cbor_check(const uint8_t *data, size_t length)
{
    size_t pos = 0;
    if (data == NULL && length > 0) {
        return DC_ERR_ARG;
    }
    if (data == NULL || check_item(data, length, &pos, 0) != DC_OK || pos != length) {
        return META;
    }
    return DC_OK;
}

void dc_cbor_init(dc_cbor_reader_t *reader, const uint8_t *data, size_t length)
{
    reader->data = data;
    reader->length = data == NULL ? 0 : length;
    reader->position = 0;
    reader->codes = 0;
}

int dc_cbor_peek(const dc_cbor_reader_t *reader, dc_cbor_type_t *type)
{
    if (reader == NULL || type == NULL) {
        return DC_ERR_ARG;
    }
    if (reader->position >= reader->length) {
        return META;
    }
    uint8_t initial = reader->data[reader->position];
    uint8_t info = initial & 0x1fu;
    switch (initial >> 5) {
    case 0:
    case 1:
        *type = DC_CBOR_INT;
        break;
    case 2:
        *type = DC_CBOR_BYTES;
        break;
    case 3:
        *type = DC_CBOR_TEXT;
        break;
    case 4:
        *type = DC_CBOR_ARRAY;
        break;
    case 5:
        *type = DC_CBOR_MAP;
        break;
    case 6:
        *type = DC_CBOR_TAG;
        break;
    default:
        *type = (info == 20 || info == 21) ? DC_CBOR_BOOL
                : info == 22                ? DC_CBOR_NULL
                : (info >= 25 && info <= 27) ? DC_CBOR_FLOAT
                                             : DC_CBOR_OTHER;
        break;
    }
    return DC_OK;
}

/* Reads the next head and requires `major`. */
static int expect(dc_cbor_reader_t *reader, uint8_t major, head_t *head)
{
    if (reader == NULL) {
        return DC_ERR_ARG;
    }
    size_t pos = reader->position;
    if (read_head(reader->data, reader->length, &pos, head) != DC_OK || head->major != major) {
        return META;
    }
    reader->position = pos;
    return DC_OK;
}

int dc_cbor_read_uint(dc_cbor_reader_t *reader, uint64_t *value)
{
    head_t head;
    if (value == NULL) {
        return DC_ERR_ARG;
    }
    int status = expect(reader, 0, &head);
    if (status == DC_OK) {
        *value = head.argument;
    }
    return status;
}

int dc_cbor_read_int(dc_cbor_reader_t *reader, int64_t *value)
{
    head_t head;
    if (reader == NULL || value == NULL) {
        return DC_ERR_ARG;
    }
    size_t pos = reader->position;
    if (read_head(reader->data, reader->length, &pos, &head) != DC_OK || head.major > 1 ||
        head.argument > (uint64_t)INT64_MAX) {
        return META;
    }
    *value = head.major == 0 ? (int64_t)head.argument : -1 - (int64_t)head.argument;
    reader->position = pos;
    return DC_OK;
}

int dc_cbor_read_float(dc_cbor_reader_t *reader, double *value)
{
    head_t head;
    uint64_t bits;
    if (value == NULL) {
        return DC_ERR_ARG;
    }
    int status = expect(reader, 7, &head);
    if (status != DC_OK) {
        return status;
    }
    if (float_bits(&head, &bits) != DC_OK) {
        return META;
    }
    memcpy(value, &bits, sizeof *value);
    return DC_OK;
}

int dc_cbor_read_bool(dc_cbor_reader_t *reader, int *value)
{
    head_t head;
    if (value == NULL) {
        return DC_ERR_ARG;
    }
    size_t saved = reader == NULL ? 0 : reader->position;
    int status = expect(reader, 7, &head);
    if (status != DC_OK) {
        return status;
    }
    if (head.info != 20 && head.info != 21) {
        reader->position = saved;
        return META;
    }
    *value = head.info == 21;
    return DC_OK;
}

static int read_string(dc_cbor_reader_t *reader, uint8_t major, const uint8_t **bytes, size_t *length)
{
    head_t head;
    if (bytes == NULL || length == NULL) {
        return DC_ERR_ARG;
    }
    size_t saved = reader == NULL ? 0 : reader->position;
    int status = expect(reader, major, &head);
    if (status != DC_OK) {
        return status;
    }
    if (head.argument > reader->length - reader->position) {
        reader->position = saved;
        return META;
    }
    *bytes = reader->data + reader->position;
    *length = (size_t)head.argument;
    reader->position += (size_t)head.argument;
    return DC_OK;
}

int dc_cbor_read_text(dc_cbor_reader_t *reader, const char **text, size_t *length)
{
    const uint8_t *bytes = NULL;
    if (text == NULL) {
        return DC_ERR_ARG;
    }
    int status = read_string(reader, 3, &bytes, length);
    if (status == DC_OK) {
        *text = (const char *)bytes;
    }
    return status;
}

int dc_cbor_read_bytes(dc_cbor_reader_t *reader, const uint8_t **bytes, size_t *length)
{
    return read_string(reader, 2, bytes, length);
}

static int read_container_head(dc_cbor_reader_t *reader, uint8_t major, uint64_t *count)
{
    head_t head;
    if (count == NULL) {
        return DC_ERR_ARG;
    }
    size_t saved = reader == NULL ? 0 : reader->position;
    int status = expect(reader, major, &head);
    if (status != DC_OK) {
        return status;
    }
    if (head.argument > reader->length - reader->position) {
        reader->position = saved;
        return META;
    }
    *count = head.argument;
    return DC_OK;
}

int dc_cbor_read_array(dc_cbor_reader_t *reader, uint64_t *count)
{
    return read_container_head(reader, 4, count);
}

int dc_cbor_read_map(dc_cbor_reader_t *reader, uint64_t *count)
{
    return read_container_head(reader, 5, count);
}

int dc_cbor_skip(dc_cbor_reader_t *reader)
{
    if (reader == NULL) {
        return DC_ERR_ARG;
    }
    size_t pos = reader->position;
    uint64_t pending = 1;
    while (pending > 0) {
        head_t head;
        if (read_head(reader->data, reader->length, &pos, &head) != DC_OK) {
            return META;
        }
        pending--;
        uint64_t left = reader->length - pos;
        switch (head.major) {
        case 2:
        case 3:
            if (head.argument > left) {
                return META;
            }
            pos += (size_t)head.argument;
            break;
        case 4:
        case 5:
            if (head.argument > left) {
                return META;
            }
            pending += (head.major == 5 ? 2u : 1u) * head.argument;
            break;
        case 6:
            return META;
        case 7:
            if (!((head.info >= 20 && head.info <= 22) || (head.info >= 25 && head.info <= 27))) {
                return META;
            }
            break;
        default:
            break;
        }
        if (pending > reader->length - pos) {
            return META;
        }
    }
    reader->position = pos;
    return DC_OK;
}

int dc_cbor_read_code(dc_cbor_reader_t *reader, const char *const *names, unsigned count, unsigned *code)
{
    if (reader == NULL || (names == NULL && count > 0) || code == NULL) {
        return DC_ERR_ARG;
    }
    if (reader->codes) {
        uint64_t value;
        if (dc_cbor_read_uint(reader, &value) != DC_OK) {
            return META;
        }
        *code = value < count ? (unsigned)value : count;
        return DC_OK;
    }
    const char *text;
    size_t length;
    if (dc_cbor_read_text(reader, &text, &length) != DC_OK) {
        return META;
    }
    *code = 0;
    while (*code < count && !dc_cbor_text_equals(text, length, names[*code])) {
        (*code)++;
    }
    return DC_OK;
}

int dc_cbor_find_code(dc_cbor_reader_t *reader, const char *const *names, unsigned count, unsigned code)
{
    uint64_t pairs;
    int status = dc_cbor_read_map(reader, &pairs);
    if (status != DC_OK) {
        return status;
    }
    for (uint64_t i = 0; i < pairs; i++) {
        unsigned key;
        status = dc_cbor_read_code(reader, names, count, &key);
        if (status != DC_OK) {
            return status;
        }
        if (key == code && code < count) {
            return DC_OK;
        }
        if (dc_cbor_skip(reader) != DC_OK) {
            return META;
        }
    }
    return META;
}

int dc_cbor_text_equals(const char *text, size_t length, const char *literal)
{
    if (text == NULL || literal == NULL) {
        return 0;
    }
    size_t n = strlen(literal);
    return n == length && memcmp(text, literal, n) == 0;
}
