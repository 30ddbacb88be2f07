/* kernel_check.c: the `kcheck` console command (kernel_check.h): optimized vs reference int8 kernels. */
#include "kernel_check.h"

#include <stdint.h>
#include <string.h>

#include "console.h"
#include "dc_kernels.h"
#include "dc_port.h"

/* The reference kernels under their Makefile-given names (firmware/Makefile, REF_KERNELS). */
int32_t dc_conv_s8_get_buffer_size_ref(const dc_conv_params_t *params, const dc_dims_t *input_dims,
                                       const dc_dims_t *filter_dims, const dc_dims_t *output_dims);
dc_status_t dc_conv_s8_ref(const dc_conv_params_t *params, const dc_channel_quant_t *quant,
                           const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                           const dc_dims_t *filter_dims, const int8_t *filter, int32_t filter_len,
                           const int32_t *bias, int32_t bias_len,
                           const dc_dims_t *output_dims, int8_t *output, int32_t output_len);
int32_t dc_depthwise_conv_s8_get_buffer_size_ref(const dc_depthwise_conv_params_t *params,
                                                 const dc_dims_t *input_dims, const dc_dims_t *filter_dims,
                                                 const dc_dims_t *output_dims);
dc_status_t dc_depthwise_conv_s8_ref(const dc_depthwise_conv_params_t *params, const dc_channel_quant_t *quant,
                                     const dc_dims_t *input_dims, const int8_t *input, int32_t input_len,
                                     const dc_dims_t *filter_dims, const int8_t *filter, int32_t filter_len,
                                     const int32_t *bias, int32_t bias_len,
                                     const dc_dims_t *output_dims, int8_t *output, int32_t output_len);
dc_status_t dc_fully_connected_s8_ref(const dc_fully_connected_params_t *params, const dc_channel_quant_t *quant,
                                      int32_t batches, int32_t depth, int32_t units,
                                      const int8_t *input, int32_t input_len,
                                      const int8_t *filter, int32_t filter_len,
                                      const int32_t *bias, int32_t bias_len,
                                      int8_t *output, int32_t output_len);

/* Memory for one case: every MLPerf Tiny layer fits (the largest, AD01's 640x128 FC, needs ~92 KiB).
 * Boards with less RAM set a smaller DC_KCHECK_ARENA_BYTES (firmware/platformio.ini). */
#ifndef DC_KCHECK_ARENA_BYTES
#define DC_KCHECK_ARENA_BYTES (192u * 1024u)
#endif
#define ARENA_BYTES DC_KCHECK_ARENA_BYTES
#define GUARD_BYTES 16u
#define GUARD_VALUE 0x3C

static uint32_t g_arena_words[ARENA_BYTES / 4u];

/* ---- text ---- */

static void write_int(int64_t value)
{
    char text[24];
    char digits[21];
    size_t n = 0, len = 0;
    uint64_t mag = value < 0 ? (uint64_t)(-(value + 1)) + 1u : (uint64_t)value;
    if (value < 0) {
        text[len++] = '-';
    }
    do {
        digits[n++] = (char)('0' + (int)(mag % 10u));
        mag /= 10u;
    } while (mag != 0);
    while (n > 0) {
        text[len++] = digits[--n];
    }
    text[len] = '\0';
    dc_console_write(text);
}

static void write_hex32(uint32_t value)
{
    char text[11] = "0x";
    for (int i = 0; i < 8; i++) {
        text[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xFu];
    }
    text[10] = '\0';
    dc_console_write(text);
}

typedef struct {
    const char *pos;
    const char *end;
} cursor_t;

static size_t next_word(cursor_t *c, const char **word)
{
    while (c->pos < c->end && *c->pos == ' ') {
        c->pos++;
    }
    *word = c->pos;
    while (c->pos < c->end && *c->pos != ' ') {
        c->pos++;
    }
    return (size_t)(c->pos - *word);
}

/* The next word as a decimal int32 (optional '-'); 0 on success. */
static int next_int(cursor_t *c, int32_t *value)
{
    const char *word;
    size_t len = next_word(c, &word);
    size_t i = 0;
    int negative = 0;
    if (len > 0 && word[0] == '-') {
        negative = 1;
        i = 1;
    }
    if (i == len) {
        return -1;
    }
    int64_t acc = 0;
    for (; i < len; i++) {
        if (word[i] < '0' || word[i] > '9') {
            return -1;
        }
        acc = acc * 10 + (word[i] - '0');
        if (acc > (int64_t)INT32_MAX + 1) {
            return -1;
        }
    }
    acc = negative ? -acc : acc;
    if (acc > INT32_MAX) {
        return -1;
    }
    *value = (int32_t)acc;
    return 0;
}

/* Parse `count` integers into out[]; `optional` trailing ones keep their preset value. */
static int parse_ints(cursor_t *c, int32_t *out, int count, int optional)
{
    for (int i = 0; i < count; i++) {
        const char *word;
        cursor_t probe = *c;
        if (i >= count - optional && next_word(&probe, &word) == 0) {
            return 0;
        }
        if (next_int(c, &out[i]) != 0) {
            return -1;
        }
    }
    const char *word;
    return next_word(c, &word) == 0 ? 0 : -1;
}

/* ---- generated data ---- */

typedef struct {
    uint32_t state;
} rng_t;

static uint32_t rng_next(rng_t *r)
{
    uint32_t x = r->state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->state = x;
    return x;
}

static void fill_s8(rng_t *r, int8_t *dst, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        dst[i] = (int8_t)(rng_next(r) >> 24);
    }
}

/* Biases (bias_bits in 1..32 bits, signed) and per-channel multipliers and shifts. */
static void fill_quant(rng_t *r, int32_t *bias, int32_t bias_bits, int32_t *mult, int32_t *shift, int32_t channels,
                       int32_t shift_lo, int32_t shift_hi, int32_t mult_mode)
{
    if (bias_bits > 0) {
        for (int32_t i = 0; i < channels; i++) {
            bias[i] = (int32_t)rng_next(r) >> (32 - bias_bits);
        }
    }
    const uint32_t span = (uint32_t)(shift_hi - shift_lo) + 1u;
    for (int32_t i = 0; i < channels; i++) {
        const uint32_t m = rng_next(r);
        mult[i] = mult_mode == 1 ? (int32_t)(1u << 30) : (int32_t)((1u << 30) | (m >> 2));
        shift[i] = shift_lo + (int32_t)(rng_next(r) % span);
    }
}

/* All-zero filters (a pruned channel): output channel oc's weights are set to 0 when bit oc % 32 of
 * `mask` is set, after the whole case is generated (the generator's sequence does not change). Conv
 * filters are [Cout][KH][KW][FC] (channel = index / per_channel), depthwise ones [1][KH][KW][C*DM]
 * (channel = index % channels). */
static void zero_channels(int8_t *filter, int64_t count, int32_t channels, int depthwise, uint32_t mask)
{
    if (mask == 0) {
        return;
    }
    const int64_t per_channel = count / channels;
    for (int64_t i = 0; i < count; i++) {
        const int32_t oc = depthwise ? (int32_t)(i % channels) : (int32_t)(i / per_channel);
        if ((mask >> (oc % 32)) & 1u) {
            filter[i] = 0;
        }
    }
}

/* ---- memory ---- */

typedef struct {
    uint8_t *next;
    uint8_t *end;
} arena_t;

static void *take(arena_t *a, int64_t bytes)
{
    uint8_t *p = (uint8_t *)(((uintptr_t)a->next + 3u) & ~(uintptr_t)3u);
    if (bytes < 0 || bytes > a->end - p) {
        return NULL;
    }
    a->next = p + bytes;
    return p;
}

static uint32_t crc32(const int8_t *data, int32_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (int32_t i = 0; i < len; i++) {
        crc ^= (uint8_t)data[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/* The common part of one case: buffers for both runs, and the comparison afterwards. */
typedef struct {
    int8_t *out_ref;
    int8_t *out_opt;   /* followed by GUARD_BYTES guard bytes */
    int32_t out_count;
    void *scratch;
    int32_t scratch_len;
} run_t;

static int prepare_outputs(arena_t *a, run_t *run, int32_t out_count)
{
    run->out_count = out_count;
    run->out_ref = take(a, out_count);
    run->out_opt = take(a, (int64_t)out_count + GUARD_BYTES);
    if (run->out_ref == NULL || run->out_opt == NULL) {
        return -1;
    }
    /* Different fill values: an output element a kernel leaves unwritten shows as a mismatch. */
    memset(run->out_ref, 0x5A, (size_t)out_count);
    memset(run->out_opt, 0xA5, (size_t)out_count); /* report() relies on these two values */
    memset(run->out_opt + out_count, GUARD_VALUE, GUARD_BYTES);
    return 0;
}

/* Scratch of max(need + delta, 0) bytes from the rest of the arena. */
static int prepare_scratch(arena_t *a, run_t *run, int32_t need, int32_t delta)
{
    int64_t bytes = (int64_t)need + delta;
    bytes = bytes < 0 ? 0 : bytes;
    run->scratch_len = (int32_t)bytes;
    run->scratch = bytes > 0 ? take(a, bytes) : NULL;
    return bytes > 0 && run->scratch == NULL ? -1 : 0;
}

static void report(const run_t *run, dc_status_t ref_status, dc_status_t opt_status)
{
    int32_t mismatches = 0, first = -1;
    /* A kernel that returned an error may not have written anything: then count the bytes it changed. */
    const int ref_failed = ref_status != DC_OK, opt_failed = opt_status != DC_OK;
    for (int32_t i = 0; i < run->out_count; i++) {
        const int differs = ref_failed || opt_failed
                                ? (ref_failed && run->out_ref[i] != (int8_t)0x5A) ||
                                      (opt_failed && run->out_opt[i] != (int8_t)0xA5)
                                : run->out_ref[i] != run->out_opt[i];
        if (differs) {
            if (first < 0) {
                first = i;
            }
            mismatches++;
        }
    }
    int overrun = 0;
    for (uint32_t i = 0; i < GUARD_BYTES; i++) {
        overrun |= run->out_opt[run->out_count + (int32_t)i] != (int8_t)GUARD_VALUE;
    }
    dc_console_write("kcheck ref=");
    dc_console_write(dc_status_name(ref_status));
    dc_console_write(" opt=");
    dc_console_write(dc_status_name(opt_status));
    dc_console_write(" outputs=");
    write_int(run->out_count);
    dc_console_write(" mismatches=");
    write_int(mismatches);
    dc_console_write(" first=");
    write_int(first);
    dc_console_write(" ref_value=");
    write_int(first >= 0 ? run->out_ref[first] : 0);
    dc_console_write(" opt_value=");
    write_int(first >= 0 ? run->out_opt[first] : 0);
    dc_console_write(" overrun=");
    write_int(overrun);
    dc_console_write(" crc=");
    write_hex32(crc32(run->out_ref, run->out_count));
    dc_console_line("");
}

static int dims_elems(const dc_dims_t *d, int64_t *count)
{
    if (d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1) {
        return -1;
    }
    *count = (int64_t)d->n * d->h * d->w * d->c;
    return *count > (int64_t)ARENA_BYTES ? -1 : 0;
}

/* ---- the ops ---- */

enum { CONV_ARGS = 28 };

static void check_conv(cursor_t *c, int depthwise)
{
    int32_t v[CONV_ARGS];
    const int count = depthwise ? CONV_ARGS - 1 : CONV_ARGS; /* depthwise: DM, no COUT */
    v[count - 2] = 0; /* scratch delta */
    v[count - 1] = 0; /* zero-channel mask */
    if (parse_ints(c, v, count, 2) != 0) {
        dc_console_line(depthwise ? "error: usage: kcheck dw SEED N H W C KH KW DM SH SW DH DW PH PW OH OW IOFF OOFF "
                                    "AMIN AMAX ROUND SLO SHI MMODE BBITS [SDELTA [ZMASK]]"
                                  : "error: usage: kcheck conv SEED N H W C KH KW FC COUT SH SW DH DW PH PW OH OW IOFF "
                                    "OOFF AMIN AMAX ROUND SLO SHI MMODE BBITS [SDELTA [ZMASK]]");
        return;
    }
    const int32_t *q = v + 1;
    dc_dims_t in = {q[0], q[1], q[2], q[3]};
    dc_dims_t filt, out;
    int32_t dm = 1;
    const int32_t *r;
    if (depthwise) {
        dm = q[6];
        filt = (dc_dims_t){1, q[4], q[5], q[3] * dm};
        r = q + 7;
    } else {
        filt = (dc_dims_t){q[7], q[4], q[5], q[6]};
        r = q + 8;
    }
    /* r: SH SW DH DW PH PW OH OW IOFF OOFF AMIN AMAX ROUND SLO SHI MMODE BBITS SDELTA ZMASK */
    out = (dc_dims_t){in.n, r[6], r[7], depthwise ? filt.c : filt.n};
    const int32_t shift_lo = r[13], shift_hi = r[14], mult_mode = r[15], bias_bits = r[16], delta = r[17];
    const uint32_t zero_mask = (uint32_t)r[18];
    int64_t in_count, f_count, out_count;
    if (dims_elems(&in, &in_count) != 0 || dims_elems(&filt, &f_count) != 0 || dims_elems(&out, &out_count) != 0 ||
        shift_lo > shift_hi || bias_bits < 0 || bias_bits > 32 || mult_mode < 0 || mult_mode > 1 || v[0] == 0) {
        dc_console_line("error: kcheck: bad case (sizes, shift range, bias bits, multiplier mode or seed 0)");
        return;
    }
    const int32_t channels = out.c;
    arena_t a = {(uint8_t *)g_arena_words, (uint8_t *)g_arena_words + ARENA_BYTES};
    int8_t *input = take(&a, in_count), *filter = take(&a, f_count);
    int32_t *bias = take(&a, 4 * (int64_t)channels), *mult = take(&a, 4 * (int64_t)channels);
    int32_t *shift = take(&a, 4 * (int64_t)channels);
    run_t run;
    if (input == NULL || filter == NULL || bias == NULL || mult == NULL || shift == NULL ||
        prepare_outputs(&a, &run, (int32_t)out_count) != 0) {
        dc_console_line("error: kcheck: case too large");
        return;
    }
    rng_t rng = {(uint32_t)v[0]};
    fill_s8(&rng, input, (int32_t)in_count);
    fill_s8(&rng, filter, (int32_t)f_count);
    fill_quant(&rng, bias, bias_bits, mult, shift, channels, shift_lo, shift_hi, mult_mode);
    zero_channels(filter, f_count, channels, depthwise, zero_mask);

    dc_depthwise_conv_params_t dp;
    dc_conv_params_t *p = &dp.conv;
    *p = (dc_conv_params_t){r[8], r[9], r[0], r[1], r[2], r[3], r[4], r[5], r[10], r[11], (dc_rounding_t)r[12],
                            NULL, 0};
    dp.depth_multiplier = dm;
    const dc_channel_quant_t quant = {mult, shift, channels};
    const int32_t *bias_arg = bias_bits > 0 ? bias : NULL;
    const int32_t need_ref = depthwise ? dc_depthwise_conv_s8_get_buffer_size_ref(&dp, &in, &filt, &out)
                                       : dc_conv_s8_get_buffer_size_ref(p, &in, &filt, &out);
    const int32_t need_opt = depthwise ? dc_depthwise_conv_s8_get_buffer_size(&dp, &in, &filt, &out)
                                       : dc_conv_s8_get_buffer_size(p, &in, &filt, &out);
    run_t ref_run = run;
    if (need_ref < 0 || need_opt < 0 || prepare_scratch(&a, &ref_run, need_ref, delta) != 0 ||
        prepare_scratch(&a, &run, need_opt, delta) != 0) {
        dc_console_line("error: kcheck: no room for the scratch buffer");
        return;
    }
    dc_status_t ref_status, opt_status;
    p->scratch = ref_run.scratch;
    p->scratch_len = ref_run.scratch_len;
    dc_port_profile_mark(DC_KCHECK_REF_REGION);
    if (depthwise) {
        ref_status = dc_depthwise_conv_s8_ref(&dp, &quant, &in, input, (int32_t)in_count, &filt, filter,
                                              (int32_t)f_count, bias_arg, channels, &out, run.out_ref,
                                              (int32_t)out_count);
    } else {
        ref_status = dc_conv_s8_ref(p, &quant, &in, input, (int32_t)in_count, &filt, filter, (int32_t)f_count,
                                    bias_arg, channels, &out, run.out_ref, (int32_t)out_count);
    }
    dc_port_profile_mark(0);
    p->scratch = run.scratch;
    p->scratch_len = run.scratch_len;
    dc_port_profile_mark(DC_KCHECK_OPT_REGION);
    if (depthwise) {
        opt_status = dc_depthwise_conv_s8(&dp, &quant, &in, input, (int32_t)in_count, &filt, filter, (int32_t)f_count,
                                          bias_arg, channels, &out, run.out_opt, (int32_t)out_count);
    } else {
        opt_status = dc_conv_s8(p, &quant, &in, input, (int32_t)in_count, &filt, filter, (int32_t)f_count, bias_arg,
                                channels, &out, run.out_opt, (int32_t)out_count);
    }
    dc_port_profile_mark(0);
    report(&run, ref_status, opt_status);
}

enum { FC_ARGS = 15 };

static void check_fc(cursor_t *c)
{
    int32_t v[FC_ARGS];
    if (parse_ints(c, v, FC_ARGS, 0) != 0) {
        dc_console_line("error: usage: kcheck fc SEED BATCHES DEPTH UNITS IOFF FOFF OOFF AMIN AMAX ROUND PERCH SLO SHI "
                        "MMODE BBITS");
        return;
    }
    const int32_t batches = v[1], depth = v[2], units = v[3], per_channel = v[10];
    const int32_t shift_lo = v[11], shift_hi = v[12], mult_mode = v[13], bias_bits = v[14];
    const dc_dims_t in_d = {batches, 1, 1, depth}, f_d = {units, 1, 1, depth}, out_d = {batches, 1, 1, units};
    int64_t in_count, f_count, out_count;
    if (dims_elems(&in_d, &in_count) != 0 || dims_elems(&f_d, &f_count) != 0 || dims_elems(&out_d, &out_count) != 0 ||
        shift_lo > shift_hi || bias_bits < 0 || bias_bits > 32 || mult_mode < 0 || mult_mode > 1 ||
        per_channel < 0 || per_channel > 1 || v[0] == 0) {
        dc_console_line("error: kcheck: bad case (sizes, shift range, bias bits, multiplier mode or seed 0)");
        return;
    }
    const int32_t channels = per_channel ? units : 1;
    arena_t a = {(uint8_t *)g_arena_words, (uint8_t *)g_arena_words + ARENA_BYTES};
    int8_t *input = take(&a, in_count), *filter = take(&a, f_count);
    int32_t *bias = take(&a, 4 * (int64_t)units), *mult = take(&a, 4 * (int64_t)channels);
    int32_t *shift = take(&a, 4 * (int64_t)channels);
    run_t run;
    if (input == NULL || filter == NULL || bias == NULL || mult == NULL || shift == NULL ||
        prepare_outputs(&a, &run, (int32_t)out_count) != 0) {
        dc_console_line("error: kcheck: case too large");
        return;
    }
    rng_t rng = {(uint32_t)v[0]};
    fill_s8(&rng, input, (int32_t)in_count);
    fill_s8(&rng, filter, (int32_t)f_count);
    if (bias_bits > 0) {
        for (int32_t i = 0; i < units; i++) {
            bias[i] = (int32_t)rng_next(&rng) >> (32 - bias_bits);
        }
    }
    fill_quant(&rng, bias, 0, mult, shift, channels, shift_lo, shift_hi, mult_mode);
    const dc_fully_connected_params_t p = {v[4], v[5], v[6], v[7], v[8], (dc_rounding_t)v[9]};
    const dc_channel_quant_t quant = {mult, shift, channels};
    const int32_t *bias_arg = bias_bits > 0 ? bias : NULL;
    dc_port_profile_mark(DC_KCHECK_REF_REGION);
    const dc_status_t ref_status = dc_fully_connected_s8_ref(&p, &quant, batches, depth, units, input,
                                                             (int32_t)in_count, filter, (int32_t)f_count, bias_arg,
                                                             units, run.out_ref, (int32_t)out_count);
    dc_port_profile_mark(0);
    dc_port_profile_mark(DC_KCHECK_OPT_REGION);
    const dc_status_t opt_status = dc_fully_connected_s8(&p, &quant, batches, depth, units, input, (int32_t)in_count,
                                                         filter, (int32_t)f_count, bias_arg, units, run.out_opt,
                                                         (int32_t)out_count);
    dc_port_profile_mark(0);
    report(&run, ref_status, opt_status);
}

void dc_kcheck_command(const char *args, size_t len)
{
    cursor_t c = {args, args + len};
    const char *word;
    size_t n = next_word(&c, &word);
    if (n == 4 && memcmp(word, "conv", 4) == 0) {
        check_conv(&c, 0);
    } else if (n == 2 && memcmp(word, "dw", 2) == 0) {
        check_conv(&c, 1);
    } else if (n == 2 && memcmp(word, "fc", 2) == 0) {
        check_fc(&c);
    } else {
        dc_console_line("error: usage: kcheck conv|dw|fc ...");
    }
}
