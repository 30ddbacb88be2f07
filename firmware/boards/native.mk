# native: the firmware as a host process (UART = pseudo-terminal, flash = a file).
CC := gcc
AR := ar
SIZE := size
OPT := -O2
ARCH_FLAGS :=
PORT_DIRS := ports/native ports/common
LDFLAGS := -Wl,--gc-sections
LDLIBS :=
IMAGE := dcfw
