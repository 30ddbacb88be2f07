"""Fleet updates through a real mosquitto: publish -> fetch, broker and fetcher crashes, rejections,
ACLs and TLS. Brokers come from tests/mqtt_broker.py; processes are real where a crash is tested."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import cbor2
import pytest

from bench.synthetic_dcb import make_container
from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient, TlsOptions
from dcagent.fleet.errors import BrokerError, NotAuthorizedError, UpdateRejectedError
from dcagent.fleet.fetcher import Fetcher
from dcagent.fleet.local_broker import MONITOR_USER, PUBLISHER_USER, make_pki
from dcagent.fleet.messages import (BlockRequest, BlockResponse, Manifest, RejectReason, State, Status,
                                    StreamErrorCode, StreamRejection)
from dcagent.fleet.policy import DevicePolicy
from dcagent.fleet.publisher import StreamServer, announce, manifest_for
from dcagent.errors import TransportError
from host.container.reader import open_container
from host.container.signing import (generate_keypair, load_private_key, load_public_key, private_key_from_seed,
                                    sign_container)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def keys(tmp_path):
    """A publisher key pair in $XDG_CONFIG_HOME-style folder tmp/config/dcagent/keys."""
    folder = tmp_path / "config" / "dcagent" / "keys"
    pair = generate_keypair(folder)
    return pair, load_private_key(pair.private_path), load_public_key(pair.public_path)


class Monitor:
    """A `monitor` client recording every status and every block request it sees."""

    def __init__(self, broker) -> None:
        self.statuses: list[Status] = []
        self.requests: list[tuple[str, BlockRequest]] = []
        self.client = BrokerClient(broker.url(MONITOR_USER), "monitor").connect()
        self.client.subscribe(topics.all_status_filter(), lambda t, p, r: p and self.statuses.append(Status.from_cbor(p)))
        self.client.subscribe(f"{topics.PREFIX}/devices/+/streams/+/get",
                              lambda t, p, r: self.requests.append((t, BlockRequest.from_cbor(p))))

    def wait_state(self, device_id: str, state: State, timeout: float = 10.0) -> Status:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for status in reversed(self.statuses):
                if status.device_id == device_id and status.state == state:
                    return status
            time.sleep(0.02)
        pytest.fail(f"no {state.value} status from {device_id}; saw {[(s.device_id, s.state.value) for s in self.statuses]}")

    def requested_blocks(self) -> list[int]:
        return [b for _, r in self.requests for b in r.blocks()]


@contextmanager
def serving(broker, data: bytes, fleet: str = "alpha", *, block_size: int = 1024, rate_limit=None, manifest=None,
            served: bytes | None = None):
    """Announce `data` (or `manifest`) to `fleet` and serve `served` (default `data`) under its stream id."""
    client = BrokerClient(broker.url(PUBLISHER_USER), f"pub-{time.monotonic_ns()}", max_inflight=1000).connect()
    manifest = manifest or manifest_for(open_container(data), fleet, block_size=block_size)
    server = StreamServer(client, rate_limit=rate_limit)
    stream_id = server.add(data)
    if served is not None:
        server.files[stream_id] = served
    announce(client, manifest)
    client.add_connect_hook(lambda: client.publish(topics.manifest(manifest.fleet), manifest.to_cbor(), retain=True,
                                                   wait=False))
    server.start()
    try:
        yield server, manifest
    finally:
        server.stop()
        client.close()


def device(broker, device_id: str = "dev-a1", **kw) -> BrokerClient:
    return BrokerClient(broker.url(device_id), device_id, clean_start=False, session_expiry=300, **kw).connect()


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state")}


def test_publish_and_fetch_end_to_end_with_the_cli(fleet_broker, keys, tmp_path):
    model = tmp_path / "model.dcb"
    model.write_bytes(make_container(size=100_000, version=2))
    monitor = Monitor(fleet_broker)
    env = cli_env(tmp_path)
    publisher = subprocess.Popen([sys.executable, "-m", "dcagent.cli", "publish", str(model), "--broker",
                                  fleet_broker.url(PUBLISHER_USER), "--fleet", "alpha", "--serve"],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = tmp_path / "out.dcb"
        fetch = subprocess.run([sys.executable, "-m", "dcagent.cli", "fetch", "--broker", fleet_broker.url("dev-a1"),
                                "--device-id", "dev-a1", "--fleet", "alpha", "-o", str(out), "--arch", "cortex-m4"],
                               env=env, capture_output=True, text=True, timeout=60)
        assert fetch.returncode == 0, fetch.stderr
    finally:
        publisher.send_signal(signal.SIGTERM)  # as a service manager stops it (SIGINT may be ignored in CI jobs)
        stdout, stderr = publisher.communicate(timeout=20)
    assert publisher.returncode == 0, stderr
    signed = tmp_path / "model.signed.dcb"
    assert out.read_bytes() == signed.read_bytes()
    container = open_container(out.read_bytes())
    assert container.signed and container.trailer.key_id == keys[0].key_id
    assert "published synthetic v2 to fleet alpha" in stdout
    assert monitor.wait_state("dev-a1", State.VERIFIED).model_version == 2
    states = [s.state for s in monitor.statuses if s.device_id == "dev-a1"]
    assert states[0] == State.DOWNLOADING and State.VERIFYING in states
    # the anti-rollback floor is recorded for the next fetch
    assert (tmp_path / "state" / "dcagent" / "fetch" / "dev-a1" / "accepted-alpha").read_text() == "2"
    monitor.client.close()


def test_fetch_survives_a_broker_crash(fleet_broker, keys, tmp_path):
    data = sign_container(make_container(size=100_000), keys[1])
    policy = DevicePolicy(trusted=(keys[2],))
    halfway = threading.Event()
    with serving(fleet_broker, data, rate_limit=50_000) as (server, manifest):
        client = device(fleet_broker)
        fetcher = Fetcher(client, "dev-a1", "alpha", policy, state_dir=tmp_path / "state", request_timeout=1.0,
                          progress=lambda done, total: done > total // 4 and halfway.set())
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("r", fetcher.fetch()))
        thread.start()
        assert halfway.wait(20)
        fleet_broker.kill()
        time.sleep(0.5)
        fleet_broker.start()
        thread.join(60)
        client.close()
    assert not thread.is_alive()
    assert result["r"].data == data
    assert client.connects >= 2


def test_fetcher_process_killed_resumes_without_refetching(fleet_broker, keys, tmp_path):
    model = sign_container(make_container(size=100_000, version=1), keys[1])
    env = cli_env(tmp_path)
    state_file = tmp_path / "state" / "dcagent" / "fetch" / "dev-a2" / "alpha" / "state.cbor"
    monitor = Monitor(fleet_broker)
    command = [sys.executable, "-m", "dcagent.cli", "fetch", "--broker", fleet_broker.url("dev-a2"), "--device-id",
               "dev-a2", "--fleet", "alpha", "-o", str(tmp_path / "out.dcb"), "--window", "8"]
    with serving(fleet_broker, model, block_size=1024, rate_limit=25_000) as (server, manifest):
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        saved = 0
        deadline = time.monotonic() + 30
        while saved < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                saved = sum(bin(b).count("1") for b in cbor2.loads(state_file.read_bytes())["received"])
            except (OSError, KeyError, ValueError, cbor2.CBORDecodeError):
                pass
        first.kill()
        first.wait()
        bitmap = cbor2.loads(state_file.read_bytes())["received"]
        on_disk = {i for i in range(manifest.block_count) if bitmap[i // 8] >> (i % 8) & 1}
        assert 30 <= len(on_disk) < manifest.block_count
        time.sleep(0.3)
        monitor.requests.clear()
        server.rate_limit = None
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "out.dcb").read_bytes() == model
    asked_again = on_disk & set(monitor.requested_blocks())
    assert not asked_again, f"blocks {sorted(asked_again)} were on disk but requested again"
    assert f"{len(on_disk)} resumed" in second.stdout
    assert not state_file.exists()
    monitor.client.close()


def _rejected(broker, tmp_path, policy, data, *, manifest=None, served=None, device_id="dev-a1"):
    monitor = Monitor(broker)
    with serving(broker, data, manifest=manifest, served=served):
        client = device(broker, device_id)
        with pytest.raises(UpdateRejectedError) as exc:
            Fetcher(client, device_id, "alpha", policy, state_dir=tmp_path / "state", request_timeout=1.0).fetch()
        client.close()
    status = monitor.wait_state(device_id, State.REJECTED)
    monitor.client.close()
    assert status.reason == exc.value.reason
    assert status.detail
    return exc.value.reason, monitor


@pytest.mark.parametrize("case", ["unsigned", "wrong_key", "downgrade", "other_target", "tampered_bytes",
                                  "forged_manifest"])
def test_bad_updates_are_rejected_with_a_status(fleet_broker, keys, tmp_path, case):
    _, private, public = keys
    plain = make_container(size=20_000, version=5)
    data = sign_container(plain, private)
    policy = DevicePolicy(trusted=(public,), arch="cortex-m4", min_version=5)
    manifest = served = None
    expected = {"unsigned": RejectReason.UNSIGNED, "wrong_key": RejectReason.UNTRUSTED_KEY,
                "downgrade": RejectReason.DOWNGRADE, "other_target": RejectReason.WRONG_TARGET,
                "tampered_bytes": RejectReason.HASH_MISMATCH, "forged_manifest": RejectReason.BAD_SIGNATURE}[case]
    if case == "unsigned":
        data = plain
    elif case == "wrong_key":
        data = sign_container(plain, private_key_from_seed(bytes(32)))
    elif case == "downgrade":
        data = sign_container(make_container(size=20_000, version=4), private)
    elif case == "other_target":
        data = sign_container(make_container(size=20_000, version=5, arch="riscv32"), private)
    elif case == "tampered_bytes":
        evil = bytearray(data)
        evil[5000] ^= 0xFF
        served = bytes(evil)
    elif case == "forged_manifest":
        good = manifest_for(open_container(data), "alpha")
        manifest = Manifest(**{**good.__dict__, "model_version": good.model_version,
                               "content_sha256": bytes(reversed(good.content_sha256))})
    reason, monitor = _rejected(fleet_broker, tmp_path, policy, data, manifest=manifest, served=served)
    assert reason == expected
    if case not in ("tampered_bytes",):
        assert not monitor.requests, "a manifest refused up front must not cost a single block"


def test_cli_fetch_exit_code_on_rejection(fleet_broker, keys, tmp_path):
    data = sign_container(make_container(size=5_000, version=1), keys[1])
    with serving(fleet_broker, data):
        result = subprocess.run([sys.executable, "-m", "dcagent.cli", "fetch", "--broker", fleet_broker.url("dev-a1"),
                                 "--device-id", "dev-a1", "--fleet", "alpha", "-o", str(tmp_path / "o.dcb"),
                                 "--min-version", "2"], env=cli_env(tmp_path), capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 1
    assert "downgrade" in result.stderr and not (tmp_path / "o.dcb").exists()


def test_acl_keeps_devices_in_their_lane(fleet_broker, keys, tmp_path):
    data = sign_container(make_container(size=5_000), keys[1])
    with serving(fleet_broker, data, fleet="beta") as (_, manifest):
        a1 = device(fleet_broker, "dev-a1")
        seen: list[str] = []
        # mosquitto 2.0 with an acl_file grants every SUBSCRIBE (SUBACK 0x00/0x01) and filters
        # at delivery: the retained beta manifest and dev-b1's blocks never reach dev-a1.
        a1.subscribe(topics.manifest("beta"), lambda t, p, r: seen.append(t))
        a1.subscribe(topics.stream_data("dev-b1", manifest.stream_id), lambda t, p, r: seen.append(t))
        b1 = device(fleet_broker, "dev-b1")
        got_b1: list[str] = []
        b1.subscribe(topics.manifest("beta"), lambda t, p, r: got_b1.append(t))
        b1.publish(topics.stream_get("dev-b1", manifest.stream_id),
                   BlockRequest("t", 0, manifest.block_size, 0, 1).to_cbor())
        time.sleep(0.5)
        assert got_b1 == [topics.manifest("beta")] and seen == []
        # publications outside the device's own topics: PUBACK 0x87 (MQTT v5), message dropped
        for topic in (topics.status("dev-b1"), topics.stream_get("dev-b1", manifest.stream_id),
                      topics.manifest("alpha"), topics.stream_data("dev-a1", manifest.stream_id)):
            with pytest.raises(NotAuthorizedError) as exc:
                a1.publish(topic, b"\xa0")
            assert exc.value.reason_code == 0x87
        a1.publish(topics.status("dev-a1"), b"\xa0")  # its own status: accepted
        with pytest.raises(TransportError):   # dev-a1 cannot even see fleet beta's manifest
            Fetcher(a1, "dev-a1", "beta", DevicePolicy(trusted=(keys[2],)), manifest_timeout=1.0).fetch()
        a1.close()
        b1.close()
    with pytest.raises(NotAuthorizedError):
        BrokerClient(fleet_broker.url("dev-a1", password="wrong"), "dev-a1").connect()


def test_tls_listener(fleet_broker_tls, keys, tmp_path):
    broker, pki = fleet_broker_tls, fleet_broker_tls.pki
    data = sign_container(make_container(size=30_000), keys[1])
    tls = TlsOptions(ca_file=pki.ca_cert, cert_file=pki.client_cert, key_file=pki.client_key)
    with serving(broker, data):
        client = BrokerClient(broker.url("dev-a1", tls=True), "dev-a1", tls=tls).connect()
        result = Fetcher(client, "dev-a1", "alpha", DevicePolicy(trusted=(keys[2],))).fetch()
        client.close()
    assert result.data == data
    with pytest.raises(BrokerError):      # plaintext MQTT to the TLS port
        BrokerClient(f"mqtt://dev-a1:{broker.passwords['dev-a1']}@127.0.0.1:{broker.tls_port}", "x").connect(timeout=5)
    with pytest.raises(BrokerError):      # TLS without the client certificate the broker requires
        BrokerClient(broker.url("dev-a1", tls=True), "y", tls=TlsOptions(ca_file=pki.ca_cert)).connect(timeout=5)
    stranger = make_pki(tmp_path / "other-pki")
    with pytest.raises(BrokerError):      # a CA that did not sign the broker's certificate
        BrokerClient(broker.url("dev-a1", tls=True), "z",
                     tls=TlsOptions(ca_file=stranger.ca_cert, cert_file=pki.client_cert,
                                    key_file=pki.client_key)).connect(timeout=5)


def test_stream_server_error_responses_and_merging(fleet_broker, keys):
    data = sign_container(make_container(size=10_000), keys[1])
    with serving(fleet_broker, data, block_size=1024) as (server, manifest):
        client = device(fleet_broker, "dev-a1")
        answers: list[tuple[str, bytes]] = []
        for kind in ("data", "rejected"):
            client.subscribe(f"{topics.PREFIX}/devices/dev-a1/streams/+/{kind}", lambda t, p, r: answers.append((t, p)))

        def ask(stream_id: str, payload: bytes) -> list[tuple[str, bytes]]:
            answers.clear()
            client.publish(topics.stream_get("dev-a1", stream_id), payload)
            time.sleep(0.4)
            return list(answers)

        beyond = BlockRequest("t1", 0, 1024, manifest.block_count, 1).to_cbor()
        (topic, payload), = ask(manifest.stream_id, beyond)
        assert topic.endswith("/rejected") and StreamRejection.from_cbor(payload).code == StreamErrorCode.OUT_OF_RANGE
        (topic, payload), = ask(manifest.stream_id, cbor2.dumps({"c": "t2", "x": 1}))
        assert StreamRejection.from_cbor(payload).code == StreamErrorCode.BAD_REQUEST
        got = ask(manifest.stream_id, BlockRequest("t3", 0, 1024, 2, 3).to_cbor())
        blocks = [BlockResponse.from_cbor(p) for _, p in got]
        assert [b.index for b in blocks] == [2, 3, 4]
        assert all(b.payload == data[b.index * 1024:(b.index + 1) * 1024] for b in blocks)
        # a stream nobody serves gets no answer at all (no server subscribed to it)
        assert ask("0123456789abcdef", BlockRequest("t4", 0, 1024, 0, 1).to_cbor()) == []
        # requests that wait in the queue together are served once per block
        server.rate_limit = 2000
        answers.clear()
        for token in ("t5", "t6", "t7"):
            client.publish(topics.stream_get("dev-a1", manifest.stream_id), BlockRequest(token, 0, 1024, 0, 2).to_cbor())
        deadline = time.monotonic() + 10
        while len(answers) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)
        indices = sorted(BlockResponse.from_cbor(p).index for _, p in answers)
        assert indices.count(0) + indices.count(1) <= 4 and server.stats.merged >= 1
        client.close()
