"""The int8 reference interpreter: the executable specification of device semantics.

One module per op kind, the fixed-point helpers in `fixed_point`; semantics and known
differences from LiteRT are in docs/reference-interpreter.md. `run` returns the graph
outputs, `run_all` every tensor (for comparing firmware kernels layer by layer).
"""


def run(graph, inputs):
    """Run `graph` on `inputs`; see `host.reference.interpreter.run`."""
    from host.reference.interpreter import run as _run
    return _run(graph, inputs)


def run_all(graph, inputs):
    """Every tensor value of one run; see `host.reference.interpreter.run_all`."""
    from host.reference.interpreter import run_all as _run_all
    return _run_all(graph, inputs)


__all__ = ["run", "run_all"]
