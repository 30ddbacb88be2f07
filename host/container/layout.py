"""Byte layout of the .dcb container: field names, struct formats, constants and limits.

Normative text: docs/bitstream.md (section numbers below refer to it). Every name here is the
name of the same field in the spec and in C (`firmware/lib/include/dc_container.h`). All
integers are little-endian.
"""
from __future__ import annotations

import enum
import struct

MAGIC = b"\x89DCB\r\n\x1a\n"
VERSION_MAJOR = 3  # what writers write (format 3: integer metadata keys)
READABLE_MAJORS = (2, 3)  # format 2 differs only in the metadata's keys (docs/bitstream.md 4.3)
VERSION_MINOR = 0

# Section 2: header.
HEADER_LENGTH = 96
HEADER_STRUCT = struct.Struct("<8sBBHIIIIIIIII16s32s")
HEADER_FIELDS = (
    "magic", "version_major", "version_minor", "header_length", "flags", "tensor_count",
    "directory_offset", "metadata_offset", "metadata_length", "payload_offset",
    "payload_length", "trailer_offset", "file_length", "header_reserved", "base_sha256",
)
FLAG_DELTA = 0x1
KNOWN_FLAGS = FLAG_DELTA

# Section 3: tensor directory.
ENTRY_LENGTH = 16
ENTRY_STRUCT = struct.Struct("<IIIBBH")
ENTRY_FIELDS = ("payload_offset", "payload_length", "level_count", "codec", "level_dtype", "tensor_flags")
TENSOR_FLAG_DELTA = 0x1
KNOWN_TENSOR_FLAGS = TENSOR_FLAG_DELTA

# Section 5: trailer.
TRAILER_LENGTH = 152
TRAILER_STRUCT = struct.Struct("<32sHH16s64sHH32s")
TRAILER_FIELDS = (
    "content_sha256", "signature_algorithm", "signature_reserved", "key_id", "signature",
    "tag_algorithm", "tag_reserved", "device_tag",
)
SIGNED_BLOCK_LENGTH = 52  # trailer bytes [0, 52) follow SIGNATURE_CONTEXT in the signed message
SIGNATURE_OFFSET = 52  # within the trailer
TAG_INPUT_END = 120  # the device tag covers file bytes [0, trailer_offset + 120)
DEVICE_TAG_OFFSET = 120
SIGNATURE_CONTEXT = b"dcb-signature-v1"
KEY_ID_LENGTH = 16
SIGNATURE_LENGTH = 64
DEVICE_TAG_LENGTH = 32
MAX_DEVICE_KEY_LENGTH = 64

# Section 6: limits.
MAX_FILE_LENGTH = 64 * 1024 * 1024
MAX_TENSORS = 1024
MAX_METADATA_LENGTH = 1024 * 1024
MAX_LEVELS_PER_TENSOR = 1 << 24
MAX_RANK = 8
MAX_CBOR_DEPTH = 16

assert HEADER_STRUCT.size == HEADER_LENGTH
assert ENTRY_STRUCT.size == ENTRY_LENGTH
assert TRAILER_STRUCT.size == TRAILER_LENGTH


class Codec(enum.IntEnum):
    """How a tensor's payload encodes its levels (directory field `codec`)."""

    RAW = 0
    CABAC = 1


class LevelDtype(enum.IntEnum):
    """The integer type of a tensor's decoded levels (directory field `level_dtype`)."""

    INT8 = 0
    INT16 = 1
    INT32 = 2

    @property
    def width(self) -> int:
        """Bytes per level in a `raw` payload."""
        return (1, 2, 4)[self.value]

    @property
    def type_name(self) -> str:
        """The metadata `dtype` text naming this type ("int8", ...)."""
        return ("int8", "int16", "int32")[self.value]

    @property
    def bounds(self) -> tuple[int, int]:
        """The smallest and largest value of the type."""
        bits = 8 * self.width
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    @classmethod
    def from_name(cls, name: str) -> "LevelDtype":
        """The type called `name` in metadata; raises ValueError for any other text."""
        for member in cls:
            if member.type_name == name:
                return member
        raise ValueError(name)


class SignatureAlgorithm(enum.IntEnum):
    """Trailer field `signature_algorithm`."""

    NONE = 0
    ED25519 = 1


class TagAlgorithm(enum.IntEnum):
    """Trailer field `tag_algorithm`."""

    NONE = 0
    HMAC_SHA256 = 1


def align4(value: int) -> int:
    """`value` rounded up to a multiple of 4."""
    return (value + 3) & ~3
