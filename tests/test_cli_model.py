"""`dcagent compress`, `decode` and `demo` through dcagent.cli.main, with their exit codes and bad inputs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dcagent.cli import main
from host.container.reader import read_container
from host.container.signing import load_public_key, verify_signature
from host.tflite import read_model, write_model
from tests.model_samples import tiny_graph

MODELS = Path("/work/shared/models/mlperf-tiny")
KWS = Path(__file__).parents[1] / "examples" / "models" / "kws_ref_model.tflite"


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def keys(tmp_path):
    folder = tmp_path / "keys"
    assert main(["-q", "keygen", "-o", str(folder)]) == 0
    return folder


def test_compress_signs_reports_and_decodes_back(tmp_path, keys, capsys):
    out, report, decoded = tmp_path / "kws.dcb", tmp_path / "kws.json", tmp_path / "kws.tflite"
    assert main(["compress", str(KWS), "-o", str(out), "--lossless", "--name", "kws", "--model-version", "7",
                 "--key", str(keys / "publisher.key"), "--report", str(report), "--keep-names"]) == 0
    assert ".dcb container" in capsys.readouterr().out
    container = read_container(out)
    verify_signature(container, load_public_key(keys / "publisher.pub"))
    assert (container.metadata.model.name, container.metadata.model.version) == ("kws", 7)
    data = json.loads(report.read_text())
    assert data["compressed_bytes"] == out.stat().st_size
    assert data["original_bytes"] == KWS.stat().st_size
    assert data["float32_bytes"] == 4 * data["params"] and data["ratio_vs_float32"] > 2
    assert {"name", "params", "bits", "sparsity", "bytes"} <= set(data["tensors"][0])
    assert main(["decode", str(out), "-o", str(decoded), "--key", str(keys / "publisher.pub")]) == 0
    assert write_model(read_model(decoded)) == write_model(read_model(KWS))


def test_decoded_model_runs_in_litert_like_the_original(tmp_path):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    source = MODELS / "ad01_int8.tflite"
    out, decoded = tmp_path / "ad.dcb", tmp_path / "ad.tflite"
    assert main(["-q", "compress", str(source), "-o", str(out), "--lossless", "--unsigned"]) == 0
    assert main(["-q", "decode", str(out), "-o", str(decoded)]) == 0
    x = np.random.default_rng(3).integers(-128, 128, size=(1, 640), dtype=np.int8)
    outputs = []
    for model in (source, decoded):
        interpreter = litert.Interpreter(model_path=str(model),
                                         experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy())
    assert np.array_equal(outputs[0], outputs[1])


def test_decode_writes_the_int32_values_of_scaled_biases(tmp_path):
    """`dcagent decode` of a container with biases by rule scaled writes the values the device
    rebuilds (level * 2^shift), not the stored levels."""
    from host.runtime import DecodeMode, Runtime
    from tests.model_samples import tiny_container

    graph = tiny_graph()
    out, decoded = tmp_path / "tiny.dcb", tmp_path / "tiny.tflite"
    out.write_bytes(tiny_container())
    assert main(["-q", "decode", str(out), "-o", str(decoded)]) == 0
    written = {t.name: t for t in read_model(decoded).tensors}
    scaled = [t for t in graph.tensors if t.encoding is not None and t.dtype.value == "int32"]
    assert len(scaled) == 2
    for t in scaled:
        assert written[t.name].encoding is None and written[t.name].data.dtype == np.int32
        assert np.array_equal(written[t.name].data, t.encoding.levels.astype(np.int64) << t.encoding.shift)
    x = np.random.default_rng(5).integers(-128, 128, size=(1, 6, 6, 2), dtype=np.int8)
    from host.reference import run

    for ours, theirs in zip(Runtime(out.read_bytes(), DecodeMode.AT_LOAD).run([x]), run(read_model(decoded), [x])):
        assert np.array_equal(ours, theirs)


def test_lossy_compress_without_data_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "x.dcb"
    assert main(["compress", str(KWS), "-o", str(out), "--unsigned"]) == 2
    assert "lossy compression needs data: --data" in capsys.readouterr().err
    assert not out.exists()


def test_default_build_strips_names_and_keeps_them_on_request(tmp_path):
    stripped, named = tmp_path / "s.dcb", tmp_path / "n.dcb"
    assert main(["-q", "compress", str(KWS), "-o", str(stripped), "--lossless", "--unsigned"]) == 0
    assert main(["-q", "compress", str(KWS), "-o", str(named), "--lossless", "--unsigned", "--keep-names"]) == 0
    s, n = read_container(stripped), read_container(named)
    assert all(t.name == "" for t in s.metadata.tensors) and all(t.name for t in n.metadata.tensors)
    # the compact build: KWS metadata was 14,757 bytes before names became optional
    assert s.header.metadata_length < 6000 < n.header.metadata_length
    assert s.header.payload_length == n.header.payload_length


def test_compress_needs_output(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compress", str(KWS), "--lossless"])
    assert exit_.value.code == 2


def test_missing_key_is_a_usage_error_before_any_work(tmp_path, capsys):
    out = tmp_path / "x.dcb"
    assert main(["compress", str(KWS), "-o", str(out), "--lossless"]) == 2  # no default key yet
    assert "does not exist" in capsys.readouterr().err
    assert main(["compress", str(KWS), "-o", str(out), "--lossless", "--key", str(tmp_path / "nope")]) == 2
    assert not out.exists()


def test_corrupt_and_unsupported_models_are_bad_input(tmp_path, capsys):
    corrupt = tmp_path / "corrupt.tflite"
    corrupt.write_bytes(KWS.read_bytes()[:3000])
    out = tmp_path / "x.dcb"
    assert main(["compress", str(corrupt), "-o", str(out), "--lossless", "--unsigned"]) == 3
    assert "corrupt" in capsys.readouterr().err.lower()
    assert main(["compress", str(MODELS / "ad01_fp32.tflite"), "-o", str(out), "--lossless", "--unsigned"]) == 3
    err = capsys.readouterr().err
    assert "float model: --lossless packs int8 models only" in err
    assert main(["compress", str(tmp_path / "missing.tflite"), "-o", str(out), "--lossless", "--unsigned"]) == 3
    assert not out.exists()


def test_unsupported_op_is_listed(tmp_path, capsys, monkeypatch):
    from host.graph import OpKind
    from host.tflite import schema
    # write the LOGISTIC op as TANH (builtin 28), which the compressor does not take
    monkeypatch.setitem(schema.OP_CODES, OpKind.LOGISTIC, 28)
    source = tmp_path / "tanh.tflite"
    source.write_bytes(write_model(tiny_graph()))
    assert main(["compress", str(source), "-o", str(tmp_path / "x.dcb"), "--lossless", "--unsigned"]) == 3
    err = capsys.readouterr().err
    assert "TANH" in err and "supported ops:" in err


def test_decode_rejects_a_tampered_container(tmp_path, capsys):
    out = tmp_path / "t.dcb"
    assert main(["-q", "compress", str(MODELS / "ad01_int8.tflite"), "-o", str(out), "--lossless", "--unsigned"]) == 0
    data = bytearray(out.read_bytes())
    data[500] ^= 1
    out.write_bytes(bytes(data))
    target = tmp_path / "t.tflite"
    assert main(["decode", str(out), "-o", str(target)]) == 3
    assert "content_sha256" in capsys.readouterr().err
    assert not target.exists()


def test_demo_runs_end_to_end(tmp_path, capsys):
    keys, work = tmp_path / "devkeys", tmp_path / "demo"
    assert main(["demo", "--example", "har", "--workdir", str(work), "--keys", str(keys), "--inputs", "3",
                 "--host-only"]) == 0
    out = capsys.readouterr().out
    assert "all checks passed" in out and ".dcb (signed, compressed)" in out
    assert (keys / "publisher.key").exists() and (work / "har.dcb").exists()
    assert (work / "har.decoded.tflite").exists()
    assert not (work / "hil").exists()
    # a second run reuses the key, and this time delivers the model through mosquitto and a
    # gateway agent process to a native board, where the harness measures it
    before = (keys / "publisher.key").read_bytes()
    assert main(["demo", "--example", "har", "--workdir", str(work), "--keys", str(keys), "--inputs", "1",
                 "--board", "native", "--device-samples", "12"]) == 0
    assert (keys / "publisher.key").read_bytes() == before
    out = capsys.readouterr().out
    assert "dcagent demo: har on native" in out and "bit-exact with the host: 12/12" in out
    result = json.loads((work / "hil" / "results.json").read_text())
    case = result["cases"][0]
    assert case["status"] == "passed" and case["metrics"]["samples"] == 12
    assert any(n.startswith("delivered over MQTT") and " > confirmed in " in n for n in case["notes"])
    # the demo's own signature was published as it is (the agent trusted the demo's key)
    assert not any("harness's publisher key" in n for n in case["notes"])
    assert (work / "hil" / "report.html").read_text().startswith("<!DOCTYPE html>")


def _ratio(out: str) -> float:
    """The demo's "(N.Nx smaller than the float32 model" figure."""
    match = re.search(r"\(([0-9.]+)x smaller than the float32 model", out)
    assert match, out[-2000:]
    return float(match.group(1))


def test_demo_compresses_an_example_with_the_options_its_meta_names(tmp_path, capsys, monkeypatch):
    """examples/kws/meta.json names --refit (dcagent/cli/example_options.py): the demo's search gets
    it, and says so (the search itself and kws's 12x: tests/test_passes_examples.py)."""
    import host.passes.search as search

    spaces = []

    def stop(graph, data, max_drop, space, **kwargs):
        spaces.append(space)
        raise search.BudgetError("stopped by the test", best=None)

    monkeypatch.setattr(search, "compress", stop)
    for example, refit in (("kws", True), ("har", False)):
        assert main(["demo", "--example", example, "--workdir", str(tmp_path / example), "--keys", str(tmp_path / "k"),
                     "--host-only"]) == 1
        assert spaces.pop().sequential_refit is refit
        assert ("with --refit" in capsys.readouterr().err) is refit


@pytest.mark.slow
@pytest.mark.qemu
def test_default_demo_on_fashion_cnn(tmp_path, capsys):
    """The README's main job: compress, publish, agent, qemu-m4, measure (fewer board samples)."""
    work = tmp_path / "demo"
    assert main(["demo", "--workdir", str(work), "--keys", str(tmp_path / "k"), "--device-samples", "60"]) == 0
    out = capsys.readouterr().out
    assert "all checks passed" in out and "dcagent demo: fashion_cnn on qemu-m4" in out
    assert _ratio(out) >= 12.0  # the target for every example model
    case = json.loads((work / "hil" / "results.json").read_text())["cases"][0]
    assert case["status"] == "passed" and case["metrics"]["exact_outputs"] == 60
    assert case["metrics"]["instructions"] > 0 and case["metrics"]["energy_source"] == "estimate"
