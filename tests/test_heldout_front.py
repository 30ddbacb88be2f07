"""bench/heldout_front.py: the size / held-out accuracy sweep runs the compressor's own first steps."""
from __future__ import annotations

from pathlib import Path

from bench.heldout_front import front

HAR = Path(__file__).resolve().parents[1] / "examples" / "har"


def test_the_sweep_realizes_real_containers_from_most_compressed_to_int8():
    summary, points = front(HAR / "model_float32.tflite", HAR / "calib.npz", HAR / "eval.npz", points=5)
    assert summary["search_samples"] + summary["verify_samples"] == 280  # calib.npz, split in two halves
    assert summary["held_out_samples"] == 280
    assert len(points) >= 2
    sizes = [p.dcb_bytes for p in points]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # mu grows: bigger models
    assert all(0.0 <= p.held_out_accuracy <= 100.0 for p in points)
