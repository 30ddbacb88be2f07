/* py_container.c: the `host._container` extension: the firmware's container parser, SHA-256, HMAC and CBOR checker for Python. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "dc_cbor.h"
#include "dc_container.h"
#include "dc_hmac.h"
#include "dc_sha256.h"
#include "dc_status.h"

static PyObject *status_str(int status)
{
    return PyUnicode_FromString(dc_status_name(status));
}

static PyObject *py_open(PyObject *self, PyObject *args)
{
    Py_buffer data;
    dc_container_t c;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*", &data)) {
        return NULL;
    }
    int status = dc_container_open(&c, data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    return status_str(status);
}

static PyObject *py_describe(PyObject *self, PyObject *args)
{
    Py_buffer data;
    dc_container_t c;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*", &data)) {
        return NULL;
    }
    int status = dc_container_open(&c, data.buf, (size_t)data.len);
    if (status != DC_OK) {
        PyBuffer_Release(&data);
        return Py_BuildValue("(NOO)", status_str(status), Py_None, Py_None);
    }
    PyObject *entries = PyList_New(0);
    for (uint32_t i = 0; entries != NULL && i < c.tensor_count; i++) {
        dc_tensor_entry_t e;
        dc_container_tensor(&c, i, &e);
        PyObject *row = Py_BuildValue("(IIIiiiy#)", e.payload_offset, e.payload_length, e.level_count, (int)e.codec,
                                      (int)e.level_dtype, (int)e.tensor_flags, (const char *)e.payload,
                                      (Py_ssize_t)e.payload_length);
        if (row == NULL || PyList_Append(entries, row) != 0) {
            Py_XDECREF(row);
            Py_CLEAR(entries);
            break;
        }
        Py_DECREF(row);
    }
    PyObject *header = NULL;
    if (entries != NULL) {
        header = Py_BuildValue(
            "{s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:y#,s:y#,s:i,s:y#,s:y#,s:i,s:y#}", "version_major",
            (int)c.version_major, "version_minor", (int)c.version_minor, "header_length", (int)c.header_length, "flags",
            c.flags, "tensor_count", c.tensor_count, "directory_offset", c.directory_offset, "metadata_offset",
            c.metadata_offset, "metadata_length", c.metadata_length, "payload_offset", c.payload_offset,
            "payload_length", c.payload_length, "trailer_offset", c.trailer_offset, "file_length", c.file_length,
            "base_sha256", (const char *)c.base_sha256, (Py_ssize_t)32, "content_sha256",
            (const char *)c.content_sha256, (Py_ssize_t)32, "signature_algorithm", (int)c.signature_algorithm,
            "key_id", (const char *)c.key_id, (Py_ssize_t)16, "signature", (const char *)c.signature, (Py_ssize_t)64,
            "tag_algorithm", (int)c.tag_algorithm, "device_tag", (const char *)c.device_tag, (Py_ssize_t)32);
    }
    PyBuffer_Release(&data);
    if (header == NULL) {
        Py_XDECREF(entries);
        return NULL;
    }
    return Py_BuildValue("(NNN)", status_str(status), header, entries);
}

static PyObject *py_tensor_info(PyObject *self, PyObject *args)
{
    Py_buffer data;
    unsigned int index;
    dc_container_t c;
    dc_tensor_info_t info;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*I", &data, &index)) {
        return NULL;
    }
    int status = dc_container_open(&c, data.buf, (size_t)data.len);
    if (status == DC_OK) {
        status = dc_container_tensor_info(&c, index, &info);
    }
    if (status != DC_OK) {
        PyBuffer_Release(&data);
        return Py_BuildValue("(NO)", status_str(status), Py_None);
    }
    PyObject *shape = PyTuple_New(info.rank);
    PyObject *scales = PyList_New(0);
    PyObject *zero_points = PyList_New(0);
    int ok = shape != NULL && scales != NULL && zero_points != NULL;
    for (uint32_t i = 0; ok && i < info.rank; i++) {
        PyObject *dim = PyLong_FromUnsignedLong(info.shape[i]);
        ok = dim != NULL && PyTuple_SetItem(shape, i, dim) == 0;
    }
    dc_cbor_reader_t zp_reader = info.zero_points;
    for (uint32_t i = 0; ok && i < info.channel_count; i++) {
        double scale = (double)dc_tensor_info_scale(&info, i);
        int64_t zp = info.zero_point;
        if (info.zero_point_count > 1u && dc_cbor_read_int(&zp_reader, &zp) != DC_OK) {
            PyErr_SetString(PyExc_RuntimeError, "tensor_info readers do not yield the scales/zero points");
            ok = 0;
            break;
        }
        PyObject *s = PyFloat_FromDouble(scale);
        PyObject *z = PyLong_FromLongLong((long long)zp);
        ok = s != NULL && z != NULL && PyList_Append(scales, s) == 0 && PyList_Append(zero_points, z) == 0;
        Py_XDECREF(s);
        Py_XDECREF(z);
    }
    PyObject *result = NULL;
    if (ok) {
        result = Py_BuildValue("(N(s#iNINN))", status_str(DC_OK), info.name != NULL ? info.name : "",
                               (Py_ssize_t)info.name_length,
                               (int)info.level_dtype, shape, info.axis, scales, zero_points);
    } else {
        Py_XDECREF(shape);
        Py_XDECREF(scales);
        Py_XDECREF(zero_points);
    }
    PyBuffer_Release(&data);
    return result;
}

static PyObject *py_verify_tag(PyObject *self, PyObject *args)
{
    Py_buffer data, key;
    dc_container_t c;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*", &data, &key)) {
        return NULL;
    }
    int status = dc_container_open(&c, data.buf, (size_t)data.len);
    if (status == DC_OK) {
        status = dc_container_verify_tag(&c, key.buf, (size_t)key.len);
    }
    PyBuffer_Release(&data);
    PyBuffer_Release(&key);
    return status_str(status);
}

static PyObject *py_check_base(PyObject *self, PyObject *args)
{
    Py_buffer data;
    PyObject *base;
    dc_container_t c;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*O", &data, &base)) {
        return NULL;
    }
    if (base != Py_None && (!PyBytes_Check(base) || PyBytes_GET_SIZE(base) != 32)) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "base must be 32 bytes or None");
        return NULL;
    }
    int status = dc_container_open(&c, data.buf, (size_t)data.len);
    if (status == DC_OK) {
        status = dc_container_check_base(&c, base == Py_None ? NULL : (const uint8_t *)PyBytes_AS_STRING(base));
    }
    PyBuffer_Release(&data);
    return status_str(status);
}

static PyObject *py_sha256(PyObject *self, PyObject *args)
{
    Py_buffer data;
    uint8_t digest[DC_SHA256_DIGEST_LENGTH];
    (void)self;
    if (!PyArg_ParseTuple(args, "y*", &data)) {
        return NULL;
    }
    dc_sha256(data.buf, (size_t)data.len, digest);
    PyBuffer_Release(&data);
    return PyBytes_FromStringAndSize((const char *)digest, sizeof digest);
}

static PyObject *py_hmac_sha256(PyObject *self, PyObject *args)
{
    Py_buffer key, data;
    uint8_t tag[DC_HMAC_SHA256_LENGTH];
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*", &key, &data)) {
        return NULL;
    }
    int status = dc_hmac_sha256(key.buf, (size_t)key.len, data.buf, (size_t)data.len, tag);
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    if (status != DC_OK) {
        PyErr_Format(PyExc_ValueError, "dc_hmac_sha256: %s", dc_status_name(status));
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)tag, sizeof tag);
}

static PyObject *py_cbor_check(PyObject *self, PyObject *args)
{
    Py_buffer data;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*", &data)) {
        return NULL;
    }
    int status = dc_cbor_check(data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    return status_str(status);
}

static PyMethodDef methods[] = {
    {"open", py_open, METH_VARARGS, "open(data) -> status name of dc_container_open"},
    {"describe", py_describe, METH_VARARGS,
     "describe(data) -> (status, header fields or None, [(payload_offset, payload_length, level_count, codec, "
     "level_dtype, tensor_flags, payload)] or None)"},
    {"tensor_info", py_tensor_info, METH_VARARGS,
     "tensor_info(data, index) -> (status, (name, level_dtype, shape, axis, scales, zero_points) or None)"},
    {"verify_tag", py_verify_tag, METH_VARARGS, "verify_tag(data, key) -> status of open, then dc_container_verify_tag"},
    {"check_base", py_check_base, METH_VARARGS, "check_base(data, base_sha256 or None) -> status"},
    {"sha256", py_sha256, METH_VARARGS, "sha256(data) -> 32-byte digest (dc_sha256)"},
    {"hmac_sha256", py_hmac_sha256, METH_VARARGS, "hmac_sha256(key, data) -> 32-byte tag; ValueError for a bad key"},
    {"cbor_check", py_cbor_check, METH_VARARGS, "cbor_check(data) -> status of dc_cbor_check"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "host._container", NULL, -1, methods};

PyMODINIT_FUNC PyInit__container(void)
{
    return PyModule_Create(&module);
}
