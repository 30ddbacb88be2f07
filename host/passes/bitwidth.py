"""Bit width per weight tensor (2..8), chosen automatically under an accuracy budget.

Two quantizers per tensor: the fixed one (symmetric uniform levels per channel, int8 =
level * step) and the adaptive one (a k-means / Lloyd-Max codebook of int8 values, int8 =
codebook[level + zero_index]), as compared in Mishra, Loeffler, Plinge 2020, "Recipes for
Post-training Quantization of Deep Neural Networks". The sensitivity of each tensor (quantize
it alone at b bits and measure the drop) and the size/accuracy search are the engine's
(engine.py); the chosen quantizer and bit width are recorded in each tensor's `encoding`.
"""
from __future__ import annotations

from host.data import Dataset
from host.graph import Graph, QuantizerKind
from host.passes.engine import PassReport, SearchSpace, run_pass


def choose_bitwidths(graph: Graph, data: Dataset, max_drop: float,
                     quantizers: tuple[QuantizerKind, ...] = (QuantizerKind.UNIFORM, QuantizerKind.CODEBOOK),
                     bits: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8), **kwargs) -> tuple[Graph, PassReport]:
    """Requantize int8 `graph`'s weights at the bit widths (and quantizers) the budget allows.

    `max_drop` is in percentage points against `graph` itself on `data`. Raises as
    `engine.run_pass`.
    """
    space = SearchSpace(
        bits=bits if QuantizerKind.UNIFORM in quantizers else (),
        sparsities=(0.0,),
        codebook_bits=tuple(b for b in bits if b <= 6) if QuantizerKind.CODEBOOK in quantizers else (),
        rdoq_lambdas=(0.0,),
        dependent_bits=tuple(b for b in bits if b <= 5) if QuantizerKind.DEPENDENT in quantizers else (),
        compensated_bits=(),
    )
    return run_pass(graph, data, max_drop, space, **kwargs)
