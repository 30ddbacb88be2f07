/* dc_port_nor.h: the ports' memory-backed flash: NOR rules (erase units, write units, erase-before-write) over a byte array.
 *
 * Shared by the ports whose "flash" is memory: native (a mmap'd file) and mps2 (a RAM region).
 * The caller owns `mem` (geometry.size bytes) for the life of the simulator. Every function
 * checks all arguments before touching memory, so an error changes nothing.
 * Return codes: DC_OK, DC_ERR_ARG (NULL, range outside the area, misaligned offset/length),
 * DC_ERR_FLASH (write over bytes that are not erased).
 */
#ifndef DC_PORT_NOR_H
#define DC_PORT_NOR_H

#include <stddef.h>
#include <stdint.h>

#include "dc_port.h"

typedef struct {
    uint8_t *mem;                 /* geometry.size bytes, owned by the caller */
    dc_flash_geometry_t geometry; /* the rules to enforce */
} dc_port_nor_t;

/* DC_OK if [offset, offset+len) lies inside the area. */
dc_status_t dc_port_nor_check_range(const dc_port_nor_t *sim, uint32_t offset, size_t len);

dc_status_t dc_port_nor_read(const dc_port_nor_t *sim, uint32_t offset, void *dst, size_t len);
dc_status_t dc_port_nor_erase(dc_port_nor_t *sim, uint32_t offset, size_t len);
dc_status_t dc_port_nor_write(dc_port_nor_t *sim, uint32_t offset, const void *src, size_t len);

/* Fill the whole area with the erased value (first use of a fresh store). */
void dc_port_nor_erase_all(dc_port_nor_t *sim);

#endif /* DC_PORT_NOR_H */
