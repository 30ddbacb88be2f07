/* cortexm_flash.c: the flash storage area of the real Cortex-M boards: NOR rules over the part's controller.
 *
 * The area (dc_cortexm_storage_start .. _end, from the board's linker script) is internal flash,
 * memory-mapped for reads. This file checks every argument first (range, alignment: nothing is
 * touched on DC_ERR_ARG), refuses to program bytes that are not erased (DC_ERR_FLASH, nothing
 * written, like the simulated boards), drives the board's controller one unit at a time
 * (dc_board_flash_erase_unit / _program_unit) and reads the result back: a unit that does not
 * read back as intended gives DC_ERR_FLASH. A power cut in the middle of an erase/write leaves
 * that unit undefined; the slot layer (dc_slots) is built for that.
 */
#include <stdint.h>
#include <string.h>

#include "cortexm.h"
#include "dc_port.h"
#include "dc_port_nor.h"

extern uint8_t dc_cortexm_storage_start[];
extern uint8_t dc_cortexm_storage_end[];

/* The range checks and reads of ports/common/dc_port_nor.c, over the mapped area. */
static dc_port_nor_t g_area;

static const dc_port_nor_t *area(void)
{
    if (g_area.mem == NULL) {
        g_area.mem = dc_cortexm_storage_start;
        g_area.geometry.size = (uint32_t)(dc_cortexm_storage_end - dc_cortexm_storage_start);
        g_area.geometry.erase_size = DC_BOARD_FLASH_ERASE_SIZE;
        g_area.geometry.write_size = DC_BOARD_FLASH_WRITE_SIZE;
        g_area.geometry.erased_value = 0xFFu;
    }
    return &g_area;
}

const dc_flash_geometry_t *dc_port_flash_geometry(void)
{
    return &area()->geometry;
}

const uint8_t *dc_port_flash_map(void)
{
    return area()->mem;
}

dc_status_t dc_port_flash_read(uint32_t offset, void *dst, size_t len)
{
    return dc_port_nor_read(area(), offset, dst, len);
}

static int all_erased(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0xFFu) {
            return 0;
        }
    }
    return 1;
}

dc_status_t dc_port_flash_erase(uint32_t offset, size_t len)
{
    const dc_port_nor_t *a = area();
    dc_status_t status = dc_port_nor_check_range(a, offset, len);
    if (status != DC_OK) {
        return status;
    }
    if (offset % DC_BOARD_FLASH_ERASE_SIZE != 0 || len % DC_BOARD_FLASH_ERASE_SIZE != 0) {
        return DC_ERR_ARG;
    }
    for (size_t done = 0; done < len; done += DC_BOARD_FLASH_ERASE_SIZE) {
        const uint8_t *unit = a->mem + offset + done;
        if (dc_board_flash_erase_unit((uintptr_t)unit) != DC_OK ||
            !all_erased(unit, DC_BOARD_FLASH_ERASE_SIZE)) {
            return DC_ERR_FLASH;
        }
    }
    return DC_OK;
}

dc_status_t dc_port_flash_write(uint32_t offset, const void *src, size_t len)
{
    const dc_port_nor_t *a = area();
    dc_status_t status = dc_port_nor_check_range(a, offset, len);
    if (status != DC_OK) {
        return status;
    }
    if (offset % DC_BOARD_FLASH_WRITE_SIZE != 0 || len % DC_BOARD_FLASH_WRITE_SIZE != 0) {
        return DC_ERR_ARG;
    }
    if (len == 0) {
        return DC_OK;
    }
    if (src == NULL) {
        return DC_ERR_ARG;
    }
    if (!all_erased(a->mem + offset, len)) {
        return DC_ERR_FLASH;
    }
    const uint8_t *bytes = src;
    for (size_t done = 0; done < len; done += DC_BOARD_FLASH_WRITE_SIZE) {
        const uint8_t *unit = a->mem + offset + done;
        if (dc_board_flash_program_unit((uintptr_t)unit, bytes + done) != DC_OK ||
            memcmp(unit, bytes + done, DC_BOARD_FLASH_WRITE_SIZE) != 0) {
            return DC_ERR_FLASH;
        }
    }
    return DC_OK;
}
