"""How big a packed model is, against its source file and its float32 equivalent (JSON-ready)."""
from __future__ import annotations

from typing import Any

import numpy as np

from host.container.reader import Container
from host.graph import Graph
from host.model_format.pack import split_operands


def compression_report(graph: Graph, container: Container, *, original_bytes: int) -> dict[str, Any]:
    """Sizes of `container` (packed from `graph`, whose source file had `original_bytes`).

    `params` counts the elements of the quantized constants (weights and biases; shape
    operands are not parameters); `float32_bytes` is `4 * params`, the float model's weights.
    Per tensor: `params`, `bits` (payload bits per element), `sparsity` (fraction of zero
    elements), `bytes` (payload bytes), `codec`.
    """
    operands = split_operands(graph)
    tensors = []
    params = 0
    for k, ir_index in enumerate(operands.coded):
        tensor = graph.tensors[ir_index]
        entry = container.entries[k]
        count = int(tensor.data.size)
        if tensor.quantization is not None:
            params += count
        zeros = int(np.count_nonzero(np.asarray(tensor.data) == 0))
        tensors.append({
            "name": tensor.name,
            "params": count,
            "dtype": tensor.dtype.value,
            "codec": entry.codec.name.lower(),
            "bytes": entry.payload_length,
            "bits": round(8.0 * entry.payload_length / count, 4) if count else 0.0,
            "sparsity": round(zeros / count, 4) if count else 0.0,
        })
    compressed = len(container.data)
    float32_bytes = 4 * params
    payload = sum(t["bytes"] for t in tensors)
    return {
        "model": container.metadata.model.name,
        "version": container.metadata.model.version,
        "original_bytes": int(original_bytes),
        "float32_bytes": float32_bytes,
        "compressed_bytes": compressed,
        "metadata_bytes": container.header.metadata_length,
        "payload_bytes": payload,
        "params": params,
        "ratio_vs_float32": round(float32_bytes / compressed, 4) if compressed else 0.0,
        "ratio_vs_original": round(original_bytes / compressed, 4) if compressed else 0.0,
        "bits_per_param": round(8.0 * payload / params, 4) if params else 0.0,
        "signed": container.signed,
        "min_ram": container.metadata.target.min_ram,
        "tensors": tensors,
    }
