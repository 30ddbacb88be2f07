"""The size / held-out accuracy front of one model: what each point of the search's Lagrangian
sweep would cost on data the compressor never sees.

    python -m bench.heldout_front examples/kws/model_float32.tflite \
        --calib examples/kws/calib.npz --data examples/kws/eval.npz [--points 14] [--refit]

The compressor's own steps run on CALIB.npz exactly as `dcagent compress --calib` runs them
(PTQ with the range method it picks, unit pruning, statistics, options, sensitivity; the
search half and the verification half). Then, instead of the budget search, the multiplier mu
sweeps a grid: each Lagrangian choice is assembled as the search assembles it
(engine.assemble; refitted with `--refit`), packed into a real unsigned .dcb (bytes counted),
and scored on the search half, the verification half and the held-out DATA.npz.
The held-out figures are for this table only: nothing here feeds back into a choice.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dcagent import __version__
from host.data import prepare_data, read_arrays
from host.evaluation import evaluate, model_outputs
from host.model_file import read_model_file
from host.model_format import pack
from host.passes.engine import SearchSpace, assemble, lagrangian_norm, prepare, select
from host.passes.fidelity import measure
from host.passes.rewrite import clone, compact
from host.passes.rate import default_rate
from host.passes.search import start_search


@dataclass(frozen=True)
class Point:
    """One realized choice: real .dcb bytes and accuracies (percent) on each data set."""

    log_mu: float
    dcb_bytes: int
    search_drop: float
    verify_drop: float
    verify_agreement: float
    held_out_accuracy: float
    held_out_drop: float
    held_out_agreement: float


def front(model_path: Path, calib_path: Path, data_path: Path, points: int = 14,
          search_samples: int = 1000, low: float = -3.0, high: float = 3.0,
          refit: bool = False) -> tuple[dict, list[Point]]:
    """(summary, points): the sweep of log10(mu / norm) over [low, high] in `points` steps
    (`refit`: every choice sequentially refitted, as `dcagent compress --refit` does)."""
    model = read_model_file(model_path)
    graph = model.graph
    cx, cy = read_arrays(calib_path)
    calib = prepare_data(model.samples(cx), cy, graph)
    ex, ey = read_arrays(data_path)
    held = prepare_data(model.samples(ex), ey, graph)
    held_reference = model_outputs(graph, held)
    held_original = evaluate(held_reference, held.y).accuracy
    space = SearchSpace(sequential_refit=refit)
    samples = min(search_samples, calib.size // 2)
    start = start_search(graph, calib, 1.0, space, search_samples=samples)
    problem = prepare(start.base, start.int8_data, start.reference, space, samples, (3,), default_rate,
                      lambda _: None, True)
    base, int8_fid, original = start.int8_graph, start.int8, start.original
    sub_ref = measure(problem.search_eval.reference, problem.search_eval.reference, problem.search_eval.data.y).score
    norm = lagrangian_norm(problem)
    int8_held = evaluate(model_outputs(base, prepare_data(held.x, held.y, base)), held.y).accuracy
    summary = {"float_held_out": held_original, "int8_held_out": int8_held, "int8_calib": int8_fid.score,
               "float_calib": original.score, "search_samples": problem.search_eval.data.size,
               "verify_samples": problem.full_eval.data.size, "held_out_samples": held.size}
    out = []
    seen = set()
    for t in np.linspace(low, high, points):
        chosen = select(problem, norm * 10 ** t)
        key = tuple(id(o) for o in chosen)
        if key in seen:
            continue
        seen.add(key)
        g, _, raw = assemble(problem, chosen, space.bias_correction, space.refit_damping)
        s = problem.search_eval.fidelity(g, raw)
        v = problem.full_eval.fidelity(g)
        compressed = compact(clone(g))
        size = len(pack(compressed, name=model_path.stem, version=1, compressor_version=__version__, keep_names=False,
                        compressor_settings={"mode": "lossy", "max_drop": 1.0, "metric": "accuracy"}))
        held_fid = evaluate(model_outputs(compressed, prepare_data(held.x, held.y, compressed)), held.y,
                            held_reference)
        out.append(Point(float(t), size, sub_ref - s.score, problem.reference_score - v.score, v.agreement,
                         held_fid.accuracy, held_original - held_fid.accuracy, held_fid.agreement))
    return summary, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("--calib", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--points", type=int, default=14)
    parser.add_argument("--low", type=float, default=-3.0)
    parser.add_argument("--high", type=float, default=3.0)
    parser.add_argument("--refit", action="store_true", help="refit each choice as `dcagent compress --refit` does")
    args = parser.parse_args()
    started = time.monotonic()
    summary, points = front(args.model, args.calib, args.data, args.points, low=args.low, high=args.high,
                            refit=args.refit)
    f32 = args.model.stat().st_size
    print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()))
    print("| log mu | .dcb bytes | vs float32 file | search-half drop | verify-half drop | verify agreement "
          "| held-out accuracy | held-out drop | held-out agreement |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in points:
        print(f"| {p.log_mu:+.2f} | {p.dcb_bytes:,} | {f32 / p.dcb_bytes:.1f}x | {p.search_drop:.2f} | {p.verify_drop:.2f} "
              f"| {p.verify_agreement:.2f}% | {p.held_out_accuracy:.2f}% | {p.held_out_drop:.2f} "
              f"| {p.held_out_agreement:.2f}% |")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
