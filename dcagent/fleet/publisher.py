"""Publisher side of fleet updates: sign, announce (retained manifest), and serve block streams.

`publish()` signs an unsigned .dcb (host.container.signing; the default key or `key`),
builds the manifest, posts it retained (QoS 1) on `dcagent/v1/fleets/{fleet}/manifest`
and, with `serve=True`, keeps a `StreamServer` answering block requests until stopped.
`StreamServer` alone is what `dcagent stream-server` runs: it serves one or more files,
each under its stream id (the first 16 hex digits of the file's SHA-256), through a shared
subscription, so several servers form a pool (docs/protocol.md, MQTT section 4).
"""
from __future__ import annotations

import hashlib
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from dcagent.fleet import topics
from dcagent.fleet.check import check_digest
from dcagent.fleet.broker import BrokerClient, BrokerUrl, TlsOptions
from dcagent.fleet.errors import BrokerError, MessageError
from dcagent.fleet.messages import (DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, BlockRequest, BlockResponse,
                                    Manifest, StreamErrorCode, StreamRejection, TargetSpec)
from dcagent.errors import ConfigError
from host.container.reader import Container, open_container, read_container
from host.container.signing import load_private_key, sign_container
from host.container.writer import write_atomic


def stream_id_of(data: bytes) -> str:
    """The stream id of a file: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:16]


def manifest_for(container: Container, fleet: str, *, block_size: int = DEFAULT_BLOCK_SIZE) -> Manifest:
    """The manifest announcing `container` (its bytes as they will be served) to `fleet`.

    Raises ConfigError for a bad fleet name or block size, MessageError when a field is out
    of the manifest's bounds.
    """
    if not MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE:
        raise ConfigError(f"block size {block_size} outside [{MIN_BLOCK_SIZE}, {MAX_BLOCK_SIZE}]")
    data, meta = container.data, container.metadata
    return Manifest(
        fleet=topics.check_name(fleet, "fleet"), model_name=meta.model.name, model_version=meta.model.version,
        size=len(data), sha256=hashlib.sha256(data).digest(), content_sha256=container.content_sha256,
        key_id=container.trailer.key_id if container.signed else b"",
        signature=container.trailer.signature if container.signed else b"",
        base_sha256=container.header.base_sha256 if container.header.is_delta else None,
        target=TargetSpec(meta.target.arch, meta.target.min_flash, meta.target.min_ram),
        block_size=block_size, stream_id=stream_id_of(data),
        check_sha256=None if container.header.is_delta else check_digest(data))


@dataclass
class ServerStats:
    """What a stream server did (for logs and the benchmark)."""

    requests: int = 0
    blocks: int = 0
    bytes: int = 0
    rejected: int = 0
    bad_messages: int = 0
    merged: int = 0
    devices: set[str] = field(default_factory=set)


class StreamServer:
    """Answers block requests for the files it holds, through `client`.

    Requests arrive on the shared subscription `$share/{group}/dcagent/v1/devices/+/streams/
    {stream_id}/get`; blocks go to the requesting device's own data topic (the device id is
    taken from the topic, which the broker's ACL lets only that device write). A worker
    thread sends the blocks, at most `rate_limit` bytes/s when given. `data_qos` is the QoS
    of block messages (default 0: the device asks again for what is missing; the
    device's subscription QoS caps it).
    """

    def __init__(self, client: BrokerClient, *, group: str | None = topics.STREAM_SERVER_GROUP,
                 rate_limit: float | None = None, data_qos: int = 0) -> None:
        self.client = client
        self.group = group
        self.rate_limit = rate_limit
        self.data_qos = data_qos
        self.files: dict[str, bytes] = {}
        self.stats = ServerStats()
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._pending: dict[str, list[bytes]] = {}
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._budget_time = time.monotonic()

    def add(self, data: bytes) -> str:
        """Serve `data`; returns its stream id. Subscribes when the client is connected."""
        stream_id = stream_id_of(data)
        self.files[stream_id] = bytes(data)
        if self.client.connected:
            self._subscribe(stream_id)
        return stream_id

    def _subscribe(self, stream_id: str) -> None:
        self.client.subscribe(topics.stream_get_filter(stream_id, group=self.group),
                              lambda topic, payload, retained: self._enqueue(topic, stream_id, payload), qos=1)

    def _enqueue(self, topic: str, stream_id: str, payload: bytes) -> None:
        # Requests of one device for one stream that wait in the queue are merged: a device
        # that asks again (its window timed out while this server was busy) gets each block once.
        with self._lock:
            waiting = self._pending.get(topic)
            if waiting is not None:
                waiting.append(payload)
                self.stats.merged += 1
                return
            self._pending[topic] = [payload]
        self._queue.put((topic, stream_id))

    def start(self) -> "StreamServer":
        """Subscribe to every stream's requests and start the worker thread. Raises BrokerError."""
        for stream_id in self.files:
            self._subscribe(stream_id)
        self._worker = threading.Thread(target=self._run, name="dcagent-stream-server", daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=10)
            self._worker = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            topic, stream_id = item
            with self._lock:
                payloads = self._pending.pop(topic, [])
            try:
                self.handle(topic, stream_id, payloads)
            except BrokerError:
                pass  # the link dropped: the device asks again after its timeout

    def _reject(self, device_id: str, stream_id: str, token: str, code: StreamErrorCode, message: str) -> None:
        self.stats.rejected += 1
        self.client.publish(topics.stream_rejected(device_id, stream_id),
                            StreamRejection(token, code, message).to_cbor(), qos=1, wait=False)

    def _throttle(self, nbytes: int) -> None:
        if not self.rate_limit:
            return
        self._budget_time = max(self._budget_time, time.monotonic()) + nbytes / self.rate_limit
        delay = self._budget_time - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def handle(self, topic: str, stream_id: str, payloads: list[bytes]) -> None:
        """Answer the requests of one device (called by the worker; public for tests).

        Requests with the same block size are served as one: each block once, in order, with
        the latest request's client token. Raises BrokerError.
        """
        parsed = topics.parse_stream_get(topic)
        if parsed is None or parsed[1] != stream_id:
            self.stats.bad_messages += 1
            return
        device_id = parsed[0]
        self.stats.devices.add(device_id)
        wanted: dict[int, tuple[str, set[int]]] = {}
        for payload in payloads:
            self.stats.requests += 1
            try:
                request = BlockRequest.from_cbor(payload)
            except MessageError as exc:
                self._reject(device_id, stream_id, "", StreamErrorCode.BAD_REQUEST, str(exc))
                continue
            if self._check(device_id, stream_id, request):
                _, blocks = wanted.get(request.block_size, ("", set()))
                wanted[request.block_size] = (request.client_token, blocks | set(request.blocks()))
        data = self.files.get(stream_id, b"")
        data_topic = topics.stream_data(device_id, stream_id)
        for size, (token, blocks) in wanted.items():
            for index in sorted(blocks):
                chunk = data[index * size:(index + 1) * size]
                self._throttle(len(chunk))
                self.client.publish(data_topic, BlockResponse(token, 0, size, index, chunk).to_cbor(),
                                    qos=self.data_qos, wait=False)
                self.stats.blocks += 1
                self.stats.bytes += len(chunk)

    def _check(self, device_id: str, stream_id: str, request: BlockRequest) -> bool:
        data = self.files.get(stream_id)
        token = request.client_token
        if data is None:
            self._reject(device_id, stream_id, token, StreamErrorCode.UNKNOWN_STREAM,
                         f"this server does not hold stream {stream_id}")
        elif request.file_id != 0:
            self._reject(device_id, stream_id, token, StreamErrorCode.OUT_OF_RANGE,
                         f"stream {stream_id} has one file (id 0), not {request.file_id}")
        elif request.blocks()[-1] * request.block_size >= len(data):
            self._reject(device_id, stream_id, token, StreamErrorCode.OUT_OF_RANGE,
                         f"block {request.blocks()[-1]} of {request.block_size} bytes is beyond the file's "
                         f"{len(data)} bytes")
        else:
            return True
        return False


@dataclass(frozen=True)
class Publication:
    """What `publish` announced: the manifest, the exact bytes served, where they were saved."""

    manifest: Manifest
    data: bytes
    signed_path: Path | None


def prepare(dcb_path: Path, *, key: Path | None = None, signed_out: Path | None = None) -> tuple[Container, Path | None]:
    """Read a container and sign it when needed: with `key` always (replacing a signature), with
    the default key when it is unsigned. A newly signed copy is written to `signed_out` (default
    `<name>.signed.dcb` beside it). Raises OSError, BitstreamError, KeyFileError."""
    container = read_container(dcb_path)
    if container.signed and key is None:
        return container, None
    signed = open_container(sign_container(container.data, load_private_key(key)))
    out = signed_out or dcb_path.with_name(dcb_path.name.removesuffix(".dcb") + ".signed.dcb")
    write_atomic(out, signed.data)
    return signed, out


def announce(client: BrokerClient, manifest: Manifest) -> None:
    """Post `manifest` retained on its fleet's topic and wait for the PUBACK. Raises BrokerError."""
    client.publish(topics.manifest(manifest.fleet), manifest.to_cbor(), qos=1, retain=True)


def withdraw(client: BrokerClient, fleet: str) -> None:
    """Remove a fleet's retained manifest (an empty retained message). Raises BrokerError."""
    client.publish(topics.manifest(fleet), b"", qos=1, retain=True)


def publish(dcb_path: str | Path, broker_url: str | BrokerUrl, fleet: str, *, key: str | Path | None = None,
            block_size: int = DEFAULT_BLOCK_SIZE, tls: TlsOptions | None = None, serve: bool = False,
            stop: threading.Event | None = None, client_id: str | None = None,
            signed_out: Path | None = None, rate_limit: float | None = None,
            on_announced: Callable[[Publication], None] | None = None) -> Publication:
    """Sign (if needed), announce and optionally serve a model to a fleet.

    With `serve`, runs a StreamServer for the file until `stop` is set (re-announcing the
    manifest after every reconnect, in case the broker lost it); without, returns after the
    manifest's PUBACK (run `dcagent stream-server` on the signed file to serve the blocks).
    `on_announced` is called once the manifest is acknowledged (before serving starts).
    Raises OSError, BitstreamError, KeyFileError, ConfigError, BrokerError.
    """
    path = Path(dcb_path)
    container, signed_path = prepare(path, key=Path(key) if key is not None else None, signed_out=signed_out)
    manifest = manifest_for(container, fleet, block_size=block_size)
    client = BrokerClient(broker_url, client_id or f"dcagent-pub-{manifest.stream_id[:8]}", tls=tls,
                          max_inflight=1000)
    client.connect()
    publication = Publication(manifest, container.data, signed_path)
    try:
        announce(client, manifest)
        if on_announced is not None:
            on_announced(publication)
        if serve:
            server = StreamServer(client, rate_limit=rate_limit)
            server.add(container.data)
            client.add_connect_hook(lambda: client.publish(topics.manifest(fleet), manifest.to_cbor(), qos=1,
                                                           retain=True, wait=False))
            server.start()
            try:
                (stop or threading.Event()).wait()
            finally:
                server.stop()
    finally:
        client.close()
    return publication
