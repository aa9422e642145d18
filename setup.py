"""Build the Cython twin of the codec.

A build without a working compiler falls back to the pure-Python twin with a loud
warning, unless AWS_EVENTSTREAM_REQUIRE_EXTENSION=1 (CI and releases), where it fails.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PKG = os.path.join("src", "aws_eventstream")


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def _extensions():
    if _flag("AWS_EVENTSTREAM_PURE_PYTHON") and not _flag("AWS_EVENTSTREAM_REQUIRE_EXTENSION"):
        return []
    from Cython.Build import cythonize

    compile_args = [] if sys.platform == "win32" else ["-O3", "-std=c99"]
    ext = Extension(
        "aws_eventstream._codec_c",
        sources=[os.path.join(PKG, "_codec_c.pyx"), os.path.join(PKG, "_crc32.c")],
        include_dirs=[PKG],
        depends=[os.path.join(PKG, "_crc32.h")],
        extra_compile_args=compile_args,
        # Cython's vectorcall tp_new calls __cinit__ with a NULL argument array and adds 0
        # to it, which is undefined behaviour (UBSan: "applying zero offset to null
        # pointer"); the tuple path instead costs a fraction of a microsecond per Encoder or
        # Decoder made, once a stream. (fuzz/ubsan.sh checks the whole build.)
        define_macros=[("CYTHON_VECTORCALL_TPNEW", "0")],
    )
    return cythonize([ext])  # the compiler directives are in the .pyx header


class OptionalBuildExt(build_ext):
    """build_ext that warns instead of failing, unless the extension is required."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure
            self._fallback(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._fallback(exc)

    def _fallback(self, exc):
        if _flag("AWS_EVENTSTREAM_REQUIRE_EXTENSION"):
            raise exc
        bar = "*" * 72
        sys.stderr.write(
            f"\n{bar}\nWARNING: the aws_eventstream C extension failed to build:\n  {exc}\n"
            "The pure-Python codec will be used instead (same API, much slower).\n"
            "Set AWS_EVENTSTREAM_REQUIRE_EXTENSION=1 to make this an error.\n"
            f"{bar}\n\n"
        )


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
