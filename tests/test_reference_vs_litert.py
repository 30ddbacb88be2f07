"""The reference interpreter on the four int8 MLPerf Tiny models == LiteRT, tensor by tensor.

LiteRT runs with its reference kernels (BUILTIN_REF), the semantics this interpreter
specifies; every intermediate tensor is compared too, so a mismatch names the first op.
"""
from __future__ import annotations

import numpy as np
import pytest

from host.reference import run, run_all
from host.tflite import read_model, write_model

litert = pytest.importorskip("ai_edge_litert.interpreter")

INT8_MODELS = ["kws_ref_model", "pretrainedResnet_quant", "vww_96_int8", "ad01_int8"]
INPUTS_PER_MODEL = 4


def _interpreter(**source):
    interpreter = litert.Interpreter(
        **source, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    return interpreter


def _first_mismatch(ours: np.ndarray, theirs: np.ndarray) -> str:
    where = tuple(int(i) for i in np.argwhere(ours != theirs)[0])
    return (f"element {where}: ours {ours[where]}, LiteRT {theirs[where]} "
            f"({int((ours != theirs).sum())} of {ours.size} differ)")


@pytest.mark.slow
@pytest.mark.parametrize("name", INT8_MODELS)
def test_every_tensor_equals_litert(mlperf_tiny, name):
    path = mlperf_tiny / f"{name}.tflite"
    graph = read_model(path)
    interpreter = _interpreter(model_path=str(path))
    (detail,) = interpreter.get_input_details()
    rng = np.random.default_rng(7)
    for k in range(INPUTS_PER_MODEL):
        x = rng.integers(-128, 128, size=detail["shape"]).astype(np.int8)
        interpreter.set_tensor(detail["index"], x)
        interpreter.invoke()
        values = run_all(graph, [x])
        for op_index, op in enumerate(graph.ops):
            out = op.outputs[0]
            theirs = interpreter.get_tensor(out)
            if not np.array_equal(values[out], theirs):
                pytest.fail(f"{name}, input {k}, {graph.describe_op(op_index)[:120]}: "
                            + _first_mismatch(values[out], theirs))
        assert np.array_equal(run(graph, [x])[0], values[graph.outputs[0]])


@pytest.mark.slow
@pytest.mark.parametrize("name", INT8_MODELS)
def test_written_model_runs_identically_in_litert(mlperf_tiny, name):
    """read -> write_model -> LiteRT gives the original model's outputs (default kernels too)."""
    path = mlperf_tiny / f"{name}.tflite"
    written = write_model(read_model(path))
    assert write_model(read_model(written)) == written  # the writer is deterministic and stable
    rng = np.random.default_rng(8)
    for resolver in (litert.OpResolverType.AUTO, litert.OpResolverType.BUILTIN_REF):
        runs = []
        for source in ({"model_path": str(path)}, {"model_content": written}):
            interpreter = litert.Interpreter(**source, experimental_op_resolver_type=resolver)
            interpreter.allocate_tensors()
            (detail,) = interpreter.get_input_details()
            (out,) = interpreter.get_output_details()
            outputs = []
            for x in rng.integers(-128, 128, size=(3, *detail["shape"])).astype(np.int8):
                interpreter.set_tensor(detail["index"], x)
                interpreter.invoke()
                outputs.append(interpreter.get_tensor(out["index"]).copy())
            runs.append(np.array(outputs))
            rng = np.random.default_rng(8)
        assert np.array_equal(runs[0], runs[1]), _first_mismatch(runs[1], runs[0])
