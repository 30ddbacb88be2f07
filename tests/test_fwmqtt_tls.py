"""The native board's own MQTT client over TLS: mbedTLS in the native port (ports/native/native_tls.c)
behind dc_port_net_connect_tls, the CA and client certificate provisioned over the console
(`fleet tls`, through dcagent.link.provision_tls and `dcagent provision --tls-*`), the real
mosquitto's TLS listener (client certificates required). The board refuses a broker whose
certificate its CA did not sign, then updates itself over mqtts://."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dcagent.fleet.local_broker import make_pki
from dcagent.fleet.messages import State
from dcagent.link import provision_tls
from fwmqtt_device import NetBoard, StatusLog, cli_env, raw_public_key, serve, signed_model


def der_cert(path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)


def der_key(path) -> bytes:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.mark.slow
def test_board_refuses_a_foreign_broker_certificate_then_updates_over_mqtts(fleet_broker_tls, tmp_path):
    broker = fleet_broker_tls
    pki = broker.pki
    key = Ed25519PrivateKey.generate()
    log = StatusLog(broker)
    board = NetBoard(tmp_path / "board")
    try:
        url = f"mqtts://dev-a1:{broker.passwords['dev-a1']}@localhost:{broker.tls_port}"
        assert board.ask(f"fleet start {url} alpha {raw_public_key(key).hex()}") == "ok"
        state = board.status()
        assert state["link"] == "down" and state["error"] == "DC_ERR_TLS", state   # no TLS record yet

        # A CA that did not sign the broker's certificate: every handshake fails.
        other = make_pki(tmp_path / "other-pki")
        with board.released() as port:
            provision_tls(port, der_cert(other.ca_cert), der_cert(pki.client_cert), der_key(pki.client_key))
        deadline = time.monotonic() + 20
        first = int(board.status()["connects"])
        while int(board.status()["connects"]) < first + 2:
            assert time.monotonic() < deadline, board.status()
            time.sleep(0.2)
        state = board.status()
        assert (state["link"], state["error"]) == ("down", "DC_ERR_TLS"), state
        assert log.states("dev-a1") == []   # nothing reached the broker

        # The right CA: the board connects over TLS, fetches, self-tests and confirms.
        data = signed_model(key, size=20_000, version=2)
        model = tmp_path / "model.dcb"
        model.write_bytes(data)
        with board.released() as port:   # the CLI takes the PEM files as the test PKI wrote them
            done = subprocess.run([sys.executable, "-m", "dcagent.cli", "provision", "--port", port, "--tls-ca",
                                   str(pki.ca_cert), "--tls-cert", str(pki.client_cert), "--tls-key",
                                   str(pki.client_key)], env=cli_env(tmp_path), capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        with serve(broker, model, tmp_path):
            log.wait_state("dev-a1", State.CONFIRMED, timeout=60)
        state = board.status()
        assert (state["link"], state["error"], state["version"]) == ("up", "DC_OK", "2"), state
        assert "dev-a1" in broker.log_tail(400)
    finally:
        board.close()
        log.close()


@pytest.mark.parametrize("options, message", [
    (["--tls-cert", "c.pem"], "--tls-cert and --tls-key go together, with --tls-ca"),
    (["--tls-ca", "ca.pem", "--tls-key", "k.pem"], "--tls-cert and --tls-key go together, with --tls-ca"),
    (["--tls-ca", "ca.pem"], "is not an X.509 certificate"),
])
def test_provision_tls_options_are_checked_before_the_port_is_opened(tmp_path, options, message):
    (tmp_path / "ca.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
    done = subprocess.run([sys.executable, "-m", "dcagent.cli", "provision", "--port", str(tmp_path / "no-such-tty"),
                           *options], env=cli_env(tmp_path), capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr, done.stdout + done.stderr
