#!/usr/bin/env bash
# Build the extension with clang's UndefinedBehaviorSanitizer in a scratch copy, every
# check fatal, then run the fuzzer and the codec suites against it. Usage: fuzz/ubsan.sh [iterations]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v clang >/dev/null; then
    echo "ubsan: installing clang"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null
fi
runtime="$(clang -print-file-name=libclang_rt.ubsan_standalone-x86_64.so)"
if [ ! -e "$runtime" ]; then
    runtime="$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.ubsan_standalone-"$(uname -m)".so 2>/dev/null | head -1)"
fi
if [ -z "$runtime" ] || [ ! -e "$runtime" ]; then
    echo "ubsan: clang has no UBSan runtime here; skipped"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/proj"
(cd "$here" && git ls-files -z | xargs -0 tar cf - | tar xf - -C "$work/proj")
cd "$work/proj"
python -m pip install --quiet "setuptools>=77" "Cython>=3.0"
CC=clang LDSHARED="clang -shared" CFLAGS="-fsanitize=undefined -fno-sanitize-recover=all -shared-libsan -g -O1" \
    LDFLAGS="-shared-libsan" AWS_EVENTSTREAM_REQUIRE_EXTENSION=1 python setup.py -q build_ext --inplace >/dev/null
# Reports go to a file: pytest captures stderr, and a fatal report ends the process.
export LD_PRELOAD="$runtime" PYTHONPATH="$work/proj/src" UBSAN_OPTIONS="print_stacktrace=1:log_path=$work/ubsan"
status=0
python -c 'import aws_eventstream._codec_c as c, sys; assert c.__file__.startswith(sys.argv[1]), c.__file__' "$work/proj"
python fuzz/fuzz_codec.py "${1:-20000}" || status=$?
if [ "$status" = 0 ]; then
    python -m pytest -q -p no:cacheprovider tests/test_codec.py tests/test_parity.py tests/test_hardening.py \
        tests/test_properties.py tests/test_vectors.py tests/test_crc32.py tests/test_botocore_integration.py || status=$?
fi
if ls "$work"/ubsan.* >/dev/null 2>&1; then
    cat "$work"/ubsan.*
    echo "ubsan: undefined behaviour in the extension (above)" >&2
    exit 1
fi
exit "$status"
