"""Sizes and arena of the four MLPerf Tiny int8 models through the model format and the C runtime.

For each model: float32 weight bytes, the int8 TFLite file, the lossless .dcb (with and without
tensor names), metadata bytes, bits per parameter; the runtime's arena per decode mode (split in
persistent and planned bytes) next to TFLite Micro's; the naive activation sum; host time per
inference per mode. Prints a Markdown table (docs/runtime.md quotes it).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from host.container.reader import open_container  # noqa: E402
from host.model_format import compression_report, pack  # noqa: E402
from host.runtime import DecodeMode, Runtime  # noqa: E402
from host.tflite import read_model  # noqa: E402

MODELS = Path("/work/shared/models/mlperf-tiny")
TFLM = {"kws_ref_model": 22_820, "pretrainedResnet_quant": 54_996, "vww_96_int8": 100_708, "ad01_int8": 2_580}


def main() -> None:
    print("| model | float32 B | int8 .tflite B | .dcb B (names / stripped) | metadata B | bits/param |"
          " arena at load (persistent+planned) | arena per layer (persistent+planned) | TFLM arena |"
          " naive activations | ms/inference at load / per layer |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in TFLM:
        original = (MODELS / f"{name}.tflite").read_bytes()
        graph = read_model(original)
        data = pack(graph, name=name, version=1)
        stripped = pack(graph, name=name, version=1, keep_names=False)
        report = compression_report(graph, open_container(data), original_bytes=len(original))
        x = [np.random.default_rng(0).integers(-128, 128, size=t.shape, dtype=np.int8) for t in graph.input_tensors()]
        cells, times = [], []
        for mode in DecodeMode:
            runtime = Runtime(data, mode)
            info = runtime.info
            cells.append(f"{info['arena_needed']:,} ({info['persistent_bytes']:,}+{info['planned_bytes']:,})")
            runtime.run(x)
            start = time.perf_counter()
            for _ in range(5):
                runtime.run(x)
            times.append(f"{(time.perf_counter() - start) / 5 * 1000:.1f}")
        naive = sum(t.size for t in graph.tensors if t.data is None)
        print(f"| {name} | {report['float32_bytes']:,} | {len(original):,} | {len(data):,} / {len(stripped):,} |"
              f" {report['metadata_bytes']:,} | {report['bits_per_param']:.3f} | {cells[0]} | {cells[1]} |"
              f" {TFLM[name]:,} | {naive:,} | {' / '.join(times)} |")


if __name__ == "__main__":
    main()
