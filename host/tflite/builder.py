"""A minimal FlatBuffers serializer laid out front to back.

Objects are described as `Table`, `Vector`, `TableVector` and `String` values and written
parents first: every uoffset then points forward (as FlatBuffers requires), each vtable sits
just before its table, and every scalar, vector and table is aligned to its size (vectors of
bytes that hold tensor data to 16), so the result passes the FlatBuffers verifier.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from host.tflite.flatbuffer import SCALAR_FORMATS


@dataclass
class String:
    text: str


@dataclass
class Vector:
    """A vector of scalars; `align` is the alignment of the first element (at least its size)."""

    values: np.ndarray
    align: int = 4


@dataclass
class TableVector:
    items: list["Table"]


@dataclass
class Table:
    """Fields by slot: scalars as (kind, value); String/Vector/TableVector/Table as objects."""

    fields: dict[int, object] = field(default_factory=dict)

    def scalar(self, slot: int, kind: str, value) -> "Table":
        self.fields[slot] = (kind, value)
        return self

    def child(self, slot: int, value) -> "Table":
        if value is not None:
            self.fields[slot] = value
        return self


class _Out:
    def __init__(self) -> None:
        self.data = bytearray()

    def pad_to(self, align: int, extra: int = 0) -> None:
        """Pad so that (len + extra) is a multiple of `align`."""
        self.data.extend(b"\0" * ((-(len(self.data) + extra)) % align))

    def patch_offset(self, field_pos: int, target: int) -> None:
        struct.pack_into("<I", self.data, field_pos, target - field_pos)


def _write_object(out: _Out, obj) -> int:
    """Write `obj` at the end of `out`; return its position (what a uoffset points at)."""
    if isinstance(obj, Table):
        return _write_table(out, obj)
    if isinstance(obj, String):
        raw = obj.text.encode("utf-8")
        out.pad_to(4)
        pos = len(out.data)
        out.data += struct.pack("<I", len(raw)) + raw + b"\0"
        return pos
    if isinstance(obj, Vector):
        values = np.ascontiguousarray(obj.values)
        values = values.astype(values.dtype.newbyteorder("<"), copy=False)
        align = max(obj.align, values.dtype.itemsize, 4)
        out.pad_to(align, extra=4)
        pos = len(out.data)
        out.data += struct.pack("<I", values.size) + values.tobytes()
        return pos
    if isinstance(obj, TableVector):
        out.pad_to(4)
        pos = len(out.data)
        out.data += struct.pack("<I", len(obj.items))
        slots = []
        for _ in obj.items:
            slots.append(len(out.data))
            out.data += b"\0\0\0\0"
        for slot_pos, item in zip(slots, obj.items):
            out.patch_offset(slot_pos, _write_object(out, item))
        return pos
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def _write_table(out: _Out, table: Table) -> int:
    slots = sorted(table.fields)
    vtable_len = 4 + 2 * (slots[-1] + 1 if slots else 0)
    # Lay out the fields after the 4-byte vtable offset, largest first, each aligned.
    layout = []  # (slot, offset in table, size, value)
    sizes = []
    for slot in slots:
        value = table.fields[slot]
        size = SCALAR_FORMATS[value[0]].size if isinstance(value, tuple) else 4
        sizes.append((size, slot, value))
    sizes.sort(key=lambda item: -item[0])
    offset = 4
    for size, slot, value in sizes:
        offset += (-offset) % size
        layout.append((slot, offset, size, value))
        offset += size
    table_len = offset + (-offset) % 4
    # Table start aligned to 8 (covers every scalar), vtable immediately before it.
    out.pad_to(8, extra=vtable_len)
    vtable_pos = len(out.data)
    entries = [0] * ((vtable_len - 4) // 2)
    for slot, field_offset, _, _ in layout:
        entries[slot] = field_offset
    out.data += struct.pack(f"<HH{len(entries)}H", vtable_len, table_len, *entries)
    table_pos = len(out.data)
    body = bytearray(table_len)
    struct.pack_into("<i", body, 0, table_pos - vtable_pos)
    children = []
    for slot, field_offset, size, value in layout:
        if isinstance(value, tuple):
            SCALAR_FORMATS[value[0]].pack_into(body, field_offset, value[1])
        else:
            children.append((table_pos + field_offset, value))
    out.data += body
    for field_pos, child in children:
        out.patch_offset(field_pos, _write_object(out, child))
    return table_pos


def serialize(root: Table, identifier: bytes) -> bytes:
    """The bytes of a FlatBuffer whose root is `root`, with a 4-byte file identifier."""
    out = _Out()
    out.data += b"\0\0\0\0" + identifier
    out.patch_offset(0, _write_table(out, root))
    return bytes(out.data)
