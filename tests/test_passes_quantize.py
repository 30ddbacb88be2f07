"""Post-training quantization: folding, calibration, int8 graphs that LiteRT runs identically."""
from __future__ import annotations

import numpy as np
import pytest

from host.data import prepare_data
from host.graph import OpKind, UniformLevels, validate
from host.passes.calibrate import RangeMethod
from host.passes.execute import run_samples
from host.passes.fidelity import measure, real_outputs
from host.passes.fold import fold_affine, fold_batch_norm
from host.passes.quantize import QuantizeOptions, quantize
from host.reference import run
from host.tflite import read_model, write_model
from passes_models import mixture_task, tiny_cnn, trained_mlp

litert = pytest.importorskip("ai_edge_litert.interpreter")


def _litert_outputs(model: bytes, x: np.ndarray) -> np.ndarray:
    it = litert.Interpreter(model_content=model,
                            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    rows = []
    for sample in x:
        it.set_tensor(inp, sample[None])
        it.invoke()
        rows.append(it.get_tensor(out)[0].copy())
    return np.stack(rows)


def _assert_equal_int8(ours: np.ndarray, theirs: np.ndarray) -> None:
    diff = np.flatnonzero(ours.reshape(-1) != theirs.reshape(-1))
    assert diff.size == 0, (f"{diff.size} outputs differ; first at flat index {diff[0]}: "
                            f"ours {ours.reshape(-1)[diff[0]]}, LiteRT {theirs.reshape(-1)[diff[0]]}")


def _ptq_roundtrip(graph, x, options=QuantizeOptions()):
    q, report = quantize(graph, x, options)
    data = prepare_data(x, None, q)
    ours = run_samples(q, data.x, keep=set()).values[q.outputs[0]]
    model = write_model(q)
    theirs = _litert_outputs(model, data.x[:16])
    _assert_equal_int8(ours[:16], theirs)
    reread = read_model(model)
    _assert_equal_int8(run(reread, [data.x[:1]])[0], ours[:1])
    return q, report, ours


def test_fold_affine_matches_unfolded_arithmetic():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)
    b, m, a = rng.normal(size=4), rng.uniform(0.5, 2, 4), rng.normal(size=4)
    x = rng.normal(size=(3 * 3 * 2,))
    wf, bf = fold_affine(w, b, m, a, 0)
    expected = (w.reshape(4, -1) @ x + b) * m + a
    assert np.allclose(wf.reshape(4, -1) @ x + bf, expected, rtol=1e-5, atol=1e-5)


def test_fold_batch_norm_removes_mul_add_and_keeps_outputs():
    g = tiny_cnn(seed=1, batch_norm=True)
    folded, report = fold_batch_norm(g)
    assert len(report.folded) == 2
    assert OpKind.MUL not in [op.kind for op in folded.ops] and OpKind.ADD not in [op.kind for op in folded.ops]
    x = np.random.default_rng(2).normal(size=(1, 12, 10, 3)).astype(np.float32)
    assert np.allclose(run(folded, [x])[0], run(g, [x])[0], atol=1e-6)


@pytest.mark.parametrize("method", list(RangeMethod))
def test_tiny_cnn_ptq_agrees_with_litert_and_float(method):
    g = tiny_cnn(seed=3)
    x = np.random.default_rng(4).normal(size=(200, 12, 10, 3)).astype(np.float32)
    q, report, ours = _ptq_roundtrip(g, x, QuantizeOptions(activation_range=method))
    assert report.folded and report.weight_tensors == 4 and report.bias_corrected == 4
    validate(q)
    for t in q.tensors:
        if isinstance(t.encoding, UniformLevels):
            assert t.encoding.bits == 8 and np.array_equal(t.encoding.reconstruct(), t.data)
    reference = run_samples(g, x, keep=set()).values[g.outputs[0]]
    fid = measure(reference.astype(np.float64), real_outputs(q, ours), None)
    assert fid.agreement >= 85.0, fid


def test_mlperf_float_models_quantize_to_litert_exact(mlperf_tiny):
    rng = np.random.default_rng(5)
    for name, floor_db in (("ad01_fp32.tflite", 30.0), ("kws_ref_model_float32.tflite", 20.0)):
        g = read_model(mlperf_tiny / name)
        x = rng.normal(size=(48,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.float32)
        q, _, ours = _ptq_roundtrip(g, x)
        reference = run_samples(g, x, keep=set()).values[g.outputs[0]].astype(np.float64)
        fid = measure(reference, real_outputs(q, ours), None)
        assert fid.sqnr_db > floor_db, (name, fid)


def test_mlp_ptq_keeps_accuracy():
    g = trained_mlp()
    x, y = mixture_task(1, 1000)
    q, _ = quantize(g, x)
    reference = run_samples(g, x, keep=set()).values[g.outputs[0]].astype(np.float64)
    data = prepare_data(x, y, q)
    fid = measure(reference, real_outputs(q, run_samples(q, data.x, keep=set()).values[q.outputs[0]]), y)
    base = measure(reference, reference, y)
    assert base.accuracy > 60.0
    assert base.accuracy - fid.accuracy <= 1.0 and fid.agreement >= 97.0, (base, fid)


def test_quantize_rejects_int8_models(mlperf_tiny):
    from host.errors import ModelError

    g = read_model(mlperf_tiny / "ad01_int8.tflite")
    with pytest.raises(ModelError, match="already quantized"):
        quantize(g, np.zeros((1, 640), dtype=np.float32))
