"""A minimal client of QEMU's human monitor (HMP) on a unix socket."""
from __future__ import annotations

import re
import socket
import time
from pathlib import Path

from dcagent.errors import BoardError

_PROMPT = b"(qemu) "
_ESCAPES = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


class QemuMonitor:
    """Sends HMP commands and returns their output (terminal escapes removed)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def connect(cls, path: Path, deadline: float, alive) -> "QemuMonitor":
        """Connect once QEMU has created the socket and read its greeting.

        `alive()` raises when QEMU has died. Raises BoardError at `deadline`.
        """
        while True:
            alive("the QEMU monitor")
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() > deadline:
                    raise BoardError("QEMU's monitor socket did not appear in time") from None
                time.sleep(0.005)
        monitor = cls(sock)
        monitor._read_prompt(deadline)
        return monitor

    def command(self, line: str, timeout: float = 5.0) -> str:
        """Run one HMP command; returns its output. Raises BoardError on timeout or EOF."""
        try:
            self._sock.sendall(line.encode() + b"\n")
        except OSError as exc:
            raise BoardError(f"QEMU monitor: cannot send {line!r}: {exc}") from exc
        return self._read_prompt(time.monotonic() + timeout)

    def close(self) -> None:
        self._sock.close()

    def _read_prompt(self, deadline: float) -> str:
        data = b""
        while not data.endswith(_PROMPT):
            left = deadline - time.monotonic()
            if left <= 0:
                raise BoardError(f"QEMU monitor did not answer in time (got {data[-200:]!r})")
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(4096)
            except socket.timeout:
                continue
            except OSError as exc:
                raise BoardError(f"QEMU monitor: {exc}") from exc
            if not chunk:
                raise BoardError("QEMU monitor closed the connection")
            data += chunk
        return _ESCAPES.sub(b"", data[: -len(_PROMPT)]).decode(errors="replace")
