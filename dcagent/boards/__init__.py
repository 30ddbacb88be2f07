"""Boards the firmware runs on: `native` (a host process) and QEMU Cortex-M4/M7/M33.

    from dcagent.boards import create_board
    with create_board("qemu-m4") as board:       # builds the firmware if needed
        serial.Serial(board.port).write(b"version\\n")

Every board exposes its UART as a local serial port path; see docs/boards.md.
"""
from __future__ import annotations

import os

from dcagent.boards.board import FAULT_EXIT_CODE, Board
from dcagent.boards.firmware import FirmwareImage, ImageSize, build_firmware, image_size
from dcagent.boards.insncount import InstructionLog, Mark, RegionCount
from dcagent.boards.native import NativeBoard
from dcagent.boards.qemu import MACHINES, QemuBoard
from dcagent.errors import BoardError

#: Names accepted by create_board(), in the order documented.
BOARD_NAMES = ("native", *MACHINES)


def create_board(name: str, *, state_dir: str | os.PathLike[str] | None = None) -> Board:
    """A (not yet started) board by registry name. Raises BoardError for an unknown name."""
    if name == "native":
        return NativeBoard(state_dir=state_dir)
    if name in MACHINES:
        return QemuBoard(name, state_dir=state_dir)
    raise BoardError(f"unknown board {name!r}; known: {', '.join(BOARD_NAMES)}")


__all__ = [
    "BOARD_NAMES", "FAULT_EXIT_CODE", "Board", "BoardError", "FirmwareImage", "ImageSize",
    "InstructionLog", "Mark", "NativeBoard", "QemuBoard", "RegionCount", "build_firmware",
    "create_board", "image_size",
]
