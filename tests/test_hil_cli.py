"""`dcagent hil run`, the pytest plugin, and the PlatformIO driver's handling of a missing tool."""
import json
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dcagent.cli import main
from hil.drivers import create_driver
from hil.drivers.platformio import PlatformioDriver, find_pio
from hil.errors import DriverError
from hil.resources import board_resource

ROOT = Path(__file__).resolve().parents[1]
HAR = ROOT / "examples" / "har"

pytest_plugins = ["pytester"]


def host_suite(tmp_path: Path, threshold: str = "") -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(f'[suite]\nname = "cli"\nbaseline = "base.json"\nsamples = 8\n[thresholds]\n{threshold}\n'
                    f'[[models]]\nname = "har"\nmodel = "{HAR / "model_int8.tflite"}"\ndata = "{HAR / "eval.npz"}"\n'
                    '[[boards]]\nname = "host"\n[[boards]]\nname = "native"\n')
    return path


def test_cli_runs_a_suite_updates_the_baseline_and_fails_a_threshold(tmp_path, capsys):
    suite = host_suite(tmp_path)
    out = tmp_path / "out"
    assert main(["hil", "run", str(suite), "--board", "host", "-o", str(out), "--update-baseline"]) == 0
    assert json.loads((tmp_path / "base.json").read_text())["cases"]["har@host"]["accuracy"] == 1.0
    assert ET.parse(out / "junit.xml").getroot().attrib["tests"] == "1"
    assert (out / "report.html").is_file() and json.loads((out / "results.json").read_text())["summary"]["passed"] == 1
    strict = host_suite(tmp_path, "bitstream_bytes = 100")
    assert main(["hil", "run", str(strict), "--board", "host", "-o", str(out)]) == 1
    assert "bitstream" in capsys.readouterr().out
    assert main(["hil", "run", str(strict), "--board", "qemu-m9", "-o", str(out)]) == 5  # HilError: harness


def test_pytest_plugin_skips_without_a_board_and_runs_with_one(pytester, monkeypatch):
    # load the plugin explicitly, also where the installed entry point would load it already
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(f'''
        def test_on_board(hil_flashed_model):
            model = hil_flashed_model("{HAR / 'model_int8.tflite'}")
            out = model.run(bytes(240))
            assert len(out.output) == 4

        def test_meter(hil_meter):
            pass
    ''')
    monkeypatch.delenv("DCAGENT_HIL_BOARD", raising=False)
    monkeypatch.delenv("DCAGENT_HIL_METER", raising=False)
    skipped = pytester.runpytest("-p", "hil.pytest_plugin", "-p", "no:cacheprovider")
    skipped.assert_outcomes(skipped=2)
    assert "no hil board configured" in skipped.stdout.str() or "skipped" in skipped.stdout.str()
    ran = pytester.runpytest("-p", "hil.pytest_plugin", "-p", "no:cacheprovider", "--hil-board", "host", "-rs")
    ran.assert_outcomes(passed=1, skipped=1)


def test_platformio_driver_says_what_is_missing(tmp_path):
    board = board_resource("lab", base="nucleo-l4r5zi", port=str(tmp_path / "ttyACM9"), pio_project=str(tmp_path))
    driver = create_driver(board)
    assert isinstance(driver, PlatformioDriver)
    with pytest.raises(DriverError, match="PlatformIO is not installed") as missing:
        find_pio(path=str(tmp_path))
    assert missing.value.hint == "pip install platformio"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    pio = fake_bin / "pio"
    record = tmp_path / "args.txt"
    pio.write_text(f'#!/bin/sh\necho "$@" > {record}\necho uploaded\n')
    pio.chmod(pio.stat().st_mode | stat.S_IEXEC)
    old_path = os.environ["PATH"]
    os.environ["PATH"] = f"{fake_bin}:{old_path}"
    try:
        with pytest.raises(DriverError, match="platformio.ini not found"):
            driver.flash_firmware(10)
        (tmp_path / "platformio.ini").write_text("[env:nucleo_l4r5zi]\n")
        with pytest.raises(DriverError, match="no device at"):
            driver.flash_firmware(10)
        (tmp_path / "ttyACM9").write_text("")  # stands in for the device node
        driver.flash_firmware(10)
        assert record.read_text().split() == ["run", "-d", str(tmp_path), "-e", "nucleo_l4r5zi", "-t", "upload",
                                              "--upload-port", str(tmp_path / "ttyACM9")]
        assert "uploaded" in driver.logs()
    finally:
        os.environ["PATH"] = old_path
