"""The firmware level decoder builds for Cortex-M4 with warnings as errors and needs no C library.

Compiles every firmware/lib/src/coder/*.c with exactly
`arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -Wall -Wextra -Werror -std=c99 -c`
and reports `arm-none-eabi-size` (docs/coder.md records the figure: at -Os the decoder keeps one
general loop; the firmware's -O2 build instantiates it for the common parameter combinations).
"""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "firmware/lib/src/coder").glob("*.c"))
FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-Os", "-Wall", "-Wextra", "-Werror", "-std=c99", "-c"]


def test_decoder_compiles_for_cortex_m4(tmp_path):
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: install gcc-arm-none-eabi (CI does) to check the firmware decoder")
    assert SOURCES, "no coder sources found"
    objects = []
    for src in SOURCES:
        obj = tmp_path / (src.stem + ".o")
        result = subprocess.run(
            ["arm-none-eabi-gcc", *FLAGS, f"-I{ROOT / 'firmware/lib/include'}", str(src), "-o", str(obj)],
            capture_output=True, text=True)
        assert result.returncode == 0, f"{src.name} does not compile for Cortex-M4:\n{result.stderr}"
        objects.append(str(obj))
    size = subprocess.run(["arm-none-eabi-size", "-t", *objects], capture_output=True, text=True, check=True)
    total_text = int(size.stdout.strip().splitlines()[-1].split()[0])
    print(size.stdout)
    assert 0 < total_text < 5120, f"decoder code size {total_text} B at -Os (docs/coder.md records 5,046 B)"
    undefined = subprocess.run(["arm-none-eabi-nm", "-u", *objects], capture_output=True, text=True, check=True)
    foreign = sorted({line.split()[-1] for line in undefined.stdout.splitlines()
                      if line.strip().startswith("U ") and not line.split()[-1].startswith("dc_")})
    assert not foreign, f"the decoder must not need a C library, but references {foreign}"
