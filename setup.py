"""Build the C extension modules of `host`.

Every `host/csrc/py_<name>.c` becomes the extension `host._<name>`, compiled together with
the firmware's own sources (`firmware/lib/src/**.c`) and the host-only C sources
(`host/csrc/*.c` that are not bindings). Host and device therefore run one C
implementation of every format and kernel.
"""
from pathlib import Path

from setuptools import Extension, setup

ROOT = Path(__file__).parent
FIRMWARE_SOURCES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "firmware/lib/src").rglob("*.c"))
HOST_SOURCES = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "host/csrc").glob("*.c") if not p.name.startswith("py_")
)
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers"]


def extensions():
    for binding in sorted((ROOT / "host/csrc").glob("py_*.c")):
        name = binding.stem[len("py_"):]
        yield Extension(
            f"host._{name}",
            sources=[str(binding.relative_to(ROOT))] + HOST_SOURCES + FIRMWARE_SOURCES,
            include_dirs=["firmware/lib/include", "host/csrc"],
            extra_compile_args=CFLAGS,
        )


setup(ext_modules=list(extensions()))
