"""firmware/platformio.ini: every real-board environment builds the shared sources with the project's flags.

PlatformIO installs its platforms from its own registry, which CI cannot reach, so `pio run` is
never tried. What is checked offline instead:

* `pio project config --json-output` reads the file; every environment names the shared sources
  (lib/src, app, the *_ref kernels for `kcheck`), the Makefile's warning flags and defines, and
  exactly one board port directory that exists (with its linker script or partition table);
* the files PlatformIO's own source filter (platformio.fs.match_src_files) selects are exactly the
  Makefile's: all of lib/src and app, with lib/arch/armv7em/*.c in place of the reference kernel of
  the same name on the Cortex-M4 boards and nowhere else;
* the Cortex-M ports compile with Debian's arm-none-eabi-gcc and the environment's flags, and
  (slow) each Cortex-M environment compiles and links completely from that file list with its
  linker script and link flags; the vector table, memory map and sizes of the image are checked.
  PlatformIO's bare-metal builder puts its own `-Os -ffunction-sections -fdata-sections -Wall
  -mthumb -mcpu=<board cpu>` before these flags; the later -O2 wins, so the objects match.
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FW = ROOT / "firmware"
SHARED_PORT_DIRS = {"refkernels", "cortexm", "common"}
ARCH = "lib/arch/armv7em"
DSP_CPUS = {"cortex-m4", "cortex-m7", "cortex-m33"}  # ARMv7E-M / ARMv8-M Main with the DSP extension


def run_pio(*args: str) -> str:
    """Run PlatformIO's CLI from this interpreter; fails the test with the install hint if absent."""
    try:
        import platformio  # noqa: F401
    except ImportError:
        pytest.fail("platformio is not installed: pip install 'dcagent[boards]' (or run `make setup`)")
    result = subprocess.run([sys.executable, "-m", "platformio", *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, f"pio {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def config() -> dict[str, dict]:
    """`pio project config --json-output`: section name -> {option: value}."""
    sections = json.loads(run_pio("project", "config", "--json-output", "-d", str(FW)))
    return {name: dict(options) for name, options in sections}


@pytest.fixture(scope="module")
def envs(config) -> dict[str, dict]:
    found = {name[4:]: opts for name, opts in config.items() if name.startswith("env:")}
    assert found, "platformio.ini defines no environment"
    return found


def words(value) -> list[str]:
    """An option that PlatformIO returns as a string or as a list of lines, split like a shell."""
    text = " ".join(value) if isinstance(value, list) else str(value or "")
    return shlex.split(text)


def filter_entries(env: dict) -> list[tuple[str, str]]:
    return re.findall(r"([+-])<([^>]+)>", " ".join(env["build_src_filter"]))


def port_dir(env: dict) -> str:
    """The board's own port directory: the one ports/<name>/ the filter adds besides the shared ones."""
    dirs = [p.split("/")[1] for sign, p in filter_entries(env)
            if sign == "+" and re.fullmatch(r"ports/[^/]+/", p) and p.split("/")[1] not in SHARED_PORT_DIRS]
    assert len(dirs) == 1, f"expected one board port directory in build_src_filter, found {dirs}"
    return dirs[0]


def cpu(env: dict) -> str | None:
    flags = [f for f in words(env.get("build_flags")) if f.startswith("-mcpu=")]
    return flags[-1][len("-mcpu="):] if flags else None


def makefile_value(name: str) -> list[str]:
    text = (FW / "Makefile").read_text()
    match = re.search(rf"^{name} := (.*)$", text, re.M)
    assert match, f"firmware/Makefile no longer sets {name}"
    return match.group(1).split()


def selected_sources(env: dict) -> set[str]:
    from platformio.fs import match_src_files

    return set(match_src_files(str(FW), " ".join(env["build_src_filter"]), ["c", "cpp", "S"]))


def rel(paths) -> set[str]:
    return {str(p.relative_to(FW)) for p in paths}


def test_default_envs_are_the_environments(config, envs):
    assert sorted(config["platformio"]["default_envs"]) == sorted(envs)
    assert {"nucleo_l476rg", "nrf52840_dk", "esp32dev"} <= set(envs)
    assert Path(config["platformio"]["src_dir"]) == FW


def test_every_environment_names_the_shared_sources_and_flags(envs):
    required_flags = ["-std=c99", *makefile_value("WARNINGS"), *makefile_value("APP_DEFS"),
                      "-Ilib/include", "-Iapp"]
    for name, env in envs.items():
        plus = {p for sign, p in filter_entries(env) if sign == "+"}
        assert {"lib/src/", "app/", "ports/refkernels/"} <= plus, f"{name}: shared sources missing"
        flags = words(env["build_src_flags"])
        # A Makefile flag with a per-board value (-DNAME=$(VAR)u) must be set, to any value.
        missing = [f for f in required_flags
                   if (f.split("=")[0] + "=" if "$(" in f else f) not in
                   ({g.split("=")[0] + "=" for g in flags if "=" in g} if "$(" in f else flags)]
        assert not missing, f"{name}: build_src_flags lacks {missing}"
        board = port_dir(env)
        assert (FW / "ports" / board).is_dir(), f"{name}: ports/{board}/ does not exist"
        assert any((FW / "ports" / board).glob("*.c")), f"{name}: ports/{board}/ has no C source"
        for flag in flags:
            if flag.startswith("-I"):
                assert (FW / flag[2:]).is_dir(), f"{name}: include directory {flag[2:]} does not exist"
        assert "lib_ldf_mode" in env and env["lib_ldf_mode"] == "off", f"{name}: the library finder must stay off"


def test_cortex_m_environments_have_their_board_files(envs):
    cortex = {n: e for n, e in envs.items() if cpu(e)}
    assert set(cortex) == {"nucleo_l476rg", "nrf52840_dk"}
    for name, env in cortex.items():
        board = port_dir(env)
        ldscript = FW / env["board_build.ldscript"]
        assert ldscript.is_file() and ldscript.parent == FW / "ports" / board, f"{name}: {ldscript}"
        assert f"-Iports/{board}" in words(env["build_src_flags"])
        scripts = [s.split(":", 1)[-1] for s in env["extra_scripts"]]
        assert all((FW / s).is_file() for s in scripts), f"{name}: missing extra script {scripts}"
        build, link = words(env["build_flags"]), words(env["custom_link_flags"])
        for flag in build:
            if flag.startswith(("-mcpu=", "-mfloat-abi=", "-mfpu=")):
                assert flag in link, f"{name}: {flag} is compiled with but not linked with"
        assert "-nostdlib" in link


def test_esp32_environment_has_its_partition_table(envs):
    env = envs["esp32dev"]
    assert port_dir(env) == "esp32"
    table = FW / env["board_build.partitions"]
    rows = [line.split(",") for line in table.read_text().splitlines() if line.strip() and not line.startswith("#")]
    storage = [r for r in rows if r[0].strip() == "dcmodels"]
    assert storage and storage[0][1].strip() == "data", "partitions.csv needs the dcmodels data partition"
    assert int(storage[0][4], 16) % 4096 == 0 and int(storage[0][3], 16) % 4096 == 0


def test_selected_sources_are_the_makefiles(envs):
    lib = rel((FW / "lib/src").rglob("*.c"))
    arch = rel((FW / ARCH).glob("*.c"))
    assert arch, f"{ARCH} has no kernels"
    shared = lib | rel((FW / "app").glob("*.c")) | rel((FW / "ports/refkernels").glob("*.c"))
    for name, env in envs.items():
        board = port_dir(env)
        dsp = cpu(env) in DSP_CPUS
        expected = set(shared)
        if dsp:  # the Makefile's KERNELS=opt: each arch file replaces the lib/src/kernels file of its name
            expected = (expected - {f"lib/src/kernels/{Path(a).name}" for a in arch}) | arch
        expected |= rel(p for p in (FW / "ports" / board).iterdir() if p.suffix in {".c", ".cpp", ".S"})
        if cpu(env):
            expected |= rel((FW / "ports/cortexm").glob("*.c")) | rel((FW / "ports/common").glob("*.c"))
            expected |= {"ports/mps2/mps2_libc.c"}
        selected = selected_sources(env)
        assert selected == expected, (f"{name}: extra {sorted(selected - expected)}, "
                                      f"missing {sorted(expected - selected)}")


def arm_gcc() -> str:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.fail("arm-none-eabi-gcc is not installed: run `make setup`")
    return gcc


def compile_sources(env: dict, sources, out: Path) -> list[Path]:
    """Compile `sources` (relative to firmware/) as PlatformIO would: build_flags then build_src_flags."""
    gcc = arm_gcc()
    flags = words(env.get("build_flags")) + words(env["build_src_flags"])

    def one(src: str) -> tuple[str, Path, subprocess.CompletedProcess]:
        obj = out / (src.replace("/", "__") + ".o")
        result = subprocess.run([gcc, *flags, "-c", src, "-o", str(obj)], cwd=FW, capture_output=True, text=True)
        return src, obj, result

    objects = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for src, obj, result in pool.map(one, sorted(sources)):
            assert result.returncode == 0, f"{src} does not compile:\n{result.stderr}"
            objects.append(obj)
    return objects


@pytest.mark.parametrize("name", ["nucleo_l476rg", "nrf52840_dk"])
def test_cortex_m_ports_compile_with_the_environment_flags(envs, name, tmp_path):
    env = envs[name]
    board = port_dir(env)
    ports = [s for s in selected_sources(env) if s.startswith(("ports/", ))]
    assert any(s.startswith(f"ports/{board}/") for s in ports)
    assert len(compile_sources(env, ports, tmp_path)) == len(ports)


def symbols(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (line.split() for line in out.splitlines()) if len(parts) == 3}


@pytest.mark.slow
@pytest.mark.parametrize("name,irq_line", [("nucleo_l476rg", 38), ("nrf52840_dk", 2)])
def test_cortex_m_environment_links(envs, name, irq_line, tmp_path):
    env = envs[name]
    objects = compile_sources(env, selected_sources(env), tmp_path)
    elf = tmp_path / "firmware.elf"
    link = [arm_gcc(), *words(env["custom_link_flags"]), "-T", env["board_build.ldscript"], "-Wl,--gc-sections",
            "-o", str(elf), *map(str, objects), "-lgcc"]
    result = subprocess.run(link, cwd=FW, capture_output=True, text=True)
    assert result.returncode == 0, f"{name} does not link:\n{result.stderr}"

    size = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True, check=True).stdout
    print(f"\n{name} (arm-none-eabi-gcc, as platformio.ini builds it):\n{size}")
    text, data, bss = map(int, size.splitlines()[1].split()[:3])
    assert 0 < text + data < 512 * 1024 and bss > 0

    syms = symbols(elf)
    board = (FW / "ports" / port_dir(env) / "dc_board.h").read_text()
    erase = int(re.search(r"DC_BOARD_FLASH_ERASE_SIZE (\d+)u", board).group(1))
    start, end = syms["dc_cortexm_storage_start"], syms["dc_cortexm_storage_end"]
    assert start % erase == 0 and (end - start) % erase == 0 and end - start >= 256 * 1024
    assert syms["g_vectors"] + text + data <= start, "the image runs into the storage area"

    table = tmp_path / "vectors.bin"
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".vectors", str(elf), str(table)], check=True)
    vectors = [int.from_bytes(table.read_bytes()[i:i + 4], "little") for i in range(0, table.stat().st_size, 4)]
    irq_count = int(re.search(r"DC_BOARD_IRQ_COUNT (\d+)u", board).group(1))
    assert len(vectors) == 16 + irq_count
    assert vectors[0] == syms["__stack_top"]
    assert vectors[1] == syms["Reset_Handler"] | 1
    assert vectors[3] == syms["HardFault_Handler"] | 1
    assert vectors[16 + irq_line] == syms["dc_board_uart_isr"] | 1
    assert {v for i, v in enumerate(vectors) if i not in (0, 1, 3, 16 + irq_line)} == {syms["Default_Handler"] | 1}
