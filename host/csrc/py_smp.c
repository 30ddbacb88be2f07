/* py_smp.c: the `host._smp` extension: a simulated device (RAM flash, A/B model slots, SMP
 * server) driven in-process from Python, for tests and the native tools.
 *
 * Device(verify, *, infer=None, describe=None, slot_size=65536, sector_size=1024,
 *        write_size=8, allow_downgrade=False)
 *   verify(image: bytes) -> (version: int, hash: bytes[32]) for a good image, or an int
 *       dc_status_t (< 0) saying why it is not; an exception aborts the call that needed it
 *       (the verification fails with DC_ERR_INTERNAL and the exception is raised from feed()).
 *   infer(slot: int, input: bytes) -> (output: bytes, instructions: int, cycles: int) or int.
 *   describe(slot: int) -> (input_bytes, output_bytes, arena_bytes) or int.
 * Methods: feed(bytes) -> bytes (what the device wrote back), reboot() -> running slot or -1,
 *   take_text() -> bytes, read_slot(slot) -> bytes, cut_power_after(n, random=False, seed=0),
 *   power_on(); attributes running, trial, resets.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "dc_flash.h"
#include "dc_slots.h"
#include "dc_smp.h"
#include "dc_status.h"

#define INPUT_CAP (128u * 1024u)

typedef struct {
    PyObject_HEAD
    PyObject *verify, *infer, *describe;
    uint8_t *mem;
    uint32_t slot_size;
    dc_flash_sim_t sim;
    dc_slots_t slots;
    dc_smp_server_t srv;
    dc_smp_callbacks_t cb;
    uint8_t *out;     /* bytes the device wrote during feed() */
    size_t out_len, out_cap;
    uint8_t *text;    /* text bytes received, kept until take_text() */
    size_t text_len, text_cap;
    uint8_t *input;   /* the runtime's input tensor buffer (staged inference input) */
    int reset_requested;
    long resets;
    int boot_status;
    PyObject *pending_exc; /* (type, value, traceback) of a callback's exception */
} Device;

static int append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *p, size_t n)
{
    if (*len + n > *cap) {
        size_t ncap = (*cap == 0 ? 256 : *cap);
        uint8_t *nb;
        while (ncap < *len + n) {
            ncap *= 2;
        }
        nb = PyMem_Realloc(*buf, ncap);
        if (nb == NULL) {
            return -1;
        }
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

static void keep_exception(Device *d)
{
    if (d->pending_exc == NULL) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyErr_NormalizeException(&t, &v, &tb);
        d->pending_exc = Py_BuildValue("(OOO)", t ? t : Py_None, v ? v : Py_None, tb ? tb : Py_None);
        Py_XDECREF(t);
        Py_XDECREF(v);
        Py_XDECREF(tb);
    }
    PyErr_Clear();
}

static int raise_kept(Device *d)
{
    if (d->pending_exc != NULL) {
        PyObject *t = PyTuple_GET_ITEM(d->pending_exc, 0), *v = PyTuple_GET_ITEM(d->pending_exc, 1),
                 *tb = PyTuple_GET_ITEM(d->pending_exc, 2);
        Py_INCREF(t);
        Py_INCREF(v);
        Py_INCREF(tb);
        Py_CLEAR(d->pending_exc);
        PyErr_Restore(t, v == Py_None ? NULL : v, tb == Py_None ? NULL : tb);
        if (v == Py_None) {
            Py_DECREF(v);
        }
        if (tb == Py_None) {
            Py_DECREF(tb);
        }
        return -1;
    }
    return 0;
}

/* ---- callbacks from C ------------------------------------------------------------- */

static int cb_verify(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size,
                     dc_model_info_t *info)
{
    Device *d = (Device *)ctx;
    PyObject *img, *res;
    int rc = DC_ERR_INTERNAL;
    if (offset > flash->size || size > flash->size - offset) {
        return DC_ERR_LENGTH;
    }
    img = PyBytes_FromStringAndSize((const char *)d->mem + offset, (Py_ssize_t)size);
    if (img == NULL) {
        keep_exception(d);
        return DC_ERR_INTERNAL;
    }
    res = PyObject_CallOneArg(d->verify, img);
    Py_DECREF(img);
    if (res == NULL) {
        keep_exception(d);
        return DC_ERR_INTERNAL;
    }
    if (PyLong_Check(res)) {
        long v = PyLong_AsLong(res);
        rc = (v < 0 && v > -1000) ? (int)v : DC_ERR_INTERNAL;
    } else {
        unsigned long version;
        const char *hash;
        Py_ssize_t hlen;
        if (PyArg_ParseTuple(res, "ky#", &version, &hash, &hlen) && hlen == DC_SLOTS_HASH_SIZE &&
            version <= 0xFFFFFFFFul) {
            info->version = (uint32_t)version;
            memcpy(info->hash, hash, DC_SLOTS_HASH_SIZE);
            rc = DC_OK;
        } else {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "verify must return (version, 32-byte hash) or a negative status");
            }
            keep_exception(d);
        }
    }
    Py_DECREF(res);
    return rc;
}

static int cb_infer(void *ctx, int slot, const uint8_t *in, size_t in_len, uint8_t *out,
                    size_t out_cap, dc_smp_infer_result_t *result)
{
    Device *d = (Device *)ctx;
    PyObject *res;
    int rc = DC_ERR_INTERNAL;
    res = PyObject_CallFunction(d->infer, "iy#", slot, (const char *)in, (Py_ssize_t)in_len);
    if (res == NULL) {
        keep_exception(d);
        return DC_ERR_INTERNAL;
    }
    if (PyLong_Check(res)) {
        long v = PyLong_AsLong(res);
        rc = (v < 0 && v > -1000) ? (int)v : DC_ERR_INTERNAL;
    } else {
        const char *o;
        Py_ssize_t olen;
        unsigned long long insn, cycles;
        if (PyArg_ParseTuple(res, "y#KK", &o, &olen, &insn, &cycles)) {
            if ((size_t)olen > out_cap) {
                rc = DC_ERR_BUFFER;
            } else {
                memcpy(out, o, (size_t)olen);
                result->out_len = (size_t)olen;
                result->instructions = insn;
                result->cycles = cycles;
                rc = DC_OK;
            }
        } else {
            keep_exception(d);
        }
    }
    Py_DECREF(res);
    return rc;
}

static int cb_describe(void *ctx, int slot, dc_smp_model_desc_t *desc)
{
    Device *d = (Device *)ctx;
    PyObject *res = PyObject_CallFunction(d->describe, "i", slot);
    unsigned long a, b, c;
    int rc = DC_ERR_INTERNAL;
    if (res == NULL) {
        keep_exception(d);
        return rc;
    }
    if (PyLong_Check(res)) {
        long v = PyLong_AsLong(res);
        rc = (v < 0 && v > -1000) ? (int)v : DC_ERR_INTERNAL;
    } else if (PyArg_ParseTuple(res, "kkk", &a, &b, &c)) {
        desc->input_bytes = (uint32_t)a;
        desc->output_bytes = (uint32_t)b;
        desc->arena_bytes = (uint32_t)c;
        rc = DC_OK;
    } else {
        keep_exception(d);
    }
    Py_DECREF(res);
    return rc;
}

static uint8_t *cb_input_buffer(void *ctx, size_t *cap)
{
    Device *d = (Device *)ctx;
    *cap = INPUT_CAP;
    return d->input;
}

static void cb_text(void *ctx, const uint8_t *bytes, size_t n)
{
    Device *d = (Device *)ctx;
    if (append(&d->text, &d->text_len, &d->text_cap, bytes, n) != 0) {
        PyErr_NoMemory();
        keep_exception(d);
    }
}

static void cb_reset(void *ctx)
{
    ((Device *)ctx)->reset_requested = 1;
}

static void cb_write(void *ctx, const uint8_t *bytes, size_t n)
{
    Device *d = (Device *)ctx;
    if (append(&d->out, &d->out_len, &d->out_cap, bytes, n) != 0) {
        PyErr_NoMemory();
        keep_exception(d);
    }
}

/* ---- the device ------------------------------------------------------------------- */

/* A reset: RAM state is lost, flash stays; the slots decide what runs and the server starts
 * fresh. Returns the running slot or -1. */
static int boot(Device *d)
{
    dc_verifier_t v;
    int slot = DC_SLOT_NONE, rc;
    v.verify = cb_verify;
    v.ctx = d;
    rc = dc_slots_init(&d->slots, &d->sim.dev, 0, d->slot_size, d->slot_size, v);
    if (rc == DC_OK) {
        rc = dc_slots_boot(&d->slots, &slot);
    }
    d->boot_status = rc;
    dc_smp_server_init(&d->srv, &d->slots, &d->cb);
    return slot;
}

static int Device_init(Device *d, PyObject *args, PyObject *kw)
{
    static char *names[] = {"verify", "infer", "describe", "slot_size", "sector_size", "write_size",
                            "allow_downgrade", NULL};
    PyObject *verify, *infer = Py_None, *describe = Py_None;
    unsigned long slot_size = 65536, sector = 1024, write_size = 8;
    int allow_downgrade = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$OOkkkp", names, &verify, &infer, &describe,
                                     &slot_size, &sector, &write_size, &allow_downgrade)) {
        return -1;
    }
    if (!PyCallable_Check(verify) || (infer != Py_None && !PyCallable_Check(infer)) ||
        (describe != Py_None && !PyCallable_Check(describe))) {
        PyErr_SetString(PyExc_TypeError, "verify, infer and describe must be callables");
        return -1;
    }
    if (slot_size == 0 || slot_size > (64ul << 20) || d->mem != NULL) {
        PyErr_SetString(PyExc_ValueError, "slot_size must be 1 .. 64 MiB (and __init__ runs once)");
        return -1;
    }
    d->mem = PyMem_Malloc(2u * slot_size);
    d->input = PyMem_Malloc(INPUT_CAP);
    if (d->mem == NULL || d->input == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (dc_flash_sim_init(&d->sim, d->mem, (uint32_t)(2u * slot_size), (uint32_t)sector,
                          (uint32_t)write_size) != DC_OK) {
        PyErr_SetString(PyExc_ValueError, "invalid flash geometry");
        return -1;
    }
    d->slot_size = (uint32_t)slot_size;
    Py_INCREF(verify);
    d->verify = verify;
    if (infer != Py_None) {
        Py_INCREF(infer);
        d->infer = infer;
    }
    if (describe != Py_None) {
        Py_INCREF(describe);
        d->describe = describe;
    }
    memset(&d->cb, 0, sizeof(d->cb));
    d->cb.text = cb_text;
    d->cb.reset = cb_reset;
    d->cb.infer = d->infer ? cb_infer : NULL;
    d->cb.describe = d->describe ? cb_describe : NULL;
    d->cb.input_buffer = cb_input_buffer;
    d->cb.ctx = d;
    d->cb.slot_flags = allow_downgrade ? DC_SLOTS_ALLOW_DOWNGRADE : 0u;
    boot(d);
    if (raise_kept(d) < 0) {
        return -1;
    }
    if (d->boot_status != DC_OK && d->boot_status != DC_ERR_NO_MODEL) {
        PyErr_Format(PyExc_ValueError, "slots refused the geometry: %s", dc_status_name(d->boot_status));
        return -1;
    }
    return 0;
}

static void Device_dealloc(Device *d)
{
    Py_XDECREF(d->verify);
    Py_XDECREF(d->infer);
    Py_XDECREF(d->describe);
    Py_XDECREF(d->pending_exc);
    PyMem_Free(d->mem);
    PyMem_Free(d->input);
    PyMem_Free(d->out);
    PyMem_Free(d->text);
    Py_TYPE(d)->tp_free((PyObject *)d);
}

static PyObject *Device_feed(Device *d, PyObject *arg)
{
    Py_buffer view;
    PyObject *res;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    d->out_len = 0;
    d->reset_requested = 0;
    dc_smp_server_feed(&d->srv, view.buf, (size_t)view.len, cb_write, d);
    PyBuffer_Release(&view);
    res = PyBytes_FromStringAndSize((const char *)d->out, (Py_ssize_t)d->out_len);
    if (d->reset_requested) {
        d->resets++;
        boot(d);
    }
    if (raise_kept(d) < 0) {
        Py_XDECREF(res);
        return NULL;
    }
    return res;
}

static PyObject *Device_reboot(Device *d, PyObject *unused)
{
    int slot;
    (void)unused;
    slot = boot(d);
    if (raise_kept(d) < 0) {
        return NULL;
    }
    return PyLong_FromLong(slot);
}

static PyObject *Device_take_text(Device *d, PyObject *unused)
{
    PyObject *res;
    (void)unused;
    res = PyBytes_FromStringAndSize((const char *)d->text, (Py_ssize_t)d->text_len);
    d->text_len = 0;
    return res;
}

static PyObject *Device_read_slot(Device *d, PyObject *arg)
{
    long slot = PyLong_AsLong(arg);
    if (slot == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (slot != 0 && slot != 1) {
        PyErr_SetString(PyExc_ValueError, "slot must be 0 or 1");
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)d->mem + (size_t)slot * d->slot_size,
                                     (Py_ssize_t)d->slot_size);
}

static PyObject *Device_cut_power_after(Device *d, PyObject *args, PyObject *kw)
{
    static char *names[] = {"n", "random", "seed", NULL};
    unsigned long n, seed = 0;
    int random = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "k|pk", names, &n, &random, &seed)) {
        return NULL;
    }
    if (n == 0 || n > 0x7FFFFFFFul) {
        PyErr_SetString(PyExc_ValueError, "n must be >= 1");
        return NULL;
    }
    dc_flash_sim_cut_after(&d->sim, (uint32_t)n, random ? DC_FLASH_TORN_RANDOM : DC_FLASH_TORN_HALF,
                           (uint32_t)seed);
    Py_RETURN_NONE;
}

static PyObject *Device_power_on(Device *d, PyObject *unused)
{
    (void)unused;
    dc_flash_sim_power_on(&d->sim);
    Py_RETURN_NONE;
}

static PyObject *Device_get_running(Device *d, void *closure)
{
    (void)closure;
    return PyLong_FromLong(dc_slots_running(&d->slots));
}

static PyObject *Device_get_trial(Device *d, void *closure)
{
    (void)closure;
    return PyBool_FromLong(d->slots.trial);
}

static PyObject *Device_get_resets(Device *d, void *closure)
{
    (void)closure;
    return PyLong_FromLong(d->resets);
}

static PyObject *Device_get_flash_ops(Device *d, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(d->sim.ops);
}

static PyMethodDef Device_methods[] = {
    {"feed", (PyCFunction)Device_feed, METH_O, "feed(bytes) -> bytes the device wrote back"},
    {"reboot", (PyCFunction)Device_reboot, METH_NOARGS, "reboot() -> running slot (0/1) or -1"},
    {"take_text", (PyCFunction)Device_take_text, METH_NOARGS, "take_text() -> non-SMP bytes received"},
    {"read_slot", (PyCFunction)Device_read_slot, METH_O, "read_slot(slot) -> the slot's flash bytes"},
    {"cut_power_after", (PyCFunction)(void (*)(void))Device_cut_power_after, METH_VARARGS | METH_KEYWORDS,
     "cut_power_after(n, random=False, seed=0): the n-th flash write/erase from now is torn"},
    {"power_on", (PyCFunction)Device_power_on, METH_NOARGS, "power_on(): restore power after a cut"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Device_getset[] = {
    {"running", (getter)Device_get_running, NULL, "running slot (0/1) or -1", NULL},
    {"trial", (getter)Device_get_trial, NULL, "the running model runs on trial", NULL},
    {"resets", (getter)Device_get_resets, NULL, "resets requested over SMP", NULL},
    {"flash_ops", (getter)Device_get_flash_ops, NULL, "flash writes + erases so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DeviceType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "host._smp.Device",
    .tp_basicsize = sizeof(Device),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A simulated device: RAM flash, A/B model slots and the SMP server.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Device_init,
    .tp_dealloc = (destructor)Device_dealloc,
    .tp_methods = Device_methods,
    .tp_getset = Device_getset,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "host._smp", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__smp(void)
{
    PyObject *m;
    if (PyType_Ready(&DeviceType) < 0) {
        return NULL;
    }
    m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&DeviceType);
    if (PyModule_AddObject(m, "Device", (PyObject *)&DeviceType) < 0 ||
        PyModule_AddIntConstant(m, "BUF_SIZE", DC_SMP_BUF_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "GROUP_MODEL", DC_SMP_GROUP_MODEL) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
