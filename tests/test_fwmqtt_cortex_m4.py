"""The firmware's MQTT client, fleet agent and Ed25519 verifier build warning-free for a
Cortex-M4 (arm-none-eabi-gcc -Os, freestanding, no C library beyond a few <string.h>
functions the board ports provide), keep no hidden state, and stay small."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = {
    "mqtt": sorted((ROOT / "firmware/lib/src/mqtt").glob("*.c")),
    "fleet": sorted((ROOT / "firmware/lib/src/fleet").glob("*.c")),
    "crypto": sorted((ROOT / "firmware/lib/src/crypto").glob("*.c")),
}
LIBC = {"memcpy", "memmove", "memset", "memcmp", "strlen", "strcmp", "strncmp", "strchr"}
# Text bytes each part may take (measured -Os sizes plus headroom; see docs/protocol-mqtt.md).
BUDGET = {"mqtt": 3 * 1024, "fleet": 10 * 1024, "crypto": 8 * 1024}


def _compile(tmp_path: Path, src: Path) -> Path:
    obj = tmp_path / f"{src.parent.name}_{src.stem}.o"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
                    "-Os", "-std=c99", "-Wall", "-Wextra", "-Werror", "-ffreestanding", "-ffunction-sections",
                    "-fdata-sections", f"-I{ROOT / 'firmware/ports/mps2/include'}",
                    f"-I{ROOT / 'firmware/lib/include'}", "-c", str(src), "-o", str(obj)], check=True)
    return obj


def _totals(objects: list[Path]) -> tuple[int, int, int]:
    out = subprocess.run(["arm-none-eabi-size", "-t", *map(str, objects)], capture_output=True, text=True,
                         check=True).stdout
    print(out)
    total = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\w+\s+\(TOTALS\)", out, re.M)
    assert total, out
    return tuple(map(int, total.groups()))


def test_mqtt_fleet_and_ed25519_build_small_for_cortex_m4(tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed: run `make setup`")
    objects = {part: [_compile(tmp_path, src) for src in sources] for part, sources in PARTS.items()}
    for part, objs in objects.items():
        text, data, bss = _totals(objs)
        assert data == 0 and bss == 0, part  # state lives in caller-owned structs
        assert text <= BUDGET[part], (part, text)
        undefined = subprocess.run(["arm-none-eabi-nm", "-u", *map(str, objs)], capture_output=True, text=True,
                                   check=True).stdout.split()
        outside = {s for s in undefined if not s.startswith("dc_") and s not in LIBC and not s.endswith(":")
                   and s != "U" and not s.endswith(".o")}
        assert not outside, (part, outside)
