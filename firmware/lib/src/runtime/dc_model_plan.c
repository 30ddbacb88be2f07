/* dc_model_plan.c: static memory planner: greedy by size over buffer lifetimes (as TFLite Micro's GreedyMemoryPlanner). */
#include "dc_model_internal.h"

static size_t aligned(size_t bytes)
{
    return (bytes + (DC_MODEL_PLAN_ALIGN - 1u)) & ~(size_t)(DC_MODEL_PLAN_ALIGN - 1u);
}

static int needs_buffer(const dc_model_t *m, const dc_model_tensor_t *t, const dc_model_life_t *l, uint32_t index)
{
    if (l->alias != DC_MODEL_NONE || l->first == INT16_MIN) {
        return 0; /* shares another buffer, or never used */
    }
    if (index < m->coded_count) {
        /* a streamed bias is read a chunk at a time into its op's weight buffer */
        return m->mode != DC_MODEL_DECODE_AT_LOAD && t->source == DC_TENSOR_CONST && !dc_model_streamed_bias(t);
    }
    return 1;
}

/* Bytes of a planned buffer: the tensor, then its op's multipliers and scratch (streamed weights: `extra`
 * holds the chunk too). */
size_t dc_model_plan_buffer_bytes(const dc_model_tensor_t *t)
{
    return (t->stream != 0u ? 0u : aligned(dc_model_bytes(t))) + t->extra;
}

/* The greedy order's key (unaligned, as TFLite Micro sorts by requested size). */
static size_t order_key(const dc_model_tensor_t *t)
{
    return (size_t)(t->stream != 0u ? 0u : dc_model_bytes(t)) + t->extra;
}

static int overlap_in_time(const dc_model_life_t *a, const dc_model_life_t *b)
{
    return a->first <= b->last && b->first <= a->last;
}

void dc_model_plan_lifetimes(dc_model_t *m)
{
    /* a shared buffer lives as long as every tensor on it */
    for (uint32_t i = 0; i < m->operand_count; i++) {
        dc_model_life_t *t = &m->life[i];
        t->planned = 0;
        t->placed = 0;
        if (t->alias != DC_MODEL_NONE && t->first != INT16_MIN) {
            dc_model_life_t *root = &m->life[t->alias];
            root->first = t->first < root->first ? t->first : root->first;
            root->last = t->last > root->last ? t->last : root->last;
        }
    }
    for (uint32_t i = 0; i < m->operand_count; i++) {
        m->life[i].planned = (uint8_t)needs_buffer(m, &m->tensors[i], &m->life[i], i);
    }
}

dc_status_t dc_model_plan(dc_model_t *m, size_t *planned_bytes)
{
    size_t total = 0;
    dc_model_plan_lifetimes(m);
    /* Place the largest unplaced buffer at the lowest offset free during its lifetime.
     * O(n^2) selection and O(n^2) placement per buffer, n <= DC_MODEL_MAX_OPERANDS; no scratch memory. */
    for (;;) {
        uint32_t next = UINT32_MAX;
        size_t next_key = 0;
        for (uint32_t i = 0; i < m->operand_count; i++) {
            const dc_model_life_t *t = &m->life[i];
            size_t key = order_key(&m->tensors[i]);
            if (t->planned && !t->placed && (next == UINT32_MAX || key > next_key)) {
                next = i;
                next_key = key;
            }
        }
        if (next == UINT32_MAX) {
            break;
        }
        dc_model_life_t *life = &m->life[next];
        size_t size = dc_model_plan_buffer_bytes(&m->tensors[next]), offset = 0;
        int moved = 1;
        while (moved) {
            moved = 0;
            for (uint32_t i = 0; i < m->operand_count; i++) {
                const dc_model_life_t *p = &m->life[i];
                if (!p->placed || !overlap_in_time(p, life)) {
                    continue;
                }
                size_t p_end = (size_t)p->offset + dc_model_plan_buffer_bytes(&m->tensors[i]);
                if (offset < p_end && p->offset < offset + size) {
                    offset = p_end;
                    moved = 1;
                }
            }
        }
        if (offset > UINT32_MAX - size) {
            return DC_ERR_OVERSIZE;
        }
        life->offset = (uint32_t)offset;
        life->placed = 1;
        if (offset + size > total) {
            total = offset + size;
        }
    }
    *planned_bytes = total;
    return DC_OK;
}
