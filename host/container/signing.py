"""Ed25519 signatures of .dcb containers, key ids, and the publisher's key files.

docs/bitstream.md section 5: the signature covers SIGNATURE_CONTEXT + trailer bytes [0, 52)
(content_sha256, signature_algorithm, signature_reserved, key_id); key_id is the first 16
bytes of SHA-256 of the raw public key. Key files are PEM (PKCS#8 private, SubjectPublicKeyInfo
public) or raw 32-byte keys. Without an explicit path the keys live in `default_key_dir()`:
`$XDG_CONFIG_HOME/dcagent/keys/` (fallback `~/.config/dcagent/keys/`), written by
`generate_keypair`.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from host.container import layout
from host.container.layout import SignatureAlgorithm, TagAlgorithm
from host.container.reader import Container, open_container
from host.container.writer import write_atomic
from host.errors import KeyFileError, SignatureError

PRIVATE_KEY_NAME = "publisher.key"
PUBLIC_KEY_NAME = "publisher.pub"
_PEM = b"-----BEGIN"


def default_key_dir() -> Path:
    """`$XDG_CONFIG_HOME/dcagent/keys`, or `~/.config/dcagent/keys` when XDG_CONFIG_HOME is unset."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dcagent" / "keys"


def key_id(public_key: Ed25519PublicKey) -> bytes:
    """The 16-byte key id: SHA-256 of the raw 32-byte public key, first 16 bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:layout.KEY_ID_LENGTH]


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """The Ed25519 key with this 32-byte seed (deterministic; for test keys). Raises ValueError."""
    return Ed25519PrivateKey.from_private_bytes(seed)


@dataclass(frozen=True)
class KeyPair:
    """Where generate_keypair wrote the keys, and the key id."""

    private_path: Path
    public_path: Path
    key_id: bytes


def generate_keypair(directory: str | os.PathLike[str] | None = None, *, force: bool = False) -> KeyPair:
    """Create a new publisher key pair in `directory` (default: default_key_dir()).

    Writes `publisher.key` (PKCS#8 PEM, mode 0600) and `publisher.pub` (PEM) atomically.
    Raises KeyFileError when either file exists and `force` is false, or the folder cannot
    be created or written.
    """
    folder = Path(directory) if directory is not None else default_key_dir()
    private_path, public_path = folder / PRIVATE_KEY_NAME, folder / PUBLIC_KEY_NAME
    existing = [str(p) for p in (private_path, public_path) if p.exists()]
    if existing and not force:
        raise KeyFileError(f"refusing to overwrite {', '.join(existing)}", hint="pass --force to replace the key pair")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(private_path, private_pem, mode=0o600)
        write_atomic(public_path, public_pem, mode=0o644)
    except OSError as exc:
        raise KeyFileError(f"cannot write keys to {folder}: {exc.strerror or exc}") from exc
    return KeyPair(private_path, public_path, key_id(key.public_key()))


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyFileError(f"{what} {path} does not exist", hint="create a key pair with `dcagent keygen`") from exc
    except OSError as exc:
        raise KeyFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def load_private_key(path: str | os.PathLike[str] | None = None) -> Ed25519PrivateKey:
    """The Ed25519 private key in `path` (PEM or raw 32-byte seed; default: the default key dir).

    Raises KeyFileError when the file is missing, unreadable, or not an Ed25519 private key.
    """
    file = Path(path) if path is not None else default_key_dir() / PRIVATE_KEY_NAME
    data = _read(file, "private key")
    if data.startswith(_PEM):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{file} is not a readable unencrypted PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{file} holds a {type(key).__name__}, expected an Ed25519 private key")
        return key
    if len(data) == 32:
        return Ed25519PrivateKey.from_private_bytes(data)
    raise KeyFileError(f"{file} is neither PEM nor a raw 32-byte Ed25519 key ({len(data)} bytes)")


def load_public_key(path: str | os.PathLike[str] | None = None) -> Ed25519PublicKey:
    """The Ed25519 public key in `path` (PEM or raw 32 bytes; default: the default key dir).

    Raises KeyFileError when the file is missing, unreadable, or not an Ed25519 public key.
    """
    file = Path(path) if path is not None else default_key_dir() / PUBLIC_KEY_NAME
    data = _read(file, "public key")
    if data.startswith(_PEM):
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{file} is not a readable PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(f"{file} holds a {type(key).__name__}, expected an Ed25519 public key")
        return key
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    raise KeyFileError(f"{file} is neither PEM nor a raw 32-byte Ed25519 key ({len(data)} bytes)")


def _signed_message(data: bytes, trailer_offset: int) -> bytes:
    return layout.SIGNATURE_CONTEXT + data[trailer_offset:trailer_offset + layout.SIGNED_BLOCK_LENGTH]


def sign_container(data: bytes, private_key: Ed25519PrivateKey) -> bytes:
    """The container `data` signed with `private_key` (replacing any signature).

    A device tag, which covers the signature, is removed (tag_algorithm 0, zero tag): tag the
    signed container again for each device. Raises BitstreamError when `data` is not a valid
    container.
    """
    container = open_container(data)
    base = container.header.trailer_offset
    out = bytearray(container.data)
    out[base + 32:base + 52] = (int(SignatureAlgorithm.ED25519).to_bytes(2, "little") + bytes(2)
                                + key_id(private_key.public_key()))
    out[base + layout.SIGNATURE_OFFSET:base + layout.SIGNATURE_OFFSET + layout.SIGNATURE_LENGTH] = \
        private_key.sign(_signed_message(bytes(out), base))
    out[base + 116:base + layout.TRAILER_LENGTH] = int(TagAlgorithm.NONE).to_bytes(2, "little") + bytes(34)
    return bytes(out)


def verify_signature(container: Container | bytes, public_key: Ed25519PublicKey) -> None:
    """Check that `container` carries a valid Ed25519 signature by `public_key`.

    Raises SignatureError(status="DC_ERR_SIGNATURE") when it is unsigned, signed by another
    key (key_id differs), or the signature does not verify; BitstreamError when `container`
    (as bytes) is not a valid container.
    """
    if not isinstance(container, Container):
        container = open_container(container)
    base = container.header.trailer_offset
    if not container.signed:
        raise SignatureError("container is unsigned", status="DC_ERR_SIGNATURE", offset=base + 32,
                             hint="sign it when compressing, or accept unsigned files explicitly")
    expected = key_id(public_key)
    if container.trailer.key_id != expected:
        raise SignatureError(f"container is signed by key {container.trailer.key_id.hex()}, not by "
                             f"the given key {expected.hex()}", status="DC_ERR_SIGNATURE", offset=base + 36)
    try:
        public_key.verify(container.trailer.signature, _signed_message(container.data, base))
    except InvalidSignature as exc:
        raise SignatureError("Ed25519 signature does not verify", status="DC_ERR_SIGNATURE",
                             offset=base + layout.SIGNATURE_OFFSET) from exc
