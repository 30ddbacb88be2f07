/* py_status.c: the `host._status` extension: C status codes and names for Python. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "dc_status.h"

static PyObject *status_name(PyObject *self, PyObject *arg)
{
    (void)self;
    long code = PyLong_AsLong(arg);
    if (code == -1 && PyErr_Occurred()) {
        return NULL;
    }
    return PyUnicode_FromString(dc_status_name((int)code));
}

static PyMethodDef methods[] = {
    {"status_name", status_name, METH_O, "status_name(code) -> the C enum name of a dc_status_t"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "host._status", NULL, -1, methods};

PyMODINIT_FUNC PyInit__status(void)
{
    return PyModule_Create(&module);
}
