"""MFCC features of a one-second 16 kHz clip, in numpy: the kws model's exact input.

A device computes the same thing in this order (all in float32 or better):

1. Signal: 16,000 samples, int16 PCM / 32768 (so in [-1, 1)).
2. Frames: 49 frames of 480 samples (30 ms), frame i starting at sample 320 * i (20 ms hop);
   the last frame ends at sample 15,840; no padding, no pre-emphasis, no DC removal.
3. Window: periodic Hann, w[n] = 0.5 - 0.5 * cos(2 * pi * n / 480), n = 0..479.
4. Spectrum: 512-point real FFT of the windowed frame zero-padded to 512; power
   |X[k]|^2 for k = 0..256 (bin k is at k * 16000 / 512 Hz).
5. Mel filterbank: 40 triangular filters on the HTK mel scale mel(f) = 2595 * log10(1 + f / 700);
   42 edge frequencies equally spaced in mel from 20 Hz to 4,000 Hz; filter m rises linearly
   (in Hz) from edge m to edge m+1 and falls to edge m+2, peak weight 1 (no area
   normalization); a bin's weight is the triangle evaluated at the bin's frequency, clipped at 0.
6. Log: natural log of (filter energy + 1e-6).
7. DCT: orthonormal DCT-II over the 40 log energies, c[j] = s(j) * sum_m log_e[m] *
   cos(pi * j * (m + 0.5) / 40), s(0) = sqrt(1/40), s(j>0) = sqrt(2/40); keep c[0..9].
8. Layout: (49 frames, 10 coefficients, 1 channel), frames in time order.
"""
from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000
FRAME = 480
HOP = 320
FRAMES = 1 + (CLIP_SAMPLES - FRAME) // HOP  # 49
FFT = 512
MEL_FILTERS = 40
MEL_LOW_HZ = 20.0
MEL_HIGH_HZ = 4000.0
COEFFICIENTS = 10
LOG_FLOOR = 1e-6


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank() -> np.ndarray:
    """The (257, 40) matrix of step 5: power spectrum bins to mel filter energies."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.float64(MEL_LOW_HZ)),
                                   _hz_to_mel(np.float64(MEL_HIGH_HZ)), MEL_FILTERS + 2))
    bins = np.arange(FFT // 2 + 1) * SAMPLE_RATE / FFT
    weights = np.zeros((FFT // 2 + 1, MEL_FILTERS))
    for m in range(MEL_FILTERS):
        low, centre, high = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins - low) / (centre - low)
        falling = (high - bins) / (high - centre)
        weights[:, m] = np.clip(np.minimum(rising, falling), 0.0, None)
    return weights


def dct_matrix() -> np.ndarray:
    """The (40, 10) orthonormal DCT-II matrix of step 7."""
    m = np.arange(MEL_FILTERS)[:, None]
    j = np.arange(COEFFICIENTS)[None, :]
    basis = np.cos(np.pi * j * (m + 0.5) / MEL_FILTERS)
    scale = np.where(j == 0, np.sqrt(1.0 / MEL_FILTERS), np.sqrt(2.0 / MEL_FILTERS))
    return basis * scale


_WINDOW = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(FRAME) / FRAME)
_MEL = mel_filterbank()
_DCT = dct_matrix()


def mfcc(clips: np.ndarray) -> np.ndarray:
    """MFCCs (N, 49, 10, 1) float32 of clips (N, 16000) float in [-1, 1).

    Raises ValueError if the clips are not (N, 16000).
    """
    clips = np.asarray(clips, dtype=np.float64)
    if clips.ndim != 2 or clips.shape[1] != CLIP_SAMPLES:
        raise ValueError(f"clips must be (N, {CLIP_SAMPLES}), are {clips.shape}")
    starts = HOP * np.arange(FRAMES)
    frames = clips[:, starts[:, None] + np.arange(FRAME)[None, :]] * _WINDOW
    power = np.abs(np.fft.rfft(frames, n=FFT, axis=-1)) ** 2
    log_mel = np.log(power @ _MEL + LOG_FLOOR)
    return (log_mel @ _DCT).astype(np.float32)[..., np.newaxis]
