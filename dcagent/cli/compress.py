"""`dcagent compress MODEL -o OUT.dcb`: the smallest signed .dcb that keeps accuracy on the user's data.

Lossy (the default): a float32 or int8 TFLite model, or a float32 ONNX model (NCHW, batch
norm folded at import), and DATA.npz go in; host.passes quantizes a float model and searches
pruning, bit widths, codebooks, dependent quantization (and, with --factorize, low-rank
layers) for the smallest model whose top-1 accuracy (labels `y`) or top-1 agreement with the
model as given (no labels) drops at most --max-drop points (and, with --min-sqnr, whose output
SQNR against the model as given stays at least that many dB). With --calib CALIB.npz the
calibration and the search use CALIB.npz only and DATA.npz is held out: the report's
accuracy/fidelity is measured on data the search never saw. `--lossless`
packs an int8 model with every weight kept exactly. Before anything is written the container
is unpacked and run in the firmware's C runtime against the reference interpreter. A budget
that cannot be met writes the report (best model found) and no .dcb, exit code 1. When the
search met the budget on CALIB.npz but the held-out DATA.npz loses more than --max-drop, the
.dcb and the report are written and the exit code is 1 (the calibration data did not represent
the held-out data).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from dcagent import __version__
from dcagent.cli.console import Console
from dcagent.cli.exit_codes import GoalNotMetError
from dcagent.cli.progress import progress_bar, stage_progress
from dcagent.errors import ConfigError
from host.container.reader import open_container
from host.container.signing import load_private_key, sign_container
from host.container.writer import write_atomic
from host.errors import ModelError
from host.graph import DType, Graph
from host.model_file import ModelFile, read_model_file
from host.model_format import check_container, compression_report, pack


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compress", help="compress a model into a signed .dcb container",
        description=__doc__.split("\n\n")[1])
    parser.add_argument("model", metavar="MODEL", type=Path,
                        help="a .tflite model (float32, float16 weights or int8) or a float32 .onnx model")
    parser.add_argument("-o", "--output", metavar="OUT.dcb", type=Path, required=True)
    parser.add_argument("--data", metavar="DATA.npz", type=Path, default=None,
                        help="x: samples [N, *input shape]; y (optional): class labels. Calibrates and measures")
    parser.add_argument("--calib", metavar="CALIB.npz", type=Path, default=None,
                        help="calibration data (x, optional y) the search fits on; DATA.npz is then held out "
                             "and only scores the result")
    parser.add_argument("--max-drop", metavar="PP", type=float, default=1.0,
                        help="largest accuracy (or top-1 agreement) loss in percentage points (default 1.0)")
    parser.add_argument("--min-sqnr", metavar="DB", type=float, default=None,
                        help="also keep the output SQNR against the model as given at DB decibels or more")
    parser.add_argument("--lossless", action="store_true", help="int8 model: keep every weight exactly")
    parser.add_argument("--report", metavar="REPORT.json", type=Path, default=None, help="write a JSON report")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--key", metavar="KEY", type=Path, default=None,
                      help="publisher private key (default: $XDG_CONFIG_HOME/dcagent/keys/publisher.key)")
    keys.add_argument("--unsigned", action="store_true", help="write an unsigned container")
    parser.add_argument("--name", default=None, help="model name in the container (default: the file stem)")
    parser.add_argument("--model-version", type=int, default=1, metavar="V",
                        help="monotonically increasing model version (default 1)")
    names = parser.add_mutually_exclusive_group()
    names.add_argument("--strip-names", dest="keep_names", action="store_false",
                       help="the compact device build (default): no tensor names, signatures or description")
    names.add_argument("--keep-names", dest="keep_names", action="store_true",
                       help="keep tensor names, shape signatures and description (decode gives them back)")
    parser.set_defaults(keep_names=False)
    parser.add_argument("--codec", choices=("cabac", "raw"), default="cabac", help="payload codec (default cabac)")
    parser.add_argument("--coder", choices=("cabac", "fast", "auto"), default="cabac",
                        help="level syntax of coded tensors: cabac (smallest), fast (static rANS, 4-6x less "
                             "decoding work on Cortex-M4), auto (fast where at most 2%% larger); default cabac")
    parser.add_argument("--target", default="generic", help="target architecture recorded in the container")
    parser.add_argument("--format", dest="container_format", type=int, choices=(2, 3), default=3,
                        help="container format (default 3; 2 for devices whose firmware predates format 3: "
                             "the same model with text metadata keys, a few hundred bytes larger)")
    search = parser.add_argument_group("search")
    search.add_argument("--factorize", action="store_true",
                        help="also try low-rank factorized layers (SVD options per layer, and a data-aware rank "
                             "choice for large fully-connected layers before the search)")
    search.add_argument("--refit", action="store_true",
                        help="refit the chosen layers in graph order on the compressed model's own inputs "
                             "(sequential refit): smaller models under loose budgets (--max-drop 2 and up), "
                             "each evaluated model costing about a third more time")
    search.add_argument("--search-samples", type=int, default=1000, metavar="N",
                        help="samples the search evaluates candidates on (default 1000; all are used to verify; with "
                             "--calib at most half of CALIB.npz, the other half verifies)")
    search.add_argument("--calibration-samples", type=int, default=1000, metavar="N",
                        help="samples that calibrate a float model's activations (default 1000)")
    search.add_argument("--check", type=int, default=16, metavar="N",
                        help="samples the C runtime must reproduce bit-exactly before writing (default 16; 0: skip)")
    parser.set_defaults(func=run)


def _check_arguments(args: argparse.Namespace) -> None:
    if args.model_version < 0:
        raise ConfigError(f"--model-version must be >= 0, not {args.model_version}")
    if args.name == "":
        raise ConfigError("--name must not be empty")
    if not math.isfinite(args.max_drop) or args.max_drop < 0:
        raise ConfigError(f"--max-drop must be a number of percentage points >= 0, not {args.max_drop}")
    for option in ("search_samples", "calibration_samples"):
        if getattr(args, option) < 1:
            raise ConfigError(f"--{option.replace('_', '-')} must be >= 1")
    if args.check < 0:
        raise ConfigError("--check must be >= 0")
    if args.min_sqnr is not None and not math.isfinite(args.min_sqnr):
        raise ConfigError(f"--min-sqnr must be a finite number of decibels, not {args.min_sqnr}")
    if args.lossless and (args.calib is not None or args.min_sqnr is not None):
        raise ConfigError("--calib and --min-sqnr steer the lossy search; --lossless keeps every weight")
    if args.calib is not None and args.data is None:
        raise ConfigError("--calib needs --data DATA.npz: the held-out data the result is scored on")
    if not args.lossless and args.data is None:
        raise ConfigError("lossy compression needs data: --data DATA.npz (x, and y labels if you have them)",
                          hint="or pass --lossless to pack an int8 model exactly")


def _read(path: Path) -> ModelFile:
    """The model (TFLite or ONNX); every unsupported op is listed before any work is done."""
    return read_model_file(path)


def _load_raw_data(path: Path, model: ModelFile) -> tuple[np.ndarray, np.ndarray | None]:
    """`x` (in the graph's input layout: ONNX NCHW samples become NHWC) and `y` (or None) of DATA.npz."""
    from host.data import read_arrays

    x, y = read_arrays(path)
    return model.samples(x), y


def run(args: argparse.Namespace, console: Console) -> int:
    _check_arguments(args)
    key = None if args.unsigned else load_private_key(args.key)  # fail before the work
    model = _read(args.model)
    original, graph = model.data, model.graph
    is_float = graph.tensors[graph.inputs[0]].dtype is DType.FLOAT32 if graph.inputs else False
    if args.lossless and (is_float or any(t.dtype.is_float for t in graph.tensors)):
        raise ModelError(f"{args.model.name} is a float model: --lossless packs int8 models only",
                         hint="drop --lossless and give --data to quantize and compress it")
    raw = None
    dataset = None
    if args.data is not None:
        from host.data import prepare_data

        raw = _load_raw_data(args.data, model)
        dataset = prepare_data(raw[0], raw[1], graph)
    name = args.name or args.model.stem
    if args.lossless:
        return _lossless(args, console, original, graph, key, name, raw)
    held_out = None
    if args.calib is not None:
        from host.data import prepare_data

        held_out = raw, dataset
        raw = _load_raw_data(args.calib, model)
        dataset = prepare_data(raw[0], raw[1], graph)
    return _lossy(args, console, original, graph, key, name, raw, dataset, held_out)


def without_unused_tensors(graph: Graph) -> Graph:
    """A copy of `graph` without tensors no op uses (a factorized layer's original weights)."""
    from host.passes.rewrite import clone, compact

    return compact(clone(graph))


def _pack(args, console, graph: Graph, key, name: str, settings: dict) -> bytes:
    with progress_bar(console, "coding tensors") as update:
        data = pack(graph, name=name, version=args.model_version, target=args.target, codec=args.codec,
                    coder=args.coder, compressor_settings=settings, compressor_version=__version__, keep_names=args.keep_names,
                    progress=update, container_format=args.container_format)
    return data if key is None else sign_container(data, key)


def _check(args, console, data: bytes, graph: Graph, raw) -> None:
    """The container decodes to `graph` and runs bit-exactly like it (C runtime vs reference)."""
    from host.data import prepare_data

    if args.check == 0:
        return
    if raw is not None:
        x = prepare_data(raw[0], raw[1], graph).x[:args.check]
    else:
        rng = np.random.default_rng(0)
        x = rng.integers(-128, 128, size=(args.check,) + tuple(graph.tensors[graph.inputs[0]].shape[1:]),
                         dtype=np.int8)
    samples = [[x[i:i + 1]] for i in range(x.shape[0])]
    with progress_bar(console, "checking the C runtime") as update:
        update(0, 1)
        result = check_container(data, graph, samples)
        update(1, 1)
    if not result.ok:
        raise GoalNotMetError("the packed container does not run like the compressed model (no .dcb written): "
                              + "; ".join(result.problems[:3]))
    console.info(f"checked: {result.constants} tensors decode exactly; the C runtime reproduces the reference "
                 f"interpreter on {result.samples} samples in both decode modes")


def _write(args, console, data: bytes, report: dict) -> None:
    write_atomic(args.output, data)
    if args.report is not None:
        write_atomic(args.report, (json.dumps(report, indent=2) + "\n").encode())
    console.info(f"wrote {args.output} ({'signed' if report['signed'] else 'unsigned'}, {len(data)} bytes)")


def _size_rows(report: dict) -> list[list[object]]:
    return [
        ["float32 parameters", report["float32_bytes"], "1.00x"],
        ["source model", report["original_bytes"], f"{report['float32_bytes'] / report['original_bytes']:.2f}x"],
        [".dcb container", report["compressed_bytes"], f"{report['ratio_vs_float32']:.2f}x"],
        ["  payload / metadata", f"{report['payload_bytes']} / {report['metadata_bytes']}", ""],
        ["  bits per parameter", f"{report['bits_per_param']:.3f}", ""],
        ["  tensors coded cabac / fast / raw", " / ".join(str(report["level_syntax"][k]) for k in ("cabac", "fast", "raw")),
         ""],
    ]


def _lossless(args, console, original: bytes, graph: Graph, key, name: str, raw) -> int:
    data = _pack(args, console, graph, key, name, {"mode": "lossless"})
    _check(args, console, data, graph, raw)
    report = compression_report(graph, open_container(data), original_bytes=len(original))
    report["mode"] = "lossless"
    if raw is not None:  # every weight kept: the accuracy is the model's, measured once
        from host.data import prepare_data
        from host.evaluation import evaluate, fidelity_plain, model_outputs

        dataset = prepare_data(raw[0], raw[1], graph)
        measured = fidelity_plain(evaluate(model_outputs(graph, dataset), dataset.y))
        report["fidelity"] = {"compressed": measured}
        if measured["accuracy"] is not None:
            report["accuracy"] = {"original": measured["accuracy"], "compressed": measured["accuracy"],
                                  "samples": measured["samples"]}
    _write(args, console, data, report)
    console.table(f"{args.model.name} -> {args.output.name}", ["", "bytes", "vs float32"], _size_rows(report))
    return 0


def _fidelity_rows(result) -> tuple[list[str], list[list[object]]]:
    from host.evaluation import fidelity_plain

    rows = []
    for label, fid in (("model as given", result.original), ("int8 (PTQ)", result.int8),
                       ("compressed", result.compressed)):
        f = fidelity_plain(fid)
        rows.append([label, "-" if f["accuracy"] is None else f"{f['accuracy']:.2f}%", f"{f['agreement']:.2f}%",
                     "inf" if f["sqnr_db"] is None else f"{f['sqnr_db']:.1f}"])
    return ["", "accuracy", "top-1 agreement", "SQNR dB"], rows


def _search_report(result, goal_met: bool) -> dict:
    from host.evaluation import fidelity_plain

    section = {"goal_met": goal_met, "max_drop": result.max_drop, "drop": round(float(result.drop), 4),
               "metric": "accuracy" if result.original.accuracy is not None else "agreement",
               "evaluations": int(result.evaluations)}
    if result.original.accuracy is not None:
        section["accuracy"] = {"original": round(result.original.accuracy, 4),
                               "int8": round(result.int8.accuracy, 4),
                               "compressed": round(result.compressed.accuracy, 4),
                               "samples": int(result.compressed.samples)}
    section["fidelity"] = {"int8": fidelity_plain(result.int8), "compressed": fidelity_plain(result.compressed)}
    section["choices"] = [{"name": t.name, "params": t.params, "bits": t.bits, "quantizer": t.quantizer.value,
                           "sparsity": round(float(t.sparsity), 4), "estimated_bytes": round(float(t.estimated_bytes), 1),
                           "choice": t.choice} for t in result.tensors]
    return section


def _lossy(args, console, original: bytes, graph: Graph, key, name: str, raw, dataset, held_out=None) -> int:
    from host.passes.engine import LOWRANK_FRACTIONS
    from host.passes.search import BudgetError, SearchSpace, compress

    space = SearchSpace(factorize=args.factorize, lowrank_fractions=LOWRANK_FRACTIONS if args.factorize else (),
                        sequential_refit=args.refit)
    sqnr = "" if args.min_sqnr is None else f" and {args.min_sqnr:g} dB output SQNR"
    console.info(f"compressing {args.model.name} ({'float32' if graph.tensors[graph.inputs[0]].dtype.is_float else 'int8'}"
                 f") on {dataset.size} {'calibration ' if held_out else ''}samples"
                 f"{' with labels' if dataset.y is not None else ''}, budget {args.max_drop:g} points of "
                 f"{'accuracy' if dataset.y is not None else 'top-1 agreement'}{sqnr}")
    try:
        with stage_progress(console) as report_progress:
            result = compress(graph, dataset, max_drop=args.max_drop, space=space,
                              search_samples=_search_samples(args, dataset, held_out),
                              calibration_samples=args.calibration_samples,
                              progress=report_progress, min_sqnr_db=args.min_sqnr, disjoint_verify=held_out is not None)
    except BudgetError as exc:
        return _budget_not_met(args, console, original, name, exc)
    settings = {"mode": "lossy", "max_drop": float(args.max_drop), "metric":
                "accuracy" if dataset.y is not None else "agreement"}
    compressed = without_unused_tensors(result.graph)
    data = _pack(args, console, compressed, key, name, settings)
    _check(args, console, data, compressed, raw)
    report = compression_report(compressed, open_container(data), original_bytes=len(original),
                                float32_bytes=result.float32_bytes)
    report["mode"] = "lossy"
    report.update(_search_report(result, goal_met=True))
    if args.min_sqnr is not None:
        report["min_sqnr_db"] = float(args.min_sqnr)
    report["evaluation"] = {"held_out": held_out is not None, "search": _data_entry(args.calib or args.data, dataset)}
    if held_out is not None:
        scored = _held_out_report(graph, compressed, held_out[1])
        report["evaluation"]["scored"] = _data_entry(args.data, held_out[1])
        report["search"] = {k: report.pop(k) for k in ("accuracy", "fidelity") if k in report}
        report.update(scored)
        _held_out_summary(console, args, scored)
        report["held_out_within_budget"] = _held_out_within_budget(args, scored)
    _write(args, console, data, report)
    _summary(console, args, report, result)
    if held_out is not None and not report["held_out_within_budget"]:
        raise GoalNotMetError(
            f"the held-out data ({args.data.name}) loses {_held_out_loss(scored):.2f} points of "
            f"{'accuracy' if 'accuracy' in scored else 'top-1 agreement'}, more than the budget of {args.max_drop:g} "
            f"that the search met on {args.calib.name} ({args.output} written, with the report)",
            hint="give --calib data that represents the held-out data better (more samples, the same sources), "
                 "or allow a larger --max-drop")
    return 0


def _search_samples(args, dataset, held_out) -> int:
    """With --calib, the search chooses on at most half of CALIB.npz and verifies its choice on the
    rest (host.passes.search, disjoint_verify); otherwise --search-samples of DATA.npz."""
    if held_out is None or dataset.size < 2:
        return args.search_samples
    return min(args.search_samples, dataset.size // 2)


def _data_entry(path: Path, dataset) -> dict:
    return {"file": str(path), "samples": int(dataset.size), "labels": dataset.y is not None}


def _held_out_report(graph: Graph, compressed: Graph, data) -> dict:
    """Accuracy (with labels) and fidelity of the compressed model on held-out `data` (checked
    against the model as given), both models run by the reference interpreter."""
    from host.data import prepare_data
    from host.evaluation import evaluate, fidelity_plain, model_outputs

    original = model_outputs(graph, data)
    ours = model_outputs(compressed, prepare_data(data.x, data.y, compressed))
    measured = fidelity_plain(evaluate(ours, data.y, original))
    section = {"fidelity": {"compressed": measured}}
    if data.y is not None:
        reference = fidelity_plain(evaluate(original, data.y))
        section["accuracy"] = {"original": reference["accuracy"], "compressed": measured["accuracy"],
                               "drop": round(reference["accuracy"] - measured["accuracy"], 4),
                               "samples": measured["samples"]}
    return section


def _held_out_loss(scored: dict) -> float:
    """Points lost on the held-out data in the budget's metric: accuracy with labels, else top-1
    agreement with the model as given."""
    if "accuracy" in scored:
        return float(scored["accuracy"]["drop"])
    return 100.0 - float(scored["fidelity"]["compressed"]["agreement"])


def _held_out_within_budget(args, scored: dict) -> bool:
    return _held_out_loss(scored) <= args.max_drop + 1e-9


def _held_out_summary(console: Console, args, scored: dict) -> None:
    fid = scored["fidelity"]["compressed"]
    sqnr = "inf" if fid["sqnr_db"] is None else f"{fid['sqnr_db']:.1f} dB"
    if "accuracy" in scored:
        acc = scored["accuracy"]
        console.info(f"held out ({args.data.name}, {acc['samples']} samples): accuracy {acc['original']:.2f}% -> "
                     f"{acc['compressed']:.2f}% ({acc['drop']:.2f} points lost), top-1 agreement "
                     f"{fid['agreement']:.2f}%, output SQNR {sqnr}")
    else:
        console.info(f"held out ({args.data.name}, {fid['samples']} samples): top-1 agreement {fid['agreement']:.2f}%,"
                     f" output SQNR {sqnr}")


def _summary(console: Console, args, report: dict, result) -> None:
    console.table(f"{args.model.name} -> {args.output.name}", ["", "bytes", "vs float32"], _size_rows(report))
    columns, rows = _fidelity_rows(result)
    console.table(f"on {result.compressed.samples} samples (budget {result.max_drop:g} points)", columns, rows)
    if report.get("tensors"):
        console.table("tensors", ["name", "params", "rule", "bits", "sparsity", "bytes"], [
            [t["name"][-40:], t["params"], t["rule"], t["bits"], f"{100 * t['sparsity']:.0f}%", t["bytes"]]
            for t in report["tensors"] if t["params"] > 64 or t["rule"] != "exact"])


def _budget_not_met(args, console: Console, original: bytes, name: str, exc) -> int:
    best = exc.best
    report = {"model": name, "mode": "lossy", "original_bytes": len(original), "float32_bytes": best.float32_bytes,
              "compressed_bytes": None, "estimated_bytes": round(float(best.estimated_bytes), 1),
              "ratio_vs_float32": round(best.float32_bytes / best.estimated_bytes, 4) if best.estimated_bytes else None,
              "tensors": []}
    report.update(_search_report(best, goal_met=False))
    if args.report is not None:
        write_atomic(args.report, (json.dumps(report, indent=2) + "\n").encode())
        console.info(f"wrote {args.report} (best model found; no .dcb written)")
    columns, rows = _fidelity_rows(best)
    console.table(f"best found on {best.compressed.samples} samples (budget {best.max_drop:g} points)", columns, rows)
    raise GoalNotMetError(f"{exc} ({args.output} not written)", hint=exc.hint)
