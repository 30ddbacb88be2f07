"""`dcagent inspect FILE.dcb`: show a container's header, metadata, tensors and signature state."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from dcagent.cli.console import Console
from host.container.reader import read_container
from host.container.report import container_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inspect", help="show what a .dcb container holds",
                                   description="Validate a container (hash included; not the signature) "
                                               "and show its header, metadata and per-tensor table.")
    parser.add_argument("file", metavar="FILE.dcb", type=Path)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    report = container_report(read_container(args.file))
    if args.json:
        console.result(json.dumps(report, indent=2))
        return 0
    h, sig = report["header"], report["signature"]
    signature = "unsigned" if sig["algorithm"] == "none" else \
        f"{sig['algorithm']}, key id {sig['key_id']} (not verified here: use `dcagent verify`)"
    model = report["model"]
    lines = [
        f"file        {args.file} ({h['file_length']} bytes, format {h['version']})",
        f"model       {model['name']} version {model['version']}",
        f"target      {report['target']['arch']}, min RAM {report['target']['min_ram']} B, "
        f"min flash {report['target']['min_flash']} B",
        f"compressor  {report['compressor']['name']} {report['compressor']['version']}",
        f"graph       {report['graph']['nodes']} nodes, {report['graph']['values']} values",
        f"metadata    {h['metadata_length']} bytes CBOR; payloads {h['payload_length']} bytes",
        f"content     sha256 {report['content_sha256']}",
        f"delta base  {h['base_sha256'] or 'none (full model)'}",
        f"signature   {signature}",
        f"device tag  {report['device_tag']['algorithm']}",
    ]
    console.result("\n".join(lines))
    rows = [[t["name"], "x".join(str(d) for d in t["shape"]) or "scalar", t["dtype"],
             t["codec"] + (" delta" if t["delta"] else ""), t["level_count"], t["payload_length"],
             f"{t['bits_per_level']:.3f}"] for t in report["tensors"]]
    console.table("tensors", ["name", "shape", "dtype", "codec", "levels", "bytes", "bits/level"], rows)
    return 0
