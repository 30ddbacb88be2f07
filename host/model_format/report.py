"""How big a packed model is, against its source file and its float32 equivalent (JSON-ready)."""
from __future__ import annotations

from typing import Any

import numpy as np

from host.container.reader import Container
from host.container.report import level_syntax
from host.graph import Graph
from host.model_format.pack import split_operands

_RULES = {"UniformLevels": "uniform", "CodebookLevels": "codebook", "DependentLevels": "dependent",
          "ScaledLevels": "scaled"}


def tensor_rows(graph: Graph, container: Container) -> list[dict[str, Any]]:
    """Per coded tensor of `container` (packed from `graph`, names from `graph`): `name`,
    `params` (elements), `dtype`, `rule` (the reconstruction rule, or "exact" for stored values),
    `bits` (bit width of its levels), `coded_bits` (payload bits per element), `sparsity`
    (fraction of zero values), `bytes` (payload bytes), `codec`, `syntax` (how the levels are
    coded: "raw", "cabac" or "fast"; `--coder auto` chooses per tensor)."""
    rows = []
    for k, ir_index in enumerate(split_operands(graph).coded):
        tensor = graph.tensors[ir_index]
        entry = container.entries[k]
        count = int(tensor.data.size)
        zeros = int(np.count_nonzero(np.asarray(tensor.data) == 0))
        encoding = tensor.encoding
        rows.append({
            "name": tensor.name,
            "params": count,
            "dtype": tensor.dtype.value,
            "rule": "exact" if encoding is None else _RULES[type(encoding).__name__],
            "bits": int(encoding.bits) if encoding is not None else 8 * tensor.dtype.numpy.itemsize,
            "coded_bits": round(8.0 * entry.payload_length / count, 4) if count else 0.0,
            "sparsity": round(zeros / count, 4) if count else 0.0,
            "bytes": entry.payload_length,
            "codec": entry.codec.name.lower(),
            "syntax": level_syntax(container, k),
        })
    return rows


def compression_report(graph: Graph, container: Container, *, original_bytes: int,
                       float32_bytes: int | None = None) -> dict[str, Any]:
    """Sizes of `container` (packed from `graph`, whose source file had `original_bytes`).

    `params` counts the elements of the quantized constants (weights and biases; shape
    operands are not parameters); `float32_bytes` is the float model's parameter bytes: given
    (the float model a compressed graph came from), else `4 * params`. `metadata_bytes` is the
    CBOR metadata, `overhead_bytes` everything that is not payload (header, directory,
    metadata, padding, trailer). `level_syntax` counts the tensors per syntax. Per tensor: see
    `tensor_rows`.
    """
    tensors = tensor_rows(graph, container)
    params = sum(row["params"] for row, k in zip(tensors, split_operands(graph).coded)
                 if graph.tensors[k].quantization is not None)
    compressed = len(container.data)
    f32 = 4 * params if float32_bytes is None else int(float32_bytes)
    payload = sum(t["bytes"] for t in tensors)
    return {
        "model": container.metadata.model.name,
        "version": container.metadata.model.version,
        "original_bytes": int(original_bytes),
        "float32_bytes": f32,
        "compressed_bytes": compressed,
        "metadata_bytes": container.header.metadata_length,
        "payload_bytes": payload,
        "overhead_bytes": compressed - payload,
        "params": params,
        "ratio_vs_float32": round(f32 / compressed, 4) if compressed else 0.0,
        "ratio_vs_original": round(original_bytes / compressed, 4) if compressed else 0.0,
        "bits_per_param": round(8.0 * payload / params, 4) if params else 0.0,
        "signed": container.signed,
        "min_ram": container.metadata.target.min_ram,
        "level_syntax": {name: sum(1 for t in tensors if t["syntax"] == name) for name in ("cabac", "fast", "raw")},
        "tensors": tensors,
    }
