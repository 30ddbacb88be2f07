"""Device-link benchmark: upload wire efficiency and time of the four MLPerf Tiny models.

    python bench/link_bench.py [--models DIR] [--frames 256,512,1024] [--lines 128] [--qemu]

Each model's int8 weight tensors (bench/weights.py) become one .dcb (raw codec, one tensor
per weight, per-channel scales; host.container), tagged with a device key, and are uploaded
with dcagent.link.flash to a native board through dcagent.link.Relay, which counts every
byte that crosses the line each way. Efficiency = model bytes / bytes on the line (host to
device, and both ways); time at 115200 baud 8N1 = (bytes both ways) x 10 bits / 115200
(the SMP exchange is lock-step, so the two directions add up). `--qemu` also times one real
upload to qemu-m4 (its emulated UART, not a baud rate, sets the pace there).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.weights import load_weights  # noqa: E402
from dcagent.boards import create_board  # noqa: E402
from dcagent.link import Relay, provision  # noqa: E402
from host.container.hmac_tag import add_device_tag  # noqa: E402
from host.container.layout import LevelDtype  # noqa: E402
from host.container.metadata import Compressor, Graph, Metadata, ModelInfo, Quantization, Target, TensorInfo  # noqa: E402
from host.container.writer import TensorPayload, build_container  # noqa: E402

MODELS = {"kws01": "kws_ref_model.tflite", "ic01": "pretrainedResnet_quant.tflite",
          "vww01": "vww_96_int8.tflite", "ad01": "ad01_int8.tflite"}
KEY = hashlib.sha256(b"dcagent link bench key").digest()
BAUD_BYTES_PER_S = 115200 / 10


def weights_container(name: str, path: Path, version: int) -> bytes:
    """A raw-codec .dcb holding every int8 weight tensor of the model at `path`."""
    tensors, payloads = [], []
    for i, w in enumerate(load_weights(path)):
        scales = tuple(float(s) for s in w.scales)
        tensors.append(TensorInfo(f"w{i}", tuple(int(d) for d in w.levels.shape), LevelDtype.INT8,
                                  Quantization(scales, tuple(0 for _ in scales), int(w.axis))))
        payloads.append(TensorPayload.raw(w.levels.reshape(-1).astype("int32"), LevelDtype.INT8))
    meta = Metadata(model=ModelInfo(name, version), target=Target("cortex-m4", 65536, 524288),
                    compressor=Compressor("link_bench", "0.1", {"coder": "raw"}),
                    graph=Graph((), (), (), ()), tensors=tuple(tensors))
    return add_device_tag(build_container(meta, payloads), KEY)


def upload_bytes(port: str, image: bytes, frame: int, line: int) -> tuple[int, int, float]:
    """(bytes to the device, bytes to the host, seconds) of one complete upload to slot 1."""
    import asyncio  # noqa: PLC0415

    from smpclient.requests.image_management import ImageErase  # noqa: PLC0415

    from dcagent.link.flash import _Flasher  # noqa: PLC0415 - the upload step alone
    from dcagent.link.session import SmpSession  # noqa: PLC0415

    with Relay(port) as relay:
        async def go():
            async with SmpSession(relay.port, frame_size=frame, line_length=line) as session:
                await session.request(ImageErase(slot=1), "erase")
                start = (relay.to_device, relay.to_host)
                began = time.monotonic()
                await _Flasher(session, image, None, 0, 10.0, 10.0).upload()
                took = time.monotonic() - began
                await asyncio.sleep(0.05)
                return relay.to_device - start[0], relay.to_host - start[1], took
        return asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT.parent / "shared" / "models" / "mlperf-tiny")
    parser.add_argument("--frames", default="256,512,1024", help="decoded frame sizes to try (<= device buf_size)")
    parser.add_argument("--lines", default="128", help="base64 line lengths to try")
    parser.add_argument("--qemu", action="store_true", help="also time one upload per model on qemu-m4")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    frames = [int(f) for f in args.frames.split(",")]
    lines = [int(n) for n in args.lines.split(",")]
    images = {name: weights_container(name, args.models / file, 1) for name, file in MODELS.items()}
    rows = []
    with tempfile.TemporaryDirectory() as state:
        board = create_board("native", state_dir=state)
        board.start()
        try:
            provision(board.port, KEY)
            for name, image in images.items():
                for frame in frames:
                    for line in lines:
                        up, down, took = upload_bytes(board.port, image, frame, line)
                        rows.append({"model": name, "bytes": len(image), "frame": frame, "line": line,
                                     "to_device": up, "to_host": down,
                                     "efficiency_up": len(image) / up, "efficiency": len(image) / (up + down),
                                     "time_115200_s": (up + down) / BAUD_BYTES_PER_S, "native_s": took})
        finally:
            board.stop()
        if args.qemu:
            for name, image in images.items():
                with tempfile.TemporaryDirectory() as qstate:
                    board = create_board("qemu-m4", state_dir=qstate)
                    board.start()
                    try:
                        provision(board.port, KEY)
                        up, down, took = upload_bytes(board.port, image, max(frames), 128)
                        rows.append({"model": name, "bytes": len(image), "frame": max(frames), "line": 128,
                                     "board": "qemu-m4", "to_device": up, "to_host": down,
                                     "efficiency_up": len(image) / up, "efficiency": len(image) / (up + down),
                                     "time_115200_s": (up + down) / BAUD_BYTES_PER_S, "qemu_s": took})
                    finally:
                        board.stop()
    print("| model | .dcb bytes | frame | line | to device | to host | efficiency (up) | efficiency (both) "
          "| time @115200 | measured |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        where = f"qemu-m4 {r['qemu_s']:.1f} s" if "qemu_s" in r else f"native {r['native_s']:.2f} s"
        print(f"| {r['model']} | {r['bytes']} | {r['frame']} | {r['line']} | {r['to_device']} | {r['to_host']} | "
              f"{r['efficiency_up']:.3f} | {r['efficiency']:.3f} | {r['time_115200_s']:.1f} s | {where} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
