"""`dcagent flash MODEL.dcb (--port PORT | --board BOARD) [--confirm] [--device-key KEY]`:
upload a model to the device's slot 1, test it, reset, and confirm it (docs/protocol.md)."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from dcagent.cli.console import Console
from dcagent.cli.device_target import add_key_option, add_target_options, device_port, parse_device_key
from dcagent.cli.exit_codes import SUCCESS
from dcagent.errors import ConfigError
from dcagent.link import flash, prepare_image, provision


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("flash", help="deliver a .dcb model to a device over SMP (serial)",
                                   description="Upload MODEL to slot 1 (resuming after a dropped link), "
                                               "mark it for test, reset, wait for the device; with --confirm "
                                               "make it permanent. A rollback at boot is an error (exit 4).")
    parser.add_argument("model", type=Path, metavar="MODEL.dcb")
    add_target_options(parser)
    parser.add_argument("--confirm", action="store_true", help="confirm the model once it runs")
    add_key_option(parser)
    parser.add_argument("--provision", action="store_true",
                        help="first store --device-key in the device (simulated boards, bring-up)")
    parser.add_argument("--retries", type=int, default=8, metavar="N", help="link failures tolerated (default 8)")
    parser.set_defaults(func=run)


class _Bar:
    """FlashProgress drawn with rich on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(TextColumn("upload"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                 TimeRemainingColumn(), console=console.err, transient=True,
                                 disable=console.quiet)
        self.task = None

    def begin(self, total: int) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("upload", total=total)

    def advance(self, offset: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=offset)

    def note(self, message: str) -> None:
        if not self.console.quiet:
            self.progress.console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()


def run(args: argparse.Namespace, console: Console) -> int:
    key = parse_device_key(args.device_key)
    data = args.model.read_bytes()
    image = prepare_image(data, key)  # fail on a bad file before touching the device
    with device_port(args, console) as port:
        if args.provision:
            if key is None:
                raise ConfigError("--provision needs --device-key")
            provision(port, key)
        bar = _Bar(console)
        try:
            report = flash(port, image, confirm=args.confirm, progress=bar, retries=args.retries)
        finally:
            bar.close()
    state = "confirmed" if report.confirmed else "on trial (reverts at the next reset unless confirmed)"
    if report.uploaded:
        rate = report.size / report.upload_s if report.upload_s > 0 else 0.0
        console.info(f"uploaded {report.size} bytes in {report.upload_s:.2f} s ({rate / 1024:.1f} KiB/s)"
                     + (f", resumed at {report.resumed_at}" if report.resumed_at else ""))
    console.result(f"model {report.sha256.hex()[:16]} version {report.version} running, {state}")
    return SUCCESS
