"""Round-trip properties and error statuses of the level coder (host.coder, docs/coder.md)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from host.coder import (
    MAX_ABS,
    CoderParams,
    PredMode,
    decode_levels,
    dq_indices_to_levels,
    encode_levels,
    payload_params,
)
from host.errors import CodecError


def assert_levels_equal(got: np.ndarray, want: np.ndarray) -> None:
    want = np.asarray(want).reshape(-1)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"first mismatch at {bad[0]}: got {got[bad[0]]}, want {want[bad[0]]}"


def roundtrip(levels: np.ndarray, **kw) -> bytes:
    payload = encode_levels(levels, **kw)
    base = kw.get("base")
    assert_levels_equal(decode_levels(payload, np.asarray(levels).size, base=base), levels)
    return payload


shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=12)
small_ints = st.integers(-300, 300)
level_arrays = st.one_of(
    hnp.arrays(np.int32, shapes, elements=small_ints),
    hnp.arrays(np.int8, shapes),
    hnp.arrays(np.int16, shapes, elements=st.integers(-MAX_ABS, MAX_ABS)),
    hnp.arrays(np.int64, shapes, elements=st.sampled_from([0, 0, 0, 0, 1, -1, 2, MAX_ABS, -MAX_ABS])),
)
all_params = st.builds(
    CoderParams,
    pred_mode=st.sampled_from([PredMode.NONE, PredMode.LEFT, PredMode.UP]),
    dq=st.just(False),
    sign_bypass=st.booleans(),
    row_skip=st.booleans(),
    rem_ctx=st.integers(0, 2),
    sig_skip=st.booleans(),
    window=st.integers(1, 8),
    start_base=st.integers(0, 15),
    col_stride=st.integers(1, 70),
    row_len=st.integers(1, 90),
).map(lambda p: p if p.row_skip else dataclasses.replace(p, row_len=0))


@settings(max_examples=150, deadline=None)
@given(level_arrays)
def test_roundtrip_any_integer_array(levels):
    roundtrip(levels)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.int32, st.integers(0, 400), elements=st.integers(-2000, 2000)), all_params)
def test_roundtrip_every_parameter_setting(levels, params):
    payload = roundtrip(levels, params=params)
    assert payload_params(payload) == params


def test_empty_tensor_is_header_only():
    payload = roundtrip(np.zeros((0, 3), np.int8))
    assert len(payload) == 3
    assert decode_levels(payload, 0).size == 0


@pytest.mark.parametrize("effort", [0, 1, 2, 3])
def test_every_effort_roundtrips(effort):
    rng = np.random.default_rng(effort)
    levels = np.round(rng.laplace(0, 20, (16, 3, 3, 8))).astype(np.int32)
    levels[3] = 0  # a zero output channel: row skipping
    roundtrip(levels, effort=effort)


def test_higher_effort_is_not_larger_on_structured_levels():
    rng = np.random.default_rng(5)
    rows = np.round(rng.laplace(0, 30, (40, 64))).astype(np.int32)
    rows[:, rng.random(64) < 0.5] = 0  # dead input channels: column contexts pay
    sizes = [len(roundtrip(rows, effort=e)) for e in (0, 1, 3)]
    assert sizes[1] <= sizes[0] and sizes[2] <= sizes[1], sizes


def test_bad_effort():
    with pytest.raises(CodecError) as err:
        encode_levels(np.zeros(4, np.int8), effort=4)
    assert err.value.status == "DC_ERR_ARG"


def test_zero_rows_are_skipped():
    levels = np.zeros((64, 100), np.int32)
    levels[::8] = np.random.default_rng(3).integers(-90, 91, (8, 100))
    payload = roundtrip(levels)
    params = payload_params(payload)
    assert params.row_skip and params.row_len == 100
    # the 56 zero rows cost one row_zero_flag each, not 100 sig_flags
    assert len(payload) < len(encode_levels(levels, params=dataclasses.replace(params, row_skip=False, row_len=0)))


@pytest.mark.parametrize("pred", [PredMode.NONE, PredMode.LEFT, PredMode.UP, PredMode.BASE])
def test_row_skipping_with_every_prediction(pred):
    rng = np.random.default_rng(int(pred))
    base = rng.integers(-100, 101, (12, 30)).astype(np.int32)
    levels = base.copy() if pred == PredMode.BASE else rng.integers(-100, 101, (12, 30)).astype(np.int32)
    if pred == PredMode.LEFT:
        levels[4] = levels[3, -1]  # equals the previous level throughout
    elif pred == PredMode.UP:
        levels[4] = levels[3]      # equals the row above
    elif pred == PredMode.NONE:
        levels[4] = 0
    levels[7:9] = levels[6, -1] if pred == PredMode.LEFT else (levels[6] if pred == PredMode.UP else
                                                               (base[7:9] if pred == PredMode.BASE else 0))
    params = CoderParams(pred_mode=pred, row_skip=True, row_len=30, col_stride=30)
    kw = {"base": base} if pred == PredMode.BASE else {}
    payload = encode_levels(levels, params=params, **kw)
    for slices in (None, [7], [30], [1, 59]):
        assert_levels_equal(decode_levels(payload, levels.size, slices=slices, **kw), levels)


def test_dense_levels_skip_sig_flags():
    levels = np.random.default_rng(11).integers(-127, 128, (32, 64)).astype(np.int32)
    params = payload_params(roundtrip(levels))
    assert params.sig_skip
    assert params.start_base > 0


@pytest.mark.parametrize("value", [0, 1, -1, 127, -128, MAX_ABS, -MAX_ABS])
def test_one_value(value):
    roundtrip(np.array([value]))


def test_all_zeros_cost_almost_nothing():
    payload = roundtrip(np.zeros(100_000, np.int8))
    assert len(payload) < 40


def test_extreme_levels_alternate():
    levels = np.tile(np.array([MAX_ABS, -MAX_ABS, 0, MAX_ABS, 1], np.int32), 500)
    roundtrip(levels)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.05, 200.0), st.sampled_from([(64, 3, 3, 8), (32, 100), (500,)]))
def test_skewed_laplacian_levels(seed, scale, shape):
    rng = np.random.default_rng(seed)
    levels = np.clip(np.round(rng.laplace(0, scale, shape)), -MAX_ABS, MAX_ABS).astype(np.int32)
    levels[rng.random(shape) < 0.5] = 0
    payload = roundtrip(levels)
    # Skewed data must code below a fixed-length 16-bit representation.
    assert len(payload) <= 8 + 2 * levels.size


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.int32, st.integers(0, 600), elements=st.integers(-6000, 6000)), st.booleans())
def test_dq_mode_roundtrip(indices, rice):
    levels = dq_indices_to_levels(indices)
    roundtrip(levels, dq=True)
    params = CoderParams(dq=True, sign_bypass=rice, start_base=6 if rice else 0, col_stride=7)
    roundtrip(levels, dq=True, params=params)


def test_dq_reconstruction_rule():
    # state 0 (even) -> q=1 gives 2; |q| odd moves to state 2 (even) -> q=1 gives 2; then state 3 (odd)
    assert dq_indices_to_levels(np.array([1, 1, 1, -1])).tolist() == [2, 2, 1, -2]


def test_dq_rejects_unreachable_levels():
    with pytest.raises(CodecError) as err:
        encode_levels(np.array([1]), dq=True)  # state 0 reconstructs only even levels
    assert err.value.status == "DC_ERR_ARG"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 0.5))
def test_base_mode_roundtrip(seed, change):
    rng = np.random.default_rng(seed)
    base = rng.integers(-127, 128, (16, 3, 3, 4)).astype(np.int8)
    levels = base.astype(np.int32)
    mask = rng.random(base.shape) < change
    levels[mask] += rng.integers(-5, 6, int(mask.sum()))
    payload = roundtrip(levels, base=base)
    if change == 0.0:
        assert payload_params(payload).pred_mode == PredMode.BASE
        assert len(payload) < 20


def test_base_payload_without_base_fails():
    base = np.arange(-50, 50).reshape(10, 10)
    payload = encode_levels(base + 1, base=base, params=CoderParams(pred_mode=PredMode.BASE))
    with pytest.raises(CodecError) as err:
        decode_levels(payload, base.size)
    assert err.value.status == "DC_ERR_BASE"


@settings(max_examples=80, deadline=None)
@given(hnp.arrays(np.int32, st.integers(1, 3000), elements=st.integers(-200, 200)),
       st.lists(st.integers(1, 300), min_size=1, max_size=10), all_params)
def test_slice_decoding_equals_whole(levels, slices, params):
    payload = encode_levels(levels, params=params)
    whole = decode_levels(payload, levels.size)
    sliced = decode_levels(payload, levels.size, slices=slices)
    assert_levels_equal(sliced, whole)
    assert_levels_equal(whole, levels)


# --- error statuses -------------------------------------------------------------------------

def sample_payload() -> tuple[np.ndarray, bytes]:
    levels = np.random.default_rng(7).integers(-60, 61, (8, 50)).astype(np.int32)
    return levels, encode_levels(levels, params=CoderParams())


def status_of(payload: bytes, count: int, **kw) -> str:
    with pytest.raises(CodecError) as err:
        decode_levels(payload, count, **kw)
    return err.value.status


def test_truncated_payload():
    levels, payload = sample_payload()
    assert status_of(payload[:3], levels.size) == "DC_ERR_TRUNCATED"  # header only
    assert status_of(payload[:2], levels.size) == "DC_ERR_TRUNCATED"  # header cut
    assert status_of(payload[: len(payload) // 2], levels.size) in {"DC_ERR_TRUNCATED", "DC_ERR_CORRUPT"}


def test_trailing_bytes():
    levels, payload = sample_payload()
    assert status_of(payload + b"\x00", levels.size) == "DC_ERR_TRAILING"
    # Fewer levels than coded: detected once the levels left out needed at least one byte
    # (docs/coder.md section 3); 10 levels of ~7 bits each always do.
    assert status_of(payload, levels.size - 10) in {"DC_ERR_TRAILING", "DC_ERR_CORRUPT"}
    assert status_of(encode_levels(np.zeros(0, np.int8)) + b"\x00", 0) == "DC_ERR_TRAILING"


def test_corrupt_payload():
    # A code register of 0xFFFFFFFF is outside the initial interval.
    assert status_of(bytes([0, 0x35, 0]) + b"\xff" * 8, 10) == "DC_ERR_CORRUPT"
    # All-ones bins run the bucket prefix to 15: |v| beyond the level range.
    assert status_of(bytes([0, 0x35, 0]) + b"\xff\xff\xff\xfe" + b"\xff" * 40, 10) == "DC_ERR_CORRUPT"


@pytest.mark.parametrize("header", [
    bytes([0x80, 0x35, 0]),        # reserved flag bit
    bytes([0x60, 0x35, 0]),        # rem_ctx 3
    bytes([0x02, 0x35, 0]),        # pred UP without col_stride
    bytes([0x05, 0x35, 0]),        # DQ with prediction
    bytes([0x14, 0x35, 0, 5]),     # DQ with row skipping
    bytes([0x10, 0x35, 0, 0]),     # row skipping with row_len 0
    bytes([0x00, 0x35, 0x80, 0]),  # non-minimal col_stride
    bytes([0x00, 0x35, 0xFF, 0xFF, 0x04]),  # col_stride > 65535
    bytes([0x10, 0x35, 0, 0xFF, 0xFF, 0x04]),  # row_len > 65535
])
def test_invalid_params(header):
    assert status_of(header + b"\x00" * 8, 5) == "DC_ERR_PARAMS"
    with pytest.raises(CodecError) as err:
        payload_params(header)
    assert err.value.status == "DC_ERR_PARAMS"


def test_decoded_level_out_of_range_is_corrupt():
    # Levels [32767, 32767] coded without prediction, relabelled as LEFT-predicted: the second
    # level decodes as 32767 + 32767, beyond the format's range.
    none_payload = encode_levels(np.array([MAX_ABS, MAX_ABS]), params=CoderParams())
    left_payload = bytes([PredMode.LEFT]) + none_payload[1:]
    assert status_of(left_payload, 2) == "DC_ERR_CORRUPT"


@pytest.mark.parametrize("bad", [
    np.array([MAX_ABS + 1]), np.array([-MAX_ABS - 1]), np.array([1.5]), np.array(["a"]),
])
def test_encode_rejects_bad_levels(bad):
    with pytest.raises(CodecError) as err:
        encode_levels(bad)
    assert err.value.status == "DC_ERR_ARG"


def test_bad_arguments():
    levels, payload = sample_payload()
    with pytest.raises(CodecError) as err:
        decode_levels(payload, -1)
    assert err.value.status == "DC_ERR_ARG"
    with pytest.raises(CodecError) as err:
        encode_levels(levels, base=np.zeros(3))
    assert err.value.status == "DC_ERR_ARG"
    with pytest.raises(CodecError) as err:
        encode_levels(levels, params=CoderParams(pred_mode=PredMode.BASE))
    assert err.value.status == "DC_ERR_ARG"
    with pytest.raises(CodecError) as err:
        encode_levels(levels, params=CoderParams(window=9))
    assert err.value.status == "DC_ERR_PARAMS"
    with pytest.raises(CodecError) as err:
        encode_levels(levels, params=CoderParams(row_skip=True, row_len=0))
    assert err.value.status == "DC_ERR_PARAMS"


def test_context_state_under_1k():
    from host.coder import CONTEXT_BYTES, DECODER_BYTES
    assert CONTEXT_BYTES == 227 * 3
    assert DECODER_BYTES < 1024
