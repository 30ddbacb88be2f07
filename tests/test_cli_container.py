"""`dcagent keygen`, `inspect` and `verify` through dcagent.cli.main, with their exit codes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dcagent.cli import main
from host.container.hmac_tag import add_device_tag
from host.container.signing import load_private_key, sign_container
from tests.container_samples import TEST_DEVICE_KEY, sample_container

VECTORS = Path(__file__).parent / "vectors" / "container"
PUB = str(VECTORS / "test_publisher.pub")


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_keygen_writes_refuses_and_forces(tmp_path, capsys):
    keys = tmp_path / "keys"
    assert main(["keygen", "-o", str(keys)]) == 0
    first = capsys.readouterr().out
    assert first.startswith("key_id ") and len(first.split()[1]) == 32
    assert (keys / "publisher.key").stat().st_mode & 0o777 == 0o600
    before = (keys / "publisher.key").read_bytes()
    assert main(["keygen", "-o", str(keys)]) == 2
    err = capsys.readouterr().err
    assert "refusing to overwrite" in err and "--force" in err
    assert (keys / "publisher.key").read_bytes() == before
    assert main(["keygen", "-o", str(keys), "--force"]) == 0
    assert (keys / "publisher.key").read_bytes() != before


def test_keygen_default_location_is_used_by_verify(tmp_path, capsys):
    assert main(["keygen"]) == 0
    key_dir = tmp_path / "config" / "dcagent" / "keys"
    signed = tmp_path / "model.dcb"
    signed.write_bytes(sign_container(sample_container(), load_private_key(key_dir / "publisher.key")))
    capsys.readouterr()
    assert main(["verify", str(signed)]) == 0
    assert "valid" in capsys.readouterr().out


def test_inspect_table_and_json(capsys):
    assert main(["inspect", str(VECTORS / "tagged.dcb")]) == 0
    out = capsys.readouterr().out
    for words in ("tiny-sample version 1", "conv/weights", "4x1x2x2", "int32", "bits/level", "32.000",
                  "ed25519, key id ceaff1f453814b99bde1d47b3d85ffbc", "hmac_sha256"):
        assert words in out
    assert main(["inspect", "--json", str(VECTORS / "delta.dcb")]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = json.loads((VECTORS / "delta.json").read_text())["report"]
    assert report["header"] == expected["header"]
    assert [t["name"] for t in report["tensors"]] == ["conv/weights", "conv/bias", "fc/weights"]
    assert report["tensors"][0]["delta"] is True
    assert report["arena"] is None  # a delta is applied to its base before the runtime sizes anything


def test_inspect_bad_file_exits_3(capsys, tmp_path):
    assert main(["inspect", str(VECTORS / "neg_hash.dcb")]) == 3
    assert "content_sha256" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "missing.dcb")]) == 2


def test_verify_signed_tagged_and_delta(capsys):
    device = TEST_DEVICE_KEY.hex()
    assert main(["verify", str(VECTORS / "signed.dcb"), "--key", PUB]) == 0
    assert main(["verify", str(VECTORS / "tagged.dcb"), "--key", PUB, "--device-key", device]) == 0
    assert "device tag" in capsys.readouterr().out
    assert main(["verify", str(VECTORS / "delta.dcb"), "--key", PUB, "--base", str(VECTORS / "unsigned.dcb")]) == 0
    assert main(["verify", str(VECTORS / "delta.dcb"), "--key", PUB, "--base", str(VECTORS / "signed.dcb")]) == 0
    assert main(["verify", str(VECTORS / "delta.dcb"), "--key", PUB, "--base", str(VECTORS / "no_tensors.dcb")]) == 3
    assert "delta needs base" in capsys.readouterr().err


@pytest.mark.parametrize("args, code, words", [
    (["unsigned.dcb"], 3, "container is unsigned"),
    (["unsigned.dcb", "--allow-unsigned"], 0, "valid"),
    (["neg_signature_bad.dcb", "--key", PUB], 3, "does not verify"),
    (["neg_auth.dcb", "--key", PUB, "--device-key", TEST_DEVICE_KEY.hex()], 3, "device tag does not match"),
    (["signed.dcb", "--key", PUB, "--device-key", TEST_DEVICE_KEY.hex()], 3, "no device tag"),
    (["tagged.dcb", "--key", PUB, "--device-key", "zz"], 2, "not hex"),
    (["tagged.dcb", "--key", PUB, "--device-key", "00" * 65], 2, "1..64 bytes"),
    (["signed.dcb"], 2, "does not exist"),  # no default key was generated
    (["neg_magic.dcb", "--key", PUB], 3, "not a .dcb file"),
    (["neg_metadata_unknown.dcb", "--allow-unsigned"], 3, "metadata: key 6 is not one of its codes 0..5"),
])
def test_verify_failures(args, code, words, capsys):
    argv = ["verify", str(VECTORS / args[0]), *args[1:]]
    assert main(argv) == code
    captured = capsys.readouterr()
    assert words in captured.out + captured.err


def test_verify_with_wrong_key(tmp_path, capsys):
    assert main(["keygen", "-o", str(tmp_path / "other")]) == 0
    assert main(["verify", str(VECTORS / "signed.dcb"), "--key", str(tmp_path / "other" / "publisher.pub")]) == 3
    assert "signed by key" in capsys.readouterr().err


def test_verify_a_file_tagged_after_signing(tmp_path):
    path = tmp_path / "t.dcb"
    shutil.copy(VECTORS / "signed.dcb", path)
    path.write_bytes(add_device_tag(path.read_bytes(), b"\x07" * 16))
    assert main(["verify", str(path), "--key", PUB, "--device-key", "07" * 16]) == 0
    assert main(["verify", str(path), "--key", PUB, "--device-key", "07" * 15]) == 3
