/* py_runtime.c: the `host._runtime` extension: the firmware's model runtime (dc_model.h) for Python. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#include "dc_model.h"
#include "dc_status.h"

typedef struct {
    PyObject_HEAD
    dc_model_t model;
    PyObject *data;   /* the container bytes (kept alive: the model borrows them) */
    uint8_t *arena;   /* malloc'ed, 16-byte aligned */
    size_t arena_size;
} ModelObject;

static PyObject *status_str(int status)
{
    return PyUnicode_FromString(dc_status_name(status));
}

static void model_dealloc(ModelObject *self)
{
    Py_XDECREF(self->data);
    free(self->arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *io_tuple(const dc_model_io_t *io)
{
    PyObject *shape = PyTuple_New(io->rank);
    if (shape == NULL) {
        return NULL;
    }
    for (uint32_t i = 0; i < io->rank; i++) {
        PyTuple_SET_ITEM(shape, i, PyLong_FromLong(io->shape[i]));
    }
    return Py_BuildValue("(Ndi)", shape, (double)io->scale, (int)io->zero_point);
}

static PyObject *model_io(ModelObject *self, int outputs)
{
    uint32_t count = outputs ? self->model.output_count : self->model.input_count;
    PyObject *list = PyList_New(count);
    for (uint32_t i = 0; list != NULL && i < count; i++) {
        dc_model_io_t io;
        int status = outputs ? dc_model_output(&self->model, i, &io) : dc_model_input(&self->model, i, &io);
        PyObject *item = status == DC_OK ? io_tuple(&io) : NULL;
        if (item == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_RuntimeError, dc_status_name(status));
            }
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyObject *model_inputs(ModelObject *self, PyObject *unused)
{
    (void)unused;
    return model_io(self, 0);
}

static PyObject *model_outputs(ModelObject *self, PyObject *unused)
{
    (void)unused;
    return model_io(self, 1);
}

static PyObject *model_info(ModelObject *self, PyObject *unused)
{
    (void)unused;
    const dc_model_t *m = &self->model;
    return Py_BuildValue("{s:i,s:I,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:I,s:I,s:I,s:I}", "mode", (int)m->mode,
                         "stream_channels", m->stream_channels, "scratch_bytes", (Py_ssize_t)m->scratch_bytes,
                         "arena_size", (Py_ssize_t)m->arena_size, "arena_used", (Py_ssize_t)m->arena_used,
                         "arena_needed", (Py_ssize_t)m->arena_needed, "persistent_bytes",
                         (Py_ssize_t)m->persistent_bytes, "planned_bytes", (Py_ssize_t)m->planned_bytes,
                         "weight_bytes", (Py_ssize_t)m->weight_bytes, "op_count", m->op_count, "operand_count",
                         m->operand_count, "input_count", m->input_count, "output_count", m->output_count);
}

typedef struct {
    dc_model_t *model;
    PyObject *layers;
    int failed;
} capture_t;

static void capture_layer(void *context, uint32_t op_index, dc_model_event_t event)
{
    capture_t *c = context;
    dc_model_io_t io;
    if (event != DC_MODEL_EVENT_END || c->failed || dc_model_op_output(c->model, op_index, &io) != DC_OK) {
        return;
    }
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)io.data, (Py_ssize_t)io.bytes);
    if (bytes == NULL || PyList_Append(c->layers, bytes) != 0) {
        c->failed = 1;
    }
    Py_XDECREF(bytes);
}

/* invoke(inputs: list of bytes, layers: bool) -> (status, [output bytes], [op output bytes] or None) */
static PyObject *model_invoke(ModelObject *self, PyObject *args)
{
    PyObject *inputs;
    int layers = 0;
    dc_model_t *m = &self->model;
    if (!PyArg_ParseTuple(args, "O!p", &PyList_Type, &inputs, &layers)) {
        return NULL;
    }
    if ((uint32_t)PyList_GET_SIZE(inputs) != m->input_count) {
        PyErr_Format(PyExc_ValueError, "the model takes %u inputs, got %zd", m->input_count, PyList_GET_SIZE(inputs));
        return NULL;
    }
    for (uint32_t i = 0; i < m->input_count; i++) {
        dc_model_io_t io;
        Py_buffer view;
        dc_model_input(m, i, &io);
        if (PyObject_GetBuffer(PyList_GET_ITEM(inputs, i), &view, PyBUF_SIMPLE) != 0) {
            return NULL;
        }
        if ((size_t)view.len != io.bytes) {
            PyBuffer_Release(&view);
            PyErr_Format(PyExc_ValueError, "input %u must be %u bytes, got %zd", i, io.bytes, view.len);
            return NULL;
        }
        memcpy(io.data, view.buf, io.bytes);
        PyBuffer_Release(&view);
    }
    capture_t capture = {m, NULL, 0};
    if (layers) {
        capture.layers = PyList_New(0);
        if (capture.layers == NULL) {
            return NULL;
        }
        dc_model_set_profiler(m, capture_layer, &capture);
    }
    int status = dc_model_invoke(m);
    dc_model_set_profiler(m, NULL, NULL);
    if (capture.failed) {
        Py_XDECREF(capture.layers);
        return NULL;
    }
    PyObject *outputs = PyList_New(0);
    for (uint32_t i = 0; outputs != NULL && status == DC_OK && i < m->output_count; i++) {
        dc_model_io_t io;
        dc_model_output(m, i, &io);
        PyObject *bytes = PyBytes_FromStringAndSize((const char *)io.data, (Py_ssize_t)io.bytes);
        if (bytes == NULL || PyList_Append(outputs, bytes) != 0) {
            Py_XDECREF(bytes);
            Py_CLEAR(outputs);
            break;
        }
        Py_DECREF(bytes);
    }
    if (outputs == NULL) {
        Py_XDECREF(capture.layers);
        return NULL;
    }
    if (capture.layers == NULL) {
        Py_INCREF(Py_None);
        capture.layers = Py_None;
    }
    return Py_BuildValue("(NNN)", status_str(status), outputs, capture.layers);
}

static PyObject *model_op_names(ModelObject *self, PyObject *unused)
{
    (void)unused;
    PyObject *list = PyList_New(self->model.op_count);
    for (uint32_t i = 0; list != NULL && i < self->model.op_count; i++) {
        PyList_SET_ITEM(list, i, PyUnicode_FromString(dc_model_op_name(&self->model, i)));
    }
    return list;
}

/* chunks() -> [output channels per streamed chunk of each op (dc_model_op_chunk; 0: not streamed)] */
static PyObject *model_chunks(ModelObject *self, PyObject *unused)
{
    (void)unused;
    PyObject *list = PyList_New(self->model.op_count);
    for (uint32_t i = 0; list != NULL && i < self->model.op_count; i++) {
        PyObject *item = PyLong_FromUnsignedLong(dc_model_op_chunk(&self->model, i));
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyMethodDef model_methods[] = {
    {"info", (PyCFunction)model_info, METH_NOARGS, "info() -> dict of the arena split and graph counts"},
    {"inputs", (PyCFunction)model_inputs, METH_NOARGS, "inputs() -> [(shape, scale, zero_point)]"},
    {"outputs", (PyCFunction)model_outputs, METH_NOARGS, "outputs() -> [(shape, scale, zero_point)]"},
    {"op_names", (PyCFunction)model_op_names, METH_NOARGS, "op_names() -> [op kind of each op]"},
    {"chunks", (PyCFunction)model_chunks, METH_NOARGS,
     "chunks() -> [output channels per streamed chunk of each op, 0 where the op does not stream]"},
    {"invoke", (PyCFunction)model_invoke, METH_VARARGS,
     "invoke(inputs: list of bytes, layers: bool) -> (status, outputs, op outputs or None)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "host._runtime.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A model loaded by the C runtime (create with host._runtime.load)",
    .tp_methods = model_methods,
};

/* load(data, mode, arena_size[, stream_channels]) -> (status, Model or None, arena_needed) */
static PyObject *py_load(PyObject *self, PyObject *args)
{
    PyObject *data;
    int mode;
    Py_ssize_t arena_size;
    unsigned int stream_channels = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!in|I", &PyBytes_Type, &data, &mode, &arena_size, &stream_channels)) {
        return NULL;
    }
    if (arena_size < 0) {
        PyErr_SetString(PyExc_ValueError, "arena_size must be >= 0");
        return NULL;
    }
    ModelObject *model = PyObject_New(ModelObject, &ModelType);
    if (model == NULL) {
        return NULL;
    }
    model->data = NULL;
    model->arena_size = (size_t)arena_size;
    model->arena = malloc(arena_size > 0 ? (size_t)arena_size : 1u);
    if (model->arena == NULL) {
        Py_DECREF(model);
        return PyErr_NoMemory();
    }
    Py_INCREF(data);
    model->data = data;
    const dc_model_config_t config = {(dc_model_mode_t)mode, stream_channels, DC_MODEL_TARGET_BUILD};
    int status = dc_model_load_config(&model->model, (const uint8_t *)PyBytes_AS_STRING(data),
                                      (size_t)PyBytes_GET_SIZE(data), model->arena, (size_t)arena_size, &config);
    size_t needed = model->model.arena_needed;
    if (status != DC_OK) {
        Py_DECREF(model);
        return Py_BuildValue("(NOn)", status_str(status), Py_None, (Py_ssize_t)needed);
    }
    return Py_BuildValue("(NNn)", status_str(status), (PyObject *)model, (Py_ssize_t)needed);
}

/* arena_size(data, mode[, stream_channels[, target]]) -> (status, bytes) */
static PyObject *py_arena_size(PyObject *self, PyObject *args)
{
    Py_buffer data;
    int mode, target = DC_MODEL_TARGET_BUILD;
    unsigned int stream_channels = 0;
    size_t size = 0, work_size = 1u << 20;
    int status;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*i|Ii", &data, &mode, &stream_channels, &target)) {
        return NULL;
    }
    const dc_model_config_t config = {(dc_model_mode_t)mode, stream_channels, (dc_model_target_t)target};
    for (;;) {
        uint8_t *work = malloc(work_size);
        if (work == NULL) {
            PyBuffer_Release(&data);
            return PyErr_NoMemory();
        }
        status = dc_model_arena_size_config(data.buf, (size_t)data.len, &config, work, work_size, &size);
        free(work);
        if (status != DC_ERR_ARENA || work_size >= ((size_t)1 << 30)) {
            break;
        }
        work_size *= 4u;
    }
    PyBuffer_Release(&data);
    return Py_BuildValue("(Nn)", status_str(status), (Py_ssize_t)size);
}

static PyMethodDef methods[] = {
    {"load", py_load, METH_VARARGS,
     "load(data: bytes, mode, arena_size[, stream_channels]) -> (status, Model or None, arena_needed)"},
    {"arena_size", py_arena_size, METH_VARARGS,
     "arena_size(data, mode[, stream_channels]) -> (status, arena bytes needed)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "host._runtime", NULL, -1, methods};

PyMODINIT_FUNC PyInit__runtime(void)
{
    if (PyType_Ready(&ModelType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MODE_AT_LOAD", DC_MODEL_DECODE_AT_LOAD) != 0 ||
        PyModule_AddIntConstant(m, "MODE_PER_LAYER", DC_MODEL_DECODE_PER_LAYER) != 0 ||
        PyModule_AddIntConstant(m, "MODE_STREAMED", DC_MODEL_DECODE_STREAMED) != 0 ||
        PyModule_AddIntConstant(m, "MODE_AUTO", DC_MODEL_DECODE_AUTO) != 0 ||
        PyModule_AddIntConstant(m, "STREAM_CHANNELS", DC_MODEL_STREAM_CHANNELS) != 0 ||
        PyModule_AddIntConstant(m, "ARENA_ALIGN", DC_MODEL_ARENA_ALIGN) != 0 ||
        PyModule_AddIntConstant(m, "TARGET_BUILD", DC_MODEL_TARGET_BUILD) != 0 ||
        PyModule_AddIntConstant(m, "TARGET_CORTEX_M", DC_MODEL_TARGET_CORTEX_M) != 0 ||
        PyModule_AddIntConstant(m, "TARGET_CORTEX_M_DSP", DC_MODEL_TARGET_CORTEX_M_DSP) != 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
