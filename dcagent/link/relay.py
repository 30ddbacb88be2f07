"""A serial relay between a host program and a device port, with seeded line faults.

    with Relay(board.port, seed=1, flip=1e-3) as relay:
        flash(relay.port, model)          # the host talks to relay.port (a new pty)
        relay.to_device, relay.to_host    # bytes that crossed each way

The relay copies bytes both ways between its own pseudo-terminal (the port it offers) and
the device's port. Faults, each at its rate per byte and direction, from one seeded random
stream: `drop` (the byte is lost), `duplicate` (sent twice), `flip` (one bit inverted).
`cut()`/`restore()` pull and replug the cable (everything in between is lost);
`on_bytes(direction, total)` lets a test act when a count is reached (e.g. kill the board).
For tests and benchmarks: it is the fault-injecting "cable" of docs/protocol.md.
"""
from __future__ import annotations

import os
import random
import select
import termios
import threading
import tty
from collections.abc import Callable

from dcagent.errors import TransportError

TO_DEVICE = "to_device"
TO_HOST = "to_host"


class Relay:
    """See module docstring. Rates are probabilities per byte (0 .. 1)."""

    def __init__(self, device_port: str, *, seed: int = 0, drop: float = 0.0, duplicate: float = 0.0,
                 flip: float = 0.0, directions: tuple[str, ...] = (TO_DEVICE, TO_HOST),
                 on_bytes: Callable[[str, int], None] | None = None) -> None:
        if min(drop, duplicate, flip) < 0 or drop + duplicate + flip > 1:
            raise ValueError("fault rates must be >= 0 and sum to at most 1")
        self.device_port = device_port
        self.rng = random.Random(seed)
        self.drop, self.duplicate, self.flip = drop, duplicate, flip
        self.directions = directions
        self.on_bytes = on_bytes
        self.to_device = 0  # bytes the host sent (before faults)
        self.to_host = 0    # bytes the device sent (before faults)
        self.faults = {"drop": 0, "duplicate": 0, "flip": 0}
        self.port: str | None = None
        self._master = self._slave = self._device = -1
        self._connected = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> str:
        """Open both ends and start copying; returns the port the host should use.

        Raises TransportError when the device port cannot be opened."""
        try:
            self._device = os.open(self.device_port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise TransportError(f"relay cannot open {self.device_port}: {exc}") from exc
        tty.setraw(self._device, termios.TCSANOW)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave, termios.TCSANOW)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._run, name="relay", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        for fd in (self._master, self._slave, self._device):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = self._device = -1

    def __enter__(self) -> "Relay":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cut(self) -> None:
        """Pull the cable: bytes both ways are lost until restore()."""
        self._connected = False

    def restore(self) -> None:
        self._connected = True

    def retarget(self, device_port: str) -> None:
        """Reattach the device side to another port (a board restarted on a new pty)."""
        fd = os.open(device_port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd, termios.TCSANOW)
        with self._lock:
            old, self._device = self._device, fd
            self.device_port = device_port
        os.close(old)

    def _mangle(self, data: bytes) -> bytes:
        if not (self.drop or self.duplicate or self.flip):
            return data
        out = bytearray()
        d, du, f = self.drop, self.drop + self.duplicate, self.drop + self.duplicate + self.flip
        rng = self.rng
        for b in data:
            u = rng.random()
            if u >= f:
                out.append(b)
            elif u < d:
                self.faults["drop"] += 1
            elif u < du:
                out += bytes((b, b))
                self.faults["duplicate"] += 1
            else:
                out.append(b ^ (1 << rng.randrange(8)))
                self.faults["flip"] += 1
        return bytes(out)

    @staticmethod
    def _write_all(fd: int, data: bytes, stop: threading.Event) -> None:
        view = memoryview(data)
        while view and not stop.is_set():
            try:
                n = os.write(fd, view)
                view = view[n:]
            except BlockingIOError:
                select.select([], [fd], [], 0.05)
            except OSError:
                return  # the other end went away: the bytes are lost, as on a cable

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                device = self._device
            try:
                readable, _, _ = select.select([self._master, device], [], [], 0.05)
            except (OSError, ValueError):
                continue
            for fd in readable:
                try:
                    data = os.read(fd, 4096)
                except (BlockingIOError, OSError):
                    continue
                if not data:
                    continue
                direction = TO_DEVICE if fd == self._master else TO_HOST
                if direction == TO_DEVICE:
                    self.to_device += len(data)
                    total = self.to_device
                else:
                    self.to_host += len(data)
                    total = self.to_host
                if self._connected:
                    out = self._mangle(data) if direction in self.directions else data
                    self._write_all(device if direction == TO_DEVICE else self._master, out, self._stop)
                if self.on_bytes is not None:
                    self.on_bytes(direction, total)
