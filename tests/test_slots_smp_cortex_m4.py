"""The model-slot and SMP sources build warning-free for a Cortex-M4 (arm-none-eabi-gcc -Os),
without a C library beyond <string.h> declarations, and stay small."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "firmware/lib/src/slots").glob("*.c")) + sorted((ROOT / "firmware/lib/src/smp").glob("*.c"))
STRING_H = """#include <stddef.h>
void *memcpy(void *, const void *, size_t);
void *memmove(void *, const void *, size_t);
void *memset(void *, int, size_t);
int memcmp(const void *, const void *, size_t);
size_t strlen(const char *);
"""


def test_builds_for_cortex_m4(tmp_path):
    cc = shutil.which("arm-none-eabi-gcc")
    if cc is None:
        pytest.fail("arm-none-eabi-gcc is not installed: run `make setup`")
    (tmp_path / "include").mkdir()
    (tmp_path / "include/string.h").write_text(STRING_H)  # the board ports provide the functions
    objects = []
    for src in SOURCES + [ROOT / "firmware/lib/src/dc_status.c"]:
        obj = tmp_path / (src.stem + ".o")
        subprocess.run([cc, "-mcpu=cortex-m4", "-mthumb", "-Os", "-std=c99", "-Wall", "-Wextra", "-Werror",
                        "-ffreestanding", "-isystem", str(tmp_path / "include"),
                        f"-I{ROOT / 'firmware/lib/include'}", "-c", str(src), "-o", str(obj)], check=True)
        objects.append(obj)
    size = subprocess.run(["arm-none-eabi-size", "-t", *map(str, objects)], capture_output=True, text=True,
                          check=True).stdout
    print(size)
    total = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\w+\s+\(TOTALS\)", size, re.M)
    assert total, size
    text, data, bss = map(int, total.groups())
    assert data == 0 and bss == 0  # no hidden state: everything lives in caller-owned structs
    assert text < 16 * 1024
