#!/usr/bin/env python3
"""Reference interpreter vs LiteRT: time per inference and output differences per kernel set.

For the four int8 MLPerf Tiny models: median wall time of one `host.reference.run`, and how
many output elements differ from LiteRT with its reference kernels (BUILTIN_REF, the
semantics we specify), its optimized builtin kernels (BUILTIN_WITHOUT_DEFAULT_DELEGATES) and
its default configuration (AUTO: XNNPACK delegate). Then the same for single-op models of
the ops whose optimized kernels use other arithmetic. Usage: python bench/reference_bench.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

from host.graph import DType, MeanOptions, NoOptions, OpKind, SoftmaxOptions  # noqa: E402
from host.reference import run  # noqa: E402
from host.tflite import read_model, write_model  # noqa: E402
from tests.op_models import GraphMaker  # noqa: E402

MODELS = ROOT.parent / "shared" / "models" / "mlperf-tiny"
RESOLVERS = {
    "ref": OpResolverType.BUILTIN_REF,
    "optimized": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    "default": OpResolverType.AUTO,
}


def litert_run(source: dict, inputs: list[np.ndarray], resolver) -> np.ndarray:
    interpreter = Interpreter(**source, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    (detail,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    outputs = []
    for x in inputs:
        interpreter.set_tensor(detail["index"], x)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(out["index"]).copy())
    return np.array(outputs)


def compare(ours: np.ndarray, theirs: np.ndarray) -> str:
    diff = np.abs(ours.astype(np.int64) - theirs.astype(np.int64))
    return f"{int((diff > 0).sum())}/{diff.size} differ, max {int(diff.max())}"


def bench_models(count: int) -> None:
    print("| model | ms / inference | vs LiteRT ref | vs LiteRT optimized | vs LiteRT default |")
    print("|---|---|---|---|---|")
    for name in ("kws_ref_model", "pretrainedResnet_quant", "vww_96_int8", "ad01_int8"):
        path = MODELS / f"{name}.tflite"
        graph = read_model(path)
        shape = graph.input_tensors()[0].shape
        rng = np.random.default_rng(0)
        inputs = [rng.integers(-128, 128, size=shape).astype(np.int8) for _ in range(count)]
        times, ours = [], []
        for x in inputs:
            start = time.perf_counter()
            ours.append(run(graph, [x])[0])
            times.append(time.perf_counter() - start)
        ours = np.array(ours)
        cells = [compare(ours, litert_run({"model_path": str(path)}, inputs, r)) for r in RESOLVERS.values()]
        print(f"| {name} | {1000 * np.median(times):.1f} | " + " | ".join(cells) + " |")


def single_op(kind: OpKind, seed: int):
    m = GraphMaker(seed=seed)
    shape = (4, 64) if kind is not OpKind.MEAN else (1, 6, 6, 16)
    x = m.activation("x", shape)
    if kind in (OpKind.SOFTMAX, OpKind.LOGISTIC):
        y = m.add("y", shape, DType.INT8, 1.0 / 256, -128)
    elif kind is OpKind.MEAN:
        y = m.activation("y", (1, 1, 1, 16))
        axes = m.const("axes", [1, 2])
        return m.finish(kind, (x, axes), y, MeanOptions(True))
    else:
        y = m.activation("y", shape)
    options = SoftmaxOptions(1.0) if kind is OpKind.SOFTMAX else NoOptions()
    return m.finish(kind, (x,), y, options)


def bench_ops(seeds: int) -> None:
    print("\n| op (int8) | vs LiteRT ref | vs LiteRT optimized | vs LiteRT default |")
    print("|---|---|---|---|")
    for kind in (OpKind.SOFTMAX, OpKind.LOGISTIC, OpKind.HARD_SWISH, OpKind.MEAN):
        totals = {k: [] for k in RESOLVERS}
        for seed in range(seeds):
            graph = single_op(kind, seed)
            model = write_model(graph)
            shape = graph.input_tensors()[0].shape
            rng = np.random.default_rng(seed)
            inputs = [rng.integers(-128, 128, size=shape).astype(np.int8) for _ in range(4)]
            ours = np.array([run(graph, [x])[0] for x in inputs])
            for key, resolver in RESOLVERS.items():
                theirs = litert_run({"model_content": model}, inputs, resolver)
                totals[key].append(np.abs(ours.astype(np.int64) - theirs.astype(np.int64)))
        cells = []
        for key in RESOLVERS:
            diff = np.concatenate([d.reshape(-1) for d in totals[key]])
            cells.append(f"{int((diff > 0).sum())}/{diff.size} differ, max {int(diff.max())}")
        print(f"| {kind.value} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    bench_models(count=20)
    bench_ops(seeds=20)
