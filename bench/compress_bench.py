"""Post-training compression side by side: float32, TFLite int8, TFLM 4-bit LUT, NNCodec, ours.

For every example under examples/ it compresses the float32 model as `dcagent compress --calib
calib.npz --data eval.npz` does, with the options the example's meta.json names (kws:
`--refit`; dcagent/cli/example_options.py): `host.passes.search.compress` searches on half of
the example's calib.npz and verifies on the other half under a budget of `--max-drop` accuracy
points against the float32 model, and every column is scored on the held-out eval.npz (NNCodec's
step is searched on calib.npz too). For the MLPerf Tiny models (no labels here) it compresses the
int8 model under the same budget of top-1 agreement with it, on stand-in inputs
(bench/mlperf_inputs.py), searched and scored on the same inputs. Per model it reports:
- float32 and TFLite int8 file sizes;
- ours: real entropy-coded payloads + counted side information (rate.graph_bytes;
  docs/compression.md "Sizes") and the whole unsigned .dcb container (host.model_format.pack);
- TFLite Micro's LUT compression at 4 bits (bench/peers/tflm_lut.py): the int8 model's weights
  clustered to 16 values per channel (per tensor where the tensor has one scale), compressed
  by tflite-micro's own tool, run by tflite-micro's interpreter with its DECODE operator;
- NNCodec at equal accuracy (bench/peers/nncodec_lossy.py): the largest quantization step (qp)
  whose reconstruction stays within the same budget, measured in our float (examples) or int8
  (MLPerf) path;
and the accuracy (or agreement) of each. The Fashion-MNIST examples are also measured on
held-out test images the search never saw (t10k images 500..N).

    python bench/compress_bench.py [--models fashion_cnn,lenet300,kws,har,kws01,ic01,vww01,ad01]
        [--max-drop 1.0] [--holdout 2000] [--mlperf DIR] [--mlperf-samples 100] [--quick]
        [--json OUT] [--markdown] [--refit]

Exit status 0 when every model met its budget, 1 when ours raised BudgetError, 2 when a model
cannot be read or a peer is missing.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `host`, `bench` and `examples` importable
    sys.path.insert(0, str(ROOT))

from bench import mlperf_inputs  # noqa: E402
from bench.peers.nncodec_lossy import search_qp  # noqa: E402
from bench.peers.tflm_lut import compress_lut, run_tflm  # noqa: E402
from dcagent.cli.example_options import search_space  # noqa: E402
from host.data import prepare_data  # noqa: E402
from host.errors import DcagentError  # noqa: E402
from host.graph import Graph  # noqa: E402
from host.model_format import pack  # noqa: E402
from host.passes.execute import run_samples  # noqa: E402
from host.passes.fidelity import measure, real_outputs  # noqa: E402
from host.passes.rate import graph_bytes  # noqa: E402
from host.passes.rewrite import clone, compact  # noqa: E402
from host.passes.search import BudgetError, compress  # noqa: E402
from host.tflite import read_model  # noqa: E402

EXAMPLES = ("fashion_cnn", "lenet300", "kws", "har")
MLPERF = tuple(mlperf_inputs.MODELS)
DEFAULT_MLPERF = ROOT.parent / "shared" / "models" / "mlperf-tiny"


@dataclass
class Row:
    """One model's measurements (sizes in bytes, scores in percent: accuracy, or top-1
    agreement with the original when `metric` is "agreement")."""

    model: str
    metric: str
    samples: int
    params: int
    float32_file: int
    int8_file: int
    original_score: float
    int8_score: float
    ours_bytes: int
    ours_dcb: int
    ours_score: float
    ours_sqnr: float
    met_budget: bool
    seconds: float
    lut_file: int
    lut_data: int
    lut_score: float
    lut_sqnr: float
    lut_tensors: int
    nnc_bytes: int
    nnc_qp: int
    nnc_score: float
    nnc_sqnr: float
    choices: list[str] = field(default_factory=list)
    calib_samples: int = 0
    search_floor: float = 0.0  # the lowest score the searches may reach on their own data
    nnc_search_score: float = 0.0  # NNCodec's score on the data its step was searched on
    holdout_samples: int = 0
    holdout_float32_acc: float | None = None
    holdout_int8_acc: float | None = None
    holdout_lut_acc: float | None = None
    holdout_nnc_acc: float | None = None
    holdout_ours_acc: float | None = None

    @property
    def ratio(self) -> float:
        """The float32 file over ours as a device receives it: the whole .dcb container (the
        peers' columns compare their coded data with ours counted the same way)."""
        return self.float32_file / self.ours_dcb


def _outputs(graph: Graph, x: np.ndarray) -> np.ndarray:
    return real_outputs(graph, run_samples(graph, x, keep=set()).values[graph.outputs[0]])


def _scored(graph: Graph, raw_x: np.ndarray, y: np.ndarray | None, reference: np.ndarray):
    """The fidelity of `graph` (float or int8) on raw inputs against the original's outputs."""
    return measure(reference, _outputs(graph, prepare_data(raw_x, y, graph).x), y)


def _accuracy(graph: Graph, x: np.ndarray, y: np.ndarray) -> float:
    data = prepare_data(x, y, graph)
    return 100.0 * float(np.mean(_outputs(graph, data.x).argmax(axis=1) == y))


def _holdout(name: str, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Up to `count` held-out samples beyond eval.npz, or None: for the Fashion-MNIST examples the
    t10k images after eval.npz's 500; for kws a fixed draw from examples.kws.data.HELDOUT (the
    eval voices, other renderings, synthesised on each run)."""
    if name not in ("fashion_cnn", "lenet300", "kws") or count <= 0:
        return None
    try:
        if name == "kws":
            from examples.kws.data import HELDOUT, build

            x, y = build(HELDOUT)
            keep = np.sort(np.random.default_rng(0).permutation(len(y))[:count])
            return x[keep], y[keep]
        module = __import__(f"examples.{name}.data", fromlist=["prepare"])
        x, y = module.prepare("t10k")
    except (DcagentError, OSError, ImportError, ValueError) as exc:
        hint = getattr(exc, "hint", None) or ("apt-get install espeak-ng sox flite" if name == "kws"
                                              else "apt-get install dataset-fashion-mnist")
        print(f"warning: {name}: no held-out samples beyond eval.npz ({exc}); for them: {hint}",
              file=sys.stderr, flush=True)
        return None
    return x[500:500 + count], y[500:500 + count]


@dataclass
class Sources:
    """What one model is measured with: its files, the graph ours compresses, the scored data
    (raw `x`, labels `y` or None) and, for the examples, the calibration data the searches use."""

    float32_path: Path
    int8_path: Path
    graph: Graph
    x: np.ndarray
    y: np.ndarray | None
    meta: dict
    calib_x: np.ndarray | None = None
    calib_y: np.ndarray | None = None


def _sources(name: str, mlperf: Path, samples: int) -> Sources:
    if name in EXAMPLES:
        folder = ROOT / "examples" / name
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "eval.npz") as data, np.load(folder / "calib.npz") as calib:
            x, y, cx, cy = data["x"], data["y"], calib["x"], calib["y"] if "y" in calib else None
        return Sources(folder / "model_float32.tflite", folder / "model_int8.tflite",
                       read_model(folder / "model_float32.tflite"), x, y, meta, cx, cy)
    f32_name, i8_name = mlperf_inputs.MODELS[name]
    graph = read_model(mlperf / i8_name)
    return Sources(mlperf / f32_name, mlperf / i8_name, graph, mlperf_inputs.inputs(name, graph, samples), None, {})


def _dcb_bytes(graph: Graph, name: str) -> int:
    return len(pack(compact(clone(graph)), name=name, version=1, keep_names=False))  # the device build, as the CLI


def bench_model(name: str, max_drop: float, holdout: int, mlperf: Path = DEFAULT_MLPERF,
                samples: int = 100, refit: bool = False) -> Row:
    """Compress one model with ours (with the example's own `dcagent compress` options,
    dcagent/cli/example_options.py; `refit`: `--refit` for every model) and both peers, and
    measure them.

    Raises DcagentError when its files cannot be read, PeerError when a peer is missing.
    """
    src = _sources(name, mlperf, samples)
    f32_path, i8_path, graph, raw_x, y, meta = src.float32_path, src.int8_path, src.graph, src.x, src.y, src.meta
    data = prepare_data(raw_x, y, graph)
    reference = _outputs(graph, data.x)
    held_out = src.calib_x is not None  # the examples: search on calib.npz, score on eval.npz
    search_data = prepare_data(src.calib_x, src.calib_y, graph) if held_out else data
    start = time.perf_counter()
    met = True
    try:
        result = compress(graph, search_data, max_drop, search_space(meta, refit=refit),
                          disjoint_verify=held_out,
                          search_samples=min(1000, search_data.size // 2) if held_out else 1000)
    except BudgetError as exc:
        result, met = exc.best, False
    seconds = time.perf_counter() - start
    original = measure(reference, reference, y)
    ours = _scored(result.graph, raw_x, y, reference)

    int8_graph = read_model(i8_path)
    lut = compress_lut(i8_path.read_bytes())
    i8_data = prepare_data(raw_x, y, int8_graph)
    lut_raw = run_tflm(lut.tflite, i8_data.x)
    lut_fid = measure(reference, real_outputs(int8_graph, lut_raw), y)

    search_reference = _outputs(graph, search_data.x)
    floor = measure(search_reference, search_reference, search_data.y).score - max_drop

    def score(candidate: Graph) -> float:
        return measure(search_reference, _outputs(candidate, search_data.x), search_data.y).score

    nnc, _, _ = search_qp(graph, score, floor)
    nnc_search_score = score(nnc.graph)
    nnc_fid = measure(reference, _outputs(nnc.graph, data.x), y)
    params = meta.get("params") or int(sum(t.data.size for t in graph.tensors if t.data is not None))
    row = Row(
        model=name, metric="accuracy" if y is not None else "agreement", samples=data.size, params=params,
        float32_file=f32_path.stat().st_size, int8_file=i8_path.stat().st_size,
        original_score=original.score,
        int8_score=100.0 * meta["accuracy"]["int8"]["accuracy"] if meta else result.int8.score,
        ours_bytes=int(round(graph_bytes(result.graph).total)), ours_dcb=_dcb_bytes(result.graph, name),
        ours_score=ours.score, ours_sqnr=ours.sqnr_db, met_budget=met, seconds=seconds,
        lut_file=len(lut.tflite), lut_data=lut.buffer_bytes, lut_score=lut_fid.score, lut_sqnr=lut_fid.sqnr_db,
        lut_tensors=lut.tensors, nnc_bytes=nnc.total_bytes, nnc_qp=nnc.qp, nnc_score=nnc_fid.score,
        nnc_sqnr=nnc_fid.sqnr_db,
        calib_samples=search_data.size if held_out else 0, search_floor=floor, nnc_search_score=nnc_search_score,
        choices=[f"{t.name.rsplit('/', 2)[-2] if t.name.count('/') >= 2 else t.name}: {t.choice}"
                 for t in result.tensors])
    held = _holdout(name, holdout)
    if held is not None:
        hx, hy = held
        row.holdout_samples = int(len(hy))
        row.holdout_float32_acc = _accuracy(graph, hx, hy)
        row.holdout_int8_acc = _accuracy(int8_graph, hx, hy)
        held_i8 = prepare_data(hx, hy, int8_graph).x
        lut_held = real_outputs(int8_graph, run_tflm(lut.tflite, held_i8))
        row.holdout_lut_acc = 100.0 * float(np.mean(lut_held.argmax(axis=1) == hy))
        row.holdout_nnc_acc = _accuracy(nnc.graph, hx, hy)
        row.holdout_ours_acc = _accuracy(result.graph, hx, hy)
    return row


def _score(value: float, metric: str) -> str:
    return f"{value:.1f}" + ("" if metric == "accuracy" else " agr")


def markdown(rows: list[Row], max_drop: float) -> str:
    """The results as the markdown tables of bench/README.md."""
    lines = [
        f"Budget: {max_drop:g} point(s) of top-1 accuracy (examples: vs float32, searched on calib.npz, "
        "every column scored on the held-out eval.npz) or top-1 agreement (MLPerf, `agr`, vs the int8 model).",
        "",
        "| model | float32 .tflite | TFLite int8 .tflite | TFLM LUT 4b .tflite | TFLM LUT data | NNCodec same acc "
        "| ours (counted) | ours .dcb | float32 / ours .dcb | LUT data / ours | NNCodec / ours "
        "| original | TFLite int8 | TFLM LUT 4b | NNCodec | ours |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        flag = "" if r.met_budget else " (over budget)"
        m = r.metric
        lines.append(
            f"| {r.model} | {r.float32_file:,} | {r.int8_file:,} | {r.lut_file:,} | {r.lut_data:,} | "
            f"{r.nnc_bytes:,} (qp {r.nnc_qp}) | {r.ours_bytes:,} | {r.ours_dcb:,} | **{r.ratio:.1f}x**{flag} | "
            f"{r.lut_data / r.ours_bytes:.2f} | {r.nnc_bytes / r.ours_bytes:.2f} | {_score(r.original_score, m)} | "
            f"{_score(r.int8_score, m)} | {_score(r.lut_score, m)} | {_score(r.nnc_score, m)} | "
            f"{_score(r.ours_score, m)} |")
    lines += ["", "| model | scored samples | calib samples | search | more held-out samples: float32 / TFLite int8 / "
              "TFLM LUT 4b / NNCodec / ours | SQNR dB: TFLM LUT / NNCodec / ours |", "|---|---:|---:|---:|---|---|"]
    for r in rows:
        held = (f"{r.holdout_float32_acc:.1f} / {r.holdout_int8_acc:.1f} / {r.holdout_lut_acc:.1f} / "
                f"{r.holdout_nnc_acc:.1f} / {r.holdout_ours_acc:.1f} ({r.holdout_samples})"
                if r.holdout_samples else "-")
        lines.append(f"| {r.model} | {r.samples} | {r.calib_samples or '-'} | {r.seconds:.0f} s | {held} | "
                     f"{r.lut_sqnr:.1f} / {r.nnc_sqnr:.1f} / {r.ours_sqnr:.1f} |")
    lines += ["", "Per-layer choices (ours):", ""]
    for r in rows:
        lines.append(f"- {r.model}: " + "; ".join(r.choices))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(EXAMPLES + MLPERF))
    parser.add_argument("--max-drop", type=float, default=1.0)
    parser.add_argument("--holdout", type=int, default=2000,
                        help="held-out samples beyond eval.npz: Fashion-MNIST test images, synthesised kws clips (0: none)")
    parser.add_argument("--mlperf", default=str(DEFAULT_MLPERF), help="folder of the MLPerf Tiny models")
    parser.add_argument("--mlperf-samples", type=int, default=100, help="stand-in inputs per MLPerf model")
    parser.add_argument("--quick", action="store_true", help="32 MLPerf inputs, no held-out set")
    parser.add_argument("--json", default=str(ROOT / "bench" / "out" / "compress.json"))
    parser.add_argument("--markdown", action="store_true", help="print the markdown table")
    parser.add_argument("--refit", action="store_true",
                        help="ours with sequential refit (dcagent compress --refit) on every model, not only "
                             "where the example's meta.json names it")
    args = parser.parse_args(argv)
    if args.quick:
        args.mlperf_samples, args.holdout = min(args.mlperf_samples, 32), 0
    rows = []
    try:
        for name in args.models.split(","):
            if name not in EXAMPLES + MLPERF:
                print(f"error: unknown model {name!r} (known: {', '.join(EXAMPLES + MLPERF)})", file=sys.stderr)
                return 2
            print(f"compressing {name} ...", file=sys.stderr, flush=True)
            rows.append(bench_model(name, args.max_drop, args.holdout, Path(args.mlperf), args.mlperf_samples,
                                    args.refit))
            r = rows[-1]
            print(f"  ours {r.ours_bytes:,} B ({r.ours_dcb:,} B .dcb, {r.ratio:.1f}x smaller than float32), "
                  f"{r.metric} {r.ours_score:.1f} (original {r.original_score:.1f}); TFLM LUT {r.lut_file:,} B "
                  f"file / {r.lut_data:,} B data, {r.lut_score:.1f}; NNCodec {r.nnc_bytes:,} B, {r.nnc_score:.1f}; "
                  f"{r.seconds:.0f} s", file=sys.stderr, flush=True)
    except (DcagentError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    print(markdown(rows, args.max_drop))
    return 0 if all(r.met_budget for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
