"""The gateway agent: fleet manifests in, verified models flashed and confirmed on one board.

    agent = Agent(config, board, device_key, log=print)
    agent.run(stop_event)

Steps of one update, each reported on `dcagent/v1/devices/{device_id}/status` (docs/protocol.md,
MQTT section 9): the Fetcher downloads and verifies the file (`downloading`, `verifying`,
`verified`, or `rejected`/`failed` with a reason); a delta is rebuilt into the full model from
the base this agent installed last (`verifying`, `verified`); the full model is saved as
pending; dcagent.link flashes it (`flashing`), the board boots it on trial (`testing`), the
health check passes and the agent confirms (`confirmed`) or the board returns to its previous
model (`rolled_back`). Interruptions (agent killed, broker down, board power cut, link cut)
leave a state on disk from which the next run continues (dcagent.agent.state).
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dcagent.agent import state as store
from dcagent.agent.board_link import BoardLink
from dcagent.agent.install import InstallResult, Outcome, Step, install
from dcagent.agent.state import AgentState, Installed, Pending, Phase
from dcagent.errors import AgentError, DeviceError, TransportError
from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient, TlsOptions
from dcagent.fleet.errors import BrokerError, MessageError, StreamError, UpdateRejectedError
from dcagent.fleet.fetcher import Fetcher
from dcagent.fleet.messages import Manifest, RejectReason, State
from dcagent.fleet.policy import DevicePolicy
from dcagent.fleet.status import StatusReporter
from dcagent.link import read_state
from host.container.reader import Container, open_container
from host.container.signing import verify_signature
from host.container.writer import write_atomic
from host.delta import apply_delta
from host.errors import BitstreamError, SignatureError

#: Target architectures every board accepts (models packed without a target).
ANY_ARCH = ("", "generic")
INSTALLED_NAME = "installed.dcb"
PENDING_NAME = "pending.dcb"


@dataclass(frozen=True)
class AgentConfig:
    """How the agent runs (see `dcagent agent --help`)."""

    broker: str
    device_id: str
    fleet: str
    state_dir: Path
    trusted: tuple[Ed25519PublicKey, ...]
    tls: TlsOptions | None = None
    arch: str | None = None            # None: the board's own (console `info` cpu=)
    stall_timeout: float = 60.0
    window: int = 32
    retry_min: float = 1.0
    retry_max: float = 30.0
    max_attempts: int = 10
    session_expiry: int = 600


def version_code(text: str) -> int | None:
    """The u32 model version of MCUmgr's "major.minor.revision" text, None when it is not one."""
    try:
        major, minor, revision = (int(p) for p in text.split(".")[:3])
    except ValueError:
        return None
    return major << 24 | minor << 16 | revision


class Agent:
    """One gateway agent for one board (see module docstring)."""

    def __init__(self, config: AgentConfig, board: BoardLink, device_key: bytes, *,
                 log: Callable[[str], None] = lambda message: None) -> None:
        self.config = config
        self.board = board
        self.device_key = device_key
        self.log = log
        self.folder = Path(config.state_dir)
        self.models = self.folder / "models"
        self.state: AgentState = store.load(self.folder, config.device_id, config.fleet)
        self.client: BrokerClient | None = None
        self.reporter: StatusReporter | None = None
        self._latest: bytes | None = None
        self._manifest_event = threading.Event()
        self._lock = threading.Lock()
        self._failures = 0

    # --- persistence -----------------------------------------------------------------------
    def _save(self, state: AgentState) -> None:
        store.save(self.folder, state)
        self.state = state

    def _handled(self, key: str, outcome: str) -> None:
        self._save(self.state.with_handled(key.encode(), outcome))

    def _is_handled(self, key: str) -> bool:
        return key.encode() in self.state.handled

    # --- reporting -------------------------------------------------------------------------
    def _report(self, state: State, manifest: Manifest | None, *, reason: RejectReason | None = None,
                detail: str = "") -> None:
        self.log(f"{state.value}{f' ({reason.value})' if reason else ''}: {detail}" if detail or reason
                 else state.value)
        if self.reporter is not None:
            self.reporter.report(state, manifest=manifest, reason=reason, detail=detail,
                                 received=manifest.size if manifest else 0)

    # --- broker ----------------------------------------------------------------------------
    def _connect(self, stop: threading.Event) -> BrokerClient:
        delay = self.config.retry_min
        while True:
            client = BrokerClient(self.config.broker, self.config.device_id, tls=self.config.tls, clean_start=False,
                                  session_expiry=self.config.session_expiry)
            try:
                return client.connect()
            except BrokerError as exc:
                if exc.reason_code is not None and exc.reason_code >= 0x80:
                    raise   # refused (credentials): waiting does not help
                self.log(f"broker unreachable ({exc}); retrying in {delay:.0f} s")
            if stop.wait(delay):
                raise TransportError("stopped while connecting to the broker")
            delay = min(self.config.retry_max, delay * 2)

    def _watch(self) -> None:
        assert self.client is not None

        def keep(topic: str, payload: bytes, retained: bool) -> None:
            with self._lock:
                self._latest = payload
            self._manifest_event.set()
        self.client.subscribe(topics.manifest(self.config.fleet), keep, qos=1)

    def _unwatch(self) -> None:
        assert self.client is not None
        self.client.unsubscribe(topics.manifest(self.config.fleet))

    # --- the loop --------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set. Raises NotAuthorizedError (broker credentials or ACL),
        ConfigError (state directory of another device); everything else is reported and retried."""
        self.client = self._connect(stop)
        self.reporter = StatusReporter(self.client, self.config.device_id)
        try:
            self._sync_floor()
            self._watch()
            while not stop.is_set():
                if self.state.pending is not None:
                    if not self._install_pending():
                        self._backoff(stop)
                    continue
                manifest = self._next_manifest(stop)
                if manifest is not None and not self._update(manifest):
                    self._backoff(stop)
        finally:
            self.client.close()

    def _backoff(self, stop: threading.Event) -> None:
        self._failures += 1
        delay = min(self.config.retry_max, self.config.retry_min * 2 ** (self._failures - 1))
        self.log(f"retrying in {delay:.0f} s")
        stop.wait(delay)

    def _sync_floor(self) -> None:
        """Raise the anti-rollback floor to the version the board runs confirmed."""
        try:
            if not self.board.wait_ready(30.0):
                return
            running = [st for st in read_state(self.board.port) if st.active and st.confirmed]
        except (TransportError, DeviceError) as exc:
            self.log(f"cannot read the board's slots at start ({exc})")
            return
        if running:
            code = version_code(running[0].version)
            if code is not None and code > self.state.floor:
                self._save(replace(self.state, floor=code))

    def _next_manifest(self, stop: threading.Event) -> Manifest | None:
        if not self._manifest_event.wait(0.5):
            return None
        with self._lock:
            payload, self._latest = self._latest, None
            self._manifest_event.clear()
        if not payload:
            return None   # withdrawn
        try:
            manifest = Manifest.from_cbor(payload)
        except MessageError as exc:
            key = "payload:" + hashlib.sha256(payload).hexdigest()[:16]
            if not self._is_handled(key):
                self._report(State.REJECTED, None, reason=RejectReason.MALFORMED, detail=f"malformed: manifest: {exc}")
                self._handled(key, State.REJECTED.value)
            return None
        if self._is_handled(manifest.stream_id):
            outcome = self.state.handled[manifest.stream_id.encode()]
            self.log(f"manifest: {manifest.model_name} v{manifest.model_version} (stream {manifest.stream_id}) "
                     f"was handled before ({outcome}); not trying it again")
            return None
        installed = self.state.installed
        if installed is not None and manifest.content_sha256 == installed.content_sha256:
            self._handled(manifest.stream_id, State.CONFIRMED.value)
            return None
        return manifest

    def _policy(self, manifest: Manifest) -> DevicePolicy:
        arch = self.config.arch or self.board.arch
        installed = self.state.installed
        return DevicePolicy(trusted=self.config.trusted,
                            arch=None if manifest.target.arch in ANY_ARCH else arch,
                            min_version=self.state.floor,
                            base_sha256=installed.content_sha256 if installed is not None
                            and (self.models / INSTALLED_NAME).exists() else None)

    def _update(self, manifest: Manifest) -> bool:
        """Fetch, verify (rebuild a delta), then install. False when it should be retried later."""
        assert self.client is not None and self.reporter is not None
        self.log(f"manifest: {manifest.model_name} v{manifest.model_version} ({manifest.size} bytes, "
                 f"stream {manifest.stream_id}{', delta' if manifest.base_sha256 else ''})")
        self._unwatch()
        try:
            policy = self._policy(manifest)
            fetcher = Fetcher(self.client, self.config.device_id, self.config.fleet, policy,
                              state_dir=self.folder / "download", window=self.config.window,
                              stall_timeout=self.config.stall_timeout, manifest_timeout=10.0, status=self.reporter)
            try:
                result = fetcher.fetch()
            except UpdateRejectedError as exc:
                last = self.reporter.last
                key = last.stream_id if last is not None and last.stream_id else manifest.stream_id
                self.log(f"rejected: {exc}")
                self._handled(key, State.REJECTED.value)
                return True
            except (StreamError, TransportError) as exc:   # reported as failed by the fetcher
                self.log(f"download failed: {exc}")
                return False
            manifest = result.manifest
            if result.container.header.is_delta:
                full = self._rebuild(manifest, result.container, policy)
                if full is None:
                    self._handled(manifest.stream_id, State.REJECTED.value)
                    return True
            else:
                full = result.data
            self.models.mkdir(parents=True, exist_ok=True)
            write_atomic(self.models / PENDING_NAME, full)
            self._save(replace(self.state, pending=Pending(manifest, Phase.VERIFIED, hashlib.sha256(full).digest())))
        finally:
            self._watch()
        return self._install_pending()

    def _rebuild(self, manifest: Manifest, delta: Container, policy: DevicePolicy) -> bytes | None:
        """The full model of a verified delta, verified like a download; None when rejected (reported)."""
        self._report(State.VERIFYING, manifest, detail="rebuilding the full model from the delta and the base "
                                                       "this agent installed last")
        base_path = self.models / INSTALLED_NAME
        try:
            base = base_path.read_bytes()
        except OSError:
            self._report(State.REJECTED, manifest, reason=RejectReason.BASE_MISMATCH,
                         detail="base_mismatch: the agent holds no installed model to apply the delta to")
            return None
        try:
            full = apply_delta(base, delta)
            container = open_container(full)
            key = policy.key_for(container.trailer.key_id)
            if key is None:
                raise SignatureError("the rebuilt model is not signed by a trusted key", status="DC_ERR_SIGNATURE")
            verify_signature(container, key)
        except SignatureError as exc:
            self._report(State.REJECTED, manifest, reason=RejectReason.BAD_SIGNATURE, detail=f"bad_signature: {exc}")
            return None
        except BitstreamError as exc:
            reason = {"DC_ERR_BASE": RejectReason.BASE_MISMATCH,
                      "DC_ERR_HASH": RejectReason.HASH_MISMATCH}.get(exc.status, RejectReason.MALFORMED)
            self._report(State.REJECTED, manifest, reason=reason, detail=f"{reason.value}: delta: {exc}")
            return None
        meta = container.metadata
        if (meta.model.name, meta.model.version) != (manifest.model_name, manifest.model_version):
            self._report(State.REJECTED, manifest, reason=RejectReason.MANIFEST_MISMATCH,
                         detail=f"manifest_mismatch: the delta rebuilds {meta.model.name} v{meta.model.version}")
            return None
        self._report(State.VERIFIED, manifest, detail=f"rebuilt and verified the full model ({len(full)} bytes) "
                                                      f"from a {manifest.size}-byte delta")
        return full

    # --- installation ----------------------------------------------------------------------
    def _drop_pending(self, key: str | None, outcome: str) -> None:
        state = replace(self.state, pending=None)
        if key is not None:
            state = state.with_handled(key.encode(), outcome)
        self._save(state)
        (self.models / PENDING_NAME).unlink(missing_ok=True)

    def _install_pending(self) -> bool:
        """Install the pending model (one attempt). False when it should be retried later."""
        pending = self.state.pending
        assert pending is not None
        manifest = pending.manifest
        try:
            full = (self.models / PENDING_NAME).read_bytes()
            if hashlib.sha256(full).digest() != pending.full_sha256:
                raise BitstreamError("pending.dcb does not hash to the recorded SHA-256", status="DC_ERR_HASH")
            open_container(full)
        except (OSError, BitstreamError) as exc:
            self._report(State.FAILED, manifest, reason=RejectReason.HASH_MISMATCH,
                         detail=f"the verified model on disk is damaged ({exc}); it will be downloaded again")
            self._drop_pending(None, "")
            return False
        if manifest.model_version < self.state.floor:
            self._report(State.REJECTED, manifest, reason=RejectReason.DOWNGRADE,
                         detail=f"downgrade: version {manifest.model_version} is below the floor {self.state.floor}")
            self._drop_pending(manifest.stream_id, State.REJECTED.value)
            return True

        def step(which: Step) -> None:
            phase = Phase.FLASHING if which is Step.FLASHING else Phase.TESTING
            self._save(replace(self.state, pending=replace(self.state.pending, phase=phase)))
            if which is Step.FLASHING:
                self._report(State.FLASHING, manifest, detail=f"uploading {len(full)} bytes to slot 1 over SMP")
            else:
                self._report(State.TESTING, manifest, detail="the board booted the new model on trial")

        result = install(self.board, full, self.device_key, on_step=step, log=self.log)
        return self._finish(manifest, full, result)

    def _finish(self, manifest: Manifest, full: bytes, result: InstallResult) -> bool:
        if result.outcome is Outcome.CONFIRMED:
            write_atomic(self.models / INSTALLED_NAME, full)
            container = open_container(full)
            installed = Installed(container.content_sha256, manifest.model_name, manifest.model_version,
                                  result.image_sha256)
            state = replace(self.state, installed=installed, floor=max(self.state.floor, manifest.model_version),
                            pending=None).with_handled(manifest.stream_id.encode(), State.CONFIRMED.value)
            self._save(state)
            (self.models / PENDING_NAME).unlink(missing_ok=True)
            self._failures = 0
            self._report(State.CONFIRMED, manifest, detail=result.detail)
            return True
        if result.outcome is Outcome.ROLLED_BACK:
            self._report(State.ROLLED_BACK, manifest, reason=RejectReason.BOARD_ERROR, detail=result.detail)
            self._drop_pending(manifest.stream_id, State.ROLLED_BACK.value)
            return True
        if result.outcome is Outcome.REFUSED:
            self._report(State.FAILED, manifest, reason=RejectReason.BOARD_ERROR, detail=result.detail)
            self._drop_pending(manifest.stream_id, State.FAILED.value)
            return True
        pending = self.state.pending
        assert pending is not None
        attempts = pending.attempts + 1
        if attempts >= self.config.max_attempts:
            self._report(State.FAILED, manifest, reason=RejectReason.BOARD_ERROR,
                         detail=f"giving up after {attempts} attempts: {result.detail}")
            self._drop_pending(manifest.stream_id, State.FAILED.value)
            return True
        self._save(replace(self.state, pending=replace(pending, attempts=attempts)))
        self._report(State.FAILED, manifest, reason=RejectReason.BOARD_ERROR,
                     detail=f"attempt {attempts} interrupted, will retry: {result.detail}")
        return False


__all__ = ["Agent", "AgentConfig", "AgentError", "version_code"]
