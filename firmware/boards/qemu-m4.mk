# qemu-m4: mps2-an386 (Cortex-M4F) under qemu-system-arm.
CROSS := arm-none-eabi-
CC := $(CROSS)gcc
AR := $(CROSS)ar
SIZE := $(CROSS)size
OPT := -O2
ARCH_FLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffreestanding
# Optimized kernels: lib/arch/armv7em (the DSP extension; docs/kernels.md).
KERNEL_ARCH := armv7em
PORT_DIRS := ports/mps2 ports/mps2/boards/qemu-m4 ports/common
PORT_INCLUDES := ports/mps2/include
LDSCRIPT := $(FW)/ports/mps2/an386.ld
LDSCRIPT_DEPS := $(LDSCRIPT) $(FW)/ports/mps2/mps2_sections.ld
LDFLAGS := -nostdlib -T $(LDSCRIPT) -L$(FW)/ports/mps2 -Wl,--gc-sections -Wl,-Map=$(BUILD)/dcfw.map
LDLIBS := -lgcc
# The model arena (firmware/app/runtime_adapter.h): every MLPerf Tiny model fits decoded at load.
ARENA_SIZE := 393216
IMAGE := dcfw.elf
# The symbol table the board driver reads (flash region, profiling marker addresses).
EXTRA_OUTPUTS := $(BUILD)/dcfw.syms
$(BUILD)/dcfw.syms: $(BUILD)/$(IMAGE)
	$(CROSS)nm -S $< > $@
