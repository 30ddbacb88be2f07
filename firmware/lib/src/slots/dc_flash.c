/* dc_flash.c: bounds- and alignment-checked access to a dc_flash_t device. */
#include "dc_flash.h"

#include "dc_status.h"

static int is_pow2(uint32_t v)
{
    return v != 0u && (v & (v - 1u)) == 0u;
}

int dc_flash_check(const dc_flash_t *flash)
{
    if (flash == NULL || flash->read == NULL || flash->erase == NULL || flash->write == NULL) {
        return DC_ERR_ARG;
    }
    if (!is_pow2(flash->sector_size) || flash->sector_size < DC_FLASH_MIN_SECTOR_SIZE ||
        !is_pow2(flash->write_size) || flash->write_size > DC_FLASH_MAX_WRITE_SIZE ||
        flash->size == 0u || flash->size % flash->sector_size != 0u) {
        return DC_ERR_ARG;
    }
    return DC_OK;
}

static int in_bounds(const dc_flash_t *flash, uint32_t offset, uint32_t len)
{
    return offset <= flash->size && len <= flash->size - offset;
}

int dc_flash_read(const dc_flash_t *flash, uint32_t offset, void *buf, uint32_t len)
{
    if (flash == NULL || (buf == NULL && len != 0u) || !in_bounds(flash, offset, len)) {
        return DC_ERR_ARG;
    }
    if (len == 0u) {
        return DC_OK;
    }
    return flash->read(flash->ctx, offset, (uint8_t *)buf, len) == DC_OK ? DC_OK : DC_ERR_FLASH;
}

int dc_flash_erase(const dc_flash_t *flash, uint32_t offset, uint32_t len)
{
    if (flash == NULL || !in_bounds(flash, offset, len) || offset % flash->sector_size != 0u ||
        len % flash->sector_size != 0u) {
        return DC_ERR_ARG;
    }
    if (len == 0u) {
        return DC_OK;
    }
    return flash->erase(flash->ctx, offset, len) == DC_OK ? DC_OK : DC_ERR_FLASH;
}

int dc_flash_write(const dc_flash_t *flash, uint32_t offset, const void *buf, uint32_t len)
{
    if (flash == NULL || (buf == NULL && len != 0u) || !in_bounds(flash, offset, len) ||
        offset % flash->write_size != 0u || len % flash->write_size != 0u) {
        return DC_ERR_ARG;
    }
    if (len == 0u) {
        return DC_OK;
    }
    return flash->write(flash->ctx, offset, (const uint8_t *)buf, len) == DC_OK ? DC_OK
                                                                               : DC_ERR_FLASH;
}
