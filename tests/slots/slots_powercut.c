/* slots_powercut.c: cuts the power at every flash write/erase of a model update (and of a
 * reverted update, and of a permanent update), reboots, and proves the device boots a
 * verified model every time and can still finish the update (the MCUboot-simulator idea).
 *
 * Build: cc -std=c99 -I firmware/lib/include tests/slots/slots_powercut.c firmware/lib/src/slots/dc_*.c
 *        firmware/lib/src/dc_status.c
 * Run:   ./slots_powercut [random_runs [write_size]] ; prints one summary line per scenario and a total
 *        "cut points tested: N, failures: F"; exit status 0 iff F == 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_flash.h"
#include "dc_slots.h"
#include "dc_status.h"

#define SECTOR 512u
#define SLOT_SIZE (16u * SECTOR) /* 8 KiB: 7.5 KiB of image + the trailer sector */
#define FLASH_SIZE (2u * SLOT_SIZE)
#define NIMG 4
#define HDR 12u

/* ---- test images: "TIMG" | version | payload length | payload | 32-byte digest -------- */

typedef struct {
    uint8_t bytes[SLOT_SIZE];
    uint32_t size, version;
} image_t;

static image_t images[NIMG];

static void digest(const uint8_t *p, uint32_t n, uint8_t out[32])
{
    int lane;
    for (lane = 0; lane < 4; lane++) {
        uint64_t h = 1469598103934665603ull ^ (uint64_t)(lane * 0x9E3779B97F4A7C15ull);
        uint32_t i;
        int k;
        for (i = 0; i < n; i++) {
            h = (h ^ p[i]) * 1099511628211ull;
        }
        for (k = 0; k < 8; k++) {
            out[lane * 8 + k] = (uint8_t)(h >> (8 * k));
        }
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void make_image(image_t *img, uint32_t version, uint32_t payload, uint32_t seed)
{
    uint32_t i, x = seed;
    memcpy(img->bytes, "TIMG", 4);
    put32(img->bytes + 4, version);
    put32(img->bytes + 8, payload);
    for (i = 0; i < payload; i++) {
        x = x * 1664525u + 1013904223u;
        img->bytes[HDR + i] = (uint8_t)(x >> 24);
    }
    digest(img->bytes, HDR + payload, img->bytes + HDR + payload);
    img->size = HDR + payload + 32u;
    img->version = version;
}

/* The injected verifier: magic, length, digest; hash = the digest of the whole image. */
static int verify(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size,
                  dc_model_info_t *info)
{
    static uint8_t buf[SLOT_SIZE];
    uint8_t d[32];
    (void)ctx;
    if (size < HDR + 32u || size > sizeof(buf) || dc_flash_read(flash, offset, buf, size) != DC_OK) {
        return size < HDR + 32u ? DC_ERR_TRUNCATED : DC_ERR_FLASH;
    }
    if (memcmp(buf, "TIMG", 4) != 0) {
        return DC_ERR_MAGIC;
    }
    if (get32(buf + 8) != size - HDR - 32u) {
        return DC_ERR_LENGTH;
    }
    digest(buf, size - 32u, d);
    if (memcmp(d, buf + size - 32u, 32) != 0) {
        return DC_ERR_HASH;
    }
    info->version = get32(buf + 4);
    digest(buf, size, info->hash);
    return DC_OK;
}

/* ---- the simulated device -------------------------------------------------------------- */

static uint8_t mem[FLASH_SIZE];
static uint8_t baseline[FLASH_SIZE];
static dc_flash_sim_t sim;
static dc_slots_t slots;
static uint32_t write_size = 8;
static uint32_t chunk = 100; /* not a multiple of WRITE_SIZE: exercises the staging path */

/* A reset: RAM state lost, flash kept (a cut armed in the simulator stays armed). */
static int reboot(void)
{
    dc_verifier_t v = {verify, NULL};
    int slot, rc;
    rc = dc_slots_init(&slots, &sim.dev, 0, SLOT_SIZE, SLOT_SIZE, v);
    if (rc != DC_OK) {
        return rc;
    }
    return dc_slots_boot(&slots, &slot);
}

/* Power comes back after a cut, then the reset. */
static int power_up(void)
{
    dc_flash_sim_power_on(&sim);
    return reboot();
}

static int upload(const image_t *img)
{
    uint8_t sha[32];
    uint32_t off;
    int rc;
    digest(img->bytes, img->size, sha);
    rc = dc_slots_upload_begin(&slots, dc_slots_inactive(&slots), img->size, sha, &off);
    while (rc == DC_OK && off < img->size) {
        uint32_t n = img->size - off < chunk ? img->size - off : chunk;
        rc = dc_slots_upload_write(&slots, off, img->bytes + off, n);
        off += n;
    }
    return rc == DC_OK ? dc_slots_upload_finish(&slots, 0, NULL) : rc;
}

/* Which known image the running slot holds (index), or -1. */
static int running_image(void)
{
    int slot = dc_slots_running(&slots), i;
    if (slot == DC_SLOT_NONE) {
        return -1;
    }
    for (i = 0; i < NIMG; i++) {
        if (memcmp(mem + (uint32_t)slot * SLOT_SIZE, images[i].bytes, images[i].size) == 0) {
            return i;
        }
    }
    return -1;
}

/* ---- scenarios: a list of steps; the one a cut interrupts reports the error ------------- */

enum { S_UPLOAD, S_PENDING, S_REBOOT, S_CONFIRM, S_CONFIRM_INACTIVE, S_END };
typedef struct {
    int op;
    int img;
} step_t;

typedef struct {
    const char *name;
    step_t steps[16];
    int final_img; /* what a clean run ends running, confirmed */
} scenario_t;

static const scenario_t scenarios[] = {
    {"update twice (A->B->A)",
     {{S_UPLOAD, 1}, {S_PENDING, 0}, {S_REBOOT, 0}, {S_CONFIRM, 0},
      {S_UPLOAD, 2}, {S_PENDING, 0}, {S_REBOOT, 0}, {S_CONFIRM, 0}, {S_END, 0}},
     2},
    {"revert, then retest and confirm",
     {{S_UPLOAD, 1}, {S_PENDING, 0}, {S_REBOOT, 0}, {S_REBOOT, 0},
      {S_PENDING, 0}, {S_REBOOT, 0}, {S_CONFIRM, 0}, {S_END, 0}},
     1},
    {"permanent (confirm without trial)",
     {{S_UPLOAD, 3}, {S_CONFIRM_INACTIVE, 0}, {S_REBOOT, 0}, {S_END, 0}},
     3},
};

/* Runs the steps; returns DC_OK or the first error. `confirmed_img` tracks the newest image
 * whose confirmation completed (the device must never boot anything older afterwards). */
static int run_steps(const scenario_t *sc, int *confirmed_img)
{
    int i, rc = DC_OK;
    for (i = 0; sc->steps[i].op != S_END && rc == DC_OK; i++) {
        switch (sc->steps[i].op) {
        case S_UPLOAD:
            rc = upload(&images[sc->steps[i].img]);
            break;
        case S_PENDING:
            rc = dc_slots_mark_pending(&slots, dc_slots_inactive(&slots), 0);
            break;
        case S_REBOOT:
            rc = reboot();
            break;
        case S_CONFIRM:
            rc = dc_slots_confirm(&slots, dc_slots_running(&slots), 0);
            if (rc == DC_OK) {
                *confirmed_img = running_image();
            }
            break;
        case S_CONFIRM_INACTIVE:
            rc = dc_slots_confirm(&slots, dc_slots_inactive(&slots), 0);
            break;
        default:
            rc = DC_ERR_INTERNAL;
        }
    }
    return rc;
}

/* After a cut: brings the device to run `target` confirmed, as a retrying client would. */
static int finish_update(int target)
{
    int tries;
    for (tries = 0; tries < 4; tries++) {
        int cur = running_image();
        if (cur == target) {
            return dc_slots_confirm(&slots, dc_slots_running(&slots), 0);
        }
        if (slots.trial) {
            if (power_up() != DC_OK) { /* revert the trial of something else */
                return DC_ERR_INTERNAL;
            }
            continue;
        }
        {
            int a = upload(&images[target]), b = 0, c = 0;
            if (a == DC_OK) b = dc_slots_mark_pending(&slots, dc_slots_inactive(&slots), DC_SLOTS_ALLOW_DOWNGRADE);
            if (a == DC_OK && b == DC_OK) c = power_up();
            if (a || b || c) {
                if (getenv("PC_DEBUG")) printf("  finish: cur=%d running=%d upload=%s pending=%s boot=%s\n", cur, dc_slots_running(&slots), dc_status_name(a), dc_status_name(b), dc_status_name(c));
                return DC_ERR_INTERNAL;
            }
        }
    }
    return DC_ERR_INTERNAL;
}

static long cut_points, failures, booted_old, booted_new;

static void fail(const char *sc, uint32_t k, int mode, const char *why)
{
    failures++;
    if (failures <= 20) {
        printf("FAIL [%s] cut at op %u (%s): %s\n", sc, (unsigned)k, mode ? "random" : "half", why);
    }
}

/* One cut: restore the baseline, cut at operation k, reboot, check, finish the update. */
static void one_cut(const scenario_t *sc, uint32_t k, dc_flash_torn_t mode, uint32_t seed)
{
    int confirmed = 0, rc, img;
    memcpy(mem, baseline, sizeof(mem));
    if (power_up() != DC_OK) {
        fail(sc->name, k, mode, "baseline does not boot");
        return;
    }
    dc_flash_sim_cut_after(&sim, k, mode, seed);
    rc = run_steps(sc, &confirmed);
    if (rc == DC_OK || sim.powered) {
        fail(sc->name, k, mode, "the scenario did not reach the cut");
        return;
    }
    cut_points++;
    rc = power_up();
    img = running_image();
    if (rc != DC_OK || img < 0) {
        fail(sc->name, k, mode, rc != DC_OK ? dc_status_name(rc) : "running slot holds no known image");
        return;
    }
    if (img < confirmed) {
        fail(sc->name, k, mode, "booted an image older than the last confirmed one");
        return;
    }
    if (img == 0) {
        booted_old++;
    } else {
        booted_new++;
    }
    if (finish_update(sc->final_img) != DC_OK || running_image() != sc->final_img ||
        power_up() != DC_OK || running_image() != sc->final_img || slots.trial) {
        fail(sc->name, k, mode, "the update could not be completed after the cut");
    }
}

int main(int argc, char **argv)
{
    long random_runs = argc > 1 ? atol(argv[1]) : 300;
    dc_verifier_t v = {verify, NULL};
    size_t s;
    long r;
    uint32_t rng = 12345u;
    if (argc > 2) {
        write_size = (uint32_t)atol(argv[2]);
    }
    make_image(&images[0], 0x00010000u, 3000, 1);
    make_image(&images[1], 0x00020000u, 4000, 2);
    make_image(&images[2], 0x00030000u, 4500, 3);
    make_image(&images[3], 0x00040000u, 3500, 4);
    if (dc_flash_sim_init(&sim, mem, FLASH_SIZE, SECTOR, write_size) != DC_OK ||
        dc_slots_init(&slots, &sim.dev, 0, SLOT_SIZE, SLOT_SIZE, v) != DC_OK) {
        printf("FAIL setup\n");
        return 1;
    }
    /* Baseline: the first model installed (slot A), confirmed, running. */
    {
        int slot;
        if (dc_slots_boot(&slots, &slot) != DC_ERR_NO_MODEL || upload(&images[0]) != DC_OK ||
            dc_slots_mark_pending(&slots, 0, 0) != DC_OK || power_up() != DC_OK ||
            dc_slots_confirm(&slots, dc_slots_running(&slots), 0) != DC_OK ||
            power_up() != DC_OK || running_image() != 0) {
            printf("FAIL baseline install\n");
            return 1;
        }
        memcpy(baseline, mem, sizeof(mem));
    }
    for (s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
        const scenario_t *sc = &scenarios[s];
        uint32_t before, total, k;
        int confirmed = 0;
        long cuts0 = cut_points;
        memcpy(mem, baseline, sizeof(mem));
        power_up();
        before = sim.ops;
        if (run_steps(sc, &confirmed) != DC_OK || running_image() != sc->final_img) {
            printf("FAIL [%s] clean run\n", sc->name);
            return 1;
        }
        total = sim.ops - before;
        for (k = 1; k <= total; k++) {
            one_cut(sc, k, DC_FLASH_TORN_HALF, 0);
            one_cut(sc, k, DC_FLASH_TORN_RANDOM, k * 2654435761u + 7u);
        }
        printf("scenario [%s]: %u flash operations, %ld cut points\n", sc->name, (unsigned)total,
               cut_points - cuts0);
    }
    /* Random torn patterns at random cut points with random chunk sizes. */
    for (r = 0; r < random_runs; r++) {
        const scenario_t *sc;
        uint32_t total, before;
        int confirmed = 0;
        rng = rng * 1664525u + 1013904223u;
        sc = &scenarios[(rng >> 8) % (sizeof(scenarios) / sizeof(scenarios[0]))];
        chunk = 1u + (rng >> 12) % 700u;
        memcpy(mem, baseline, sizeof(mem));
        power_up();
        before = sim.ops;
        (void)run_steps(sc, &confirmed);
        total = sim.ops - before;
        rng = rng * 1664525u + 1013904223u;
        one_cut(sc, 1u + (rng >> 8) % total, DC_FLASH_TORN_RANDOM, rng);
    }
    printf("random runs: %ld (write size %u)\n", random_runs, (unsigned)write_size);
    printf("cut points tested: %ld, failures: %ld, booted the old model: %ld, an updated one: %ld\n",
           cut_points, failures, booted_old, booted_new);
    return failures == 0 ? 0 : 1;
}
