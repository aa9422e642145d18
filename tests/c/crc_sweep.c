/* Every CRC kernel at every length 0..MAX and every source alignment 0..63, plain and
 * copying, for a checker that computes the same CRCs with another implementation.
 *
 * Usage: crc_sweep [MAX [KERNEL...]] (MAX defaults to 4096; the kernels to every one the
 * CPU runs). The first line lists the kernels available here. Then, per kernel, a line
 * "kernel NAME" and the CRC of src[a:a+n] for a = 0..63, n = 0..MAX (in that order) as
 * little-endian uint32 in hex, 64 per line. A copying kernel's CRC must equal the plain
 * one and its copy the source, and the bytes around the copy must be left alone; a
 * failure of these prints "FAIL ..." and the exit status is 1. src[i] = (i * 131 + 7) & 255
 * ^ (i >> 8): every byte value, no period short enough to hide a wrong lane order.
 * Then a few copies of 4-5 MiB, where the copying kernels switch to streaming stores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "_crc32.h"

#define ALIGNS 64
#define GUARD 64

int main(int argc, char **argv)
{
    size_t max = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 4096;
    unsigned char *src = malloc(max + ALIGNS + 64);
    unsigned char *dst = malloc(max + ALIGNS + 2 * GUARD + 64);
    const char *names[32];
    int n_names = 0, failed = 0;
    char avail[256];

    if (!src || !dst)
        return 2;
    for (size_t i = 0; i < max + ALIGNS + 64; i++)
        src[i] = (unsigned char)(((i * 131 + 7) & 255) ^ (i >> 8));
    aws_es_crc32_init();
    printf("available %s\n", aws_es_crc32_available());
    strncpy(avail, aws_es_crc32_available(), sizeof(avail) - 1);
    avail[sizeof(avail) - 1] = '\0';
    if (argc > 2) {
        for (int i = 2; i < argc && n_names < 32; i++)
            names[n_names++] = argv[i];
    } else {
        for (char *tok = strtok(avail, " "); tok && n_names < 32; tok = strtok(NULL, " "))
            names[n_names++] = tok;
    }
    for (int k = 0; k < n_names; k++) {
        if (aws_es_crc32_select(names[k]) != 0) {
            printf("FAIL kernel %s is not available\n", names[k]);
            failed = 1;
            continue;
        }
        printf("kernel %s\n", names[k]);
        int col = 0;
        for (size_t a = 0; a < ALIGNS; a++) {
            for (size_t n = 0; n <= max; n++) {
                uint32_t plain = aws_es_crc32(0, src + a, n);
                /* the copy lands at another alignment than the source */
                unsigned char *out = dst + GUARD + (a * 7 + n) % ALIGNS;
                memset(dst, 0xA5, max + ALIGNS + 2 * GUARD);
                uint32_t copied = aws_es_crc32_copy(0, out, src + a, n);
                int guard_ok = 1;
                for (unsigned char *g = dst; g < out; g++)
                    guard_ok &= *g == 0xA5;
                for (unsigned char *g = out + n; g < dst + max + ALIGNS + 2 * GUARD; g++)
                    guard_ok &= *g == 0xA5;
                if (copied != plain || memcmp(out, src + a, n) != 0 || !guard_ok) {
                    if (failed < 20)
                        printf("FAIL %s copy a=%zu n=%zu crc %08x vs %08x copy %s guard %s\n", names[k], a, n,
                               (unsigned)copied, (unsigned)plain, memcmp(out, src + a, n) ? "differs" : "ok",
                               guard_ok ? "ok" : "overwritten");
                    failed = 1;
                }
                /* chaining: the CRC of a split input continues from its first part */
                if (n >= 2 && aws_es_crc32(aws_es_crc32(0, src + a, n / 3), src + a + n / 3, n - n / 3) != plain) {
                    if (failed < 20)
                        printf("FAIL %s chained a=%zu n=%zu\n", names[k], a, n);
                    failed = 1;
                }
                printf("%08x%c", (unsigned)plain, ++col % 64 ? ' ' : '\n');
            }
        }
        if (col % 64)
            putchar('\n');
        /* Large copies (streaming stores from 4 MiB on): around that size, source and
         * destination at several alignments, against the plain CRC and the source. */
        static const size_t large[] = {(4 << 20) - 1, 4 << 20, (4 << 20) + 1, (5 << 20) + 77};
        for (size_t i = 0; i < sizeof(large) / sizeof(large[0]); i++) {
            size_t n = large[i], a = (i * 13) % 64, b = (i * 29 + 3) % 64;
            unsigned char *s = malloc(n + 64), *d = malloc(n + 128);
            if (!s || !d)
                return 2;
            for (size_t j = 0; j < n + 64; j++)
                s[j] = (unsigned char)(j * 7 + (j >> 11));
            memset(d, 0xA5, n + 128);
            uint32_t plain = aws_es_crc32(0x12345678u, s + a, n);
            uint32_t copied = aws_es_crc32_copy(0x12345678u, d + b, s + a, n);
            int around = 1;
            for (size_t j = 0; j < b; j++)
                around &= d[j] == 0xA5;
            for (size_t j = b + n; j < n + 128; j++)
                around &= d[j] == 0xA5;
            if (copied != plain || memcmp(d + b, s + a, n) != 0 || !around) {
                printf("FAIL %s large copy n=%zu src+%zu dst+%zu\n", names[k], n, a, b);
                failed = 1;
            }
            free(s);
            free(d);
        }
    }
    free(src);
    free(dst);
    return failed;
}
