"""Power-cut proof of the model slots: the C simulator in tests/slots/slots_powercut.c cuts the
power at every flash write/erase of an update (and of a reverted and a permanent update), with
half-written and random torn patterns, reboots, and checks that a verified model boots every
time, never one older than the last confirmed, and that the update can still be completed."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "tests/slots/slots_powercut.c", *sorted((ROOT / "firmware/lib/src/slots").glob("*.c")),
           ROOT / "firmware/lib/src/dc_status.c"]


@pytest.fixture(scope="module")
def simulator(tmp_path_factory) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.fail("no C compiler found: the power-cut simulator is a C program")
    exe = tmp_path_factory.mktemp("powercut") / "slots_powercut"
    flags = ["-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=undefined"]
    subprocess.run([cc, *flags, f"-I{ROOT / 'firmware/lib/include'}", "-o", str(exe), *map(str, SOURCES)],
                   check=True)
    return exe


@pytest.mark.parametrize("write_size", [8, 32, 1])
def test_every_cut_point_boots_a_verified_model(simulator, write_size):
    result = subprocess.run([str(simulator), "300", str(write_size)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"cut points tested: (\d+), failures: (\d+), booted the old model: (\d+), an updated one: (\d+)",
                        result.stdout)
    assert summary, result.stdout
    cuts, failures, old, new = map(int, summary.groups())
    assert failures == 0
    # Every write/erase of three scenarios, twice (half and random torn), plus 300 random cuts.
    scenario_ops = [int(n) for n in re.findall(r"(\d+) flash operations", result.stdout)]
    assert len(scenario_ops) == 3 and cuts == 2 * sum(scenario_ops) + 300
    assert cuts >= 500
    assert old > 0 and new > 0  # both outcomes occur: cuts land before and after the commit
