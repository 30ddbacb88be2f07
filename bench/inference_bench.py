"""Whole inferences of the four MLPerf Tiny int8 models on QEMU Cortex-M4, through the device link.

    python bench/inference_bench.py [--models DIR] [--board qemu-m4] [--runs 3] [--readme] [--json OUT]
                                    [--from-json OUT]

Each model is compressed losslessly (host.model_format.pack, CABAC: `dcagent compress --lossless`),
tagged for the board, delivered over SMP (`dcagent flash`), loaded by the firmware's C runtime
from its slot (runtime_adapter.c: decoded at load when the arena allows) and run on `--runs`
seeded inputs through the SMP model group. Every output is checked with `==` against the host
reference interpreter. The QEMU instruction-count plugin gives the exact guest instructions of
each dc_model_invoke (the firmware's profiling region 2, firmware/app/runtime_adapter.h): the
whole inference (every op, the runtime's dispatch, weights already decoded), nothing of the
link. Both builds of the board: the optimized Cortex-M DSP kernels (default) and KERNELS=ref.
Beside them the TFLite Micro figures measured on the same QEMU board
(/work/shared/models/mlperf-tiny/README.md). Counts are instructions, not cycles.

Exit status 0, or 1 when an output differs from the reference.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dcagent.boards import QemuBoard  # noqa: E402
from dcagent.boards.firmware import build_firmware  # noqa: E402
from dcagent.boards.kcheck import model_layer_cases  # noqa: E402
from dcagent.link import console_model, flash, infer, inference_instructions, provision  # noqa: E402
from host.container.hmac_tag import add_device_tag  # noqa: E402
from host.model_format import pack  # noqa: E402
from host.reference import run as reference_run  # noqa: E402
from host.runtime import DecodeMode, arena_size  # noqa: E402
from host.tflite import read_model  # noqa: E402
from bench.readme import replace_section  # noqa: E402

DEFAULT_MODELS = ROOT.parent / "shared" / "models" / "mlperf-tiny"
MODELS = [("KWS", "kws_ref_model"), ("ResNet-8", "pretrainedResnet_quant"), ("VWW", "vww_96_int8"),
          ("AD", "ad01_int8")]
# TFLite Micro 90b983c on this QEMU Cortex-M4, whole inference (shared models README).
TFLM_CMSIS = {"KWS": 7_697_888, "ResNet-8": 29_861_587, "VWW": 24_101_872, "AD": 582_906}
TFLM_REF = {"KWS": 43_112_788, "ResNet-8": 107_492_395, "VWW": 100_471_962, "AD": 1_953_804}
TFLM_ARENA = {"KWS": 22_820, "ResNet-8": 54_996, "VWW": 100_708, "AD": 2_580}
KEY = hashlib.sha256(b"dcagent inference bench device key").digest()
SECTION = "## Inference on Cortex-M4"


@dataclass
class ModelRun:
    model: str
    kernels: str
    macs: int
    container_bytes: int
    instructions: list[int]
    equal: bool
    detail: str
    device: dict[str, str] = field(default_factory=dict)  # the console's `model` line
    arena_per_layer_host: int = 0


def wait_spans(board: QemuBoard, count: int, timeout_s: float = 10.0) -> list[int]:
    """The instruction spans of the board's inferences once `count` are logged (or the timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        spans = inference_instructions(board.instructions().marks)
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.02)


def measure(models_dir: Path, board_name: str, kernels: str, runs: int) -> list[ModelRun]:
    """Deliver and run every model on one build of the board. Raises BoardError, DeviceError."""
    results = []
    with tempfile.TemporaryDirectory() as state, QemuBoard(board_name, state_dir=state, kernels=kernels) as board:
        provision(board.port, KEY)
        seen = 0
        for version, (label, stem) in enumerate(MODELS, start=1):
            graph = read_model((models_dir / f"{stem}.tflite").read_bytes())
            container = pack(graph, name=stem, version=version, target="cortex-m4")
            flash(board.port, add_device_tag(container, KEY), confirm=True, timeout_s=10.0)
            (spec,) = graph.input_tensors()
            x = np.random.default_rng(version).integers(-128, 128, size=(runs, *spec.shape), dtype=np.int8)
            results_ = infer(board.port, x, timeout_s=60.0)
            spans = wait_spans(board, seen + runs)[seen:seen + runs]
            seen += runs
            problems = []
            for i, r in enumerate(results_):
                (expected,) = reference_run(graph, [x[i]])
                got = np.frombuffer(r.output, dtype=np.int8).reshape(-1)
                bad = np.flatnonzero(got != expected.reshape(-1))
                if bad.size:
                    problems.append(f"input {i} element {bad[0]}: {got[bad[0]]} vs {expected.reshape(-1)[bad[0]]}")
            macs = sum(layer.case.macs for layer in model_layer_cases(models_dir / f"{stem}.tflite"))
            results.append(ModelRun(label, kernels, macs, len(container), spans, not problems,
                                    "; ".join(problems), console_model(board.port),
                                    arena_size(container, DecodeMode.PER_LAYER)))
            print(f"{kernels} {label}: {spans} instructions, equal={not problems}", file=sys.stderr)
    return results


def code_size(board_name: str, kernels: str) -> dict[str, int]:
    image = build_firmware(board_name, kernels=kernels)
    out = subprocess.run(["arm-none-eabi-size", str(image.path)], capture_output=True, text=True, check=True)
    text, data, bss = (int(v) for v in out.stdout.splitlines()[1].split()[:3])
    return dict(text=text, data=data, bss=bss)


def _m(n: float) -> str:
    return f"{n / 1e6:.2f} M"


def markdown(results: list[ModelRun], sizes: dict[str, dict[str, int]], runs: int) -> str:
    by = {(r.model, r.kernels): r for r in results}
    lines = ["| model | MACs | ours, DSP kernels | per MAC | ours, reference kernels | per MAC | "
             "TFLM + CMSIS-NN | per MAC | TFLM reference | ours / TFLM (optimized) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, _ in MODELS:
        opt, ref = by.get((label, "opt")), by.get((label, "ref"))
        if opt is None or ref is None:
            continue
        o, f = min(opt.instructions), min(ref.instructions)
        lines.append(f"| {label} | {_m(opt.macs)} | {o:,} | {o / opt.macs:.2f} | {f:,} | {f / ref.macs:.2f} | "
                     f"{TFLM_CMSIS[label]:,} | {TFLM_CMSIS[label] / opt.macs:.2f} | {_m(TFLM_REF[label])} | "
                     f"{o / TFLM_CMSIS[label]:.2f} |")
    lines += ["", "Memory (device `model` line, qemu-m4 DSP build; arena = the firmware's static "
              f"{int(results[0].device['arena'].split('/')[1]):,}-byte arena):", "",
              "| model | .dcb bytes | decode | arena used | of which kernel scratch | per-layer arena (host) | "
              "TFLM arena | spread over inputs (DSP) |", "|---|---|---|---|---|---|---|---|"]
    for label, _ in MODELS:
        r = by.get((label, "opt"))
        if r is None:
            continue
        used = int(r.device["arena"].split("/")[0])
        spread = max(r.instructions) - min(r.instructions)
        lines.append(f"| {label} | {r.container_bytes:,} | {r.device['decode']} | {used:,} | "
                     f"{int(r.device['scratch']):,} | {r.arena_per_layer_host:,} | {TFLM_ARENA[label]:,} | "
                     f"{spread:,} over {runs} inputs |")
    lines += ["", "Firmware code (arm-none-eabi-size of the whole image: runtime, kernels, decoder, SMP, "
              "MLPerf protocol, fleet agent, console):", "", "| build | text | data | bss |", "|---|---|---|---|"]
    for kernels, s in sizes.items():
        lines.append(f"| qemu-m4 KERNELS={kernels} | {s['text']:,} | {s['data']:,} | {s['bss']:,} |")
    return "\n".join(lines)


def write_readme(body: str, commit: str, runs: int) -> None:
    replace_section(SECTION, f"`python bench/inference_bench.py --readme` (commit {commit}; qemu-m4 = mps2-an386, "
                    "arm-none-eabi-gcc 12.2 -O2). Exact guest instructions of one `dc_model_invoke` from the QEMU "
                    "plugin (the smallest of "
                    f"{runs} seeded inputs; the spread is data-dependent branches), every output equal to the host "
                    "reference interpreter. The models are the lossless .dcb containers delivered over SMP; the "
                    "runtime decoded their weights at load, so an inference decodes nothing. The TFLite Micro "
                    "columns are the whole-inference counts measured on the same QEMU board (shared models README). "
                    "MACs: conv, depthwise and fully connected layers.\n\n"
                    f"{body}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="the MLPerf Tiny .tflite folder")
    parser.add_argument("--board", default="qemu-m4", choices=["qemu-m4", "qemu-m7", "qemu-m33"])
    parser.add_argument("--runs", type=int, default=3, help="seeded inputs per model (default 3)")
    parser.add_argument("--readme", action="store_true", help="rewrite the section in bench/README.md")
    parser.add_argument("--json", type=Path, help="write all numbers as JSON")
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="render the tables from an earlier --json run instead of measuring")
    args = parser.parse_args(argv)

    if args.from_json is not None:
        saved = json.loads(args.from_json.read_text())
        results = [ModelRun(**r) for r in saved["models"]]
        sizes = saved["sizes"]
        args.runs = len(results[0].instructions)
    else:
        results = measure(args.models, args.board, "opt", args.runs) + measure(args.models, args.board, "ref",
                                                                                  args.runs)
        sizes = {k: code_size(args.board, k) for k in ("opt", "ref")}
    body = markdown(results, sizes, args.runs)
    print(body)
    if args.readme:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or "unknown"
        write_readme(body, commit, args.runs)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(models=[asdict(r) for r in results], sizes=sizes), indent=1))
    bad = [r for r in results if not r.equal]
    for r in bad:
        print(f"outputs differ: {r.kernels} {r.model}: {r.detail}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
