/* nrf52840_flash.c: nrf52840-dk flash through the NVMC: 4 KB page erase, 32-bit word writes.
 *
 * The CPU stalls while the NVMC erases (up to ~85 ms a page) or writes (~41 us a word) when it
 * runs from flash, so interrupts wait too; the legacy UART's 6-byte FIFO then overflows if the
 * host keeps sending. The host protocols wait for each answer, so nothing arrives meanwhile.
 * Each word is written once between erases (the part allows two writes).
 */
#include <stdint.h>
#include <string.h>

#include "cortexm.h"
#include "nrf52840.h"

static void wait_ready(void)
{
    while ((NVMC_READY & 1u) == 0) {
    }
}

dc_status_t dc_board_flash_erase_unit(uintptr_t address)
{
    wait_ready();
    NVMC_CONFIG = NVMC_CONFIG_EEN;
    wait_ready();
    NVMC_ERASEPAGE = (uint32_t)address;
    wait_ready();
    NVMC_CONFIG = NVMC_CONFIG_REN;
    wait_ready();
    return DC_OK; /* the NVMC reports no errors: the caller reads the page back */
}

dc_status_t dc_board_flash_program_unit(uintptr_t address, const uint8_t *src)
{
    uint32_t word;
    memcpy(&word, src, sizeof word); /* src may be unaligned */
    wait_ready();
    NVMC_CONFIG = NVMC_CONFIG_WEN;
    wait_ready();
    DC_REG32(address) = word;
    wait_ready();
    NVMC_CONFIG = NVMC_CONFIG_REN;
    wait_ready();
    return DC_OK;
}
