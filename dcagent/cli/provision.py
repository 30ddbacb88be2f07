"""`dcagent provision (--port PORT | --board BOARD --state DIR) [--device-key KEY]
[--publisher-key PUB --broker URL --fleet NAME [--device-id ID]] [--tls-ca PEM [--tls-cert PEM
--tls-key PEM]]`: fill the device's provisioning area (docs/boards.md "Flash layout"): the HMAC
device key (once; the same key again is accepted), the fleet record (the trusted publisher's
Ed25519 key and the broker the board's own MQTT agent uses) and the TLS record (the CA the
broker's certificate must verify against for mqtts://, and a client certificate). A model is
accepted when its device tag verifies with the device key OR its signature with the trusted
publisher key."""
from __future__ import annotations

import argparse
from pathlib import Path

from dcagent.cli.console import Console
from dcagent.cli.device_target import add_key_option, add_target_options, device_port, parse_device_key
from dcagent.cli.exit_codes import SUCCESS
from dcagent.errors import ConfigError
from dcagent.link import provision, provision_fleet, provision_tls
from dcagent.link.console import TLS_RECORD_MAX


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("provision", help="store the device key (HMAC) and/or the trusted publisher key")
    add_target_options(parser)
    add_key_option(parser)
    parser.add_argument("--publisher-key", type=Path, metavar="PUB",
                        help="trust this publisher public key (dcagent keygen's publisher.pub); needs --broker, --fleet")
    parser.add_argument("--broker", metavar="URL", help="mqtt[s]://DEVICE:PASSWORD@HOST[:PORT] for the board's own agent")
    parser.add_argument("--fleet", metavar="NAME", help="the fleet the board follows")
    parser.add_argument("--device-id", metavar="ID", help="device id (default: the broker user name)")
    parser.add_argument("--tls-ca", type=Path, metavar="CERT",
                        help="for mqtts://: the CA certificate (PEM or DER) the broker's certificate must verify against")
    parser.add_argument("--tls-cert", type=Path, metavar="CERT", help="client certificate (PEM or DER) for the broker")
    parser.add_argument("--tls-key", type=Path, metavar="KEY", help="its private key (PEM or DER, unencrypted)")
    parser.set_defaults(func=run)


def _publisher_raw(path: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - only this option needs it

    from host.container.signing import load_public_key  # noqa: PLC0415
    return load_public_key(path).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _der_certificate(path: Path) -> bytes:
    from cryptography import x509  # noqa: PLC0415 - only the TLS options need it
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    data = path.read_bytes()
    try:
        cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError(f"{path} is not an X.509 certificate (PEM or DER): {exc}") from exc
    return cert.public_bytes(serialization.Encoding.DER)


def _der_key(path: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    data = path.read_bytes()
    try:
        load = serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
        key = load(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not an unencrypted private key (PEM or DER): {exc}") from exc
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def run(args: argparse.Namespace, console: Console) -> int:
    key = parse_device_key(args.device_key)
    fleet_args = (args.broker, args.fleet)
    if args.publisher_key is None and any(fleet_args):
        raise ConfigError("--broker and --fleet go with --publisher-key")
    if args.publisher_key is not None and not all(fleet_args):
        raise ConfigError("--publisher-key needs --broker and --fleet (the board's fleet record holds all three)")
    if (args.tls_cert is None) != (args.tls_key is None) or (args.tls_cert is not None and args.tls_ca is None):
        raise ConfigError("--tls-cert and --tls-key go together, with --tls-ca")
    if key is None and args.publisher_key is None and args.tls_ca is None:
        raise ConfigError("nothing to provision: give --device-key, --publisher-key and/or --tls-ca")
    tls = None
    if args.tls_ca is not None:
        tls = (_der_certificate(args.tls_ca), _der_certificate(args.tls_cert) if args.tls_cert else b"",
               _der_key(args.tls_key) if args.tls_key else b"")
        if sum(map(len, tls)) > TLS_RECORD_MAX:
            raise ConfigError(f"the TLS record would be {sum(map(len, tls))} bytes; the board keeps {TLS_RECORD_MAX}",
                              hint="use EC (P-256) certificates and keys")
    publisher = _publisher_raw(args.publisher_key) if args.publisher_key is not None else None
    with device_port(args, console) as port:
        if key is not None:
            provision(port, key)
            console.info("device key provisioned")
        if publisher is not None:
            provision_fleet(port, publisher, args.broker, args.fleet, args.device_id)
            console.info(f"publisher key trusted; fleet {args.fleet} via {args.broker.split('@')[-1]}")
        if tls is not None:
            provision_tls(port, *tls)
            console.info("TLS record stored (CA" + (", client certificate" if tls[1] else "") + ")")
    console.result("device provisioned")
    return SUCCESS
