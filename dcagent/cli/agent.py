"""`dcagent agent --broker URL --device-id ID --fleet NAME (--board BOARD | --port PORT)`: the gateway agent.

Subscribes to the fleet's manifest; downloads, verifies (publisher signature, hash, target,
anti-rollback, delta base), rebuilds deltas from the model it installed last, tags the model
with the board's HMAC key, flashes it over SMP, lets the board boot it on trial, checks it,
confirms it or rolls it back, and reports every step on its status topic
(dcagent/v1/devices/ID/status). It keeps its state in --state-dir and continues after a
restart, a broker outage or a board that disappeared. With --board it starts the simulated
board itself (flash in the state directory) and restarts it when it stops.
Keys: without --trust the publisher key pair of the user's configuration directory (created
when missing); without --device-key a random key kept in the state directory, provisioned
into the board (docs/keys.md).
"""
from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path

from dcagent.cli.console import Console
from dcagent.cli.mqtt_options import add_broker_arguments, tls_options
from dcagent.cli.signals import stop_on_sigterm
from dcagent.fleet import topics


def default_state_dir(device_id: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dcagent" / "agent" / device_id


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("agent", help="gateway agent: fleet updates over MQTT, flashed to a board",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_broker_arguments(parser)
    parser.add_argument("--device-id", required=True, help="the board's device id (MQTT user and client id)")
    parser.add_argument("--fleet", required=True, help="the fleet whose manifests this board follows")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--board", help="start and own this simulated board (native, qemu-m4, ...)")
    where.add_argument("--port", help="serial port of a board the agent does not own")
    parser.add_argument("--state-dir", type=Path, help="state, models and the owned board's flash "
                                                        "(default $XDG_STATE_HOME/dcagent/agent/ID)")
    parser.add_argument("--trust", type=Path, nargs="+", metavar="PUBKEY",
                        help="trusted publisher public keys (default: the development pair's publisher.pub)")
    parser.add_argument("--device-key", metavar="HEX|@FILE",
                        help="the board's HMAC key: hex digits, or @FILE holding hex text or raw bytes "
                             "(default: STATE_DIR/device.key, created and provisioned on first use)")
    parser.add_argument("--arch", help="accept models for this architecture (default: the board's cpu)")
    parser.add_argument("--stall-timeout", type=float, default=60.0, metavar="S",
                        help="a download fails after this many seconds without a block (it is retried later)")
    parser.add_argument("--retry-max", type=float, default=30.0, metavar="S", help="longest wait between retries")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    from dcagent.agent import Agent, AgentConfig, connect_board  # noqa: PLC0415 - keeps `dcagent --help` fast
    from dcagent.agent.keys import load_device_key, load_trust  # noqa: PLC0415
    from dcagent.cli.device_target import parse_device_key  # noqa: PLC0415

    device_id = topics.check_name(args.device_id, "device id")
    fleet = topics.check_name(args.fleet, "fleet")
    state_dir = (args.state_dir or default_state_dir(device_id)).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    trusted = load_trust(args.trust)
    device_key, created = load_device_key(parse_device_key(args.device_key), state_dir)
    if created:
        console.info(f"created a device key in {state_dir / 'device.key'}")
    config = AgentConfig(broker=args.broker, device_id=device_id, fleet=fleet, state_dir=state_dir, trusted=trusted,
                         tls=tls_options(args), arch=args.arch, stall_timeout=args.stall_timeout,
                         retry_max=args.retry_max)
    stop = threading.Event()
    stop_on_sigterm(stop)

    def log(message: str) -> None:
        console.info(f"agent {device_id}: {message}")
    board = connect_board(args.board, args.port, state_dir, log=log)
    try:
        board.prepare(device_key)
        console.info(f"agent {device_id} (fleet {fleet}): board on {board.port}, cpu {board.arch}, "
                     f"state in {state_dir}")
        Agent(config, board, device_key, log=log).run(stop)
    finally:
        board.stop()
    return 0
