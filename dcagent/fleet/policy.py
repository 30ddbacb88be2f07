"""What a device accepts: trusted keys, its target, anti-rollback floor, installed base model.

Two checks (docs/protocol.md, MQTT section 6): `check_manifest` before downloading (cheap: a
manifest that is unsigned, signed by an untrusted key, whose Ed25519 signature over the
announced content hash does not verify, a downgrade, another target or a delta against
another base is refused without fetching a block), and `verify_download` after it (the
authority: file SHA-256, container validation, signature of the container itself, and the
container's own metadata against the manifest and the policy). Both raise
UpdateRejectedError with a RejectReason.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dcagent.fleet.errors import UpdateRejectedError
from dcagent.fleet.messages import Manifest, RejectReason
from host.container import layout
from host.container.layout import SignatureAlgorithm
from host.container.reader import Container, open_container
from host.container.signing import key_id, verify_signature
from host.errors import BitstreamError, SignatureError


@dataclass(frozen=True)
class DevicePolicy:
    """The device's side of an update decision.

    `trusted` are the publisher keys it accepts (at least one). `arch` None accepts any
    architecture; `flash_bytes`/`ram_bytes` None skip the size checks. `min_version` is the
    anti-rollback floor (a model version below it is a downgrade). `base_sha256` is the
    content_sha256 of the installed model, which a delta must name. `max_size` bounds the file.
    """

    trusted: tuple[Ed25519PublicKey, ...]
    arch: str | None = None
    flash_bytes: int | None = None
    ram_bytes: int | None = None
    min_version: int = 0
    base_sha256: bytes | None = None
    max_size: int = layout.MAX_FILE_LENGTH
    _by_id: dict[bytes, Ed25519PublicKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {key_id(k): k for k in self.trusted})

    def key_for(self, kid: bytes) -> Ed25519PublicKey | None:
        return self._by_id.get(bytes(kid))


def _reject(reason: RejectReason, message: str) -> UpdateRejectedError:
    return UpdateRejectedError(f"{reason.value}: {message}", reason=reason)


def signed_message(content_sha256: bytes, kid: bytes) -> bytes:
    """The 68 bytes an Ed25519 container signature covers (docs/bitstream.md section 5)."""
    return (layout.SIGNATURE_CONTEXT + content_sha256 + int(SignatureAlgorithm.ED25519).to_bytes(2, "little")
            + bytes(2) + kid)


def _check_target(arch: str, min_flash: int, min_ram: int, policy: DevicePolicy) -> None:
    if policy.arch is not None and arch != policy.arch:
        raise _reject(RejectReason.WRONG_TARGET, f"model is for {arch!r}, this device is {policy.arch!r}")
    if policy.flash_bytes is not None and min_flash > policy.flash_bytes:
        raise _reject(RejectReason.WRONG_TARGET, f"model needs {min_flash} bytes of flash, device has {policy.flash_bytes}")
    if policy.ram_bytes is not None and min_ram > policy.ram_bytes:
        raise _reject(RejectReason.WRONG_TARGET, f"model needs {min_ram} bytes of RAM, device has {policy.ram_bytes}")


def check_manifest(manifest: Manifest, policy: DevicePolicy) -> Ed25519PublicKey:
    """Decide from the manifest alone whether to download. Returns the trusted key that signed it.

    Raises UpdateRejectedError: UNSIGNED, UNTRUSTED_KEY, BAD_SIGNATURE, TOO_LARGE,
    DOWNGRADE, WRONG_TARGET, BASE_MISMATCH.
    """
    if not manifest.signed:
        raise _reject(RejectReason.UNSIGNED, f"model {manifest.model_name} v{manifest.model_version} is not signed")
    key = policy.key_for(manifest.key_id)
    if key is None:
        raise _reject(RejectReason.UNTRUSTED_KEY, f"signed by key {manifest.key_id.hex()}, which this device does not trust")
    try:
        key.verify(manifest.signature, signed_message(manifest.content_sha256, manifest.key_id))
    except InvalidSignature:
        raise _reject(RejectReason.BAD_SIGNATURE, "the announced signature does not verify") from None
    if manifest.size > policy.max_size:
        raise _reject(RejectReason.TOO_LARGE, f"file is {manifest.size} bytes, the device accepts {policy.max_size}")
    if manifest.model_version < policy.min_version:
        raise _reject(RejectReason.DOWNGRADE, f"version {manifest.model_version} is below the device's "
                      f"anti-rollback floor {policy.min_version}")
    _check_target(manifest.target.arch, manifest.target.min_flash, manifest.target.min_ram, policy)
    if manifest.base_sha256 is not None and manifest.base_sha256 != policy.base_sha256:
        have = policy.base_sha256.hex() if policy.base_sha256 else "no model"
        raise _reject(RejectReason.BASE_MISMATCH, f"delta against {manifest.base_sha256.hex()}, the device has {have}")
    return key


def verify_download(data: bytes, manifest: Manifest, policy: DevicePolicy) -> Container:
    """Verify downloaded bytes completely; returns the validated container.

    Raises UpdateRejectedError: HASH_MISMATCH, MALFORMED, BAD_SIGNATURE (and the reasons of
    check_manifest), MANIFEST_MISMATCH when the container contradicts its manifest.
    """
    key = check_manifest(manifest, policy)
    if len(data) != manifest.size:
        raise _reject(RejectReason.HASH_MISMATCH, f"received {len(data)} bytes, the manifest says {manifest.size}")
    digest = hashlib.sha256(data).digest()
    if digest != manifest.sha256:
        raise _reject(RejectReason.HASH_MISMATCH, f"file hashes to {digest.hex()}, manifest says {manifest.sha256.hex()}")
    try:
        container = open_container(data)
    except BitstreamError as exc:
        reason = RejectReason.HASH_MISMATCH if exc.status == "DC_ERR_HASH" else RejectReason.MALFORMED
        raise _reject(reason, f"not a valid container ({exc.status}): {exc}") from exc
    try:
        verify_signature(container, key)
    except SignatureError as exc:
        reason = RejectReason.UNSIGNED if not container.signed else RejectReason.BAD_SIGNATURE
        raise _reject(reason, str(exc)) from exc
    meta = container.metadata
    claims = {
        "content_sha256": (container.content_sha256, manifest.content_sha256),
        "model name": (meta.model.name, manifest.model_name),
        "model version": (meta.model.version, manifest.model_version),
        "target": ((meta.target.arch, meta.target.min_flash, meta.target.min_ram),
                   (manifest.target.arch, manifest.target.min_flash, manifest.target.min_ram)),
        "base_sha256": (container.header.base_sha256 if container.header.is_delta else None, manifest.base_sha256),
    }
    for name, (actual, announced) in claims.items():
        if actual != announced:
            raise _reject(RejectReason.MANIFEST_MISMATCH, f"container {name} is {actual!r}, the manifest said {announced!r}")
    return container
