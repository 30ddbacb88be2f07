"""Broker options shared by the MQTT subcommands (publish, stream-server, fetch): URL and TLS files."""
from __future__ import annotations

import argparse
from pathlib import Path

from dcagent.fleet.broker import TlsOptions


def add_broker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", required=True, metavar="URL",
                        help="mqtt://[user:password@]host[:port] or mqtts://... (TLS)")
    parser.add_argument("--tls-ca", type=Path, metavar="PEM", help="CA certificate that signed the broker's")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="client certificate, if the broker asks for one")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="private key of --tls-cert")


def tls_options(args: argparse.Namespace) -> TlsOptions | None:
    if not (args.tls_ca or args.tls_cert or args.tls_key):
        return None
    return TlsOptions(ca_file=args.tls_ca, cert_file=args.tls_cert, key_file=args.tls_key)
