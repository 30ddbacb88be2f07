#!/usr/bin/env python3
"""Quick size/speed check of host.coder on the MLPerf Tiny int8 weights (and 6-/4-bit re-quantized).

Not the formal benchmark (bench/coder_bench.py): a developer's measurement of the coder alone.
Usage: python bench/coder_quick.py [--models DIR] [--bits 8 6 4] [--fixed]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from host import _coder  # noqa: E402
from host.coder import CoderParams, decode_levels, encode_levels  # noqa: E402

MODELS = {
    "KWS": ("kws_ref_model.tflite", 21761),
    "ResNet-8": ("pretrainedResnet_quant.tflite", 72507),
    "VWW": ("vww_96_int8.tflite", 38887),
    "AD": ("ad01_int8.tflite", 167587),
}
WEIGHT_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


def weights(path: Path) -> list[tuple[np.ndarray, int]]:
    """The int8 weight tensors (>1 element) of conv/depthwise/FC ops, with their channel axis."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    details = {d["index"]: d for d in it.get_tensor_details()}
    out = []
    for op in it._get_ops_details():
        if op["op_name"] in WEIGHT_OPS:
            d = details[op["inputs"][1]]
            t = it.get_tensor(d["index"])
            if d["dtype"] == np.int8 and t.size > 1:
                out.append((t.copy(), int(d["quantization_parameters"]["quantized_dimension"])))
    return out


def requantize(t: np.ndarray, axis: int, bits: int) -> np.ndarray:
    """Per-channel symmetric re-quantization to levels in [-(2^(bits-1)-1), 2^(bits-1)-1]."""
    if bits == 8:
        return t.astype(np.int32)
    qmax = (1 << (bits - 1)) - 1
    other = tuple(i for i in range(t.ndim) if i != axis)
    m = np.maximum(np.abs(t.astype(np.int32)).max(axis=other, keepdims=True), 1)
    return np.round(t.astype(np.float64) * qmax / m).astype(np.int32)


def entropy_bytes(t: np.ndarray) -> float:
    _, c = np.unique(t, return_counts=True)
    p = c / c.sum()
    return float(-(c * np.log2(p)).sum() / 8)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=ROOT.parent / "shared/models/mlperf-tiny")
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 6, 4])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"decoder state {_coder.DECODER_BYTES} B (contexts {_coder.CONTEXT_BYTES} B)")
    for bits in args.bits:
        tot_n = tot_enc = tot_dec = tot_fixed = 0.0
        for name, (fname, nnc) in MODELS.items():
            ts = [requantize(t, ax, bits) for t, ax in weights(args.models / fname)]
            n = sum(t.size for t in ts)
            h0 = sum(entropy_bytes(t) for t in ts)
            best_enc = best_dec = best_fixed = 1e9
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                payloads = [encode_levels(t) for t in ts]
                t1 = time.perf_counter()
                for p, t in zip(payloads, ts):
                    got = decode_levels(p, t.size)
                    assert np.array_equal(got, t.reshape(-1)), f"{name}: round trip failed"
                t2 = time.perf_counter()
                for t in ts:
                    encode_levels(t, params=CoderParams())
                t3 = time.perf_counter()
                best_enc, best_dec, best_fixed = min(best_enc, t1 - t0), min(best_dec, t2 - t1), min(best_fixed, t3 - t2)
            size = sum(len(p) for p in payloads)
            ref = f" NNCodec {nnc:7d} ratio {size / nnc:.3f}" if bits == 8 else ""
            print(f"{bits}-bit {name:9s} n={n:7d} bytes={size:7d} ({8 * size / n:.3f} b/w) order0={h0:9.0f} "
                  f"ratio0={size / h0:.3f}{ref}  enc {n / best_enc / 1e6:5.1f} M/s "
                  f"(fixed params {n / best_fixed / 1e6:5.1f}) dec {n / best_dec / 1e6:5.1f} M/s")
            tot_n += n
            tot_enc += best_enc
            tot_dec += best_dec
            tot_fixed += best_fixed
        print(f"{bits}-bit all: enc {tot_n / tot_enc / 1e6:.1f} M weights/s (fixed params "
              f"{tot_n / tot_fixed / 1e6:.1f}), dec {tot_n / tot_dec / 1e6:.1f} M weights/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
