/* dc_mqtt_packet.c: MQTT 3.1.1 fixed headers, remaining-length varints and UTF-8 checks. */
#include "dc_mqtt.h"

#include "dc_status.h"

int dc_mqtt_fixed_header(const uint8_t *buf, size_t have, uint8_t *type_flags, uint32_t *header_len,
                         uint32_t *remaining)
{
    uint32_t value = 0;
    uint32_t i;
    if (buf == NULL || type_flags == NULL || header_len == NULL || remaining == NULL) {
        return DC_ERR_ARG;
    }
    if (have < 2u) {
        return 0;
    }
    for (i = 0; i < 4u; i++) {
        uint8_t b;
        if (1u + i >= have) {
            return 0;
        }
        b = buf[1u + i];
        value |= (uint32_t)(b & 0x7Fu) << (7u * i);
        if ((b & 0x80u) == 0u) {
            *type_flags = buf[0];
            *header_len = 2u + i;
            *remaining = value;
            return 1;
        }
    }
    return DC_ERR_PROTOCOL; /* a fifth length byte */
}

size_t dc_mqtt_put_remaining(uint8_t *out, uint32_t value)
{
    size_t n = 0;
    if (out == NULL || value > DC_MQTT_MAX_REMAINING) {
        return 0;
    }
    do {
        uint8_t b = (uint8_t)(value & 0x7Fu);
        value >>= 7;
        out[n++] = (uint8_t)(b | (value != 0u ? 0x80u : 0u));
    } while (value != 0u);
    return n;
}

int dc_mqtt_utf8_ok(const uint8_t *s, size_t len)
{
    size_t i = 0;
    if (s == NULL) {
        return len == 0u;
    }
    while (i < len) {
        uint8_t b = s[i];
        uint32_t cp;
        size_t extra, k;
        if (b == 0u) {
            return 0;
        }
        if (b < 0x80u) {
            i++;
            continue;
        }
        if (b >= 0xC2u && b <= 0xDFu) {
            extra = 1;
            cp = b & 0x1Fu;
        } else if (b >= 0xE0u && b <= 0xEFu) {
            extra = 2;
            cp = b & 0x0Fu;
        } else if (b >= 0xF0u && b <= 0xF4u) {
            extra = 3;
            cp = b & 0x07u;
        } else {
            return 0;
        }
        if (len - i <= extra) {
            return 0;
        }
        for (k = 1; k <= extra; k++) {
            uint8_t c = s[i + k];
            if ((c & 0xC0u) != 0x80u) {
                return 0;
            }
            cp = cp << 6 | (c & 0x3Fu);
        }
        if ((extra == 2u && cp < 0x800u) || (extra == 3u && (cp < 0x10000u || cp > 0x10FFFFu)) ||
            (cp >= 0xD800u && cp <= 0xDFFFu)) {
            return 0; /* overlong, out of range, or a surrogate */
        }
        i += extra + 1u;
    }
    return 1;
}
