"""Device side of a fleet update: manifest -> block requests -> reassembly -> verified bytes.

`Fetcher.fetch()` reads the fleet's retained manifest, refuses it early when the policy
says so (policy.check_manifest), asks the stream server for windows of missing blocks
(bitmap requests, docs/protocol.md, MQTT section 5.2), stores blocks into a resumable part
file (transfer.Transfer; a restarted process continues from the last checkpoint), survives
broker restarts (the client reconnects and the fetcher asks again for what is missing),
and verifies the result completely (policy.verify_download). Every failure is raised as a
typed error AND reported as a status message (state rejected or failed, with a reason).
"""
from __future__ import annotations

import queue
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient
from dcagent.fleet.errors import MessageError, StreamError, UpdateRejectedError
from dcagent.fleet.messages import BlockResponse, Manifest, RejectReason, State, StreamRejection
from dcagent.fleet.policy import DevicePolicy, check_manifest, verify_download
from dcagent.fleet.status import StatusReporter
from dcagent.fleet.transfer import Transfer
from dcagent.errors import TransportError
from host.container.reader import Container

Progress = Callable[[int, int], None]
"""Called with (bytes received, total bytes) as blocks arrive."""


@dataclass(frozen=True)
class FetchResult:
    """A verified download: the file's bytes, its manifest and validated container, and what it cost."""

    data: bytes
    manifest: Manifest
    container: Container
    blocks_fetched: int      # blocks received in this run
    blocks_resumed: int      # blocks found on disk from an earlier, interrupted run
    requests: int
    duplicates: int


class Fetcher:
    """Fetch the current model of `fleet` for device `device_id` through a connected `client`.

    `state_dir` holds the resumable download (None: in memory, no resume). `window` is the
    number of blocks per request; a window is asked for again when no block of it arrived
    for `request_timeout` s; the fetch fails (state failed, reason timeout) after
    `stall_timeout` s without any new block, or `manifest_timeout` s without a manifest.
    """

    def __init__(self, client: BrokerClient, device_id: str, fleet: str, policy: DevicePolicy, *,
                 state_dir: Path | None = None, window: int = 32, request_timeout: float = 2.0,
                 stall_timeout: float = 60.0, manifest_timeout: float = 30.0, progress: Progress | None = None,
                 status: StatusReporter | None = None, data_qos: int = 1) -> None:
        self.client = client
        self.device_id = topics.check_name(device_id, "device id")
        self.fleet = topics.check_name(fleet, "fleet")
        self.policy = policy
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.window = window
        self.request_timeout = request_timeout
        self.stall_timeout = stall_timeout
        self.manifest_timeout = manifest_timeout
        self.progress = progress
        self.status = status or StatusReporter(client, device_id)
        self.data_qos = data_qos
        self._events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._token_prefix = secrets.token_hex(3)
        self._sequence = 0

    # --- helpers -------------------------------------------------------------------------
    def _fail(self, state: State, reason: RejectReason, message: str, manifest: Manifest | None,
              received: int = 0, *, error: type[Exception] | None = None) -> Exception:
        self.status.report(state, manifest=manifest, reason=reason, detail=message, received=received)
        if error is None:
            return UpdateRejectedError(message, reason=reason)
        return error(message)

    def _reject(self, exc: UpdateRejectedError, manifest: Manifest | None, received: int = 0) -> UpdateRejectedError:
        self.status.report(State.REJECTED, manifest=manifest, reason=exc.reason, detail=str(exc), received=received)
        return exc

    def _folder(self) -> Path | None:
        return self.state_dir / self.fleet if self.state_dir is not None else None

    def _token(self) -> str:
        self._sequence += 1
        return f"{self._token_prefix}-{self._sequence}"

    # --- steps ---------------------------------------------------------------------------
    def _wait_manifest(self) -> Manifest:
        deadline = time.monotonic() + self.manifest_timeout
        while True:
            left = deadline - time.monotonic()
            try:
                kind, payload = self._events.get(timeout=max(0.0, left))
            except queue.Empty:
                folder = self._folder()
                saved = Transfer.saved_manifest(folder) if folder is not None else None
                if saved is not None:
                    return saved  # broker lost its retained manifest: finish what was started
                raise self._fail(State.FAILED, RejectReason.TIMEOUT,
                                 f"no manifest on {topics.manifest(self.fleet)} within {self.manifest_timeout} s",
                                 None, error=TransportError) from None
            if kind == "manifest" and payload:
                return self._decode_manifest(payload)

    def _decode_manifest(self, payload: bytes) -> Manifest:
        try:
            manifest = Manifest.from_cbor(payload)
        except MessageError as exc:
            raise self._reject(UpdateRejectedError(f"malformed: manifest: {exc}", reason=RejectReason.MALFORMED),
                               None) from exc
        if manifest.fleet != self.fleet:
            raise self._reject(UpdateRejectedError(f"manifest_mismatch: manifest names fleet {manifest.fleet!r}, "
                                                   f"published for {self.fleet!r}",
                                                   reason=RejectReason.MANIFEST_MISMATCH), manifest)
        return manifest

    def fetch(self) -> FetchResult:
        """Run the update to verified bytes. Raises UpdateRejectedError (policy or verification:
        `reason` says which), StreamError (the stream server refused), TransportError (timeout,
        broker unreachable), BrokerError/NotAuthorizedError (subscriptions refused)."""
        handler = self._events.put
        self.client.subscribe(topics.manifest(self.fleet), lambda t, p, r: handler(("manifest", p)), qos=1)
        try:
            manifest = self._wait_manifest()
            while True:
                try:
                    check_manifest(manifest, self.policy)
                except UpdateRejectedError as exc:
                    raise self._reject(exc, manifest) from exc
                result = self._download(manifest)
                if isinstance(result, Manifest):
                    manifest = result      # a new model was announced mid-transfer: start over with it
                    continue
                return result
        finally:
            self.client.unsubscribe(topics.manifest(self.fleet))

    def _download(self, manifest: Manifest) -> FetchResult | Manifest:
        transfer = Transfer(manifest, self._folder(), window=self.window)
        resumed = transfer.received_count
        fetched = requests = 0
        data_topic = topics.stream_data(self.device_id, manifest.stream_id)
        rejected_topic = topics.stream_rejected(self.device_id, manifest.stream_id)
        get_topic = topics.stream_get(self.device_id, manifest.stream_id)
        self.client.subscribe(data_topic, lambda t, p, r: self._events.put(("data", p)), qos=self.data_qos)
        self.client.subscribe(rejected_topic, lambda t, p, r: self._events.put(("rejected", p)), qos=1)
        self.status.report(State.DOWNLOADING, manifest=manifest, received=transfer.bytes_received)
        if self.progress:
            self.progress(transfer.bytes_received, manifest.size)
        last_new = time.monotonic()
        try:
            while not transfer.complete:
                if time.monotonic() - last_new > self.stall_timeout:
                    transfer.checkpoint()
                    raise self._fail(State.FAILED, RejectReason.TIMEOUT,
                                     f"no block of stream {manifest.stream_id} for {self.stall_timeout} s "
                                     f"({transfer.received_count}/{transfer.count} blocks)", manifest,
                                     transfer.bytes_received, error=TransportError)
                if not self.client.wait_connected(min(self.request_timeout, 1.0)):
                    continue
                request = transfer.next_request(self._token())
                assert request is not None
                wanted = set(request.blocks())
                self.client.publish(get_topic, request.to_cbor(), qos=1, wait=False)
                requests += 1
                deadline = time.monotonic() + self.request_timeout
                while wanted:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        kind, payload = self._events.get(timeout=left)
                    except queue.Empty:
                        break
                    if kind == "manifest":
                        if payload:
                            try:
                                newer = Manifest.from_cbor(payload)
                            except MessageError:
                                continue
                            if newer != manifest and newer.fleet == self.fleet:
                                transfer.checkpoint()
                                return newer
                        continue
                    if kind == "rejected":
                        try:
                            rejection = StreamRejection.from_cbor(payload)
                        except MessageError:
                            continue
                        if rejection.client_token.startswith(self._token_prefix):
                            transfer.checkpoint()
                            raise self._fail(State.FAILED, RejectReason.STREAM_ERROR,
                                             f"stream {manifest.stream_id}: {rejection.code.value}: {rejection.message}",
                                             manifest, transfer.bytes_received, error=StreamError)
                        continue
                    try:
                        block = BlockResponse.from_cbor(payload)
                        new = transfer.accept(block)
                    except MessageError:
                        continue  # a corrupt or foreign block: ignored, asked for again
                    if new:
                        fetched += 1
                        last_new = time.monotonic()
                        deadline = last_new + self.request_timeout
                        wanted.discard(block.index)
                        if self.progress:
                            self.progress(transfer.bytes_received, manifest.size)
                        self.status.report(State.DOWNLOADING, manifest=manifest, received=transfer.bytes_received)
                if transfer.blocks_written_since_checkpoint:
                    transfer.checkpoint()
            self.status.report(State.VERIFYING, manifest=manifest, received=manifest.size)
            data = transfer.data()
            try:
                container = verify_download(data, manifest, self.policy)
            except UpdateRejectedError as exc:
                if exc.reason in (RejectReason.HASH_MISMATCH, RejectReason.MALFORMED):
                    transfer.discard()   # bad bytes on disk or on the wire: start afresh next time
                raise self._reject(exc, manifest, manifest.size) from exc
            self.status.report(State.VERIFIED, manifest=manifest, received=manifest.size)
            transfer.discard()
            return FetchResult(data=data, manifest=manifest, container=container, blocks_fetched=fetched,
                               blocks_resumed=resumed, requests=requests, duplicates=transfer.duplicates)
        finally:
            transfer.close()
            self.client.unsubscribe(data_topic)
            self.client.unsubscribe(rejected_topic)
