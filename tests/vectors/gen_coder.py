"""Golden vectors of the level coder (docs/coder.md): payloads, their levels, and bad payloads.

Files per vector NAME under tests/vectors/coder/:
  NAME.payload  the payload bytes
  NAME.levels   the expected levels, int32 little-endian (only when the status is DC_OK)
  NAME.base     base levels, int32 little-endian (delta vectors only)
  NAME.fuzz     a fuzz seed: count as uint32 little-endian, slice size byte, then the payload
and MANIFEST, one line per vector: `NAME COUNT STATUS HAS_BASE` (STATUS a dc_status_t name).
Levels come from a fixed integer generator, so the files do not depend on numpy's RNG.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

SPEC = "docs/coder.md"


def _lcg(seed: int, n: int) -> np.ndarray:
    """n pseudo-random uint32 from a 64-bit LCG (stable across numpy versions)."""
    out = np.empty(n, dtype=np.uint64)
    x = seed
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        out[i] = x >> 32
    return out


def _laplacian(seed: int, n: int, scale: int) -> np.ndarray:
    u = _lcg(seed, 2 * n).astype(np.int64)
    mag = (u[:n] % (scale + 1)) * (u[n:] % (scale + 1)) // max(scale, 1)  # skewed towards 0
    sign = np.where((u[n:] >> 7) & 1, -1, 1)
    return (mag * sign).astype(np.int32)


def _leb128(v: int) -> bytes:
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def generate(outdir: Path) -> list[str]:
    from host.coder import (MAX_ABS, CoderParams, FastLayout, PredMode, decode_levels, dq_indices_to_levels,
                            encode_levels, fast_header)
    from host.errors import CodecError

    written: list[str] = []
    manifest: list[str] = []

    def put(name: str, data: bytes) -> None:
        (outdir / name).write_bytes(data)
        written.append(name)

    def vector(name: str, payload: bytes, count: int, status: str, levels=None, base=None) -> None:
        # The Python decoder (the same C code) must agree with the expectation.
        try:
            got = decode_levels(payload, count, base=base)
            got_status = "DC_OK"
        except CodecError as err:
            got, got_status = None, err.status
        assert got_status == status, f"{name}: expected {status}, decoder says {got_status}"
        if status == "DC_OK":
            assert np.array_equal(got, np.asarray(levels).reshape(-1)), name
            put(f"{name}.levels", np.asarray(levels, dtype="<i4").reshape(-1).tobytes())
        if base is not None:
            put(f"{name}.base", np.asarray(base, dtype="<i4").reshape(-1).tobytes())
        put(f"{name}.payload", payload)
        put(f"{name}.fuzz", struct.pack("<IB", count, 7) + payload)
        manifest.append(f"{name} {count} {status} {int(base is not None)}")

    def good(name: str, levels, **kw) -> bytes:
        levels = np.asarray(levels)
        payload = encode_levels(levels, **kw)
        vector(name, payload, levels.size, "DC_OK", levels, kw.get("base"))
        return payload

    good("empty", np.zeros(0, np.int8))
    good("one_value", np.array([-5]))
    good("zeros", np.zeros(1000, np.int8))
    conv = _laplacian(1, 16 * 3 * 3 * 8, 40).reshape(16, 3, 3, 8)
    conv_payload = good("conv_auto", conv)
    good("int8_wide", (_lcg(2, 600).astype(np.int64) % 255 - 127).reshape(6, 100))
    good("extremes", np.tile(np.array([MAX_ABS, -MAX_ABS, 0, 1, -1]), 40))
    good("start_columns", conv, params=CoderParams(start_base=5, col_stride=72, rem_ctx=1))
    good("sign_bypass_sig_skip", (_lcg(10, 900).astype(np.int64) % 255 - 127).reshape(9, 100),
         params=CoderParams(sign_bypass=True, sig_skip=True, rem_ctx=0, window=4, start_base=7))
    zero_rows = _laplacian(11, 40 * 24, 50).reshape(40, 24)
    zero_rows[5:30] = 0
    good("row_skip", zero_rows)
    good("row_skip_partial", _laplacian(12, 100, 9),
         params=CoderParams(row_skip=True, row_len=30, col_stride=7, window=8, start_base=0))
    good("pred_left", np.cumsum(_laplacian(3, 500, 3)).clip(-MAX_ABS, MAX_ABS), params=CoderParams(pred_mode=PredMode.LEFT))
    rows = np.tile(_laplacian(4, 64, 30), (8, 1)) + _laplacian(5, 512, 2).reshape(8, 64)
    rows[3] = rows[2]
    good("pred_up", rows, params=CoderParams(pred_mode=PredMode.UP, col_stride=64, row_skip=True, row_len=64))
    good("dq", dq_indices_to_levels(_laplacian(6, 700, 6)), dq=True)
    good("dq_columns", dq_indices_to_levels(_laplacian(7, 640, 20)), dq=True,
         params=CoderParams(dq=True, sign_bypass=True, window=4, start_base=6, col_stride=64))
    base = _laplacian(8, 512, 60).reshape(8, 64)
    delta = base.copy()
    delta[5:] += _laplacian(9, 192, 3).reshape(3, 64)
    good("base_delta", delta, base=base, params=CoderParams(pred_mode=PredMode.BASE))

    n = conv.size
    vector("bad_header_only", conv_payload[:3], n, "DC_ERR_TRUNCATED")
    vector("bad_header_cut", conv_payload[:2], n, "DC_ERR_TRUNCATED")
    vector("bad_trailing", conv_payload + b"\x00", n, "DC_ERR_TRAILING")
    vector("bad_code_register", bytes([0, 0x35, 0]) + b"\xff" * 8, 10, "DC_ERR_CORRUPT")
    vector("bad_prefix", bytes([0, 0x35, 0]) + b"\xff\xff\xff\xfe" + b"\xff" * 40, 10, "DC_ERR_CORRUPT")
    two = encode_levels(np.array([MAX_ABS, MAX_ABS]), params=CoderParams())
    vector("bad_level_range", bytes([PredMode.LEFT]) + two[1:], 2, "DC_ERR_CORRUPT")
    vector("bad_reserved_flag", bytes([conv_payload[0] | 0x80]) + conv_payload[1:], n, "DC_ERR_PARAMS")
    vector("bad_rem_ctx", bytes([conv_payload[0] | 0x60]) + conv_payload[1:], n, "DC_ERR_PARAMS")
    vector("bad_row_len", bytes([0x10, 0x35, 0, 0]) + conv_payload[3:], n, "DC_ERR_PARAMS")
    base_payload = (outdir / "base_delta.payload").read_bytes()
    vector("bad_missing_base", base_payload, base.size, "DC_ERR_BASE")

    # The fast syntax (docs/coder.md section 10).
    good("fast_empty", np.zeros(0, np.int8), syntax="fast")
    good("fast_zeros", np.zeros(1000, np.int8), syntax="fast")
    good("fast_one_value", np.array([-5]), syntax="fast")
    fast_conv = good("fast_conv", conv, syntax="fast")
    good("fast_int8_wide", (_lcg(2, 600).astype(np.int64) % 255 - 127).reshape(6, 100), syntax="fast")
    good("fast_extremes", np.tile(np.array([MAX_ABS, -MAX_ABS, 0, 1, -1]), 40), syntax="fast")
    good("fast_layout_p4", _laplacian(13, 3000, 20), syntax="fast", layout=FastLayout(4, (0, 0, 0, 1, 2, 3, 4)))
    good("fast_layout_p9_wide", _laplacian(14, 2000, 400), syntax="fast",
         layout=FastLayout(9, (0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)))
    fh = fast_header(fast_conv)
    hl = fh.header_len
    vector("fast_bad_truncated", fast_conv[:-1], n, "DC_ERR_TRUNCATED")
    vector("fast_bad_header_cut", fast_conv[:hl - 1], n, "DC_ERR_TRUNCATED")
    vector("fast_bad_trailing", fast_conv + b"\x00\x00", n, "DC_ERR_TRAILING")
    vector("fast_bad_reserved", bytes([fast_conv[0] | 0x10]) + fast_conv[1:], n, "DC_ERR_PARAMS")
    vector("fast_bad_class_reserved", fast_conv[:1] + bytes([fast_conv[1] | 0x20]) + fast_conv[2:], n,
           "DC_ERR_PARAMS")
    vector("fast_bad_prec", bytes([0x89]) + fast_conv[1:], n, "DC_ERR_PARAMS")
    # 3 classes: 0 | 2^15 magnitudes (1..32768: past the level range) | 1
    vector("fast_bad_coverage", bytes([0x80, 0x02, 0x00, 0x00, 0xF0, 0x00]), 0, "DC_ERR_PARAMS")
    # 2 classes, precision 1: freq_0 coded in 2 bits = 3 > 2
    vector("fast_bad_freq", bytes([0x80, 0x01, 0x00, 0x00, 0x0C]), 0, "DC_ERR_PARAMS")
    vector("fast_bad_padding", bytes([0x80, 0x01, 0x00, 0x00, 0x09]), 0, "DC_ERR_PARAMS")
    vector("fast_bad_leb", bytes([0x80, 0x00, 0x80, 0x00, 0x00]), 0, "DC_ERR_PARAMS")
    vector("fast_bad_state", fast_conv[:hl] + b"\xff\xff\x00\x00" + fast_conv[hl + 4:], n, "DC_ERR_CORRUPT")
    flipped = bytearray(fast_conv)
    flipped[hl + 5] ^= 0x40
    vector("fast_bad_stream", bytes(flipped), n, "DC_ERR_CORRUPT")
    vector("fast_bad_count", fast_conv, n - 1, "DC_ERR_CORRUPT")
    # one word moved from the rANS stream to the raw stream (same total length)
    moved = fast_conv[:2] + _leb128(fh.rans_words - 1) + _leb128(fh.raw_words + 1)
    moved += fast_conv[2 + len(_leb128(fh.rans_words)) + len(_leb128(fh.raw_words)):]
    vector("fast_bad_words", moved, n, "DC_ERR_CORRUPT")
    # Row skipping in the fast syntax: 25 of 40 rows all zero, one row_zero bit per row.
    fast_rows = good("fast_rows", zero_rows, syntax="fast")
    rh = fast_header(fast_rows)
    assert rh.row_len == 24, rh
    at = 2 + len(_leb128(rh.rans_words)) + len(_leb128(rh.raw_words))  # the row_len field
    vector("fast_bad_row_len", fast_rows[:at] + b"\x00" + fast_rows[at + 1:], zero_rows.size, "DC_ERR_PARAMS")
    vector("fast_bad_row_len_cut", fast_rows[:at], zero_rows.size, "DC_ERR_TRUNCATED")
    vector("fast_bad_rows_count", fast_rows, zero_rows.size + 24, "DC_ERR_CORRUPT")  # one row more than coded

    (outdir / "MANIFEST").write_text("\n".join(manifest) + "\n")
    written.append("MANIFEST")
    return written
