"""Model delivery the way a fleet gets it: a real mosquitto, a publisher and a gateway agent process.

A suite board with `delivery = "mqtt"` (hil/suite.py) does not get its model over a direct SMP
upload. Instead, for every case, `MqttDelivery`:

    starts a local mosquitto (users, ACLs: dcagent.fleet.local_broker) in its own folder
    signs the container when needed and announces it (retained manifest) and serves its blocks
    runs `dcagent agent --port BOARD_PORT` as a child process, as a gateway would
    follows the device's status messages until a final one (confirmed, rolled back, rejected)
    stops the agent, the publisher and the broker

so a measured case covers the whole update path: download, signature and hash checks, the
device HMAC tag, the SMP upload, the trial boot, the agent's check inference and the confirm.
Anything but "confirmed" raises DeviceError with the statuses seen and the agent's log.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dcagent.errors import DeviceError
from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient
from dcagent.fleet.local_broker import MONITOR_USER, PUBLISHER_USER, LocalBroker
from dcagent.fleet.messages import State, Status
from dcagent.fleet.publisher import StreamServer, announce, manifest_for, withdraw
from host.container.reader import open_container
from host.container.signing import (PRIVATE_KEY_NAME, PUBLIC_KEY_NAME, generate_keypair, load_private_key,
                                    load_public_key, sign_container, verify_signature)
from host.errors import SignatureError

#: The states that end an update (the agent reports nothing more about that model).
FINAL = (State.CONFIRMED, State.ROLLED_BACK, State.REJECTED, State.FAILED)
#: The device id and fleet the harness's board has on its private broker.
DEVICE_ID = "hil-board"
FLEET = "hil"
#: The repository root, put first on the agent process's PYTHONPATH (same dcagent as the harness).
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DeliveryReport:
    """What one delivery went through: every status the device reported, in order."""

    statuses: list[tuple[float, Status]] = field(default_factory=list)   # (seconds since announce, status)
    blocks: int = 0
    block_size: int = 0
    seconds: float = 0.0
    republished_signature: bool = False
    published: bytes = b""     # the signed container as announced and served

    @property
    def final(self) -> Status | None:
        return next((s for _, s in reversed(self.statuses) if s.state in FINAL), None)

    def path(self) -> str:
        """The states in order without repeats: 'downloading > verifying > ... > confirmed'."""
        states: list[str] = []
        for _, status in self.statuses:
            if not states or states[-1] != status.state.value:
                states.append(status.state.value)
        return " > ".join(states)

    def summary(self) -> str:
        return (f"delivered over MQTT by the gateway agent ({self.blocks} blocks of {self.block_size} B): "
                f"{self.path()} in {self.seconds:.1f} s")


class _StatusWatch:
    """The device's status messages, as the broker's `monitor` user sees them."""

    def __init__(self, broker: LocalBroker, device_id: str) -> None:
        self.items: list[Status] = []
        self.arrived: list[float] = []
        self.changed = threading.Condition()
        self.client = BrokerClient(broker.url(MONITOR_USER), f"hil-monitor-{os.getpid()}").connect()
        self.client.subscribe(topics.status(device_id), self._on, qos=1)

    def _on(self, topic: str, payload: bytes, retained: bool) -> None:
        if not payload or retained:
            return
        with self.changed:
            self.items.append(Status.from_cbor(payload))
            self.arrived.append(time.monotonic())
            self.changed.notify_all()

    def wait_final(self, stream_id: str, deadline: float, alive: Callable[[], bool],
                   on_state: Callable[[str], None]) -> Status | None:
        seen = 0
        while time.monotonic() < deadline and alive():
            with self.changed:
                self.changed.wait(timeout=0.2)
                fresh = self.items[seen:]
            for status in fresh:
                seen += 1
                if status.stream_id not in (None, stream_id):
                    continue
                on_state(status.state.value)
                if status.state in FINAL and status.stream_id == stream_id:
                    return status
        return None

    def close(self) -> None:
        self.client.close()


class MqttDelivery:
    """Deliver containers to a board through a private broker and a real `dcagent agent`.

    `trust`: the publisher public key the agent trusts; with `key` (its private half) a
    container already signed by that key is published unchanged. Without them a key pair is
    made for the run. `folder` keeps the broker's files, the keys and the agent's state and
    log (a temporary folder when None).
    """

    def __init__(self, *, folder: Path | None = None, key: Path | None = None, block_size: int = 1024) -> None:
        self._tmp = None if folder is not None else tempfile.TemporaryDirectory(prefix="hil-mqtt-")
        self.folder = Path(folder) if folder is not None else Path(self._tmp.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.block_size = block_size
        if key is None:
            keys = self.folder / "keys"
            if not (keys / PRIVATE_KEY_NAME).exists():
                generate_keypair(keys)
            key = keys / PRIVATE_KEY_NAME
        self.private = load_private_key(key)
        self.public_path = Path(key).with_name(PUBLIC_KEY_NAME)
        self.public = load_public_key(self.public_path)
        self.last: DeliveryReport | None = None

    def _signed(self, container: bytes) -> tuple[bytes, bool]:
        parsed = open_container(container)
        if parsed.signed:
            try:
                verify_signature(parsed, self.public)
                return container, False
            except SignatureError:
                pass
        return sign_container(container, self.private), True

    def deliver(self, port: str, device_key: bytes, container: bytes, timeout_s: float, *,
                on_state: Callable[[str], None] = lambda _s: None) -> DeliveryReport:
        """Publish `container` and let an agent process flash it onto the board at `port`.

        Returns the report of a confirmed update. Raises DeviceError when the update ends
        otherwise (rejected, rolled back, failed) or not within `timeout_s`, with the statuses
        and the agent's log; BoardError when mosquitto cannot start; BrokerError for the broker.
        """
        data, resigned = self._signed(container)
        manifest = manifest_for(open_container(data), FLEET, block_size=self.block_size)
        report = DeliveryReport(blocks=-(-len(data) // self.block_size), block_size=self.block_size,
                                republished_signature=resigned, published=data)
        self.last = report
        run_dir = Path(tempfile.mkdtemp(prefix="delivery-", dir=self.folder))
        log_path = run_dir / "agent.log"
        with LocalBroker(run_dir / "broker", devices={DEVICE_ID: FLEET}) as broker:
            watch = _StatusWatch(broker, DEVICE_ID)
            publisher = BrokerClient(broker.url(PUBLISHER_USER), f"hil-publisher-{os.getpid()}",
                                     max_inflight=1000).connect()
            server = StreamServer(publisher)
            server.add(data)
            server.start()
            agent: subprocess.Popen | None = None
            began = time.monotonic()
            try:
                announce(publisher, manifest)
                argv = [sys.executable, "-m", "dcagent.cli", "agent", "--broker", broker.url(DEVICE_ID),
                        "--device-id", DEVICE_ID, "--fleet", FLEET, "--port", port,
                        "--state-dir", str(run_dir / "agent"), "--trust", str(self.public_path),
                        "--device-key", device_key.hex(), "--retry-max", "2"]
                env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
                with open(log_path, "wb") as log:
                    agent = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, cwd=run_dir)
                final = watch.wait_final(manifest.stream_id, began + timeout_s, lambda: agent.poll() is None,
                                         on_state)
                report.seconds = time.monotonic() - began
                report.statuses = [(t - began, s) for t, s in zip(watch.arrived, watch.items)]
            finally:
                _stop(agent)
                server.stop()
                try:
                    withdraw(publisher, FLEET)
                except Exception:  # noqa: BLE001 - the broker goes away next anyway
                    pass
                publisher.close()
                watch.close()
        if final is None or final.state is not State.CONFIRMED:
            log = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
            if final is None:
                why = (f"the agent exited with status {agent.returncode}" if agent is not None and agent.poll() is not None
                       else f"no final status within {timeout_s:g} s")
            else:
                why = f"the update ended {final.state.value}" + (f" ({final.reason.value})" if final.reason else "") \
                      + (f": {final.detail}" if final.detail else "")
            raise DeviceError(f"MQTT delivery failed: {why}; states {report.path() or 'none'}\n--- agent log ---\n{log}",
                              hint=f"the agent's files are in {run_dir}")
        return report

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def load_over_mqtt(driver, delivery: MqttDelivery, container: bytes, timeout_s: float, *,
                   on_state: Callable[[str], None] = lambda _s: None):
    """The strategy's "load model" step for a board with `delivery = "mqtt"`: deliver through
    `delivery`, then check over SMP that the board runs exactly that image, confirmed.

    `driver` is a LinkDriver (a board with a serial port). Returns a LoadedModel whose notes
    carry the delivery's path and time. Raises DeviceError / TransportError / BoardError.
    """
    import hashlib

    from dcagent.link.flash import prepare_image
    from hil.drivers.base import LoadedModel, sized_by_host

    report = delivery.deliver(driver.port, driver.device_key, container, timeout_s, on_state=on_state)
    info = driver.model_info(timeout_s)
    expected = hashlib.sha256(prepare_image(report.published, driver.device_key)).digest()
    if bytes(info.hash) != expected or info.trial:
        raise DeviceError(f"after the agent confirmed, the board runs image {bytes(info.hash).hex()[:16]}... "
                          f"(trial {info.trial}), not the delivered {expected.hex()[:16]}...")
    notes = [report.summary()]
    if report.republished_signature:
        notes.append("the container was signed with the harness's publisher key before publishing")
    if info.arena_bytes is None:
        return sized_by_host(driver.resource, container, notes)
    return LoadedModel(container_bytes=len(container), arena_bytes=int(info.arena_bytes), arena_source="device",
                       notes=notes)
