"""Check a packed container against the graph it came from: decoded weights, and the C runtime's
outputs against the reference interpreter's (both `==`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from host.graph import Graph
from host.model_format.pack import split_operands
from host.model_format.unpack import unpack


@dataclass(frozen=True)
class ContainerCheck:
    """What `check_container` found: `problems` is empty when everything matched."""

    constants: int
    samples: int
    modes: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def first_mismatch(ours: np.ndarray, theirs: np.ndarray) -> str | None:
    """None when equal, else where the first element differs (and how many do)."""
    ours, theirs = np.asarray(ours).reshape(-1), np.asarray(theirs).reshape(-1)
    if ours.shape != theirs.shape:
        return f"sizes {ours.size} vs {theirs.size}"
    bad = np.flatnonzero(ours != theirs)
    return None if bad.size == 0 else f"element {bad[0]}: {ours[bad[0]]} vs {theirs[bad[0]]} ({bad.size} differ)"


def check_container(data: bytes, graph: Graph, samples: list[list[np.ndarray]], *, modes=None) -> ContainerCheck:
    """Unpack `data` and compare every constant with `graph`'s (values, rebuilt from their levels);
    run the C runtime (each decode mode in `modes`, default both) on `samples` (lists of int8
    input arrays, each with the batch axis) and compare with `host.reference.run` on `graph`.

    Raises BitstreamError / RuntimeStatusError when the container does not open or load."""
    from host.reference import run
    from host.runtime import DecodeMode, Runtime

    problems: list[str] = []
    decoded = unpack(data)
    by_operand = split_operands(graph).coded
    decoded_coded = split_operands(decoded).coded
    for ir_index, other_index in zip(by_operand, decoded_coded):
        want, got = graph.tensors[ir_index], decoded.tensors[other_index]
        problem = first_mismatch(got.data, want.data)
        if problem is not None:
            problems.append(f"decoded tensor {want.name!r} differs: {problem}")
    mode_list = list(DecodeMode) if modes is None else list(modes)
    expected = [run(graph, x) for x in samples]
    for mode in mode_list:
        runtime = Runtime(data, mode)
        for index, (x, want) in enumerate(zip(samples, expected)):
            for k, (got, ref) in enumerate(zip(runtime.run(x), want)):
                problem = first_mismatch(got, ref)
                if problem is not None:
                    problems.append(f"C runtime ({mode.name}) sample {index} output {k} differs from the "
                                    f"reference interpreter: {problem}")
                    break
    return ContainerCheck(len(by_operand), len(samples), tuple(m.name for m in mode_list), tuple(problems))


__all__ = ["ContainerCheck", "check_container", "first_mismatch"]
