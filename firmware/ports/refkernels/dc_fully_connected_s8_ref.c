/* dc_fully_connected_s8_ref.c: the reference fully connected layer again as dc_fully_connected_s8_ref, for `kcheck` (app/kernel_check.c).
 *
 * firmware/Makefile builds these objects by compiling lib/src/kernels/dc_fully_connected_s8.c a second time with
 * -Ddc_fully_connected_s8=dc_fully_connected_s8_ref; PlatformIO (firmware/platformio.ini) has no per-object flags, so
 * this file makes the same renaming and includes the reference source. Not used by the Makefile.
 */
#define dc_fully_connected_s8 dc_fully_connected_s8_ref
#define dc_fully_connected_s8_get_buffer_size dc_fully_connected_s8_get_buffer_size_ref
#include "../../lib/src/kernels/dc_fully_connected_s8.c"
