/* py_fleet.c: the `host._fleet` extension: the firmware's fleet codecs, MQTT framing and
 * Ed25519 verification, exposed for tests (the board runs the same C code).
 *
 * ed25519_verify(signature, message, public_key) -> int dc_status_t (0 = valid)
 * sha512(data) -> bytes[64]
 * parse_manifest(payload, fleet) -> (status, fields | None); fields = (version, size, block_size,
 *     min_flash, min_ram, is_signed, has_base, sha256, content_sha256, base_sha256, key_id,
 *     signature, name, arch, stream_id)
 * parse_block(payload) -> (status, (token, file_id, block_size, index, payload) | None)
 * parse_rejection(payload) -> (status, (token, code, message) | None)
 * encode_request(token, block_size, offset, count, bitmap | None) -> (status, bytes | None)
 * mqtt_fixed_header(data) -> (rc, type_flags, header_length, remaining): rc 1 complete, 0 more
 *     bytes needed, < 0 a status
 * Bad argument types raise TypeError; every C status is returned, never raised.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "dc_ed25519.h"
#include "dc_fleet.h"
#include "dc_mqtt.h"
#include "dc_sha512.h"
#include "dc_status.h"

static PyObject *py_ed25519_verify(PyObject *self, PyObject *args)
{
    Py_buffer sig, msg, key;
    int rc;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*y*", &sig, &msg, &key)) {
        return NULL;
    }
    if (sig.len != DC_ED25519_SIGNATURE_SIZE || key.len != DC_ED25519_KEY_SIZE) {
        rc = DC_ERR_ARG;
    } else {
        rc = dc_ed25519_verify(sig.buf, msg.buf, (size_t)msg.len, key.buf);
    }
    PyBuffer_Release(&sig);
    PyBuffer_Release(&msg);
    PyBuffer_Release(&key);
    return PyLong_FromLong(rc);
}

static PyObject *py_sha512(PyObject *self, PyObject *arg)
{
    Py_buffer data;
    dc_sha512_t ctx;
    uint8_t digest[DC_SHA512_DIGEST_LENGTH];
    (void)self;
    if (PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) != 0) {
        return NULL;
    }
    dc_sha512_init(&ctx);
    dc_sha512_update(&ctx, data.buf, (size_t)data.len);
    dc_sha512_final(&ctx, digest);
    PyBuffer_Release(&data);
    return PyBytes_FromStringAndSize((const char *)digest, sizeof digest);
}

static PyObject *py_parse_manifest(PyObject *self, PyObject *args)
{
    Py_buffer payload;
    const char *fleet;
    dc_fleet_manifest_t m;
    int rc;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*s", &payload, &fleet)) {
        return NULL;
    }
    rc = dc_fleet_manifest_parse(payload.buf, (size_t)payload.len, fleet, &m);
    PyBuffer_Release(&payload);
    if (rc != DC_OK) {
        return Py_BuildValue("(iO)", rc, Py_None);
    }
    return Py_BuildValue("(i(kkkkkiiy#y#y#y#y#sssy#))", rc, (unsigned long)m.version, (unsigned long)m.size,
                         (unsigned long)m.block_size, (unsigned long)m.min_flash, (unsigned long)m.min_ram,
                         m.is_signed, m.has_base, m.sha256, (Py_ssize_t)32, m.content_sha256, (Py_ssize_t)32,
                         m.base_sha256, (Py_ssize_t)32, m.key_id, (Py_ssize_t)(m.is_signed ? 16 : 0), m.signature,
                         (Py_ssize_t)(m.is_signed ? 64 : 0), m.name, m.arch, m.stream_id, m.check_sha256,
                         (Py_ssize_t)(m.has_check ? 32 : 0));
}

static PyObject *py_check_input(PyObject *self, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    PyObject *out;
    (void)self;
    if (n < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "size must be >= 0");
        }
        return NULL;
    }
    out = PyBytes_FromStringAndSize(NULL, n);
    if (out != NULL) {
        dc_fleet_check_input((uint8_t *)PyBytes_AS_STRING(out), (size_t)n);
    }
    return out;
}

static PyObject *py_parse_block(PyObject *self, PyObject *arg)
{
    Py_buffer payload;
    dc_fleet_block_t b;
    PyObject *out;
    int rc;
    (void)self;
    if (PyObject_GetBuffer(arg, &payload, PyBUF_SIMPLE) != 0) {
        return NULL;
    }
    rc = dc_fleet_block_parse(payload.buf, (size_t)payload.len, &b);
    if (rc != DC_OK) {
        out = Py_BuildValue("(iO)", rc, Py_None);
    } else {
        out = Py_BuildValue("(i(s#kkky#))", rc, b.token, (Py_ssize_t)b.token_len, (unsigned long)b.file_id,
                            (unsigned long)b.block_size, (unsigned long)b.index, b.payload,
                            (Py_ssize_t)b.payload_len);
    }
    PyBuffer_Release(&payload);
    return out;
}

static PyObject *py_parse_rejection(PyObject *self, PyObject *arg)
{
    Py_buffer payload;
    dc_fleet_rejection_t r;
    PyObject *out;
    int rc;
    (void)self;
    if (PyObject_GetBuffer(arg, &payload, PyBUF_SIMPLE) != 0) {
        return NULL;
    }
    rc = dc_fleet_rejection_parse(payload.buf, (size_t)payload.len, &r);
    if (rc != DC_OK) {
        out = Py_BuildValue("(iO)", rc, Py_None);
    } else {
        out = Py_BuildValue("(i(s#s#s#))", rc, r.token, (Py_ssize_t)r.token_len, r.code, (Py_ssize_t)r.code_len,
                            r.message, (Py_ssize_t)r.message_len);
    }
    PyBuffer_Release(&payload);
    return out;
}

static PyObject *py_encode_request(PyObject *self, PyObject *args)
{
    const char *token;
    unsigned long block_size, offset, count;
    PyObject *bitmap_obj;
    Py_buffer bitmap = {0};
    uint8_t out[DC_FLEET_REQUEST_MAX];
    int rc;
    (void)self;
    if (!PyArg_ParseTuple(args, "skkkO", &token, &block_size, &offset, &count, &bitmap_obj)) {
        return NULL;
    }
    if (bitmap_obj != Py_None) {
        if (PyObject_GetBuffer(bitmap_obj, &bitmap, PyBUF_SIMPLE) != 0) {
            return NULL;
        }
        if (count < 1 || count > DC_FLEET_MAX_WINDOW || (size_t)bitmap.len != (count + 7) / 8) {
            PyBuffer_Release(&bitmap);
            return Py_BuildValue("(iO)", DC_ERR_ARG, Py_None);
        }
    }
    rc = dc_fleet_request_encode(out, sizeof out, token, (uint32_t)block_size, (uint32_t)offset, (uint32_t)count,
                                 bitmap_obj != Py_None ? bitmap.buf : NULL);
    if (bitmap_obj != Py_None) {
        PyBuffer_Release(&bitmap);
    }
    if (rc < 0) {
        return Py_BuildValue("(iO)", rc, Py_None);
    }
    return Py_BuildValue("(iy#)", DC_OK, out, (Py_ssize_t)rc);
}

static PyObject *py_mqtt_fixed_header(PyObject *self, PyObject *arg)
{
    Py_buffer data;
    uint8_t tf = 0;
    uint32_t hlen = 0, remaining = 0;
    int rc;
    (void)self;
    if (PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) != 0) {
        return NULL;
    }
    rc = dc_mqtt_fixed_header(data.buf, (size_t)data.len, &tf, &hlen, &remaining);
    PyBuffer_Release(&data);
    return Py_BuildValue("(iikk)", rc, (int)tf, (unsigned long)hlen, (unsigned long)remaining);
}

static PyMethodDef methods[] = {
    {"ed25519_verify", py_ed25519_verify, METH_VARARGS, "ed25519_verify(signature, message, key) -> status"},
    {"sha512", py_sha512, METH_O, "sha512(data) -> digest"},
    {"parse_manifest", py_parse_manifest, METH_VARARGS, "parse_manifest(payload, fleet) -> (status, fields)"},
    {"parse_block", py_parse_block, METH_O, "parse_block(payload) -> (status, fields)"},
    {"check_input", py_check_input, METH_O, "check_input(n) -> the n-byte self-test input (dc_fleet_check_input)"},
    {"parse_rejection", py_parse_rejection, METH_O, "parse_rejection(payload) -> (status, fields)"},
    {"encode_request", py_encode_request, METH_VARARGS,
     "encode_request(token, block_size, offset, count, bitmap) -> (status, bytes)"},
    {"mqtt_fixed_header", py_mqtt_fixed_header, METH_O, "mqtt_fixed_header(data) -> (rc, type_flags, hlen, rem)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "host._fleet", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fleet(void)
{
    return PyModule_Create(&module);
}
