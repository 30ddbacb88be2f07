"""What the gateway agent remembers across restarts: one CBOR file, replaced atomically.

`state_dir/agent.cbor` holds the model this agent installed and confirmed on its board, the
anti-rollback floor, the update in progress (its manifest and phase) and the outcome of the
last manifests it handled. The model files live beside it: `models/installed.dcb` (the full
signed container last confirmed: the base of delta updates) and `models/pending.dcb` (the
verified full container being installed). Every write goes through a temporary file and a
rename (host.container.writer.write_atomic), and the model file is written before the state
that names it, so an agent killed at any point finds a consistent pair.
"""
from __future__ import annotations

import enum
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import cbor2

from dcagent.errors import ConfigError
from dcagent.fleet.errors import MessageError
from dcagent.fleet.messages import Manifest
from host.container.writer import write_atomic

STATE_NAME = "agent.cbor"
FORMAT = 1
MAX_HANDLED = 64


class Phase(str, enum.Enum):
    """Where an update stands once its bytes are verified."""

    VERIFIED = "verified"     # pending.dcb holds the verified full model
    FLASHING = "flashing"     # being uploaded / tested on the board
    TESTING = "testing"       # the board booted it on trial; health check and confirm next


@dataclass(frozen=True)
class Installed:
    """The model this agent confirmed on the board."""

    content_sha256: bytes
    name: str
    version: int
    image_sha256: bytes       # SHA-256 of the tagged image as the board stores it


@dataclass(frozen=True)
class Pending:
    """The update in progress after verification."""

    manifest: Manifest
    phase: Phase
    full_sha256: bytes        # SHA-256 of models/pending.dcb
    attempts: int = 0


@dataclass(frozen=True)
class AgentState:
    """The whole persistent state (immutable; `save` writes a new one)."""

    device_id: str
    fleet: str
    installed: Installed | None = None
    floor: int = 0
    pending: Pending | None = None
    handled: "OrderedDict[bytes, str]" = field(default_factory=OrderedDict)

    def with_handled(self, manifest_sha256: bytes, outcome: str) -> "AgentState":
        handled = OrderedDict(self.handled)
        handled.pop(manifest_sha256, None)
        handled[manifest_sha256] = outcome
        while len(handled) > MAX_HANDLED:
            handled.popitem(last=False)
        return replace(self, handled=handled)


def manifest_key(manifest: Manifest) -> bytes:
    """How handled manifests are remembered: SHA-256 of the manifest's canonical CBOR."""
    return hashlib.sha256(manifest.to_cbor()).digest()


def _plain(state: AgentState) -> dict:
    inst = state.installed
    pend = state.pending
    return {
        "format": FORMAT, "device_id": state.device_id, "fleet": state.fleet, "floor": state.floor,
        "installed": None if inst is None else {"content_sha256": inst.content_sha256, "name": inst.name,
                                                  "version": inst.version, "image_sha256": inst.image_sha256},
        "pending": None if pend is None else {"manifest": pend.manifest.to_cbor(), "phase": pend.phase.value,
                                                "full_sha256": pend.full_sha256, "attempts": pend.attempts},
        "handled": [[k, v] for k, v in state.handled.items()],
    }


def save(folder: Path, state: AgentState) -> None:
    """Replace `folder/agent.cbor` atomically. Raises OSError."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / STATE_NAME, cbor2.dumps(_plain(state), canonical=True))


def load(folder: Path, device_id: str, fleet: str) -> AgentState:
    """The saved state, or a fresh one when there is none.

    Raises ConfigError when the file belongs to another device or fleet or cannot be read
    (delete it to start afresh).
    """
    path = folder / STATE_NAME
    if not path.exists():
        return AgentState(device_id, fleet)
    try:
        raw = cbor2.loads(path.read_bytes())
        if raw["format"] != FORMAT:
            raise ValueError(f"format {raw['format']}")
        inst, pend = raw["installed"], raw["pending"]
        state = AgentState(
            device_id=raw["device_id"], fleet=raw["fleet"], floor=int(raw["floor"]),
            installed=None if inst is None else Installed(bytes(inst["content_sha256"]), str(inst["name"]),
                                                          int(inst["version"]), bytes(inst["image_sha256"])),
            pending=None if pend is None else Pending(Manifest.from_cbor(pend["manifest"]), Phase(pend["phase"]),
                                                      bytes(pend["full_sha256"]), int(pend["attempts"])),
            handled=OrderedDict((bytes(k), str(v)) for k, v in raw["handled"]))
    except (OSError, KeyError, TypeError, ValueError, MessageError, cbor2.CBORDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read: {exc}",
                          hint="it was not written by this version of the agent; move it away to start afresh") from exc
    if (state.device_id, state.fleet) != (device_id, fleet):
        raise ConfigError(f"{path} belongs to device {state.device_id!r} in fleet {state.fleet!r}",
                          hint="use one state directory per device")
    return state
