"""Exact guest instructions per kernel call on QEMU Cortex-M4: reference vs optimized int8 kernels.

    python bench/kernel_insns.py [--models DIR] [--board qemu-m4] [--kernels opt|ref] [--markdown]
                                 [--readme] [--sizes] [--json OUT]

For every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED layer of the four MLPerf Tiny int8 models
the firmware's `kcheck` command (firmware/app/kernel_check.h) runs the reference kernel and the
board's kernel on the layer's shapes and quantization parameters (data from a seed), checks that
the outputs are identical, and the QEMU instruction-count plugin gives each call's exact count
(profiling regions 250 and 251). Counts are instructions, not cycles; they include a few
instructions of the profiling marks. Model totals are sums over these layers only (no ADD,
AVERAGE_POOL_2D, SOFTMAX, RESHAPE, no interpreter): a whole-inference count needs the C runtime.

Exit status: 0 when every layer's outputs are equal and the targets hold (optimized CONV_2D layers
<= 2 instructions per MAC, KWS layers <= 5.2 M instructions), 1 when outputs differ, 3 when a
target is missed (e.g. with --kernels ref, which builds the board without the optimized kernels).
`--readme` rewrites the "Kernels on Cortex-M4" section of bench/README.md; `--sizes` adds the
firmware code sizes of each QEMU board with and without the optimized kernels.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dcagent.boards import QemuBoard  # noqa: E402
from dcagent.boards.firmware import build_firmware, firmware_dir  # noqa: E402
from dcagent.boards.kcheck import OPT_REGION, REF_REGION, LayerCase, model_layer_cases, parse_reply  # noqa: E402
from bench.readme import replace_section  # noqa: E402

DEFAULT_MODELS = ROOT.parent / "shared" / "models" / "mlperf-tiny"
MODELS = [("KWS", "kws_ref_model"), ("ResNet-8", "pretrainedResnet_quant"), ("VWW", "vww_96_int8"),
          ("AD", "ad01_int8")]
# TFLite Micro + CMSIS-NN, whole inference on this QEMU Cortex-M4 (instructions, per MAC): the brief.
TFLM_CMSIS = {"KWS": (7_697_888, 2.89), "ResNet-8": (29_861_587, 2.39), "VWW": (24_101_872, 3.22),
              "AD": (582_906, 2.21)}
CONV_TARGET_PER_MAC = 2.0
KWS_TARGET = 5_200_000
SECTION = "## Kernels on Cortex-M4"
KERNEL_FILES = ("dc_conv_s8", "dc_depthwise_conv_s8", "dc_fully_connected_s8")


@dataclass
class LayerResult:
    model: str
    op_index: int
    kind: str
    shape: str
    macs: int
    ref: int
    opt: int
    equal: bool
    detail: str


def _shape(layer: LayerCase) -> str:
    c = layer.case
    if layer.kind == "FULLY_CONNECTED":
        return f"{c.batches}x{c.depth} -> {c.units}"
    k = f"{c.kh}x{c.kw}"
    s = f"/{c.stride[0]}" if c.stride != (1, 1) else ""
    out_c = c.cout if layer.kind == "CONV_2D" else c.c * c.dm
    return f"{c.h}x{c.w}x{c.c} {k}{s} -> {c.out_hw[0]}x{c.out_hw[1]}x{out_c}"


def measure(models_dir: Path, board_name: str, kernels: str) -> list[LayerResult]:
    """Run every layer through kcheck on one board; raises BoardError when the board fails."""
    import serial

    results = []
    with QemuBoard(board_name, kernels=kernels) as board:
        link = serial.Serial(board.port, timeout=120)
        for label, stem in MODELS:
            for layer in model_layer_cases(models_dir / f"{stem}.tflite"):
                before = len(board.instructions().spans(OPT_REGION))
                link.write(layer.case.command().encode() + b"\n")
                reply = parse_reply(link.readline().decode())
                spans = _wait_spans(board, before)
                results.append(LayerResult(label, layer.op_index, layer.kind, _shape(layer), layer.case.macs,
                                           spans[REF_REGION], spans[OPT_REGION],
                                           reply.equal and reply.ref_status == "DC_OK", reply.describe()))
        link.close()
    return results


def _wait_spans(board, before: int, timeout_s: float = 10.0) -> dict[int, int]:
    """The last visit of each kcheck region, once the log shows a new visit of the optimized one."""
    deadline = time.monotonic() + timeout_s
    while True:
        log = board.instructions()
        ref, opt = log.spans(REF_REGION), log.spans(OPT_REGION)
        if len(opt) > before and ref:
            return {REF_REGION: ref[-1], OPT_REGION: opt[-1]}
        if time.monotonic() > deadline:
            raise TimeoutError("the instruction-count log did not show the kernel calls")
        time.sleep(0.01)


def code_sizes() -> list[dict]:
    """arm-none-eabi-size of each QEMU board's image and kernel objects, optimized and reference."""
    rows = []
    fw = firmware_dir()
    for board in ("qemu-m4", "qemu-m7", "qemu-m33"):
        for kernels in ("opt", "ref"):
            image = build_firmware(board, kernels=kernels)
            out = subprocess.run(["arm-none-eabi-size", str(image.path)], capture_output=True, text=True, check=True)
            text, data, bss = (int(v) for v in out.stdout.splitlines()[1].split()[:3])
            build = fw / "build" / (board if kernels == "opt" else f"{board}-ref")
            objs = []
            for name in KERNEL_FILES:
                arch = build / "obj" / "lib" / "arch" / "armv7em" / f"{name}.c.o"
                objs.append(arch if arch.is_file() else build / "obj" / "lib" / "src" / "kernels" / f"{name}.c.o")
            out = subprocess.run(["arm-none-eabi-size", *map(str, objs)], capture_output=True, text=True, check=True)
            kernel_text = sum(int(line.split()[0]) for line in out.stdout.splitlines()[1:])
            rows.append(dict(board=board, kernels=kernels, text=text, data=data, bss=bss, kernel_text=kernel_text))
    return rows


def summarize(results: list[LayerResult]) -> dict:
    models = {}
    for label, _ in MODELS:
        rows = [r for r in results if r.model == label]
        by_kind = {}
        for kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            k = [r for r in rows if r.kind == kind]
            if k:
                by_kind[kind] = dict(layers=len(k), macs=sum(r.macs for r in k), ref=sum(r.ref for r in k),
                                     opt=sum(r.opt for r in k))
        models[label] = dict(layers=len(rows), macs=sum(r.macs for r in rows), ref=sum(r.ref for r in rows),
                             opt=sum(r.opt for r in rows), by_kind=by_kind)
    return models


def targets(results: list[LayerResult], models: dict) -> list[str]:
    """The targets missed, as sentences (empty when all hold)."""
    missed = [f"{r.model} op {r.op_index} CONV_2D: {r.opt / r.macs:.2f} instructions/MAC > {CONV_TARGET_PER_MAC}"
              for r in results if r.kind == "CONV_2D" and r.opt / r.macs > CONV_TARGET_PER_MAC]
    if models["KWS"]["opt"] > KWS_TARGET:
        missed.append(f"KWS layers: {models['KWS']['opt']:,} instructions > {KWS_TARGET:,}")
    return missed


def _m(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 100_000 else f"{n:,}"


def markdown(results: list[LayerResult], models: dict, sizes: list[dict] | None, kernels: str) -> str:
    lines = ["| model | layers | MACs | reference | per MAC | optimized | per MAC | speed-up | "
             "TFLM + CMSIS-NN (whole inference) |", "|---|---|---|---|---|---|---|---|---|"]
    for label, m in models.items():
        tflm, tflm_mac = TFLM_CMSIS[label]
        lines.append(f"| {label} | {m['layers']} | {m['macs']:,} | {_m(m['ref'])} | {m['ref'] / m['macs']:.2f} | "
                     f"{_m(m['opt'])} | {m['opt'] / m['macs']:.2f} | {m['ref'] / m['opt']:.1f}x | "
                     f"{_m(tflm)} ({tflm_mac:.2f}/MAC) |")
    lines += ["", "Per layer type (instructions per MAC, reference -> optimized):", "",
              "| model | CONV_2D | DEPTHWISE_CONV_2D | FULLY_CONNECTED |", "|---|---|---|---|"]
    for label, m in models.items():
        cells = []
        for kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            k = m["by_kind"].get(kind)
            cells.append("-" if k is None else
                         f"{k['ref'] / k['macs']:.2f} -> {k['opt'] / k['macs']:.2f} ({k['layers']})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "<details><summary>Every layer</summary>", "",
              "| model | op | kind | shape | MACs | reference | optimized | ref/MAC | opt/MAC | equal |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.model} | {r.op_index} | {r.kind} | {r.shape} | {r.macs:,} | {r.ref:,} | {r.opt:,} | "
                     f"{r.ref / r.macs:.2f} | {r.opt / r.macs:.2f} | {'yes' if r.equal else 'NO: ' + r.detail} |")
    lines += ["", "</details>"]
    if sizes:
        lines += ["", "Firmware code size (`arm-none-eabi-size`, bytes; `kernels` = .text of the conv, depthwise "
                  "and fully connected objects linked into the image):", "",
                  "| board | kernels | image .text | .data | .bss | kernel .text |", "|---|---|---|---|---|---|"]
        for row in sizes:
            lines.append(f"| {row['board']} | {row['kernels']} | {row['text']:,} | {row['data']:,} | "
                         f"{row['bss']:,} | {row['kernel_text']:,} |")
    if kernels != "opt":
        lines.insert(0, f"_(measured with KERNELS={kernels}: the optimized column is the reference kernel)_\n")
    return "\n".join(lines)


def write_readme(body: str, commit: str) -> None:
    """Replace (or append) the "Kernels on Cortex-M4" section of bench/README.md."""
    replace_section(SECTION, f"`python bench/kernel_insns.py --readme --sizes` (exact guest instructions from the QEMU "
                    f"plugin, qemu-m4 = mps2-an386, arm-none-eabi-gcc 12.2 -O2; commit {commit}). Model rows sum the "
                    "conv, depthwise and fully connected layers only; the TFLite Micro column is a whole inference "
                    "(all ops and the interpreter), so it is an upper reference, not a like-for-like figure.\n\n"
                    f"{body}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="the MLPerf Tiny .tflite folder")
    parser.add_argument("--board", default="qemu-m4", choices=["qemu-m4", "qemu-m7", "qemu-m33"])
    parser.add_argument("--kernels", default="opt", choices=["opt", "ref"],
                        help="build the board with its optimized kernels (default) or the reference ones")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--readme", action="store_true", help="rewrite the section in bench/README.md")
    parser.add_argument("--sizes", action="store_true", help="also build every QEMU board twice for code sizes")
    parser.add_argument("--json", type=Path, help="write all numbers as JSON")
    args = parser.parse_args(argv)

    results = measure(args.models, args.board, args.kernels)
    models = summarize(results)
    sizes = code_sizes() if args.sizes else None
    body = markdown(results, models, sizes, args.kernels)
    print(body if args.markdown or args.readme else body.split("<details>")[0])
    if args.readme:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or "unknown"
        write_readme(body, commit)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(layers=[asdict(r) for r in results], models=models, sizes=sizes),
                                        indent=1))
    if not all(r.equal for r in results):
        print("outputs differ: " + "; ".join(f"{r.model} op {r.op_index}: {r.detail}" for r in results
                                             if not r.equal), file=sys.stderr)
        return 1
    missed = targets(results, models)
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
