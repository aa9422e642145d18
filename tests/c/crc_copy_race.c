/* A writer thread keeps changing a buffer while the copying CRC kernels read it.
 *
 * Every call must return the CRC of exactly the bytes it stored, whatever the source
 * held at any moment: a frame built from a buffer another thread is writing may carry
 * other bytes, but never a CRC that disagrees with them.
 *
 * Usage: crc_copy_race KERNEL [ITERATIONS]; exit 0 when every call agreed,
 * 1 with a count of disagreements, 2 when KERNEL is not available here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "_crc32.h"

#define SIZE 4096

static unsigned char src[SIZE];
static volatile int stop;

static void *writer(void *arg)
{
    (void)arg;
    volatile unsigned char *p = src;
    unsigned v = 0;
    while (!stop) {
        /* strides of 1..4 bytes, so changes land in every lane and tail position */
        for (size_t i = 0; i < SIZE; i += 1 + (v & 3))
            p[i] = (unsigned char)(p[i] ^ (v * 37 + i));
        v++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static unsigned char dst[SIZE + 64];
    long iterations = argc > 2 ? atol(argv[2]) : 200000;
    long bad = 0, calls = 0;
    pthread_t t;

    aws_es_crc32_init();
    if (argc < 2 || aws_es_crc32_select(argv[1]) != 0) {
        fprintf(stderr, "kernel %s not available (have: %s)\n", argc > 1 ? argv[1] : "?",
                aws_es_crc32_available());
        return 2;
    }
    if (pthread_create(&t, NULL, writer, NULL) != 0)
        return 3;
    for (long it = 0; it < iterations; it++) {
        /* every length 0..SIZE - 64 in turn, at shifting source and destination
         * alignments, from a different start value each time */
        size_t n = (size_t)it % (SIZE - 63);
        size_t a = (size_t)(it * 7) % 64;
        unsigned char *out = dst + (a ^ 5);
        uint32_t start = (uint32_t)it * 2654435761u;
        uint32_t got = aws_es_crc32_copy(start, out, src + a, n);
        calls++;
        if (got != aws_es_crc32(start, out, n))
            bad++;
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("%s: %ld calls, %ld CRCs that disagree with the bytes copied\n", argv[1], calls, bad);
    return bad != 0;
}
