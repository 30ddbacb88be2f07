"""PlatformIO extra script (pre:) for the real Cortex-M boards: pass the env's link flags to the linker.

SCons files build_flags such as -mfloat-abi=hard or -nostdlib under CCFLAGS only, so the link
would pick the soft-float libgcc and newlib's start files (platformio-core issue #594). This adds
the env option `custom_link_flags` (firmware/platformio.ini) to LINKFLAGS, with relative -L
directories made absolute from the project directory (firmware/).
"""
import os

Import("env")  # noqa: F821 (provided by SCons)


def absolute(flag, project_dir):
    """-Ldir with a relative dir -> -L<project_dir>/dir; any other flag unchanged."""
    if flag.startswith("-L") and not os.path.isabs(flag[2:]):
        return "-L" + os.path.join(project_dir, flag[2:])
    return flag


project = env.subst("$PROJECT_DIR")  # noqa: F821
flags = env.GetProjectOption("custom_link_flags", "").split()  # noqa: F821
env.Append(LINKFLAGS=[absolute(flag, project) for flag in flags])  # noqa: F821
