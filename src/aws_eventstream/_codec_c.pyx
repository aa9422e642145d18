# cython: language_level=3, embedsignature=True, embedsignature.format=clinic
"""Cython twin of the event-stream codec.

Same names and behaviour as the pure-Python twin ``_codec_py``; the tests run one
body against both. Frames are built and parsed on raw pointers: every length is
validated against the buffer before it is used (Cython's bounds checks only ever
apply to Python sequences, and are off only where a function says why).

Rules this module keeps, because Python code can run inside almost any call here (a
decref that frees an object with a weakref callback or ``__del__``, an allocation
that starts the garbage collector, a user's ``__index__`` or ``tzinfo``):

- module and object state is made consistent before anything that can run Python
  code: a cache slot is updated before its old value is released, a Decoder records
  its new state before it grows its buffer, and a failed Decoder stays failed;
- a pointer into a Python object is used only while a local reference holds it;
- a caller's buffer is read once: what is checked is what is returned;
- values that are not exact built-ins go through ``_common.canonical``, the same
  code the pure twin runs, so both twins read odd objects the same way;
- memory comes from PyMem_* (visible to tracemalloc, and to the fault-injection tests).
"""

import os
import uuid
import warnings

from cpython.buffer cimport PyBUF_FULL_RO, PyBuffer_IsContiguous, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Copy, PyDict_Items, PyDict_Next, PyDict_Size
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM
from cpython.type cimport PyType_Check, PyType_IsSubtype
from cpython.unicode cimport PyUnicode_Check, PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy

cimport cython

from ._common import NULL as KIND_NULL
from ._common import (ANY, BASE64, BOOL, FLOAT, INT, KIND_NAMES, LIST, MAKE_CALL, MAKE_TUPLE_SUBCLASS,
                      OBJECT, RECORD, REQUIRED, STR, ShapeError, attach_messages, canonical, check_depth,
                      check_limits, check_spec, crc_start, failed_again, first_duplicate, items_of, json_type,
                      unbase64, uuid_bytes)
from ._types import MAX_FRAME, MAX_HEADER_VALUE, MAX_HEADERS, Int8, Int16, Int32, Int64, Message, Timestamp
from .errors import (ChecksumError, _block_too_long, _cannot_encode, _duplicate_at, _duplicate_name,
                     _empty_name, _frame_too_long, _headers_do_not_fit, _headers_over_limit, _length_past_block,
                     _name_length, _name_not_encodable, _name_not_str, _name_not_utf8, _name_past_block,
                     _not_bytes_like, _not_contiguous, _not_initialised, _not_picklable, _out_of_range,
                     _over_limit, _payload_over_limit, _reentered, _stream_cut, _string_not_utf8, _too_big, _trailing, _truncated,
                     _truncated_prelude, _under_minimum, _unknown_type, _unusable_buffer, _value_not_encodable,
                     _value_over_limit, _value_past_block, _value_too_long)

cdef extern from "structmember.h":  # PyMemberDef, T_OBJECT_EX, READONLY before Python 3.12
    pass

cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object s, Py_ssize_t *size) except NULL
    bint PyUnicode_IS_COMPACT_ASCII(object s)
    void PyObject_GC_UnTrack(void *op)
    void PyObject_GC_Track(void *op)
    void *PyUnicode_DATA(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    bint PyMemoryView_Check(object obj)
    PyObject *PyMemoryView_GET_BASE(object obj)
    ctypedef struct PyMemberDef:
        const char *name
        int type
        Py_ssize_t offset
        int flags
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member
    int T_OBJECT_EX
    int READONLY
    object PyType_GenericAlloc(PyTypeObject *type, Py_ssize_t nitems)

cdef extern from "_crc32.h" nogil:
    void aws_es_crc32_init()
    int aws_es_crc32_select(const char *name)
    const char *aws_es_crc32_kernel()
    const char *aws_es_crc32_available()
    uint32_t aws_es_crc32(uint32_t crc, const unsigned char *p, size_t n)
    uint32_t aws_es_crc32_copy(uint32_t crc, unsigned char *dst, const unsigned char *src, size_t n)

__all__ = [
    "encode", "decode", "Encoder", "Decoder", "crc32", "crc_kernels",
    "CRC_KERNEL", "MAX_FRAME", "MAX_HEADERS", "MAX_HEADER_VALUE", "build", "plan", "b64decode",
]

cdef enum:
    PRELUDE = 12
    OVERHEAD = 16  # prelude + message CRC
    C_MAX_FRAME = 24 * 1024 * 1024  # botocore and aws-c-event-stream accept 24 MiB frames
    C_MAX_HEADERS = 128 * 1024
    C_MAX_HEADER_VALUE = 32767  # a signed 16-bit length on the wire
    NOGIL_BYTES = 64 * 1024  # below this, releasing the GIL costs more than it frees
    STR_CACHE_SLOTS = 256  # power of two
    STR_CACHE_MAX = 64  # longest string kept in the cache, in UTF-8 bytes
    BLOCK_CACHE_SLOTS = 32  # power of two
    BLOCK_CACHE_MAX = 512  # longest header block kept in the cache
    STACK_BLOCK = 1024

if (C_MAX_FRAME, C_MAX_HEADERS, C_MAX_HEADER_VALUE) != (MAX_FRAME, MAX_HEADERS, MAX_HEADER_VALUE):
    raise ImportError("the extension's limits disagree with _types: rebuild it from this source")

# Bound once: what the C code trusts (Message's slot layout, the types a conversion
# returns) must not change if someone replaces a name in this module.
cdef object _int_new = int.__new__
cdef object _UUID = uuid.UUID
cdef object _Message = Message
cdef object _canonical = canonical
cdef object _uuid_bytes = uuid_bytes

aws_es_crc32_init()


def crc_kernels():
    """Names of the CRC-32 kernels this CPU can run, slowest first."""
    return tuple(aws_es_crc32_available().decode("ascii").split())


def _use_crc_kernel(name):
    """Switch the CRC-32 kernel for the whole process (tests and benchmarks); returns it."""
    global CRC_KERNEL
    if aws_es_crc32_select(name.encode("ascii")) != 0:
        raise ValueError(f"CRC-32 kernel {name!r} is not available here; this CPU has {crc_kernels()}")
    CRC_KERNEL = aws_es_crc32_kernel().decode("ascii")
    return CRC_KERNEL


CRC_KERNEL = aws_es_crc32_kernel().decode("ascii")
_forced = os.environ.get("AWS_EVENTSTREAM_CRC", "").strip().lower()
if _forced not in ("", "auto"):
    try:
        _use_crc_kernel(_forced)
    except ValueError as exc:  # a wrong setting must not break the import
        warnings.warn(f"AWS_EVENTSTREAM_CRC ignored: {exc}", RuntimeWarning, stacklevel=2)
del _forced


# --------------------------------------------------------------------------- helpers

cdef inline uint32_t _be32(const unsigned char *p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef inline uint64_t _be64(const unsigned char *p) noexcept nogil:
    return (<uint64_t>_be32(p) << 32) | _be32(p + 4)


cdef inline void _put32(unsigned char *p, uint32_t v) noexcept nogil:
    p[0] = v >> 24
    p[1] = v >> 16
    p[2] = v >> 8
    p[3] = v


cdef inline void _put64(unsigned char *p, uint64_t v) noexcept nogil:
    _put32(p, <uint32_t>(v >> 32))
    _put32(p + 4, <uint32_t>v)


cdef inline uint32_t _crc(uint32_t crc, const unsigned char *p, Py_ssize_t n) noexcept:
    if n >= NOGIL_BYTES:
        with nogil:
            crc = aws_es_crc32(crc, p, <size_t>n)
        return crc
    return aws_es_crc32(crc, p, <size_t>n)


cdef inline uint32_t _crc_copy(uint32_t crc, unsigned char *dst, const unsigned char *src,
                               Py_ssize_t n) noexcept:
    """Copy src[0:n] to dst and continue the CRC over it, without the GIL for large buffers."""
    if n >= NOGIL_BYTES:
        with nogil:
            crc = aws_es_crc32_copy(crc, dst, src, <size_t>n)
        return crc
    return aws_es_crc32_copy(crc, dst, src, <size_t>n)


cdef struct Input:
    const unsigned char *ptr
    Py_ssize_t len
    bint release
    bint stable  # immutable: bytes, or a memoryview of bytes; anything else may change
    Py_buffer view


cdef int _acquire(object obj, Input *inp, str what) except -1:
    """Point ``inp`` at the bytes of a bytes-like object; release with ``_release``.

    Asks for the buffer as ``memoryview()`` does (the pure twin's way), so an object
    whose buffer depends on what is asked gives both twins the same bytes.
    """
    cdef PyObject *base
    if PyBytes_CheckExact(obj):
        inp.ptr = <const unsigned char *>PyBytes_AS_STRING(obj)
        inp.len = PyBytes_GET_SIZE(obj)
        inp.release = False
        inp.stable = True
        return 0
    if PyUnicode_Check(obj):
        raise _not_bytes_like(what, obj)
    try:
        PyObject_GetBuffer(obj, &inp.view, PyBUF_FULL_RO)
    except BufferError:
        raise _not_contiguous(what) from None
    except TypeError:
        raise _not_bytes_like(what, obj) from None
    except ValueError as exc:  # a released memoryview
        raise _unusable_buffer(what, exc) from None
    inp.release = True
    if not PyBuffer_IsContiguous(&inp.view, b'C'):
        _release(inp)
        raise _not_contiguous(what)
    inp.ptr = <const unsigned char *>inp.view.buf
    inp.len = inp.view.len
    inp.stable = False
    if PyMemoryView_Check(obj):
        base = PyMemoryView_GET_BASE(obj)
        inp.stable = base != NULL and PyBytes_CheckExact(<object>base)
    return 0


cdef inline void _release(Input *inp) noexcept:
    if inp.release:
        inp.release = False
        PyBuffer_Release(&inp.view)


# Header names and string values repeat from frame to frame (":event-type",
# "TranscriptEvent", ...). A small direct-mapped cache of the decoded str objects
# turns most of those decodes into a hash and a memcmp. Each entry keeps its own copy
# of the UTF-8 bytes, so a lookup depends on nothing but the entry itself.
cdef struct CacheEntry:
    PyObject *obj  # an exact str: releasing it runs no Python code, but keep the rule anyway
    Py_ssize_t n
    unsigned char raw[STR_CACHE_MAX]

cdef CacheEntry _str_cache[STR_CACHE_SLOTS]


cdef inline uint64_t _hash_bytes(const unsigned char *p, Py_ssize_t n) noexcept nogil:
    """A quick multiplicative hash of a short byte string, a word at a time."""
    cdef uint64_t h = <uint64_t>n * 0x9E3779B97F4A7C15ULL, w
    while n >= 8:
        memcpy(&w, p, 8)
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL
        h ^= h >> 29
        p += 8
        n -= 8
    w = 0
    memcpy(&w, p, <size_t>n)
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL
    return h ^ (h >> 32)


cdef object _decode_str(const unsigned char *p, Py_ssize_t n):
    """Strict UTF-8 decode of p[0:n] (raises UnicodeDecodeError)."""
    cdef CacheEntry *e
    cdef PyObject *old
    if n > STR_CACHE_MAX:
        return PyUnicode_DecodeUTF8(<const char *>p, n, NULL)
    e = &_str_cache[_hash_bytes(p, n) & (STR_CACHE_SLOTS - 1)]
    if e.obj != NULL and e.n == n and memcmp(e.raw, p, <size_t>n) == 0:
        return <object>e.obj
    s = PyUnicode_DecodeUTF8(<const char *>p, n, NULL)
    old = e.obj
    Py_INCREF(s)
    e.obj = <PyObject *>s
    e.n = n
    memcpy(e.raw, p, <size_t>n)
    Py_XDECREF(old)  # last: the slot is whole before anything is released
    return s


# A builtin function: the cheapest call CPython has. Unlike the pure twin's functions it
# does not bind as a method when stored on a class, as no builtin does.
@cython.binding(False)
def crc32(data, value=0):
    """The CRC-32 of ``data`` (zlib's polynomial), continuing from ``value``."""
    cdef Input inp
    cdef uint32_t r
    cdef int overflow = 0
    cdef long long v = -1
    if PyBytes_CheckExact(data) and value is 0:  # the common call: bytes need no buffer acquired
        return _crc(0, <const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    _acquire(data, &inp, "data")
    try:
        if PyLong_CheckExact(value):
            v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow or v < 0 or v > <long long>0xFFFFFFFF:  # C comparisons: no int object made
            v = crc_start(value)  # other ints, and the error for any bad value
        r = _crc(<uint32_t>v, inp.ptr, inp.len)
    finally:
        _release(&inp)
    return r


# --------------------------------------------------------------------------- encoding

cdef struct Writer:
    unsigned char *p
    Py_ssize_t n
    Py_ssize_t cap
    bint heap


cdef int _reserve(Writer *w, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap
    cdef unsigned char *q
    if w.n + extra <= w.cap:
        return 0
    cap = max(2 * w.cap, w.n + extra)
    if w.heap:
        q = <unsigned char *>PyMem_Realloc(w.p, <size_t>cap)
    else:
        q = <unsigned char *>PyMem_Malloc(<size_t>cap)
        if q != NULL:
            memcpy(q, w.p, <size_t>w.n)
    if q == NULL:
        raise MemoryError()
    w.p = q
    w.cap = cap
    w.heap = True
    return 0


cdef inline void _writer_init(Writer *w, unsigned char *stack) noexcept:
    """Start writing into ``stack`` (STACK_BLOCK bytes); larger blocks move to the heap."""
    w.p = stack
    w.n = 0
    w.cap = STACK_BLOCK
    w.heap = False


cdef inline void _writer_free(Writer *w) noexcept:
    if w.heap:
        PyMem_Free(w.p)
        w.heap = False


cdef int _put_int(Writer *w, unsigned char tbyte, int64_t v, int size) except -1:
    _reserve(w, 1 + size)
    cdef unsigned char *p = w.p + w.n
    p[0] = tbyte
    if size == 1:
        p[1] = <uint8_t>v
    elif size == 2:
        p[1] = <uint8_t>(v >> 8)
        p[2] = <uint8_t>v
    elif size == 4:
        _put32(p + 1, <uint32_t>v)
    else:
        _put64(p + 1, <uint64_t>v)
    w.n += 1 + size
    return 0


cdef int _put_raw(Writer *w, unsigned char tbyte, const unsigned char *raw, Py_ssize_t n,
                  object name) except -1:
    if n > C_MAX_HEADER_VALUE:
        raise _value_too_long(name, n)
    _reserve(w, 3 + n)
    w.p[w.n] = tbyte
    w.p[w.n + 1] = <uint8_t>(n >> 8)
    w.p[w.n + 2] = <uint8_t>n
    memcpy(w.p + w.n + 3, raw, <size_t>n)
    w.n += 3 + n
    return 0


cdef inline int _fixed_width(object t) noexcept:
    """The width in bytes of an exact fixed-width int type, else 0."""
    if t is Int32 or t is Int64 or t is Timestamp:
        return 4 if t is Int32 else 8
    if t is Int8 or t is Int16:
        return 1 if t is Int8 else 2
    return 0


cdef int _put_int_value(Writer *w, object name, object value, int size) except -1:
    """An exact int (``size`` 0) or an exact fixed-width int of ``size`` bytes."""
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(value, &overflow)
    cdef long long hi
    cdef unsigned char tbyte
    if size == 0:
        if overflow:
            raise _too_big(name, value)
        if -2147483648 <= v <= 2147483647:
            return _put_int(w, 4, v, 4)
        return _put_int(w, 5, v, 8)
    if size < 8:
        hi = (1LL << (8 * size - 1)) - 1
        if not -hi - 1 <= v <= hi:
            overflow = 1
    if overflow:
        raise _out_of_range(name, value)
    t = type(value)
    tbyte = 8 if t is Timestamp else 5 if size == 8 else 4 if size == 4 else 3 if size == 2 else 2
    return _put_int(w, tbyte, v, size)


cdef inline bint _is_plain(object value) noexcept:
    """True for the exact types encoded without running any Python code."""
    t = type(value)
    return t is str or t is int or t is bytes or value is True or value is False or _fixed_width(t) != 0


cdef int _put_value(Writer *w, object name, object value, bint converted=False) except -1:
    cdef Py_ssize_t vlen
    cdef const char *raw
    cdef int size
    t = type(value)
    if t is str:
        try:
            raw = PyUnicode_AsUTF8AndSize(value, &vlen)
        except UnicodeEncodeError as exc:
            raise _value_not_encodable(name, exc.reason) from None
        return _put_raw(w, 7, <const unsigned char *>raw, vlen, name)
    if value is True or value is False:
        _reserve(w, 1)
        w.p[w.n] = 0 if value is True else 1
        w.n += 1
        return 0
    if t is int:
        return _put_int_value(w, name, value, 0)
    size = _fixed_width(t)
    if size:
        return _put_int_value(w, name, value, size)
    if t is bytes:
        return _put_raw(w, 6, <const unsigned char *>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), name)
    if t is _UUID:
        uuid_raw = _uuid_bytes(name, value)
        if not PyBytes_CheckExact(uuid_raw) or PyBytes_GET_SIZE(uuid_raw) != 16:
            raise _cannot_encode(name, value)  # _uuid_bytes checks this; memcpy relies on it
        _reserve(w, 17)
        w.p[w.n] = 9
        memcpy(w.p + w.n + 1, PyBytes_AS_STRING(uuid_raw), 16)
        w.n += 17
        return 0
    # Subclasses, bytearray, memoryview, datetime: the same conversion as the pure twin;
    # what comes back is one of the exact types above.
    if converted:
        raise _cannot_encode(name, value)
    return _put_value(w, name, _canonical(name, value), True)


cdef int _put_name(Writer *w, object name) except -1:
    cdef Py_ssize_t nlen
    cdef const char *raw
    if not PyUnicode_Check(name):
        raise _name_not_str(name)
    try:
        raw = PyUnicode_AsUTF8AndSize(name, &nlen)  # a subclass's own characters, no dunders
    except UnicodeEncodeError as exc:
        raise _name_not_encodable(name, exc.reason) from None
    if nlen == 0 or nlen > 255:
        raise _name_length(name, nlen)
    _reserve(w, 1 + nlen)
    w.p[w.n] = <uint8_t>nlen
    memcpy(w.p + w.n + 1, raw, <size_t>nlen)
    w.n += 1 + nlen
    return 0


cdef inline int _check_block(Writer *w, object name) except -1:
    if w.n > C_MAX_HEADERS:
        raise _block_too_long(name)
    return 0


@cython.boundscheck(False)  # every pair is a 2-tuple, made by items_of() or PyDict_Items()
@cython.wraparound(False)
cdef int _put_items(Writer *w, list items) except -1:
    """Encode a snapshot of (name, value) pairs, checking that no two names are the same.

    Names can repeat only here: two keys of a dict are distinct, but a str subclass
    with its own __eq__ and __hash__, or a Mapping's items(), can give the same name twice.
    """
    cdef Py_ssize_t start
    cdef tuple pair
    names = []
    for pair in items:
        name = pair[0]
        start = w.n
        _put_name(w, name)
        names.append(PyBytes_FromStringAndSize(<char *>w.p + start + 1, w.p[start]))
        _put_value(w, name, pair[1])
        _check_block(w, name)
    dup = first_duplicate(names, items)
    if dup is not None:
        raise _duplicate_name(dup)
    return 0


cdef int _put_headers(Writer *w, object headers) except -1:
    """Encode ``headers``; both twins read a mapping's items once, before any value's code runs."""
    cdef Py_ssize_t pos = 0
    cdef PyObject *k
    cdef PyObject *v
    if type(headers) is dict:
        # Exact str names and exact values run no Python code, so the dict cannot
        # change under this loop. At the first anything else, start again on a snapshot
        # (nothing has run yet, so it is the dict as the caller passed it).
        while PyDict_Next(headers, &pos, &k, &v):
            if type(<object>k) is not str or not _is_plain(<object>v):
                w.n = 0
                return _put_items(w, PyDict_Items(headers))
            # References of our own: raising an error allocates, the collector may run,
            # and a finalizer may then take these out of the dict.
            name = <object>k
            value = <object>v
            _put_name(w, name)
            _put_value(w, name, value)
            _check_block(w, name)
        return 0
    return _put_items(w, items_of(headers))


cdef bytes _frame(const unsigned char *block, Py_ssize_t hlen, object payload):
    """One frame around an encoded header block: one allocation, one pass over the payload.

    ``block`` must stay valid while Python code runs (acquiring ``payload`` can run some):
    a Writer's memory, or a bytes object the caller holds a reference to.
    """
    cdef Input inp
    cdef Py_ssize_t total
    cdef unsigned char *p
    cdef uint32_t pcrc, crc
    _acquire(payload, &inp, "payload")
    try:
        total = OVERHEAD + hlen + inp.len
        if total > C_MAX_FRAME:
            raise _frame_too_long(total)
        out = PyBytes_FromStringAndSize(NULL, total)
        p = <unsigned char *>PyBytes_AS_STRING(out)
        _put32(p, <uint32_t>total)
        _put32(p + 4, <uint32_t>hlen)
        pcrc = aws_es_crc32(0, p, 8)
        _put32(p + 8, pcrc)
        memcpy(p + PRELUDE, block, <size_t>hlen)
        # the message CRC covers the whole frame but itself; it continues from the prelude CRC
        crc = aws_es_crc32(pcrc, p + 8, <size_t>(4 + hlen))
        crc = _crc_copy(crc, p + PRELUDE + hlen, inp.ptr, inp.len)
        _put32(p + total - 4, crc)
    finally:
        _release(&inp)
    return out


@cython.binding(False)  # a builtin function: the cheapest call CPython has
def encode(headers, payload=b""):
    """One complete frame carrying ``headers`` (name -> value, in order) and ``payload``.

    Raises:
        HeaderError: a header name or value cannot be encoded, or the block is too large.
        FrameError: the frame would exceed ``MAX_FRAME``.
        TypeError: ``headers`` is not a mapping or ``payload`` is not bytes-like.
    """
    cdef unsigned char stack[STACK_BLOCK]
    cdef Writer w
    _writer_init(&w, stack)
    try:
        _put_headers(&w, headers)
        return _frame(w.p, w.n, payload)
    finally:
        _writer_free(&w)


cdef bytes _header_block(object headers):
    cdef unsigned char stack[STACK_BLOCK]
    cdef Writer w
    _writer_init(&w, stack)
    try:
        _put_headers(&w, headers)
        return PyBytes_FromStringAndSize(<char *>w.p, w.n)
    finally:
        _writer_free(&w)


# binding=False: methods are plain method descriptors, which check the type of ``self``
# (Cython's binding functions do not, and Encoder.encode(None) would read through None).
@cython.binding(False)
@cython.auto_pickle(False)
cdef class Encoder:
    """Encoder(headers)
--

Encodes frames that share one set of headers; the header block is built once."""

    cdef bytes _block  # None until __init__ has run

    def __init__(self, headers):
        self._block = _header_block(headers)

    cdef bytes _ready(self):
        block = self._block
        if block is None:
            raise _not_initialised("Encoder")
        return block

    @property
    def header_block(self):
        """The encoded header block every frame carries."""
        return self._ready()

    def encode(self, payload=b""):
        """One frame with this encoder's headers and ``payload``; same bytes as :func:`encode`."""
        # The local reference keeps the block alive if __init__ runs again meanwhile.
        cdef bytes block = self._ready()
        return _frame(<const unsigned char *>PyBytes_AS_STRING(block), PyBytes_GET_SIZE(block), payload)

    def __repr__(self):
        if self._block is None:
            return "<Encoder (not initialised)>"
        return f"<Encoder ({PyBytes_GET_SIZE(self._block)}-byte header block)>"

    @cython.always_allow_keywords(False)  # METH_NOARGS: CPython calls it with no argument array
    def __reduce__(self):
        # Pickled as its headers: unpickling re-encodes them, so no unchecked block gets in.
        cdef bytes block = self._ready()
        return (type(self), (_decode_headers(<const unsigned char *>PyBytes_AS_STRING(block),
                                             0, PyBytes_GET_SIZE(block), 0, C_MAX_HEADER_VALUE),))


# --------------------------------------------------------------------------- decoding

# Message is a plain Python class with __slots__ ("headers", "payload"), shared with the
# pure twin. Calling it runs its Python __init__, a large share of decoding a small frame;
# instead allocate it and fill its two slots directly, at the offsets its slot descriptors
# give. Checked once here; anything unexpected falls back to calling Message().
cdef Py_ssize_t _headers_slot = 0, _payload_slot = 0


cdef Py_ssize_t _slot_offset(object descriptor):
    if type(descriptor).__name__ != "member_descriptor":
        return 0
    cdef PyMemberDef *member = (<PyMemberDescrObject *>descriptor).d_member
    if member.type != T_OBJECT_EX or member.flags & READONLY:
        return 0
    return member.offset


if _Message.__new__ is object.__new__ and type(_Message) is type:
    _headers_slot = _slot_offset(_Message.__dict__.get("headers"))
    _payload_slot = _slot_offset(_Message.__dict__.get("payload"))
    if not (_headers_slot and _payload_slot):
        _headers_slot = _payload_slot = 0


cdef object _new_message(object headers, object payload):
    cdef PyObject **slot
    if not _headers_slot:
        return _Message(headers, payload)
    m = PyType_GenericAlloc(<PyTypeObject *>_Message, 0)  # slots start NULL
    Py_INCREF(headers)
    slot = <PyObject **>(<char *><PyObject *>m + _headers_slot)
    slot[0] = <PyObject *>headers
    Py_INCREF(payload)
    slot = <PyObject **>(<char *><PyObject *>m + _payload_slot)
    slot[0] = <PyObject *>payload
    return m

cdef int _check_prelude(const unsigned char *src, Py_ssize_t offset, Py_ssize_t max_frame,
                        Py_ssize_t max_headers, Py_ssize_t max_payload, uint32_t *total, uint32_t *hlen,
                        uint32_t *pcrc) except -1:
    """Validate the 12-byte prelude at ``src`` (frame at stream ``offset``); ``max_payload`` -1: no limit."""
    cdef unsigned char p[PRELUDE]
    memcpy(p, src, PRELUDE)  # read once: a caller's buffer may be changing under us
    cdef uint32_t expected = _be32(p + 8)
    cdef uint32_t actual = aws_es_crc32(0, p, 8)
    if actual != expected:
        raise ChecksumError("prelude", expected, actual, offset)
    total[0] = _be32(p)
    hlen[0] = _be32(p + 4)
    pcrc[0] = expected
    if total[0] < OVERHEAD:
        raise _under_minimum(offset, total[0])
    if total[0] > <uint64_t>max_frame:
        raise _over_limit(offset, total[0], max_frame)
    if hlen[0] > total[0] - OVERHEAD:
        raise _headers_do_not_fit(offset, hlen[0], total[0])
    if hlen[0] > <uint64_t>max_headers:
        raise _headers_over_limit(offset, hlen[0], max_headers)
    # total >= OVERHEAD + hlen was checked above: the payload length cannot wrap.
    if max_payload >= 0 and total[0] - OVERHEAD - hlen[0] > <uint64_t>max_payload:
        raise _payload_over_limit(offset, total[0] - OVERHEAD - hlen[0], max_payload)
    return 0


cdef object _decode_headers(const unsigned char *p, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t base,
                            Py_ssize_t max_value):
    """Decode the header block p[pos:end]; ``base + index`` is the stream offset.

    No byte array or string value may be over ``max_value`` bytes.
    """
    cdef dict headers = {}
    cdef Py_ssize_t at, nlen, vlen, count = 0
    cdef unsigned char t
    cdef uint64_t u
    while pos < end:
        at = base + pos
        nlen = p[pos]
        pos += 1
        if nlen == 0:
            raise _empty_name(at)
        if pos + nlen + 1 > end:
            raise _name_past_block(at)
        try:
            name = _decode_str(p + pos, nlen)
        except UnicodeDecodeError as exc:
            raise _name_not_utf8(at, exc.reason) from None
        pos += nlen
        t = p[pos]
        pos += 1
        if t == 7 or t == 6:
            if pos + 2 > end:
                raise _length_past_block(at, name)
            vlen = (<Py_ssize_t>p[pos] << 8) | p[pos + 1]
            pos += 2
            if vlen > max_value:
                raise _value_over_limit(at, name, vlen, max_value)
            if pos + vlen > end:
                raise _value_past_block(at, name)
            if t == 7:
                try:
                    value = _decode_str(p + pos, vlen)
                except UnicodeDecodeError as exc:
                    raise _string_not_utf8(at, name, exc.reason) from None
            else:
                value = PyBytes_FromStringAndSize(<const char *>p + pos, vlen)
            pos += vlen
        elif t == 0:
            value = True
        elif t == 1:
            value = False
        elif t == 2 or t == 3 or t == 4 or t == 5 or t == 8:
            vlen = 1 if t == 2 else 2 if t == 3 else 4 if t == 4 else 8
            if pos + vlen > end:
                raise _value_past_block(at, name)
            if t == 2:
                value = _int_new(Int8, <signed char>p[pos])
            elif t == 3:
                value = _int_new(Int16, <short>((p[pos] << 8) | p[pos + 1]))
            elif t == 4:
                value = _int_new(Int32, <int>_be32(p + pos))
            else:
                u = _be64(p + pos)
                value = _int_new(Int64 if t == 5 else Timestamp, <int64_t>u)
            pos += vlen
        elif t == 9:
            if pos + 16 > end:
                raise _value_past_block(at, name)
            value = _UUID(bytes=PyBytes_FromStringAndSize(<const char *>p + pos, 16))
            pos += 16
        else:
            raise _unknown_type(at, name, t)
        headers[name] = value
        count += 1
        if PyDict_Size(headers) != count:
            raise _duplicate_at(at, name)
    return headers


# Most streams repeat a handful of header blocks frame after frame. A block that decoded
# cleanly is remembered (raw bytes -> dict); a later identical block gets a copy of that
# dict. Every header value type is immutable, so sharing the values is safe; the cached
# dict itself is never handed out.
cdef struct BlockEntry:
    PyObject *headers
    unsigned char *raw
    Py_ssize_t n

cdef BlockEntry _block_cache[BLOCK_CACHE_SLOTS]


cdef object _headers_of(const unsigned char *p, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t base,
                        Py_ssize_t max_value):
    """The header dict of the block p[pos:end], from the cache when it was seen before.

    The cache holds blocks decoded under any value limit: it serves only blocks too short
    to hold a value over ``max_value``, which decode the same under every limit.
    """
    cdef Py_ssize_t n = end - pos
    cdef BlockEntry *e
    cdef unsigned char *raw
    cdef unsigned char *old_raw
    cdef PyObject *old
    if n == 0:
        return {}
    if n > BLOCK_CACHE_MAX or n > max_value:
        return _decode_headers(p, pos, end, base, max_value)
    e = &_block_cache[_hash_bytes(p + pos, n) & (BLOCK_CACHE_SLOTS - 1)]
    if e.headers != NULL and e.n == n and memcmp(e.raw, p + pos, <size_t>n) == 0:
        cached = <object>e.headers  # a reference of our own while the copy allocates
        return PyDict_Copy(cached)
    headers = _decode_headers(p, pos, end, base, max_value)
    raw = <unsigned char *>PyMem_Malloc(<size_t>n)
    if raw != NULL:  # no memory for the cache: just don't cache
        memcpy(raw, p + pos, <size_t>n)
        old, old_raw = e.headers, e.raw
        Py_INCREF(headers)
        e.headers = <PyObject *>headers
        e.raw = raw
        e.n = n
        PyMem_Free(old_raw)
        # Last: freeing the old dict can run Python code (a weakref callback on one of its
        # values) that decodes again and finds this slot; it must find it whole.
        Py_XDECREF(old)
    return PyDict_Copy(headers)


cdef object _parse(const unsigned char *p, uint32_t total, uint32_t hlen, uint32_t pcrc,
                   Py_ssize_t offset, bint stable, Py_ssize_t max_value):
    """Check the message CRC of the frame at ``p`` (prelude already checked) and decode it.

    Unless ``stable`` (an immutable bytes object, or memory of our own), ``p`` may be a
    buffer another thread writes while the GIL is released for a large payload: then the
    header block is copied as it is checksummed and parsed from that copy, and the prelude
    CRC's bytes are the ones checked, so every byte returned is a byte the CRC covered.
    """
    cdef unsigned char stack[STACK_BLOCK]
    cdef unsigned char pc[4]
    cdef unsigned char *heap
    cdef uint32_t crc
    if stable:  # the message CRC continues from the prelude CRC, over its bytes onwards
        return _check_and_build(p, p + PRELUDE, total, hlen, aws_es_crc32(pcrc, p + 8, 4 + hlen), offset,
                                max_value)
    _put32(pc, pcrc)
    crc = aws_es_crc32(pcrc, pc, 4)
    if hlen <= STACK_BLOCK:
        crc = aws_es_crc32_copy(crc, stack, p + PRELUDE, hlen)
        return _check_and_build(p, stack, total, hlen, crc, offset, max_value)
    heap = <unsigned char *>PyMem_Malloc(hlen)
    if heap == NULL:
        raise MemoryError()
    try:
        crc = aws_es_crc32_copy(crc, heap, p + PRELUDE, hlen)
        return _check_and_build(p, heap, total, hlen, crc, offset, max_value)
    finally:
        PyMem_Free(heap)


cdef object _check_and_build(const unsigned char *p, const unsigned char *block, uint32_t total,
                             uint32_t hlen, uint32_t crc, Py_ssize_t offset, Py_ssize_t max_value):
    """Finish the message CRC over the payload while copying it out, then build the Message.

    ``crc`` covers the frame up to the payload; ``block`` is the header block it covered.
    The payload is dropped unseen if the CRC fails, and the headers are parsed only after.
    """
    cdef uint32_t expected = _be32(p + total - 4)
    cdef Py_ssize_t plen = total - OVERHEAD - hlen
    payload = PyBytes_FromStringAndSize(NULL, plen)
    crc = _crc_copy(crc, <unsigned char *>PyBytes_AS_STRING(payload), p + PRELUDE + hlen, plen)
    if crc != expected:
        raise ChecksumError("message", expected, crc, offset)
    return _new_message(_headers_of(block, 0, hlen, offset + PRELUDE, max_value), payload)


@cython.binding(False)  # a builtin function: the cheapest call CPython has
def decode(frame):
    """Decode exactly one whole frame.

    Raises:
        ChecksumError: the prelude or message CRC does not match.
        FrameError: the bytes are not exactly one frame (truncated, trailing bytes, bad lengths).
        HeaderError: the header block is malformed.
        TypeError: ``frame`` is not bytes-like.
    """
    cdef Input inp
    cdef uint32_t total, hlen, pcrc
    _acquire(frame, &inp, "frame")
    try:
        if inp.len < PRELUDE:
            raise _truncated_prelude(inp.len)
        _check_prelude(inp.ptr, 0, C_MAX_FRAME, C_MAX_HEADERS, -1, &total, &hlen, &pcrc)
        if inp.len < total:
            raise _truncated(inp.len, total)
        if inp.len > total:
            raise _trailing(inp.len, total)
        return _parse(inp.ptr, total, hlen, pcrc, 0, inp.stable, C_MAX_HEADER_VALUE)
    finally:
        _release(&inp)


@cython.binding(False)
@cython.auto_pickle(False)
cdef class Decoder:
    """Decoder(max_frame=MAX_FRAME, max_headers=MAX_HEADERS, *, max_payload=None, max_header_value=MAX_HEADER_VALUE)
--

Sans-IO streaming decoder: feed it bytes in any chunking, get whole messages back.

    It holds at most one partial frame, refuses a frame over ``max_frame`` as soon as its
    12-byte prelude arrives, and after an error stays failed: every later call raises it again.

    Args:
        max_frame: the largest frame accepted, in bytes (16..2**32-1).
        max_headers: the largest header block accepted, in bytes (0..2**32-1).
        max_payload: the largest payload accepted, in bytes (0..2**32-1), checked from the
            prelude like the two above; None (the default): only ``max_frame`` bounds it.
        max_header_value: the longest byte array or string header value accepted, in bytes
            (0..65535; the default is the event-stream specification's 32767).
    """

    cdef Py_ssize_t _max_frame, _max_headers
    cdef Py_ssize_t _max_payload  # -1: no limit of its own
    cdef Py_ssize_t _max_value
    cdef unsigned char *_buf  # the partial frame, if any
    cdef Py_ssize_t _cap, _have
    cdef uint32_t _need, _hlen, _pcrc  # _need: its total length once its prelude is in, else 0
    cdef Py_ssize_t _offset  # stream offset of the next frame's first byte
    cdef object _error  # set once: every later call raises it
    # Building a Message can run Python code (uuid.UUID, the garbage collector) and so
    # switch threads; another call on the same decoder meanwhile could free the buffer
    # being parsed. Set for the whole of feed(), checked by every method that changes state.
    cdef bint _busy

    def __cinit__(self):
        self._buf = NULL
        self._max_payload = -1  # as the pure twin: None until __init__ sets one
        self._error = _not_initialised("Decoder")  # until __init__ runs

    def __init__(self, max_frame=C_MAX_FRAME, max_headers=C_MAX_HEADERS, *, max_payload=None,
                 max_header_value=C_MAX_HEADER_VALUE):
        if self._busy:
            raise _reentered("__init__")
        self._busy = True  # check_limits() is Python code: another thread may try to feed
        try:
            max_frame, max_headers, max_payload, max_header_value = check_limits(
                max_frame, max_headers, max_payload, max_header_value)
            PyMem_Free(self._buf)
            self._buf = NULL
            self._cap = self._have = self._offset = 0
            self._need = self._hlen = self._pcrc = 0
            self._max_frame = max_frame
            self._max_headers = max_headers
            self._max_payload = max_payload
            self._max_value = max_header_value
            self._error = None  # last: releasing an old error can run Python code
        finally:
            self._busy = False

    def __dealloc__(self):
        PyMem_Free(self._buf)

    @property
    def max_frame(self):
        return self._max_frame

    @property
    def max_headers(self):
        return self._max_headers

    @property
    def max_payload(self):
        """The payload limit of its own, or None: the frame limit alone bounds the payload."""
        return None if self._max_payload < 0 else self._max_payload

    @property
    def max_header_value(self):
        """The longest byte array or string header value accepted, in bytes."""
        return self._max_value

    @property
    def offset(self):
        """Stream offset of the first byte not yet decoded into a message."""
        return self._offset

    @property
    def buffered(self):
        """Bytes of a partial frame held, waiting for the rest."""
        return self._have

    cdef int _hold(self, Py_ssize_t size, Py_ssize_t whole) except -1:
        """Make room for ``size`` bytes of a partial frame of ``whole`` bytes (validated).

        The buffer grows with what arrives (doubling, up to the frame), never with what a
        prelude announces: a peer that sends preludes of large frames gets no memory for them.
        """
        cdef unsigned char *q
        cdef Py_ssize_t cap
        if size <= self._cap:
            return 0
        cap = min(max(size, 2 * self._cap), max(whole, size))
        q = <unsigned char *>PyMem_Realloc(self._buf, <size_t>cap)
        if q == NULL:
            raise MemoryError()
        self._buf = q
        self._cap = cap
        return 0

    cdef int _done_with_buffer(self) noexcept:
        self._have = 0
        self._need = 0
        if self._cap > 65536:  # a big frame's buffer is not kept once that frame is out
            PyMem_Free(self._buf)
            self._buf = NULL
            self._cap = 0
        return 0

    cdef int _feed(self, const unsigned char *p, Py_ssize_t n, list out) except -1:
        """Decode from ``p[0:n]``, memory nobody else writes (bytes, or a copy)."""
        cdef Py_ssize_t pos = 0, take
        cdef uint32_t total, hlen, pcrc
        if self._have:
            if not self._need:
                take = min(PRELUDE - self._have, n)
                memcpy(self._buf + self._have, p, <size_t>take)  # _cap >= PRELUDE once _have > 0
                self._have += take
                pos = take
                if self._have < PRELUDE:
                    return 0
                _check_prelude(self._buf, self._offset, self._max_frame, self._max_headers, self._max_payload,
                               &total, &hlen, &pcrc)
                self._need, self._hlen, self._pcrc = total, hlen, pcrc
            take = min(<Py_ssize_t>self._need - self._have, n - pos)
            self._hold(self._have + take, self._need)  # before anything is copied in
            memcpy(self._buf + self._have, p + pos, <size_t>take)
            self._have += take
            pos += take
            if self._have < self._need:
                return 0
            out.append(_parse(self._buf, self._need, self._hlen, self._pcrc, self._offset, True, self._max_value))
            self._offset += self._need
            self._done_with_buffer()
        while n - pos >= PRELUDE:
            _check_prelude(p + pos, self._offset, self._max_frame, self._max_headers, self._max_payload,
                           &total, &hlen, &pcrc)
            if n - pos < total:
                self._hold(n - pos, total)
                self._need, self._hlen, self._pcrc = total, hlen, pcrc
                break
            out.append(_parse(p + pos, total, hlen, pcrc, self._offset, True, self._max_value))
            pos += total
            self._offset += total
        if pos < n:
            self._hold(max(n - pos, PRELUDE), max(self._need, PRELUDE))
            memcpy(self._buf, p + pos, <size_t>(n - pos))
            self._have = n - pos
        return 0

    def feed(self, data):
        """Add bytes; return every message completed by them, in order.

        Raises:
            EventStreamError: the stream is corrupt; ``exc.messages`` holds the messages
                completed in this call before the bad frame.
            MemoryError: as any error met inside the stream, it leaves the decoder failed,
                with the messages completed before it on ``exc.messages``.
        """
        cdef Input inp
        cdef list out
        cdef unsigned char *copy = NULL
        if self._busy:
            raise _reentered("feed")
        if self._error is not None:
            raise failed_again(self._error)
        self._busy = True  # before anything that can run Python code (acquiring data can)
        try:
            out = []
            _acquire(data, &inp, "data")
            try:
                if not inp.stable and inp.len:
                    # Code run while messages are built could change the caller's buffer
                    # between frames; read it once, as the pure twin does.
                    copy = <unsigned char *>PyMem_Malloc(<size_t>inp.len)
                    if copy == NULL:
                        raise MemoryError()
                    memcpy(copy, inp.ptr, <size_t>inp.len)
                    inp.ptr = copy
                self._feed(inp.ptr, inp.len, out)
            except BaseException as exc:
                # Part of the input may be consumed and some messages built: the stream
                # cannot go on, whatever the error was.
                self._error = exc
                attach_messages(exc, out)
                raise
            finally:
                PyMem_Free(copy)
                _release(&inp)
        finally:
            self._busy = False
        return out

    def close(self):
        """Declare the end of the stream.

        Raises:
            FrameError: a partial frame is left (the stream was cut inside a frame).
        """
        if self._busy:
            raise _reentered("close")
        if self._error is not None:
            raise failed_again(self._error)
        if self._have:
            self._busy = True  # making the error runs Python code; no feed() meanwhile
            try:
                self._error = _stream_cut(self._offset, self._have, self._need)
            finally:
                self._busy = False
            raise self._error

    def __repr__(self):
        if self._error is not None:
            state = "failed"
        else:
            state = f"{self._have} bytes buffered"
        return f"<Decoder at byte {self._offset}, {state}>"

    @cython.always_allow_keywords(False)  # METH_NOARGS: CPython calls it with no argument array
    def __reduce__(self):
        raise _not_picklable()


# --------------------------------------------------------------------------- typed events

cdef int _ANY = ANY, _STR = STR, _FLOAT = FLOAT, _INT = INT, _BOOL = BOOL, _LIST = LIST, _RECORD = RECORD
cdef int _BASE64 = BASE64, _OBJECT = OBJECT, _NULL = KIND_NULL, _SUBCLASS = MAKE_TUPLE_SUBCLASS, _CALL = MAKE_CALL
cdef object _REQUIRED = REQUIRED


def plan(spec):
    """``spec`` made ready for :func:`build` (``_common.check_spec`` says what a spec is).

    Raises:
        TypeError, ValueError: ``spec`` is not a spec, or is nested too deep.
    """
    return _Plan(spec, 1)


@cython.final
cdef class _Plan:
    """A spec in a form ``build`` reads without unpacking: one record's fields, in order."""

    cdef object maker
    cdef int how
    cdef Py_ssize_t n
    cdef int depth  # 1 plus the deepest sub-plan's: build recurses at most this far
    cdef tuple keys, defaults, subs  # each n long; subs: a _Plan or None per field
    cdef bytes kinds  # one byte per field

    def __cinit__(self, spec, int depth):
        cdef int deepest = 0
        check_depth(depth)
        maker, how, fields = check_spec(spec)
        if how == _SUBCLASS and not (PyType_Check(maker) and PyType_IsSubtype(<type>maker, tuple)):
            raise TypeError("a record made in place must be a tuple subclass")
        subs = []
        for f in fields:
            sub = f[3]
            if sub is not None:
                sub = sub if type(sub) is _Plan else _Plan(sub, depth + 1)
                deepest = max(deepest, (<_Plan>sub).depth)
            subs.append(sub)
        self.depth = check_depth(1 + deepest)
        self.maker, self.how, self.n = maker, how, len(fields)
        self.keys = tuple([f[0] for f in fields])
        self.kinds = bytes([f[1] for f in fields])
        self.defaults = tuple([f[2] for f in fields])
        self.subs = tuple(subs)

    def __reduce__(self):
        raise TypeError("a plan cannot be pickled")


def build(plan, value):
    """The record ``plan`` describes, made from ``value`` (decoded JSON), or ShapeError."""
    if type(plan) is not _Plan:
        raise TypeError("build takes a plan (made by plan())")
    return _record(<_Plan>plan, value)


cdef object _tuple_new = tuple.__new__


cdef tuple _filling(Py_ssize_t n):
    """A new tuple of ``n`` empty slots, out of the garbage collector's sight until
    :func:`_filled`: code that runs meanwhile (a key's ``__eq__``) cannot reach it."""
    cdef tuple out = PyTuple_New(n)
    if n:
        PyObject_GC_UnTrack(<void *>out)
    return out


cdef inline void _filled(tuple out) noexcept:
    if PyTuple_GET_SIZE(out):
        PyObject_GC_Track(<void *>out)


@cython.boundscheck(False)  # i < p.n, and keys, defaults, subs and kinds are each p.n long
@cython.wraparound(False)
cdef object _record(_Plan p, object value):
    cdef Py_ssize_t i = 0
    cdef const unsigned char *kinds = p.kinds
    cdef tuple out
    cdef object key, item
    if type(value) is not dict:
        raise ShapeError(f"expected an object, got {json_type(value)}")
    out = _filling(p.n)
    try:
        while i < p.n:
            key = p.keys[i]
            item = (<dict>value).get(key, _REQUIRED)
            if item is _REQUIRED:
                item = p.defaults[i]
                if item is _REQUIRED:
                    raise ShapeError("missing")
            else:
                item = _field(kinds[i], item, p.subs[i])
            Py_INCREF(item)
            PyTuple_SET_ITEM(out, i, item)
            i += 1
    except ShapeError as exc:
        exc.parts.append(p.keys[i])
        raise
    finally:
        if i == p.n:
            _filled(out)
    if p.how == _CALL:
        return p.maker(*out)
    if p.how == _SUBCLASS:
        return _moved(p.maker, out)
    return out


cdef object _moved(object maker, tuple values):
    """A ``maker`` (a tuple subclass, checked by plan()) holding ``values``: allocated only
    now that every value is there, and filled before any Python code can run, so neither
    its finalizer nor the garbage collector ever sees it half-built."""
    cdef Py_ssize_t i, n = PyTuple_GET_SIZE(values)
    cdef object item
    if n == 0:
        return _tuple_new(maker, values)
    record = PyType_GenericAlloc(<PyTypeObject *>maker, n)  # a collection it starts runs before it is tracked
    for i in range(n):
        item = <object>PyTuple_GET_ITEM(values, i)
        Py_INCREF(item)
        PyTuple_SET_ITEM(record, i, item)
    return record


cdef object _field(int kind, object item, object sub):
    cdef int base = kind & ~_NULL
    cdef Py_ssize_t i, n
    cdef object t, element
    cdef tuple elements, filling
    if base == _ANY:
        return item
    if item is None:
        if kind & _NULL:
            return None
        raise ShapeError(f"expected {KIND_NAMES[base]}, got null")
    t = type(item)
    if base == _STR:
        if t is str:
            return item
    elif base == _FLOAT:
        if t is float:
            return item
        if t is int:
            try:
                return float(item)
            except OverflowError:
                raise ShapeError("expected a number, got a number out of range") from None
    elif base == _INT:
        if t is int:
            return item
    elif base == _BOOL:
        if t is bool:
            return item
    elif base == _LIST:
        if t is list:
            elements = tuple(<list>item)  # what is read is what was checked, whatever runs meanwhile
            n = len(elements)
            filling = _filling(n)
            i = 0
            try:
                while i < n:
                    element = _record(<_Plan>sub, elements[i])
                    Py_INCREF(element)
                    PyTuple_SET_ITEM(filling, i, element)
                    i += 1
            except ShapeError as exc:
                exc.parts.append(f"[{i}]")
                raise
            finally:
                if i == n:
                    _filled(filling)
            return filling
    elif base == _RECORD:
        return _record(<_Plan>sub, item)
    elif base == _BASE64:
        if t is str:
            try:
                return b64decode(item)
            except ValueError:  # binascii.Error too
                return unbase64(item)  # the same error, as a ShapeError
    elif base == _OBJECT:
        if t is dict:
            return item
    raise ShapeError(f"expected {KIND_NAMES[base]}, got {json_type(item)}")


# --------------------------------------------------------------------------- base64

cdef signed char _B64[256]


cdef void _b64_init() noexcept:
    cdef int i
    cdef const char *alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for i in range(256):
        _B64[i] = -1
    for i in range(64):
        _B64[<unsigned char>alphabet[i]] = <signed char>i


_b64_init()


@cython.boundscheck(False)
@cython.wraparound(False)
cdef bint _b64_quads(const unsigned char *p, Py_ssize_t quads, unsigned char *q) noexcept nogil:
    """Decode ``quads`` groups of four alphabet characters; False at any other character."""
    cdef Py_ssize_t i
    cdef int a, b, c, d
    for i in range(quads):
        a = _B64[p[0]]
        b = _B64[p[1]]
        c = _B64[p[2]]
        d = _B64[p[3]]
        if (a | b | c | d) < 0:
            return False
        q[0] = <unsigned char>((a << 2) | (b >> 4))
        q[1] = <unsigned char>((b << 4) | (c >> 2))
        q[2] = <unsigned char>((c << 6) | d)
        p += 4
        q += 3
    return True


def b64decode(data):
    """``base64.b64decode(data, validate=True)``: the same bytes, or the same error.

    Canonical base64 (the standard alphabet, padded to a multiple of four, nothing else)
    is decoded here; anything else is left to the standard library, which decides.
    """
    cdef const unsigned char *p
    cdef unsigned char *q
    cdef Py_ssize_t n, quads, size, pad = 0
    cdef int a, b, c, d
    cdef bint ok
    if type(data) is bytes:
        p = <const unsigned char *>PyBytes_AS_STRING(data)
        n = PyBytes_GET_SIZE(data)
    elif type(data) is str and PyUnicode_IS_COMPACT_ASCII(data):
        p = <const unsigned char *>PyUnicode_DATA(data)
        n = PyUnicode_GET_LENGTH(data)
    else:
        return _b64_slow(data)
    if n % 4:
        return _b64_slow(data)
    if n == 0:
        return b""
    if p[n - 1] == b"=":
        pad = 2 if p[n - 2] == b"=" else 1
    quads = n // 4 - 1  # the last one is decoded on its own: it may be padded
    size = quads * 3 + 3 - pad
    out = PyBytes_FromStringAndSize(NULL, size)  # not shared with anyone until returned
    q = <unsigned char *>PyBytes_AS_STRING(out)
    if n >= NOGIL_BYTES:
        with nogil:
            ok = _b64_quads(p, quads, q)
    else:
        ok = _b64_quads(p, quads, q)
    if not ok:
        return _b64_slow(data)
    p += quads * 4
    q += quads * 3
    a = _B64[p[0]]
    b = _B64[p[1]]
    c = _B64[p[2]] if pad < 2 else 0
    d = _B64[p[3]] if pad < 1 else 0
    if (a | b | c | d) < 0:
        return _b64_slow(data)
    q[0] = <unsigned char>((a << 2) | (b >> 4))
    if pad < 2:
        q[1] = <unsigned char>((b << 4) | (c >> 2))
    if pad < 1:
        q[2] = <unsigned char>((c << 6) | d)
    return out


cdef object _b64_slow(object data):
    import base64
    return base64.b64decode(data, validate=True)
