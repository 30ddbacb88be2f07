/* py_kernels.c: the `host._kernels` extension: the firmware's int8 kernels callable from Python.
 *
 * Buffers in (any contiguous buffer: bytes, bytearray, numpy arrays; None passes NULL), bytes out.
 * Shapes are tuples of 1..4 ints, right-aligned into NHWC with leading 1s. Per-channel multipliers
 * and shifts are int32 buffers. Every function takes `output_len` (elements; default: exactly what
 * the output shape needs) so tests can hand the kernel a short buffer. A kernel status other than
 * DC_OK raises host.errors.KernelError with `status` set to the C enum name.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "dc_fixed_point.h"
#include "dc_kernels.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static PyObject *raise_status(dc_status_t st, const char *op)
{
    PyObject *mod = PyImport_ImportModule("host.errors");
    if (mod == NULL) {
        return NULL;
    }
    PyObject *cls = PyObject_GetAttrString(mod, "KernelError");
    Py_DECREF(mod);
    if (cls == NULL) {
        return NULL;
    }
    PyObject *args = Py_BuildValue("(s)", op);
    PyObject *msg = PyUnicode_FromFormat("%s failed: %s", op, dc_status_name(st));
    PyObject *kwargs = Py_BuildValue("{s:s}", "status", dc_status_name(st));
    Py_XDECREF(args);
    if (msg == NULL || kwargs == NULL) {
        Py_XDECREF(msg);
        Py_XDECREF(kwargs);
        Py_DECREF(cls);
        return NULL;
    }
    PyObject *targs = PyTuple_Pack(1, msg);
    PyObject *exc = targs ? PyObject_Call(cls, targs, kwargs) : NULL;
    Py_XDECREF(targs);
    Py_DECREF(msg);
    Py_DECREF(kwargs);
    Py_DECREF(cls);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* A readable buffer, or NULL data for None. `itemsize` is the element size the C side expects;
 * *len receives the element count (floor of bytes / itemsize, capped at INT32_MAX). */
typedef struct {
    Py_buffer view;
    int held;
    const void *data;
    int32_t len;
} in_buf_t;

static int get_in(PyObject *obj, Py_ssize_t itemsize, in_buf_t *b, const char *name)
{
    b->held = 0;
    b->data = NULL;
    b->len = 0;
    if (obj == NULL || obj == Py_None) {
        return 0;
    }
    if (PyObject_GetBuffer(obj, &b->view, PyBUF_C_CONTIGUOUS) != 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous buffer or None", name);
        return -1;
    }
    b->held = 1;
    b->data = b->view.buf;
    const Py_ssize_t n = b->view.len / itemsize;
    b->len = n > INT32_MAX ? INT32_MAX : (int32_t)n;
    return 0;
}

static void release(in_buf_t *b)
{
    if (b->held) {
        PyBuffer_Release(&b->view);
        b->held = 0;
    }
}

/* (d0, ..., dk) with 1 <= k+1 <= 4, right-aligned into NHWC. */
static int get_dims(PyObject *obj, dc_dims_t *d, const char *name)
{
    int32_t v[4] = {1, 1, 1, 1};
    PyObject *seq = PySequence_Fast(obj, name);
    if (seq == NULL) {
        return -1;
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n < 1 || n > 4) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "%s must have 1 to 4 dimensions", name);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; ++i) {
        const long x = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (x == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        if (x < INT32_MIN || x > INT32_MAX) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "%s has a dimension outside int32", name);
            return -1;
        }
        v[4 - n + i] = (int32_t)x;
    }
    Py_DECREF(seq);
    d->n = v[0];
    d->h = v[1];
    d->w = v[2];
    d->c = v[3];
    return 0;
}

static int get_ints(PyObject *obj, int32_t *out, Py_ssize_t count, const char *name)
{
    PyObject *seq = PySequence_Fast(obj, name);
    if (seq == NULL) {
        return -1;
    }
    if (PySequence_Fast_GET_SIZE(seq) != count) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "%s must have %zd items", name, count);
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; ++i) {
        const long x = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if ((x == -1 && PyErr_Occurred()) || x < INT32_MIN || x > INT32_MAX) {
            Py_DECREF(seq);
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "%s item outside int32", name);
            }
            return -1;
        }
        out[i] = (int32_t)x;
    }
    Py_DECREF(seq);
    return 0;
}

static int64_t dims_elems(const dc_dims_t *d)
{
    if (d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1) {
        return 0;
    }
    return (int64_t)d->n * d->h * d->w * d->c;
}

/* A zeroed bytes object for `needed` elements of `itemsize`, or `requested` elements if >= 0. */
/* Every output buffer starts as this byte: elements a kernel leaves alone (a strided output's other
 * channels) keep it. */
#define DC_PY_OUTPUT_FILL 0x5A

static PyObject *new_out(int64_t needed, Py_ssize_t requested, Py_ssize_t itemsize, int32_t *len)
{
    int64_t n = requested >= 0 ? requested : needed;
    if (n < 0 || n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "output size out of range");
        return NULL;
    }
    *len = (int32_t)n;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * itemsize));
    if (out != NULL) {
        memset(PyBytes_AS_STRING(out), DC_PY_OUTPUT_FILL, (size_t)(n * itemsize)); /* what no kernel wrote */
    }
    return out;
}

static PyObject *finish(PyObject *out, dc_status_t st, const char *op)
{
    if (st != DC_OK) {
        Py_DECREF(out);
        return raise_status(st, op);
    }
    return out;
}

/* ---- convolutions ---------------------------------------------------------------------------- */

static PyObject *conv_common(PyObject *args, PyObject *kw, int depthwise)
{
    static char *kwlist[] = {"input", "input_shape", "filter", "filter_shape", "bias", "output_shape",
                             "multipliers", "shifts", "input_offset", "output_offset", "stride", "dilation",
                             "padding", "act_min", "act_max", "depth_multiplier", "rounding", "output_len",
                             "output_stride", NULL};
    PyObject *o_in, *o_ish, *o_f, *o_fsh, *o_b, *o_osh, *o_m, *o_s;
    PyObject *o_stride = NULL, *o_dil = NULL, *o_pad = NULL;
    int in_off, out_off, act_min = -128, act_max = 127, dm = 1, rounding = DC_ROUNDING_DOUBLE, out_stride = 0;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOOOii|OOOiiiini", kwlist, &o_in, &o_ish, &o_f, &o_fsh, &o_b,
                                     &o_osh, &o_m, &o_s, &in_off, &out_off, &o_stride, &o_dil, &o_pad, &act_min,
                                     &act_max, &dm, &rounding, &out_len, &out_stride)) {
        return NULL;
    }
    dc_dims_t ish, fsh, osh;
    int32_t stride[2] = {1, 1}, dil[2] = {1, 1}, pad[2] = {0, 0};
    if (get_dims(o_ish, &ish, "input_shape") || get_dims(o_fsh, &fsh, "filter_shape") ||
        get_dims(o_osh, &osh, "output_shape") || (o_stride && get_ints(o_stride, stride, 2, "stride")) ||
        (o_dil && get_ints(o_dil, dil, 2, "dilation")) || (o_pad && get_ints(o_pad, pad, 2, "padding"))) {
        return NULL;
    }
    in_buf_t bi, bf, bb, bm, bs;
    bi.held = bf.held = bb.held = bm.held = bs.held = 0;
    PyObject *out = NULL;
    if (get_in(o_in, 1, &bi, "input") || get_in(o_f, 1, &bf, "filter") || get_in(o_b, 4, &bb, "bias") ||
        get_in(o_m, 4, &bm, "multipliers") || get_in(o_s, 4, &bs, "shifts")) {
        goto done;
    }
    int32_t olen = 0;
    out = new_out(dims_elems(&osh), out_len, 1, &olen);
    if (out == NULL) {
        goto done;
    }
    const dc_conv_params_t cp = {in_off,  out_off, stride[0], stride[1], dil[0],  dil[1],
                                 pad[0],  pad[1],  act_min,   act_max,   (dc_rounding_t)rounding,
                                 NULL,    0,       out_stride};
    const dc_channel_quant_t q = {(const int32_t *)bm.data, (const int32_t *)bs.data, bm.len < bs.len ? bm.len : bs.len};
    dc_status_t st;
    if (depthwise) {
        const dc_depthwise_conv_params_t dp = {cp, dm};
        st = dc_depthwise_conv_s8(&dp, &q, &ish, bi.data, bi.len, &fsh, bf.data, bf.len, bb.data, bb.len, &osh,
                                  (int8_t *)PyBytes_AS_STRING(out), olen);
    } else {
        st = dc_conv_s8(&cp, &q, &ish, bi.data, bi.len, &fsh, bf.data, bf.len, bb.data, bb.len, &osh,
                        (int8_t *)PyBytes_AS_STRING(out), olen);
    }
    out = finish(out, st, depthwise ? "dc_depthwise_conv_s8" : "dc_conv_s8");
done:
    release(&bi);
    release(&bf);
    release(&bb);
    release(&bm);
    release(&bs);
    return out;
}

static PyObject *py_conv_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    return conv_common(args, kw, 0);
}

static PyObject *py_depthwise_conv_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    return conv_common(args, kw, 1);
}

static PyObject *py_fully_connected_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "filter", "bias", "batches", "depth", "units", "multipliers", "shifts",
                             "input_offset", "filter_offset", "output_offset", "act_min", "act_max", "rounding", "output_len",
                             "output_stride", NULL};
    PyObject *o_in, *o_f, *o_b, *o_m, *o_s;
    int batches, depth, units, in_off, f_off, out_off, act_min = -128, act_max = 127, rounding = DC_ROUNDING_DOUBLE;
    int out_stride = 0;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOiiiOOiii|iiini", kwlist, &o_in, &o_f, &o_b, &batches, &depth,
                                     &units, &o_m, &o_s, &in_off, &f_off, &out_off, &act_min, &act_max, &rounding,
                                     &out_len, &out_stride)) {
        return NULL;
    }
    in_buf_t bi, bf, bb, bm, bs;
    bi.held = bf.held = bb.held = bm.held = bs.held = 0;
    PyObject *out = NULL;
    if (get_in(o_in, 1, &bi, "input") || get_in(o_f, 1, &bf, "filter") || get_in(o_b, 4, &bb, "bias") ||
        get_in(o_m, 4, &bm, "multipliers") || get_in(o_s, 4, &bs, "shifts")) {
        goto done;
    }
    int32_t olen = 0;
    out = new_out(batches > 0 && units > 0 ? (int64_t)batches * units : 0, out_len, 1, &olen);
    if (out == NULL) {
        goto done;
    }
    const dc_fully_connected_params_t p = {in_off, f_off, out_off, act_min, act_max, (dc_rounding_t)rounding,
                                           out_stride};
    const dc_channel_quant_t q = {(const int32_t *)bm.data, (const int32_t *)bs.data, bm.len < bs.len ? bm.len : bs.len};
    out = finish(out, dc_fully_connected_s8(&p, &q, batches, depth, units, bi.data, bi.len, bf.data, bf.len, bb.data,
                                            bb.len, (int8_t *)PyBytes_AS_STRING(out), olen),
                 "dc_fully_connected_s8");
done:
    release(&bi);
    release(&bf);
    release(&bb);
    release(&bm);
    release(&bs);
    return out;
}

/* ---- pooling ---------------------------------------------------------------------------------- */

static PyObject *pool_common(PyObject *args, PyObject *kw, int is_max)
{
    static char *kwlist[] = {"input", "input_shape", "output_shape", "filter", "stride", "padding", "act_min",
                             "act_max", "output_len", NULL};
    PyObject *o_in, *o_ish, *o_osh, *o_f, *o_stride = NULL, *o_pad = NULL;
    int act_min = -128, act_max = 127;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOO|OOiin", kwlist, &o_in, &o_ish, &o_osh, &o_f, &o_stride, &o_pad,
                                     &act_min, &act_max, &out_len)) {
        return NULL;
    }
    dc_dims_t ish, osh;
    int32_t f[2], stride[2] = {1, 1}, pad[2] = {0, 0};
    if (get_dims(o_ish, &ish, "input_shape") || get_dims(o_osh, &osh, "output_shape") || get_ints(o_f, f, 2, "filter") ||
        (o_stride && get_ints(o_stride, stride, 2, "stride")) || (o_pad && get_ints(o_pad, pad, 2, "padding"))) {
        return NULL;
    }
    in_buf_t bi;
    bi.held = 0;
    if (get_in(o_in, 1, &bi, "input")) {
        return NULL;
    }
    int32_t olen = 0;
    PyObject *out = new_out(dims_elems(&osh), out_len, 1, &olen);
    if (out != NULL) {
        const dc_pool_params_t p = {stride[0], stride[1], f[0], f[1], pad[0], pad[1], act_min, act_max};
        int8_t *o = (int8_t *)PyBytes_AS_STRING(out);
        out = is_max ? finish(out, dc_maxpool_s8(&p, &ish, bi.data, bi.len, &osh, o, olen), "dc_maxpool_s8")
                     : finish(out, dc_avgpool_s8(&p, &ish, bi.data, bi.len, &osh, o, olen), "dc_avgpool_s8");
    }
    release(&bi);
    return out;
}

static PyObject *py_avgpool_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    return pool_common(args, kw, 0);
}

static PyObject *py_maxpool_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    return pool_common(args, kw, 1);
}

/* ---- binary elementwise ---------------------------------------------------------------------- */

static PyObject *py_add_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input1", "input1_shape", "input2", "input2_shape", "output_shape", "input1_offset",
                             "input2_offset", "output_offset", "left_shift", "input1_multiplier", "input1_shift",
                             "input2_multiplier", "input2_shift", "output_multiplier", "output_shift", "act_min",
                             "act_max", "output_len", NULL};
    PyObject *o1, *o1s, *o2, *o2s, *oos;
    int off1, off2, offo, ls, m1, s1, m2, s2, mo, so, act_min = -128, act_max = 127;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOiiiiiiiiii|iin", kwlist, &o1, &o1s, &o2, &o2s, &oos, &off1, &off2,
                                     &offo, &ls, &m1, &s1, &m2, &s2, &mo, &so, &act_min, &act_max, &out_len)) {
        return NULL;
    }
    dc_dims_t d1, d2, dout;
    if (get_dims(o1s, &d1, "input1_shape") || get_dims(o2s, &d2, "input2_shape") || get_dims(oos, &dout, "output_shape")) {
        return NULL;
    }
    in_buf_t b1, b2;
    b1.held = b2.held = 0;
    PyObject *out = NULL;
    if (!get_in(o1, 1, &b1, "input1") && !get_in(o2, 1, &b2, "input2")) {
        int32_t olen = 0;
        out = new_out(dims_elems(&dout), out_len, 1, &olen);
        if (out != NULL) {
            const dc_add_params_t p = {off1, off2, offo, ls, m1, s1, m2, s2, mo, so, act_min, act_max};
            out = finish(out, dc_add_s8(&p, &d1, b1.data, b1.len, &d2, b2.data, b2.len, &dout,
                                        (int8_t *)PyBytes_AS_STRING(out), olen), "dc_add_s8");
        }
    }
    release(&b1);
    release(&b2);
    return out;
}

static PyObject *py_mul_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input1", "input1_shape", "input2", "input2_shape", "output_shape", "input1_offset",
                             "input2_offset", "output_offset", "output_multiplier", "output_shift", "act_min",
                             "act_max", "output_len", NULL};
    PyObject *o1, *o1s, *o2, *o2s, *oos;
    int off1, off2, offo, mo, so, act_min = -128, act_max = 127;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOiiiii|iin", kwlist, &o1, &o1s, &o2, &o2s, &oos, &off1, &off2, &offo,
                                     &mo, &so, &act_min, &act_max, &out_len)) {
        return NULL;
    }
    dc_dims_t d1, d2, dout;
    if (get_dims(o1s, &d1, "input1_shape") || get_dims(o2s, &d2, "input2_shape") || get_dims(oos, &dout, "output_shape")) {
        return NULL;
    }
    in_buf_t b1, b2;
    b1.held = b2.held = 0;
    PyObject *out = NULL;
    if (!get_in(o1, 1, &b1, "input1") && !get_in(o2, 1, &b2, "input2")) {
        int32_t olen = 0;
        out = new_out(dims_elems(&dout), out_len, 1, &olen);
        if (out != NULL) {
            const dc_mul_params_t p = {off1, off2, offo, mo, so, act_min, act_max};
            out = finish(out, dc_mul_s8(&p, &d1, b1.data, b1.len, &d2, b2.data, b2.len, &dout,
                                        (int8_t *)PyBytes_AS_STRING(out), olen), "dc_mul_s8");
        }
    }
    release(&b1);
    release(&b2);
    return out;
}

/* ---- softmax / logistic ------------------------------------------------------------------------ */

static PyObject *py_softmax_populate_table(PyObject *self, PyObject *args)
{
    (void)self;
    float scale, beta;
    if (!PyArg_ParseTuple(args, "ff", &scale, &beta)) {
        return NULL;
    }
    int32_t len = 0;
    PyObject *out = new_out(DC_SOFTMAX_TABLE_LEN, -1, sizeof(float), &len);
    if (out == NULL) {
        return NULL;
    }
    return finish(out, dc_softmax_s8_populate_table(scale, beta, (float *)PyBytes_AS_STRING(out), len),
                  "dc_softmax_s8_populate_table");
}

static PyObject *py_softmax_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "rows", "depth", "table", "output_scale", "output_zero_point", "output_len", NULL};
    PyObject *o_in, *o_t;
    int rows, depth, zp;
    float oscale;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OiiOfi|n", kwlist, &o_in, &rows, &depth, &o_t, &oscale, &zp, &out_len)) {
        return NULL;
    }
    in_buf_t bi, bt;
    bi.held = bt.held = 0;
    PyObject *out = NULL;
    if (!get_in(o_in, 1, &bi, "input") && !get_in(o_t, sizeof(float), &bt, "table")) {
        int32_t olen = 0;
        out = new_out(rows > 0 && depth > 0 ? (int64_t)rows * depth : 0, out_len, 1, &olen);
        if (out != NULL) {
            if (bt.data != NULL && bt.len < DC_SOFTMAX_TABLE_LEN) {
                Py_DECREF(out);
                out = raise_status(DC_ERR_BUFFER, "dc_softmax_s8");
            } else {
                const dc_softmax_params_t p = {(const float *)bt.data, oscale, zp};
                out = finish(out, dc_softmax_s8(&p, rows, depth, bi.data, bi.len, (int8_t *)PyBytes_AS_STRING(out), olen),
                             "dc_softmax_s8");
            }
        }
    }
    release(&bi);
    release(&bt);
    return out;
}

static PyObject *py_logistic_populate_lut(PyObject *self, PyObject *args)
{
    (void)self;
    float in_scale, out_scale;
    int in_zp, out_zp;
    if (!PyArg_ParseTuple(args, "fifi", &in_scale, &in_zp, &out_scale, &out_zp)) {
        return NULL;
    }
    int32_t len = 0;
    PyObject *out = new_out(DC_LUT_S8_LEN, -1, 1, &len);
    if (out == NULL) {
        return NULL;
    }
    return finish(out, dc_logistic_s8_populate_lut(in_scale, in_zp, out_scale, out_zp, (int8_t *)PyBytes_AS_STRING(out), len),
                  "dc_logistic_s8_populate_lut");
}

static PyObject *py_logistic_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "lut", "output_len", NULL};
    PyObject *o_in, *o_lut;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|n", kwlist, &o_in, &o_lut, &out_len)) {
        return NULL;
    }
    in_buf_t bi, bl;
    bi.held = bl.held = 0;
    PyObject *out = NULL;
    if (!get_in(o_in, 1, &bi, "input") && !get_in(o_lut, 1, &bl, "lut")) {
        int32_t olen = 0;
        out = new_out(bi.len, out_len, 1, &olen);
        if (out != NULL) {
            out = finish(out, dc_logistic_s8(bl.data, bl.len, bi.len, bi.data, bi.len, (int8_t *)PyBytes_AS_STRING(out), olen),
                         "dc_logistic_s8");
        }
    }
    release(&bi);
    release(&bl);
    return out;
}

/* ---- unary requantizing ops ------------------------------------------------------------------- */

static PyObject *py_relu_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "input_zero_point", "output_zero_point", "multiplier", "shift", "act_min",
                             "act_max", "output_len", NULL};
    PyObject *o_in;
    int izp, ozp, m, s, amin, amax;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Oiiiiii|n", kwlist, &o_in, &izp, &ozp, &m, &s, &amin, &amax, &out_len)) {
        return NULL;
    }
    in_buf_t bi;
    bi.held = 0;
    if (get_in(o_in, 1, &bi, "input")) {
        return NULL;
    }
    int32_t olen = 0;
    PyObject *out = new_out(bi.len, out_len, 1, &olen);
    if (out != NULL) {
        const dc_relu_params_t p = {izp, ozp, m, s, amin, amax};
        out = finish(out, dc_relu_s8(&p, bi.len, bi.data, bi.len, (int8_t *)PyBytes_AS_STRING(out), olen), "dc_relu_s8");
    }
    release(&bi);
    return out;
}

static PyObject *py_hard_swish_prepare(PyObject *self, PyObject *args)
{
    (void)self;
    float in_scale, out_scale;
    int in_zp, out_zp;
    if (!PyArg_ParseTuple(args, "fifi", &in_scale, &in_zp, &out_scale, &out_zp)) {
        return NULL;
    }
    dc_hard_swish_params_t p;
    const dc_status_t st = dc_hard_swish_s8_prepare(in_scale, in_zp, out_scale, out_zp, &p);
    if (st != DC_OK) {
        return raise_status(st, "dc_hard_swish_s8_prepare");
    }
    return Py_BuildValue("(iiiiii)", p.input_zero_point, p.output_zero_point, p.reluish_multiplier_fixedpoint_int16,
                         p.reluish_multiplier_exponent, p.output_multiplier_fixedpoint_int16, p.output_multiplier_exponent);
}

static PyObject *py_hard_swish_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "params", "output_len", NULL};
    PyObject *o_in, *o_p;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|n", kwlist, &o_in, &o_p, &out_len)) {
        return NULL;
    }
    int32_t v[6];
    if (get_ints(o_p, v, 6, "params")) {
        return NULL;
    }
    if (v[2] < INT16_MIN || v[2] > INT16_MAX || v[4] < INT16_MIN || v[4] > INT16_MAX) {
        PyErr_SetString(PyExc_ValueError, "fixed-point multipliers must fit int16");
        return NULL;
    }
    in_buf_t bi;
    bi.held = 0;
    if (get_in(o_in, 1, &bi, "input")) {
        return NULL;
    }
    int32_t olen = 0;
    PyObject *out = new_out(bi.len, out_len, 1, &olen);
    if (out != NULL) {
        const dc_hard_swish_params_t p = {v[0], v[1], (int16_t)v[2], v[3], (int16_t)v[4], v[5]};
        out = finish(out, dc_hard_swish_s8(&p, bi.len, bi.data, bi.len, (int8_t *)PyBytes_AS_STRING(out), olen),
                     "dc_hard_swish_s8");
    }
    release(&bi);
    return out;
}

/* ---- data movement ------------------------------------------------------------------------------ */

static PyObject *py_pad_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "input_shape", "before", "after", "pad_value", "output_shape", "output_len", NULL};
    PyObject *o_in, *o_ish, *o_b, *o_a, *o_osh = NULL;
    int pad_value;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOi|On", kwlist, &o_in, &o_ish, &o_b, &o_a, &pad_value, &o_osh, &out_len)) {
        return NULL;
    }
    dc_dims_t ish, osh;
    dc_pad_params_t p;
    if (get_dims(o_ish, &ish, "input_shape") || get_ints(o_b, p.before, 4, "before") || get_ints(o_a, p.after, 4, "after")) {
        return NULL;
    }
    if (pad_value < -128 || pad_value > 127) {
        PyErr_SetString(PyExc_ValueError, "pad_value must be an int8");
        return NULL;
    }
    p.pad_value = (int8_t)pad_value;
    if (o_osh != NULL && o_osh != Py_None) {
        if (get_dims(o_osh, &osh, "output_shape")) {
            return NULL;
        }
    } else {
        osh.n = ish.n + p.before[0] + p.after[0];
        osh.h = ish.h + p.before[1] + p.after[1];
        osh.w = ish.w + p.before[2] + p.after[2];
        osh.c = ish.c + p.before[3] + p.after[3];
    }
    in_buf_t bi;
    bi.held = 0;
    if (get_in(o_in, 1, &bi, "input")) {
        return NULL;
    }
    int32_t olen = 0;
    PyObject *out = new_out(dims_elems(&osh), out_len, 1, &olen);
    if (out != NULL) {
        out = finish(out, dc_pad_s8(&p, &ish, bi.data, bi.len, &osh, (int8_t *)PyBytes_AS_STRING(out), olen), "dc_pad_s8");
    }
    release(&bi);
    return out;
}

static PyObject *py_concat_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"inputs", "input_shapes", "axis", "output_shape", "output_len", NULL};
    PyObject *o_ins, *o_shs, *o_osh;
    int axis;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOiO|n", kwlist, &o_ins, &o_shs, &axis, &o_osh, &out_len)) {
        return NULL;
    }
    PyObject *ins = PySequence_Fast(o_ins, "inputs");
    if (ins == NULL) {
        return NULL;
    }
    PyObject *shs = PySequence_Fast(o_shs, "input_shapes");
    if (shs == NULL) {
        Py_DECREF(ins);
        return NULL;
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(ins);
    in_buf_t bufs[DC_CONCAT_MAX_INPUTS];
    const int8_t *ptrs[DC_CONCAT_MAX_INPUTS];
    int32_t lens[DC_CONCAT_MAX_INPUTS];
    dc_dims_t dims[DC_CONCAT_MAX_INPUTS];
    Py_ssize_t got = 0;
    PyObject *out = NULL;
    dc_dims_t osh;
    if (n < 1 || n > DC_CONCAT_MAX_INPUTS || PySequence_Fast_GET_SIZE(shs) != n) {
        PyErr_Format(PyExc_ValueError, "concat takes 1 to %d inputs, one shape each", DC_CONCAT_MAX_INPUTS);
        goto done;
    }
    if (get_dims(o_osh, &osh, "output_shape")) {
        goto done;
    }
    for (; got < n; ++got) {
        bufs[got].held = 0;
        if (get_dims(PySequence_Fast_GET_ITEM(shs, got), &dims[got], "input_shapes[k]") ||
            get_in(PySequence_Fast_GET_ITEM(ins, got), 1, &bufs[got], "inputs[k]")) {
            goto done;
        }
        ptrs[got] = bufs[got].data;
        lens[got] = bufs[got].len;
    }
    int32_t olen = 0;
    out = new_out(dims_elems(&osh), out_len, 1, &olen);
    if (out != NULL) {
        out = finish(out, dc_concat_s8(axis, (int32_t)n, dims, ptrs, lens, &osh, (int8_t *)PyBytes_AS_STRING(out), olen),
                     "dc_concat_s8");
    }
done:
    for (Py_ssize_t k = 0; k < got && k < DC_CONCAT_MAX_INPUTS; ++k) {
        release(&bufs[k]);
    }
    if (got < n && got < DC_CONCAT_MAX_INPUTS && n <= DC_CONCAT_MAX_INPUTS) {
        release(&bufs[got]);
    }
    Py_DECREF(ins);
    Py_DECREF(shs);
    return out;
}

static PyObject *py_mean_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "input_shape", "reduce", "input_zero_point", "output_zero_point", "multiplier",
                             "shift", "output_len", NULL};
    PyObject *o_in, *o_ish, *o_red;
    int izp, ozp, m, s;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOiiii|n", kwlist, &o_in, &o_ish, &o_red, &izp, &ozp, &m, &s, &out_len)) {
        return NULL;
    }
    dc_dims_t ish, osh;
    int32_t red[4];
    if (get_dims(o_ish, &ish, "input_shape") || get_ints(o_red, red, 4, "reduce")) {
        return NULL;
    }
    dc_mean_params_t p = {izp, ozp, m, s, {red[0] != 0, red[1] != 0, red[2] != 0, red[3] != 0}};
    osh.n = red[0] ? 1 : ish.n;
    osh.h = red[1] ? 1 : ish.h;
    osh.w = red[2] ? 1 : ish.w;
    osh.c = red[3] ? 1 : ish.c;
    in_buf_t bi;
    bi.held = 0;
    if (get_in(o_in, 1, &bi, "input")) {
        return NULL;
    }
    int32_t olen = 0;
    PyObject *out = new_out(dims_elems(&osh), out_len, 1, &olen);
    if (out != NULL) {
        out = finish(out, dc_mean_s8(&p, &ish, bi.data, bi.len, &osh, (int8_t *)PyBytes_AS_STRING(out), olen), "dc_mean_s8");
    }
    release(&bi);
    return out;
}

/* ---- quantize / dequantize --------------------------------------------------------------------- */

static PyObject *py_quantize_f32_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "scale", "zero_point", "output_len", NULL};
    PyObject *o_in;
    float scale;
    int zp;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Ofi|n", kwlist, &o_in, &scale, &zp, &out_len)) {
        return NULL;
    }
    in_buf_t bi;
    bi.held = 0;
    if (get_in(o_in, sizeof(float), &bi, "input")) {
        return NULL;
    }
    int32_t olen = 0;
    PyObject *out = new_out(bi.len, out_len, 1, &olen);
    if (out != NULL) {
        out = finish(out, dc_quantize_f32_s8(scale, zp, bi.len, bi.data, bi.len, (int8_t *)PyBytes_AS_STRING(out), olen),
                     "dc_quantize_f32_s8");
    }
    release(&bi);
    return out;
}

static PyObject *py_requantize_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "input_zero_point", "output_zero_point", "multiplier", "shift", "rounding",
                             "output_len", NULL};
    PyObject *o_in;
    int izp, ozp, m, s, rounding = DC_ROUNDING_DOUBLE;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Oiiii|in", kwlist, &o_in, &izp, &ozp, &m, &s, &rounding, &out_len)) {
        return NULL;
    }
    in_buf_t bi;
    bi.held = 0;
    if (get_in(o_in, 1, &bi, "input")) {
        return NULL;
    }
    int32_t olen = 0;
    PyObject *out = new_out(bi.len, out_len, 1, &olen);
    if (out != NULL) {
        out = finish(out, dc_requantize_s8(izp, ozp, m, s, (dc_rounding_t)rounding, bi.len, bi.data, bi.len, (int8_t *)PyBytes_AS_STRING(out), olen),
                     "dc_requantize_s8");
    }
    release(&bi);
    return out;
}

static PyObject *py_dequantize_s8(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"input", "scale", "zero_point", "output_len", NULL};
    PyObject *o_in;
    float scale;
    int zp;
    Py_ssize_t out_len = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Ofi|n", kwlist, &o_in, &scale, &zp, &out_len)) {
        return NULL;
    }
    in_buf_t bi;
    bi.held = 0;
    if (get_in(o_in, 1, &bi, "input")) {
        return NULL;
    }
    int32_t olen = 0;
    PyObject *out = new_out(bi.len, out_len, sizeof(float), &olen);
    if (out != NULL) {
        out = finish(out, dc_dequantize_s8(scale, zp, bi.len, bi.data, bi.len, (float *)PyBytes_AS_STRING(out), olen),
                     "dc_dequantize_s8");
    }
    release(&bi);
    return out;
}

/* ---- fixed point --------------------------------------------------------------------------------- */

static PyObject *py_quantize_multiplier(PyObject *self, PyObject *arg)
{
    (void)self;
    const double real = PyFloat_AsDouble(arg);
    if (real == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    int32_t m = 0;
    int s = 0;
    if (dc_quantize_multiplier(real, &m, &s) != 0) {
        PyErr_SetString(PyExc_ValueError, "the real multiplier must be finite and >= 0");
        return NULL;
    }
    return Py_BuildValue("(ii)", m, s);
}

static PyObject *py_multiply_by_quantized_multiplier(PyObject *self, PyObject *args)
{
    (void)self;
    int x, m, s, rounding = DC_ROUNDING_DOUBLE;
    if (!PyArg_ParseTuple(args, "iii|i", &x, &m, &s, &rounding)) {
        return NULL;
    }
    return PyLong_FromLong(dc_requantize_s32(x, m, s, (dc_rounding_t)rounding));
}

#define KW(name, doc) {#name, (PyCFunction)(void (*)(void))py_##name, METH_VARARGS | METH_KEYWORDS, doc}

static PyMethodDef methods[] = {
    KW(conv_s8, "conv_s8(input, input_shape, filter, filter_shape, bias, output_shape, multipliers, shifts, "
                "input_offset, output_offset, stride=(1,1), dilation=(1,1), padding=(0,0), act_min=-128, act_max=127)"),
    KW(depthwise_conv_s8, "depthwise_conv_s8(... as conv_s8 ..., depth_multiplier=1)"),
    KW(fully_connected_s8, "fully_connected_s8(input, filter, bias, batches, depth, units, multipliers, shifts, "
                           "input_offset, filter_offset, output_offset, act_min=-128, act_max=127)"),
    KW(avgpool_s8, "avgpool_s8(input, input_shape, output_shape, filter, stride=(1,1), padding=(0,0), act_min, act_max)"),
    KW(maxpool_s8, "maxpool_s8(input, input_shape, output_shape, filter, stride=(1,1), padding=(0,0), act_min, act_max)"),
    KW(add_s8, "add_s8(input1, input1_shape, input2, input2_shape, output_shape, input1_offset, input2_offset, "
               "output_offset, left_shift, input1_multiplier, input1_shift, input2_multiplier, input2_shift, "
               "output_multiplier, output_shift, act_min=-128, act_max=127)"),
    KW(mul_s8, "mul_s8(input1, input1_shape, input2, input2_shape, output_shape, input1_offset, input2_offset, "
               "output_offset, output_multiplier, output_shift, act_min=-128, act_max=127)"),
    {"softmax_populate_table", py_softmax_populate_table, METH_VARARGS,
     "softmax_populate_table(input_scale, beta) -> 256 float32 as bytes"},
    KW(softmax_s8, "softmax_s8(input, rows, depth, table, output_scale, output_zero_point)"),
    {"logistic_populate_lut", py_logistic_populate_lut, METH_VARARGS,
     "logistic_populate_lut(input_scale, input_zero_point, output_scale, output_zero_point) -> 256 bytes"},
    KW(logistic_s8, "logistic_s8(input, lut)"),
    KW(relu_s8, "relu_s8(input, input_zero_point, output_zero_point, multiplier, shift, act_min, act_max)"),
    {"hard_swish_prepare", py_hard_swish_prepare, METH_VARARGS,
     "hard_swish_prepare(input_scale, input_zero_point, output_scale, output_zero_point) -> params tuple"},
    KW(hard_swish_s8, "hard_swish_s8(input, params)"),
    KW(pad_s8, "pad_s8(input, input_shape, before[4], after[4], pad_value, output_shape=None)"),
    KW(concat_s8, "concat_s8(inputs, input_shapes, axis, output_shape)"),
    KW(mean_s8, "mean_s8(input, input_shape, reduce[4], input_zero_point, output_zero_point, multiplier, shift)"),
    KW(quantize_f32_s8, "quantize_f32_s8(input float32, scale, zero_point)"),
    KW(requantize_s8, "requantize_s8(input, input_zero_point, output_zero_point, multiplier, shift, rounding=0)"),
    KW(dequantize_s8, "dequantize_s8(input, scale, zero_point) -> float32 bytes"),
    {"quantize_multiplier", py_quantize_multiplier, METH_O, "quantize_multiplier(real) -> (multiplier, shift)"},
    {"multiply_by_quantized_multiplier", py_multiply_by_quantized_multiplier, METH_VARARGS,
     "multiply_by_quantized_multiplier(x, multiplier, shift, rounding=0) -> int"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "host._kernels",
                                    "The firmware's int8 kernels (firmware/lib/src/kernels), bit-exact with LiteRT.",
                                    -1, methods};

PyMODINIT_FUNC PyInit__kernels(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "ROUNDING_DOUBLE", DC_ROUNDING_DOUBLE) || PyModule_AddIntConstant(m, "ROUNDING_SINGLE", DC_ROUNDING_SINGLE) ||
        PyModule_AddIntConstant(m, "ROUNDING_HALF_UP", DC_ROUNDING_HALF_UP)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
