"""Firmware builds for the boards: `make -C firmware BOARD=...`, cached by a hash of the sources.

A build is skipped when the stamp file in `firmware/build/<board>/` records the same hash
of every source, header, linker script and makefile under `firmware/` (and the board
name); otherwise `make` runs (itself incremental). Concurrent builds of one board wait
for each other (a file lock).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dcagent.errors import BoardError

#: The boards `firmware/Makefile` knows, and the image file each one produces.
IMAGE_NAMES = {"native": "dcfw", "qemu-m4": "dcfw.elf", "qemu-m7": "dcfw.elf", "qemu-m33": "dcfw.elf"}

#: Tools a build needs: (program, Debian package that provides it).
_BUILD_TOOLS = {
    "native": [("make", "make"), ("gcc", "build-essential"), ("ar", "binutils")],
    "cross": [("make", "make"), ("arm-none-eabi-gcc", "gcc-arm-none-eabi"),
              ("arm-none-eabi-nm", "binutils-arm-none-eabi")],
    "plugin": [("make", "make"), ("gcc", "build-essential")],
}
_SOURCE_SUFFIXES = {".c", ".h", ".S", ".ld", ".mk"}
_BUILD_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class FirmwareImage:
    """A built firmware image. `symbols` maps names to (address, size) for QEMU boards."""

    board: str
    path: Path
    symbols: dict[str, tuple[int, int]]

    def symbol(self, name: str) -> tuple[int, int]:
        """(address, size) of `name`. Raises BoardError when the image lacks it."""
        try:
            return self.symbols[name]
        except KeyError:
            raise BoardError(f"{self.path.name} of {self.board} has no symbol {name!r}") from None


@dataclass(frozen=True)
class ImageSize:
    """Section totals of an image, as `size` reports them (Berkeley format)."""

    text: int
    data: int
    bss: int

    @property
    def flash_bytes(self) -> int:
        """Bytes the image occupies in code memory (code, constants, .data initialisers)."""
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        """Bytes of static RAM (.data + .bss), before the stack."""
        return self.data + self.bss


def firmware_dir() -> Path:
    """The `firmware/` source tree: $DCAGENT_FIRMWARE_DIR, else the one beside this package.

    Raises BoardError when neither holds a Makefile.
    """
    env = os.environ.get("DCAGENT_FIRMWARE_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "firmware"
    if not (root / "Makefile").is_file():
        raise BoardError(
            f"firmware sources not found at {root}",
            hint="run from a dcagent source checkout or set DCAGENT_FIRMWARE_DIR",
        )
    return root


def firmware_version(root: Path | None = None) -> str:
    """The firmware version string from firmware/app/dc_version.h. Raises BoardError."""
    header = (root or firmware_dir()) / "app" / "dc_version.h"
    match = re.search(r'#define DC_FW_VERSION "([^"]+)"', header.read_text())
    if match is None:
        raise BoardError(f"no DC_FW_VERSION in {header}")
    return match.group(1)


def check_build_tools(board: str, *, path: str | None = None) -> None:
    """Raise BoardError naming the Debian package to install when a build tool is missing.

    `path` replaces $PATH for the search (tests use it).
    """
    kind = "plugin" if board == "plugin" else "native" if board.startswith("native") else "cross"
    for program, package in _BUILD_TOOLS[kind]:
        if shutil.which(program, path=path) is None:
            raise BoardError(
                f"cannot build {board}: {program} not found",
                hint=f"apt-get install {package}",
            )


def _source_hash(root: Path, board: str) -> str:
    digest = hashlib.sha256(board.encode())
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == "build" or not path.is_file():
            continue
        if path.suffix in _SOURCE_SUFFIXES or path.name == "Makefile":
            digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_make(root: Path, args: list[str], what: str) -> None:
    try:
        result = subprocess.run(
            ["make", "-C", str(root), *args], capture_output=True, text=True,
            timeout=_BUILD_TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BoardError(f"building {what} took longer than {_BUILD_TIMEOUT_S:.0f} s") from exc
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise BoardError(f"building {what} failed (make exit {result.returncode}):\n{tail}")


def _build_cached(root: Path, key: str, outputs: list[Path], make_args: list[str]) -> None:
    """Run make unless the stamp `key` records the current source hash and outputs exist."""
    check_build_tools(key)
    build = root / "build"
    build.mkdir(exist_ok=True)
    with open(build / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = build / f".{key}.stamp"
        digest = _source_hash(root, key)
        if stamp.is_file() and stamp.read_text() == digest and all(p.is_file() for p in outputs):
            return
        _run_make(root, make_args, key)
        missing = [str(p) for p in outputs if not p.is_file()]
        if missing:
            raise BoardError(f"building {key} did not produce {', '.join(missing)}")
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(digest)
        tmp.replace(stamp)


#: The kernel sets a board can be built with (firmware/Makefile KERNELS=...).
KERNEL_SETS = ("opt", "ref")


def build_firmware(board: str, *, root: Path | None = None, kernels: str = "opt") -> FirmwareImage:
    """Build (or reuse) the firmware image of `board`.

    `kernels` is "opt" (the board's optimized kernels, where it has any) or "ref" (the
    reference kernels only; built into build/<board>-ref/, docs/kernels.md).
    Raises BoardError: unknown board or kernel set, missing tool (with the apt package to
    install), compiler errors (with the last lines of output).
    """
    if board not in IMAGE_NAMES:
        raise BoardError(f"unknown board {board!r}; known: {', '.join(IMAGE_NAMES)}")
    if kernels not in KERNEL_SETS:
        raise BoardError(f"unknown kernel set {kernels!r}; known: {', '.join(KERNEL_SETS)}")
    root = root or firmware_dir()
    key = board if kernels == "opt" else f"{board}-{kernels}"
    out = root / "build" / key
    image = out / IMAGE_NAMES[board]
    outputs = [image] if board == "native" else [image, out / "dcfw.syms"]
    _build_cached(root, key, outputs, [f"BOARD={board}", f"KERNELS={kernels}"])
    symbols = _read_symbols(out / "dcfw.syms") if board != "native" else {}
    return FirmwareImage(board=board, path=image, symbols=symbols)


def build_plugin(*, root: Path | None = None) -> Path:
    """Build (or reuse) the QEMU instruction-count plugin. Raises BoardError."""
    root = root or firmware_dir()
    plugin = root / "build" / "tools" / "qemu_insn_plugin.so"
    _build_cached(root, "plugin", [plugin], ["plugin"])
    return plugin


def _read_symbols(path: Path) -> dict[str, tuple[int, int]]:
    """Parse `nm -S` output: 'ADDR [SIZE] TYPE NAME' lines."""
    symbols: dict[str, tuple[int, int]] = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) == 4:
            symbols[fields[3]] = (int(fields[0], 16), int(fields[1], 16))
        elif len(fields) == 3:
            symbols[fields[2]] = (int(fields[0], 16), 0)
    return symbols


def image_size(image: FirmwareImage) -> ImageSize:
    """Section totals of `image` via `size` (arm-none-eabi-size for QEMU boards).

    Raises BoardError when the tool is missing or fails.
    """
    tool = "size" if image.board == "native" else "arm-none-eabi-size"
    if shutil.which(tool) is None:
        package = "binutils" if image.board == "native" else "binutils-arm-none-eabi"
        raise BoardError(f"{tool} not found", hint=f"apt-get install {package}")
    result = subprocess.run([tool, str(image.path)], capture_output=True, text=True, timeout=30, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or len(lines) < 2:
        raise BoardError(f"{tool} failed on {image.path}: {result.stderr.strip()}")
    text, data, bss = (int(v) for v in lines[1].split()[:3])
    return ImageSize(text=text, data=data, bss=bss)
