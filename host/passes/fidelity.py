"""What a compressed model still gets right: accuracy, top-1 agreement and output SQNR.

The score the budget applies to is top-1 accuracy in percent when the data has labels, else
top-1 agreement in percent with the reference model's outputs; `drop` is reference score
minus candidate score, in percentage points.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host.graph import DType, Graph


@dataclass(frozen=True)
class Fidelity:
    """One model measured on the data: `accuracy` (percent, None without labels), `agreement`
    (percent of samples whose top-1 class equals the reference's), `sqnr_db` (reference output
    energy over the energy of the difference; inf when identical)."""

    accuracy: float | None
    agreement: float
    sqnr_db: float
    samples: int

    @property
    def score(self) -> float:
        return self.accuracy if self.accuracy is not None else self.agreement


def real_values(graph: Graph, index: int, raw: np.ndarray) -> np.ndarray:
    """Values `raw` of tensor `index` as real numbers: dequantized (per tensor) when int8."""
    tensor = graph.tensors[index]
    if tensor.dtype is DType.INT8:
        scale, zero = tensor.quantization.single()
        return (raw.astype(np.float64) - zero) * np.float64(scale)
    return raw.astype(np.float64)


def real_outputs(graph: Graph, raw: np.ndarray) -> np.ndarray:
    """The graph's (first) output as real numbers: dequantized when int8."""
    return real_values(graph, graph.outputs[0], raw)


def _top1(values: np.ndarray) -> np.ndarray:
    return values.reshape(values.shape[0], -1).argmax(axis=1)


def measure(reference: np.ndarray, candidate: np.ndarray, labels: np.ndarray | None) -> Fidelity:
    """Fidelity of real `candidate` outputs against real `reference` outputs (and labels)."""
    n = reference.shape[0]
    predicted = _top1(candidate)
    agreement = 100.0 * float(np.mean(predicted == _top1(reference)))
    accuracy = None if labels is None else 100.0 * float(np.mean(predicted == labels))
    noise = float(np.sum((candidate - reference) ** 2))
    signal = float(np.sum(reference ** 2))
    sqnr = float("inf") if noise == 0 else 10.0 * np.log10(max(signal, 1e-300) / noise)
    return Fidelity(accuracy, agreement, sqnr, n)
