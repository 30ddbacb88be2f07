"""A minimal asyncio MQTT 3.1.1 client for the fan-out benchmark: thousands of devices in one process.

Only what a device simulator needs: CONNECT with user name/password, SUBSCRIBE, PUBLISH at
QoS 0/1 both ways (PUBACK sent for QoS 1 deliveries), DISCONNECT; no keepalive (0), no
retries, no TLS. It counts the bytes it reads and writes, which is what the benchmark
reports as bytes on the wire. Not part of the product (devices use paho, dcagent.fleet.broker).
"""
from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass


class MqttLiteError(Exception):
    """The broker refused or broke the connection."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool


class LiteClient:
    """One MQTT connection. `messages` receives every PUBLISH the broker delivers."""

    def __init__(self) -> None:
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.bytes_in = 0
        self.bytes_out = 0
        self._pid = 0
        self._acks: dict[int, asyncio.Future] = {}
        self._task: asyncio.Task | None = None

    def _next_pid(self) -> int:
        self._pid = self._pid % 65535 + 1
        return self._pid

    def _send(self, data: bytes) -> None:
        assert self.writer is not None
        self.bytes_out += len(data)
        self.writer.write(data)

    async def _read_packet(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readexactly(1)
        length, shift, used = 0, 0, 1
        while True:
            b = (await self.reader.readexactly(1))[0]
            used += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        body = await self.reader.readexactly(length) if length else b""
        self.bytes_in += used + length
        return head[0], body

    async def connect(self, host: str, port: int, client_id: str, username: str, password: str,
                      *, clean_session: bool = True) -> None:
        """Open the connection and wait for CONNACK. Raises MqttLiteError, OSError."""
        self.reader, self.writer = await asyncio.open_connection(host, port)
        flags = 0xC0 | (0x02 if clean_session else 0)
        body = _str("MQTT") + bytes([4, flags]) + struct.pack(">H", 0) + _str(client_id) + _str(username) + _str(password)
        self._send(_packet(0x10, body))
        kind, body = await self._read_packet()
        if kind != 0x20 or len(body) != 2 or body[1] != 0:
            raise MqttLiteError(f"CONNACK refused: {body.hex()}")
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while True:
                kind, body = await self._read_packet()
                ptype = kind >> 4
                if ptype == 3:      # PUBLISH
                    qos = (kind >> 1) & 3
                    (tlen,) = struct.unpack_from(">H", body)
                    topic = body[2:2 + tlen].decode()
                    pos = 2 + tlen
                    if qos:
                        pid = body[pos:pos + 2]
                        pos += 2
                        self._send(_packet(0x40, pid))
                    self.messages.put_nowait(Message(topic, body[pos:], bool(kind & 1)))
                elif ptype in (4, 9):  # PUBACK, SUBACK
                    (pid,) = struct.unpack_from(">H", body)
                    future = self._acks.pop(pid, None)
                    if future is not None and not future.done():
                        future.set_result(body[2:])
        except (asyncio.IncompleteReadError, ConnectionError):
            for future in self._acks.values():
                if not future.done():
                    future.set_exception(MqttLiteError("connection closed"))

    async def subscribe(self, filters: list[tuple[str, int]]) -> bytes:
        """Subscribe and wait for SUBACK; returns the granted QoS bytes (0x80 = refused)."""
        pid = self._next_pid()
        future = asyncio.get_running_loop().create_future()
        self._acks[pid] = future
        body = struct.pack(">H", pid) + b"".join(_str(f) + bytes([q]) for f, q in filters)
        self._send(_packet(0x82, body))
        return await future

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        """Send a PUBLISH (QoS 1 PUBACKs are not waited for)."""
        body = _str(topic) + (struct.pack(">H", self._next_pid()) if qos else b"") + payload
        self._send(_packet(0x30 | (qos << 1), body))

    async def close(self) -> None:
        if self.writer is not None:
            try:
                self._send(b"\xe0\x00")
                await self.writer.drain()
                self.writer.close()
            except (ConnectionError, RuntimeError):
                pass
        if self._task is not None:
            self._task.cancel()
