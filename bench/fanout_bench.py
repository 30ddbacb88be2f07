"""Fan-out benchmark: N simulated devices fetch one signed model through one local mosquitto.

    python bench/fanout_bench.py [--devices 10,100,1000] [--size 100000] [--block-size 4096]
                                 [--window 32] [--servers 1] [--data-qos 0] [--client lite|paho]
                                 [--json bench/out/fanout.json]

Per N: a fresh mosquitto (dcagent.fleet.local_broker: passwords and per-device ACLs as in
production), `--servers` stream-server processes (`dcagent stream-server`, a shared-
subscription pool), and N devices that connect and subscribe first; then the manifest is
announced and the clock runs until every device holds bytes that pass the full device
check (SHA-256, container, Ed25519 signature: dcagent.fleet.policy.verify_download).

Device simulators: `lite` runs all N in one asyncio loop on a minimal MQTT 3.1.1 client
(bench/mqtt_lite.py) driving the same sans-IO transfer logic as the product
(dcagent.fleet.transfer.Transfer); `paho` runs the product's own Fetcher on one paho
client (two threads) per device. Reports time to all-updated, per-device percentiles,
bytes on the wire (counted at the device sockets) against model bytes, and broker
throughput. Exit status 0 when every device verified, 1 otherwise.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.mqtt_lite import LiteClient, MqttLiteError  # noqa: E402
from bench.synthetic_dcb import make_container  # noqa: E402
from dcagent.fleet import topics  # noqa: E402
from dcagent.fleet.broker import BrokerClient  # noqa: E402
from dcagent.fleet.errors import MessageError, UpdateRejectedError  # noqa: E402
from dcagent.fleet.fetcher import Fetcher  # noqa: E402
from dcagent.fleet.local_broker import PUBLISHER_USER, LocalBroker  # noqa: E402
from dcagent.fleet.messages import BlockResponse, Manifest  # noqa: E402
from dcagent.fleet.policy import DevicePolicy, check_manifest, verify_download  # noqa: E402
from dcagent.fleet.publisher import announce, manifest_for  # noqa: E402
from dcagent.fleet.status import StatusReporter  # noqa: E402
from dcagent.fleet.transfer import Transfer  # noqa: E402
from host.container.reader import open_container  # noqa: E402
from host.container.signing import private_key_from_seed, sign_container  # noqa: E402

FLEET = "bench"


@dataclass
class DeviceResult:
    ok: bool
    seconds: float
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    error: str = ""


@dataclass
class RunResult:
    devices: int
    client: str
    servers: int
    model_bytes: int
    block_size: int
    window: int
    data_qos: int
    connect_s: float
    all_updated_s: float
    verified: int
    corrupted_or_failed: int
    p50_s: float
    p95_s: float
    max_s: float
    requests: int
    wire_bytes_in: int
    wire_bytes_out: int
    overhead: float
    broker_out_mb_s: float
    blocks_per_s: float
    cpu_s_broker: float = 0.0
    cpu_s_stream_servers: float = 0.0
    cpu_s_devices: float = 0.0
    errors: list[str] = field(default_factory=list)


# --- lite (asyncio) simulators ----------------------------------------------------------------
async def lite_device(broker: LocalBroker, device_id: str, policy: DevicePolicy, window: int, data_qos: int,
                      ready: asyncio.Event, go: asyncio.Event, request_timeout: float, deadline_box: list[float],
                      connecting: asyncio.Semaphore) -> tuple[LiteClient, DeviceResult]:
    client = LiteClient()
    async with connecting:   # a bounded connect storm (the listen backlog)
        await client.connect("127.0.0.1", broker.port, device_id, device_id, broker.passwords[device_id])
        await client.subscribe([(topics.manifest(FLEET), 1),
                                (f"{topics.PREFIX}/devices/{device_id}/streams/+/data", data_qos)])
    ready.set()
    await go.wait()
    deadline = deadline_box[0]
    started = time.perf_counter()
    requests = 0
    try:
        while True:
            msg = await asyncio.wait_for(client.messages.get(), timeout=max(0.1, deadline - time.monotonic()))
            if msg.topic.endswith("/manifest") and msg.payload:
                manifest = Manifest.from_cbor(msg.payload)
                break
        check_manifest(manifest, policy)
        transfer = Transfer(manifest, None, window=window)
        get_topic = topics.stream_get(device_id, manifest.stream_id)
        token = 0
        while not transfer.complete:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{transfer.received_count}/{transfer.count} blocks at the deadline")
            token += 1
            request = transfer.next_request(f"{device_id}-{token}")
            wanted = set(request.blocks())
            client.publish(get_topic, request.to_cbor(), qos=1)
            requests += 1
            while wanted:
                try:
                    msg = await asyncio.wait_for(client.messages.get(), timeout=request_timeout)
                except asyncio.TimeoutError:
                    break
                if not msg.topic.endswith("/data"):
                    continue
                try:
                    block = BlockResponse.from_cbor(msg.payload)
                    if transfer.accept(block):
                        wanted.discard(block.index)
                except MessageError:
                    continue
        verify_download(transfer.data(), manifest, policy)
        return client, DeviceResult(True, time.perf_counter() - started, requests)
    except (UpdateRejectedError, MessageError, MqttLiteError, OSError, TimeoutError, asyncio.TimeoutError) as exc:
        return client, DeviceResult(False, time.perf_counter() - started, requests, error=f"{device_id}: {exc!r}")


async def run_lite(broker: LocalBroker, n: int, policy: DevicePolicy, args, announce_fn) -> tuple[float, float, list]:
    go = asyncio.Event()
    readies = [asyncio.Event() for _ in range(n)]
    deadline_box = [time.monotonic() + 3600.0]   # set when the manifest is announced
    t0 = time.perf_counter()
    tasks = []
    connecting = asyncio.Semaphore(200)

    async def one(i: int):
        return await lite_device(broker, f"dev-{i:05d}", policy, args.window, args.data_qos, readies[i], go,
                                 args.request_timeout, deadline_box, connecting)

    for i in range(n):
        tasks.append(asyncio.create_task(one(i)))
    for event in readies:
        await event.wait()
    connect_s = time.perf_counter() - t0
    deadline_box[0] = time.monotonic() + args.timeout
    t1 = time.perf_counter()
    await asyncio.get_running_loop().run_in_executor(None, announce_fn)
    go.set()
    results = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t1
    out = []
    for client, result in results:
        result.bytes_in, result.bytes_out = client.bytes_in, client.bytes_out
        await client.close()
        out.append(result)
    return connect_s, elapsed, out


# --- paho simulators (the product's Fetcher, one paho client per device) ----------------------
def run_paho(broker: LocalBroker, n: int, policy: DevicePolicy, args, announce_fn) -> tuple[float, float, list]:
    t0 = time.perf_counter()
    clients = [BrokerClient(broker.url(f"dev-{i:05d}"), f"dev-{i:05d}", clean_start=True).connect(timeout=60)
               for i in range(n)]
    connect_s = time.perf_counter() - t0
    results: list[DeviceResult | None] = [None] * n
    go = threading.Event()

    def work(i: int) -> None:
        go.wait()
        started = time.perf_counter()
        fetcher = Fetcher(clients[i], f"dev-{i:05d}", FLEET, policy, window=args.window,
                          request_timeout=args.request_timeout, stall_timeout=args.timeout,
                          manifest_timeout=args.timeout, status=StatusReporter(None, f"dev-{i:05d}"),
                          data_qos=args.data_qos)
        try:
            r = fetcher.fetch()
            results[i] = DeviceResult(True, time.perf_counter() - started, r.requests)
        except Exception as exc:  # noqa: BLE001 - counted as a failed device
            results[i] = DeviceResult(False, time.perf_counter() - started, error=f"dev-{i:05d}: {exc!r}")

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    t1 = time.perf_counter()
    announce_fn()
    go.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t1
    for c in clients:
        c.close()
    return connect_s, elapsed, results


# --- one run ----------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def run_once(n: int, args, work: Path) -> RunResult:
    key = private_key_from_seed(bytes(range(32)))
    data = sign_container(make_container(size=args.size, version=1), key)
    model = work / f"model-{n}.dcb"
    model.write_bytes(data)
    manifest = manifest_for(open_container(data), FLEET, block_size=args.block_size)
    policy = DevicePolicy(trusted=(key.public_key(),))
    broker = LocalBroker(work / f"broker-{n}", devices={f"dev-{i:05d}": FLEET for i in range(n)}).start()
    servers = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        for s in range(args.servers):
            proc = subprocess.Popen([sys.executable, "-m", "dcagent.cli", "stream-server", str(model), "--broker",
                                     broker.url(PUBLISHER_USER), "--client-id", f"streams-{s}",
                                     "--data-qos", str(args.data_qos)],
                                    env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            servers.append(proc)
            for line in proc.stderr:
                if line.startswith("ready"):
                    break
        publisher = BrokerClient(broker.url(PUBLISHER_USER), "bench-announcer").connect()

        def announce_fn() -> None:
            announce(publisher, manifest)

        cpu_before = (cpu_seconds(broker.process.pid), sum(cpu_seconds(p.pid) for p in servers), time.process_time())
        if args.client == "lite":
            connect_s, elapsed, results = asyncio.run(run_lite(broker, n, policy, args, announce_fn))
        else:
            connect_s, elapsed, results = run_paho(broker, n, policy, args, announce_fn)
        cpu = (cpu_seconds(broker.process.pid) - cpu_before[0],
               sum(cpu_seconds(p.pid) for p in servers) - cpu_before[1], time.process_time() - cpu_before[2])
        publisher.close()
    finally:
        for proc in servers:
            proc.terminate()
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()
        broker.remove()
    ok = [r for r in results if r.ok]
    times = sorted(r.seconds for r in ok) or [float("nan")]
    wire_in = sum(r.bytes_in for r in results)
    wire_out = sum(r.bytes_out for r in results)
    blocks = n * manifest.block_count
    return RunResult(
        devices=n, client=args.client, servers=args.servers, model_bytes=len(data), block_size=args.block_size,
        window=args.window, data_qos=args.data_qos, connect_s=round(connect_s, 3), all_updated_s=round(elapsed, 3),
        verified=len(ok), corrupted_or_failed=n - len(ok), p50_s=round(statistics.median(times), 3),
        p95_s=round(times[min(len(times) - 1, int(0.95 * len(times)))], 3), max_s=round(times[-1], 3),
        requests=sum(r.requests for r in results), wire_bytes_in=wire_in, wire_bytes_out=wire_out,
        overhead=round(wire_in / (n * len(data)), 4) if wire_in else float("nan"),
        broker_out_mb_s=round(wire_in / elapsed / 1e6, 2) if wire_in else float("nan"),
        blocks_per_s=round(blocks / elapsed, 1),
        cpu_s_broker=round(cpu[0], 2), cpu_s_stream_servers=round(cpu[1], 2), cpu_s_devices=round(cpu[2], 2),
        errors=[r.error for r in results if not r.ok][:5])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="10,100,1000", help="comma-separated device counts")
    parser.add_argument("--size", type=int, default=100_000, help="model size in bytes")
    parser.add_argument("--block-size", type=int, default=4096)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--servers", type=int, default=1, help="stream-server processes (a shared-subscription pool)")
    parser.add_argument("--data-qos", type=int, choices=(0, 1), default=0,
                        help="QoS of blocks: stream server publish and device subscription")
    parser.add_argument("--client", choices=("lite", "paho"), default="lite")
    parser.add_argument("--request-timeout", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=120.0, help="per run")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "fanout.json")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        for n in (int(x) for x in args.devices.split(",")):
            r = run_once(n, args, Path(tmp))
            results.append(r)
            print(f"N={r.devices:5d} {r.client:4s} servers={r.servers} qos={r.data_qos}: all updated in "
                  f"{r.all_updated_s:7.2f} s (connect {r.connect_s:.2f} s; per device p50 {r.p50_s:.2f} "
                  f"p95 {r.p95_s:.2f} s), verified {r.verified}/{r.devices}, wire/model "
                  f"{r.overhead:.4f}, {r.broker_out_mb_s:.1f} MB/s to devices, {r.blocks_per_s:.0f} blocks/s, "
                  f"{r.requests} requests; CPU s broker {r.cpu_s_broker} servers {r.cpu_s_stream_servers} "
                  f"devices {r.cpu_s_devices}", flush=True)
            for e in r.errors:
                print("   ", e)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                                 "platform": platform.platform()},
                                     "results": [asdict(r) for r in results]}, indent=2))
    return 0 if all(r.corrupted_or_failed == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
