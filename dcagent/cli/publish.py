"""`dcagent publish MODEL.dcb --broker URL --fleet NAME [--key KEY] [--serve]`: announce a model.

Signs an unsigned container with the default key (or --key, which always re-signs), posts
the retained manifest, and with --serve keeps answering block requests until interrupted.
Without --serve, run `dcagent stream-server` on the signed file to serve the blocks.
"""
from __future__ import annotations

import argparse
import threading
from pathlib import Path

from dcagent.cli.console import Console
from dcagent.cli.mqtt_options import add_broker_arguments, tls_options
from dcagent.cli.signals import stop_on_sigterm
from dcagent.fleet.messages import DEFAULT_BLOCK_SIZE
from dcagent.fleet.publisher import Publication, publish


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("publish", help="announce a model to a fleet over MQTT (and serve it)",
                                   description=__doc__)
    parser.add_argument("model", type=Path, metavar="MODEL.dcb")
    add_broker_arguments(parser)
    parser.add_argument("--fleet", required=True, help="fleet name (one MQTT topic level)")
    parser.add_argument("--key", type=Path, help="Ed25519 private key (default: the default key when unsigned)")
    parser.add_argument("--serve", action="store_true",
                        help="keep serving block requests until interrupted (Ctrl-C or SIGTERM)")
    parser.add_argument("--block-size", type=int, default=DEFAULT_BLOCK_SIZE, help="bytes per block (128..65536)")
    parser.add_argument("--rate", type=float, metavar="BYTES_PER_S", help="with --serve: limit the block rate")
    parser.add_argument("--signed-out", type=Path, help="where a newly signed copy goes (default MODEL.signed.dcb)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    if args.key is None:
        from dcagent.agent.keys import ensure_dev_keypair  # noqa: PLC0415

        if ensure_dev_keypair() is not None:
            console.info("created the development key pair (dcagent keygen) to sign with")
    stop = threading.Event()
    done = threading.Event()
    result = {}

    def report(pub: Publication) -> None:
        m = pub.manifest
        if pub.signed_path:
            console.info(f"signed copy: {pub.signed_path}")
        console.result(f"published {m.model_name} v{m.model_version} to fleet {m.fleet}: stream {m.stream_id}, "
                       f"{m.size} bytes, {m.block_count} blocks of {m.block_size}, sha256 {m.sha256.hex()}")

    def work() -> None:
        try:
            result["publication"] = publish(args.model, args.broker, args.fleet, key=args.key,
                                            block_size=args.block_size, tls=tls_options(args), serve=args.serve,
                                            stop=stop, signed_out=args.signed_out, rate_limit=args.rate,
                                            on_announced=report)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            result["error"] = exc
        finally:
            done.set()

    if not args.serve:
        work()
    else:
        stop_on_sigterm(stop)
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        console.info(f"serving {args.model} to fleet {args.fleet}; Ctrl-C or SIGTERM stops")
        try:
            while not done.wait(0.5):   # not Thread.join: a KeyboardInterrupt inside it breaks it (CPython)
                pass
        except KeyboardInterrupt:
            stop.set()
            done.wait(10)
    if "error" in result:
        raise result["error"]
    return 0
