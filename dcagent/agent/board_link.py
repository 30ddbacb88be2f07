"""The agent's board: one it starts and keeps powered itself (`--board`), or a port (`--port`).

`OwnedBoard` starts a simulated board (dcagent.boards) with its flash in the agent's state
directory and a keeper thread that restarts it whenever its process ends (a power cut, kill
-9): the power comes back, as for a real board on a gateway. The board's serial port is a
new pseudo-terminal after every start, so the agent talks to a symbolic link
(`state_dir/board.tty`) that is replaced atomically at each start: a flash in progress
reopens the link and continues on the new board. `state_dir/board.json` records the
current process id and port (for operators and tests).
`ExternalBoard` is a port the agent does not own: it is never restarted.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Callable

from dcagent.boards import Board, create_board
from dcagent.errors import BoardError
from dcagent.link import console_command, provision
from host.container.writer import write_atomic

#: Test hook of the native board (docs/boards.md): passed to the FIRST start only.
POWER_CUT_ENV = "DC_NATIVE_POWER_CUT"


class BoardLink:
    """What the agent needs of a board: a serial port path and its architecture."""

    port: str
    arch: str | None = None

    @property
    def restarts(self) -> int:
        return 0

    def alive(self) -> bool:
        return True

    def wait_ready(self, timeout: float) -> bool:
        return True

    def stop(self) -> None:
        """Release the board."""

    def prepare(self, device_key: bytes) -> None:
        """Provision `device_key` (idempotent) and read the board's architecture.

        Raises DeviceError when the board holds another key, TransportError when it does not answer.
        """
        provision(self.port, device_key)
        info = console_command(self.port, "info")
        fields = dict(part.split("=", 1) for part in info.split() if "=" in part)
        self.arch = fields.get("cpu")


class ExternalBoard(BoardLink):
    """A board on a serial port the agent does not control."""

    def __init__(self, port: str) -> None:
        self.port = port


class OwnedBoard(BoardLink):
    """A simulated board started and kept running by the agent (see module docstring)."""

    def __init__(self, name: str, state_dir: Path, *, restart_delay: float = 0.5,
                 log: Callable[[str], None] = lambda message: None) -> None:
        self.name = name
        self.log = log
        self.state_dir = Path(state_dir)
        self.port = str(self.state_dir / "board.tty")
        self.restart_delay = restart_delay
        self._board: Board = create_board(name, state_dir=self.state_dir / "board")
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._restarts = 0
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def restarts(self) -> int:
        return self._restarts

    def start(self, timeout: float = 300.0) -> None:
        """Build (if needed) and start the board, and the keeper thread. Raises BoardError."""
        (self.state_dir / "board").mkdir(parents=True, exist_ok=True)
        # The keeper thread starts every board process: Linux ends a child whose parent
        # THREAD exits (PR_SET_PDEATHSIG), so the thread that spawns must live as long as the agent.
        self._thread = threading.Thread(target=self._keep, name="board-keeper", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise BoardError(f"board {self.name} did not start: {self._error}") from self._error

    def _launch(self) -> None:
        self._board.start(timeout=300.0)
        os.environ.pop(POWER_CUT_ENV, None)  # a power cut is injected once; later starts run normally
        link = Path(self.port)
        temp = link.with_name(link.name + ".new")
        temp.unlink(missing_ok=True)
        os.symlink(self._board.port, temp)
        os.replace(temp, link)
        write_atomic(self.state_dir / "board.json",
                     json.dumps({"pid": self._board.pid, "port": self._board.port, "restarts": self._restarts}).encode())

    def _keep(self) -> None:
        try:
            self._launch()
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while not self._stop.wait(0.1):
            if self._board.is_running:
                continue
            self._ready.clear()
            code = self._board.stop()
            self.log(f"board {self.name} stopped (exit status {code}); powering it on again")
            if self._stop.wait(self.restart_delay):
                return
            self._restarts += 1
            try:
                self._launch()
            except BoardError as exc:
                self.log(f"board {self.name} did not start: {exc}")
                continue   # try again at the next turn
            self._ready.set()

    def alive(self) -> bool:
        return self._board.is_running

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the board runs (after a restart). False on timeout."""
        return self._ready.wait(timeout) and self._board.is_running

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self._board.stop()


def connect_board(board: str | None, port: str | None, state_dir: Path, *,
                  log: Callable[[str], None] = lambda message: None) -> BoardLink:
    """The BoardLink for `--board NAME` or `--port PORT` (exactly one). Raises BoardError."""
    if (board is None) == (port is None):
        raise BoardError("give exactly one of --board and --port")
    if port is not None:
        return ExternalBoard(port)
    owned = OwnedBoard(board, state_dir, log=log)
    owned.start()
    return owned

