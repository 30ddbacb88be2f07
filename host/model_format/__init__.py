"""The model format: a graph IR in a .dcb container and back (docs/bitstream.md section 4).

`pack(graph, ...)` writes an unsigned container (sign it with host.container.signing),
`unpack(container)` gives back an equal graph, `compression_report` sizes a container against
the model it came from, `check_container` runs it in the C runtime against the reference
interpreter.
"""
from host.model_format.check import ContainerCheck, check_container
from host.model_format.pack import pack, packing_problems
from host.model_format.report import compression_report
from host.model_format.unpack import unpack

__all__ = ["pack", "unpack", "packing_problems", "compression_report", "check_container", "ContainerCheck"]
