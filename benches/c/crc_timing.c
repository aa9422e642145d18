/* Timing loops for benches/crc_kernels_vs_isal.py, compiled with the kernels' source and
 * loaded into Python with ctypes: our kernels and another library's, called the same way
 * from C, so no Python call overhead hides or adds to the difference.
 */
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "_crc32.h"

typedef uint32_t (*crc_fn)(uint32_t, const unsigned char *, uint64_t);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static volatile uint32_t sink;

void bench_init(void) { aws_es_crc32_init(); }

int bench_select(const char *name) { return aws_es_crc32_select(name); }

uint32_t bench_ours(uint32_t crc, const unsigned char *p, uint64_t n) { return aws_es_crc32(crc, p, (size_t)n); }

/* Seconds per call of fn over n bytes: the best of `rounds` runs of `calls` calls, each
 * at the next of 64 source alignments (buf must hold n + 64 bytes). */
double bench_seconds(crc_fn fn, const unsigned char *buf, uint64_t n, long calls, int rounds)
{
    double best = 1e30;
    uint32_t acc = 0;
    for (int r = 0; r < rounds; r++) {
        double start = now();
        for (long i = 0; i < calls; i++)
            acc ^= fn(0, buf + (i & 63), n);
        double t = (now() - start) / (double)calls;
        if (t < best)
            best = t;
    }
    sink = acc;
    return best;
}
