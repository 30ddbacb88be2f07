"""host.model_file (one reader for .tflite and .onnx, input layout for data) and the CLI on ONNX
models: compress -> .dcb checked in the C runtime, eval, unsupported-op listing; the committed
ONNX example (fashion_cnn with batch norm) against its TFLite float model."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dcagent.cli import main
from host.errors import DataError, ModelError
from host.model_file import ModelFormat, model_format, read_model_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FASHION = EXAMPLES / "fashion_cnn"


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_tflite_is_read_by_content() -> None:
    data = (FASHION / "model_float32.tflite").read_bytes()
    model = read_model_file(data)
    assert model.format is ModelFormat.TFLITE and model.input_perm == (0, 1, 2, 3)
    x = np.zeros((2, 28, 28, 1), np.float32)
    assert model.samples(x) is x


@pytest.mark.parametrize("data, name, message", [
    (b"\x89DCB\r\n\x1a\n" + bytes(40), "out.dcb", "container"),
    (b"hello world, not a model", "model.bin", "not a TFLite or ONNX model"),
    (b"", None, "not a TFLite or ONNX model"),
])
def test_other_files_are_refused(data: bytes, name: str | None, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        model_format(data, name)


def test_onnx_is_read_by_content_and_lays_out_nchw_samples() -> None:
    pytest.importorskip("onnx")
    from onnx_models import model_classifier

    model = read_model_file(model_classifier(), name=None)
    assert model.format is ModelFormat.ONNX
    assert model.source_shape == (1, 1, 12, 12) and model.graph_shape == (1, 12, 12, 1)
    x = np.random.default_rng(0).normal(size=(3, 1, 12, 12)).astype(np.float32)
    assert np.array_equal(model.samples(x), x.transpose(0, 2, 3, 1))
    nhwc = x.transpose(0, 2, 3, 1)
    assert model.samples(nhwc) is nhwc, "samples already in the device's NHWC layout are taken as they are"
    with pytest.raises(DataError, match=r"takes \(1, 12, 12\) per sample \(NCHW\)"):
        model.samples(np.zeros((3, 12, 12), np.float32))


@pytest.fixture(scope="module")
def onnx_classifier(tmp_path_factory):
    """A small ONNX conv classifier (batch norm, NCHW) with 48 labelled samples, compressed (a few s)."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx_models import model_classifier

    folder = tmp_path_factory.mktemp("onnx")
    data = model_classifier()
    (folder / "model.onnx").write_bytes(data)
    x = np.random.default_rng(3).normal(size=(48, 1, 12, 12)).astype(np.float32)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    y = np.array([int(np.argmax(session.run(None, {"x": x[i:i + 1]})[0])) for i in range(len(x))])
    np.savez(folder / "nchw.npz", x=x, y=y)
    np.savez(folder / "nhwc.npz", x=x.transpose(0, 2, 3, 1), y=y)
    out, report = folder / "model.dcb", folder / "report.json"
    code = main(["-q", "compress", str(folder / "model.onnx"), "-o", str(out), "--data", str(folder / "nchw.npz"),
                 "--max-drop", "5", "--report", str(report), "--unsigned", "--check", "8"])
    return code, folder, out, json.loads(report.read_text())


def test_onnx_model_compresses_to_a_container_the_c_runtime_runs(onnx_classifier, capsys) -> None:
    code, folder, out, report = onnx_classifier
    assert code == 0 and out.stat().st_size == report["compressed_bytes"]
    assert report["original_bytes"] == (folder / "model.onnx").stat().st_size
    assert report["accuracy"]["original"] == 100.0, "labels are onnxruntime's own predictions"
    assert report["accuracy"]["original"] - report["accuracy"]["compressed"] <= 5.0 + 1e-9
    capsys.readouterr()
    assert main(["eval", str(out), "--data", str(folder / "nhwc.npz"), "--runtime", "c", "--json"]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["accuracy"] == pytest.approx(report["accuracy"]["compressed"], abs=1e-3)


def test_eval_takes_onnx_models_with_data_in_either_layout(onnx_classifier, capsys) -> None:
    _, folder, out, _ = onnx_classifier
    for data in ("nchw.npz", "nhwc.npz"):
        capsys.readouterr()
        assert main(["eval", str(folder / "model.onnx"), "--data", str(folder / data), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["accuracy"] == 100.0
    capsys.readouterr()
    assert main(["eval", str(out), "--data", str(folder / "nhwc.npz"), "--reference", str(folder / "model.onnx"),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["agreement"] >= 95.0


def test_compress_lists_unsupported_onnx_ops_and_writes_nothing(tmp_path, capsys) -> None:
    pytest.importorskip("onnx")
    from onnx_models import model_unsupported

    model, out = tmp_path / "bad.onnx", tmp_path / "bad.dcb"
    model.write_bytes(model_unsupported())
    np.savez(tmp_path / "data.npz", x=np.zeros((2, 4, 4, 4), np.float32))
    code = main(["compress", str(model), "-o", str(out), "--data", str(tmp_path / "data.npz"), "--unsigned"])
    err = capsys.readouterr().err
    assert code == 3 and not out.exists()
    for op in ("LeakyRelu", "Resize", "Tanh"):
        assert f"op {op} is not supported" in err


def test_onnx_example_is_the_tflite_model_with_batch_norm() -> None:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from host.reference.interpreter import run
    from host.tflite import read_model

    data = (FASHION / "model.onnx").read_bytes()
    proto = onnx.load_from_string(data)
    assert [n.op_type for n in proto.graph.node].count("BatchNormalization") == 3
    model = read_model_file(FASHION / "model.onnx")
    tflite = read_model(FASHION / "model_float32.tflite")
    assert [op.kind for op in model.graph.ops] == [op.kind for op in tflite.ops], "batch norm folded at import"
    x = np.load(FASHION / "eval.npz")["x"][:12]
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for i in range(len(x)):
        lowered = run(model.graph, [model.samples(x[i:i + 1])])[0]
        np.testing.assert_allclose(lowered, run(tflite, [x[i:i + 1]])[0], atol=2e-6)
        np.testing.assert_allclose(lowered, session.run(None, {"input": x[i:i + 1].transpose(0, 3, 1, 2)})[0],
                                   atol=2e-6)


@pytest.mark.slow
def test_onnx_example_regenerates() -> None:
    onnx = pytest.importorskip("onnx")
    from examples.onnx_export import build

    committed = {t.name: onnx.numpy_helper.to_array(t)
                 for t in onnx.load(str(FASHION / "model.onnx")).graph.initializer}
    rebuilt = {t.name: onnx.numpy_helper.to_array(t) for t in build("fashion_cnn").graph.initializer}
    assert committed.keys() == rebuilt.keys()
    for name, array in committed.items():
        np.testing.assert_allclose(rebuilt[name], array, rtol=1e-5, atol=1e-7, err_msg=name)
