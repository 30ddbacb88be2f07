"""`dcagent verify FILE.dcb`: exit 0 when the container is valid, signed by the key, and (optionally)
tagged for the device and applicable to the base; otherwise print the error."""
from __future__ import annotations

import argparse
from pathlib import Path

from dcagent.cli.console import Console
from dcagent.errors import ConfigError
from host.container import layout
from host.container.hmac_tag import verify_device_tag
from host.container.reader import read_container
from host.container.signing import load_public_key, verify_signature
from host.errors import SignatureError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("verify", help="verify a .dcb container (structure, hash, signature, tag)",
                                   description="Exit 0 when FILE is a valid container signed by the key; "
                                               "else print what is wrong (exit 3; 2 for key problems).")
    parser.add_argument("file", metavar="FILE.dcb", type=Path)
    parser.add_argument("--key", metavar="PUB", type=Path, default=None,
                        help="publisher public key, PEM or raw (default: $XDG_CONFIG_HOME/dcagent/keys/publisher.pub)")
    parser.add_argument("--device-key", metavar="HEX", default=None,
                        help="check the per-device HMAC tag with this key (hex, 1..64 bytes)")
    parser.add_argument("--base", metavar="BASE.dcb", type=Path, default=None,
                        help="check that a delta container applies to this base container")
    parser.add_argument("--allow-unsigned", action="store_true", help="accept a container without signature")
    parser.set_defaults(func=run)


def _device_key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise ConfigError(f"--device-key is not hex: {text!r}") from exc
    if not 1 <= len(key) <= layout.MAX_DEVICE_KEY_LENGTH:
        raise ConfigError(f"--device-key must be 1..{layout.MAX_DEVICE_KEY_LENGTH} bytes, got {len(key)}")
    return key


def run(args: argparse.Namespace, console: Console) -> int:
    device_key = _device_key(args.device_key) if args.device_key is not None else None
    container = read_container(args.file)
    checks = ["structure", "sha256"]
    if container.signed or not args.allow_unsigned:
        if not container.signed:
            raise SignatureError("container is unsigned", status="DC_ERR_SIGNATURE",
                                 hint="pass --allow-unsigned to accept unsigned containers")
        verify_signature(container, load_public_key(args.key))
        checks.append(f"ed25519 signature (key id {container.trailer.key_id.hex()})")
    if device_key is not None:
        verify_device_tag(container, device_key)
        checks.append("device tag")
    if args.base is not None:
        container.check_base(read_container(args.base).content_sha256)
        checks.append("delta base")
    console.result(f"{args.file}: valid ({', '.join(checks)})")
    return 0
