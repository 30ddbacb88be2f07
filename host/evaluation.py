"""A model measured on the user's data: accuracy with labels, fidelity (top-1 agreement, output
SQNR) against a reference model's outputs; by the reference interpreter or the C runtime."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from host.data import Dataset
from host.graph import Graph
from host.passes.execute import run_samples
from host.passes.fidelity import Fidelity, measure, real_outputs


def model_outputs(graph: Graph, data: Dataset, *, container: bytes | None = None) -> np.ndarray:
    """The real (dequantized) first output of `graph` on every sample of `data` (checked against
    `graph`): by the reference interpreter, or with `container` by the firmware's C runtime
    running that container (one sample at a time, per-layer decoding).
    Raises DataError / ModelError as the interpreter does, BitstreamError / RuntimeStatusError
    when the runtime refuses the container."""
    if container is None:
        raw = run_samples(graph, data.x, keep=set()).values[graph.outputs[0]]
        return real_outputs(graph, raw)
    from host.runtime import DecodeMode, Runtime

    runtime = Runtime(container, DecodeMode.PER_LAYER)
    rows = [runtime.run([data.x[i:i + 1]])[0] for i in range(data.size)]
    return real_outputs(graph, np.concatenate(rows, axis=0))


def evaluate(outputs: np.ndarray, labels: np.ndarray | None, reference: np.ndarray | None = None) -> Fidelity:
    """Accuracy of `outputs` against `labels` (None without), and top-1 agreement / SQNR against
    `reference` outputs (against themselves, i.e. 100% / inf, without)."""
    return measure(outputs if reference is None else reference, outputs, labels)


def fidelity_plain(fidelity: Fidelity) -> dict[str, Any]:
    """A Fidelity as JSON-ready values (an infinite SQNR, identical outputs, as null)."""
    sqnr = float(fidelity.sqnr_db)
    return {"accuracy": None if fidelity.accuracy is None else round(float(fidelity.accuracy), 4),
            "agreement": round(float(fidelity.agreement), 4),
            "sqnr_db": None if math.isinf(sqnr) else round(sqnr, 3),
            "samples": int(fidelity.samples)}


__all__ = ["model_outputs", "evaluate", "fidelity_plain"]
