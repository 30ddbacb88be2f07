"""The `native` board: the firmware built for this host, its UART a pseudo-terminal.

The process prints "port=/dev/pts/N" as its first stdout line; its flash is
`<state_dir>/flash.bin` (created erased on first use, kept across restarts) or, without a
state directory, memory erased at every start.
"""
from __future__ import annotations

import os
import time

from dcagent.boards.board import Board
from dcagent.boards.firmware import FirmwareImage, build_firmware
from dcagent.errors import BoardError


class NativeBoard(Board):
    """The firmware as a host process. See module docstring."""

    name = "native"

    def __init__(self, *, state_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__(state_dir=state_dir)
        self.image: FirmwareImage | None = None

    def _prepare(self) -> None:
        self.image = build_firmware(self.name)

    def _launch(self, deadline: float) -> str:
        assert self.image is not None
        argv = [str(self.image.path)]
        if self.state_dir is not None:
            argv += ["--state", str(self.state_dir)]
        self._spawn(argv)
        port = self._read_port_line(deadline)
        self._hold_port(port)
        return port

    def _read_port_line(self, deadline: float) -> str:
        """The path from the first stdout line, "port=/dev/pts/N"."""
        while True:
            first = self.logs().split("\n", 1)
            if len(first) == 2:
                if not first[0].startswith("port="):
                    raise BoardError(f"native firmware printed {first[0]!r} instead of port=...")
                return first[0][len("port="):].strip()
            self._check_alive("its port line")
            if time.monotonic() > deadline:
                raise BoardError("native firmware printed no port line in time")
            time.sleep(0.005)
