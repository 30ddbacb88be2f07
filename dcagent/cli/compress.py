"""`dcagent compress MODEL.tflite -o OUT.dcb --lossless`: pack an int8 model into a signed .dcb container."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from dcagent import __version__
from dcagent.cli.console import Console
from dcagent.cli.progress import progress_bar
from dcagent.errors import ConfigError
from host.container.reader import open_container
from host.container.signing import load_private_key, sign_container
from host.container.writer import write_atomic
from host.errors import ModelError
from host.model_format import compression_report, pack
from host.tflite import read_model


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compress", help="compress a model into a signed .dcb container",
        description="Pack MODEL (an int8 TFLite model) into a .dcb container. Only the lossless path "
                    "(--lossless: every weight kept exactly, entropy-coded) is available for now.")
    parser.add_argument("model", metavar="MODEL.tflite", type=Path)
    parser.add_argument("-o", "--output", metavar="OUT.dcb", type=Path, required=True)
    parser.add_argument("--lossless", action="store_true", help="keep every weight exactly (required for now)")
    parser.add_argument("--name", default=None, help="model name in the container (default: the file stem)")
    parser.add_argument("--model-version", type=int, default=1, metavar="V",
                        help="monotonically increasing model version (default 1)")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--key", metavar="KEY", type=Path, default=None,
                      help="publisher private key (default: $XDG_CONFIG_HOME/dcagent/keys/publisher.key)")
    keys.add_argument("--unsigned", action="store_true", help="write an unsigned container")
    parser.add_argument("--report", metavar="REPORT.json", type=Path, default=None, help="write a size report")
    parser.add_argument("--codec", choices=("cabac", "raw"), default="cabac", help="payload codec (default cabac)")
    parser.add_argument("--strip-names", action="store_true",
                        help="replace tensor names by t<index> (smaller; decode gives those names back)")
    parser.add_argument("--target", default="generic", help="target architecture recorded in the container")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    if not args.lossless:
        raise ConfigError("only lossless compression is available for now: pass --lossless",
                          hint="pruning, quantization and clustering passes are not built yet")
    if args.model_version < 0:
        raise ConfigError(f"--model-version must be >= 0, not {args.model_version}")
    if args.name == "":
        raise ConfigError("--name must not be empty")
    key = None if args.unsigned else load_private_key(args.key)  # fail before the work
    try:
        original = args.model.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model {args.model}: {exc.strerror or exc}") from exc
    graph = read_model(original)
    with progress_bar(console, "coding tensors") as update:
        data = pack(graph, name=args.name or args.model.stem, version=args.model_version, target=args.target,
                    codec=args.codec, compressor_settings={"mode": "lossless"}, compressor_version=__version__,
                    keep_names=not args.strip_names, progress=update)
    if key is not None:
        data = sign_container(data, key)
    container = open_container(data)
    report = compression_report(graph, container, original_bytes=len(original))
    write_atomic(args.output, data)
    if args.report is not None:
        write_atomic(args.report, (json.dumps(report, indent=2) + "\n").encode())
    console.info(f"wrote {args.output} ({'signed' if key is not None else 'unsigned'})")
    console.table(f"{args.model.name} -> {args.output.name}", ["", "bytes", "ratio"], [
        ["float32 weights", report["float32_bytes"], ""],
        ["source model", report["original_bytes"], f"{report['ratio_vs_original']:.2f}x"],
        [".dcb container", report["compressed_bytes"], f"{report['ratio_vs_float32']:.2f}x vs float32"],
        ["  of which metadata", report["metadata_bytes"], ""],
        ["  bits per parameter", f"{report['bits_per_param']:.3f}", ""],
    ])
    return 0
