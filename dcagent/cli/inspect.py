"""`dcagent inspect FILE.dcb`: show a container's header, graph, tensors and signature state."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dcagent.cli.console import Console
from host.container.reader import Container, read_container
from host.container.report import container_report, level_syntax


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inspect", help="show what a .dcb container holds",
                                   description="Validate a container (hash included; not the signature) "
                                               "and show its header, graph and per-tensor table (bits, "
                                               "sparsity, bytes).")
    parser.add_argument("file", metavar="FILE.dcb", type=Path)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def _operand_label(container: Container, operand: int) -> str:
    meta = container.metadata
    infos = list(meta.tensors) + list(meta.graph.values)
    if operand == -1:
        return "-"
    if not 0 <= operand < len(infos):
        return f"#{operand}?"
    info = infos[operand]
    shape = "x".join(str(d) for d in info.shape) or "scalar"
    return f"#{operand}{'(' + info.name + ')' if info.name else ''}[{shape}]"


def _tensor_details(container: Container) -> list[dict]:
    """Per coded tensor: rule, level bits, zero-level fraction (pruned weights), level syntax
    (raw, cabac or fast), codebook, step or (rule scaled: value = level * 2^shift) shift."""
    rows = []
    for index, (entry, info) in enumerate(zip(container.entries, container.metadata.tensors)):
        encoding = info.encoding
        row = {"rule": "exact" if encoding is None else encoding.rule,
               "bits": encoding.bits if encoding is not None else 8 * info.dtype.width,
               "sparsity": None, "syntax": level_syntax(container, index)}
        if not entry.delta:
            levels = container.levels(index)
            row["sparsity"] = round(float(np.mean(levels == 0)), 4) if levels.size else 0.0
        if encoding is not None and encoding.rule == "codebook":
            row["codebook"] = [int(v) for v in np.frombuffer(encoding.codebook, dtype=np.int8)]
        elif encoding is not None and encoding.rule == "scaled":
            row["shift"] = encoding.shift
        elif encoding is not None:
            row["step"] = encoding.step
        rows.append(row)
    return rows


def _arenas(data: bytes) -> dict[str, dict[str, int]] | None:
    """Least arena bytes per device and decode mode (host.runtime.arena_size); None when the runtime
    cannot size the container (a delta, a graph it refuses)."""
    from host.errors import HostError  # noqa: PLC0415
    from host.runtime import DecodeMode, Device, arena_size  # noqa: PLC0415

    modes = (DecodeMode.AT_LOAD, DecodeMode.PER_LAYER, DecodeMode.STREAMED)
    try:
        return {d.name.lower(): {m.name.lower(): arena_size(data, m, device=d) for m in modes} for d in Device}
    except HostError:
        return None


def run(args: argparse.Namespace, console: Console) -> int:
    container = read_container(args.file)
    report = container_report(container)
    for row, extra in zip(report["tensors"], _tensor_details(container)):
        row.update(extra)
    meta = container.metadata
    report["graph"]["node_list"] = [{"op": n.op, "inputs": list(n.inputs), "outputs": list(n.outputs)}
                                    for n in meta.graph.nodes]
    report["arena"] = _arenas(container.data)
    if args.json:
        console.result(json.dumps(report, indent=2))
        return 0
    h, sig = report["header"], report["signature"]
    signature = "unsigned" if sig["algorithm"] == "none" else \
        f"{sig['algorithm']}, key id {sig['key_id']} (not verified here: use `dcagent verify`)"
    model = report["model"]
    payload = sum(t["payload_length"] for t in report["tensors"])
    lines = [
        f"file        {args.file} ({h['file_length']} bytes, format {h['version']})",
        f"model       {model['name']} version {model['version']}",
        f"target      {report['target']['arch']}, min RAM {report['target']['min_ram']} B, "
        f"min flash {report['target']['min_flash']} B",
        f"compressor  {report['compressor']['name']} {report['compressor']['version']}"
        + "".join(f", {k}={v}" for k, v in sorted(meta.compressor.settings.items())),
        f"graph       {report['graph']['nodes']} nodes, {report['graph']['values']} values, "
        f"inputs {report['graph']['inputs']}, outputs {report['graph']['outputs']}",
        f"sizes       metadata {h['metadata_length']} B CBOR; payloads {payload} B "
        f"({h['payload_length']} B padded); header, directory and trailer {h['file_length'] - h['payload_length'] - h['metadata_length']} B",
        f"content     sha256 {report['content_sha256']}",
        f"delta base  {h['base_sha256'] or 'none (full model)'}",
        f"signature   {signature}",
        f"device tag  {report['device_tag']['algorithm']}",
    ]
    console.result("\n".join(lines))
    if meta.graph.nodes:
        console.table("graph", ["#", "op", "inputs", "output"], [
            [k, n.op, ", ".join(_operand_label(container, i) for i in n.inputs),
             ", ".join(_operand_label(container, i) for i in n.outputs)] for k, n in enumerate(meta.graph.nodes)])
    rows = [[f"#{k}" + (f" {t['name']}" if t["name"] else ""), "x".join(str(d) for d in t["shape"]) or "scalar",
             t["dtype"], t["rule"] + (f" x2^{t['shift']}" if "shift" in t else ""), t["bits"],
             "-" if t["sparsity"] is None else f"{100 * t['sparsity']:.1f}%",
             t["syntax"] + (" delta" if t["delta"] else ""), t["level_count"], t["payload_length"],
             f"{t['bits_per_level']:.3f}"] for k, t in enumerate(report["tensors"])]
    console.table("tensors", ["tensor", "shape", "dtype", "rule", "bits", "sparsity", "coding", "levels", "bytes",
                              "bits/level"], rows)
    if report["arena"]:
        console.table("least arena bytes (min RAM is the most of the smallest per device)",
                      ["device", "at load", "per layer", "streamed"],
                      [[device.replace("_", "-")] + list(modes.values()) for device, modes in report["arena"].items()])
    return 0
