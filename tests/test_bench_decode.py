"""The firmware's `bench decode` command (firmware/app/bench_decode.c) and bench/decode_cost.py:
the Cortex-M4 firmware decodes coder payloads from its flash, inside a profiling region, to the
levels the host encoded (checked by checksum), and the plugin counts the work exactly."""
from __future__ import annotations

import numpy as np
import pytest

from bench.decode_cost import DECODE_REGION, CaseCost, Job, checksum, run_image
from host.coder import encode_levels


def test_checksum_is_the_firmware_formula():
    levels = np.array([5, -1, 0, 32767, -32767, 7], dtype=np.int32)
    want = 0
    for i, v in enumerate(levels.tolist()):
        want = (want + (v & 0xFFFFFFFF) * (2 * i + 1)) & 0xFFFFFFFF
    assert checksum(levels) == want
    assert checksum(levels[::-1]) != want  # order matters


@pytest.mark.qemu
@pytest.mark.slow
def test_qemu_m4_decodes_payloads_from_flash_and_counts_them():
    rng = np.random.default_rng(2)
    dense = rng.integers(-127, 128, (32, 64)).astype(np.int32)
    sparse = np.where(rng.random((40, 72)) < 0.8, 0, rng.integers(-9, 10, (40, 72))).astype(np.int32)
    sparse[5:20] = 0
    costs = [CaseCost("dense", 8, dense.size, 1, 0, 0), CaseCost("sparse", 4, sparse.size, 1, 0, 0)]
    jobs, offset = [], 0
    for case, rows in enumerate((dense, sparse)):
        payload = encode_levels(rows)
        jobs.append(Job(case, offset, payload, int(rows.size), checksum(rows)))
        offset = (offset + len(payload) + 7) // 8 * 8
    run_image("qemu-m4", jobs * 2, costs)  # each decoded twice: the counts must repeat exactly
    for cost in costs:
        first, second = cost.per_tensor
        assert first == second > 0, f"{cost.model}: {cost.per_tensor} (region {DECODE_REGION})"
    # a sparse level costs far less than a dense one
    assert costs[1].per_tensor[0] / costs[1].weights < costs[0].per_tensor[0] / costs[0].weights


@pytest.mark.qemu
@pytest.mark.slow
def test_qemu_m4_decodes_fast_payloads_bit_exactly_and_cheaper():
    """The fast syntax (docs/coder.md section 10) on the Cortex-M4 firmware: same levels as the
    host (checksum), counts that repeat, and less work per dense weight than CABAC."""
    rng = np.random.default_rng(7)
    dense = np.round(rng.laplace(0, 30, (32, 64))).clip(-127, 127).astype(np.int32)
    wide = rng.integers(-2000, 2001, (8, 50)).astype(np.int32)
    costs = [CaseCost("fast", 8, dense.size, 1, 0, 0), CaseCost("cabac", 8, dense.size, 1, 0, 0),
             CaseCost("wide", 12, wide.size, 1, 0, 0)]
    jobs, offset = [], 0
    for case, payload, rows in ((0, encode_levels(dense, syntax="fast"), dense), (1, encode_levels(dense), dense),
                                (2, encode_levels(wide, syntax="fast"), wide)):
        jobs.append(Job(case, offset, payload, int(rows.size), checksum(rows)))
        offset = (offset + len(payload) + 7) // 8 * 8
    run_image("qemu-m4", jobs * 2, costs)
    for cost in costs:
        first, second = cost.per_tensor
        assert first == second > 0, f"{cost.model}: {cost.per_tensor}"
    assert costs[0].per_tensor[0] * 3 < costs[1].per_tensor[0]
