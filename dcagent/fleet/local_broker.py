"""A real mosquitto on a free 127.0.0.1 port, configured for fleet updates: users, ACLs, TLS.

For tests, benchmarks and local trials (labgrid's habit: the stand-in ships with the
package). `LocalBroker` writes a mosquitto 2.0 configuration into a folder it owns: a hashed
password file (mosquitto_passwd -U), an ACL file that lets each device read only its fleet's
topics and its own stream answers and write only its own requests and status
(docs/protocol.md, MQTT section 7), optionally a TLS listener with a CA, a server and client
certificates made here with `cryptography`. It never uses port 1883.
"""
from __future__ import annotations

import datetime
import getpass
import ipaddress
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dcagent.errors import BoardError, ConfigError
from dcagent.fleet import topics

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = "mosquitto_passwd"
PUBLISHER_USER = "publisher"
MONITOR_USER = "monitor"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (never 1883)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != 1883:
            return port


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of the test PKI: CA certificate, server and client certificate + key."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def make_pki(folder: Path, *, client_name: str = "dcagent-client") -> TlsFiles:
    """Create a CA, a server certificate for 127.0.0.1/localhost and a client certificate in `folder`."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=2)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(_name("dcagent test CA")).issuer_name(_name("dcagent test CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))

    def leaf(common_name: str, usage: x509.ObjectIdentifier, san: list[x509.GeneralName] | None):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca_cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return key, builder.sign(ca_key, hashes.SHA256())

    server_key, server_cert = leaf("localhost", ExtendedKeyUsageOID.SERVER_AUTH,
                                   [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client_key, client_cert = leaf(client_name, ExtendedKeyUsageOID.CLIENT_AUTH, None)
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(folder / "ca.crt", folder / "server.crt", folder / "server.key",
                     folder / "client.crt", folder / "client.key")
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.client_cert.write_bytes(client_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(files.server_key, server_key)
    _write_key(files.client_key, client_key)
    return files


@dataclass
class LocalBroker:
    """One mosquitto process and its configuration folder.

    `devices` maps device id -> fleet name; each device gets a user of that name with a
    random password. The users `publisher` (read/write everything under dcagent/v1) and
    `monitor` (read everything under dcagent/v1) exist too.
    """

    folder: Path
    devices: dict[str, str] = field(default_factory=dict)
    tls: bool = False
    port: int = 0
    tls_port: int = 0
    passwords: dict[str, str] = field(default_factory=dict)
    pki: TlsFiles | None = None
    process: subprocess.Popen | None = None
    max_connections: int = -1

    def __post_init__(self) -> None:
        if not Path(MOSQUITTO).exists():
            raise BoardError(f"{MOSQUITTO} is not installed", hint="apt-get install mosquitto")
        self.folder = Path(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for device_id, fleet in self.devices.items():
            topics.check_name(device_id, "device id")
            topics.check_name(fleet, "fleet")
            if device_id in (PUBLISHER_USER, MONITOR_USER):
                raise ConfigError(f"device id {device_id!r} is reserved")
        self.port = self.port or free_port()
        if self.tls:
            self.tls_port = self.tls_port or free_port()
            self.pki = make_pki(self.folder / "pki")
        self._write_config()

    # --- configuration -------------------------------------------------------------------
    def _write_config(self) -> None:
        users = [PUBLISHER_USER, MONITOR_USER, *self.devices]
        self.passwords = {user: self.passwords.get(user) or secrets.token_hex(12) for user in users}
        pw = self.folder / "passwd"
        pw.write_text("".join(f"{u}:{p}\n" for u, p in self.passwords.items()))
        pw.chmod(0o600)
        subprocess.run([MOSQUITTO_PASSWD, "-U", str(pw)], check=True, capture_output=True)
        p = topics.PREFIX
        acl = [
            "# every authenticated client: only its own device topics (%u = user name = device id)",
            f"pattern read {p}/devices/%u/streams/+/data",
            f"pattern read {p}/devices/%u/streams/+/rejected",
            f"pattern write {p}/devices/%u/streams/+/get",
            f"pattern write {p}/devices/%u/status",
            "",
            f"user {PUBLISHER_USER}",
            f"topic readwrite {p}/#",
            "",
            f"user {MONITOR_USER}",
            f"topic read {p}/#",
        ]
        for device_id, fleet in self.devices.items():
            acl += ["", f"user {device_id}", f"topic read {p}/fleets/{fleet}/#"]
        (self.folder / "acl").write_text("\n".join(acl) + "\n")
        (self.folder / "data").mkdir(exist_ok=True)
        conf = [
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {pw}",
            f"acl_file {self.folder / 'acl'}",
            f"user {getpass.getuser()}",
            "persistence true",
            f"persistence_location {self.folder / 'data'}/",
            "autosave_interval 1",
            f"log_dest file {self.folder / 'mosquitto.log'}",
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            f"listener {self.port} 127.0.0.1",
            f"max_connections {self.max_connections}",
        ]
        if self.pki:
            conf += [
                f"listener {self.tls_port} 127.0.0.1",
                f"max_connections {self.max_connections}",
                f"cafile {self.pki.ca_cert}",
                f"certfile {self.pki.server_cert}",
                f"keyfile {self.pki.server_key}",
                "require_certificate true",
                "tls_version tlsv1.2",
            ]
        (self.folder / "mosquitto.conf").write_text("\n".join(conf) + "\n")

    # --- URLs ----------------------------------------------------------------------------
    def url(self, user: str, *, tls: bool = False, password: str | None = None) -> str:
        """`mqtt://user:password@127.0.0.1:port` (or mqtts:// to the TLS listener)."""
        secret = self.passwords[user] if password is None else password
        if tls:
            return f"mqtts://{user}:{secret}@127.0.0.1:{self.tls_port}"
        return f"mqtt://{user}:{secret}@127.0.0.1:{self.port}"

    # --- process -------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "LocalBroker":
        """Start mosquitto and wait until its listeners accept connections. Raises BoardError."""
        if self.process and self.process.poll() is None:
            return self
        log = open(self.folder / "stderr.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")],
                                        stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        ports = [self.port] + ([self.tls_port] if self.pki else [])
        while True:
            if self.process.poll() is not None:
                raise BoardError(f"mosquitto exited with {self.process.returncode}: {self.log_tail()}")
            if all(_accepts(port) for port in ports):
                return self
            if time.monotonic() > deadline:
                self.kill()
                raise BoardError(f"mosquitto did not listen on {ports} within {timeout} s: {self.log_tail()}")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (mosquitto saves its persistence file), then SIGKILL after `timeout`."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL: the broker dies as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> "LocalBroker":
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 20) -> str:
        text = ""
        for name in ("stderr.log", "mosquitto.log"):
            path = self.folder / name
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def remove(self) -> None:
        """Stop the broker and delete its folder."""
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "LocalBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def pid_of(broker: LocalBroker) -> int | None:
    """The broker's process id while it runs."""
    return broker.process.pid if broker.process and broker.process.poll() is None else None

