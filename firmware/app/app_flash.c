/* app_flash.c: the board's flash as a dc_flash_t for the model slots, and the device key record of the provisioning area. */
#include <string.h>

#include "app.h"
#include "dc_port.h"
#include "dc_sha256.h"
#include "dc_status.h"

static int port_read(void *ctx, uint32_t offset, uint8_t *buf, uint32_t len)
{
    (void)ctx;
    return dc_port_flash_read(offset, buf, len) == DC_OK ? DC_OK : DC_ERR_FLASH;
}

static int port_erase(void *ctx, uint32_t offset, uint32_t len)
{
    (void)ctx;
    return dc_port_flash_erase(offset, len) == DC_OK ? DC_OK : DC_ERR_FLASH;
}

static int port_write(void *ctx, uint32_t offset, const uint8_t *buf, uint32_t len)
{
    (void)ctx;
    return dc_port_flash_write(offset, buf, len) == DC_OK ? DC_OK : DC_ERR_FLASH;
}

int dc_app_flash_device(dc_flash_t *flash)
{
    const dc_flash_geometry_t *geo = dc_port_flash_geometry();
    flash->size = geo->size;
    flash->sector_size = geo->erase_size;
    flash->write_size = geo->write_size;
    flash->read = port_read;
    flash->erase = port_erase;
    flash->write = port_write;
    flash->ctx = NULL;
    if (geo->erased_value != 0xFFu || dc_flash_check(flash) != DC_OK ||
        DC_APP_KEY_RECORD % geo->write_size != 0u || DC_APP_RESERVED % geo->erase_size != 0u ||
        (DC_APP_FLEET_SECTOR + 1u) * geo->erase_size > DC_APP_RESERVED ||
        geo->size <= DC_APP_RESERVED + 4u * geo->erase_size) {
        return DC_ERR_ARG;
    }
    return DC_OK;
}

uint32_t dc_app_sector_offset(uint32_t index)
{
    return index * dc_port_flash_geometry()->erase_size;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The record for `key`: magic, length, key, SHA-256 of the first 72 bytes, zero padding. */
static void build_record(uint8_t rec[DC_APP_KEY_RECORD], const uint8_t *key, size_t length)
{
    memset(rec, 0, DC_APP_KEY_RECORD);
    memcpy(rec, "DCK1", 4);
    put32(rec + 4, (uint32_t)length);
    memcpy(rec + 8, key, length);
    dc_sha256(rec, 72u, rec + 72);
}

/* 1 with a valid record in rec (key copied out), else 0. */
static int parse_record(const uint8_t rec[DC_APP_KEY_RECORD], uint8_t *key, size_t *length)
{
    uint8_t digest[DC_SHA256_DIGEST_LENGTH];
    uint32_t n = get32(rec + 4);
    if (memcmp(rec, "DCK1", 4) != 0 || n == 0u || n > DC_APP_KEY_MAX) {
        return 0;
    }
    dc_sha256(rec, 72u, digest);
    if (memcmp(digest, rec + 72, sizeof digest) != 0) {
        return 0;
    }
    memcpy(key, rec + 8, n);
    *length = n;
    return 1;
}

void dc_app_key_load(dc_app_t *app)
{
    uint8_t rec[DC_APP_KEY_RECORD];
    app->key_length = 0;
    if (dc_flash_read(&app->flash, dc_app_sector_offset(DC_APP_KEY_SECTOR), rec, sizeof rec) != DC_OK ||
        !parse_record(rec, app->key, &app->key_length)) {
        memset(app->key, 0, sizeof app->key);
        app->key_length = 0;
    }
    app->verifier.device.key = app->key;
    app->verifier.device.key_length = app->key_length;
}

int dc_app_key_provision(dc_app_t *app, const uint8_t *key, size_t length)
{
    uint8_t rec[DC_APP_KEY_RECORD];
    if (key == NULL || length == 0u || length > DC_APP_KEY_MAX) {
        return DC_ERR_ARG;
    }
    if (dc_flash_read(&app->flash, dc_app_sector_offset(DC_APP_KEY_SECTOR), rec, sizeof rec) != DC_OK) {
        return DC_ERR_FLASH;
    }
    for (size_t i = 0; i < sizeof rec; i++) {
        if (rec[i] != 0xFFu) {
            dc_app_key_load(app);
            return app->key_length == length && memcmp(app->key, key, length) == 0 ? DC_OK
                                                                                   : DC_ERR_SLOT;
        }
    }
    build_record(rec, key, length);
    if (dc_flash_write(&app->flash, dc_app_sector_offset(DC_APP_KEY_SECTOR), rec, sizeof rec) != DC_OK) {
        return DC_ERR_FLASH;
    }
    dc_app_key_load(app);
    return app->key_length == length ? DC_OK : DC_ERR_FLASH;
}
