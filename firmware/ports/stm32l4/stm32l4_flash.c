/* stm32l4_flash.c: nucleo-l476rg flash controller: 2 KB page erase and double-word programming in bank 2.
 *
 * The image runs from bank 1 and the storage area is bank 2 (stm32l476rg.ld), so the CPU keeps
 * fetching code while bank 2 is busy (read-while-write) and the UART interrupt is served. The
 * flash data cache is switched off during each operation and reset after it (DCRST needs DCEN
 * off): the STM32L47x errata sheet reports it can be corrupted by read-while-write, and an erase
 * does not invalidate it. Sequences follow RM0351 section 3.3.6/3.3.7.
 */
#include <stdint.h>
#include <string.h>

#include "cortexm.h"
#include "stm32l4.h"

static void wait_idle(void)
{
    while ((FLASH_SR & FLASH_SR_BSY) != 0) {
    }
}

/* Unlock, clear old error flags, switch the data cache off. */
static void begin(void)
{
    wait_idle();
    if ((FLASH_CR & FLASH_CR_LOCK) != 0) {
        FLASH_KEYR = FLASH_KEY1;
        FLASH_KEYR = FLASH_KEY2;
    }
    FLASH_SR = FLASH_SR_ERRORS | FLASH_SR_EOP;
    FLASH_ACR &= ~FLASH_ACR_DCEN;
}

/* Wait, drop the operation bits, lock, reset and re-enable the data cache; the error flags decide. */
static dc_status_t end(void)
{
    wait_idle();
    uint32_t errors = FLASH_SR & FLASH_SR_ERRORS;
    FLASH_CR &= ~(FLASH_CR_PG | FLASH_CR_PER | FLASH_CR_BKER | (0xFFu << FLASH_CR_PNB_SHIFT));
    FLASH_CR |= FLASH_CR_LOCK;
    FLASH_ACR |= FLASH_ACR_DCRST;
    FLASH_ACR &= ~FLASH_ACR_DCRST;
    FLASH_ACR |= FLASH_ACR_DCEN;
    FLASH_SR = FLASH_SR_ERRORS | FLASH_SR_EOP;
    return errors == 0 ? DC_OK : DC_ERR_FLASH;
}

dc_status_t dc_board_flash_erase_unit(uintptr_t address)
{
    if (address < FLASH_BANK2_BASE) {
        return DC_ERR_FLASH; /* the linker script keeps the storage area in bank 2 */
    }
    uint32_t page = (uint32_t)(address - FLASH_BANK2_BASE) / DC_BOARD_FLASH_ERASE_SIZE;
    begin();
    FLASH_CR = (FLASH_CR & ~(0xFFu << FLASH_CR_PNB_SHIFT)) | FLASH_CR_PER | FLASH_CR_BKER |
               ((page & 0xFFu) << FLASH_CR_PNB_SHIFT);
    FLASH_CR |= FLASH_CR_STRT;
    return end();
}

dc_status_t dc_board_flash_program_unit(uintptr_t address, const uint8_t *src)
{
    uint32_t words[2];
    memcpy(words, src, sizeof words); /* src may be unaligned */
    begin();
    FLASH_CR |= FLASH_CR_PG;
    /* One double word: the low word, then the high word, back to back. */
    DC_REG32(address) = words[0];
    __asm__ volatile("isb" ::: "memory");
    DC_REG32(address + 4u) = words[1];
    return end();
}
