"""`dcagent provision (--port PORT | --board BOARD --state DIR) --device-key KEY`: store the
device's HMAC key (once; the same key again is accepted)."""
from __future__ import annotations

import argparse

from dcagent.cli.console import Console
from dcagent.cli.device_target import add_key_option, add_target_options, device_port, parse_device_key
from dcagent.cli.exit_codes import SUCCESS
from dcagent.link import provision


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("provision", help="store the device key (HMAC) in a device")
    add_target_options(parser)
    add_key_option(parser, required=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    key = parse_device_key(args.device_key)
    with device_port(args, console) as port:
        provision(port, key)
    console.result("device key provisioned")
    return SUCCESS
