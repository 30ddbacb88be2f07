/* dc_flash.h: the flash device interface the model slots are written through, and a RAM
 * simulator of it that enforces real-part rules and can lose power mid-operation.
 *
 * Geometry (all in bytes, all offsets relative to the start of the device):
 *   size         total bytes; a multiple of sector_size.
 *   sector_size  the erase unit; a power of two, >= 256.
 *   write_size   the program unit; a power of two from 1 to DC_FLASH_MAX_WRITE_SIZE. Every
 *                write starts at a multiple of write_size and has a length that is one.
 * Erased flash reads 0xFF. A write may only target bytes that are erased (the strict rule of
 * ECC flash such as STM32L4/H7: a program unit is written once between erases); it can only
 * clear bits. Reads have no alignment rule.
 *
 * The function pointers return DC_OK or DC_ERR_FLASH; they are called only with arguments the
 * wrappers below have checked (in bounds, aligned). The device and its context are owned by
 * the caller and must outlive every user (dc_slots_t keeps a pointer).
 */
#ifndef DC_FLASH_H
#define DC_FLASH_H

#include <stddef.h>
#include <stdint.h>

#define DC_FLASH_MAX_WRITE_SIZE 32u /* largest program unit supported (STM32H7 flash word) */
#define DC_FLASH_MIN_SECTOR_SIZE 256u

typedef struct dc_flash {
    uint32_t size;        /* total bytes */
    uint32_t sector_size; /* erase unit (power of two, >= DC_FLASH_MIN_SECTOR_SIZE) */
    uint32_t write_size;  /* program unit (power of two, 1 .. DC_FLASH_MAX_WRITE_SIZE) */
    int (*read)(void *ctx, uint32_t offset, uint8_t *buf, uint32_t len);
    int (*erase)(void *ctx, uint32_t offset, uint32_t len);
    int (*write)(void *ctx, uint32_t offset, const uint8_t *buf, uint32_t len);
    void *ctx;
} dc_flash_t;

/* DC_OK if the geometry is usable, else DC_ERR_ARG. */
int dc_flash_check(const dc_flash_t *flash);

/* Checked wrappers: DC_ERR_ARG for out-of-bounds or misaligned requests, else the device's
 * status (DC_OK / DC_ERR_FLASH). Erase takes whole sectors; write takes whole program units. */
int dc_flash_read(const dc_flash_t *flash, uint32_t offset, void *buf, uint32_t len);
int dc_flash_erase(const dc_flash_t *flash, uint32_t offset, uint32_t len);
int dc_flash_write(const dc_flash_t *flash, uint32_t offset, const void *buf, uint32_t len);

/* ---- RAM simulator ------------------------------------------------------------------- */

/* How the operation hit by a power cut is left behind. */
typedef enum {
    DC_FLASH_TORN_HALF = 0,   /* write: the first half of the program units written, the rest
                                 untouched; erase: the first half of the sector erased, the
                                 rest left as it was */
    DC_FLASH_TORN_RANDOM = 1, /* write: each target byte gets a random subset of its cleared
                                 bits; erase: each byte is 0xFF or random garbage */
} dc_flash_torn_t;

typedef struct {
    dc_flash_t dev;        /* the device interface; pass &sim.dev to users */
    uint8_t *mem;          /* caller-owned backing memory of dev.size bytes */
    uint32_t writes;       /* successful write operations since init */
    uint32_t erases;       /* successful sector erase operations since init (per sector) */
    uint32_t ops;          /* write + erase operations attempted while powered */
    int32_t cut_in;        /* operations left before the cut (-1: never); the one that
                              brings it to 0 is torn, every later one fails */
    uint8_t powered;       /* 0 once the power is lost: every operation fails */
    uint8_t torn_mode;     /* dc_flash_torn_t */
    uint32_t rng;          /* xorshift32 state for torn patterns */
} dc_flash_sim_t;

/* Sets up `sim` over `mem` (size bytes, filled with 0xFF here: a new, erased part).
 * DC_ERR_ARG if the geometry is invalid. */
int dc_flash_sim_init(dc_flash_sim_t *sim, uint8_t *mem, uint32_t size, uint32_t sector_size,
                      uint32_t write_size);

/* Arms a power cut: the `n`-th write or erase from now (n >= 1) is torn in `mode` (random
 * patterns from `seed`), and every operation after it fails with DC_ERR_FLASH. */
void dc_flash_sim_cut_after(dc_flash_sim_t *sim, uint32_t n, dc_flash_torn_t mode, uint32_t seed);

/* Restores power (the contents stay as the cut left them) and disarms any cut. */
void dc_flash_sim_power_on(dc_flash_sim_t *sim);

#endif /* DC_FLASH_H */
