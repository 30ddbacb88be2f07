"""The QEMU boards (dcagent.boards.QemuBoard) with exact instruction counts per inference.

The firmware marks profiling region INFER_REGION (2) for each inference, OP_REGION + k while
op k runs (its weights' decoding included) and INFER_REGION again between ops, then 0
(firmware/app/runtime_adapter.h, docs/boards.md "The model runtime"). The plugin logs one
`mark` line per switch; the marks written during one inference give
  instructions = total at the last switch back to 0 - total at the first switch away from 0
  layers[k]    = instructions attributed to region OP_REGION + k.
`kernels="ref"` runs a firmware built with the reference kernels only (build/<board>-ref/).
"""
from __future__ import annotations

import tempfile

from dcagent.boards import QemuBoard
from hil.drivers.base import FirmwareInfo
from hil.drivers.link import LinkDriver, require_running

#: firmware/app/runtime_adapter.h: DC_APP_OP_REGION(k) = 16 + k.
OP_REGION = 16


def counts_from_marks(marks) -> tuple[int | None, tuple[int, ...] | None]:
    """(instructions, per-op instructions) from the plugin marks of one inference.

    Marks are dcagent.boards.Mark(region, previous, insns, total). Returns (None, None) when
    the inference switched no region (a firmware whose runtime is not profiled).
    """
    entered = [m for m in marks if m.previous == 0 and m.region != 0]
    left = [m for m in marks if m.previous != 0 and m.region == 0]
    if not entered or not left:
        return None, None
    start = entered[0].total  # `total`: the running count at the switch
    end = left[-1].total
    per_region: dict[int, int] = {}
    for m in marks:
        if m.previous >= OP_REGION:
            per_region[m.previous] = per_region.get(m.previous, 0) + m.insns
    if not per_region:
        return end - start, None
    ops = max(per_region) - OP_REGION + 1
    layers = tuple(per_region.get(OP_REGION + k, 0) for k in range(ops))
    return end - start, layers


class QemuDriver(LinkDriver):
    """See module docstring. Errors are dcagent's BoardError / DeviceError / TransportError."""

    def __init__(self, resource, **kwargs) -> None:
        super().__init__(resource, **kwargs)
        self.board: QemuBoard | None = None
        self._last_logs = ""
        self._state: tempfile.TemporaryDirectory | None = None

    def flash_firmware(self, timeout_s: float) -> FirmwareInfo:
        from dcagent.boards.firmware import build_firmware, build_plugin, image_size
        image = build_firmware(self.resource.machine, kernels=self.resource.kernels)
        build_plugin()
        size = image_size(image)
        return FirmwareInfo(image=str(image.path), flash_bytes=size.flash_bytes, ram_bytes=size.ram_bytes)

    def power_on(self, timeout_s: float) -> None:
        # a fresh flash per power-on: the slots must survive the reset that starts a new model
        self._state = tempfile.TemporaryDirectory(prefix=f"hil-{self.name}-")
        self.board = QemuBoard(self.resource.machine, kernels=self.resource.kernels, profile=True, state_dir=self._state.name)
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

    def _count_mark(self) -> object:
        return len(self.board.instructions().marks) if self.board is not None else 0

    def _counts_since(self, mark: object) -> tuple[int | None, tuple[int, ...] | None]:
        if self.board is None:
            return None, None
        return counts_from_marks(self.board.instructions().marks[int(mark):])
