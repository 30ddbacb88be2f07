# native: the firmware as a host process (UART = pseudo-terminal, flash = a file).
CC := gcc
AR := ar
SIZE := size
OPT := -O2
ARCH_FLAGS :=
PORT_DIRS := ports/native ports/common
LDFLAGS := -Wl,--gc-sections
# mbedTLS (Debian libmbedtls-dev) for the port's TLS sockets (ports/native/native_tls.c).
LDLIBS := -lmbedtls -lmbedx509 -lmbedcrypto
# The model arena (firmware/app/runtime_adapter.h): every MLPerf Tiny model fits decoded at load.
ARENA_SIZE := 393216
IMAGE := dcfw
