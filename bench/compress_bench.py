"""Post-training compression of the example models: sizes and accuracy against float32 and int8.

For every example under examples/ it compresses the float32 model with `host.passes.search.
compress` on the example's eval.npz (the data a user would hand to `dcagent compress`) under a
budget of `--max-drop` accuracy points against the float32 model, and reports: the float32 and
TFLite int8 file sizes, our size (real entropy-coded payloads from host.coder + per-tensor side
information, rate.graph_bytes; docs/compression.md "Sizes"), the ratio to the float32 file,
accuracy of the float32 model, of TFLite's int8 model (meta.json), of ours, the drops, and the
search time. The Fashion-MNIST examples are also measured on held-out test images the search
never saw (t10k images 500..N), which shows how much of the budget the search spent fitting
its own 500 samples.

    python bench/compress_bench.py [--models fashion_cnn,lenet300,kws,har] [--max-drop 1.0]
                                   [--holdout 2000] [--json OUT] [--markdown]

Peer columns (TFLite Micro 4-bit LUT compression, NNCodec at equal accuracy) are printed as
"n/a": not implemented yet (bench/README.md). Exit status 0 when every model met its budget,
1 when one raised BudgetError, 2 when the examples cannot be read.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `host` and `examples` importable
    sys.path.insert(0, str(ROOT))

from host.data import load_data, prepare_data  # noqa: E402
from host.errors import DcagentError  # noqa: E402
from host.passes.execute import run_samples  # noqa: E402
from host.passes.fidelity import real_outputs  # noqa: E402
from host.passes.rate import graph_bytes  # noqa: E402
from host.passes.search import BudgetError, compress  # noqa: E402
from host.tflite import read_model  # noqa: E402

EXAMPLES = ("fashion_cnn", "lenet300", "kws", "har")
# Fixed container framing (docs/bitstream.md): 96-byte header + 152-byte trailer.
FRAMING_BYTES = 96 + 152


@dataclass
class Row:
    """One example's measurements (sizes in bytes, accuracies in percent)."""

    model: str
    params: int
    float32_file: int
    int8_file: int
    ours_bytes: int
    ratio: float
    ratio_int8_file: float
    float32_acc: float
    tflite_int8_acc: float
    our_int8_acc: float
    ours_acc: float
    drop_vs_float32: float
    drop_vs_tflite_int8: float
    met_budget: bool
    seconds: float
    choices: list[str]
    holdout_samples: int = 0
    holdout_float32_acc: float | None = None
    holdout_ours_acc: float | None = None


def _accuracy(graph, x: np.ndarray, y: np.ndarray) -> float:
    data = prepare_data(x, y, graph)
    raw = run_samples(graph, data.x, keep=set()).values[graph.outputs[0]]
    return 100.0 * float(np.mean(real_outputs(graph, raw).argmax(axis=1) == y))


def _holdout(name: str, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    if name not in ("fashion_cnn", "lenet300") or count <= 0:
        return None
    try:
        module = __import__(f"examples.{name}.data", fromlist=["prepare"])
        x, y = module.prepare("t10k")
    except (DcagentError, OSError, ImportError, ValueError):
        return None
    return x[500:500 + count], y[500:500 + count]


def bench_model(name: str, max_drop: float, holdout: int) -> Row:
    """Compress one example and measure it. Raises DcagentError when its files cannot be read."""
    folder = ROOT / "examples" / name
    meta = json.loads((folder / "meta.json").read_text())
    graph = read_model(folder / "model_float32.tflite")
    data = load_data(folder / "eval.npz", graph)
    start = time.perf_counter()
    met = True
    try:
        result = compress(graph, data, max_drop)
    except BudgetError as exc:
        result, met = exc.best, False
    seconds = time.perf_counter() - start
    ours = int(round(graph_bytes(result.graph).total))
    f32 = meta["files"]["model_float32.tflite"]["bytes"]
    i8 = meta["files"]["model_int8.tflite"]["bytes"]
    tfl = 100.0 * meta["accuracy"]["int8"]["accuracy"]
    row = Row(name, meta["params"], f32, i8, ours, f32 / ours, i8 / ours, result.original.score, tfl,
              result.int8.score, result.compressed.score, result.drop, tfl - result.compressed.score, met,
              seconds, [f"{t.name.rsplit('/', 2)[-2]}: {t.choice}" for t in result.tensors])
    held = _holdout(name, holdout)
    if held is not None:
        hx, hy = held
        row.holdout_samples = int(len(hy))
        row.holdout_float32_acc = _accuracy(graph, hx, hy)
        row.holdout_ours_acc = _accuracy(result.graph, hx, hy)
    return row


def markdown(rows: list[Row], max_drop: float) -> str:
    """The results as the markdown table of bench/README.md."""
    lines = [
        f"Budget: {max_drop:g} point(s) of top-1 accuracy against the float32 model, on eval.npz.",
        "",
        "| model | params | float32 .tflite | TFLite int8 .tflite | ours (B) | ours vs float32 | ours vs int8 "
        "| float32 acc | TFLite int8 acc | ours acc | drop vs float32 | drop vs TFLite int8 | held-out float32 / ours "
        "| search | TFLM LUT 4b | NNCodec same acc |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        held = (f"{r.holdout_float32_acc:.1f} / {r.holdout_ours_acc:.1f} ({r.holdout_samples})"
                if r.holdout_samples else "-")
        flag = "" if r.met_budget else " (over budget)"
        lines.append(
            f"| {r.model} | {r.params:,} | {r.float32_file:,} | {r.int8_file:,} | {r.ours_bytes:,} | "
            f"**{r.ratio:.1f}x**{flag} | {r.ratio_int8_file:.1f}x | {r.float32_acc:.1f} | {r.tflite_int8_acc:.1f} | "
            f"{r.ours_acc:.1f} | {r.drop_vs_float32:.2f} | {r.drop_vs_tflite_int8:.2f} | {held} | {r.seconds:.0f} s | "
            "n/a | n/a |")
    lines.append("")
    lines.append("Per-layer choices:")
    lines.append("")
    for r in rows:
        lines.append(f"- {r.model}: " + "; ".join(r.choices))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(EXAMPLES))
    parser.add_argument("--max-drop", type=float, default=1.0)
    parser.add_argument("--holdout", type=int, default=2000, help="held-out Fashion-MNIST images (0: none)")
    parser.add_argument("--json", default=str(ROOT / "bench" / "out" / "compress.json"))
    parser.add_argument("--markdown", action="store_true", help="print the markdown table")
    args = parser.parse_args(argv)
    rows = []
    try:
        for name in args.models.split(","):
            print(f"compressing {name} ...", file=sys.stderr, flush=True)
            rows.append(bench_model(name, args.max_drop, args.holdout))
            r = rows[-1]
            print(f"  {r.ours_bytes:,} B, {r.ratio:.1f}x vs float32, acc {r.ours_acc:.1f} "
                  f"(float32 {r.float32_acc:.1f}), {r.seconds:.0f} s", file=sys.stderr, flush=True)
    except DcagentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    text = markdown(rows, args.max_drop)
    print(text)
    return 0 if all(r.met_budget for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
