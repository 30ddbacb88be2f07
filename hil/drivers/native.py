"""The `native` board (dcagent.boards.NativeBoard): the firmware as a host process on a pty.

No instruction counts (the host CPU is not the target); wall time is recorded but is no latency.
"""
from __future__ import annotations

import tempfile

from dcagent.boards import NativeBoard
from hil.drivers.base import FirmwareInfo
from hil.drivers.link import LinkDriver, require_running


class NativeDriver(LinkDriver):
    """See module docstring. Errors are dcagent's BoardError / DeviceError / TransportError."""

    def __init__(self, resource, **kwargs) -> None:
        super().__init__(resource, **kwargs)
        self.board: NativeBoard | None = None
        self._last_logs = ""
        self._state: tempfile.TemporaryDirectory | None = None

    def flash_firmware(self, timeout_s: float) -> FirmwareInfo:
        from dcagent.boards.firmware import build_firmware, image_size
        image = build_firmware("native")
        size = image_size(image)
        return FirmwareInfo(image=str(image.path), flash_bytes=size.flash_bytes, ram_bytes=size.ram_bytes)

    def power_on(self, timeout_s: float) -> None:
        # a fresh flash per power-on: the slots must survive the reset that starts a new model
        self._state = tempfile.TemporaryDirectory(prefix=f"hil-{self.name}-")
        self.board = NativeBoard(state_dir=self._state.name)
        self.board.start(timeout=timeout_s)

    def power_off(self) -> None:
        if self.board is not None:
            self.board.stop(timeout=2.0)
            self._last_logs = self.board.logs()
        if self._state is not None:
            self._state.cleanup()
            self._state = None

    @property
    def port(self) -> str:
        return require_running(self.board, self.name)

    def logs(self) -> str:
        text = self.board.logs() if self.board is not None else self._last_logs
        uart = self.uart_transcript()
        return text + (f"\n--- UART (console) ---\n{uart}\n" if uart else "")

    @property
    def exit_code(self) -> int | None:
        return None if self.board is None else self.board.exit_code
