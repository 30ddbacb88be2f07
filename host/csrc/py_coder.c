/* py_coder.c: the `host._coder` extension: level payload encode/decode for host/coder.py.
 *
 * Levels cross the boundary as buffers of native-endian int32 (host/coder.py converts numpy
 * arrays). Errors raise host.errors.CodecError with `status` set to the C status name.
 * Parameters cross as a tuple (pred_mode, dq_flag, sign_bypass, row_skip, rem_ctx, sig_skip, window,
 * start_base, col_stride, row_len); a fast-syntax layout as (prec, n_classes, nbits tuple).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#include "dc_levels.h"
#include "dc_levels_enc.h"
#include "dc_levels_fast_enc.h"
#include "dc_status.h"

static PyObject *codec_error; /* host.errors.CodecError */

static PyObject *raise_status(dc_status_t st, const char *what)
{
    const char *name = dc_status_name(st);
    PyObject *msg = PyUnicode_FromFormat("%s: %s", what, name);
    if (msg == NULL) {
        return NULL;
    }
    PyObject *args = PyTuple_Pack(1, msg);
    Py_DECREF(msg);
    PyObject *kwargs = Py_BuildValue("{s:s}", "status", name);
    if (args != NULL && kwargs != NULL) {
        PyObject *exc = PyObject_Call(codec_error, args, kwargs);
        if (exc != NULL) {
            PyErr_SetObject(codec_error, exc);
            Py_DECREF(exc);
        }
    }
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    return NULL;
}

static PyObject *params_tuple(const dc_levels_params_t *p)
{
    return Py_BuildValue("(iiiiiiiiii)", p->pred_mode, p->dq_flag, p->sign_bypass, p->row_skip, p->rem_ctx,
                         p->sig_skip, p->window, p->start_base, p->col_stride, p->row_len);
}

static int parse_params(PyObject *tuple, dc_levels_params_t *p)
{
    int v[10];
    if (!PyArg_ParseTuple(tuple, "iiiiiiiiii", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
                          &v[9])) {
        return -1;
    }
    for (int i = 0; i < 10; i++) {
        if (v[i] < 0 || v[i] > (i >= 8 ? (int)DC_LEVELS_MAX_STRIDE : 15)) {
            raise_status(DC_ERR_PARAMS, "coder parameter out of range");
            return -1;
        }
    }
    p->pred_mode = (uint8_t)v[0];
    p->dq_flag = (uint8_t)v[1];
    p->sign_bypass = (uint8_t)v[2];
    p->row_skip = (uint8_t)v[3];
    p->rem_ctx = (uint8_t)v[4];
    p->sig_skip = (uint8_t)v[5];
    p->window = (uint8_t)v[6];
    p->start_base = (uint8_t)v[7];
    p->col_stride = (uint16_t)v[8];
    p->row_len = (uint16_t)v[9];
    p->fast = 0u;
    if (dc_levels_check_params(p) != DC_OK) {
        raise_status(DC_ERR_PARAMS, "invalid coder parameters");
        return -1;
    }
    return 0;
}

/* Get an int32 buffer; base may be None (then *buf->buf stays NULL). */
static int get_levels(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) != 0) {
        return -1;
    }
    if (view->len % 4 != 0 || view->len / 4 > (Py_ssize_t)UINT32_MAX) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "%s must be a contiguous int32 buffer", what);
        return -1;
    }
    return 0;
}

/* Encode with *prm into a new bytes object (NULL with an exception set on failure). */
static PyObject *encode_with(const int32_t *levels, uint32_t count, const int32_t *base, const dc_levels_params_t *prm)
{
    size_t cap = 64u + (size_t)count * 2u;
    PyObject *result = NULL;
    for (;;) {
        uint8_t *out = malloc(cap);
        if (out == NULL) {
            return PyErr_NoMemory();
        }
        size_t out_len = 0;
        dc_status_t st;
        Py_BEGIN_ALLOW_THREADS
        st = dc_levels_encode(levels, count, base, prm, out, cap, &out_len);
        Py_END_ALLOW_THREADS
        if (st == DC_OK) {
            result = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)out_len);
        }
        free(out);
        if (st == DC_ERR_BUFFER && cap < DC_LEVELS_ENC_BOUND(count)) {
            cap = DC_LEVELS_ENC_BOUND(count);
            continue;
        }
        if (st != DC_OK) {
            raise_status(st, "cannot encode levels");
        }
        return result;
    }
}

/* Get the levels and optional base buffers; both released by release_levels(). */
static int get_level_pair(PyObject *levels_obj, PyObject *base_obj, Py_buffer *lv, Py_buffer *bv)
{
    if (get_levels(levels_obj, lv, "levels") != 0) {
        return -1;
    }
    if (base_obj != Py_None && get_levels(base_obj, bv, "base") != 0) {
        PyBuffer_Release(lv);
        return -1;
    }
    if (bv->buf != NULL && bv->len != lv->len) {
        PyBuffer_Release(lv);
        PyBuffer_Release(bv);
        raise_status(DC_ERR_ARG, "base and levels differ in length");
        return -1;
    }
    return 0;
}

static void release_levels(Py_buffer *lv, Py_buffer *bv)
{
    PyBuffer_Release(lv);
    if (bv->buf != NULL) {
        PyBuffer_Release(bv);
    }
}

/* encode(levels_i32, base_i32|None, params) -> payload bytes */
static PyObject *py_encode(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *levels_obj, *base_obj, *ptuple;
    if (!PyArg_ParseTuple(args, "OOO", &levels_obj, &base_obj, &ptuple)) {
        return NULL;
    }
    dc_levels_params_t prm;
    if (parse_params(ptuple, &prm) != 0) {
        return NULL;
    }
    Py_buffer lv, bv = {0};
    if (get_level_pair(levels_obj, base_obj, &lv, &bv) != 0) {
        return NULL;
    }
    PyObject *result = encode_with(lv.buf, (uint32_t)(lv.len / 4), bv.buf, &prm);
    release_levels(&lv, &bv);
    return result;
}

/* cost(levels_i32, base_i32|None, params) -> (estimated bits, context bins + bypass groups) */
static PyObject *py_cost(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *levels_obj, *base_obj, *ptuple;
    if (!PyArg_ParseTuple(args, "OOO", &levels_obj, &base_obj, &ptuple)) {
        return NULL;
    }
    dc_levels_params_t prm;
    if (parse_params(ptuple, &prm) != 0) {
        return NULL;
    }
    Py_buffer lv, bv = {0};
    if (get_level_pair(levels_obj, base_obj, &lv, &bv) != 0) {
        return NULL;
    }
    uint64_t cost = 0, work = 0;
    dc_status_t st;
    Py_BEGIN_ALLOW_THREADS
    st = dc_levels_cost(lv.buf, (uint32_t)(lv.len / 4), bv.buf, &prm, &cost, &work);
    Py_END_ALLOW_THREADS
    release_levels(&lv, &bv);
    if (st != DC_OK) {
        return raise_status(st, "cannot cost levels");
    }
    return Py_BuildValue("(dK)", (double)cost / 256.0, (unsigned long long)work);
}

/* Choose parameters into *best; returns 0, or -1 with an exception set. */
static int choose_params(Py_buffer *lv, Py_buffer *bv, int dq, unsigned long kernel_len, unsigned long row_len,
                         unsigned long effort, dc_levels_params_t *best)
{
    dc_status_t st;
    Py_BEGIN_ALLOW_THREADS
    st = dc_levels_choose(lv->buf, (uint32_t)(lv->len / 4), bv->buf, dq, (uint32_t)kernel_len, (uint32_t)row_len,
                          (unsigned)effort, best);
    Py_END_ALLOW_THREADS
    if (st != DC_OK) {
        raise_status(st, "cannot choose coder parameters");
        return -1;
    }
    return 0;
}

/* choose(levels_i32, base_i32|None, dq, kernel_len, row_len, effort) -> params */
static PyObject *py_choose(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *levels_obj, *base_obj;
    int dq;
    unsigned long kernel_len, row_len, effort;
    if (!PyArg_ParseTuple(args, "OOpkkk", &levels_obj, &base_obj, &dq, &kernel_len, &row_len, &effort)) {
        return NULL;
    }
    Py_buffer lv, bv = {0};
    if (get_level_pair(levels_obj, base_obj, &lv, &bv) != 0) {
        return NULL;
    }
    dc_levels_params_t best;
    int rc = choose_params(&lv, &bv, dq, kernel_len, row_len, effort, &best);
    release_levels(&lv, &bv);
    return rc == 0 ? params_tuple(&best) : NULL;
}

/* encode_auto(levels_i32, base_i32|None, dq, kernel_len, row_len, effort) -> payload bytes */
static PyObject *py_encode_auto(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *levels_obj, *base_obj;
    int dq;
    unsigned long kernel_len, row_len, effort;
    if (!PyArg_ParseTuple(args, "OOpkkk", &levels_obj, &base_obj, &dq, &kernel_len, &row_len, &effort)) {
        return NULL;
    }
    Py_buffer lv, bv = {0};
    if (get_level_pair(levels_obj, base_obj, &lv, &bv) != 0) {
        return NULL;
    }
    dc_levels_params_t best;
    PyObject *result = NULL;
    if (choose_params(&lv, &bv, dq, kernel_len, row_len, effort, &best) == 0) {
        result = encode_with(lv.buf, (uint32_t)(lv.len / 4), bv.buf, &best);
    }
    release_levels(&lv, &bv);
    return result;
}

/* Parse a layout tuple (prec, n_classes, (nbits...)) into *l; -1 with an exception. */
static int parse_layout(PyObject *obj, dc_levels_fast_layout_t *l)
{
    int prec, n;
    PyObject *nb;
    if (!PyArg_ParseTuple(obj, "iiO", &prec, &n, &nb)) {
        return -1;
    }
    memset(l, 0, sizeof(*l));
    PyObject *seq = PySequence_Fast(nb, "nbits must be a sequence");
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
    if (prec < 1 || prec > (int)DC_LEVELS_FAST_MAX_PREC || n < 1 || n > (int)DC_LEVELS_FAST_MAX_CLASSES ||
        len != n) {
        Py_DECREF(seq);
        raise_status(DC_ERR_PARAMS, "fast layout out of range");
        return -1;
    }
    l->prec = (uint8_t)prec;
    l->n_classes = (uint8_t)n;
    for (Py_ssize_t i = 0; i < len; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        if (v < 0 || v > 15) {
            Py_DECREF(seq);
            raise_status(DC_ERR_PARAMS, "fast layout nbits out of range");
            return -1;
        }
        l->nbits[i] = (uint8_t)v;
    }
    Py_DECREF(seq);
    return 0;
}

static PyObject *layout_tuple(const dc_levels_fast_layout_t *l)
{
    PyObject *nb = PyTuple_New(l->n_classes);
    if (nb == NULL) {
        return NULL;
    }
    for (unsigned i = 0; i < l->n_classes; i++) {
        PyTuple_SET_ITEM(nb, i, PyLong_FromLong(i ? l->nbits[i] : 0));
    }
    return Py_BuildValue("(iiN)", l->prec, l->n_classes, nb);
}

/* encode_fast(levels_i32, layout|None, row_len) -> payload bytes (layout chosen when None;
 * row_len 0: no row skipping) */
static PyObject *py_encode_fast(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *levels_obj, *layout_obj;
    unsigned long row_len = 0;
    if (!PyArg_ParseTuple(args, "OO|k", &levels_obj, &layout_obj, &row_len)) {
        return NULL;
    }
    if (row_len > 65535ul) {
        return raise_status(DC_ERR_ARG, "row_len must be 0..65535");
    }
    Py_buffer lv;
    if (get_levels(levels_obj, &lv, "levels") != 0) {
        return NULL;
    }
    const int32_t *levels = lv.buf;
    uint32_t count = (uint32_t)(lv.len / 4);
    dc_levels_fast_layout_t layout;
    dc_status_t st = DC_OK;
    PyObject *result = NULL;
    if (layout_obj == Py_None) {
        Py_BEGIN_ALLOW_THREADS
        st = dc_levels_fast_choose(levels, count, (uint32_t)row_len, &layout);
        Py_END_ALLOW_THREADS
    } else if (parse_layout(layout_obj, &layout) != 0) {
        PyBuffer_Release(&lv);
        return NULL;
    }
    size_t cap = DC_LEVELS_FAST_ENC_BOUND(count);
    uint8_t *out = st == DC_OK ? malloc(cap) : NULL;
    if (st == DC_OK && out == NULL) {
        PyBuffer_Release(&lv);
        return PyErr_NoMemory();
    }
    size_t out_len = 0;
    if (st == DC_OK) {
        Py_BEGIN_ALLOW_THREADS
        st = dc_levels_fast_encode(levels, count, &layout, (uint32_t)row_len, out, cap, &out_len);
        Py_END_ALLOW_THREADS
    }
    if (st == DC_OK) {
        result = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)out_len);
    } else {
        raise_status(st, "cannot encode levels (fast syntax)");
    }
    free(out);
    PyBuffer_Release(&lv);
    return result;
}

/* fast_layout(levels_i32) -> the layout dc_levels_fast_choose picks */
static PyObject *py_fast_layout(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer lv;
    if (get_levels(arg, &lv, "levels") != 0) {
        return NULL;
    }
    dc_levels_fast_layout_t layout;
    dc_status_t st;
    Py_BEGIN_ALLOW_THREADS
    st = dc_levels_fast_choose(lv.buf, (uint32_t)(lv.len / 4), 0u, &layout);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&lv);
    if (st != DC_OK) {
        return raise_status(st, "cannot choose a fast layout");
    }
    return layout_tuple(&layout);
}

/* fast_header(payload) -> None for a CABAC payload, else (prec, n_classes, rans_words, raw_words, header_len,
 * row_len) (row_len 0: no row skipping) */
static PyObject *py_fast_header(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer pv;
    if (PyObject_GetBuffer(arg, &pv, PyBUF_SIMPLE) != 0) {
        return NULL;
    }
    dc_levels_params_t prm;
    size_t header_len = 0;
    dc_status_t st = dc_levels_payload_params(pv.buf, (size_t)pv.len, &prm, &header_len);
    static dc_levels_fast_t tab; /* 760 B: not on the stack; the GIL serialises callers */
    if (st == DC_OK && prm.fast) {
        st = dc_levels_fast_header(pv.buf, (size_t)pv.len, &prm, &header_len, &tab);
    }
    PyBuffer_Release(&pv);
    if (st != DC_OK) {
        return raise_status(st, "bad payload header");
    }
    if (!prm.fast) {
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(iikknk)", tab.prec, tab.n_classes, (unsigned long)tab.rans_words,
                         (unsigned long)tab.raw_words, (Py_ssize_t)header_len, (unsigned long)tab.row_len);
}

static PyObject *py_params(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer pv;
    if (PyObject_GetBuffer(arg, &pv, PyBUF_SIMPLE) != 0) {
        return NULL;
    }
    dc_levels_params_t prm;
    size_t header_len = 0;
    dc_status_t st = dc_levels_payload_params(pv.buf, (size_t)pv.len, &prm, &header_len);
    PyBuffer_Release(&pv);
    if (st != DC_OK) {
        return raise_status(st, "bad payload header");
    }
    return params_tuple(&prm);
}

/* decode(payload, count, base_or_None, slices_or_None) -> bytearray of count int32 */
static PyObject *py_decode(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer pv;
    unsigned long long count_ull;
    PyObject *base_obj, *slices_obj;
    if (!PyArg_ParseTuple(args, "y*KOO", &pv, &count_ull, &base_obj, &slices_obj)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_buffer bv = {0};
    uint32_t *slices = NULL;
    Py_ssize_t n_slices = 0;
    dc_levels_col_t *cols = NULL;
    dc_levels_dec_t *dec = NULL;
    if (count_ull > UINT32_MAX) {
        raise_status(DC_ERR_ARG, "level count out of range");
        goto done;
    }
    uint32_t count = (uint32_t)count_ull;
    if (base_obj != Py_None) {
        if (get_levels(base_obj, &bv, "base") != 0) {
            goto done;
        }
        if ((uint64_t)bv.len != (uint64_t)count * 4u) {
            raise_status(DC_ERR_ARG, "base and count differ");
            goto done;
        }
    }
    if (slices_obj != Py_None) {
        PyObject *seq = PySequence_Fast(slices_obj, "slices must be a sequence");
        if (seq == NULL) {
            goto done;
        }
        n_slices = PySequence_Fast_GET_SIZE(seq);
        slices = malloc(sizeof(*slices) * (size_t)(n_slices > 0 ? n_slices : 1));
        for (Py_ssize_t i = 0; slices != NULL && i < n_slices; i++) {
            unsigned long v = PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(seq, i));
            if ((v == (unsigned long)-1 && PyErr_Occurred()) || v == 0 || v > UINT32_MAX) {
                Py_DECREF(seq);
                if (!PyErr_Occurred()) {
                    PyErr_SetString(PyExc_ValueError, "slice sizes must be positive");
                }
                goto done;
            }
            slices[i] = (uint32_t)v;
        }
        Py_DECREF(seq);
        if (slices == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    dc_levels_params_t prm;
    size_t header_len;
    dc_status_t st = dc_levels_payload_params(pv.buf, (size_t)pv.len, &prm, &header_len);
    if (st != DC_OK) {
        raise_status(st, "bad payload header");
        goto done;
    }
    dec = malloc(sizeof(*dec));
    cols = prm.col_stride ? malloc(sizeof(*cols) * prm.col_stride) : NULL;
    result = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)count * 4);
    if (dec == NULL || (prm.col_stride && cols == NULL) || result == NULL) {
        Py_CLEAR(result);
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        goto done;
    }
    int32_t *out = (int32_t *)PyByteArray_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    st = dc_levels_dec_init(dec, pv.buf, (size_t)pv.len, count, cols, prm.col_stride);
    uint32_t done_n = 0;
    Py_ssize_t si = 0;
    while (st == DC_OK && done_n < count) {
        uint32_t n = count - done_n;
        if (n_slices > 0) {
            if (slices[si] < n) {
                n = slices[si];
            }
            si = (si + 1) % n_slices;
        }
        st = dc_levels_read(dec, out + done_n, n, bv.buf != NULL ? (const int32_t *)bv.buf + done_n : NULL);
        done_n += n;
    }
    Py_END_ALLOW_THREADS
    if (st != DC_OK) {
        Py_CLEAR(result);
        raise_status(st, "cannot decode payload");
    }
done:
    PyBuffer_Release(&pv);
    if (bv.buf != NULL) {
        PyBuffer_Release(&bv);
    }
    free(slices);
    free(cols);
    free(dec);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", py_encode, METH_VARARGS, "encode(levels_i32, base_i32|None, params) -> payload bytes"},
    {"choose", py_choose, METH_VARARGS,
     "choose(levels_i32, base_i32|None, dq, kernel_len, row_len, effort) -> params"},
    {"encode_auto", py_encode_auto, METH_VARARGS,
     "encode_auto(levels_i32, base_i32|None, dq, kernel_len, row_len, effort) -> payload bytes"},
    {"cost", py_cost, METH_VARARGS,
     "cost(levels_i32, base_i32|None, params) -> (estimated bits, context bins + bypass groups)"},
    {"params", py_params, METH_O, "params(payload) -> params tuple"},
    {"encode_fast", py_encode_fast, METH_VARARGS,
     "encode_fast(levels_i32, layout|None, row_len=0) -> fast-syntax payload (row_len > 0: row skipping)"},
    {"fast_layout", py_fast_layout, METH_O, "fast_layout(levels_i32) -> (prec, n_classes, nbits)"},
    {"fast_header", py_fast_header, METH_O,
     "fast_header(payload) -> None (CABAC) or (prec, n_classes, rans_words, raw_words, header_len, row_len)"},
    {"decode", py_decode, METH_VARARGS, "decode(payload, count, base_i32|None, slices|None) -> bytearray"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "host._coder", NULL, -1, methods};

PyMODINIT_FUNC PyInit__coder(void)
{
    PyObject *errors = PyImport_ImportModule("host.errors");
    if (errors == NULL) {
        return NULL;
    }
    codec_error = PyObject_GetAttrString(errors, "CodecError");
    Py_DECREF(errors);
    if (codec_error == NULL) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    PyModule_AddIntConstant(m, "NUM_CONTEXTS", DC_LEVELS_NUM_CTX);
    PyModule_AddIntConstant(m, "CONTEXT_BYTES",
                            (long)(sizeof(dc_cabac_prob_t) + sizeof(dc_cabac_state_t)) * DC_LEVELS_NUM_CTX);
    PyModule_AddIntConstant(m, "EFFORT_DEFAULT", DC_LEVELS_EFFORT_DEFAULT);
    PyModule_AddIntConstant(m, "EFFORT_MAX", DC_LEVELS_EFFORT_MAX);
    PyModule_AddIntConstant(m, "DECODER_BYTES", (long)sizeof(dc_levels_dec_t));
    PyModule_AddIntConstant(m, "MAX_ABS", DC_LEVELS_MAX_ABS);
    PyModule_AddIntConstant(m, "MAX_STRIDE", DC_LEVELS_MAX_STRIDE);
    PyModule_AddIntConstant(m, "FAST_MAX_PREC", DC_LEVELS_FAST_MAX_PREC);
    PyModule_AddIntConstant(m, "FAST_MAX_CLASSES", DC_LEVELS_FAST_MAX_CLASSES);
    return m;
}
