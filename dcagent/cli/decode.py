"""`dcagent decode IN.dcb -o MODEL.tflite`: unpack a container into a standard int8 TFLite model."""
from __future__ import annotations

import argparse
from pathlib import Path

from dcagent.cli.console import Console
from dcagent.cli.progress import progress_bar
from host.container.reader import read_container
from host.container.signing import load_public_key, verify_signature
from host.container.writer import write_atomic
from host.model_format import unpack
from host.tflite import write_model


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "decode", help="decode a .dcb container back into a TFLite model",
        description="Check IN (structure and SHA-256; the signature too with --key), decode every tensor "
                    "and write the model as a standard int8 TFLite flatbuffer.")
    parser.add_argument("container", metavar="IN.dcb", type=Path)
    parser.add_argument("-o", "--output", metavar="MODEL.tflite", type=Path, required=True)
    parser.add_argument("--key", metavar="PUB", type=Path, default=None,
                        help="also verify the signature with this publisher public key")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    container = read_container(args.container)
    if args.key is not None:
        verify_signature(container, load_public_key(args.key))
    with progress_bar(console, "decoding tensors") as update:
        graph = unpack(container, progress=update)
    data = write_model(graph)
    write_atomic(args.output, data)
    console.info(f"wrote {args.output}: {len(graph.ops)} ops, {len(graph.tensors)} tensors, {len(data)} bytes")
    return 0
