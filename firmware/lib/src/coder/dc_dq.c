/* dc_dq.c: the 8-state dependent-quantization state machine (docs/coder.md, "Dependent quantization"). */
#include "dc_levels_ctx.h"

/* next state = dc_dq_next_state[2 * state + (|q| & 1)]; the table of MPEG NNC's 8-state TCQ. */
const uint8_t dc_dq_next_state[16] = {
    0, 2, /* state 0 */
    7, 5, /* state 1 */
    1, 3, /* state 2 */
    6, 4, /* state 3 */
    2, 0, /* state 4 */
    5, 7, /* state 5 */
    3, 1, /* state 6 */
    4, 6, /* state 7 */
};
