"""Helpers for the device-link tests: boards started with a state directory and a provisioned
key, raw SMP exchanges, and the flash layout of docs/protocol.md."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import struct
import time
from collections.abc import Iterator

import cbor2
import serial
from smp import packet as smppacket

from dcagent.boards import Board, QemuBoard, create_board
from dcagent.link import SmpSession, provision
from tests.link_models import DEVICE_KEY

#: docs/protocol.md "Flash layout": 2 MiB flash, 4 KiB sectors, 64 KiB reserved.
RESERVED = 64 * 1024
SECTOR = 4096
SLOT_SIZE = (2 * 1024 * 1024 - RESERVED) // 2 // SECTOR * SECTOR
CAPACITY = SLOT_SIZE - SECTOR  # the trailer sector is not for the image


def slot_offset(physical: int) -> int:
    return RESERVED + physical * SLOT_SIZE


@contextlib.contextmanager
def board_running(name: str, state_dir, *, key: bytes | None = DEVICE_KEY, env: dict[str, str] | None = None,
                  kernels: str = "opt") -> Iterator[Board]:
    """A started board on `state_dir`, provisioned with `key`; stopped afterwards. `kernels` "ref":
    a QEMU board's firmware with the reference kernels (dcagent.boards.QemuBoard)."""
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    board = create_board(name, state_dir=state_dir) if kernels == "opt" else QemuBoard(name, state_dir=state_dir,
                                                                                        kernels=kernels)
    try:
        board.start(timeout=60)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        if key is not None:
            provision(board.port, key)
        yield board
    finally:
        board.stop()


def kill9(board: Board) -> None:
    """SIGKILL the board's process (a power cut for the native board), then reap it."""
    os.kill(board.pid, signal.SIGKILL)
    board.stop()


def slots_text(port: str) -> list[str]:
    """The three lines of the console's `slots` command."""
    with serial.Serial(port, 115200, timeout=0.05) as link:
        link.reset_input_buffer()
        link.write(b"slots\n")
        buf, deadline = b"", time.monotonic() + 5
        while buf.count(b"\r\n") < 3 and time.monotonic() < deadline:
            buf += link.read(512)
    return buf.decode().split("\r\n")[:3]


def raw_message(op: int, group: int, command: int, payload: dict | bytes, seq: int = 7, version: int = 1) -> bytes:
    """An SMP message: 8-byte header + CBOR payload."""
    body = payload if isinstance(payload, bytes) else cbor2.dumps(payload)
    return struct.pack(">BBHHBB", op | version << 3, 0, len(body), group, seq, command) + body


async def exchange(session: SmpSession, message: bytes, timeout_s: float = 2.0) -> tuple[bytes, object]:
    """Send a raw message over the session's transport; return (header, decoded CBOR)."""
    transport = session._transport  # noqa: SLF001 - raw frames on purpose
    async with asyncio.timeout(timeout_s):
        frame = await transport.send_and_receive(message)
    return frame[:8], cbor2.loads(frame[8:])


def frame_lines(message: bytes) -> list[bytes]:
    """The console-framed lines of `message` (smp's own encoder)."""
    return list(smppacket.encode(message, line_length=128))
