"""Smoke tests of the coder benchmark's parts: weight extraction, re-quantization and peers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bench import coder_bench
from bench.peers import PeerError, generic, nncodec_peer
from bench.requantize import requantize
from bench.weights import WeightTensor, load_weights


def assert_levels_equal(actual: np.ndarray, expected: np.ndarray) -> None:
    """Exact equality of integer arrays, naming the first mismatch."""
    assert actual.shape == expected.shape
    mismatch = np.argwhere(actual != expected)
    if mismatch.size:
        at = tuple(mismatch[0])
        pytest.fail(f"first mismatch at {at}: {actual[at]} != {expected[at]}")


@pytest.mark.parametrize("settings", [
    nncodec_peer.PUBLISHED_SETTINGS,
    nncodec_peer.NncodecSettings(cabac_unary_length=1),
    nncodec_peer.NncodecSettings(cabac_unary_length=4, general_profile_idc=1, row_skip=True),
])
def test_nncodec_round_trip_is_lossless(settings):
    rng = np.random.default_rng(7)
    levels = rng.integers(-128, 128, size=(12, 45)).astype(np.int8)
    levels[3] = 0  # an all-zero row, skipped with row skipping
    levels[5, ::2] = 0
    payload = nncodec_peer.encode(levels, settings)
    assert 0 < len(payload) < levels.size
    assert_levels_equal(nncodec_peer.decode(payload, levels.shape, settings), levels.astype(np.int32))


def test_nncodec_rejects_a_truncated_stream():
    levels = np.random.default_rng(1).integers(-128, 128, size=(8, 40)).astype(np.int32)
    payload = nncodec_peer.encode(levels)
    with pytest.raises(PeerError):
        nncodec_peer.decode(payload[: len(payload) // 2], levels.shape)


def test_nncodec_rejects_bad_shapes():
    with pytest.raises(PeerError):
        nncodec_peer.encode(np.zeros(10, dtype=np.int32))
    with pytest.raises(PeerError):
        nncodec_peer.encode(np.zeros((2, 3), dtype=np.float32))


def test_nncodec_search_picks_the_smallest_candidate():
    levels = np.random.default_rng(3).integers(-3, 4, size=(16, 64)).astype(np.int32)
    settings, size = nncodec_peer.best_settings(levels, 0)
    sizes = [len(nncodec_peer.encode(levels, s)) for s in nncodec_peer.candidate_settings(0)]
    assert size == min(sizes) == len(nncodec_peer.encode(levels, settings))


def test_entropy_of_known_distributions():
    assert generic.entropy_bits(np.array([0, 0, 1, 2])) == pytest.approx(1.5)
    assert generic.entropy_bits(np.arange(-2, 2).repeat(5)) == pytest.approx(2.0)
    assert generic.entropy_bits(np.full(9, -7)) == 0.0
    assert generic.entropy_bytes(np.array([0, 0, 1, 2] * 4)) == pytest.approx(1.5 * 16 / 8)


def test_general_compressors_shrink_redundant_bytes_only():
    zeros = generic.level_bytes(np.zeros(10_000, dtype=np.int8))
    noise = np.random.default_rng(5).integers(-128, 128, 10_000).astype(np.int8).tobytes()
    for size_of in (generic.zlib_size, generic.xz_size, generic.zstd_size):
        assert size_of(zeros) < 200
        assert size_of(noise) > 9_900
    with pytest.raises(PeerError):
        generic.level_bytes(np.array([200]))


def test_kws_weights_are_the_int8_filters(mlperf_tiny):
    weights = load_weights(mlperf_tiny / "kws_ref_model.tflite")
    assert sum(w.size for w in weights) == 22_016
    assert {w.op for w in weights} == {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
    for w in weights:
        assert w.levels.dtype == np.int8
        assert w.scales.shape == (w.levels.shape[w.axis],)
        rows = w.rows()
        assert rows.shape == (w.levels.shape[w.axis], w.size // w.levels.shape[w.axis])


def test_requantize_is_symmetric_per_channel():
    rng = np.random.default_rng(11)
    levels = rng.integers(-127, 128, size=(3, 3, 5)).astype(np.int8)
    levels[..., 2] = 0
    tensor = WeightTensor("t", "DEPTHWISE_CONV_2D", levels,
                          np.array([0.1, 0.02, 0.5, 1.0, 0.003], dtype=np.float32), axis=2)
    out = requantize(tensor, 4)
    assert out.levels.shape == levels.shape and out.axis == 2
    peak = np.abs(out.levels).max(axis=(0, 1))
    assert peak.tolist() == [7, 7, 0, 7, 7]
    real = levels * tensor.scales.astype(np.float64)
    error = np.abs(out.levels * out.scales.astype(np.float64) - real)
    assert np.all(error <= out.scales.astype(np.float64) / 2 + 1e-9)
    with pytest.raises(ValueError):
        requantize(tensor, 9)


def test_nncodec_reproduces_its_published_int8_sizes(mlperf_tiny):
    for name, filename, _ in coder_bench.MODELS:
        rows = [w.rows() for w in load_weights(mlperf_tiny / filename)]
        size = sum(len(nncodec_peer.encode(r)) for r in rows)
        assert size == pytest.approx(coder_bench.PUBLISHED_NNCODEC_INT8[name], rel=0.01), name


@pytest.mark.slow
def test_benchmark_runs_end_to_end(mlperf_tiny, tmp_path):
    out = tmp_path / "coder.json"
    status = coder_bench.main(["--models", str(mlperf_tiny), "--bits", "4", "--repeat", "1",
                               "--json", str(out), "--markdown"])
    assert status == coder_bench.EXIT_OK
    cases = json.loads(out.read_text())["cases"]
    assert [c["model"] for c in cases] == ["KWS", "ResNet-8", "VWW", "AD"]
    for case in cases:
        assert case["bits"] == 4
        assert 0 < case["nncodec_bytes"] <= case["nncodec_published_settings_bytes"]
        assert case["nncodec_encode_wps"] > 0 and case["nncodec_decode_wps"] > 0
