/* esp32_port.c: the esp32dev port: ESP-IDF's UART0 driver, the CCOUNT cycle counter, esp_partition flash.
 *
 * Built under Arduino-ESP32 2.x (ESP-IDF 4.4) by firmware/platformio.ini; esp32_main.cpp's setup()
 * calls dc_esp32_start(), which runs the firmware in its own FreeRTOS task pinned to the
 * application core (core 1), away from the task watchdog that guards core 0's idle task.
 *
 * UART: UART0 (GPIO1 TX, GPIO3 RX; the board's USB-serial bridge), 115200 8N1, the IDF driver's
 * interrupt-fed 4 KB receive buffer. Time: esp_timer (microseconds) for millis; CCOUNT, the
 * core's 32-bit cycle counter, extended to 64 bits (waits are cut into 1 s slices so no wrap, every
 * 17.9 s at 240 MHz, goes unseen). Flash: the data partition labelled "dcmodels" (partitions.csv),
 * 4 KB erase sectors, writes in 16-byte units (valid even with flash encryption), every write
 * checked against erased bytes first and read back after; memory-mapped for reads. Network:
 * none yet (the chip has Wi-Fi and lwIP sockets; docs/boards.md). Faults end in ESP-IDF's panic
 * handler (a "Guru Meditation" report and a restart), not in the FAULT line of the other ports.
 */
#include <stdint.h>
#include <string.h>

#include "driver/uart.h"
#include "esp_partition.h"
#include "esp_rom_sys.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#include "dc_port.h"

#define UART_PORT UART_NUM_0
#define UART_BAUD 115200
#define UART_RX_BUFFER 4096
#define UART_WRITE_CHUNK 64u
#define STORAGE_LABEL "dcmodels"
#define STORAGE_SUBTYPE 0x40
#define ERASE_SIZE 4096u
#define WRITE_SIZE 16u
#define CHECK_CHUNK 256u
#define TASK_STACK_BYTES (32u * 1024u)
#define WAIT_SLICE_MS 1000u

void dc_esp32_start(void);
void dc_esp32_end_task(void);

static dc_port_info_t g_info = {
    .name = "esp32dev",
    .cpu = "xtensa-lx6",
    .ram_size = 327680u, /* nominal: the chip's DRAM, shared with ESP-IDF and the Arduino core */
    .counter_unit = "cycles",
};
static const esp_partition_t *g_part;
static const uint8_t *g_map;
static spi_flash_mmap_handle_t g_map_handle;
static dc_flash_geometry_t g_geometry;

const dc_port_info_t *dc_port_info(void)
{
    return &g_info;
}

static TickType_t to_ticks(uint32_t ms)
{
    uint64_t ticks = ((uint64_t)ms * configTICK_RATE_HZ + 999u) / 1000u;
    return ticks >= portMAX_DELAY ? portMAX_DELAY - 1u : (TickType_t)ticks;
}

/* ---- time and profiling ---- */

static uint32_t g_last;
static uint64_t g_high;

uint64_t dc_port_counter(void)
{
    uint32_t now;
    __asm__ volatile("rsr %0, ccount" : "=a"(now));
    if (now < g_last) {
        g_high += (uint64_t)1 << 32;
    }
    g_last = now;
    return g_high | now;
}

uint32_t dc_port_millis(void)
{
    return (uint32_t)(esp_timer_get_time() / 1000);
}

/* Cycles per profiling region, for a debugger (as on the Cortex-M boards). */
uint64_t dc_esp32_profile_cycles[DC_PORT_PROFILE_REGIONS];
static uint32_t g_region;
static uint64_t g_region_start;

void dc_port_profile_mark(uint32_t region)
{
    uint64_t now = dc_port_counter();
    dc_esp32_profile_cycles[g_region] += now - g_region_start;
    g_region = region % DC_PORT_PROFILE_REGIONS;
    g_region_start = now;
}

/* ---- UART ---- */

static int uart_init(void)
{
    const uart_config_t config = {
        .baud_rate = UART_BAUD,
        .data_bits = UART_DATA_8_BITS,
        .parity = UART_PARITY_DISABLE,
        .stop_bits = UART_STOP_BITS_1,
        .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
    };
    if (uart_param_config(UART_PORT, &config) != ESP_OK ||
        uart_driver_install(UART_PORT, UART_RX_BUFFER, 0, 0, NULL, 0) != ESP_OK) {
        return -1;
    }
    return 0;
}

int dc_port_uart_read(uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    if (buf == NULL && cap > 0) {
        return DC_ERR_ARG;
    }
    if (cap == 0) {
        return 0;
    }
    uint32_t start = dc_port_millis();
    for (;;) {
        uint32_t slice = WAIT_SLICE_MS;
        if (timeout_ms != DC_PORT_WAIT_FOREVER) {
            uint32_t elapsed = dc_port_millis() - start;
            uint32_t left = elapsed >= timeout_ms ? 0u : timeout_ms - elapsed;
            slice = left < slice ? left : slice;
        }
        (void)dc_port_counter();
        int got = uart_read_bytes(UART_PORT, buf, 1, to_ticks(slice));
        if (got < 0) {
            return DC_ERR_INTERNAL;
        }
        if (got > 0) {
            size_t more = 0;
            if (cap > 1 && uart_get_buffered_data_len(UART_PORT, &more) == ESP_OK && more > 0) {
                more = more < cap - 1 ? more : cap - 1;
                int extra = uart_read_bytes(UART_PORT, buf + 1, (uint32_t)more, 0);
                got += extra > 0 ? extra : 0;
            }
            return got;
        }
        if (timeout_ms != DC_PORT_WAIT_FOREVER && dc_port_millis() - start >= timeout_ms) {
            return 0;
        }
    }
}

int dc_port_uart_write(const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    if (data == NULL && len > 0) {
        return DC_ERR_ARG;
    }
    uint32_t start = dc_port_millis();
    size_t done = 0;
    while (done < len) {
        if (done > 0 && timeout_ms != DC_PORT_WAIT_FOREVER && dc_port_millis() - start >= timeout_ms) {
            break;
        }
        size_t n = len - done < UART_WRITE_CHUNK ? len - done : UART_WRITE_CHUNK;
        int wrote = uart_write_bytes(UART_PORT, (const char *)(data + done), n);
        if (wrote < 0) {
            return DC_ERR_INTERNAL;
        }
        done += (size_t)wrote;
    }
    return (int)done;
}

/* ---- flash ---- */

static int flash_init(void)
{
    g_part = esp_partition_find_first(ESP_PARTITION_TYPE_DATA, (esp_partition_subtype_t)STORAGE_SUBTYPE,
                                      STORAGE_LABEL);
    if (g_part == NULL || g_part->size < ERASE_SIZE) {
        return -1;
    }
    g_geometry.size = g_part->size - g_part->size % ERASE_SIZE;
    g_geometry.erase_size = ERASE_SIZE;
    g_geometry.write_size = WRITE_SIZE;
    g_geometry.erased_value = 0xFFu;
    const void *map = NULL;
    if (esp_partition_mmap(g_part, 0, g_geometry.size, SPI_FLASH_MMAP_DATA, &map, &g_map_handle) != ESP_OK) {
        return -1;
    }
    g_map = map;
    g_info.flash_size = g_geometry.size;
    return 0;
}

static int in_range(uint32_t offset, size_t len)
{
    return g_part != NULL && offset <= g_geometry.size && len <= (size_t)(g_geometry.size - offset);
}

const dc_flash_geometry_t *dc_port_flash_geometry(void)
{
    return &g_geometry;
}

const uint8_t *dc_port_flash_map(void)
{
    return g_map;
}

dc_status_t dc_port_flash_read(uint32_t offset, void *dst, size_t len)
{
    if (!in_range(offset, len) || (dst == NULL && len > 0)) {
        return DC_ERR_ARG;
    }
    if (len == 0) {
        return DC_OK;
    }
    return esp_partition_read(g_part, offset, dst, len) == ESP_OK ? DC_OK : DC_ERR_FLASH;
}

/* 1 when [offset, offset+len) reads as erased bytes (expected == NULL) or as `expected`. */
static int reads_as(uint32_t offset, const uint8_t *expected, size_t len)
{
    uint8_t chunk[CHECK_CHUNK];
    for (size_t done = 0; done < len; done += sizeof chunk) {
        size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
        if (esp_partition_read(g_part, offset + done, chunk, n) != ESP_OK) {
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (chunk[i] != (expected != NULL ? expected[done + i] : 0xFFu)) {
                return 0;
            }
        }
    }
    return 1;
}

dc_status_t dc_port_flash_erase(uint32_t offset, size_t len)
{
    if (!in_range(offset, len) || offset % ERASE_SIZE != 0 || len % ERASE_SIZE != 0) {
        return DC_ERR_ARG;
    }
    if (len == 0) {
        return DC_OK;
    }
    if (esp_partition_erase_range(g_part, offset, len) != ESP_OK || !reads_as(offset, NULL, len)) {
        return DC_ERR_FLASH;
    }
    return DC_OK;
}

dc_status_t dc_port_flash_write(uint32_t offset, const void *src, size_t len)
{
    if (!in_range(offset, len) || offset % WRITE_SIZE != 0 || len % WRITE_SIZE != 0) {
        return DC_ERR_ARG;
    }
    if (len == 0) {
        return DC_OK;
    }
    if (src == NULL) {
        return DC_ERR_ARG;
    }
    if (!reads_as(offset, NULL, len)) {
        return DC_ERR_FLASH; /* NOR flash would AND the bits in: refuse, like the other boards */
    }
    if (esp_partition_write(g_part, offset, src, len) != ESP_OK || !reads_as(offset, src, len)) {
        return DC_ERR_FLASH;
    }
    return DC_OK;
}

/* ---- network: not yet (docs/boards.md) ---- */

int dc_port_net_connect(const char *host, uint16_t port, uint32_t timeout_ms)
{
    (void)host;
    (void)port;
    (void)timeout_ms;
    return DC_ERR_UNSUPPORTED;
}

int dc_port_net_connect_tls(const char *host, uint16_t port, const dc_port_tls_t *tls, uint32_t timeout_ms)
{
    (void)host;
    (void)port;
    (void)tls;
    (void)timeout_ms;
    return DC_ERR_UNSUPPORTED;
}

int dc_port_net_send(int sock, const uint8_t *data, size_t len, uint32_t timeout_ms)
{
    (void)sock;
    (void)data;
    (void)len;
    (void)timeout_ms;
    return DC_ERR_ARG;
}

int dc_port_net_recv(int sock, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    (void)sock;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    return DC_ERR_ARG;
}

void dc_port_net_close(int sock)
{
    (void)sock;
}

/* ---- life cycle ---- */

/* No process to end: the firmware task stops for good; ESP-IDF keeps running idle. */
void dc_port_exit(int code)
{
    (void)code;
    (void)uart_wait_tx_done(UART_PORT, to_ticks(100u));
    for (;;) {
        vTaskSuspend(NULL);
    }
}

void dc_port_reset(void)
{
    (void)uart_wait_tx_done(UART_PORT, to_ticks(100u));
    esp_restart();
    for (;;) {
    } /* not reached; for compilers that do not know esp_restart never returns */
}

static void firmware_task(void *arg)
{
    (void)arg;
    g_info.counter_hz = esp_rom_get_cpu_ticks_per_us() * 1000000u;
    if (uart_init() != 0) {
        dc_port_exit(1);
    }
    if (flash_init() != 0) {
        static const char message[] = "\r\nerror: no \"" STORAGE_LABEL "\" data partition (partitions.csv)\r\n";
        (void)dc_port_uart_write((const uint8_t *)message, sizeof message - 1u, 100u);
        dc_port_exit(1);
    }
    dc_port_exit(dc_app_main());
}

void dc_esp32_start(void)
{
    if (xTaskCreatePinnedToCore(firmware_task, "dcfw", TASK_STACK_BYTES, NULL, 1, NULL, 1) != pdPASS) {
        esp_restart();
    }
}

/* Called from Arduino's loop task, which has nothing left to do. */
void dc_esp32_end_task(void)
{
    vTaskDelete(NULL);
}
