"""One board, two ways to trust a model (firmware/app/app_verify.c): the device tag (HMAC with the
device key: a gateway tagged it) OR the Ed25519 signature of a trusted publisher (the board on
the network by itself). Neither: refused. Both paths share one pair of slots and one
anti-rollback floor; the trust survives a restart (the provisioning area is read before the
boot re-verifies the slots). Native board, models delivered over SMP, no broker needed: the
fleet agent's connection attempts to a closed port only back off."""
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from smp.image_management import IMG_MGMT_ERR

from dcagent.cli import main
from dcagent.errors import DeviceError
from dcagent.link import console_command, flash, provision_fleet, read_state
from host.container.hmac_tag import add_device_tag
from host.container.signing import generate_keypair, load_private_key, sign_container
from tests.fwmqtt_device import raw_public_key
from tests.link_boards import board_running
from tests.link_models import DEVICE_KEY, OTHER_KEY, model, tagged, version_code

V = version_code
CLOSED_BROKER = "mqtt://dev-a1:pw@127.0.0.1:9"  # discard port: nothing listens


def running_hash(port: str) -> bytes:
    return next(st.hash for st in read_state(port) if st.active)


def refused(port: str, image: bytes) -> int:
    with pytest.raises(DeviceError) as info:
        flash(port, image, confirm=True)
    return info.value.code


def test_device_tag_or_trusted_signature_and_refused_with_neither(tmp_path):
    publisher, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signed_v2 = sign_container(model(V(2), 3000, seed=2), publisher)
    with board_running("native", tmp_path) as board:  # device key only
        assert refused(board.port, signed_v2) == IMG_MGMT_ERR.INVALID_TLV
        flash(board.port, tagged(V(1), 3000, seed=1), confirm=True)
        provision_fleet(board.port, raw_public_key(publisher), CLOSED_BROKER, "alpha")
        report = flash(board.port, signed_v2, confirm=True)  # no device tag: the signature vouches for it
        assert report.confirmed and running_hash(board.port) == hashlib.sha256(signed_v2).digest()
        for image in (sign_container(model(V(3), 3000, seed=3), stranger),      # untrusted signer
                      model(V(3), 3000, seed=4),                                 # neither
                      tagged(V(3), 3000, seed=5, key=OTHER_KEY),                 # another device's tag
                      add_device_tag(sign_container(model(V(3), 3000, seed=6), stranger), OTHER_KEY)):
            assert refused(board.port, image) == IMG_MGMT_ERR.INVALID_TLV
        # one floor for both paths: a tagged or a signed v1 is older than the running v2
        assert refused(board.port, tagged(V(1), 3000, seed=7)) == IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER
        assert refused(board.port, sign_container(model(V(1), 3000, seed=8), publisher)) == \
            IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER
        fleet = dict(w.split("=", 1) for w in console_command(board.port, "fleet status").split()[1:])
        assert (fleet["running"], fleet["version"], fleet["floor"]) == ("1", str(V(2)), str(V(2)))
    with board_running("native", tmp_path) as board:  # restart: the signed model still verifies at boot
        assert running_hash(board.port) == hashlib.sha256(signed_v2).digest()
        assert console_command(board.port, "fleet stop") == "ok"
        assert refused(board.port, sign_container(model(V(3), 3000, seed=9), publisher)) == IMG_MGMT_ERR.INVALID_TLV
        flash(board.port, tagged(V(3), 3000, seed=10), confirm=True)
    with board_running("native", tmp_path) as board:
        assert running_hash(board.port) == hashlib.sha256(tagged(V(3), 3000, seed=10)).digest()


def test_cli_provision_trusts_a_publisher(tmp_path, capsys):
    pair = generate_keypair(tmp_path / "keys")
    state = str(tmp_path / "state")
    signed = tmp_path / "signed.dcb"
    signed.write_bytes(sign_container(model(V(1), 3000), load_private_key(pair.private_path)))
    assert main(["provision", "--board", "native", "--state", state, "--publisher-key", str(pair.public_path)]) == 2
    assert "needs --broker and --fleet" in capsys.readouterr().err
    assert main(["provision", "--board", "native", "--state", state, "--device-key", DEVICE_KEY.hex(),
                 "--publisher-key", str(pair.public_path), "--broker", CLOSED_BROKER, "--fleet", "alpha"]) == 0
    assert main(["flash", str(signed), "--board", "native", "--state", state, "--confirm"]) == 0
    assert "running, confirmed" in capsys.readouterr().out
