"""`dcagent demo`: the main job end to end on a bundled example model with its real data.

Compress examples/fashion_cnn/model_float32.tflite on its calibration data (calib.npz) under a
1-point accuracy budget (quantize, prune, choose bit widths and codebooks, entropy-code), sign
it with the development key (created when missing), read it back, verify signature and hash,
decode every tensor and compare, run the firmware's C runtime in both decode modes against the
reference interpreter, measure the C runtime's accuracy on all of the held-out evaluation data
(eval.npz, which the search never saw), write the decoded standard int8 TFLite model, and print
sizes and accuracy. Exit 0 when everything matched and the search met the budget, 1 otherwise;
a held-out loss beyond the budget is printed as a warning.
"""
from __future__ import annotations

import argparse
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


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="compress, sign, verify, decode and run a bundled example model",
                                   description=__doc__.split("\n\n")[1])
    parser.add_argument("--example", choices=EXAMPLE_NAMES, default="fashion_cnn",
                        help="bundled example (examples/<name>/: float32 model and eval data; default fashion_cnn)")
    parser.add_argument("--max-drop", type=float, default=1.0, metavar="PP",
                        help="accuracy budget in percentage points (default 1.0)")
    parser.add_argument("--workdir", metavar="DIR", type=Path, default=Path("build/demo"),
                        help="where the .dcb, the report and the decoded model are written (default build/demo)")
    parser.add_argument("--keys", metavar="DIR", type=Path, default=None,
                        help=f"development key folder (default {default_key_dir()}; created when missing)")
    parser.add_argument("--inputs", type=int, default=20, metavar="N",
                        help="evaluation samples run in both C runtime modes against the reference (default 20)")
    parser.set_defaults(func=run)


def _dev_key(folder: Path | None, console: Console):
    directory = folder if folder is not None else default_key_dir()
    if not (directory / PRIVATE_KEY_NAME).exists():
        pair = generate_keypair(directory)
        console.info(f"created development key {pair.private_path} (key id {pair.key_id.hex()})")
    return load_private_key(directory / PRIVATE_KEY_NAME), load_public_key(directory / "publisher.pub")


def run(args: argparse.Namespace, console: Console) -> int:
    from host.data import load_data, prepare_data
    from host.evaluation import evaluate, model_outputs
    from host.passes.search import BudgetError, compress
    from host.tflite import read_model, write_model

    if args.inputs < 1:
        raise ConfigError("--inputs must be >= 1")
    folder = EXAMPLES / args.example
    model_path, data_path, calib_path = folder / "model_float32.tflite", folder / "eval.npz", folder / "calib.npz"
    failures: list[str] = []
    original = model_path.read_bytes()
    graph = read_model(original)
    data = load_data(calib_path, graph)
    held_out = load_data(data_path, graph)
    name = args.example
    private, public = _dev_key(args.keys, console)
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.workdir / f"{name}.dcb"

    started = time.perf_counter()
    console.info(f"1. compressing examples/{name}/model_float32.tflite on {data.size} labelled calibration samples "
                 f"(budget {args.max_drop:g} accuracy points; {held_out.size} held-out samples score it)")
    try:
        with stage_progress(console) as report_progress:
            result = compress(graph, data, max_drop=args.max_drop, progress=report_progress,
                              search_samples=min(1000, data.size // 2), disjoint_verify=True)
    except BudgetError as exc:
        raise GoalNotMetError(f"demo: {exc}", hint=exc.hint) from exc
    from dcagent.cli.compress import without_unused_tensors

    graph_c = without_unused_tensors(result.graph)
    with progress_bar(console, "coding tensors") as update:
        packed = pack(graph_c, name=name, version=1, target="cortex-m4", compressor_version=__version__,
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

    on_device = evaluate(model_outputs(graph_c, int8_data, container=packed), int8_data.y)
    reference = evaluate(model_outputs(graph_c, int8_data), int8_data.y)
    original_acc = evaluate(model_outputs(graph, held_out), held_out.y).accuracy
    if on_device.accuracy != reference.accuracy:
        failures.append(f"C runtime accuracy {on_device.accuracy:.2f}% != reference {reference.accuracy:.2f}%")
    console.info(f"5. C runtime accuracy on all {on_device.samples} held-out samples: {on_device.accuracy:.2f}% "
                 f"(reference interpreter {reference.accuracy:.2f}%; float32 model {original_acc:.2f}%)")

    decoded_path = args.workdir / f"{name}.decoded.tflite"
    write_atomic(decoded_path, write_model(unpack(container)))
    console.info(f"6. decoded model written as standard int8 TFLite: {decoded_path}")

    report = compression_report(graph_c, container, original_bytes=len(original),
                                float32_bytes=result.float32_bytes)
    drop = result.original.accuracy - result.compressed.accuracy
    if drop > args.max_drop + 1e-9:
        failures.append(f"accuracy drop {drop:.2f} points exceeds the budget {args.max_drop:g}")
    held_drop = original_acc - on_device.accuracy
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
         f"{on_device.accuracy:.2f}%", f"{result.compressed.accuracy:.2f}%"],
        ["  payload / metadata", f"{report['payload_bytes']} / {report['metadata_bytes']}", "", "", ""],
        ["  bits per parameter", f"{report['bits_per_param']:.3f}", "", "", ""],
        ["  arena (per-layer decoding)", report["min_ram"], "", "", ""],
    ])
    console.table("tensors", ["name", "params", "rule", "bits", "sparsity", "bytes"], [
        [t["name"][-40:], t["params"], t["rule"], t["bits"], f"{100 * t['sparsity']:.0f}%", t["bytes"]]
        for t in report["tensors"] if t["rule"] != "exact"])
    if failures:
        raise GoalNotMetError("demo checks failed: " + "; ".join(failures[:5]))
    console.result(f"demo: all checks passed ({f32_file / report['compressed_bytes']:.1f}x smaller than the float32 model, "
                   f"held-out accuracy {original_acc:.1f}% -> {on_device.accuracy:.1f}%)")
    return 0
