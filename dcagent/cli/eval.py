"""`dcagent eval MODEL_OR_DCB --data DATA.npz`: accuracy (labels) or fidelity (against --reference) of a model.

A .tflite or .onnx model runs in the reference interpreter (an ONNX model as lowered to the
graph IR: its NCHW samples may be given NCHW or NHWC); a .dcb is unpacked (weights rebuilt
exactly as the device rebuilds them) and runs in the reference interpreter, or with `--runtime c` in the
firmware's C runtime (the code the device runs, one sample at a time). With labels `y` the
accuracy is printed; with `--reference MODEL` also the top-1 agreement and output SQNR against
that model's outputs on the same data.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from dcagent.cli.console import Console
from dcagent.errors import ConfigError
from host.container import layout
from host.errors import ModelError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="measure a model or .dcb on data (accuracy or fidelity)",
                                   description=__doc__.split("\n\n")[1])
    parser.add_argument("model", metavar="MODEL_OR_DCB", type=Path,
                        help="a .tflite or .onnx model, or a .dcb container")
    parser.add_argument("--data", metavar="DATA.npz", type=Path, required=True, help="x and (optional) y labels")
    parser.add_argument("--runtime", choices=("reference", "c"), default="reference",
                        help="reference interpreter (default) or, for a .dcb, the firmware's C runtime")
    parser.add_argument("--reference", metavar="MODEL", type=Path, default=None,
                        help="also measure top-1 agreement and SQNR against this model (.tflite, .onnx or .dcb)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def _load(path: Path):
    """(graph, container bytes or None, the model file or None) of a .tflite, .onnx or .dcb file."""
    from host.container.reader import open_container
    from host.model_file import read_model_file
    from host.model_format import unpack

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if data[:len(layout.MAGIC)] == layout.MAGIC:
        return unpack(open_container(data)), data, None
    model = read_model_file(data, name=path.name)
    return model.graph, None, model


def _dataset(path: Path, graph, model):
    """DATA.npz checked against `graph`; for a model file, samples laid out for its graph first."""
    from host.data import prepare_data, read_arrays

    x, y = read_arrays(path)
    return prepare_data(x if model is None else model.samples(x), y, graph)


def run(args: argparse.Namespace, console: Console) -> int:
    from host.evaluation import evaluate, fidelity_plain, model_outputs

    graph, container, model = _load(args.model)
    if args.runtime == "c" and container is None:
        raise ConfigError(f"--runtime c runs .dcb containers; this is a .{model.format.value} model",
                          hint="compress it first, or drop --runtime c")
    data = _dataset(args.data, graph, model)
    outputs = model_outputs(graph, data, container=container if args.runtime == "c" else None)
    reference = None
    if args.reference is not None:
        ref_graph, _, ref_model = _load(args.reference)
        reference = model_outputs(ref_graph, _dataset(args.data, ref_graph, ref_model))
        if reference.shape != outputs.shape:
            raise ConfigError(f"--reference gives outputs of shape {reference.shape[1:]}, the model "
                              f"{outputs.shape[1:]}")
    if data.y is None and reference is None:
        raise ConfigError("the data has no labels 'y': pass --reference MODEL to measure fidelity against it")
    result = fidelity_plain(evaluate(outputs, data.y, reference))
    if reference is None:
        result.pop("agreement")
        result.pop("sqnr_db")
    result["runtime"] = "c" if args.runtime == "c" else "reference"
    if args.json:
        console.result(json.dumps(result, indent=2))
        return 0
    rows = []
    if result.get("accuracy") is not None:
        rows.append(["accuracy", f"{result['accuracy']:.2f}%"])
    if reference is not None:
        rows.append([f"top-1 agreement with {args.reference.name}", f"{result['agreement']:.2f}%"])
        rows.append(["output SQNR", "inf (identical)" if result["sqnr_db"] is None else f"{result['sqnr_db']:.2f} dB"])
    rows.append(["samples", result["samples"]])
    where = "the C runtime" if args.runtime == "c" else "the reference interpreter"
    console.table(f"{args.model.name} on {args.data.name} ({where})", ["", "value"], rows)
    return 0
