"""`dcagent demo`: the main job end to end on the bundled keyword-spotting model.

Compress examples/models/kws_ref_model.tflite losslessly, sign it with the development key
(created when missing), read it back, verify signature and hash, decode every tensor and
compare, run the firmware's C runtime in both decode modes against the reference interpreter,
and print the sizes. Exit 0 when everything matched, 1 when a check failed.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from dcagent import __version__
from dcagent.cli.console import Console
from dcagent.cli.exit_codes import GoalNotMetError
from dcagent.cli.progress import progress_bar
from dcagent.errors import ConfigError
from host.container.reader import read_container
from host.container.signing import (PRIVATE_KEY_NAME, default_key_dir, generate_keypair, load_private_key,
                                    load_public_key, sign_container, verify_signature)
from host.container.writer import write_atomic
from host.model_format import compression_report, pack, unpack
from host.reference import run as reference_run
from host.runtime import DecodeMode, Runtime
from host.tflite import read_model

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "models" / "kws_ref_model.tflite"
TFLM_ARENA = {"kws_ref_model": 22_820}  # TFLite Micro + CMSIS-NN on Cortex-M4 (shared/models/mlperf-tiny README)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="compress, sign, verify, decode and run the bundled KWS model",
                                   description=__doc__.split("\n\n")[1])
    parser.add_argument("--model", metavar="MODEL.tflite", type=Path, default=EXAMPLE,
                        help="int8 model to use (default: the bundled MLPerf Tiny KWS model)")
    parser.add_argument("--workdir", metavar="DIR", type=Path, default=Path("build/demo"),
                        help="where the .dcb and the decoded model are written (default build/demo)")
    parser.add_argument("--keys", metavar="DIR", type=Path, default=None,
                        help=f"development key folder (default {default_key_dir()}; created when missing)")
    parser.add_argument("--inputs", type=int, default=5, metavar="N", help="seeded random inputs to run (default 5)")
    parser.set_defaults(func=run)


def _dev_key(folder: Path | None, console: Console):
    directory = folder if folder is not None else default_key_dir()
    if not (directory / PRIVATE_KEY_NAME).exists():
        pair = generate_keypair(directory)
        console.info(f"created development key {pair.private_path} (key id {pair.key_id.hex()})")
    return load_private_key(directory / PRIVATE_KEY_NAME), load_public_key(directory / "publisher.pub")


def run(args: argparse.Namespace, console: Console) -> int:
    if args.inputs < 1:
        raise ConfigError("--inputs must be >= 1")
    failures: list[str] = []
    original = args.model.read_bytes()
    graph = read_model(original)
    name = args.model.stem
    private, public = _dev_key(args.keys, console)
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.workdir / f"{name}.dcb"

    started = time.perf_counter()
    with progress_bar(console, "compressing") as update:
        data = pack(graph, name=name, version=1, target="cortex-m4", compressor_settings={"mode": "lossless"},
                    compressor_version=__version__, progress=update)
    data = sign_container(data, private)
    write_atomic(out, data)
    console.info(f"1. compressed losslessly and signed: {out} ({len(data)} bytes, "
                 f"{time.perf_counter() - started:.2f} s)")

    container = read_container(out)
    verify_signature(container, public)
    console.info(f"2. read back: structure and SHA-256 valid, Ed25519 signature verifies "
                 f"(key id {container.trailer.key_id.hex()})")

    with progress_bar(console, "decoding") as update:
        decoded = unpack(container, progress=update)
    differing = [t.name for t, d in zip(graph.tensors, decoded.tensors)
                 if (t.data is None) != (d.data is None) or (t.data is not None and not np.array_equal(t.data, d.data))]
    constants = sum(1 for t in graph.tensors if t.data is not None)
    if differing:
        failures.append(f"{len(differing)} tensors differ after decoding, first {differing[0]!r}")
    console.info(f"3. decoded {constants} constant tensors: "
                 f"{'all equal to the original' if not differing else 'MISMATCH'}")

    rng = np.random.default_rng(20240611)
    inputs = [[rng.integers(-128, 128, size=t.shape, dtype=np.int8) for t in graph.input_tensors()]
              for _ in range(args.inputs)]
    expected = [reference_run(graph, x) for x in inputs]
    arenas = {}
    for mode in DecodeMode:
        runtime = Runtime(data, mode)
        arenas[mode] = runtime.info
        mismatches = 0
        for x, want in zip(inputs, expected):
            got = runtime.run(x)
            mismatches += sum(int(np.count_nonzero(g != w)) for g, w in zip(got, want))
        if mismatches:
            failures.append(f"C runtime ({mode.name}) differs from the reference in {mismatches} output values")
        console.info(f"4. C runtime, weights decoded {mode.name.lower().replace('_', ' ')}: {len(inputs)} inputs, "
                     f"{'outputs identical to the reference interpreter' if not mismatches else 'MISMATCH'} "
                     f"(arena {runtime.arena_bytes} bytes)")

    report = compression_report(graph, container, original_bytes=len(original))
    int8_params = sum(t.data.size for t in graph.tensors if t.data is not None and t.dtype.value == "int8")
    rows = [
        ["float32 weights", report["float32_bytes"], "1.00x"],
        ["int8 TFLite model", report["original_bytes"], f"{report['float32_bytes'] / report['original_bytes']:.2f}x"],
        [".dcb (signed, lossless)", report["compressed_bytes"], f"{report['ratio_vs_float32']:.2f}x"],
        ["  payload / metadata", f"{report['payload_bytes']} / {report['metadata_bytes']}", ""],
        ["  bits per parameter", f"{report['bits_per_param']:.3f}", f"({int8_params} int8 weights)"],
    ]
    for mode, info in arenas.items():
        rows.append([f"arena, decode {mode.name.lower()}", info["arena_needed"],
                     f"TFLM {TFLM_ARENA[name]}" if name in TFLM_ARENA else ""])
    console.table(f"dcagent demo: {name}", ["", "bytes", "vs float32"], rows)
    if failures:
        raise GoalNotMetError("demo checks failed: " + "; ".join(failures))
    console.result("demo: all checks passed")
    return 0
