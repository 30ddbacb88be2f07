"""Shared options of the device commands (flash, state, infer, provision): which device
(`--port PORT` or `--board BOARD [--state DIR]`) and the device key (`--device-key`)."""
from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from dcagent.boards import BOARD_NAMES, Board, create_board
from dcagent.cli.console import Console
from dcagent.errors import ConfigError


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """--port PORT | --board BOARD, and --state DIR for a board's flash."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", metavar="PORT", help="serial port of the device (e.g. /dev/ttyACM0, /dev/pts/3)")
    where.add_argument("--board", choices=BOARD_NAMES,
                       help="start this simulated board for the command (stopped afterwards)")
    parser.add_argument("--state", metavar="DIR",
                        help="with --board: keep the board's flash in DIR/flash.bin across runs")


def add_key_option(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument("--device-key", metavar="HEX|@FILE", required=required,
                        help="the device's HMAC key: hex digits, or @FILE holding hex text or raw bytes")


def parse_device_key(value: str | None) -> bytes | None:
    """The key bytes of a --device-key value. Raises ConfigError for a bad value."""
    if value is None:
        return None
    if value.startswith("@"):
        raw = Path(value[1:]).read_bytes()
        text = raw.strip()
        try:
            key = bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            key = raw
    else:
        try:
            key = bytes.fromhex(value)
        except ValueError as exc:
            raise ConfigError(f"--device-key is not hex: {exc}") from exc
    if not 1 <= len(key) <= 64:
        raise ConfigError(f"--device-key must be 1..64 bytes, got {len(key)}")
    return key


@contextlib.contextmanager
def device_board(args: argparse.Namespace, console: Console) -> Iterator[tuple[str, Board | None]]:
    """(serial port, the Board started for the command or None for --port): --port as given,
    or a --board started for the command and stopped afterwards."""
    if args.port is not None:
        if args.state is not None:
            raise ConfigError("--state applies to --board only")
        yield args.port, None
        return
    board = create_board(args.board, state_dir=args.state)
    if args.state is None:
        console.info(f"note: board {args.board} without --state: its flash is erased when it stops")
    port = board.start()
    console.debug(f"board {args.board} on {port}")
    try:
        yield port, board
    finally:
        board.stop()


@contextlib.contextmanager
def device_port(args: argparse.Namespace, console: Console) -> Iterator[str]:
    """The serial port to use: --port as given, or a --board started for the command."""
    with device_board(args, console) as (port, _):
        yield port
