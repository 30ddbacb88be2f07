"""Each power-meter driver against its simulated instrument (hil/meters/sim), which speaks the
instrument's real protocol over a pseudo-terminal (the Joulescope: its package's device API)."""
import os
import time

import pytest

from hil.errors import MeterError
from hil.meters import create_meter
from hil.meters.joulescope import JoulescopeMeter
from hil.meters.lpm01a import Lpm01aMeter, parse_samples
from hil.meters.ppk2 import (AVERAGE_START, AVERAGE_STOP, DEVICE_RUNNING_SET, GET_META_DATA, REGULATOR_SET,
                             SET_POWER_MODE, Ppk2Meter, decode_samples, parse_metadata)
from hil.meters.sim import SimulatedJoulescope, SimulatedLpm01a, SimulatedPpk2
from hil.meters.sim.lpm01a import format_ascii_dec
from hil.meters.sim.ppk2 import encode_current, metadata_text


def _eventually(predicate, timeout_s=2.0):
    """The simulator handles bytes on its own thread: wait until it has seen them."""
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


def test_ppk2_measures_the_simulated_current_and_sends_the_protocol():
    with SimulatedPpk2(current_a=4.2e-3) as sim:
        with Ppk2Meter(sim.port, voltage_v=3.0) as meter:
            meter.power(True)
            meter.start()
            time.sleep(0.15)
            acq = meter.stop()
            meter.power(False)
        assert _eventually(lambda: (DEVICE_RUNNING_SET, b"\x00") in sim.commands)
        opcodes = [op for op, _ in sim.commands]
        assert opcodes[:3] == [GET_META_DATA, SET_POWER_MODE, REGULATOR_SET]
        assert (REGULATOR_SET, bytes([3000 >> 8, 3000 & 0xFF])) in sim.commands
        assert (DEVICE_RUNNING_SET, b"\x01") in sim.commands and (DEVICE_RUNNING_SET, b"\x00") in sim.commands
        assert AVERAGE_START in opcodes and AVERAGE_STOP in opcodes
        assert sim.vdd_mv == 3000
    assert acq.meter == "ppk2" and acq.samples > 1000
    assert acq.duration_s == pytest.approx(acq.samples / 100_000)
    mean_current = acq.energy_j / acq.duration_s / 3.0
    assert mean_current == pytest.approx(4.2e-3, abs=1e-6)  # one ADC step of range 1 is 0.44 uA


def test_ppk2_applies_the_kits_calibration():
    cal = parse_metadata(metadata_text())
    nominal = parse_metadata("END")
    word = encode_current(2e-3, 3.3).to_bytes(4, "little")
    assert decode_samples(word, cal, 3.3)[0] == pytest.approx(2e-3, abs=5e-7)
    assert abs(decode_samples(word, nominal, 3.3)[0] - 2e-3) > 2e-6  # ignoring calibration reads wrong


def test_ppk2_without_an_answer_is_a_meter_error():
    master, slave = os.openpty()
    try:
        meter = Ppk2Meter(os.ttyname(slave), timeout_s=0.3)
        with pytest.raises(MeterError, match="no metadata"):
            meter.open()
    finally:
        os.close(master)
        os.close(slave)
    with pytest.raises(MeterError, match="0.8..5.0"):
        Ppk2Meter("/dev/null", voltage_v=6.0)
    with pytest.raises(MeterError, match="metadata"):
        parse_metadata("R0: 1000\n")


def test_lpm01a_measures_energy_like_the_mlperf_runner_configures_it():
    with SimulatedLpm01a(current_a=12e-3) as sim:
        with Lpm01aMeter(sim.port, voltage_v=3.3) as meter:
            assert meter.board_id.endswith(SimulatedLpm01a.BOARD_ID) and meter.version == SimulatedLpm01a.VERSION
            meter.power(True)
            meter.start()
            time.sleep(0.25)
            acq = meter.stop()
            meter.power(False)
        assert _eventually(lambda: "hrc" in sim.log)
        for command in ("htc", "output energy", "format ascii_dec", "freq 1k", "acqtime inf", "volt 3300m",
                        "pwr on nostatus", "start", "stop", "pwr off", "hrc"):
            assert command in sim.log
    assert acq.meter == "lpm01a" and acq.samples >= 100
    assert acq.duration_s == pytest.approx(acq.samples / 1000)
    assert acq.mean_power_w == pytest.approx(12e-3 * 3.3, rel=1e-3)  # 4-digit mantissa


def test_lpm01a_reports_the_boards_error_detail():
    with SimulatedLpm01a() as sim:
        meter = Lpm01aMeter(sim.port)
        meter.open()
        try:
            with pytest.raises(MeterError, match="out of range"):
                meter.command("volt 5000m")
            with pytest.raises(MeterError, match="unknown command"):
                meter.command("frobnicate")
        finally:
            meter.close()
    with pytest.raises(MeterError, match="1.8..3.3"):
        Lpm01aMeter("/dev/null", voltage_v=5.0)


def test_ascii_dec_round_trip():
    assert parse_samples("6409-07") == [pytest.approx(6.409e-4)]
    assert parse_samples("1234+00 0042-03") == [pytest.approx(1234.0), pytest.approx(0.042)]
    for value in (6.409e-4, 3.96e-5, 1.0, 123.4, 9.9996e-3):
        assert parse_samples(format_ascii_dec(value))[0] == pytest.approx(value, rel=1e-3)


def test_joulescope_energy_from_the_accumulator():
    sim = SimulatedJoulescope(current_a=8e-3, voltage_v=3.3, period_s=0.01)
    with JoulescopeMeter(scan=lambda: sim) as meter:
        assert sim.parameters["sensor_power"] == "on" and sim.parameters["i_range"] == "auto"
        meter.start()
        time.sleep(0.1)
        acq = meter.stop()
        meter.power(False)
        assert sim.parameters["i_range"] == "off"
        off_start = meter._next_update()  # noqa: SLF001 - energy must not grow while disconnected
        meter.start()
        time.sleep(0.05)
        idle = meter.stop()
    assert acq.meter == "joulescope"
    assert acq.mean_power_w == pytest.approx(8e-3 * 3.3, rel=1e-9)
    assert idle.energy_j == 0.0 and off_start[1] > 0
    assert not sim.is_open


def test_joulescope_without_the_package_or_device_is_a_meter_error():
    def missing():
        raise MeterError("no Joulescope found: test")
    with pytest.raises(MeterError, match="no Joulescope"):
        JoulescopeMeter(scan=missing).open()
    with pytest.raises(MeterError, match="stop\\(\\) without start"):
        JoulescopeMeter(scan=lambda: SimulatedJoulescope()).stop()


def test_create_meter_parses_the_spec():
    assert isinstance(create_meter("ppk2:/dev/ttyACM1"), Ppk2Meter)
    assert isinstance(create_meter("lpm01a:loop://"), Lpm01aMeter)
    assert isinstance(create_meter("joulescope"), JoulescopeMeter)
    with pytest.raises(MeterError, match="needs a port"):
        create_meter("ppk2")
    with pytest.raises(MeterError, match="unknown meter"):
        create_meter("multimeter:/dev/x")
