/* dc_port_nor.c: NOR-flash rules (erase units, write units, erase-before-write) over a byte array. */
#include "dc_port_nor.h"

#include <string.h>

dc_status_t dc_port_nor_check_range(const dc_port_nor_t *sim, uint32_t offset, size_t len)
{
    if (sim == NULL || sim->mem == NULL) {
        return DC_ERR_ARG;
    }
    if (offset > sim->geometry.size || len > (size_t)(sim->geometry.size - offset)) {
        return DC_ERR_ARG;
    }
    return DC_OK;
}

dc_status_t dc_port_nor_read(const dc_port_nor_t *sim, uint32_t offset, void *dst, size_t len)
{
    dc_status_t status = dc_port_nor_check_range(sim, offset, len);
    if (status != DC_OK) {
        return status;
    }
    if (len == 0) {
        return DC_OK;
    }
    if (dst == NULL) {
        return DC_ERR_ARG;
    }
    memcpy(dst, sim->mem + offset, len);
    return DC_OK;
}

dc_status_t dc_port_nor_erase(dc_port_nor_t *sim, uint32_t offset, size_t len)
{
    dc_status_t status = dc_port_nor_check_range(sim, offset, len);
    if (status != DC_OK) {
        return status;
    }
    uint32_t unit = sim->geometry.erase_size;
    if (offset % unit != 0 || len % unit != 0) {
        return DC_ERR_ARG;
    }
    memset(sim->mem + offset, sim->geometry.erased_value, len);
    return DC_OK;
}

dc_status_t dc_port_nor_write(dc_port_nor_t *sim, uint32_t offset, const void *src, size_t len)
{
    dc_status_t status = dc_port_nor_check_range(sim, offset, len);
    if (status != DC_OK) {
        return status;
    }
    uint32_t unit = sim->geometry.write_size;
    if (offset % unit != 0 || len % unit != 0) {
        return DC_ERR_ARG;
    }
    if (len == 0) {
        return DC_OK;
    }
    if (src == NULL) {
        return DC_ERR_ARG;
    }
    const uint8_t *dst = sim->mem + offset;
    for (size_t i = 0; i < len; i++) {
        if (dst[i] != sim->geometry.erased_value) {
            return DC_ERR_FLASH;
        }
    }
    memcpy(sim->mem + offset, src, len);
    return DC_OK;
}

void dc_port_nor_erase_all(dc_port_nor_t *sim)
{
    memset(sim->mem, sim->geometry.erased_value, sim->geometry.size);
}
