"""Smoke test of the fan-out benchmark: a few simulated devices all verify, bytes are counted."""
from __future__ import annotations

import json

from bench import fanout_bench


def test_fanout_bench_small_run(tmp_path):
    out = tmp_path / "fanout.json"
    assert fanout_bench.main(["--devices", "3", "--size", "20000", "--block-size", "1024", "--window", "8",
                              "--json", str(out)]) == 0
    (result,) = json.loads(out.read_text())["results"]
    assert result["verified"] == 3 and result["corrupted_or_failed"] == 0
    blocks = -(-result["model_bytes"] // 1024)
    assert result["requests"] >= 3 * -(-blocks // 8)
    assert 3 * result["model_bytes"] < result["wire_bytes_in"] < 3 * result["model_bytes"] * 1.2
