"""Smoke tests of the compression benchmark's peer columns: TFLM 4-bit LUT and NNCodec at
equal accuracy, on the smallest example (har), so neither column can silently rot."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bench import compress_bench
from bench.peers import PeerError
from bench.peers.nncodec_lossy import code_model, step_size
from bench.peers.tflm_lut import cluster_levels, compress_lut, run_tflm
from host.data import load_data
from host.tflite import read_model

pytest.importorskip("tflite_micro", reason="the tflite-micro wheel (bench extra) is not installed")
pytest.importorskip("nncodec", reason="NNCodec (bench peer) is not installed")

HAR = compress_bench.ROOT / "examples" / "har"


def assert_equal(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    bad = np.argwhere(actual != expected)
    if bad.size:
        at = tuple(bad[0])
        pytest.fail(f"first mismatch at {at}: {actual[at]} != {expected[at]}")


def test_clustering_keeps_at_most_16_existing_int8_levels():
    values = np.random.default_rng(2).normal(0, 30, 2000).clip(-128, 127).astype(np.int8)
    clustered = cluster_levels(values)
    assert clustered.dtype == np.int8 and clustered.shape == values.shape
    assert 2 < np.unique(clustered).size <= 16
    assert np.mean(np.abs(clustered.astype(int) - values)) < 4  # nearest of 16 centres, not random
    few = np.array([-3, 0, 5, 5], dtype=np.int8)
    assert_equal(cluster_levels(few), few)
    with pytest.raises(PeerError):
        cluster_levels(np.array([0.5]))


def test_tflm_runs_the_lut_model_exactly_like_the_clustered_model():
    model = compress_lut((HAR / "model_int8.tflite").read_bytes())
    assert model.tensors == 4 and len(model.tflite) > 0 and model.buffer_bytes > 0
    graph = read_model(HAR / "model_int8.tflite")
    x = load_data(HAR / "eval.npz", graph).x[:20]
    assert_equal(run_tflm(model.tflite, x), run_tflm(model.clustered, x))
    with pytest.raises(PeerError):
        compress_lut(b"not a model")


def test_nncodec_reconstruction_is_its_step_grid():
    graph = read_model(HAR / "model_float32.tflite")
    coded = code_model(graph, -12)
    assert coded.weight_bytes > 0 and coded.bias_bytes > 0
    weight = next(t for t in coded.graph.tensors if t.data is not None and t.data.ndim >= 2)
    grid = weight.data.astype(np.float64) / step_size(-12)
    assert np.allclose(grid, np.round(grid), atol=1e-3)
    assert code_model(graph, -4).weight_bytes < coded.weight_bytes < code_model(graph, -20).weight_bytes


def test_bench_fills_both_peer_columns(tmp_path):
    out = tmp_path / "compress.json"
    status = compress_bench.main(["--models", "har", "--quick", "--json", str(out), "--markdown"])
    assert status == 0
    row = json.loads(out.read_text())[0]
    assert row["metric"] == "accuracy"
    assert 0 < row["lut_data"] < row["lut_file"]
    assert row["calib_samples"] == 280  # searched on calib.npz, scored on the held-out eval.npz
    assert row["nnc_search_score"] >= row["search_floor"]  # NNCodec's step kept the budget where it was searched
    assert 0 < row["nnc_score"] <= 100
    assert 0 < row["nnc_bytes"] < row["int8_file"]
    assert 0 < row["lut_score"] <= 100 and 0 < row["ours_dcb"]
