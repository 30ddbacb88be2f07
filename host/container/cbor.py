"""Deterministic CBOR (RFC 8949 section 4.2.1) as the .dcb metadata uses it: encode, and decode strictly.

The rules (docs/bitstream.md section 4) are the same the C reader (`dc_cbor.c`) enforces:
definite lengths, shortest integer arguments, map keys (text or unsigned integers) in strictly
increasing encoded order, finite floats in their shortest exact width, valid UTF-8, no tags, only
false/true/null,
integers in [-2**63, 2**64 - 1], nesting depth at most MAX_CBOR_DEPTH. Values decode to
dict / list / int / float / str / bytes / bool / None.
"""
from __future__ import annotations

import math
import struct
from typing import Any

from host.container.layout import MAX_CBOR_DEPTH
from host.errors import BitstreamError

_STATUS = "DC_ERR_METADATA"
_INT_MIN = -(1 << 63)
_UINT_MAX = (1 << 64) - 1


def fits_float(value: float, precision: int, emin: int, emax: int) -> bool:
    """Whether finite `value` is exactly representable in a binary format with `precision`
    significand bits (implicit bit included) and normal exponents emin..emax (subnormals too)."""
    if value == 0:
        return True
    numerator, denominator = abs(value).as_integer_ratio()
    trailing = (numerator & -numerator).bit_length() - 1
    mantissa = numerator >> trailing
    exponent = trailing - (denominator.bit_length() - 1)
    bits = mantissa.bit_length()
    return bits <= precision and exponent >= emin - (precision - 1) and exponent + bits - 1 <= emax


def fits_half(value: float) -> bool:
    """Whether `value` is exactly a binary16 value."""
    return fits_float(value, 11, -14, 15)


def fits_single(value: float) -> bool:
    """Whether `value` is exactly a binary32 value."""
    return fits_float(value, 24, -126, 127)


# ----------------------------------------------------------------------------- encoding

def _head(major: int, argument: int) -> bytes:
    if argument < 24:
        return bytes([major << 5 | argument])
    if argument < 0x100:
        return bytes([major << 5 | 24, argument])
    if argument < 0x10000:
        return bytes([major << 5 | 25]) + struct.pack(">H", argument)
    if argument < 0x100000000:
        return bytes([major << 5 | 26]) + struct.pack(">I", argument)
    return bytes([major << 5 | 27]) + struct.pack(">Q", argument)


def encode(value: Any) -> bytes:
    """The deterministic CBOR encoding of `value`.

    Raises ValueError for a value the metadata cannot hold (a map key that is neither text nor an
    unsigned integer, NaN or infinite float, integer outside [-2**63, 2**64 - 1], unsupported type).
    """
    out = bytearray()
    _encode_into(out, value)
    return bytes(out)


def _encode_into(out: bytearray, value: Any) -> None:
    if value is False or value is True or value is None:
        out.append({False: 0xF4, True: 0xF5, None: 0xF6}[value])
    elif isinstance(value, int):
        if not _INT_MIN <= value <= _UINT_MAX:
            raise ValueError(f"integer {value} outside [-2**63, 2**64-1]")
        out += _head(0, value) if value >= 0 else _head(1, -1 - value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"float {value} is not finite")
        if fits_half(value):
            out += b"\xf9" + struct.pack(">e", value)
        elif fits_single(value):
            out += b"\xfa" + struct.pack(">f", value)
        else:
            out += b"\xfb" + struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        out += _head(3, len(raw)) + raw
    elif isinstance(value, (bytes, bytearray)):
        out += _head(2, len(value)) + bytes(value)
    elif isinstance(value, (list, tuple)):
        out += _head(4, len(value))
        for item in value:
            _encode_into(out, item)
    elif isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, str) and not (type(key) is int and 0 <= key <= _UINT_MAX):
                raise ValueError(f"map key {key!r} is neither text nor an unsigned integer")
            items.append((encode(key), item))
        items.sort(key=lambda pair: pair[0])
        out += _head(5, len(items))
        for key_bytes, item in items:
            out += key_bytes
            _encode_into(out, item)
    else:
        raise ValueError(f"cannot encode {type(value).__name__} in metadata")


# ----------------------------------------------------------------------------- decoding

class _Decoder:
    def __init__(self, data: bytes, base_offset: int) -> None:
        self.data = data
        self.pos = 0
        self.base = base_offset

    def fail(self, what: str, at: int | None = None) -> BitstreamError:
        offset = self.base + (self.pos if at is None else at)
        return BitstreamError(f"metadata CBOR at byte {offset}: {what}", status=_STATUS, offset=offset)

    def take(self, count: int) -> bytes:
        if count > len(self.data) - self.pos:
            raise self.fail(f"truncated: needs {count} more bytes, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def head(self) -> tuple[int, int, int]:
        start = self.pos
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            return major, info, start
        if info < 24:
            return major, info, start
        if info > 27:
            raise self.fail(f"additional information {info} (indefinite or reserved) not allowed", start)
        size = 1 << (info - 24)
        argument = int.from_bytes(self.take(size), "big")
        if argument < (24 if size == 1 else 1 << (4 * size)):
            raise self.fail(f"integer argument {argument} not in shortest form", start)
        return major, argument, start

    def item(self, depth: int) -> Any:
        major, argument, start = self.head()
        if major == 0:
            return argument
        if major == 1:
            if argument >= 1 << 63:
                raise self.fail("negative integer below -2**63", start)
            return -1 - argument
        if major == 2:
            return self.take(argument)
        if major == 3:
            raw = self.take(argument)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.fail(f"text is not valid UTF-8 ({exc.reason})", start) from exc
        if major == 6:
            raise self.fail("tags are not allowed", start)
        if major == 7:
            return self.simple(argument, start)
        if depth >= MAX_CBOR_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_CBOR_DEPTH}", start)
        if argument > len(self.data) - self.pos:
            raise self.fail(f"{argument} items cannot fit in {len(self.data) - self.pos} bytes", start)
        if major == 4:
            return [self.item(depth + 1) for _ in range(argument)]
        result: dict[Any, Any] = {}
        previous = b""
        for _ in range(argument):
            key_start = self.pos
            if key_start < len(self.data) and self.data[key_start] >> 5 not in (0, 3):
                raise self.fail("map key is neither a text string nor an unsigned integer", key_start)
            key = self.item(depth + 1)
            encoded = self.data[key_start:self.pos]
            if previous and encoded <= previous:
                raise self.fail(f"map key {key!r} is duplicate or out of deterministic order", key_start)
            previous = encoded
            result[key] = self.item(depth + 1)
        return result

    def simple(self, info: int, start: int) -> Any:
        if info == 20:
            return False
        if info == 21:
            return True
        if info == 22:
            return None
        if info in (25, 26, 27):
            fmt, size = {25: (">e", 2), 26: (">f", 4), 27: (">d", 8)}[info]
            value = struct.unpack(fmt, self.take(size))[0]
            if not math.isfinite(value):
                raise self.fail("float is NaN or infinite", start)
            if (info == 26 and fits_half(value)) or (info == 27 and fits_single(value)):
                raise self.fail(f"float {value!r} not in its shortest exact width", start)
            return value
        raise self.fail(f"simple value {info} not allowed (only false, true, null, floats)", start)


def decode(data: bytes, *, base_offset: int = 0) -> Any:
    """Decode exactly one deterministic CBOR item filling all of `data`.

    Raises BitstreamError(status="DC_ERR_METADATA", offset=base_offset + position) naming the
    rule that `data` breaks.
    """
    decoder = _Decoder(bytes(data), base_offset)
    value = decoder.item(0)
    if decoder.pos != len(data):
        raise decoder.fail(f"{len(data) - decoder.pos} bytes after the metadata item")
    return value
