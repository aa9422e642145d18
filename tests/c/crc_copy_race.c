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
        for (size_t i = 0; i < SIZE; i++)
            p[i] = (unsigned char)(v + i);
        v++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static const size_t lengths[] = {5, 15, 17, 63, 64 + 15, 255, 256 + 15, 511, 1024 + 7, SIZE - 1};
    static unsigned char dst[SIZE];
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
        size_t n = lengths[it % (sizeof(lengths) / sizeof(lengths[0]))];
        uint32_t got = aws_es_crc32_copy(0, dst, src, n);
        calls++;
        if (got != aws_es_crc32(0, dst, n))
            bad++;
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("%s: %ld calls, %ld CRCs that disagree with the bytes copied\n", argv[1], calls, bad);
    return bad != 0;
}
