"""`dcagent state (--port PORT | --board BOARD)`: the device's model slots (MCUmgr image state)."""
from __future__ import annotations

import argparse

from dcagent.cli.console import Console
from dcagent.cli.device_target import add_target_options, device_port
from dcagent.cli.exit_codes import SUCCESS
from dcagent.link import read_state


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("state", help="show the models in a device's slots")
    add_target_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    with device_port(args, console) as port:
        states = read_state(port)
    if not states:
        console.result("no model on the device")
        return SUCCESS
    rows = [[st.slot, st.version, st.hash.hex()[:16], "yes" if st.active else "", "yes" if st.confirmed else "",
             "yes" if st.pending else "", "yes" if st.permanent else ""] for st in states]
    console.table("model slots", ["slot", "version", "hash", "active", "confirmed", "pending", "permanent"], rows)
    return SUCCESS
