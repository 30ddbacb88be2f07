/* dc_arm_dsp.h: ARMv7E-M / ARMv8-M DSP-extension helpers of the optimized int8 kernels (internal).
 *
 * Only the Cortex-M boards with the DSP extension compile lib/arch/armv7em/ (docs/kernels.md,
 * "Optimized kernels"). The instructions are written as inline assembly without `volatile`, so the
 * compiler still schedules, hoists and removes them like ordinary arithmetic.
 *
 * Packed operands: SXTB16 of an int8 word [b0 b1 b2 b3] (little-endian) gives the int16 pair
 * (b0, b2); SXTB16 of the word rotated right by 8 gives (b1, b3). A dot product over 4 bytes is
 * therefore SMLAD((b0,b2), (c0,c2)) + SMLAD((b1,b3), (c1,c3)): both operands use the same order,
 * so the sum is exact. SMLAD wraps modulo 2^32 like the reference kernels' uint32_t accumulators.
 *
 * Requantization (dc_dsp_rq_t): for a right shift r = -shift >= 1 all three roundings of
 * dc_requantize_s32 are one 64-bit sum, taken from its high word:
 *   DOUBLE    (x*m + 2^30 + 2^(30+r) - [x<0] 2^31) >> (31+r)
 *   HALF_UP   (x*m + 2^30 + 2^(30+r)) >> (31+r)
 *   SINGLE    (x*m + 2^(30+r)) >> (31+r)
 * Why: gemmlowp's SRDHM(x, m) equals floor((x*m + 2^30) / 2^31) for every x when m >= 0 (its
 * nudge and truncating division combine to that floor); a rounding right shift by r is
 * floor((y + c) / 2^r) with c = 2^(r-1) (HALF_UP) or 2^(r-1) - [y<0] (DOUBLE, ties away from
 * zero); floor((floor(a / 2^31) + c) / 2^r) = floor((a + c 2^31) / 2^(31+r)). For DOUBLE, [y<0]
 * may be replaced by [x<0]: y < 0 needs x < 0, and where x < 0 but y = 0 both choices give 0.
 * The output offset is folded into the same sum (+ out_offset * 2^(31+r)), so an output costs two
 * SMLALs, a shift and the clamp. Shifts < -22 (where the folded offset could overflow the 64-bit sum)
 * and shifts > 0 (a real multiplier >= 1) take dc_requantize_s32 itself.
 *
 * Shift 0 (a real multiplier in [0.5, 1), e.g. the scale 1.0 a compressor gives a pruned, all-zero
 * channel) has its own short form (hi_shift == DC_DSP_RQ_SHIFT0): all three roundings are then
 * y = floor((x*m + 2^30) / 2^31) (no right shift is left to round), and the output is
 * clamp(sat(y + out_offset)). With t = x saturated to [-2^30, 2^30 - 1] (one SSAT), 2t fits in 32 bits
 * and one SMLAL gives the high word of 2t*m + 2^31 + out_offset*2^32 = floor((t*m + 2^30) / 2^31) +
 * out_offset exactly (|2t*m| <= 2^62: no overflow, no saturation needed). The saturation of x changes
 * nothing after the clamp when m >= 2^30 (every multiplier QuantizeMultiplier makes): |x| >= 2^30 gives
 * |y| >= 2^29 of the same sign as for t, far outside the int8 range; m == 0 gives y = 0 either way.
 * Other multipliers with shift 0 (hand-made parameters) take dc_requantize_s32.
 */
#ifndef DC_ARM_DSP_H
#define DC_ARM_DSP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dc_fixed_point.h"

#if !defined(__ARM_FEATURE_DSP) || !__ARM_FEATURE_DSP
#error "lib/arch/armv7em needs the Arm DSP extension (Cortex-M4, M7, M33 with DSP): build with KERNELS=ref"
#endif

/* (b0, b2) of an int8 word, sign-extended to int16 lanes. */
static inline uint32_t dc_sxtb16(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}

/* (b1, b3) of an int8 word, sign-extended to int16 lanes. */
static inline uint32_t dc_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* a + (b0, b2) lane by lane (16-bit lanes, wrapping). */
static inline uint32_t dc_sxtab16(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* a + (b1, b3) lane by lane. */
static inline uint32_t dc_sxtab16_ror8(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* acc + a.lo * b.lo + a.hi * b.hi (signed 16-bit lanes, 32-bit wrapping sum). */
static inline int32_t dc_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* acc + a.lo * b.lo */
static inline int32_t dc_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* acc + a.hi * b.hi */
static inline int32_t dc_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* acc + a * b modulo 2^32 (the reference kernels' wrapping accumulator). */
static inline int32_t dc_mac(int32_t acc, int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(a * b));
}

/* A 32-bit load from any address (the cores allow unaligned LDR; memcpy becomes one LDR). */
static inline uint32_t dc_load32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void dc_store32(void *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* The 16-bit lanes (v, v) of an offset in [-255, 255]. */
static inline uint32_t dc_dup16(int32_t v)
{
    return ((uint32_t)v & 0xFFFFu) * 0x00010001u;
}

/* The bytes (v, v, v, v) of an activation bound in [-128, 127] (dc_dsp_clamp4's operands). */
static inline uint32_t dc_dup8(int32_t v)
{
    return ((uint32_t)v & 0xFFu) * 0x01010101u;
}

/* dc_dsp_rq_t.hi_shift values below 0: the two forms other than the fast one. */
#define DC_DSP_RQ_SLOW (-1)
#define DC_DSP_RQ_SHIFT0 (-2)

/* One output channel's requantization and output offset, prepared by dc_dsp_rq_prepare. */
typedef struct {
    int32_t multiplier;
    uint32_t k_lo;      /* the rounding constant K (top of this file) plus out_offset * 2^(31+r), low word */
    int32_t k_hi;       /* ... high word */
    int32_t hi_shift;   /* r - 1: the output is the sum's high word >> hi_shift; DC_DSP_RQ_SHIFT0: the shift-0
                         * form; DC_DSP_RQ_SLOW: use dc_requantize_s32 */
    int32_t shift;      /* as given (for hi_shift == -1) */
} dc_dsp_rq_t;

/* dc_dsp_rq1_sat and dc_dsp_rq2_sat read multiplier, (k_lo, k_hi) and hi_shift at these offsets. */
typedef char dc_dsp_rq_layout_check[(offsetof(dc_dsp_rq_t, k_lo) == 4 && offsetof(dc_dsp_rq_t, k_hi) == 8 &&
                                     offsetof(dc_dsp_rq_t, hi_shift) == 12) ? 1 : -1];

/* The per-call constants of the output stage. */
typedef struct {
    uint32_t sign_term;   /* 0x80000000 (-2^31 per negative accumulator) for DOUBLE, else 0 */
    int32_t act_min, act_max;
    int32_t out_offset;
    dc_rounding_t rounding;
    uint32_t lo4, hi4;    /* dc_dup8(act_min), dc_dup8(act_max) */
} dc_dsp_out_t;

static inline void dc_dsp_out_init(dc_dsp_out_t *o, dc_rounding_t rounding, int32_t out_offset, int32_t act_min,
                                   int32_t act_max)
{
    o->sign_term = rounding == DC_ROUNDING_DOUBLE ? 0x80000000u : 0u;
    o->act_min = act_min;
    o->act_max = act_max;
    o->out_offset = out_offset;
    o->rounding = rounding;
    o->lo4 = dc_dup8(act_min);
    o->hi4 = dc_dup8(act_max);
}

/* Fills q for (multiplier, shift) in the validated ranges ([0, 2^31), [-31, 30]) and an output offset
 * in [-255, 255]. The fast form needs 1 <= r <= 22: then |x*m| < 2^62, K < 2^53 and the folded offset
 * |out_offset * 2^(31+r)| < 2^61 cannot overflow the 64-bit sum. */
static inline void dc_dsp_rq_prepare(dc_dsp_rq_t *q, int32_t multiplier, int32_t shift, const dc_dsp_out_t *o)
{
    q->multiplier = multiplier;
    q->shift = shift;
    if (shift == 0 && (multiplier == 0 || multiplier >= (1 << 30))) {
        q->k_lo = 0x80000000u; /* 2^31 + out_offset * 2^32 */
        q->k_hi = o->out_offset;
        q->hi_shift = DC_DSP_RQ_SHIFT0;
        return;
    }
    if (shift >= 0 || shift < -22) {
        q->k_lo = 0;
        q->k_hi = 0;
        q->hi_shift = DC_DSP_RQ_SLOW;
        return;
    }
    const int32_t r = -shift; /* 1 .. 22 */
    uint64_t k = (uint64_t)1 << (30 + r);
    if (o->rounding != DC_ROUNDING_SINGLE) {
        k += (uint64_t)1 << 30;
    }
    k += (uint64_t)((int64_t)o->out_offset * ((int64_t)1 << (31 + r)));
    q->k_lo = (uint32_t)k;
    q->k_hi = (int32_t)(k >> 32);
    q->hi_shift = r - 1;
}

/* The fast form's value (before the clamp) of accumulator acc for K = (k_hi, k_lo). */
static inline int32_t dc_dsp_rq_fast(int32_t acc, int32_t multiplier, uint32_t k_lo, int32_t k_hi, int32_t hi_shift,
                                     uint32_t sign_term)
{
    __asm__("smlal %0, %1, %2, %3" : "+r"(k_lo), "+r"(k_hi) : "r"(acc), "r"(multiplier));
    __asm__("smlal %0, %1, %2, %3" : "+r"(k_lo), "+r"(k_hi) : "r"((uint32_t)acc >> 31), "r"(sign_term));
    return k_hi >> hi_shift;
}

/* Saturate to [-128, 127] (one SSAT): the clamp when the activation range is the whole int8 range. */
static inline int8_t dc_ssat8(int32_t v)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(v));
    return (int8_t)r;
}

/* Clamp to [act_min, act_max]; full != 0 promises the range is [-128, 127] (one SSAT instead). */
static inline int8_t dc_dsp_clamp_range(int32_t v, int32_t act_min, int32_t act_max, int full)
{
    if (full) {
        return dc_ssat8(v);
    }
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}

static inline int8_t dc_dsp_clamp(int32_t v, int32_t act_min, int32_t act_max)
{
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}

/* The shift-0 form's value (before the clamp) of accumulator acc (top of this file). */
static inline int32_t dc_dsp_rq_shift0(int32_t acc, int32_t multiplier, uint32_t k_lo, int32_t k_hi)
{
    int32_t t;
    __asm__("ssat %0, #31, %1" : "=r"(t) : "r"(acc));
    t += t;
    __asm__("smlal %0, %1, %2, %3" : "+r"(k_lo), "+r"(k_hi) : "r"(t), "r"(multiplier));
    return k_hi;
}

/* The int8 output for accumulator acc (bias included) of a prepared channel. */
static inline int8_t dc_dsp_rq_output(int32_t acc, const dc_dsp_rq_t *q, const dc_dsp_out_t *o)
{
    int32_t v;
    if (q->hi_shift >= 0) {
        uint32_t lo = q->k_lo;
        int32_t hi = q->k_hi;
        __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(acc), "r"(q->multiplier));
        __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"((uint32_t)acc >> 31), "r"(o->sign_term));
        v = hi >> q->hi_shift;
    } else if (q->hi_shift == DC_DSP_RQ_SHIFT0) {
        v = dc_dsp_rq_shift0(acc, q->multiplier, q->k_lo, q->k_hi);
    } else {
        v = dc_add_sat_s32(dc_requantize_s32(acc, q->multiplier, q->shift, o->rounding), o->out_offset);
    }
    v = v < o->act_min ? o->act_min : v;
    v = v > o->act_max ? o->act_max : v;
    return (int8_t)v;
}

/* One fast channel's (hi_shift >= 0) value for accumulator a, saturated to [-128, 127] (the clamp to
 * the activation range, when narrower, follows in dc_dsp_clamp4): the sum of dc_dsp_rq_fast in
 * assembly, 8 instructions with the loads of the channel's constants. */
static inline int32_t dc_dsp_rq1_sat(int32_t a, const dc_dsp_rq_t *q, uint32_t sign_term)
{
    uint32_t m, lo, hi;
    int32_t r;
    __asm__("ldr    %[m], [%[q]]\n\t"
            "ldrd   %[lo], %[hi], [%[q], #4]\n\t"
            "smlal  %[lo], %[hi], %[a], %[m]\n\t"
            "lsr    %[m], %[a], #31\n\t"
            "smlal  %[lo], %[hi], %[m], %[s]\n\t"
            "ldr    %[m], [%[q], #12]\n\t"
            "asr    %[hi], %[hi], %[m]\n\t"
            "ssat   %[r], #8, %[hi]\n\t"
            : [r] "=r"(r), [m] "=&r"(m), [lo] "=&r"(lo), [hi] "=&r"(hi)
            : [a] "r"(a), [q] "r"(q), [s] "r"(sign_term), "m"(*q));
    return r;
}

/* Two accumulators a0, a1 of one fast channel, each replaced by its value saturated to [-128, 127]
 * (the constants loaded once: 14 instructions). */
static inline void dc_dsp_rq2_sat(int32_t *a0, int32_t *a1, const dc_dsp_rq_t *q, uint32_t sign_term)
{
    uint32_t m, lo0, hi0, lo1, hi1;
    __asm__("ldr    %[m], [%[q]]\n\t"
            "ldrd   %[lo0], %[hi0], [%[q], #4]\n\t"
            "ldrd   %[lo1], %[hi1], [%[q], #4]\n\t"
            "smlal  %[lo0], %[hi0], %[a0], %[m]\n\t"
            "smlal  %[lo1], %[hi1], %[a1], %[m]\n\t"
            "lsr    %[m], %[a0], #31\n\t"
            "smlal  %[lo0], %[hi0], %[m], %[s]\n\t"
            "lsr    %[m], %[a1], #31\n\t"
            "smlal  %[lo1], %[hi1], %[m], %[s]\n\t"
            "ldr    %[m], [%[q], #12]\n\t"
            "asr    %[hi0], %[hi0], %[m]\n\t"
            "asr    %[hi1], %[hi1], %[m]\n\t"
            "ssat   %[a0], #8, %[hi0]\n\t"
            "ssat   %[a1], #8, %[hi1]\n\t"
            : [a0] "+r"(*a0), [a1] "+r"(*a1), [m] "=&r"(m), [lo0] "=&r"(lo0), [hi0] "=&r"(hi0), [lo1] "=&r"(lo1),
              [hi1] "=&r"(hi1)
            : [q] "r"(q), [s] "r"(sign_term), "m"(*q));
}

/* The word of bytes (v0, v1, v2, v3) (each in [-128, 127]), clamped lane by lane to the bytes of lo4
 * and hi4 (dc_dup8 of the activation range): SSUB8 sets a lane's GE flag when the signed difference is
 * >= 0, SEL then picks the lane of its first operand. 8 instructions for 4 outputs. */
static inline uint32_t dc_dsp_clamp4(int32_t v0, int32_t v1, int32_t v2, int32_t v3, uint32_t lo4, uint32_t hi4)
{
    uint32_t w, t;
    __asm__("and    %[w], %[v0], #255\n\t"
            "bfi    %[w], %[v1], #8, #8\n\t"
            "bfi    %[w], %[v2], #16, #8\n\t"
            "bfi    %[w], %[v3], #24, #8\n\t"
            "ssub8  %[t], %[w], %[lo]\n\t"
            "sel    %[w], %[w], %[lo]\n\t"
            "ssub8  %[t], %[hi], %[w]\n\t"
            "sel    %[w], %[w], %[hi]\n\t"
            : [w] "=&r"(w), [t] "=&r"(t)
            : [v0] "r"(v0), [v1] "r"(v1), [v2] "r"(v2), [v3] "r"(v3), [lo] "r"(lo4), [hi] "r"(hi4)
            : "cc");
    return w;
}

#endif /* DC_ARM_DSP_H */
