"""`dcagent compress` lossy (float or int8 model + data -> .dcb), `eval` and `inspect`, through
dcagent.cli.main: reports, exit codes, bad inputs, nothing half-written."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dcagent.cli import main
from host.container.reader import read_container
from host.data import load_data, prepare_data
from host.model_format import unpack
from host.runtime import DecodeMode, Runtime
from host.tflite import read_model

EXAMPLES = Path(__file__).parents[1] / "examples"
HAR = EXAMPLES / "har"


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def leftovers(folder: Path) -> list[str]:
    """Temporary files an interrupted atomic write would leave (none may remain)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def har_compressed(tmp_path_factory):
    """har float32 + its labelled eval data, compressed under 1 point (about 5 s)."""
    folder = tmp_path_factory.mktemp("har")
    out, report = folder / "har.dcb", folder / "har.json"
    code = main(["-q", "compress", str(HAR / "model_float32.tflite"), "-o", str(out), "--data",
                 str(HAR / "eval.npz"), "--max-drop", "1", "--report", str(report), "--unsigned", "--check", "8"])
    return code, out, json.loads(report.read_text())


def test_lossy_compress_meets_the_budget_and_reports(har_compressed):
    code, out, report = har_compressed
    assert code == 0 and out.stat().st_size == report["compressed_bytes"]
    assert report["mode"] == "lossy" and report["goal_met"] is True and report["metric"] == "accuracy"
    acc = report["accuracy"]
    assert acc["samples"] == 280 and acc["original"] - acc["compressed"] <= 1.0 + 1e-9
    assert report["original_bytes"] == (HAR / "model_float32.tflite").stat().st_size
    assert report["float32_bytes"] == 4 * 6324  # the float model's weights and biases
    assert report["ratio_vs_float32"] == pytest.approx(report["float32_bytes"] / report["compressed_bytes"], 1e-3)
    assert report["ratio_vs_float32"] > 4
    weights = [t for t in report["tensors"] if t["rule"] not in ("exact", "scaled")]
    assert weights and all({"name", "params", "bits", "sparsity", "bytes"} <= set(t) for t in report["tensors"])
    assert any(t["bits"] < 8 for t in weights)  # the search did compress
    biases = [t for t in report["tensors"] if t["dtype"] == "int32"]
    assert biases and all(t["rule"] == "scaled" and 8 <= t["bits"] <= 31 for t in biases)  # lossy biases
    assert sum(t["bytes"] for t in report["tensors"]) == report["payload_bytes"]


def test_refit_refits_the_chosen_layers_and_is_off_by_default(har_compressed, tmp_path):
    """--refit: the search refits the chosen layers on the compressed model's own inputs
    (sequential.py) and the report names the refitted choices; without it every choice is as the
    search made it."""
    _, _, report = har_compressed
    assert report["choices"] and not any("refit" in c["choice"] for c in report["choices"])
    out, refitted = tmp_path / "refit.dcb", tmp_path / "refit.json"
    assert main(["-q", "compress", str(HAR / "model_float32.tflite"), "-o", str(out), "--data", str(HAR / "eval.npz"),
                 "--max-drop", "1", "--report", str(refitted), "--unsigned", "--check", "4", "--refit"]) == 0
    data = json.loads(refitted.read_text())
    assert any(c["choice"].endswith(", refit") for c in data["choices"])
    assert data["accuracy"]["original"] - data["accuracy"]["compressed"] <= 1.0 + 1e-9


def test_compressed_container_runs_as_reported_in_the_c_runtime(har_compressed, tmp_path, capsys):
    _, out, report = har_compressed
    container = read_container(out)
    rules = {t.encoding.rule for t in container.metadata.tensors if t.encoding is not None}
    assert rules, "the compressed weights carry their reconstruction rule"
    graph = unpack(container)
    data = load_data(HAR / "eval.npz", graph)
    runtime = Runtime(out.read_bytes(), DecodeMode.AT_LOAD)
    predicted = np.array([int(np.argmax(runtime.run([data.x[i:i + 1]])[0])) for i in range(data.size)])
    assert 100.0 * np.mean(predicted == data.y) == pytest.approx(report["accuracy"]["compressed"], abs=1e-3)
    capsys.readouterr()
    assert main(["eval", str(out), "--data", str(HAR / "eval.npz"), "--runtime", "c", "--json"]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["accuracy"] == pytest.approx(report["accuracy"]["compressed"], abs=1e-3)
    assert measured["runtime"] == "c"


def test_decoded_compressed_model_runs_in_litert_like_the_c_runtime(har_compressed, tmp_path):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    _, out, _ = har_compressed
    decoded = tmp_path / "har.tflite"
    assert main(["-q", "decode", str(out), "-o", str(decoded)]) == 0
    graph = read_model(decoded)
    data = load_data(HAR / "eval.npz", graph)
    interpreter = litert.Interpreter(model_path=str(decoded),
                                     experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    runtime = Runtime(out.read_bytes(), DecodeMode.PER_LAYER)
    for i in range(0, data.size, 7):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], data.x[i:i + 1])
        interpreter.invoke()
        theirs = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        ours = runtime.run([data.x[i:i + 1]])[0]
        assert np.array_equal(ours, theirs), f"sample {i}: C runtime {ours} vs LiteRT {theirs}"


def test_inspect_shows_rules_bits_and_sparsity(har_compressed, capsys):
    _, out, report = har_compressed
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    for words in ("mode=lossy", "graph", "CONV_2D", "SOFTMAX", "rule", "sparsity", "uniform", "scaled x2^",
                  "least arena bytes", "cortex-m-dsp"):
        assert words in text
    assert main(["inspect", "--json", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    coded = [t for t in data["tensors"] if t["rule"] not in ("exact", "scaled")]
    assert coded and all(0.0 <= t["sparsity"] <= 1.0 and 1 <= t["bits"] <= 8 for t in coded)
    scaled = [t for t in data["tensors"] if t["rule"] == "scaled"]
    assert scaled and all(1 <= t["shift"] <= 24 and t["bits"] == 32 - t["shift"] for t in scaled)
    assert len(data["graph"]["node_list"]) == data["graph"]["nodes"]
    # min RAM: of each device's least arena (its smallest decode mode), the most
    arena = data["arena"]
    assert set(arena) == {"host", "cortex_m", "cortex_m_dsp"} and all(len(modes) == 3 for modes in arena.values())
    assert data["target"]["min_ram"] == max(min(modes.values()) for modes in arena.values())


def test_without_labels_the_budget_is_top1_agreement(tmp_path):
    raw = np.load(HAR / "eval.npz")
    unlabelled = tmp_path / "x.npz"
    np.savez(unlabelled, x=raw["x"][:120])
    out, report = tmp_path / "h.dcb", tmp_path / "h.json"
    assert main(["-q", "compress", str(HAR / "model_int8.tflite"), "-o", str(out), "--data", str(unlabelled),
                 "--max-drop", "2", "--report", str(report), "--unsigned", "--check", "4"]) == 0
    data = json.loads(report.read_text())
    assert data["metric"] == "agreement" and "accuracy" not in data
    assert data["fidelity"]["compressed"]["agreement"] >= 98.0 - 1e-9
    assert data["fidelity"]["compressed"]["samples"] == 120


def test_calibration_data_apart_from_the_scored_data(tmp_path):
    """--calib: the search sees only calib.npz (train recordings); eval.npz is held out and scored."""
    out, report = tmp_path / "h.dcb", tmp_path / "h.json"
    assert main(["-q", "compress", str(HAR / "model_float32.tflite"), "-o", str(out), "--calib",
                 str(HAR / "calib.npz"), "--data", str(HAR / "eval.npz"), "--max-drop", "1", "--report", str(report),
                 "--unsigned", "--check", "4"]) == 0
    data = json.loads(report.read_text())
    evaluation = data["evaluation"]
    assert evaluation["held_out"] is True
    assert evaluation["search"]["file"].endswith("calib.npz") and evaluation["scored"]["file"].endswith("eval.npz")
    assert evaluation["scored"]["samples"] == 280 and data["accuracy"]["samples"] == 280
    # the search verified on the half of calib.npz it did not choose on
    assert data["search"]["accuracy"]["samples"] == evaluation["search"]["samples"] - evaluation["search"]["samples"] // 2
    # the held-out figures are those of the written model on eval.npz (reference interpreter)
    graph = unpack(read_container(out))
    scored = load_data(HAR / "eval.npz", graph)
    from host.evaluation import model_outputs

    predicted = model_outputs(graph, scored).argmax(axis=1)
    assert 100.0 * np.mean(predicted == scored.y) == pytest.approx(data["accuracy"]["compressed"], abs=1e-3)
    assert data["accuracy"]["drop"] == pytest.approx(data["accuracy"]["original"] - data["accuracy"]["compressed"],
                                                     abs=1e-3)
    assert set(data["fidelity"]["compressed"]) >= {"agreement", "sqnr_db", "samples"}


def test_min_sqnr_is_a_second_budget(tmp_path, capsys):
    raw = np.load(HAR / "eval.npz")
    unlabelled = tmp_path / "x.npz"
    np.savez(unlabelled, x=raw["x"][:120])
    out, report = tmp_path / "h.dcb", tmp_path / "h.json"
    assert main(["-q", "compress", str(HAR / "model_float32.tflite"), "-o", str(out), "--data", str(unlabelled),
                 "--max-drop", "100", "--min-sqnr", "25", "--report", str(report), "--unsigned", "--check", "4"]) == 0
    data = json.loads(report.read_text())
    assert data["min_sqnr_db"] == 25.0 and data["metric"] == "agreement"
    assert data["fidelity"]["compressed"]["sqnr_db"] >= 25.0
    # an SQNR the int8 model itself cannot reach: exit 1, no .dcb
    capsys.readouterr()
    assert main(["compress", str(HAR / "model_float32.tflite"), "-o", str(tmp_path / "n.dcb"), "--data",
                 str(unlabelled), "--min-sqnr", "90", "--unsigned"]) == 1
    assert "output SQNR" in capsys.readouterr().err and not (tmp_path / "n.dcb").exists()


@pytest.mark.parametrize("extra, words", [
    (["--calib", "CALIB"], "--calib needs --data"),
    (["--lossless", "--calib", "CALIB", "--data", "DATA"], "--lossless keeps every weight"),
    (["--data", "DATA", "--min-sqnr", "nan"], "--min-sqnr must be a finite number"),
])
def test_calib_and_sqnr_argument_errors(tmp_path, capsys, extra, words):
    args = [a.replace("CALIB", str(HAR / "calib.npz")).replace("DATA", str(HAR / "eval.npz")) for a in extra]
    assert main(["compress", str(HAR / "model_int8.tflite"), "-o", str(tmp_path / "o.dcb"), "--unsigned"] + args) != 0
    assert words in capsys.readouterr().err


def test_unmeetable_budget_reports_the_best_found_and_writes_no_dcb(tmp_path, capsys):
    """har float32 under an 80 dB output SQNR budget: even its int8 model (about 48 dB) misses it."""
    out, report = tmp_path / "har.dcb", tmp_path / "har.json"
    code = main(["compress", str(HAR / "model_float32.tflite"), "-o", str(out), "--data",
                 str(HAR / "eval.npz"), "--max-drop", "1", "--min-sqnr", "80", "--report", str(report), "--unsigned"])
    captured = capsys.readouterr()
    assert code == 1
    assert "loses" in captured.err and "not written" in captured.err and "--max-drop" in captured.err
    assert "output SQNR" in captured.err
    assert not out.exists() and leftovers(tmp_path) == []
    data = json.loads(report.read_text())
    assert data["goal_met"] is False and data["compressed_bytes"] is None
    assert data["fidelity"]["compressed"]["sqnr_db"] < 80
    assert data["estimated_bytes"] > 0 and data["ratio_vs_float32"] > 1
    assert "best found" in captured.out


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case, words", [
    ("shape", "takes (40, 1, 6) per sample"),
    ("dtype", "is int32 but the model takes float32"),
    ("labels", "outside the model's 4 classes"),
    ("empty", "holds no samples"),
    ("no_x", "no array named 'x'"),
    ("not_npz", "not a readable .npz file"),
    ("nan", "NaN or infinite"),
    ("onehot", "one-hot"),
])
def test_bad_data_is_bad_input_before_any_work(tmp_path, capsys, case, words):
    raw = np.load(HAR / "eval.npz")
    x, y = raw["x"][:10], raw["y"][:10]
    if case == "shape":
        data = _npz(tmp_path / "d.npz", x=x.reshape(10, 40, 6, 1), y=y)
    elif case == "dtype":
        data = _npz(tmp_path / "d.npz", x=(x * 100).astype(np.int32), y=y)
    elif case == "labels":
        data = _npz(tmp_path / "d.npz", x=x, y=np.where(np.arange(10) == 3, 7, y))
    elif case == "empty":
        data = _npz(tmp_path / "d.npz", x=x[:0], y=y[:0])
    elif case == "no_x":
        data = _npz(tmp_path / "d.npz", inputs=x)
    elif case == "nan":
        bad = x.copy()
        bad[2, 5, 0, 1] = np.nan
        data = _npz(tmp_path / "d.npz", x=bad, y=y)
    elif case == "onehot":
        data = _npz(tmp_path / "d.npz", x=x, y=np.eye(4)[y])
    else:
        data = tmp_path / "d.npz"
        data.write_bytes(b"not a zip file at all")
    out = tmp_path / "x.dcb"
    assert main(["compress", str(HAR / "model_float32.tflite"), "-o", str(out), "--data", str(data),
                 "--unsigned"]) == 3
    err = capsys.readouterr().err
    assert words in err
    assert not out.exists() and leftovers(tmp_path) == []
    assert main(["eval", str(HAR / "model_float32.tflite"), "--data", str(data)]) == 3


def test_corrupt_and_truncated_models_are_bad_input(tmp_path, capsys):
    source = (HAR / "model_float32.tflite").read_bytes()
    out = tmp_path / "x.dcb"
    for name, data in (("truncated", source[: len(source) // 2]), ("tiny", source[:7]),
                       ("garbage", bytes(range(256)) * 8)):
        model = tmp_path / f"{name}.tflite"
        model.write_bytes(data)
        assert main(["compress", str(model), "-o", str(out), "--data", str(HAR / "eval.npz"), "--unsigned"]) == 3, name
        err = capsys.readouterr().err
        assert "error:" in err and ("TFLite" in err or "corrupt" in err), (name, err)
        assert not out.exists()
    assert leftovers(tmp_path) == []


def test_unsupported_ops_are_all_listed_before_any_work(tmp_path, capsys):
    """Every unsupported op is named, and it happens before the data is even read."""
    from host.tflite import write_model
    from host.tflite.schema import BUILTIN_OPERATOR_NAMES
    from tests.test_tflite_reader import _recode

    graph = read_model(HAR / "model_int8.tflite")
    data = bytearray(write_model(graph))
    codes = {"MAX_POOL_2D": 17, "SOFTMAX": 25}
    data = _recode(data, {codes["MAX_POOL_2D"]: BUILTIN_OPERATOR_NAMES.index("SQUEEZE"),
                          codes["SOFTMAX"]: BUILTIN_OPERATOR_NAMES.index("TANH")})
    model = tmp_path / "ops.tflite"
    model.write_bytes(bytes(data))
    out = tmp_path / "x.dcb"
    assert main(["compress", str(model), "-o", str(out), "--data", str(tmp_path / "missing.npz"),
                 "--unsigned"]) == 3
    err = capsys.readouterr().err
    pools = sum(1 for op in graph.ops if op.kind.value == "MAX_POOL_2D")
    assert err.count("SQUEEZE") >= pools >= 2 and "TANH" in err and "supported ops:" in err
    assert "missing.npz" not in err and not out.exists()


@pytest.mark.parametrize("args, words", [
    (["--max-drop", "-1"], "--max-drop must be"),
    (["--max-drop", "nan"], "--max-drop must be"),
    (["--search-samples", "0"], "--search-samples must be >= 1"),
    (["--model-version", "-2"], "--model-version must be >= 0"),
])
def test_bad_options_are_usage_errors(tmp_path, capsys, args, words):
    out = tmp_path / "x.dcb"
    assert main(["compress", str(HAR / "model_float32.tflite"), "-o", str(out), "--data", str(HAR / "eval.npz"),
                 "--unsigned", *args]) == 2
    assert words in capsys.readouterr().err and not out.exists()


def test_eval_of_models_and_fidelity_against_a_reference(tmp_path, capsys):
    assert main(["eval", str(HAR / "model_int8.tflite"), "--data", str(HAR / "eval.npz"), "--json",
                 "--reference", str(HAR / "model_float32.tflite")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["samples"] == 280 and result["accuracy"] == pytest.approx(100 * 279 / 280, abs=1e-3)
    assert 95.0 <= result["agreement"] <= 100.0 and result["sqnr_db"] > 10
    raw = np.load(HAR / "eval.npz")
    unlabelled = _npz(tmp_path / "x.npz", x=raw["x"][:20])
    assert main(["eval", str(HAR / "model_int8.tflite"), "--data", str(unlabelled)]) == 2
    assert "no labels" in capsys.readouterr().err
    assert main(["eval", str(HAR / "model_int8.tflite"), "--data", str(unlabelled), "--runtime", "c"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fashion_cnn", "lenet300", "kws", "har"])
def test_every_example_compresses_and_runs_bit_exactly(tmp_path, name):
    """The full search on each example float32 model under a 2-point budget (kws PTQ alone loses
    1.33 points); the C runtime reproduces the reference on every eval sample and LiteRT on some."""
    from host.passes.execute import run_samples

    out, report = tmp_path / f"{name}.dcb", tmp_path / f"{name}.json"
    assert main(["-q", "compress", str(EXAMPLES / name / "model_float32.tflite"), "-o", str(out), "--data",
                 str(EXAMPLES / name / "eval.npz"), "--max-drop", "2", "--report", str(report), "--unsigned"]) == 0
    data = json.loads(report.read_text())
    assert data["accuracy"]["original"] - data["accuracy"]["compressed"] <= 2.0 + 1e-9
    graph = unpack(read_container(out))
    x = load_data(EXAMPLES / name / "eval.npz", graph).x
    reference = run_samples(graph, x, keep=set()).values[graph.outputs[0]]
    runtime = Runtime(out.read_bytes(), DecodeMode.AT_LOAD)
    for i in range(x.shape[0]):
        assert np.array_equal(runtime.run([x[i:i + 1]])[0], reference[i:i + 1]), f"{name} sample {i}"


def float16_model(path: Path) -> Path:
    """examples/har float32 with every weight stored as float16 behind a DEQUANTIZE op (what the
    TFLite converter's float16 quantization writes)."""
    from host.graph import DType, NoOptions, Op, OpKind, Tensor
    from host.tflite import write_model

    graph = read_model(HAR / "model_float32.tflite")
    dequantize = []
    for index, tensor in enumerate(list(graph.tensors)):
        if tensor.data is not None and tensor.dtype is DType.FLOAT32 and tensor.size > 16:
            graph.tensors.append(Tensor(tensor.name + "/fp16", tensor.shape, DType.FLOAT16,
                                        data=tensor.data.astype(np.float16)))
            tensor.data = None
            dequantize.append(Op(OpKind.DEQUANTIZE, (len(graph.tensors) - 1,), (index,), NoOptions()))
    graph.ops = dequantize + graph.ops
    path.write_bytes(write_model(graph))
    return path


def test_float16_weights_compress_like_float32(tmp_path):
    model = float16_model(tmp_path / "har_fp16.tflite")
    out, report = tmp_path / "h.dcb", tmp_path / "h.json"
    assert main(["-q", "compress", str(model), "-o", str(out), "--data", str(HAR / "eval.npz"), "--report",
                 str(report), "--unsigned", "--check", "4"]) == 0
    data = json.loads(report.read_text())
    assert data["original_bytes"] == model.stat().st_size < (HAR / "model_float32.tflite").stat().st_size
    assert data["float32_bytes"] == 4 * 6324 and data["goal_met"] is True
    assert data["accuracy"]["original"] - data["accuracy"]["compressed"] <= 1.0 + 1e-9


def test_lossless_with_data_reports_the_unchanged_accuracy(tmp_path):
    out, report = tmp_path / "h.dcb", tmp_path / "h.json"
    assert main(["-q", "compress", str(HAR / "model_int8.tflite"), "-o", str(out), "--lossless", "--data",
                 str(HAR / "eval.npz"), "--report", str(report), "--unsigned"]) == 0
    data = json.loads(report.read_text())
    assert data["mode"] == "lossless"
    assert data["accuracy"]["original"] == data["accuracy"]["compressed"] == pytest.approx(100 * 279 / 280)
    assert {t["rule"] for t in data["tensors"]} == {"exact"}  # no lossy (scaled) bias either


def test_factorized_layers_are_two_ops_and_run_bit_exactly():
    """A layer the passes factorize (k x 1 then 1 x k, or depthwise + pointwise) is two ordinary
    nodes in the container; the replaced weights are not stored; the C runtime, in both decode
    modes, equals the reference interpreter on the factorized graph. Built through the passes'
    own option machinery, so it does not depend on whether a budget search picks factorization."""
    from host.data import prepare_data
    from host.model_format import pack
    from host.model_format.check import check_container
    from host.passes.engine import SearchSpace, _layers, layer_options, realize
    from host.passes.execute import run_samples
    from host.passes.quantize import quantize
    from host.passes.rate import estimate_bits
    from host.passes.rewrite import compact
    from tests.passes_models import tiny_cnn

    x = np.random.default_rng(8).normal(size=(64, 12, 10, 3)).astype(np.float32)
    q, _ = quantize(tiny_cnn(seed=7, batch_norm=False), x)
    xq = prepare_data(x, None, q).x
    layers = _layers(q, run_samples(q, xq).values, estimate_bits)
    by_index = {layer.op_index: layer for layer in layers}
    options = [o for layer in layers for o in layer_options(layer, SearchSpace(factorize=True, ranks=(0.5,)),
                                                             estimate_bits, q) if o.factor is not None]
    kinds = {o.factor.kind.value for o in options}
    assert {"spatial", "depthwise", "low-rank"} <= kinds, kinds
    samples = [[xq[i:i + 1]] for i in range(4)]
    for kind in {o.factor.kind for o in options}:
        option = next(o for o in options if o.factor.kind is kind)
        g = compact(realize(q, by_index, [option], True))
        assert len(g.ops) == len(q.ops) + 1, option.factor.kind
        used = {i for op in g.ops for i in op.inputs if i >= 0} | set(g.outputs) | set(g.inputs)
        assert used == set(range(len(g.tensors))), "every stored tensor is used by an op"
        result = check_container(pack(g, name="factorized", version=1), g, samples)
        assert not result.problems, result.problems


def test_a_held_out_loss_beyond_the_budget_exits_1_with_the_dcb_and_report_written(tmp_path, capsys):
    """The search meets its budget on calib.npz; held-out data it does not represent (weak sensor
    noise, labelled with the float model's own answers) loses more: exit 1, everything written, and why."""
    graph = read_model(HAR / "model_float32.tflite")
    noise = np.random.default_rng(5).normal(0.0, 0.5, (200,) + tuple(np.load(HAR / "eval.npz")["x"].shape[1:]))
    from host.evaluation import model_outputs

    labels = model_outputs(graph, prepare_data(noise.astype(np.float32), None, graph)).argmax(axis=1)
    held_out = tmp_path / "noise.npz"
    np.savez(held_out, x=noise.astype(np.float32), y=labels)
    out, report = tmp_path / "h.dcb", tmp_path / "h.json"
    code = main(["compress", str(HAR / "model_float32.tflite"), "-o", str(out), "--calib", str(HAR / "calib.npz"),
                 "--data", str(held_out), "--max-drop", "1", "--report", str(report), "--unsigned", "--check", "4"])
    err = capsys.readouterr().err
    assert code == 1
    data = json.loads(report.read_text())
    assert out.exists() and data["goal_met"] is True  # the search's own budget was met ...
    assert data["held_out_within_budget"] is False and data["accuracy"]["drop"] > 1.0  # ... the held-out one not
    assert data["accuracy"]["original"] == 100.0
    assert "held-out data (noise.npz) loses" in err and "--calib" in err
