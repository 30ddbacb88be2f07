"""What a reader reports about a container, as JSON-ready values (for `dcagent inspect --json`
and the golden vectors' expected results)."""
from __future__ import annotations

from typing import Any

from host.coder import payload_syntax
from host.container.layout import Codec
from host.container.reader import Container


def bits_per_level(payload_length: int, level_count: int) -> float:
    """Payload bits per level (0.0 for an empty tensor)."""
    return 8.0 * payload_length / level_count if level_count else 0.0


def level_syntax(container: Container, index: int) -> str:
    """How tensor `index`'s levels are coded: "raw", or the level syntax of a coded payload,
    "cabac" or "fast" (docs/coder.md section 10). An empty coded payload reports "cabac"."""
    entry = container.entries[index]
    if entry.codec == Codec.RAW:
        return "raw"
    payload = container.payload(index)
    return payload_syntax(payload) if payload else "cabac"


def container_report(container: Container, *, levels: bool = False) -> dict[str, Any]:
    """The header, trailer state, metadata summary and per-tensor table of `container`.

    With `levels`, each tensor's decoded levels are included (non-delta tensors only: a delta
    needs its base). Raises what Container.levels raises when `levels` is set.
    """
    h, t, m = container.header, container.trailer, container.metadata
    tensors = []
    for index, (entry, info) in enumerate(zip(container.entries, m.tensors)):
        row: dict[str, Any] = {
            "name": info.name,
            "shape": list(info.shape),
            "dtype": info.dtype.type_name,
            "codec": entry.codec.name.lower(),
            "level_count": entry.level_count,
            "payload_offset": entry.payload_offset,
            "payload_length": entry.payload_length,
            "bits_per_level": round(bits_per_level(entry.payload_length, entry.level_count), 4),
            "delta": entry.delta,
            "channels": len(info.quantization.scale) if info.quantization is not None else 0,
            "axis": info.quantization.axis if info.quantization is not None else None,
        }
        if levels and not entry.delta:
            row["levels"] = [int(v) for v in container.levels(index)]
        tensors.append(row)
    return {
        "header": {
            "version": f"{h.version_major}.{h.version_minor}",
            "flags": h.flags,
            "tensor_count": h.tensor_count,
            "metadata_offset": h.metadata_offset,
            "metadata_length": h.metadata_length,
            "payload_offset": h.payload_offset,
            "payload_length": h.payload_length,
            "trailer_offset": h.trailer_offset,
            "file_length": h.file_length,
            "base_sha256": h.base_sha256.hex() if h.is_delta else None,
        },
        "content_sha256": t.content_sha256.hex(),
        "signature": {
            "algorithm": t.signature_algorithm.name.lower(),
            "key_id": t.key_id.hex() if container.signed else None,
        },
        "device_tag": {"algorithm": t.tag_algorithm.name.lower()},
        "model": {"name": m.model.name, "version": m.model.version},
        "target": {"arch": m.target.arch, "min_ram": m.target.min_ram, "min_flash": m.target.min_flash},
        "compressor": {"name": m.compressor.name, "version": m.compressor.version},
        "graph": {"nodes": len(m.graph.nodes), "values": len(m.graph.values),
                  "inputs": list(m.graph.inputs), "outputs": list(m.graph.outputs)},
        "tensors": tensors,
    }
