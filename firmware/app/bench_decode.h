/* bench_decode.h: the `bench decode` console command: decode a level payload held in flash
 * inside a profiling region, for exact decode costs on the QEMU boards (bench/decode_cost.py).
 *
 *   bench decode OFFSET LEN COUNT
 *     decodes the LEN-byte payload at flash offset OFFSET (read in place through
 *     dc_port_flash_map(), as a device decodes from flash) into COUNT levels, in slices of
 *     DC_BENCH_SLICE levels. Only dc_levels_dec_init() and dc_levels_read() run inside
 *     profiling region DC_BENCH_DECODE_REGION; the checksum is computed outside it.
 *     Answer: `bench decode n=COUNT status=DC_OK hash=0x........` (hash: the sum of
 *     (uint32)level[i] * (2i + 1) mod 2^32), or `error: ...`.
 */
#ifndef DC_BENCH_DECODE_H
#define DC_BENCH_DECODE_H

#include <stddef.h>

#define DC_BENCH_DECODE_REGION 2u  /* profiling region of the decode (see docs/boards.md) */
#define DC_BENCH_SLICE 256u        /* levels per dc_levels_read() call */
#define DC_BENCH_MAX_STRIDE 4096u  /* largest col_stride the bench holds column records for */

/* Run `bench ...` with the text after the command word (`len` bytes, not NUL-terminated). */
void dc_bench_command(const char *args, size_t len);

#endif /* DC_BENCH_DECODE_H */
