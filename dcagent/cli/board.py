"""`dcagent board`: build a board's firmware, or start a board and keep it running.

    dcagent board start native|qemu-m4|qemu-m7|qemu-m33 [--state DIR]
        prints "port=/dev/pts/N" as its first stdout line, then runs until Ctrl-C or
        SIGTERM (then stops the board, exit 0) or until the firmware ends by itself
        (prints "exit=N"; exit 0 if N is 0, else 4). QEMU boards also print
        "instructions=N" (the plugin's total) when they end.
    dcagent board build BOARD
        builds (or reuses) the image and prints its size.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time

from dcagent.boards import BOARD_NAMES, QemuBoard, build_firmware, create_board, image_size
from dcagent.cli.console import Console
from dcagent.cli.exit_codes import DEVICE, SUCCESS
from dcagent.errors import BoardError


class _StopRequested(Exception):
    """SIGTERM arrived while `board start` was waiting."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("board", help="build or run a simulated board (native, QEMU)")
    actions = parser.add_subparsers(dest="board_action", metavar="ACTION")
    actions.required = True

    start = actions.add_parser("start", help="start a board; print its port; run until stopped")
    start.add_argument("board", choices=BOARD_NAMES)
    start.add_argument("--state", metavar="DIR", help="keep the board's flash in DIR/flash.bin")
    start.add_argument("--timeout", type=float, default=60.0, metavar="S",
                       help="seconds to wait for the board to build and boot (default 60)")
    start.set_defaults(func=run_start)

    build = actions.add_parser("build", help="build a board's firmware and print the image size")
    build.add_argument("board", choices=BOARD_NAMES)
    build.set_defaults(func=run_build)


def _print_now(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def run_start(args: argparse.Namespace, console: Console) -> int:
    """Start the board, print its port, wait for a stop request or the firmware's end."""
    board = create_board(args.board, state_dir=args.state)

    def on_term(signum, frame):  # noqa: ARG001 - signal handler signature
        raise _StopRequested

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        port = board.start(timeout=args.timeout)
        _print_now(f"port={port}")
        console.info(f"board {board.name} running on {port} (pid {board.pid}); Ctrl-C or SIGTERM stops it")
        while board.is_running:
            time.sleep(0.1)
        code = board.wait(5.0)
        _print_now(f"exit={code}")
        _report_instructions(board)
        return SUCCESS if code == 0 else DEVICE
    except (KeyboardInterrupt, _StopRequested):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup
        board.stop()
        console.info(f"board {board.name} stopped")
        _report_instructions(board)
        return SUCCESS
    finally:
        board.stop()
        signal.signal(signal.SIGTERM, previous)


def _report_instructions(board) -> None:
    if isinstance(board, QemuBoard):
        try:
            total = board.instructions().total
        except BoardError:
            return
        if total is not None:
            _print_now(f"instructions={total}")


def run_build(args: argparse.Namespace, console: Console) -> int:
    """Build the board's image and print its size."""
    image = build_firmware(args.board)
    size = image_size(image)
    console.result(
        f"board={args.board} image={image.path} text={size.text} data={size.data} bss={size.bss} "
        f"flash_bytes={size.flash_bytes} ram_bytes={size.ram_bytes}"
    )
    return SUCCESS
