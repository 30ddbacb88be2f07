"""`dcagent keygen`: create the publisher's Ed25519 key pair (signs containers)."""
from __future__ import annotations

import argparse
from pathlib import Path

from dcagent.cli.console import Console
from host.container.signing import default_key_dir, generate_keypair


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keygen", help="create the publisher's Ed25519 signing key pair",
                                   description="Write publisher.key (private, mode 0600) and publisher.pub "
                                               f"to DIR (default: {default_key_dir()}).")
    parser.add_argument("-o", "--output", metavar="DIR", type=Path, default=None,
                        help="folder for the key files (default: $XDG_CONFIG_HOME/dcagent/keys)")
    parser.add_argument("--force", action="store_true", help="replace an existing key pair")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    pair = generate_keypair(args.output, force=args.force)
    console.info(f"wrote {pair.private_path} (keep it secret) and {pair.public_path}")
    console.result(f"key_id {pair.key_id.hex()}")
    return 0
