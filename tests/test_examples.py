"""The committed example models: they load in LiteRT, fit their eval sets, and score exactly
what their meta.json says (no TensorFlow needed). Also the examples' data helpers."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from examples.evaluation import EvalSet, load_eval, predict, quantize_input, score
from examples.har import data as har_data
from examples.kws import features
from host.errors import DataError, ModelError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# name -> lowest acceptable accuracy on eval.npz, for both the float32 and the int8 model.
FLOORS = {"fashion_cnn": 0.85, "lenet300": 0.83, "kws": 0.80, "har": 0.80}
MODELS = {"float32": "model_float32.tflite", "int8": "model_int8.tflite"}
# The ops the examples may use: what a device's kernel set must cover to run all of them.
ALLOWED_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D",
               "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX"}


def _meta(name: str) -> dict:
    return json.loads((EXAMPLES / name / "meta.json").read_text())


def _interpreter(path: Path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    return interpreter


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_files_match_meta(name: str) -> None:
    for file_name, entry in _meta(name)["files"].items():
        data = (EXAMPLES / name / file_name).read_bytes()
        assert len(data) == entry["bytes"], f"{name}/{file_name}: size differs from meta.json"
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{name}/{file_name}: hash differs"


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_eval_set_fits_models(name: str) -> None:
    meta = _meta(name)
    data = load_eval(EXAMPLES / name / "eval.npz")
    classes = len(meta["classes"])
    assert 200 <= len(data.y) <= 1000
    assert list(data.x.shape[1:]) == meta["input"]["shape"]
    assert data.y.min() >= 0 and data.y.max() < classes
    assert len(np.unique(data.y)) == classes, "every class appears in the eval set"
    assert np.all(np.isfinite(data.x))
    for variant, dtype in (("float32", np.float32), ("int8", np.int8)):
        interpreter = _interpreter(EXAMPLES / name / MODELS[variant])
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        assert inp["dtype"] == dtype and out["dtype"] == dtype, f"{name} {variant}"
        assert tuple(inp["shape"]) == (1, *data.x.shape[1:])
        assert tuple(out["shape"]) == (1, classes)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_models_use_only_device_ops(name: str) -> None:
    for variant in MODELS:
        interpreter = _interpreter(EXAMPLES / name / MODELS[variant])
        ops = {op["op_name"] for op in interpreter._get_ops_details()}
        assert ops <= ALLOWED_OPS, f"{name} {variant} uses {sorted(ops - ALLOWED_OPS)}"
    int8 = _interpreter(EXAMPLES / name / MODELS["int8"])
    kinds = {t["dtype"] for t in int8.get_tensor_details()}
    assert kinds <= {np.int8, np.int32}, f"{name} int8 model has tensors of {kinds}"


@pytest.mark.parametrize("variant", sorted(MODELS))
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_accuracy_matches_meta(name: str, variant: str) -> None:
    meta = _meta(name)["accuracy"][variant]
    data = load_eval(EXAMPLES / name / "eval.npz")
    result = score(EXAMPLES / name / MODELS[variant], data)
    assert result.total == meta["total"]
    assert result.correct == meta["correct"], (
        f"{name} {variant}: {result.correct}/{result.total} correct, meta.json says {meta['correct']}")
    assert result.accuracy >= FLOORS[name]


def test_int8_agrees_with_float_on_most_samples() -> None:
    data = load_eval(EXAMPLES / "fashion_cnn" / "eval.npz")
    floats = predict(EXAMPLES / "fashion_cnn" / MODELS["float32"], data.x)
    ints = predict(EXAMPLES / "fashion_cnn" / MODELS["int8"], data.x)
    assert np.mean(floats == ints) >= 0.97


def test_quantize_input_rounds_half_away_from_zero_and_saturates() -> None:
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999997, 1e6, -1e6], dtype=np.float32)
    got = quantize_input(x, 1.0, 0)
    want = np.array([1, 2, 3, -1, -3, 0, 127, -128], dtype=np.int8)
    mismatch = np.flatnonzero(got != want)
    assert mismatch.size == 0, f"first mismatch at {mismatch[:1]}: {got[mismatch[:1]]} != {want[mismatch[:1]]}"
    assert quantize_input(np.array([0.0, 1.0], np.float32), 1 / 255, -128).tolist() == [-128, 127]
    with pytest.raises(DataError):
        quantize_input(x, 0.0, 0)


def test_load_eval_rejects_bad_files(tmp_path: Path) -> None:
    np.savez(tmp_path / "no_y.npz", x=np.zeros((2, 3), np.float32))
    np.savez(tmp_path / "int_x.npz", x=np.zeros((2, 3), np.int8), y=np.zeros(2, np.int64))
    np.savez(tmp_path / "lengths.npz", x=np.zeros((2, 3), np.float32), y=np.zeros(3, np.int64))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    for bad in ("no_y", "int_x", "lengths", "junk", "missing"):
        with pytest.raises(DataError):
            load_eval(tmp_path / f"{bad}.npz")


def test_predict_rejects_wrong_shapes_and_bad_models(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        predict(EXAMPLES / "lenet300" / MODELS["int8"], np.zeros((1, 28, 28, 1), np.float32))
    (tmp_path / "bad.tflite").write_bytes(b"\0" * 64)
    with pytest.raises(ModelError):
        score(tmp_path / "bad.tflite", EvalSet(x=np.zeros((1, 4), np.float32), y=np.zeros(1, np.int64)))


def test_mfcc_of_silence_is_the_log_floor() -> None:
    got = features.mfcc(np.zeros((1, features.CLIP_SAMPLES)))
    assert got.shape == (1, 49, 10, 1) and got.dtype == np.float32
    c0 = np.sqrt(features.MEL_FILTERS) * np.log(features.LOG_FLOOR)
    np.testing.assert_allclose(got[0, :, 0, 0], c0, rtol=1e-6)
    np.testing.assert_allclose(got[0, :, 1:, 0], 0.0, atol=1e-4)


def test_mel_filterbank_puts_a_tone_in_the_right_filter() -> None:
    bank = features.mel_filterbank()
    assert bank.shape == (257, 40) and bank.min() >= 0.0 and bank.max() <= 1.0
    t = np.arange(features.FRAME) / features.SAMPLE_RATE
    frame = np.sin(2 * np.pi * 1000.0 * t) * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(features.FRAME) / features.FRAME))
    energies = (np.abs(np.fft.rfft(frame, n=features.FFT)) ** 2) @ bank
    centres = np.argmax(bank, axis=0) * features.SAMPLE_RATE / features.FFT
    assert abs(centres[int(np.argmax(energies))] - 1000.0) < 80.0
    with pytest.raises(ValueError):
        features.mfcc(np.zeros((1, 100)))


def test_basic_motions_reader_rejects_malformed_lines(tmp_path: Path) -> None:
    good = ",".join(["0.5"] * har_data.RECORDING)
    body = "\\n".join([good] * har_data.CHANNELS)
    path = tmp_path / "ok.arff"
    path.write_text(f"@relation x\n@data\n'{body}',Running\n")
    recordings, labels = har_data.read_arff(path)
    assert recordings.shape == (1, 100, 6) and labels.tolist() == [1]
    for bad in (f"'{body}',Swimming", f"'{good}',Running", "'1,2,x',Walking", "no quotes,Walking"):
        path.write_text(f"@data\n{bad}\n")
        with pytest.raises(DataError):
            har_data.read_arff(path)


def test_idx_reader_rejects_truncated_files(tmp_path: Path) -> None:
    from examples.datasets import read_idx

    header = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big")
    (tmp_path / "ok.gz").write_bytes(gzip.compress(header + bytes(range(5))))
    assert read_idx(tmp_path / "ok.gz").tolist() == [0, 1, 2, 3, 4]
    (tmp_path / "short.gz").write_bytes(gzip.compress(header + bytes(3)))
    (tmp_path / "float.gz").write_bytes(gzip.compress(bytes([0, 0, 0x0D, 1]) + (1).to_bytes(4, "big") + bytes(4)))
    for bad in ("short", "float", "missing"):
        with pytest.raises(DataError):
            read_idx(tmp_path / f"{bad}.gz")


def test_readme_table_is_rendered_from_meta() -> None:
    from examples.table import render

    assert render() in (EXAMPLES / "README.md").read_text(), "run: python -m examples.table"


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_calibration_set_fits_and_is_disjoint_from_eval(name: str) -> None:
    """calib.npz (examples/calibration.py): the model's input shape, valid labels of every class,
    float32, and not one sample in common with eval.npz (the reported accuracy is held out)."""
    meta = _meta(name)
    calib = load_eval(EXAMPLES / name / "calib.npz")
    evaluation = load_eval(EXAMPLES / name / "eval.npz")
    assert calib.x.dtype == np.float32 and list(calib.x.shape[1:]) == meta["input"]["shape"]
    assert len(calib.y) >= 200 and np.all(np.isfinite(calib.x))
    assert set(np.unique(calib.y).tolist()) == set(range(len(meta["classes"])))
    seen = {row.tobytes() for row in evaluation.x.reshape(len(evaluation.y), -1)}
    assert not any(row.tobytes() in seen for row in calib.x.reshape(len(calib.y), -1))


def test_kws_voice_splits_are_disjoint() -> None:
    """Training never hears a calibration or eval voice, nor a relative of one (steph2 of steph,
    klatt3 of klatt: espeak-ng variants that share a base voice); the benchmark's extra held-out
    clips are the eval voices with a seed of their own."""
    import re

    from examples.kws import data

    def base(variant: str) -> str:
        return re.sub(r"\d+$", "", variant).lower()

    held = set(data.EVAL_VARIANTS) | set(data.CALIB_VARIANTS)
    assert not set(data.TRAIN_VARIANTS) & held
    assert not set(data.TRAIN_FLITE) & set(data.EVAL_FLITE)
    # relatives: the numbered m/f variants and klatt2 were the first release's and are distinct voices
    named = {v for v in data.TRAIN_VARIANTS if not re.fullmatch(r"[mf]\d|klatt2|croak", v)}
    assert not {base(v) for v in named} & {base(v) for v in held}
    assert len(set(data.TRAIN_VARIANTS)) == len(data.TRAIN_VARIANTS) == 50
    assert (data.HELDOUT.variants, data.HELDOUT.flite_voices) == (data.EVAL.variants, data.EVAL.flite_voices)
    assert len({data.TRAIN.seed, data.EVAL.seed, data.CALIB.seed, data.HELDOUT.seed}) == 4


def test_fashion_calibration_images_come_from_the_train_split() -> None:
    from examples.calibration import FASHION_SIZES, fashion_indices

    index = fashion_indices()
    assert index.size == FASHION_SIZES[-1] == np.unique(index).size and index.max() < 60000
    assert np.all(np.diff(index) > 0)
    # every earlier, smaller set is a subset (the draws of the first steps are kept)
    first = np.sort(np.random.default_rng(20261129).choice(60000, FASHION_SIZES[0], replace=False))
    assert np.isin(first, index).all()
    cnn, lenet = load_eval(EXAMPLES / "fashion_cnn" / "calib.npz"), load_eval(EXAMPLES / "lenet300" / "calib.npz")
    assert len(cnn.y) == len(lenet.y) == FASHION_SIZES[-1]
    # both examples calibrate on the same images, each in its model's input layout
    assert np.array_equal(cnn.x.reshape(len(cnn.y), 784), lenet.x) and np.array_equal(cnn.y, lenet.y)
