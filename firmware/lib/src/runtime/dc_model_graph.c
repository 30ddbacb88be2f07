/* dc_model_graph.c: the graph builder: tensor and op tables from the container metadata, every reference checked. */
#include <string.h>

#include "dc_model_internal.h"

static const char *const op_names[DC_OP_COUNT] = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "MUL",
    "RESHAPE", "SOFTMAX", "LOGISTIC", "RELU", "RELU6", "HARD_SWISH", "PAD", "CONCATENATION", "MEAN", "QUANTIZE",
};

/* Operand counts per kind, and which input positions are parameters no kernel reads. */
static const uint8_t min_inputs[DC_OP_COUNT] = {2, 2, 2, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1};
static const uint8_t max_inputs[DC_OP_COUNT] = {3, 3, 3, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 2, 16, 2, 1};

const char *dc_model_op_name(const dc_model_t *m, uint32_t op_index)
{
    if (m == NULL || !m->loaded || op_index >= m->op_count) {
        return NULL;
    }
    return op_names[m->ops[op_index].kind];
}

static int is_param_position(uint8_t kind, uint32_t position)
{
    return position == 1 && (kind == DC_OP_RESHAPE || kind == DC_OP_PAD || kind == DC_OP_MEAN);
}

void *dc_model_bump(dc_model_bump_t *b, size_t bytes)
{
    size_t start = (b->used + (DC_MODEL_ARENA_ALIGN - 1u)) & ~(size_t)(DC_MODEL_ARENA_ALIGN - 1u);
    if (bytes > SIZE_MAX - start) {
        b->used = SIZE_MAX;
        return NULL;
    }
    b->used = start + bytes;
    if (b->base == NULL || b->used > b->capacity) {
        return NULL;
    }
    return b->base + start;
}

static dc_status_t fill_tensor(dc_model_tensor_t *t, dc_model_life_t *l, const dc_tensor_info_t *info, int coded)
{
    uint64_t count = 1;
    memset(t, 0, sizeof *t);
    memset(l, 0, sizeof *l);
    l->alias = DC_MODEL_NONE;
    l->first = INT16_MIN; /* not yet available */
    l->last = INT16_MIN;
    t->rank = (uint8_t)info->rank;
    t->dtype = info->level_dtype;
    for (uint32_t i = 0; i < info->rank; i++) {
        count *= info->shape[i];
    }
    for (uint32_t i = 0; i < DC_MODEL_MAX_RANK; i++) {
        t->dims[i] = 1;
    }
    if (info->rank <= DC_MODEL_MAX_RANK) {
        for (uint32_t i = 0; i < info->rank; i++) {
            t->dims[DC_MODEL_MAX_RANK - info->rank + i] = (int32_t)info->shape[i];
        }
    } else {
        t->dims[DC_MODEL_MAX_RANK - 1u] = (int32_t)count; /* <= 2^24: checked by the container reader */
    }
    l->channel_count = info->channel_count;
    if (info->channel_count > 0) {
        t->scales = info->scale;
        t->compact_scale = info->scale_bytes == 1u;
        t->one_scale = info->channel_count == 1u;
        t->scale_exp = (int8_t)info->scale_exp; /* -126..120 */
        l->zero_point = info->zero_point;
    }
    if (coded) {
        t->rule = info->rule;
        t->bits = info->bits;
        t->step = info->rule == DC_LEVEL_RULE_CODEBOOK ? (uint8_t)(info->codebook_length - 1u) : info->step;
        t->zero_index = info->zero_index;
        t->q.codebook = info->codebook;
    } else {
        t->q.zero_point = l->zero_point;
    }
    return DC_OK;
}

static dc_status_t read_operand_list(dc_cbor_reader_t *r, uint32_t limit, uint16_t *out, uint32_t *count)
{
    uint64_t n;
    if (dc_cbor_read_array(r, &n) != DC_OK) {
        return DC_ERR_METADATA;
    }
    if (n > limit) {
        return DC_ERR_OVERSIZE;
    }
    for (uint64_t i = 0; i < n; i++) {
        int64_t v;
        if (dc_cbor_read_int(r, &v) != DC_OK) {
            return DC_ERR_METADATA;
        }
        out[i] = (v < 0 || v >= 0xFFFF) ? DC_MODEL_NONE : (uint16_t)v;
        if (v < -1 || v >= 0xFFFF) {
            return DC_ERR_GRAPH;
        }
    }
    *count = (uint32_t)n;
    return DC_OK;
}

/* One node: kind, operands, options position. `pool` has room for its inputs. */
static dc_status_t read_node(dc_model_t *m, dc_cbor_reader_t *r, dc_model_op_t *op, uint16_t *pool,
                             uint32_t *options)
{
    uint64_t count;
    unsigned seen = 0;
    uint32_t n_inputs = 0, n_outputs = 0;
    uint16_t outputs[2];
    int kind = -1;
    if (dc_cbor_read_map(r, &count) != DC_OK) {
        return DC_ERR_METADATA;
    }
    for (uint64_t k = 0; k < count; k++) {
        unsigned key;
        dc_status_t status = DC_OK;
        if (dc_container_read_key(r, DC_MAP_NODE, &key) != DC_OK) {
            return DC_ERR_METADATA;
        }
        if (key == DC_KEY_NODE_KIND) { /* op code: dc_op_kind_t */
            uint64_t code;
            if (dc_cbor_read_uint(r, &code) != DC_OK) {
                return DC_ERR_METADATA;
            }
            kind = code < (uint64_t)DC_OP_COUNT ? (int)code : -1;
            seen |= 1u;
        } else if (key == DC_KEY_NODE_INPUTS) {
            status = read_operand_list(r, DC_MODEL_MAX_OP_INPUTS, pool, &n_inputs);
            seen |= 2u;
        } else if (key == DC_KEY_NODE_OUTPUTS) {
            status = read_operand_list(r, 2u, outputs, &n_outputs);
            if (status == DC_ERR_OVERSIZE) {
                status = DC_ERR_GRAPH; /* every op has exactly one output */
            }
            seen |= 4u;
        } else {
            *options = (uint32_t)r->position;
            status = dc_cbor_skip(r) == DC_OK ? DC_OK : DC_ERR_METADATA;
            seen |= 8u;
        }
        if (status != DC_OK) {
            return status;
        }
    }
    if (seen != 15u) {
        return DC_ERR_METADATA;
    }
    if (kind < 0) {
        return DC_ERR_OP;
    }
    op->kind = (uint8_t)kind;
    op->input_count = (uint8_t)n_inputs;
    if (n_outputs != 1 || outputs[0] == DC_MODEL_NONE || outputs[0] >= m->operand_count) {
        return DC_ERR_GRAPH;
    }
    if (n_inputs < min_inputs[kind] || n_inputs > max_inputs[kind]) {
        return DC_ERR_GRAPH;
    }
    for (uint32_t i = 0; i < n_inputs; i++) {
        int optional = i == 2 && (kind == DC_OP_CONV_2D || kind == DC_OP_DEPTHWISE_CONV_2D ||
                                  kind == DC_OP_FULLY_CONNECTED);
        if (pool[i] == DC_MODEL_NONE ? !optional : pool[i] >= m->operand_count) {
            return DC_ERR_GRAPH;
        }
    }
    op->output = outputs[0];
    return DC_OK;
}

/* Count node inputs (to size the operand pool) without building anything. */
static dc_status_t count_inputs(dc_cbor_reader_t nodes, uint64_t n, uint32_t *total)
{
    *total = 0;
    for (uint64_t i = 0; i < n; i++) {
        dc_cbor_reader_t r = nodes;
        uint64_t items;
        if (dc_container_find_key(&r, DC_MAP_NODE, DC_KEY_NODE_INPUTS) != DC_OK ||
            dc_cbor_read_array(&r, &items) != DC_OK) {
            return DC_ERR_METADATA;
        }
        if (items > DC_MODEL_MAX_OP_INPUTS) {
            return DC_ERR_OVERSIZE;
        }
        *total += (uint32_t)items;
        if (dc_cbor_skip(&nodes) != DC_OK) {
            return DC_ERR_METADATA;
        }
    }
    return DC_OK;
}

/* Availability, single assignment, lifetimes; constants used by kernels vs parameters only. */
static dc_status_t check_dataflow(dc_model_t *m)
{
    for (uint32_t i = 0; i < m->input_count; i++) {
        dc_model_life_t *t = &m->life[m->inputs[i]];
        if (t->first != INT16_MIN) {
            return DC_ERR_GRAPH; /* listed twice */
        }
        t->first = -1;
        t->last = -1;
    }
    for (uint32_t k = 0; k < m->op_count; k++) {
        dc_model_op_t *op = &m->ops[k];
        for (uint32_t i = 0; i < op->input_count; i++) {
            uint16_t index = m->operand_pool[op->first_input + i];
            dc_model_tensor_t *c;
            dc_model_life_t *t;
            if (index == DC_MODEL_NONE) {
                continue;
            }
            c = &m->tensors[index];
            t = &m->life[index];
            if (index < m->coded_count) {
                if (is_param_position(op->kind, i)) {
                    if (c->source != DC_TENSOR_CONST && c->source != DC_TENSOR_IN_PLACE) {
                        c->source = DC_TENSOR_PARAM;
                    }
                    continue;
                }
                if (c->source == DC_TENSOR_PARAM || t->first == INT16_MIN) {
                    t->first = (int16_t)k; /* first use (PER_LAYER: decoded then) */
                }
                c->source = c->source == DC_TENSOR_IN_PLACE ? DC_TENSOR_IN_PLACE : DC_TENSOR_CONST;
            } else if (t->first == INT16_MIN) {
                return DC_ERR_GRAPH; /* used before it is computed */
            }
            t->last = (int16_t)k;
        }
        if (op->output < m->coded_count) {
            return DC_ERR_GRAPH; /* a constant cannot be computed */
        }
        dc_model_life_t *out = &m->life[op->output];
        if (out->first != INT16_MIN) {
            return DC_ERR_GRAPH; /* computed twice, or a graph input */
        }
        out->first = (int16_t)k;
        out->last = (int16_t)k;
    }
    for (uint32_t i = 0; i < m->output_count; i++) {
        dc_model_life_t *t = &m->life[m->outputs[i]];
        if (t->first == INT16_MIN) {
            return DC_ERR_GRAPH; /* never computed */
        }
        t->last = (int16_t)(m->op_count > 0 ? m->op_count - 1u : 0u);
    }
    return DC_OK;
}

static dc_status_t read_io(dc_model_t *m, dc_cbor_reader_t r, uint16_t *out, uint32_t *count)
{
    dc_status_t status = read_operand_list(&r, DC_MODEL_MAX_IO, out, count);
    if (status != DC_OK) {
        return status;
    }
    for (uint32_t i = 0; i < *count; i++) {
        if (out[i] == DC_MODEL_NONE || out[i] < m->coded_count || out[i] >= m->operand_count) {
            return DC_ERR_GRAPH; /* graph inputs/outputs are values */
        }
    }
    return DC_OK;
}

dc_status_t dc_model_build_graph(dc_model_t *m, dc_model_bump_t *b)
{
    const dc_container_t *c = &m->container;
    dc_cbor_reader_t top, graph, nodes, values, tensors, inputs, outputs;
    uint64_t n_nodes, n_values, n_tensors;
    uint32_t total_inputs = 0;
    dc_status_t status;
    if (dc_container_metadata(c, &top) != DC_OK) {
        return DC_ERR_METADATA;
    }
    graph = top;
    tensors = top;
    if (dc_container_find_key(&graph, DC_MAP_METADATA, DC_KEY_GRAPH) != DC_OK ||
        dc_container_find_key(&tensors, DC_MAP_METADATA, DC_KEY_TENSORS) != DC_OK) {
        return DC_ERR_METADATA;
    }
    nodes = graph;
    values = graph;
    inputs = graph;
    outputs = graph;
    if (dc_container_find_key(&nodes, DC_MAP_GRAPH, DC_KEY_GRAPH_NODES) != DC_OK ||
        dc_container_find_key(&values, DC_MAP_GRAPH, DC_KEY_GRAPH_VALUES) != DC_OK ||
        dc_container_find_key(&inputs, DC_MAP_GRAPH, DC_KEY_GRAPH_INPUTS) != DC_OK ||
        dc_container_find_key(&outputs, DC_MAP_GRAPH, DC_KEY_GRAPH_OUTPUTS) != DC_OK) {
        return DC_ERR_METADATA;
    }
    if (dc_cbor_read_array(&nodes, &n_nodes) != DC_OK || dc_cbor_read_array(&values, &n_values) != DC_OK ||
        dc_cbor_read_array(&tensors, &n_tensors) != DC_OK || n_tensors != c->tensor_count) {
        return DC_ERR_METADATA;
    }
    if (n_nodes > DC_MODEL_MAX_OPS || n_nodes > INT16_MAX || n_values > DC_MODEL_MAX_OPERANDS ||
        n_tensors + n_values > DC_MODEL_MAX_OPERANDS || n_tensors + n_values >= DC_MODEL_NONE) {
        return DC_ERR_OVERSIZE;
    }
    m->op_count = (uint32_t)n_nodes;
    m->coded_count = (uint32_t)n_tensors;
    m->operand_count = (uint32_t)(n_tensors + n_values);
    status = count_inputs(nodes, n_nodes, &total_inputs);
    if (status != DC_OK) {
        return status;
    }
    /* the load-time records at the top of the arena, the persistent tables from the bottom */
    size_t load_bytes = dc_model_load_bytes(m);
    int fits = b->base != NULL && b->capacity >= load_bytes;
    b->capacity = fits ? (b->capacity - load_bytes) & ~(size_t)7u : 0u;
    m->life = fits ? (dc_model_life_t *)(void *)(b->base + b->capacity) : NULL;
    m->options = m->life != NULL ? (uint32_t *)(void *)(m->life + m->operand_count) : NULL;
    m->tensors = dc_model_bump(b, sizeof(dc_model_tensor_t) * m->operand_count);
    m->ops = dc_model_bump(b, sizeof(dc_model_op_t) * (m->op_count > 0 ? m->op_count : 1u));
    m->operand_pool = dc_model_bump(b, sizeof(uint16_t) * (total_inputs > 0 ? total_inputs : 1u));
    if (m->tensors == NULL || m->ops == NULL || m->operand_pool == NULL || m->life == NULL) {
        b->used = ((b->used + 7u) & ~(size_t)7u) + load_bytes; /* a lower bound */
        return DC_ERR_ARENA;
    }
    for (uint32_t i = 0; i < m->operand_count; i++) {
        dc_tensor_info_t info;
        dc_cbor_reader_t *r = i < m->coded_count ? &tensors : &values;
        if (dc_container_parse_tensor_info(r, &info) != DC_OK) {
            return DC_ERR_METADATA;
        }
        status = fill_tensor(&m->tensors[i], &m->life[i], &info, i < m->coded_count);
        if (status != DC_OK) {
            return status;
        }
        if (i < m->coded_count) {
            dc_tensor_entry_t entry;
            dc_model_tensor_t *t = &m->tensors[i];
            if (dc_container_tensor(c, i, &entry) != DC_OK) {
                return DC_ERR_INTERNAL;
            }
            if (entry.tensor_flags & DC_TENSOR_FLAG_DELTA) {
                return DC_ERR_UNSUPPORTED; /* a delta needs its base: apply it before loading */
            }
            t->source = DC_TENSOR_PARAM; /* until a kernel is found to read it */
            if (entry.codec == DC_CODEC_RAW && t->rule == DC_LEVEL_RULE_NONE && ((uintptr_t)entry.payload % 4u) == 0u) {
                t->data = (int8_t *)(uintptr_t)entry.payload; /* read-only: kernels take const inputs */
                t->source = DC_TENSOR_IN_PLACE;
            }
        }
    }
    uint32_t used = 0;
    for (uint32_t k = 0; k < m->op_count; k++) {
        dc_model_op_t *op = &m->ops[k];
        memset(op, 0, sizeof *op);
        op->first_input = (uint16_t)used;
        status = read_node(m, &nodes, op, &m->operand_pool[used], &m->options[k]);
        if (status != DC_OK) {
            return status;
        }
        used += op->input_count;
    }
    status = read_io(m, inputs, m->inputs, &m->input_count);
    if (status == DC_OK) {
        status = read_io(m, outputs, m->outputs, &m->output_count);
    }
    if (status != DC_OK) {
        return status;
    }
    return check_dataflow(m);
}
