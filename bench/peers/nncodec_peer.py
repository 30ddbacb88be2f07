"""NNCodec's DeepCABAC core as a lossless coder of integer weight levels.

Uses the pybind11 module `nncodec.extensions.deepCABAC` directly (NNCodec 2.1.3), not
`nncodec.nn`, which needs torchvision. Each tensor is one CABAC stream, as in NNCodec's
published MLPerf Tiny figures; sizes are the CABAC payloads only (no NNR unit headers).

A tensor is given as a 2-D int32 array, one row per output channel: NNCodec's contexts
and row skipping work on rows (its `layerWidth` is the product of all but the first
dimension).

The decoder needs the settings out of band: `cabac_unary_length` (NNR
cabac_unary_length_minus1 + 1) and `general_profile_idc`; row skipping is signalled in the
stream when general_profile_idc is 1. Only the row-wise scan (scan_order 0) is used: the
block scans need entry points carried outside the payload, and NNCodec's decoder rejects
their payloads without them.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from bench.peers import PeerError

#: cabac_unary_length values the search tries (NNCodec's default is 11).
UNARY_LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14, 16, 20, 24, 32)

#: Zero bytes appended before decoding: NNCodec's decoder reads past the payload end.
_DECODE_PAD = 64


@dataclass(frozen=True)
class NncodecSettings:
    """Encoder settings of one tensor. `row_skip` needs `general_profile_idc` 1."""

    cabac_unary_length: int = 11
    general_profile_idc: int = 0
    row_skip: bool = False
    param_opt: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.cabac_unary_length <= 32:
            raise PeerError(f"cabac_unary_length must be in 1..32, got {self.cabac_unary_length}")
        if self.general_profile_idc not in (0, 1):
            raise PeerError(f"general_profile_idc must be 0 or 1, got {self.general_profile_idc}")
        if self.row_skip and self.general_profile_idc != 1:
            raise PeerError("row_skip needs general_profile_idc 1")


#: What NNCodec's `nnc.compress` uses for integer tensors: cabac_unary_length_minus1 10,
#: parameter optimisation on, profile 0. These reproduce the published MLPerf Tiny figures.
PUBLISHED_SETTINGS = NncodecSettings(cabac_unary_length=11, general_profile_idc=0,
                                     row_skip=False, param_opt=True)


def _module():
    """Import NNCodec's DeepCABAC extension; raises PeerError if it is not installed."""
    try:
        from nncodec.extensions import deepCABAC
    except ImportError as exc:
        raise PeerError("NNCodec is not installed",
                        hint="pip install h5py pybind11 && pip install --no-deps nncodec==2.1.3"
                        ) from exc
    return deepCABAC


def version() -> str | None:
    """NNCodec's installed version, or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version as _version
    try:
        return _version("nncodec")
    except PackageNotFoundError:
        return None


def _check_rows(rows: np.ndarray) -> np.ndarray:
    """Return `rows` as a C-ordered int32 2-D array; raises PeerError if it is not one."""
    if not isinstance(rows, np.ndarray) or rows.ndim != 2 or rows.size == 0:
        raise PeerError("NNCodec codes a non-empty 2-D array (one row per output channel)")
    if not np.issubdtype(rows.dtype, np.integer):
        raise PeerError(f"NNCodec codes integer levels, got {rows.dtype}")
    return np.ascontiguousarray(rows, dtype=np.int32)


def encode(rows: np.ndarray, settings: NncodecSettings = PUBLISHED_SETTINGS) -> bytes:
    """Encode the integer levels `rows` (2-D, one row per output channel) to one CABAC stream.

    Raises:
        PeerError: NNCodec is not installed, or `rows` is not a non-empty 2-D integer array,
            or NNCodec rejected it.
    """
    deepCABAC = _module()
    rows = _check_rows(rows)
    zero_rows = np.ascontiguousarray(~np.any(rows, axis=1), dtype=np.int32)
    hdsp_off = (deepCABAC.HdspMode.AlwaysOff, np.zeros(2, dtype=np.int8))
    try:
        encoder = deepCABAC.Encoder()
        encoder.initCtxModels(settings.cabac_unary_length, int(settings.param_opt))
        encoder.encodeLayer(rows, 0, 0, settings.general_profile_idc, 0, int(settings.row_skip),
                            zero_rows, *hdsp_off, 0, 0)
        return encoder.finish().tobytes()
    except (RuntimeError, SystemExit, ValueError, TypeError) as exc:
        raise PeerError(f"NNCodec could not encode a {rows.shape} tensor: {exc}") from exc


def decode(payload: bytes, shape: tuple[int, int],
           settings: NncodecSettings = PUBLISHED_SETTINGS) -> np.ndarray:
    """Decode one CABAC stream made by `encode` back to an int32 array of `shape`.

    Raises:
        PeerError: NNCodec is not installed, `shape` is not 2-D and non-empty, the stream
            does not end where its terminating bin says, or NNCodec rejected it.
    """
    deepCABAC = _module()
    if len(shape) != 2 or shape[0] <= 0 or shape[1] <= 0:
        raise PeerError(f"NNCodec decodes to a non-empty 2-D shape, got {shape}")
    stream = np.frombuffer(bytes(payload) + bytes(_DECODE_PAD), dtype=np.uint8)
    out = np.zeros(shape, dtype=np.int32)
    hdsp_off = (deepCABAC.HdspMode.AlwaysOff, np.zeros(2, dtype=np.int8))
    try:
        decoder = deepCABAC.Decoder()
        decoder.setStream(stream)
        decoder.initCtxModels(settings.cabac_unary_length)
        decoder.decodeLayer(out, 0, 0, settings.general_profile_idc, 0, *hdsp_off, 0, 0)
        used = decoder.finish()
    except (RuntimeError, SystemExit, ValueError, TypeError) as exc:
        raise PeerError(f"NNCodec could not decode a {shape} tensor: {exc}") from exc
    if used != len(payload):
        raise PeerError(f"NNCodec read {used} bytes of a {len(payload)}-byte stream")
    return out


def candidate_settings(general_profile_idc: int) -> list[NncodecSettings]:
    """The per-tensor settings the search tries under one profile (the profile is per model)."""
    row_skips = (False, True) if general_profile_idc == 1 else (False,)
    return [NncodecSettings(cabac_unary_length=length, general_profile_idc=general_profile_idc,
                            row_skip=row_skip, param_opt=True)
            for length, row_skip in itertools.product(UNARY_LENGTHS, row_skips)]


def best_settings(rows: np.ndarray, general_profile_idc: int) -> tuple[NncodecSettings, int]:
    """Return the settings (under one profile) giving the smallest stream for `rows`, and its size.

    Ties go to the first candidate (shortest unary length, row skipping off).

    Raises:
        PeerError: as `encode`.
    """
    candidates = candidate_settings(general_profile_idc)
    sizes = [len(encode(rows, settings)) for settings in candidates]
    index = int(np.argmin(sizes))
    return candidates[index], sizes[index]
