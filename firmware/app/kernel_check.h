/* kernel_check.h: the `kcheck` console command: this build's int8 kernels against the reference kernels.
 *
 *   kcheck conv SEED N H W C KH KW FC COUT SH SW DH DW PH PW OH OW IOFF OOFF AMIN AMAX ROUND SLO SHI MMODE BBITS [SDELTA [ZMASK]]
 *   kcheck dw   SEED N H W C KH KW DM SH SW DH DW PH PW OH OW IOFF OOFF AMIN AMAX ROUND SLO SHI MMODE BBITS
 *               [SDELTA [ZMASK]]
 *   kcheck fc   SEED BATCHES DEPTH UNITS IOFF FOFF OOFF AMIN AMAX ROUND PERCH SLO SHI MMODE BBITS
 *
 * The device generates the case from SEED (dc_kcheck_fill, reproduced by dcagent/boards/kcheck.py):
 * input, filter, then BBITS-bit biases (0: no bias), then per channel the multiplier (MMODE 0: uniform
 * in [2^30, 2^31); 1: exactly 2^30, which makes rounding ties frequent) and the shift (uniform in
 * [SLO, SHI]). It runs the reference kernel (<op>_ref, profiling region DC_KCHECK_REF_REGION), then the
 * kernel built into this firmware (region DC_KCHECK_OPT_REGION), both with scratch memory of
 * get_buffer_size() + SDELTA bytes (default 0), and answers one line. ZMASK (default 0; a 32-bit mask
 * written as a signed decimal) makes the filter of every output channel oc with bit oc % 32 set all zero
 * (a pruned channel), after the whole case was generated:
 *
 *   kcheck ref=<status> opt=<status> outputs=N mismatches=M first=I ref_value=A opt_value=B overrun=0|1 crc=0x...
 *
 * first/ref_value/opt_value are -1/0/0 when M is 0; overrun=1 when the kernel wrote past its output.
 * When a status is an error, M counts the output bytes that kernel wrote anyway (it must be 0);
 * crc is the CRC-32 (IEEE) of the reference output. Usage errors answer "error: ...".
 */
#ifndef KERNEL_CHECK_H
#define KERNEL_CHECK_H

#include <stddef.h>

/* Profiling regions of the two kernel calls (docs/boards.md: dc_port_profile_mark). */
#define DC_KCHECK_REF_REGION 250u
#define DC_KCHECK_OPT_REGION 251u

/* Run the command whose arguments (after "kcheck") are the `len` bytes at `args`. */
void dc_kcheck_command(const char *args, size_t len);

#endif /* KERNEL_CHECK_H */
