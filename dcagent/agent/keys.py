"""Keys of the gateway agent: the publishers it trusts and the HMAC key of its board.

Out of the box (no key options) the publisher side and the agent share the development key
pair in the user's configuration directory (`host.container.signing.default_key_dir()`),
created on first use, and the agent makes a random device key in its state directory and
provisions the board with it. Production passes explicit files (docs/keys.md).
"""
from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dcagent.errors import ConfigError
from host.container.layout import MAX_DEVICE_KEY_LENGTH
from host.container.signing import (PRIVATE_KEY_NAME, PUBLIC_KEY_NAME, KeyPair, default_key_dir, generate_keypair,
                                    load_public_key)
from host.container.writer import write_atomic

DEVICE_KEY_NAME = "device.key"


def ensure_dev_keypair(directory: Path | None = None) -> KeyPair | None:
    """Create the development key pair in `directory` (default: the default key dir) when
    neither file exists; returns it, or None when a pair (or half of one) is already there.
    Raises KeyFileError when the folder cannot be written."""
    folder = Path(directory) if directory is not None else default_key_dir()
    if (folder / PRIVATE_KEY_NAME).exists() or (folder / PUBLIC_KEY_NAME).exists():
        return None
    return generate_keypair(folder)


def load_trust(paths: list[Path] | None) -> tuple[Ed25519PublicKey, ...]:
    """The trusted publisher keys: `paths` (PEM or raw 32-byte public keys), or the development
    pair's public key (created when missing). Raises KeyFileError."""
    if paths:
        return tuple(load_public_key(p) for p in paths)
    ensure_dev_keypair()
    return (load_public_key(None),)


def load_device_key(given: bytes | None, state_dir: Path) -> tuple[bytes, bool]:
    """(the board's HMAC key, whether it was just created).

    `given` (from --device-key) wins. Without it, `state_dir/device.key` (hex text), created
    with 32 random bytes (mode 0600) on first use. Raises ConfigError for a malformed file or key.
    """
    if given is not None:
        if not 1 <= len(given) <= MAX_DEVICE_KEY_LENGTH:
            raise ConfigError(f"a device key is 1..{MAX_DEVICE_KEY_LENGTH} bytes, not {len(given)}")
        return given, False
    file = state_dir / DEVICE_KEY_NAME
    if not file.exists():
        key = secrets.token_bytes(32)
        state_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(file, key.hex().encode() + b"\n", mode=0o600)
        return key, True
    try:
        key = bytes.fromhex(file.read_text().strip())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the device key {file}: {exc}",
                          hint="it holds the key as hex text; delete it to make a new one (and re-provision)") from exc
    if not 1 <= len(key) <= MAX_DEVICE_KEY_LENGTH:
        raise ConfigError(f"{file}: a device key is 1..{MAX_DEVICE_KEY_LENGTH} bytes, not {len(key)}")
    return key, False
