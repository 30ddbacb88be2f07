"""`dcagent infer (--port PORT | --board BOARD) --data DATA.npz [-o OUT.npz]`: run the
samples `x` of DATA on the device's running model and save the outputs.

Until the firmware links the runtime the device answers DC_ERR_UNSUPPORTED and this exits 4
naming it. TO COMPLETE with the runtime: decode the outputs with the model's output shape and
compare them with the host reference interpreter (host.reference) on the same container.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dcagent.cli.console import Console
from dcagent.cli.device_target import add_target_options, device_port
from dcagent.cli.exit_codes import SUCCESS
from dcagent.link import infer
from host.errors import DataError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("infer", help="run inferences on a device's model")
    add_target_options(parser)
    parser.add_argument("--data", type=Path, required=True, metavar="DATA.npz", help="inputs: array `x` (samples first)")
    parser.add_argument("-o", "--output", type=Path, metavar="OUT.npz", help="write the raw outputs (`y`, uint8 bytes)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    try:
        with np.load(args.data) as npz:
            x = npz["x"]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{args.data}: cannot read array 'x': {exc}") from exc
    with device_port(args, console) as port:
        results = infer(port, x)
    outputs = np.stack([np.frombuffer(r.output, dtype=np.uint8) for r in results])
    if args.output is not None:
        np.savez(args.output, y=outputs, insn=np.array([r.instructions for r in results], dtype=np.uint64))
    console.result(f"{len(results)} inferences; {outputs.shape[1]} output bytes each")
    return SUCCESS
