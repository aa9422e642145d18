#!/usr/bin/env bash
# Build the extension with AddressSanitizer in a scratch copy, then run the fuzzer and
# the test suite against it. Usage: fuzz/asan.sh [iterations]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
libasan="$(gcc -print-file-name=libasan.so)"
if [ ! -e "$libasan" ]; then
    echo "asan: gcc has no libasan here; skipped"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/proj"
(cd "$here" && git ls-files -z | xargs -0 tar cf - | tar xf - -C "$work/proj")
cd "$work/proj"
python -m pip install --quiet "setuptools>=77" "Cython>=3.0"
CFLAGS="-fsanitize=address -fno-omit-frame-pointer -O1 -g" LDFLAGS="-fsanitize=address" \
    AWS_EVENTSTREAM_REQUIRE_EXTENSION=1 python setup.py -q build_ext --inplace >/dev/null
# PYTHONMALLOC=malloc sends every Python object through the sanitizer's allocator, so a
# use of a freed object is caught too (pymalloc would hand its memory back unseen).
# allocator_may_return_null: an allocation too large is a MemoryError, as without ASan.
export LD_PRELOAD="$libasan" PYTHONMALLOC=malloc PYTHONPATH="$work/proj/src"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
python -c 'import aws_eventstream._codec_c as c, sys; assert c.__file__.startswith(sys.argv[1]), c.__file__' "$work/proj"
python fuzz/fuzz_codec.py "${1:-50000}"
python -m pytest -q -p no:cacheprovider tests
