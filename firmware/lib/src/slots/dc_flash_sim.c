/* dc_flash_sim.c: a RAM flash that enforces erase-before-write and tears the operation a
 * simulated power cut interrupts (the MCUboot-simulator idea). */
#include <string.h>

#include "dc_flash.h"
#include "dc_status.h"

static uint32_t next_rand(dc_flash_sim_t *sim)
{
    uint32_t x = sim->rng != 0u ? sim->rng : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    sim->rng = x;
    return x;
}

/* Counts one operation against an armed cut. Returns 1 if it proceeds normally, 0 if it is
 * the torn one, -1 if the power is already gone. */
static int take_op(dc_flash_sim_t *sim)
{
    if (!sim->powered) {
        return -1;
    }
    sim->ops++;
    if (sim->cut_in < 0) {
        return 1;
    }
    sim->cut_in--;
    if (sim->cut_in == 0) {
        sim->powered = 0;
        return 0;
    }
    return 1;
}

static int sim_read(void *ctx, uint32_t offset, uint8_t *buf, uint32_t len)
{
    dc_flash_sim_t *sim = (dc_flash_sim_t *)ctx;
    if (!sim->powered) {
        return DC_ERR_FLASH;
    }
    memcpy(buf, sim->mem + offset, len);
    return DC_OK;
}

static int sim_erase(void *ctx, uint32_t offset, uint32_t len)
{
    dc_flash_sim_t *sim = (dc_flash_sim_t *)ctx;
    uint32_t sector = sim->dev.sector_size;
    uint32_t at;
    for (at = offset; at < offset + len; at += sector) {
        int go = take_op(sim);
        uint8_t *p = sim->mem + at;
        if (go < 0) {
            return DC_ERR_FLASH;
        }
        if (go == 0) {
            uint32_t i;
            if (sim->torn_mode == DC_FLASH_TORN_HALF) {
                memset(p, 0xFF, sector / 2u);
            } else {
                for (i = 0; i < sector; i++) {
                    uint32_t r = next_rand(sim);
                    p[i] = (r & 0x100u) != 0u ? 0xFFu : (uint8_t)r;
                }
            }
            return DC_ERR_FLASH;
        }
        memset(p, 0xFF, sector);
        sim->erases++;
    }
    return DC_OK;
}

static int sim_write(void *ctx, uint32_t offset, const uint8_t *buf, uint32_t len)
{
    dc_flash_sim_t *sim = (dc_flash_sim_t *)ctx;
    uint8_t *p = sim->mem + offset;
    uint32_t i;
    int go;
    if (!sim->powered) {
        return DC_ERR_FLASH;
    }
    for (i = 0; i < len; i++) {
        if (p[i] != 0xFFu) {
            return DC_ERR_FLASH; /* programming a unit that is not erased: refused, as ECC flash */
        }
    }
    go = take_op(sim);
    if (go < 0) {
        return DC_ERR_FLASH;
    }
    if (go == 0) {
        if (sim->torn_mode == DC_FLASH_TORN_HALF) {
            uint32_t units = len / sim->dev.write_size;
            memcpy(p, buf, (units / 2u) * sim->dev.write_size);
        } else {
            for (i = 0; i < len; i++) {
                p[i] = (uint8_t)(buf[i] | (uint8_t)(next_rand(sim) & (uint8_t)~buf[i]));
            }
        }
        return DC_ERR_FLASH;
    }
    memcpy(p, buf, len);
    sim->writes++;
    return DC_OK;
}

int dc_flash_sim_init(dc_flash_sim_t *sim, uint8_t *mem, uint32_t size, uint32_t sector_size,
                      uint32_t write_size)
{
    if (sim == NULL || mem == NULL) {
        return DC_ERR_ARG;
    }
    memset(sim, 0, sizeof(*sim));
    sim->dev.size = size;
    sim->dev.sector_size = sector_size;
    sim->dev.write_size = write_size;
    sim->dev.read = sim_read;
    sim->dev.erase = sim_erase;
    sim->dev.write = sim_write;
    sim->dev.ctx = sim;
    if (dc_flash_check(&sim->dev) != DC_OK) {
        return DC_ERR_ARG;
    }
    sim->mem = mem;
    sim->cut_in = -1;
    sim->powered = 1;
    memset(mem, 0xFF, size);
    return DC_OK;
}

void dc_flash_sim_cut_after(dc_flash_sim_t *sim, uint32_t n, dc_flash_torn_t mode, uint32_t seed)
{
    sim->cut_in = n == 0u ? 1 : (int32_t)n;
    sim->torn_mode = (uint8_t)mode;
    sim->rng = seed;
}

void dc_flash_sim_power_on(dc_flash_sim_t *sim)
{
    sim->powered = 1;
    sim->cut_in = -1;
}
