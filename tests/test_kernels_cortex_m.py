"""The int8 kernels compile for a Cortex-M4F with warnings as errors; their code sizes are reported.

Each firmware/lib/src/kernels/*.c is compiled with arm-none-eabi-gcc -Os (no libc headers beyond
the freestanding ones: the kernels need no libm) and `arm-none-eabi-size` is printed.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KERNELS = sorted((ROOT / "firmware/lib/src/kernels").glob("*.c"))
CFLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os", "-std=c99",
          "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-I", str(ROOT / "firmware/lib/include"), "-c"]


def test_kernels_compile_for_cortex_m4(tmp_path):
    gcc, size = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-size")
    if gcc is None or size is None:
        pytest.fail("arm-none-eabi-gcc is not installed: run `make setup`")
    assert KERNELS, "no kernels found"
    objects = []
    for src in KERNELS:
        obj = tmp_path / (src.stem + ".o")
        result = subprocess.run([gcc, *CFLAGS, str(src), "-o", str(obj)], capture_output=True, text=True)
        assert result.returncode == 0, f"{src.name} does not compile for Cortex-M4:\n{result.stderr}"
        objects.append(obj)
    report = subprocess.run([size, *map(str, objects)], capture_output=True, text=True, check=True).stdout
    print("\narm-none-eabi-size, Cortex-M4F -Os:\n" + report)
    rows = [line.split() for line in report.strip().splitlines()[1:]]
    text = {Path(r[5]).stem: int(r[0]) for r in rows}
    assert set(text) == {p.stem for p in KERNELS}
    assert all(v > 0 for v in text.values())
    assert all(int(r[1]) == 0 and int(r[2]) == 0 for r in rows), "kernels must keep no static state"
