"""`dcagent fetch --broker URL --device-id ID --fleet NAME -o OUT.dcb [--trust PUBKEY...]`.

A device-side update without a board: read the fleet's manifest, download the blocks
(resuming an interrupted download from --state-dir), verify SHA-256, the Ed25519 signature
against the trusted keys, target, anti-rollback and delta base, write the verified file
atomically, and report the state on the device's status topic. Exit code 1 when the update
is rejected (the status message says why), 4 when the broker or stream failed.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from dcagent.cli.console import Console
from dcagent.cli.exit_codes import GoalNotMetError
from dcagent.cli.mqtt_options import add_broker_arguments, tls_options
from dcagent.errors import ConfigError
from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient
from dcagent.fleet.errors import UpdateRejectedError
from dcagent.fleet.fetcher import Fetcher
from dcagent.fleet.policy import DevicePolicy
from dcagent.fleet.status import StatusReporter
from host.container.reader import read_container
from host.container.signing import load_public_key
from host.container.writer import write_atomic


def default_state_dir(device_id: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dcagent" / "fetch" / device_id


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fetch", help="download and verify a fleet's model over MQTT (device side)",
                                   description=__doc__)
    add_broker_arguments(parser)
    parser.add_argument("--device-id", required=True, help="this device's id (its MQTT user and client id)")
    parser.add_argument("--fleet", required=True)
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.dcb")
    parser.add_argument("--trust", type=Path, nargs="+", metavar="PUBKEY",
                        help="trusted publisher public keys (default: the default key dir's publisher.pub)")
    parser.add_argument("--arch", help="this device's architecture (default: accept any)")
    parser.add_argument("--flash-bytes", type=int, help="flash available for a model")
    parser.add_argument("--ram-bytes", type=int, help="RAM available for a model")
    parser.add_argument("--min-version", type=int,
                        help="anti-rollback floor (default: the last version this device fetched from the fleet)")
    parser.add_argument("--base", type=Path, help="the installed model (.dcb), for delta updates")
    parser.add_argument("--state-dir", type=Path, help="resume state (default: $XDG_STATE_HOME/dcagent/fetch/ID)")
    parser.add_argument("--window", type=int, default=32, help="blocks per request (1..128)")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds without a block")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    device_id = topics.check_name(args.device_id, "device id")
    fleet = topics.check_name(args.fleet, "fleet")
    state_dir = args.state_dir or default_state_dir(device_id)
    floor_file = state_dir / f"accepted-{fleet}"
    min_version = args.min_version
    if min_version is None:
        try:
            min_version = int(floor_file.read_text()) if floor_file.exists() else 0
        except ValueError as exc:
            raise ConfigError(f"{floor_file} does not hold a version number",
                              hint="pass --min-version, or delete the file to reset the anti-rollback floor") from exc
    trusted = tuple(load_public_key(p) for p in (args.trust or [None]))
    base = read_container(args.base).content_sha256 if args.base else None
    policy = DevicePolicy(trusted=trusted, arch=args.arch, flash_bytes=args.flash_bytes, ram_bytes=args.ram_bytes,
                          min_version=min_version, base_sha256=base)
    client = BrokerClient(args.broker, device_id, tls=tls_options(args), clean_start=False, session_expiry=600)
    client.connect()
    try:
        with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), console=console.err, disable=console.quiet, transient=True) as bar:
            task = bar.add_task(f"{device_id} <- {fleet}", total=None)
            fetcher = Fetcher(client, device_id, fleet, policy, state_dir=state_dir, window=args.window,
                              stall_timeout=args.timeout, manifest_timeout=min(args.timeout, 30.0),
                              status=StatusReporter(client, device_id),
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
            try:
                result = fetcher.fetch()
            except UpdateRejectedError as exc:
                raise GoalNotMetError(f"update rejected: {exc}",
                                      hint="the device's status topic carries the same reason") from exc
        write_atomic(args.output, result.data)
        state_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(floor_file, str(result.manifest.model_version).encode())
    finally:
        client.close()
    m = result.manifest
    console.result(f"{args.output}: {m.model_name} v{m.model_version}, {m.size} bytes, sha256 {m.sha256.hex()} "
                   f"(verified; {result.blocks_fetched} blocks fetched, {result.blocks_resumed} resumed, "
                   f"{result.requests} requests)")
    return 0
