"""pytest plugin (entry point `pytest11: dcagent_hil`): fixtures for a board, a meter and a
flashed model. With no board configured every test using them is skipped, cleanly.

    pytest --hil-board qemu-m4 [--hil-meter ppk2:/dev/ttyACM1] tests/on_hardware/
    DCAGENT_HIL_BOARD=native DCAGENT_HIL_METER=... pytest ...

    def test_model_runs(hil_flashed_model):
        model = hil_flashed_model("model.dcb")        # a .dcb or an int8 .tflite
        out = model.run(input_bytes)                  # hil.drivers.Inference
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

BOARD_ENV = "DCAGENT_HIL_BOARD"
METER_ENV = "DCAGENT_HIL_METER"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("dcagent-hil", "hardware-in-the-loop (dcagent)")
    group.addoption("--hil-board", default=None, metavar="NAME",
                    help=f"board for the hil fixtures (hil/resources.py names; env {BOARD_ENV})")
    group.addoption("--hil-port", default=None, metavar="PORT", help="serial port of a real board")
    group.addoption("--hil-meter", default=None, metavar="KIND[:PORT]",
                    help=f"power meter for the hil_meter fixture (ppk2:PORT, lpm01a:PORT, joulescope; env {METER_ENV})")
    group.addoption("--hil-timeout", default=60.0, type=float, metavar="S", help="time limit of each board step")


def _option(config, name: str, env: str) -> str | None:
    return config.getoption(name) or os.environ.get(env) or None


@pytest.fixture(scope="session")
def hil_board_resource(request):
    """The configured BoardResource; skips when none is configured."""
    name = _option(request.config, "--hil-board", BOARD_ENV)
    if not name:
        pytest.skip(f"no hil board configured (--hil-board or {BOARD_ENV})")
    from hil.resources import board_resource
    port = request.config.getoption("--hil-port")
    return board_resource(name, **({"port": port} if port else {}))


@pytest.fixture
def hil_board(hil_board_resource, request):
    """A powered-on board driver (firmware built/flashed first); powered off after the test."""
    from hil.drivers import create_driver
    timeout = request.config.getoption("--hil-timeout")
    driver = create_driver(hil_board_resource)
    driver.flash_firmware(timeout)
    with driver.powered(timeout):
        yield driver


@pytest.fixture
def hil_meter(request):
    """An open PowerMeter; skips when none is configured."""
    spec = _option(request.config, "--hil-meter", METER_ENV)
    if not spec:
        pytest.skip(f"no hil meter configured (--hil-meter or {METER_ENV})")
    from hil.meters import create_meter
    with create_meter(spec) as meter:
        yield meter


@dataclass
class FlashedModel:
    """A model running on `driver`: run() one input's bytes."""

    driver: object
    container: bytes
    timeout_s: float

    def run(self, data: bytes):
        with self.driver.session(self.timeout_s) as session:
            return session.run(data)

    def run_many(self, inputs: list[bytes]):
        with self.driver.session(self.timeout_s) as session:
            return [session.run(data) for data in inputs]


@pytest.fixture
def hil_flashed_model(hil_board, request):
    """A factory: flash(path) -> FlashedModel on the powered board (.dcb, or int8 .tflite packed losslessly)."""
    from hil.models import read_container
    timeout = request.config.getoption("--hil-timeout")

    def flash(path: str | Path) -> FlashedModel:
        path = Path(path)
        container, _ = read_container(path, path.stem)
        hil_board.load_model(container, timeout)
        return FlashedModel(hil_board, container, timeout)

    return flash
