"""The `Board` interface and the process handling every board shares.

A board is a firmware image running somewhere with its UART on a local serial port (a
pseudo-terminal path for the simulated boards). `start()` returns that path once the
firmware has printed its ready line; `stop()` ends it and reaps the process.
"""
from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType

from dcagent.errors import BoardError

#: Exit status of a firmware that took an unrecoverable CPU fault (DC_PORT_EXIT_FAULT in
#: firmware/lib/include/dc_port.h): HardFault on Cortex-M, SIGSEGV/SIGILL/... on native.
FAULT_EXIT_CODE = 120

#: The last bytes of the firmware's greeting ("dcfw 0.1.0 board=NAME ready\r\n").
READY_SUFFIX = b" ready\r\n"

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the board if the Python process that started it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Board(ABC):
    """A running (or runnable) firmware. Use as a context manager: `with board as b: ...`.

    Subclasses implement `_launch()`, which starts the process and returns the serial
    port path; the rest (ready line, stop, logs, exit status) is shared.
    """

    #: Registry name ("native", "qemu-m4", ...).
    name: str = ""

    def __init__(self, *, state_dir: str | os.PathLike[str] | None = None) -> None:
        self.state_dir = Path(state_dir).resolve() if state_dir is not None else None
        self._process: subprocess.Popen[bytes] | None = None
        self._port: str | None = None
        self._held_fd: int | None = None  # our own open of the port (see _hold_port)
        self._run_dir: Path | None = None
        self._log_path: Path | None = None
        self._logs = ""
        self.startup_s: float | None = None  # launch to ready line, seconds
        # stop() may come from two threads at once (a HIL watchdog kills the board while the case's
        # own thread powers it off): one of them ends and releases the board, the other waits.
        self._stopping = threading.RLock()

    # ---- the interface ----

    def start(self, timeout: float = 30.0) -> str:
        """Build if needed, launch, wait for the firmware's ready line; return the port path.

        Raises BoardError when the board is already running, cannot be built or launched,
        or does not become ready within `timeout` seconds (the board is stopped then).
        """
        if self.is_running:
            raise BoardError(f"board {self.name} is already running")
        self._prepare()
        self._run_dir = Path(tempfile.mkdtemp(prefix=f"dcboard-{self.name}-"))
        self._log_path = self._run_dir / "board.log"
        self._logs = ""
        began = time.monotonic()
        deadline = began + timeout
        try:
            self._port = self._launch(deadline)
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - began
        return self._port

    def stop(self, timeout: float = 5.0) -> int | None:
        """End the board (SIGTERM to its process group, SIGKILL after `timeout` s), reap it.

        Returns its exit status (negative: killed by that signal), or None if it never
        ran. Safe to call more than once.
        """
        with self._stopping:
            process = self._process
            if process is not None and process.poll() is None:
                self._signal_group(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    process.wait(timeout)
            self._release()
            return None if process is None else process.returncode

    def wait(self, timeout: float) -> int:
        """Wait for the firmware to end by itself; return its exit status.

        Raises BoardError if it never started or is still running after `timeout` s.
        """
        if self._process is None:
            raise BoardError(f"board {self.name} was never started")
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise BoardError(f"board {self.name} still running after {timeout} s") from None
        self._release()
        return code

    @property
    def is_running(self) -> bool:
        """True while the board's process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def port(self) -> str | None:
        """The serial port path (valid while running)."""
        return self._port

    @property
    def pid(self) -> int | None:
        """The process id of the board (native firmware or QEMU)."""
        return None if self._process is None else self._process.pid

    @property
    def exit_code(self) -> int | None:
        """The exit status once the board has ended, else None."""
        return None if self._process is None else self._process.poll()

    def logs(self) -> str:
        """Everything the board's process wrote on stdout and stderr so far."""
        if self._log_path is not None and self._log_path.is_file():
            return self._log_path.read_text(errors="replace")
        return self._logs

    def __enter__(self) -> "Board":
        if not self.is_running:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __del__(self) -> None:  # last resort: never leave a board behind
        try:
            if self._process is not None or self._run_dir is not None:
                self.stop(timeout=1.0)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # ---- for subclasses ----

    def _prepare(self) -> None:
        """Build what the board needs (before any process starts)."""

    @abstractmethod
    def _launch(self, deadline: float) -> str:
        """Start the process (via `_spawn`) and return the port path."""

    def _on_release(self) -> None:
        """Collect results before the run directory is removed."""

    def _spawn(self, argv: list[str], *, cwd: Path | None = None, pass_fds: tuple[int, ...] = ()) -> None:
        """Start `argv` in its own process group, stdout and stderr to the board log."""
        assert self._log_path is not None
        with open(self._log_path, "wb") as log:
            try:
                self._process = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=cwd, pass_fds=pass_fds, start_new_session=True,
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                )
            except OSError as exc:
                raise BoardError(f"cannot start {argv[0]}: {exc}") from exc

    def _check_alive(self, what: str) -> None:
        """Raise BoardError (with the log) if the process has ended while waiting for `what`."""
        if self._process is not None and self._process.poll() is not None:
            raise BoardError(
                f"board {self.name} exited with status {self._process.returncode} "
                f"while waiting for {what}:\n{self.logs().strip()[-2000:]}"
            )

    def _hold_port(self, path: str) -> None:
        """Open the port ourselves for the board's lifetime (raw mode).

        Holding the slave side open keeps the pseudo-terminal alive between clients: the
        firmware's output is queued instead of dropped and reads never fail with EIO.
        """
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd, termios.TCSANOW)
        self._held_fd = fd

    def _wait_ready(self, deadline: float) -> None:
        """Read the held port until the firmware's ready line arrives."""
        assert self._held_fd is not None
        seen = b""
        while not seen.endswith(READY_SUFFIX):
            self._check_alive("the firmware's ready line")
            left = deadline - time.monotonic()
            if left <= 0:
                raise BoardError(
                    f"board {self.name} printed no ready line in time (got {seen[-200:]!r})\n"
                    f"{self.logs().strip()[-2000:]}"
                )
            readable, _, _ = select.select([self._held_fd], [], [], min(left, 0.05))
            if readable:
                try:
                    seen += os.read(self._held_fd, 4096)
                except BlockingIOError:
                    continue

    def _signal_group(self, sig: int) -> None:
        assert self._process is not None
        try:
            os.killpg(self._process.pid, sig)
        except ProcessLookupError:
            pass

    def _release(self) -> None:
        """Close our port handle, keep the logs, remove the run directory (once, whichever thread)."""
        with self._stopping:
            if self._held_fd is not None:
                os.close(self._held_fd)
                self._held_fd = None
            if self._run_dir is not None:
                self._on_release()
                self._logs = self.logs()
                shutil.rmtree(self._run_dir, ignore_errors=True)
                self._run_dir = None
                self._log_path = None
