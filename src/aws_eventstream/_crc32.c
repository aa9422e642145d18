/* CRC-32 kernels for the event-stream codec.
 *
 * The CRC is zlib's: reflected polynomial 0xEDB88320, initial and final value
 * inverted. Three kernels, chosen at run time by what the CPU reports (never by
 * the build machine's flags alone, so one binary runs on any x86-64):
 *
 *   table    slice-by-8 over tables built at start-up; every CPU.
 *   pclmul   carry-less multiply folding of 4 x 128-bit lanes (PCLMULQDQ).
 *   vpclmul  the same folding on 4 or 8 x 512-bit registers (VPCLMULQDQ, AVX-512).
 *
 * Folding: a 128-bit lane L standing D bits before the data it is folded into
 * equals, mod P, clmul(L.lo, x^(D+32) mod P) ^ clmul(L.hi, x^(D-32) mod P) in the
 * reflected domain (constants bit-reflected and shifted left one). Once the input
 * is folded into one 128-bit value, that value and the last <16 bytes are run
 * through the table kernel with a zero register, which finishes the CRC.
 *
 * Each kernel also has a copying form that stores every block it loads, so a
 * payload is copied and checksummed in one pass over memory. A copying kernel reads
 * each source byte once and checksums exactly what it stored, so a source changed
 * by another thread meanwhile can give a frame with other bytes, never a wrong CRC.
 */
#include "_crc32.h"

#include <string.h>

static uint32_t table[8][256];

typedef uint32_t (*crc_fn)(uint32_t, const unsigned char *, size_t);
typedef uint32_t (*crc_copy_fn)(uint32_t, unsigned char *, const unsigned char *, size_t);

static void build_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

/* `reg` is the working (inverted) register, not the public CRC value. */
static uint32_t slice8(uint32_t reg, const unsigned char *p, size_t n)
{
    uint32_t crc = reg;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= crc;
        crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^
              table[5][(v >> 16) & 0xff] ^ table[4][(v >> 24) & 0xff] ^
              table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
              table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
        p += 8;
        n -= 8;
    }
#endif
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return crc;
}

static uint32_t crc32_table(uint32_t crc, const unsigned char *p, size_t n)
{
    return ~slice8(~crc, p, n);
}

static uint32_t crc32_copy_table(uint32_t crc, unsigned char *dst, const unsigned char *src, size_t n)
{
    memcpy(dst, src, n);
    return crc32_table(crc, dst, n);
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_FOLDING 1
#include <immintrin.h>

#define TARGET_PCLMUL __attribute__((target("pclmul,sse4.1")))
#define TARGET_VPCLMUL __attribute__((target("avx512f,avx512vl,avx512bw,vpclmulqdq,pclmul,sse4.1")))
#define INLINE inline __attribute__((always_inline))

/* Folding constants k(e) = reflect32(x^e mod P) << 1, for a fold distance D
 * (low qword: e = D + 32, high qword: e = D - 32). */
#define K_128_LO 0x1751997d0ULL
#define K_128_HI 0x0ccaa009eULL
#define K_512_LO 0x154442bd4ULL
#define K_512_HI 0x1c6e41596ULL
#define K_2048_LO 0x11542778aULL
#define K_2048_HI 0x1322d1430ULL
#define K_4096_LO 0x01072db28ULL
#define K_4096_HI 0x1d741f35cULL

/* Load 16 bytes at p + off, storing them at dst + off when copying (dst != NULL). */
TARGET_PCLMUL static INLINE __m128i ld128(unsigned char *dst, const unsigned char *p, size_t off)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(p + off));
    if (dst)
        _mm_storeu_si128((__m128i *)(dst + off), v);
    return v;
}

TARGET_PCLMUL static INLINE __m128i fold128(__m128i x, __m128i k, __m128i data)
{
    __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), data);
}

/* Fold 16-byte blocks into x, then finish with the n < 16 bytes left. */
TARGET_PCLMUL static INLINE uint32_t tail128(__m128i x, unsigned char *dst, const unsigned char *p, size_t n)
{
    const __m128i k128 = _mm_set_epi64x((long long)K_128_HI, (long long)K_128_LO);
    unsigned char folded[16];
    while (n >= 16) {
        x = fold128(x, k128, ld128(dst, p, 0));
        p += 16;
        n -= 16;
        if (dst)
            dst += 16;
    }
    /* When copying, checksum the copy: the source may change under us (another thread
     * writing a bytearray), and the CRC must cover exactly the bytes written. */
    if (dst) {
        memcpy(dst, p, n);
        p = dst;
    }
    _mm_storeu_si128((__m128i *)folded, x);
    return ~slice8(slice8(0, folded, 16), p, n);
}

TARGET_PCLMUL static INLINE uint32_t pclmul_body(uint32_t crc, unsigned char *dst, const unsigned char *p, size_t n)
{
    if (n < 64)
        return dst ? crc32_copy_table(crc, dst, p, n) : crc32_table(crc, p, n);
    const __m128i k512 = _mm_set_epi64x((long long)K_512_HI, (long long)K_512_LO);
    const __m128i k128 = _mm_set_epi64x((long long)K_128_HI, (long long)K_128_LO);
    __m128i x0 = _mm_xor_si128(ld128(dst, p, 0), _mm_cvtsi32_si128((int)~crc));
    __m128i x1 = ld128(dst, p, 16), x2 = ld128(dst, p, 32), x3 = ld128(dst, p, 48);
    p += 64;
    n -= 64;
    if (dst)
        dst += 64;
    while (n >= 64) {
        x0 = fold128(x0, k512, ld128(dst, p, 0));
        x1 = fold128(x1, k512, ld128(dst, p, 16));
        x2 = fold128(x2, k512, ld128(dst, p, 32));
        x3 = fold128(x3, k512, ld128(dst, p, 48));
        p += 64;
        n -= 64;
        if (dst)
            dst += 64;
    }
    x0 = fold128(x0, k128, x1);
    x0 = fold128(x0, k128, x2);
    x0 = fold128(x0, k128, x3);
    return tail128(x0, dst, p, n);
}

TARGET_PCLMUL static uint32_t crc32_pclmul(uint32_t crc, const unsigned char *p, size_t n)
{
    return pclmul_body(crc, NULL, p, n);
}

TARGET_PCLMUL static uint32_t crc32_copy_pclmul(uint32_t crc, unsigned char *dst, const unsigned char *src, size_t n)
{
    return pclmul_body(crc, dst, src, n);
}

TARGET_VPCLMUL static INLINE __m512i ld512(unsigned char *dst, const unsigned char *p, size_t off)
{
    __m512i v = _mm512_loadu_si512((const void *)(p + off));
    if (dst)
        _mm512_storeu_si512((void *)(dst + off), v);
    return v;
}

TARGET_VPCLMUL static INLINE __m512i fold512(__m512i x, __m512i k, __m512i data)
{
    __m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
    __m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);
    return _mm512_ternarylogic_epi64(lo, hi, data, 0x96); /* lo ^ hi ^ data */
}

TARGET_VPCLMUL static INLINE __m512i bcast(unsigned long long hi, unsigned long long lo)
{
    return _mm512_broadcast_i32x4(_mm_set_epi64x((long long)hi, (long long)lo));
}

TARGET_VPCLMUL static INLINE uint32_t vpclmul_body(uint32_t crc, unsigned char *dst, const unsigned char *p, size_t n)
{
    if (n < 256)
        return pclmul_body(crc, dst, p, n);
    const __m512i k512 = bcast(K_512_HI, K_512_LO);
    const __m128i k128 = _mm_set_epi64x((long long)K_128_HI, (long long)K_128_LO);
    __m512i z0 = _mm512_xor_si512(ld512(dst, p, 0), _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)~crc)));
    __m512i z1 = ld512(dst, p, 64), z2 = ld512(dst, p, 128), z3 = ld512(dst, p, 192);
    p += 256;
    n -= 256;
    if (dst)
        dst += 256;
    if (n >= 256) {
        /* Eight registers in flight hide the multiply latency on long inputs. */
        const __m512i k4096 = bcast(K_4096_HI, K_4096_LO);
        const __m512i k2048 = bcast(K_2048_HI, K_2048_LO);
        __m512i z4 = ld512(dst, p, 0), z5 = ld512(dst, p, 64);
        __m512i z6 = ld512(dst, p, 128), z7 = ld512(dst, p, 192);
        p += 256;
        n -= 256;
        if (dst)
            dst += 256;
        while (n >= 512) {
            z0 = fold512(z0, k4096, ld512(dst, p, 0));
            z1 = fold512(z1, k4096, ld512(dst, p, 64));
            z2 = fold512(z2, k4096, ld512(dst, p, 128));
            z3 = fold512(z3, k4096, ld512(dst, p, 192));
            z4 = fold512(z4, k4096, ld512(dst, p, 256));
            z5 = fold512(z5, k4096, ld512(dst, p, 320));
            z6 = fold512(z6, k4096, ld512(dst, p, 384));
            z7 = fold512(z7, k4096, ld512(dst, p, 448));
            p += 512;
            n -= 512;
            if (dst)
                dst += 512;
        }
        z0 = fold512(z0, k2048, z4);
        z1 = fold512(z1, k2048, z5);
        z2 = fold512(z2, k2048, z6);
        z3 = fold512(z3, k2048, z7);
    }
    z0 = fold512(z0, k512, z1);
    z0 = fold512(z0, k512, z2);
    z0 = fold512(z0, k512, z3);
    while (n >= 64) {
        z0 = fold512(z0, k512, ld512(dst, p, 0));
        p += 64;
        n -= 64;
        if (dst)
            dst += 64;
    }
    __m128i x = fold128(_mm512_extracti32x4_epi32(z0, 0), k128, _mm512_extracti32x4_epi32(z0, 1));
    x = fold128(x, k128, _mm512_extracti32x4_epi32(z0, 2));
    x = fold128(x, k128, _mm512_extracti32x4_epi32(z0, 3));
    return tail128(x, dst, p, n);
}

TARGET_VPCLMUL static uint32_t crc32_vpclmul(uint32_t crc, const unsigned char *p, size_t n)
{
    return vpclmul_body(crc, NULL, p, n);
}

TARGET_VPCLMUL static uint32_t crc32_copy_vpclmul(uint32_t crc, unsigned char *dst, const unsigned char *src, size_t n)
{
    return vpclmul_body(crc, dst, src, n);
}

static int has_pclmul(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

/* __builtin_cpu_supports also checks that the OS saves the AVX-512 state. */
static int has_vpclmul(void)
{
    __builtin_cpu_init();
    return has_pclmul() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("vpclmulqdq");
}
#endif /* x86 folding */

struct kernel {
    const char *name;
    crc_fn fn;
    crc_copy_fn copy_fn;
    int (*supported)(void);
};

static int always(void) { return 1; }

/* Slowest first: the last one the CPU supports is the default. */
static const struct kernel kernels[] = {
    {"table", crc32_table, crc32_copy_table, always},
#ifdef HAVE_X86_FOLDING
    {"pclmul", crc32_pclmul, crc32_copy_pclmul, has_pclmul},
    {"vpclmul", crc32_vpclmul, crc32_copy_vpclmul, has_vpclmul},
#endif
};
#define N_KERNELS (sizeof(kernels) / sizeof(kernels[0]))

static const struct kernel *current = &kernels[0];
static char available[64];

void aws_es_crc32_init(void)
{
    size_t used = 0;
    build_tables();
    available[0] = '\0';
    for (size_t i = 0; i < N_KERNELS; i++) {
        if (!kernels[i].supported())
            continue;
        current = &kernels[i];
        size_t len = strlen(kernels[i].name);
        if (used + len + 2 <= sizeof(available)) {
            if (used)
                available[used++] = ' ';
            memcpy(available + used, kernels[i].name, len + 1);
            used += len;
        }
    }
}

int aws_es_crc32_select(const char *name)
{
    for (size_t i = 0; i < N_KERNELS; i++) {
        if (strcmp(kernels[i].name, name) == 0 && kernels[i].supported()) {
            current = &kernels[i];
            return 0;
        }
    }
    return -1;
}

const char *aws_es_crc32_kernel(void) { return current->name; }

const char *aws_es_crc32_available(void) { return available; }

uint32_t aws_es_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    return current->fn(crc, p, n);
}

uint32_t aws_es_crc32_copy(uint32_t crc, unsigned char *dst, const unsigned char *src, size_t n)
{
    return current->copy_fn(crc, dst, src, n);
}
