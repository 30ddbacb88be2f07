"""Peers of our entropy coder for the side-by-side benchmarks (NNCodec, general compressors)."""
from __future__ import annotations

from host.errors import DcagentError


class PeerError(DcagentError):
    """A peer coder is missing, rejected its input, or did not reproduce its input."""
