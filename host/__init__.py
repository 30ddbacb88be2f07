"""host: the compressor, a pure library (arrays in, bytes out, no device I/O).

Imports point one way: `hil -> dcagent -> host`; nothing here imports `dcagent` or `hil`.
"""
from host.errors import DcagentError

__all__ = ["DcagentError"]
