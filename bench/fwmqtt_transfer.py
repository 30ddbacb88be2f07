"""Transfer time of a model to the native board over MQTT, fetched by the firmware itself.

A real mosquitto (dcagent.fleet.local_broker), the publisher/stream server in this process
(dcagent.fleet.publisher), the native firmware as a process with a flash file, provisioned
through its `fleet start` console command. Reported per run: the device's own time from its
`downloading` status to `verified` (status time_ms, the board's clock), and the host's wall
time from provisioning to `confirmed` (download, verification, reboot into the new model,
self-test, confirm, reconnect).

    python bench/fwmqtt_transfer.py [--size 100000] [--runs 3] [--block-size 4096]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from dcagent.fleet.broker import BrokerClient  # noqa: E402
from dcagent.fleet.local_broker import PUBLISHER_USER, LocalBroker  # noqa: E402
from dcagent.fleet.messages import State  # noqa: E402
from dcagent.fleet.publisher import StreamServer, announce, manifest_for  # noqa: E402
from fwmqtt_device import NetBoard, StatusLog, raw_public_key, signed_model  # noqa: E402
from host.container.reader import open_container  # noqa: E402


def run_once(folder: Path, size: int, block_size: int, seed: int) -> dict[str, float]:
    key = Ed25519PrivateKey.generate()
    data = signed_model(key, size=size, version=2, seed=seed)
    broker = LocalBroker(folder / "broker", devices={"dev-a1": "alpha"}).start()
    log = StatusLog(broker)
    board = NetBoard(folder / "board")
    client = BrokerClient(broker.url(PUBLISHER_USER), "bench-pub", max_inflight=1000).connect()
    server = StreamServer(client)
    try:
        server.add(data)
        announce(client, manifest_for(open_container(data), "alpha", block_size=block_size))
        server.start()
        start = time.monotonic()
        board.start_agent(broker.url("dev-a1"), "alpha", raw_public_key(key))
        log.wait_state("dev-a1", State.CONFIRMED, timeout=120)
        wall = time.monotonic() - start
        first = next(s for s in log.statuses if s.state == State.DOWNLOADING)
        verified = log.wait_state("dev-a1", State.VERIFIED)
        device_s = (verified.time_ms - first.time_ms) / 1000
        return {"bytes": len(data), "device_download_verify_s": device_s, "wall_to_confirmed_s": wall,
                "requests": len(log.requests), "blocks_served": server.stats.blocks}
    finally:
        server.stop()
        client.close()
        board.close()
        log.close()
        broker.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--block-size", type=int, default=4096, help="the manifest's block size")
    args = parser.parse_args(argv)
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(run_once(Path(tmp), args.size, args.block_size, seed=i))
        print(json.dumps(runs[-1]), file=sys.stderr)
    dev = [r["device_download_verify_s"] for r in runs]
    wall = [r["wall_to_confirmed_s"] for r in runs]
    print(json.dumps({"size": runs[0]["bytes"], "runs": len(runs),
                      "device_download_verify_s_median": statistics.median(dev),
                      "throughput_kB_s": runs[0]["bytes"] / 1000 / statistics.median(dev),
                      "wall_to_confirmed_s_median": statistics.median(wall)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
