"""`dcagent demo`: the main job end to end on a bundled example model with its real data.

Compress examples/fashion_cnn/model_float32.tflite on its calibration data (calib.npz) under a
1-point accuracy budget (quantize, prune, choose bit widths and codebooks, entropy-code), sign
it with the development key (created when missing), read it back, verify signature and hash,
decode every tensor and compare, run the firmware's C runtime in both decode modes against the
reference interpreter, measure the C runtime's accuracy on all of the held-out evaluation data
(eval.npz, which the search never saw), and write the decoded standard int8 TFLite model. Then
deliver it the way a fleet gets it: publish it to a local mosquitto, let a gateway agent
process download, verify, tag and flash it over SMP serial onto an emulated Cortex-M4 board
(qemu-m4), and measure it there with the hardware-in-the-loop harness on the held-out data:
accuracy on the board, exact instruction counts, estimated latency and energy, RAM and flash.
Prints a summary table and writes an HTML report. Exit 0 when everything matched and the
search met the budget, 1 otherwise; a held-out loss beyond the budget is printed as a warning.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dcagent import __version__
from dcagent.cli.console import Console
from dcagent.cli.exit_codes import GoalNotMetError
from dcagent.cli.progress import progress_bar, stage_progress
from dcagent.errors import ConfigError
from host.container.reader import read_container
from host.container.signing import (PRIVATE_KEY_NAME, default_key_dir, generate_keypair, load_private_key,
                                    load_public_key, sign_container, verify_signature)
from host.container.writer import write_atomic
from host.model_format import check_container, compression_report, pack, unpack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_NAMES = ("fashion_cnn", "kws", "lenet300", "har")
DEVICE_BOARDS = ("qemu-m4", "qemu-m7", "qemu-m33", "native")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="compress, sign, verify, decode and run a bundled example model",
                                   description=__doc__.split("\n\n")[1])
    parser.add_argument("--example", choices=EXAMPLE_NAMES, default="fashion_cnn",
                        help="bundled example (examples/<name>/: float32 model and eval data, compressed with the "
                             "options its meta.json names, e.g. kws with --refit; default fashion_cnn)")
    parser.add_argument("--max-drop", type=float, default=1.0, metavar="PP",
                        help="accuracy budget in percentage points (default 1.0)")
    parser.add_argument("--workdir", metavar="DIR", type=Path, default=Path("build/demo"),
                        help="where the .dcb, the report and the decoded model are written (default build/demo)")
    parser.add_argument("--keys", metavar="DIR", type=Path, default=None,
                        help=f"development key folder (default {default_key_dir()}; created when missing)")
    parser.add_argument("--inputs", type=int, default=20, metavar="N",
                        help="evaluation samples run in both C runtime modes against the reference (default 20)")
    parser.add_argument("--board", choices=DEVICE_BOARDS, default="qemu-m4",
                        help="the board the model is delivered to and measured on (default qemu-m4)")
    parser.add_argument("--device-samples", type=int, default=0, metavar="N",
                        help="evaluation samples run on the board (default 0: all of them)")
    parser.add_argument("--host-only", action="store_true",
                        help="stop after the host-side checks (no broker, agent or board)")
    parser.set_defaults(func=run)


def _board_cpu(board: str) -> str:
    """The CPU name a board reports (its agent accepts models whose target is that name)."""
    from dcagent.boards.qemu import MACHINES
    return MACHINES[board].cpu if board in MACHINES else "host"


def _dev_key(folder: Path | None, console: Console):
    directory = folder if folder is not None else default_key_dir()
    if not (directory / PRIVATE_KEY_NAME).exists():
        pair = generate_keypair(directory)
        console.info(f"created development key {pair.private_path} (key id {pair.key_id.hex()})")
    return load_private_key(directory / PRIVATE_KEY_NAME), load_public_key(directory / "publisher.pub")


def run(args: argparse.Namespace, console: Console) -> int:
    from dcagent.cli.example_options import cli_flags, search_space
    from host.data import load_data, prepare_data
    from host.evaluation import evaluate, model_outputs
    from host.passes.search import BudgetError, compress
    from host.tflite import read_model, write_model

    if args.inputs < 1:
        raise ConfigError("--inputs must be >= 1")
    if args.device_samples < 0:
        raise ConfigError("--device-samples must be >= 0 (0: all)")
    folder = EXAMPLES / args.example
    model_path, data_path, calib_path = folder / "model_float32.tflite", folder / "eval.npz", folder / "calib.npz"
    failures: list[str] = []
    original = model_path.read_bytes()
    graph = read_model(original)
    data = load_data(calib_path, graph)
    held_out = load_data(data_path, graph)
    name = args.example
    meta = json.loads((folder / "meta.json").read_text())
    private, public = _dev_key(args.keys, console)
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.workdir / f"{name}.dcb"

    started = time.perf_counter()
    flags = "".join(f" with {flag}" for flag in cli_flags(meta))  # the options its meta.json names
    console.info(f"1. compressing examples/{name}/model_float32.tflite{flags} on {data.size} labelled calibration "
                 f"samples (budget {args.max_drop:g} accuracy points; {held_out.size} held-out samples score it)")
    try:
        with stage_progress(console) as report_progress:
            result = compress(graph, data, max_drop=args.max_drop, space=search_space(meta),
                              progress=report_progress, search_samples=min(1000, data.size // 2),
                              disjoint_verify=True)
    except BudgetError as exc:
        raise GoalNotMetError(f"demo: {exc}", hint=exc.hint) from exc
    from dcagent.cli.compress import without_unused_tensors

    graph_c = without_unused_tensors(result.graph)
    with progress_bar(console, "coding tensors") as update:
        packed = pack(graph_c, name=name, version=1, target=_board_cpu(args.board), compressor_version=__version__,
                      compressor_settings={"mode": "lossy", "max_drop": float(args.max_drop)}, keep_names=False,
                      progress=update)
    packed = sign_container(packed, private)
    write_atomic(out, packed)
    console.info(f"   wrote {out} ({len(packed)} bytes, signed; {time.perf_counter() - started:.1f} s)")

    container = read_container(out)
    verify_signature(container, public)
    console.info(f"2. read back: structure and SHA-256 valid, Ed25519 signature verifies "
                 f"(key id {container.trailer.key_id.hex()})")

    raw = np.load(data_path)
    int8_data = prepare_data(raw["x"], raw["y"], graph_c)
    samples = [[int8_data.x[i:i + 1]] for i in range(min(args.inputs, int8_data.size))]
    check = check_container(packed, graph_c, samples)
    failures += list(check.problems)
    console.info(f"3. decoded {check.constants} tensors (weights rebuilt from their levels): "
                 f"{'all equal to the compressed model' if not any('decoded' in p for p in check.problems) else 'MISMATCH'}")
    console.info(f"4. C runtime in both decode modes on {check.samples} evaluation samples: "
                 f"{'outputs identical to the reference interpreter' if check.ok else 'MISMATCH'}")

    c_runtime = evaluate(model_outputs(graph_c, int8_data, container=packed), int8_data.y)
    reference = evaluate(model_outputs(graph_c, int8_data), int8_data.y)
    original_acc = evaluate(model_outputs(graph, held_out), held_out.y).accuracy
    if c_runtime.accuracy != reference.accuracy:
        failures.append(f"C runtime accuracy {c_runtime.accuracy:.2f}% != reference {reference.accuracy:.2f}%")
    console.info(f"5. C runtime accuracy on all {c_runtime.samples} held-out samples: {c_runtime.accuracy:.2f}% "
                 f"(reference interpreter {reference.accuracy:.2f}%; float32 model {original_acc:.2f}%)")

    decoded_path = args.workdir / f"{name}.decoded.tflite"
    write_atomic(decoded_path, write_model(unpack(container)))
    console.info(f"6. decoded model written as standard int8 TFLite: {decoded_path}")

    report = compression_report(graph_c, container, original_bytes=len(original),
                                float32_bytes=result.float32_bytes)
    drop = result.original.accuracy - result.compressed.accuracy
    if drop > args.max_drop + 1e-9:
        failures.append(f"accuracy drop {drop:.2f} points exceeds the budget {args.max_drop:g}")
    held_drop = original_acc - c_runtime.accuracy
    if held_drop > args.max_drop + 1e-9:
        console.info(f"warning: on the held-out data the loss ({held_drop:.2f} points) exceeds the budget "
                     f"({args.max_drop:g}) the search met on calib.npz ({drop:.2f} points there)")
    f32_file = len(original)
    console.table(f"dcagent demo: {name}", ["", "bytes", "vs float32 model", "accuracy held out",
                                             "accuracy calib (verify)"], [
        ["float32 model (.tflite)", f32_file, "1.00x", f"{original_acc:.2f}%", f"{result.original.accuracy:.2f}%"],
        ["int8 after PTQ (estimate)", round(result.int8_bytes), f"{f32_file / result.int8_bytes:.2f}x", "-",
         f"{result.int8.accuracy:.2f}%"],
        [".dcb (signed, compressed)", report["compressed_bytes"], f"{f32_file / report['compressed_bytes']:.2f}x",
         f"{c_runtime.accuracy:.2f}%", f"{result.compressed.accuracy:.2f}%"],
        ["  payload / metadata", f"{report['payload_bytes']} / {report['metadata_bytes']}", "", "", ""],
        ["  bits per parameter", f"{report['bits_per_param']:.3f}", "", "", ""],
        ["  min RAM (least arena, every board)", report["min_ram"], "", "", ""],
    ])
    console.table("tensors", ["name", "params", "rule", "bits", "sparsity", "bytes"], [
        [t["name"][-40:], t["params"], t["rule"], t["bits"], f"{100 * t['sparsity']:.0f}%", t["bytes"]]
        for t in report["tensors"] if t["rule"] != "exact"])
    device = None
    if not args.host_only and not failures:
        device = _on_device(args, console, out, data_path, graph, held_out, original_acc, c_runtime.accuracy,
                            f32_file, report)
        if not device.ok:
            failures.append(_device_failure(device.case))
    if failures:
        raise GoalNotMetError("demo checks failed: " + "; ".join(failures[:5]))
    where = "" if device is None else f", same on {args.board}: {device.samples} samples bit-exact"
    console.result(f"demo: all checks passed ({f32_file / report['compressed_bytes']:.1f}x smaller than the float32 model, "
                   f"held-out accuracy {original_acc:.1f}% -> {c_runtime.accuracy:.1f}%{where})")
    return 0


def _on_device(args, console: Console, dcb: Path, data_path: Path, graph, held_out, original: float, host: float,
               f32_file: int, report):
    """Steps 7-8: the fleet path onto the board, the harness's measurement, the summary table."""
    from dcagent.cli.demo_device import deliver_and_measure, summary_rows
    from host.evaluation import evaluate, model_outputs

    key = (args.keys if args.keys is not None else default_key_dir()) / PRIVATE_KEY_NAME
    console.info(f"7. delivering {dcb.name} to {args.board}: local mosquitto -> gateway agent process -> SMP serial, "
                 f"then measuring it there")
    device = deliver_and_measure(dcb, data_path, args.board, samples=args.device_samples, workdir=args.workdir,
                                 publisher_key=key, console=console)
    m = device.case.metrics
    if device.samples and device.samples < held_out.size:   # the same samples the board ran (hil draws them seeded)
        subset = held_out.subset(device.samples)
        original = evaluate(model_outputs(graph, subset), subset.y).accuracy
        host = 100.0 * (m.reference_accuracy or 0.0)
    if device.case.status != "error":
        console.table(f"dcagent demo: {args.example} on {args.board}", ["", "value", "basis"],
                      summary_rows(device, float_bytes=f32_file, dcb_bytes=report["compressed_bytes"],
                                   original_accuracy=original, host_accuracy=host, board=args.board))
    console.info(f"8. report: {device.reports['html']} (also {device.reports['json'].name}, "
                 f"{device.reports['junit'].name})")
    return device


def _device_failure(case) -> str:
    if case.error:
        return f"on the board: {case.error.splitlines()[0]}"
    return "on the board: " + "; ".join(v.message for v in case.violations)
