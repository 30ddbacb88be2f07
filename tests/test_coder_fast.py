"""The fast level syntax (docs/coder.md section 10): round trips, slices, layouts, bad payloads."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from host.coder import (AUTO_FAST_SLACK, MAX_ABS, FastLayout, choose_syntax, decode_levels, encode_levels,
                        fast_header, fast_layout, payload_params, payload_syntax)
from host.errors import CodecError

levels_st = st.lists(st.integers(-MAX_ABS, MAX_ABS), max_size=300).map(lambda v: np.array(v, dtype=np.int32))
small_st = st.lists(st.integers(-40, 40), min_size=1, max_size=2000).map(lambda v: np.array(v, dtype=np.int32))


@settings(max_examples=60, deadline=None)
@given(levels=st.one_of(levels_st, small_st), slice_=st.integers(1, 70))
def test_fast_round_trip_whole_and_in_slices(levels, slice_):
    payload = encode_levels(levels, syntax="fast")
    assert payload_syntax(payload) == "fast"
    assert np.array_equal(decode_levels(payload, levels.size), levels)
    assert np.array_equal(decode_levels(payload, levels.size, slices=[slice_]), levels)


@settings(max_examples=40, deadline=None)
@given(levels=small_st, prec=st.integers(6, 9))
def test_fast_round_trip_with_a_given_layout(levels, prec):
    layout = FastLayout(prec, (0, 0, 0, 1, 2, 3, 4, 5))  # magnitudes up to 63
    payload = encode_levels(levels, syntax="fast", layout=layout)
    h = fast_header(payload)
    assert (h.prec, h.n_classes) == (prec, 8)
    assert np.array_equal(decode_levels(payload, levels.size, slices=[3, 1, 64]), levels)


def test_fast_layout_covers_the_levels_and_orders_classes():
    rng = np.random.default_rng(3)
    levels = np.round(rng.laplace(0, 6, 5000)).astype(np.int32)
    layout = fast_layout(levels)
    assert 1 <= layout.prec <= 9 and layout.nbits[0] == 0
    assert 1 + sum(1 << b for b in layout.nbits[1:]) > int(np.abs(levels).max())
    assert fast_header(encode_levels(levels, syntax="fast")).n_classes == len(layout.nbits)


def test_level_outside_the_layout_is_rejected():
    with pytest.raises(CodecError) as err:
        encode_levels(np.array([0, 9]), syntax="fast", layout=FastLayout(5, (0, 0, 1)))
    assert err.value.status == "DC_ERR_ARG"


def test_fast_refuses_base_dq_and_params():
    for kw in ({"dq": True}, {"base": np.zeros(3, np.int32)}):
        with pytest.raises(CodecError) as err:
            encode_levels(np.zeros(3, np.int32), syntax="fast", **kw)
        assert err.value.status == "DC_ERR_ARG"
    with pytest.raises(CodecError):
        encode_levels(np.zeros(3, np.int32), syntax="zstd")


def test_payload_params_of_a_fast_payload_says_unsupported():
    with pytest.raises(CodecError) as err:
        payload_params(encode_levels(np.arange(-9, 9), syntax="fast"))
    assert err.value.status == "DC_ERR_UNSUPPORTED"
    assert fast_header(encode_levels(np.arange(-9, 9))) is None


def test_every_truncation_and_extension_is_a_coder_status():
    rng = np.random.default_rng(4)
    levels = np.round(rng.laplace(0, 20, 700)).astype(np.int32)
    payload = encode_levels(levels, syntax="fast")
    for cut in range(len(payload)):
        with pytest.raises(CodecError) as err:
            decode_levels(payload[:cut], levels.size)
        assert err.value.status == "DC_ERR_TRUNCATED", cut
    with pytest.raises(CodecError) as err:
        decode_levels(payload + b"\0\0", levels.size)
    assert err.value.status == "DC_ERR_TRAILING"


def test_flipped_bits_never_crash_and_rans_flips_are_caught():
    """A flip in the rANS stream desynchronises the state (caught by the final-state check); a
    flip among the raw bits changes a remainder or sign only: the payload has no checksum of its
    own (the container's SHA-256 covers it)."""
    rng = np.random.default_rng(5)
    levels = np.round(rng.laplace(0, 20, 500)).astype(np.int32)
    payload = bytearray(encode_levels(levels, syntax="fast"))
    h = fast_header(payload)
    rans_end = h.header_len + 4 + 2 * h.rans_words
    caught = 0
    for i in range(len(payload)):
        bad = bytearray(payload)
        bad[i] ^= 1 << (i % 8)
        try:
            out = decode_levels(bytes(bad), levels.size)
        except CodecError as err:
            assert err.status in ("DC_ERR_TRUNCATED", "DC_ERR_CORRUPT", "DC_ERR_PARAMS", "DC_ERR_TRAILING")
            caught += h.header_len + 4 <= i < rans_end
        else:
            assert out.size == levels.size
            if i >= rans_end:
                assert int(np.count_nonzero(out != levels)) == 1  # one remainder or sign
    assert caught >= 0.9 * (2 * h.rans_words)


def test_auto_keeps_fast_within_the_slack():
    assert choose_syntax(b"f" * 102, b"c" * 100) == b"f" * 102
    assert choose_syntax(b"f" * (101 + int(100 * AUTO_FAST_SLACK)), b"c" * 100) == b"c" * 100
    rng = np.random.default_rng(6)
    uniform = rng.integers(-127, 128, 4000).astype(np.int32)  # fast is no larger than CABAC here
    assert payload_syntax(encode_levels(uniform, syntax="auto")) == "fast"
    sparse = np.where(rng.random((64, 64)) < 0.9, 0, 1).astype(np.int32)
    sparse[:40] = 0  # CABAC's row skipping wins by far
    assert payload_syntax(encode_levels(sparse, syntax="auto")) == "cabac"


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 40), row_len=st.integers(1, 50), dead=st.floats(0.0, 1.0), seed=st.integers(0, 2**16),
       slice_=st.integers(1, 70))
def test_row_skipping_round_trips_in_any_slices(rows, row_len, dead, seed, slice_):
    rng = np.random.default_rng(seed)
    levels = np.round(rng.laplace(0, 5, (rows, row_len))).astype(np.int32)
    levels[rng.random(rows) < dead] = 0  # whole output channels pruned
    payload = encode_levels(levels, syntax="fast")
    assert np.array_equal(decode_levels(payload, levels.size), levels.reshape(-1))
    assert np.array_equal(decode_levels(payload, levels.size, slices=[slice_, 1, 3]), levels.reshape(-1))


def test_row_skipping_is_used_where_it_pays_and_recovers_dead_channels():
    rng = np.random.default_rng(11)
    levels = np.round(rng.laplace(0, 6, (64, 72))).astype(np.int32)
    levels[rng.random(64) < 0.7] = 0  # VWW-like: most output channels all zero
    skipping = encode_levels(levels, syntax="fast")
    assert fast_header(skipping).row_len == 72
    plain = encode_levels(levels.reshape(-1), syntax="fast")  # 1-D: no rows, no row skipping
    assert fast_header(plain).row_len == 0
    assert len(skipping) < 0.9 * len(plain)
    dense = np.round(rng.laplace(0, 6, (64, 72))).astype(np.int32) | 1  # no zero row: nothing to skip
    assert fast_header(encode_levels(dense, syntax="fast")).row_len == 0


def _leb128_length(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def test_row_length_outside_its_range_is_a_params_error():
    levels = np.zeros((4, 8), np.int32)
    levels[1] = 3
    payload = encode_levels(levels, syntax="fast")
    h = fast_header(payload)
    assert h.row_len == 8 and payload[0] & 0x40
    at = 2 + _leb128_length(h.rans_words) + _leb128_length(h.raw_words)  # the row_len field
    assert payload[at] == 8
    for bad in (b"\x00", b"\x80\x80\x04"):  # 0 and 65536
        with pytest.raises(CodecError) as err:
            decode_levels(payload[:at] + bad + payload[at + 1:], levels.size)
        assert err.value.status == "DC_ERR_PARAMS"
    with pytest.raises(CodecError) as err:  # the row_len field cut off
        decode_levels(payload[:at], levels.size)
    assert err.value.status == "DC_ERR_TRUNCATED"
