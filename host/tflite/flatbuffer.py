"""Bounded, zero-copy reading of FlatBuffers tables (the container format of TFLite models).

Only what the TFLite schema needs: tables with vtables, scalar fields, strings, vectors of
scalars (as read-only numpy views into the buffer), vectors of tables, and sub-tables. Every
read is checked against the end of the buffer; a bad offset raises `ModelError` naming the byte
offset, never an `IndexError` or a read past the end. Layout reference:
https://flatbuffers.dev/internals/ (little-endian; uoffsets point forward, so no cycles).
"""
from __future__ import annotations

import struct

import numpy as np

from host.errors import ModelError

_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")

# Scalar field formats by schema type name.
SCALAR_FORMATS = {
    "bool": struct.Struct("<?"),
    "byte": struct.Struct("<b"),
    "ubyte": struct.Struct("<B"),
    "short": struct.Struct("<h"),
    "int": struct.Struct("<i"),
    "uint": struct.Struct("<I"),
    "long": struct.Struct("<q"),
    "ulong": struct.Struct("<Q"),
    "float": struct.Struct("<f"),
}

# Element dtypes of scalar vectors by schema type name.
VECTOR_DTYPES = {
    "bool": np.dtype("?"),
    "byte": np.dtype("i1"),
    "ubyte": np.dtype("u1"),
    "int": np.dtype("<i4"),
    "uint": np.dtype("<u4"),
    "long": np.dtype("<i8"),
    "float": np.dtype("<f4"),
}


class Buffer:
    """A read-only byte buffer with bounds-checked little-endian reads.

    Raises `ModelError` (with the offending offset in the message) on any read past the end.
    """

    __slots__ = ("data", "size")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = memoryview(data).cast("B")
        self.size = len(self.data)

    def check(self, pos: int, length: int, what: str) -> None:
        """Raise `ModelError` unless [pos, pos + length) lies inside the buffer."""
        if pos < 0 or length < 0 or pos + length > self.size:
            raise ModelError(
                f"corrupt TFLite file: {what} at byte offset {pos} (+{length}) lies outside "
                f"the {self.size}-byte file",
                hint="the file is truncated or not a TFLite flatbuffer",
            )

    def u16(self, pos: int, what: str) -> int:
        self.check(pos, 2, what)
        return _U16.unpack_from(self.data, pos)[0]

    def i32(self, pos: int, what: str) -> int:
        self.check(pos, 4, what)
        return _I32.unpack_from(self.data, pos)[0]

    def u32(self, pos: int, what: str) -> int:
        self.check(pos, 4, what)
        return _U32.unpack_from(self.data, pos)[0]

    def root(self, what: str) -> "Table":
        """The root table (the uoffset at byte 0)."""
        return Table(self, self.u32(0, f"{what} root offset"), what)


class Table:
    """One FlatBuffers table: fields are addressed by their schema slot number (0-based)."""

    __slots__ = ("buf", "pos", "vtable", "vtable_len", "what")

    def __init__(self, buf: Buffer, pos: int, what: str) -> None:
        self.buf = buf
        self.pos = pos
        self.what = what
        vtable = pos - buf.i32(pos, f"{what} vtable offset")
        vtable_len = buf.u16(vtable, f"{what} vtable size")
        if vtable_len < 4 or vtable_len % 2:
            raise ModelError(
                f"corrupt TFLite file: {what} at byte offset {pos} has a vtable of invalid size "
                f"{vtable_len}"
            )
        buf.check(vtable, vtable_len, f"{what} vtable")
        self.vtable = vtable
        self.vtable_len = vtable_len

    def _field(self, slot: int) -> int:
        """Absolute position of a field, or 0 when the field is absent (default)."""
        entry = 4 + 2 * slot
        if entry >= self.vtable_len:
            return 0
        offset = self.buf.u16(self.vtable + entry, f"{self.what} vtable entry")
        return self.pos + offset if offset else 0

    def has(self, slot: int) -> bool:
        return self._field(slot) != 0

    def scalar(self, slot: int, kind: str, default: int | float | bool, name: str):
        """A scalar field, or `default` when absent."""
        pos = self._field(slot)
        if not pos:
            return default
        fmt = SCALAR_FORMATS[kind]
        self.buf.check(pos, fmt.size, f"{self.what}.{name}")
        return fmt.unpack_from(self.buf.data, pos)[0]

    def _indirect(self, pos: int, what: str) -> int:
        return pos + self.buf.u32(pos, f"{what} offset")

    def table(self, slot: int, name: str) -> "Table | None":
        """A sub-table field, or None when absent."""
        pos = self._field(slot)
        if not pos:
            return None
        what = f"{self.what}.{name}"
        return Table(self.buf, self._indirect(pos, what), what)

    def _vector(self, slot: int, elem_size: int, name: str) -> tuple[int, int] | None:
        pos = self._field(slot)
        if not pos:
            return None
        what = f"{self.what}.{name}"
        start = self._indirect(pos, what)
        count = self.buf.u32(start, f"{what} length")
        self.buf.check(start + 4, count * elem_size, f"{what} ({count} elements)")
        return start + 4, count

    def vector(self, slot: int, kind: str, name: str) -> np.ndarray | None:
        """A vector of scalars as a read-only, zero-copy numpy view; None when absent."""
        dtype = VECTOR_DTYPES[kind]
        found = self._vector(slot, dtype.itemsize, name)
        if found is None:
            return None
        start, count = found
        return np.frombuffer(self.buf.data, dtype=dtype, count=count, offset=start)

    def string(self, slot: int, name: str) -> str | None:
        """A string field decoded as UTF-8 (invalid bytes replaced); None when absent."""
        found = self._vector(slot, 1, name)
        if found is None:
            return None
        start, count = found
        return bytes(self.buf.data[start:start + count]).decode("utf-8", errors="replace")

    def tables(self, slot: int, name: str) -> list["Table"]:
        """A vector of tables; an empty list when absent."""
        found = self._vector(slot, 4, name)
        if found is None:
            return []
        start, count = found
        what = f"{self.what}.{name}"
        return [
            Table(self.buf, self._indirect(start + 4 * i, f"{what}[{i}]"), f"{what}[{i}]")
            for i in range(count)
        ]
