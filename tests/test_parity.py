"""Twin parity over odd objects (hypothesis).

Each example is a recipe: plain data that builds headers, payloads and buffers out of
subclasses of str, bytes, bytearray, int, the fixed-width ints, ``uuid.UUID`` and
``datetime`` with overridden dunders, mappings that change while they are read, and
callbacks that call the codec again. The recipe is built afresh for each twin (its
callbacks have side effects), and both twins must give the same bytes, or an exception
of the same type with the same message, and never crash.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aws_eventstream import Int8, Int16, Int32, Int64, Timestamp
from helpers import twin

import tally

SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FIXED = {"Int8": Int8, "Int16": Int16, "Int32": Int32, "Int64": Int64, "Timestamp": Timestamp}
BASES = {"str": str, "bytes": bytes, "bytearray": bytearray, "int": int, "UUID": uuid.UUID,
         "datetime": dt.datetime, **FIXED}

# What an overridden dunder does: return something (of the wrong kind, often) or raise.
RESULTS = st.sampled_from([0, 1, -1, 99, 2**70, "text", b"bytes", b"x" * 16, None, 1.5,
                           "raise ValueError", "raise TypeError", "raise RuntimeError"])
DUNDERS = {
    "str": ["encode", "__str__", "__eq__", "__hash__", "__len__", "__repr__", "__format__"],
    "bytes": ["__bytes__", "__len__", "__eq__", "__hash__", "__getitem__", "__add__", "__radd__"],
    "bytearray": ["__bytes__", "__len__", "__eq__", "__getitem__"],
    "int": ["__index__", "__int__", "__eq__", "__hash__", "__lt__", "__le__", "__gt__", "__ge__",
            "__repr__", "__format__", "__bool__"],
    "UUID": ["bytes", "__eq__", "__hash__", "__str__"],
    "datetime": ["utcoffset", "__sub__", "tzinfo", "__eq__", "timestamp"],
}
for _name in FIXED:
    DUNDERS[_name] = DUNDERS["int"]


def _behaviour(result):
    def method(self, *args, **kwargs):
        if isinstance(result, str) and result.startswith("raise "):
            raise {"ValueError": ValueError, "TypeError": TypeError,
                   "RuntimeError": RuntimeError}[result[6:]]("from an override")
        return result
    return method


def _subclass(base, overrides):
    body = {}
    for name, result in overrides:
        fn = _behaviour(result)
        body[name] = property(fn) if name in ("bytes", "int", "tzinfo") else fn
    return type(f"Odd{base}", (BASES[base],), body)


class _Env:
    """What one twin's build of a recipe shares: the codec, and the headers dict being built."""

    def __init__(self, codec):
        self.codec = codec
        self.headers = None


def _tz(kind, env):
    if kind == "utc":
        return dt.timezone.utc
    if kind == "plus2":
        return dt.timezone(dt.timedelta(hours=2))

    class Tz(dt.tzinfo):
        def utcoffset(self, when):
            if kind == "mutate" and env.headers is not None:
                env.headers.clear()
                env.headers["added"] = "later"
            elif kind == "reenter":
                frame = env.codec.encode({"inner": uuid.UUID(int=1)}, b"i" * 300)
                env.codec.decode(frame)
            elif kind == "raise":
                raise ValueError("tz says no")
            elif kind == "wrong":
                return 5
            return dt.timedelta(0)

    return Tz()


def build_value(recipe, env):
    kind = recipe[0]
    if kind == "plain":
        return recipe[1]
    if kind == "fixed":  # a fixed-width int made without its range check
        return int.__new__(FIXED[recipe[1]], recipe[2])
    if kind == "datetime":
        _, stamp, tz = recipe
        return dt.datetime(2000, 1, 1) + dt.timedelta(seconds=stamp) if tz == "naive" else \
            dt.datetime(2000, 1, 1, tzinfo=_tz(tz, env)) + dt.timedelta(seconds=stamp)
    _, base, value, overrides = recipe
    cls = _subclass(base, overrides)
    if base == "UUID":
        return cls(int=value)
    if base == "datetime":
        return cls(2001, 2, 3, tzinfo=_tz(value, env))
    if base in FIXED:
        return int.__new__(cls, value)
    return cls(value)


def build_name(recipe):
    kind, text = recipe
    if kind == "plain":
        return text
    if kind == "loose":  # equal to nothing, hashed by identity: a dict keeps two of them
        cls = type("Loose", (str,), {"__eq__": lambda s, o: s is o, "__hash__": lambda s: id(s)})
        return cls(text)
    if kind == "enum":
        return enum.Enum("Names", {"A": text}, type=str).A
    return text.encode("utf-8", "surrogatepass")  # not a str at all


class _Items(dict):
    def items(self):  # says something other than what the dict holds
        return [(k, v) for k, v in reversed(list(dict.items(self)))]


class _Pairs(Mapping):
    def __init__(self, pairs):
        self._pairs = pairs

    def __getitem__(self, key):
        raise KeyError(key)

    def __iter__(self):
        return iter([k for k, _ in self._pairs])

    def __len__(self):
        return len(self._pairs)

    def items(self):
        return list(self._pairs)


def build_headers(recipe, env):
    kind, pairs = recipe
    built = [(build_name(n), build_value(v, env)) for n, v in pairs]
    if kind == "dict":
        headers = dict(built)
    elif kind == "items":
        headers = _Items(built)
    elif kind == "pairs":
        headers = _Pairs(built)
    else:
        headers = built  # a list of pairs is not a mapping
    env.headers = headers if isinstance(headers, dict) else None
    return headers


text = st.text(max_size=12)
good_names = st.sampled_from(["a", "b", ":event-type", "\u00e9"])
bad_names = st.tuples(st.just("plain"), st.sampled_from(["", "x" * 256, "\ud800"])) | \
    st.tuples(st.just("bytes"), good_names)
names = st.integers(0, 19).flatmap(  # mostly names that encode, so the values behind them are reached
    lambda i: bad_names if i == 0 else st.one_of(
        st.tuples(st.just("plain"), good_names),
        st.tuples(st.just("plain"), text.filter(lambda t: t and "\ud800" > t[:1])),
        st.tuples(st.sampled_from(["loose", "enum"]), good_names),
    ))
ints = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 127, 128, -129, 2**31, 2**63, -(2**63) - 1]))
plain_values = st.one_of(
    st.booleans(), ints, st.binary(max_size=20), text, st.uuids(), st.none(), st.floats(allow_nan=False),
    st.tuples(*[st.sampled_from(list(FIXED)), ints]).map(lambda t: FIXED[t[0]](t[1]) if
                                                          -(2**7) <= t[1] < 2**7 else t[1]),
)
values = st.one_of(
    st.tuples(st.just("plain"), plain_values),
    st.tuples(st.just("fixed"), st.sampled_from(list(FIXED)), ints),
    st.tuples(st.just("datetime"), st.integers(-10**6, 10**6),
              st.sampled_from(["naive", "utc", "plus2", "mutate", "reenter", "raise", "wrong"])),
    st.sampled_from(list(DUNDERS)).flatmap(lambda base: st.tuples(
        st.just("sub"), st.just(base),
        {"str": text, "bytes": st.binary(max_size=20), "bytearray": st.binary(max_size=20),
         "UUID": st.integers(0, 2**128 - 1),
         "datetime": st.sampled_from(["utc", "mutate", "reenter", "raise", "wrong"])}.get(base, ints),
        st.lists(st.tuples(st.sampled_from(DUNDERS[base]), RESULTS), max_size=3, unique_by=lambda t: t[0]),
    )),
)
headers_recipes = st.tuples(st.integers(0, 19).map(lambda i: ["list", "items", "pairs"][i] if i < 3 else "dict"),
                            st.lists(st.tuples(names, values), max_size=5))
payload_recipes = st.one_of(
    st.tuples(st.just("plain"), st.binary(max_size=40)),
    st.tuples(st.just("sub"), st.sampled_from(["bytes", "bytearray"]), st.binary(max_size=40),
              st.lists(st.tuples(st.sampled_from(DUNDERS["bytes"][:4]), RESULTS), max_size=2,
                       unique_by=lambda t: t[0])),
    st.tuples(st.just("plain"), st.sampled_from(["text", None, 5, memoryview(b"abcdef")[::2]])),
)

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def _outcome(call):
    try:
        return ("ok", call())
    except Exception as exc:  # any type may come out of a user's override: compare them
        return ("error", type(exc).__name__, _ADDRESS.sub("0x?", str(exc)))


def _encode_with(codec, recipe, how):
    env = _Env(codec)
    headers = build_headers(recipe[0], env)
    payload = build_value(recipe[1], env) if recipe[1][0] != "sub" else build_value(recipe[1], env)
    if how == "encode":
        return _outcome(lambda: codec.encode(headers, payload))
    return _outcome(lambda: codec.Encoder(headers).encode(payload))


@SETTINGS
@given(recipe=st.tuples(headers_recipes, payload_recipes), how=st.sampled_from(["encode", "Encoder"]))
def test_twins_agree_on_odd_headers_and_payloads(recipe, how):
    c, py = twin("c"), twin("py")
    got_c = _encode_with(c, recipe, how)
    got_py = _encode_with(py, recipe, how)
    assert got_c == got_py
    tally.count("parity: odd header and payload cases")
    if got_c[0] == "ok":  # and what was written decodes, in both twins
        assert c.decode(got_c[1]) == py.decode(got_c[1])


buffer_kinds = st.sampled_from(["bytes", "bytes-sub", "bytearray", "bytearray-sub", "memoryview",
                                "strided", "2d", "array-i", "str", "int", "released"])


def _buffer(kind, data):
    import array

    if kind == "bytes":
        return data
    if kind == "bytes-sub":
        return type("B", (bytes,), {"__len__": lambda s: 0, "__bytes__": lambda s: b""})(data)
    if kind == "bytearray":
        return bytearray(data)
    if kind == "bytearray-sub":
        return type("BA", (bytearray,), {"__len__": lambda s: 0})(data)
    if kind == "memoryview":
        return memoryview(data)
    if kind == "strided":
        return memoryview(data + data)[::2]
    if kind == "2d":
        return memoryview(data * 2).cast("B", (2, len(data))) if data else memoryview(b"")
    if kind == "array-i":
        return array.array("i", data[: len(data) // 4 * 4]) if len(data) >= 4 else array.array("i")
    if kind == "str":
        return data.decode("latin-1")
    if kind == "int":
        return len(data)
    mv = memoryview(data)
    mv.release()
    return mv


@SETTINGS
@given(kind=buffer_kinds, frame_headers=st.dictionaries(st.sampled_from(["a", "b", "id"]), st.text(max_size=5)),
       payload=st.binary(max_size=50), cut=st.integers(0, 200), flip=st.integers(0, 400))
def test_twins_agree_on_odd_buffers(kind, frame_headers, payload, cut, flip):
    c, py = twin("c"), twin("py")
    frame = bytearray(py.encode(frame_headers, payload))
    if flip < len(frame) and flip % 3 == 0:
        frame[flip] ^= 0x10
    data = bytes(frame[: len(frame) - cut % 3])

    def run(codec):
        out = [_outcome(lambda: codec.decode(_buffer(kind, data))),
               _outcome(lambda: codec.crc32(_buffer(kind, data))),
               _outcome(lambda: codec.encode({"k": "v"}, _buffer(kind, data)))]
        dec = codec.Decoder()
        out.append(_outcome(lambda: dec.feed(_buffer(kind, data))))
        out.append(_outcome(dec.close))
        return out

    assert run(c) == run(py)
    tally.count("parity: odd buffer cases")


@pytest.mark.parametrize("value", [0, 2**32 - 1, True, 2**32, -1, 2**100, 1.0, "1", None,
                                   type("I", (int,), {"__index__": lambda s: 5})(7)])
def test_twins_agree_on_crc32_start_values(value):
    c, py = twin("c"), twin("py")
    assert _outcome(lambda: c.crc32(b"abc", value)) == _outcome(lambda: py.crc32(b"abc", value))
    assert _outcome(lambda: c.crc32("abc", value)) == _outcome(lambda: py.crc32("abc", value))


@pytest.mark.parametrize("limits", [(16, 0), (2**32 - 1, 2**32 - 1), (15, 0), (16, -1), (2**32, 0),
                                    (True, 0), (16.0, 0), ("16", 0),
                                    (type("I", (int,), {"__le__": lambda s, o: True})(10), 0)])
def test_twins_agree_on_decoder_limits(limits):
    def make(codec):
        dec = codec.Decoder(*limits)
        return dec.max_frame, dec.max_headers, type(dec.max_frame)

    assert _outcome(lambda: make(twin("c"))) == _outcome(lambda: make(twin("py")))


_ODD_INT = type("I", (int,), {"__index__": lambda s: 5, "__gt__": lambda s, o: True})


@pytest.mark.parametrize("kwargs", [{"max_payload": None}, {"max_payload": 0}, {"max_payload": 2**32 - 1},
                                    {"max_payload": 2**32}, {"max_payload": -1}, {"max_payload": True},
                                    {"max_payload": 1.0}, {"max_payload": _ODD_INT(9)},
                                    {"max_header_value": 0}, {"max_header_value": 65535},
                                    {"max_header_value": 65536}, {"max_header_value": None},
                                    {"max_header_value": _ODD_INT(70000)}, {"max_header_value": "1"}])
def test_twins_agree_on_the_keyword_limits(kwargs):
    def make(codec):
        dec = codec.Decoder(**kwargs)
        return dec.max_payload, dec.max_header_value, type(dec.max_payload), type(dec.max_header_value)

    assert _outcome(lambda: make(twin("c"))) == _outcome(lambda: make(twin("py")))


def test_twins_agree_on_the_limits_of_a_decoder_never_initialised():
    def limits(codec):
        dec = codec.Decoder.__new__(codec.Decoder)
        return dec.max_frame, dec.max_headers, dec.max_payload, dec.max_header_value

    assert limits(twin("c")) == limits(twin("py"))
