/* dc_flash_sim.h: NOR-flash rules (erase units, write units, erase-before-write) over a byte array.
 *
 * Shared by the ports whose "flash" is memory: native (a mmap'd file) and mps2 (a RAM region).
 * The caller owns `mem` (geometry.size bytes) for the life of the simulator. Every function
 * checks all arguments before touching memory, so an error changes nothing.
 * Return codes: DC_OK, DC_ERR_ARG (NULL, range outside the area, misaligned offset/length),
 * DC_ERR_FLASH (write over bytes that are not erased).
 */
#ifndef DC_FLASH_SIM_H
#define DC_FLASH_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "dc_port.h"

typedef struct {
    uint8_t *mem;                 /* geometry.size bytes, owned by the caller */
    dc_flash_geometry_t geometry; /* the rules to enforce */
} dc_flash_sim_t;

/* DC_OK if [offset, offset+len) lies inside the area. */
dc_status_t dc_flash_sim_check_range(const dc_flash_sim_t *sim, uint32_t offset, size_t len);

dc_status_t dc_flash_sim_read(const dc_flash_sim_t *sim, uint32_t offset, void *dst, size_t len);
dc_status_t dc_flash_sim_erase(dc_flash_sim_t *sim, uint32_t offset, size_t len);
dc_status_t dc_flash_sim_write(dc_flash_sim_t *sim, uint32_t offset, const void *src, size_t len);

/* Fill the whole area with the erased value (first use of a fresh store). */
void dc_flash_sim_erase_all(dc_flash_sim_t *sim);

#endif /* DC_FLASH_SIM_H */
