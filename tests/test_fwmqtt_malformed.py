"""The firmware's MQTT client against a fake broker that answers with malformed packets.

A small Python TCP server in the test plays the broker: it reads the board's CONNECT (and
SUBSCRIBE), then answers with one broken packet per case. The board must end that session
with the case's status (shown by the `fleet status` console command), keep running, and
try again later; one well-formed but oversize PUBLISH must be skipped, acknowledged, and the
session must go on.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from fwmqtt_device import NetBoard

KEY_HEX = "11" * 32


def read_packet(conn: socket.socket) -> tuple[int, bytes]:
    """(first byte, body) of the next packet from the board; (0, b"") when it closed."""
    head = conn.recv(1)
    if not head:
        return 0, b""
    length, shift = 0, 0
    while True:
        b = conn.recv(1)[0]
        length |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return head[0], body


def publish(topic: bytes, payload: bytes, *, qos: int = 0, packet_id: int = 1) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (packet_id.to_bytes(2, "big") if qos else b"") + payload
    length, rem = bytearray(), len(body)
    while True:
        byte, rem = rem & 0x7F, rem >> 7
        length.append(byte | (0x80 if rem else 0))
        if not rem:
            break
    return bytes([0x30 | qos << 1]) + bytes(length) + body


CONNACK_OK = bytes([0x20, 2, 0, 0])


def after_connect(reply: bytes):
    def script(conn):
        read_packet(conn)
        conn.sendall(reply)
        time.sleep(0.2)
    return script


def after_subscribe(reply_of_packet_id):
    def script(conn):
        read_packet(conn)
        conn.sendall(CONNACK_OK)
        kind, body = read_packet(conn)
        assert kind == 0x82, kind
        conn.sendall(reply_of_packet_id(int.from_bytes(body[:2], "big")))
        time.sleep(0.2)
    return script


CASES = [
    ("closed at once", lambda conn: None, "DC_ERR_CLOSED"),
    ("reserved packet type 0", after_connect(b"\x00\x00"), "DC_ERR_PROTOCOL"),
    ("reserved packet type 15", after_connect(b"\xf0\x00"), "DC_ERR_PROTOCOL"),
    ("five-byte remaining length", after_connect(b"\x20\xff\xff\xff\xff\x01"), "DC_ERR_PROTOCOL"),
    ("CONNACK of three bytes", after_connect(b"\x20\x03\x00\x00\x00"), "DC_ERR_PROTOCOL"),
    ("CONNACK with flags", after_connect(b"\x21\x02\x00\x00"), "DC_ERR_PROTOCOL"),
    ("CONNACK return code 6", after_connect(b"\x20\x02\x00\x06"), "DC_ERR_PROTOCOL"),
    ("CONNACK refused: not authorized", after_connect(b"\x20\x02\x00\x05"), "DC_ERR_REFUSED"),
    ("PUBACK before CONNACK", after_connect(b"\x40\x02\x00\x01"), "DC_ERR_PROTOCOL"),
    ("SUBACK for another packet id", after_subscribe(lambda pid: bytes([0x90, 3]) + (pid + 1).to_bytes(2, "big")
                                                     + b"\x01"), "DC_ERR_PROTOCOL"),
    ("SUBACK granting QoS 2", after_subscribe(lambda pid: bytes([0x90, 3]) + pid.to_bytes(2, "big") + b"\x02"),
     "DC_ERR_PROTOCOL"),
    ("topic length past the packet", after_subscribe(lambda pid: b"\x30\x05\x00\x10abc"), "DC_ERR_PROTOCOL"),
    ("PUBLISH at QoS 2", after_subscribe(lambda pid: publish(b"a/b", b"x", qos=2)), "DC_ERR_PROTOCOL"),
    ("DUP flag at QoS 0", after_subscribe(lambda pid: b"\x38" + publish(b"a/b", b"x")[1:]), "DC_ERR_PROTOCOL"),
    ("QoS 1 without a packet id", after_subscribe(lambda pid: b"\x32\x05\x00\x03a/b"), "DC_ERR_PROTOCOL"),
    ("wildcard in a topic", after_subscribe(lambda pid: publish(b"a/#", b"x")), "DC_ERR_PROTOCOL"),
    ("topic not UTF-8", after_subscribe(lambda pid: publish(b"a\xff", b"x")), "DC_ERR_PROTOCOL"),
    ("empty topic", after_subscribe(lambda pid: publish(b"", b"x")), "DC_ERR_PROTOCOL"),
    ("PINGRESP with a body", after_subscribe(lambda pid: b"\xd0\x01\x00"), "DC_ERR_PROTOCOL"),
    ("SUBSCRIBE sent to the client", after_subscribe(lambda pid: b"\x82\x06\x00\x01\x00\x01a\x00"),
     "DC_ERR_PROTOCOL"),
]


class FakeBroker:
    """Accepts connections on a free port and runs `script(conn)` on each, in a thread."""

    def __init__(self, script) -> None:
        self.script = script
        self.errors: list[BaseException] = []
        self.connections = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(5)
                try:
                    self.script(conn)
                except (OSError, AssertionError, IndexError) as exc:
                    self.errors.append(exc)

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def board(tmp_path):
    b = NetBoard(tmp_path / "board")
    yield b
    b.close()


def wait_status(board: NetBoard, predicate, timeout: float = 8.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        status = board.status()
        if predicate(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_malformed_packets_end_the_session_with_a_status_and_the_board_survives(board):
    for what, script, expected in CASES:
        fake = FakeBroker(script)
        try:
            board.start_agent(f"mqtt://dev-a1:pw@127.0.0.1:{fake.port}", "alpha", bytes.fromhex(KEY_HEX))
            status = wait_status(board, lambda s: s["error"] == expected)
            assert (status["error"], status["link"]) == (expected, "down"), (what, status)
            assert fake.connections >= 1, what
        finally:
            fake.close()
    assert board.ask("version").startswith("dcfw ")
    assert board.board.is_running
    assert board.ask("fleet stop") == "ok"


def test_oversize_publish_is_skipped_acknowledged_and_the_session_goes_on(board):
    seen: list[tuple[int, bytes]] = []

    def broker(conn):
        read_packet(conn)
        conn.sendall(CONNACK_OK)
        while True:
            kind, body = read_packet(conn)
            if kind == 0:
                return
            seen.append((kind, body))
            if kind == 0x82:  # SUBSCRIBE: first a retained PUBLISH larger than the client's buffer
                conn.sendall(publish(b"dcagent/v1/fleets/alpha/manifest", bytes(5000), qos=1, packet_id=77)
                             + bytes([0x90, 3]) + body[:2] + b"\x01")
            elif kind & 0xF0 == 0x30 and kind & 0x06:  # a QoS 1 PUBLISH (the status): PUBACK
                tlen = int.from_bytes(body[:2], "big")
                conn.sendall(b"\x40\x02" + body[2 + tlen:4 + tlen])
            elif kind == 0xC0:
                conn.sendall(b"\xd0\x00")

    fake = FakeBroker(broker)
    try:
        board.start_agent(f"mqtt://dev-a1:pw@127.0.0.1:{fake.port}", "alpha", bytes.fromhex(KEY_HEX))
        deadline = time.monotonic() + 8
        while not any(kind & 0xF0 == 0x30 for kind, _ in seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        status = board.status()
        assert (status["link"], status["error"]) == ("up", "DC_OK"), status
        kinds = [kind for kind, _ in seen]
        assert (0x40, b"\x00\x4d") in seen, kinds  # PUBACK for packet id 77
        assert any(kind & 0xF0 == 0x30 for kind in kinds), kinds  # then its status went out
        assert fake.connections == 1 and not fake.errors, fake.errors
        assert board.ask("fleet stop") == "ok"
    finally:
        fake.close()
