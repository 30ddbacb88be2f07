"""An instrument simulated behind a pseudo-terminal: a thread serves the master side; drivers
open `port` (the slave path) like a real serial device."""
from __future__ import annotations

import os
import select
import termios
import threading
import time
import tty
from types import TracebackType


class PtyInstrument:
    """Subclasses implement `received(data)` (bytes from the host) and may implement `tick(now)`
    (called about every `tick_s` seconds, e.g. to stream samples). `send()` writes to the host."""

    tick_s = 0.01

    def __init__(self) -> None:
        self._master: int | None = None
        self._slave: int | None = None
        self.port = ""
        self._thread: threading.Thread | None = None
        self._running = False
        self.lock = threading.RLock()

    def start(self) -> "PtyInstrument":
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave, termios.TCSANOW)
        tty.setraw(self._master, termios.TCSANOW)
        self.port = os.ttyname(self._slave)
        self._running = True
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def __enter__(self) -> "PtyInstrument":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def send(self, data: bytes) -> None:
        """Write to the host (blocking until the pty takes it all)."""
        assert self._master is not None
        view = memoryview(data)
        while view and self._running:
            _, writable, _ = select.select([], [self._master], [], 0.1)
            if writable:
                view = view[os.write(self._master, view):]

    def _serve(self) -> None:
        while self._running:
            readable, _, _ = select.select([self._master], [], [], self.tick_s)
            if readable:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    data = b""
                if data:
                    with self.lock:
                        self.received(data)
            with self.lock:
                self.tick(time.monotonic())

    def received(self, data: bytes) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def tick(self, now: float) -> None:
        """Called about every tick_s seconds."""
