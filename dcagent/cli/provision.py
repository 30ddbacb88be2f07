"""`dcagent provision (--port PORT | --board BOARD --state DIR) [--device-key KEY]
[--publisher-key PUB --broker URL --fleet NAME [--device-id ID]]`: fill the device's
provisioning area (docs/boards.md "Flash layout"): the HMAC device key (once; the same key again
is accepted) and/or the fleet record (the trusted publisher's Ed25519 key and the broker the
board's own MQTT agent uses). A model is accepted when its device tag verifies with the device
key OR its signature with the trusted publisher key."""
from __future__ import annotations

import argparse
from pathlib import Path

from dcagent.cli.console import Console
from dcagent.cli.device_target import add_key_option, add_target_options, device_port, parse_device_key
from dcagent.cli.exit_codes import SUCCESS
from dcagent.errors import ConfigError
from dcagent.link import provision, provision_fleet


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("provision", help="store the device key (HMAC) and/or the trusted publisher key")
    add_target_options(parser)
    add_key_option(parser)
    parser.add_argument("--publisher-key", type=Path, metavar="PUB",
                        help="trust this publisher public key (dcagent keygen's publisher.pub); needs --broker, --fleet")
    parser.add_argument("--broker", metavar="URL", help="mqtt://DEVICE:PASSWORD@HOST[:PORT] for the board's own agent")
    parser.add_argument("--fleet", metavar="NAME", help="the fleet the board follows")
    parser.add_argument("--device-id", metavar="ID", help="device id (default: the broker user name)")
    parser.set_defaults(func=run)


def _publisher_raw(path: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - only this option needs it

    from host.container.signing import load_public_key  # noqa: PLC0415
    return load_public_key(path).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def run(args: argparse.Namespace, console: Console) -> int:
    key = parse_device_key(args.device_key)
    fleet_args = (args.broker, args.fleet)
    if args.publisher_key is None and any(fleet_args):
        raise ConfigError("--broker and --fleet go with --publisher-key")
    if args.publisher_key is not None and not all(fleet_args):
        raise ConfigError("--publisher-key needs --broker and --fleet (the board's fleet record holds all three)")
    if key is None and args.publisher_key is None:
        raise ConfigError("nothing to provision: give --device-key and/or --publisher-key")
    publisher = _publisher_raw(args.publisher_key) if args.publisher_key is not None else None
    with device_port(args, console) as port:
        if key is not None:
            provision(port, key)
            console.info("device key provisioned")
        if publisher is not None:
            provision_fleet(port, publisher, args.broker, args.fleet, args.device_id)
            console.info(f"publisher key trusted; fleet {args.fleet} via {args.broker.split('@')[-1]}")
    console.result("device provisioned")
    return SUCCESS
