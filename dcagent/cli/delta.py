"""`dcagent delta OLD.dcb NEW.dcb -o DELTA.dcb [--key KEY]`: a signed delta update from OLD to NEW.

Each tensor of NEW is coded against OLD's co-located levels (or copied, whichever is
smaller), OLD's metadata is patched instead of sent again, and the delta names OLD by its
content SHA-256. A gateway agent that installed OLD rebuilds NEW from it byte for byte,
NEW's signature included (docs/delta.md). NEW is signed first when it is not (default key,
or --key; the signed copy is written beside it): publish that file too, for boards that
do not hold OLD. Why a command of its own rather than `compress --base`: a delta is made
between two published artifacts (the exact bytes boards hold), not from a training output,
and one NEW gets a delta per OLD still in the field.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from dcagent.cli.console import Console


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("delta", help="make a signed delta update between two .dcb models",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", type=Path, metavar="OLD.dcb", help="the model the boards run now")
    parser.add_argument("new", type=Path, metavar="NEW.dcb", help="the model they should run")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DELTA.dcb")
    parser.add_argument("--key", type=Path, help="Ed25519 private key (default: the development key pair)")
    parser.add_argument("--signed-out", type=Path, help="where a newly signed NEW goes (default NEW.signed.dcb)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    from dcagent.agent.keys import ensure_dev_keypair  # noqa: PLC0415
    from dcagent.fleet.publisher import prepare  # noqa: PLC0415
    from host.container.reader import open_container, read_container  # noqa: PLC0415
    from host.container.signing import load_private_key, sign_container  # noqa: PLC0415
    from host.container.writer import write_atomic  # noqa: PLC0415
    from host.delta import make_delta  # noqa: PLC0415

    if args.key is None and ensure_dev_keypair() is not None:
        console.info("created the development key pair (dcagent keygen) for signing")
    key = load_private_key(args.key)
    base = read_container(args.base)
    new, signed_path = prepare(args.new, key=None if read_container(args.new).signed else args.key,
                               signed_out=args.signed_out)
    if signed_path is not None:
        console.info(f"signed {args.new} -> {signed_path} (publish this one to boards without the base)")
    data, report = make_delta(base, new)
    delta = open_container(sign_container(data, key))
    write_atomic(args.output, delta.data)
    kinds = {}
    for kind, size, _ in report.tensors:
        kinds[kind] = kinds.get(kind, 0) + 1
    console.table(f"{args.base.name} -> {args.new.name}", ["", "bytes", "of NEW"], [
        ["NEW (full, signed)", len(new.data), "100.0%"],
        ["delta (signed)", len(delta.data), f"{100 * len(delta.data) / len(new.data):.1f}%"],
        ["  metadata (patch)", report.metadata_bytes, f"{report.patch_operations} operations"],
        ["  tensors", sum(s for _, s, _ in report.tensors), ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))],
    ])
    console.result(f"wrote {args.output}: delta of {new.metadata.model.name} v{new.metadata.model.version} against "
                   f"base {base.content_sha256.hex()[:16]} ({len(delta.data)} bytes)")
    return 0
