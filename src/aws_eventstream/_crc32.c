/* CRC-32 kernels for the event-stream codec.
 *
 * The CRC is zlib's: reflected polynomial 0xEDB88320, initial and final value
 * inverted. Kernels are chosen at run time by what the CPU and the OS report (never
 * by the build machine's flags alone, so one binary runs on any CPU of its
 * architecture):
 *
 *   table       slice-by-8 over tables built at start-up; every CPU.
 *   pclmul      x86-64: carry-less multiply folding of 8 x 128-bit lanes (PCLMULQDQ,
 *               SSE4.1), VEX-encoded when the CPU has AVX.
 *   vpclmul256  x86-64: the same folding on 8 x 256-bit registers (VPCLMULQDQ, AVX2).
 *   vpclmul512  x86-64: the same on 4 x 512-bit registers (VPCLMULQDQ, AVX-512).
 *   crc32       aarch64: the CRC32X instruction on three interleaved streams, merged
 *               by a table that multiplies by x^(8 * block length).
 *   pmull       aarch64: PMULL folding of 8 x 128-bit lanes, finished with CRC32X.
 *   pmull-eor3  aarch64: the same with the three-way XOR of the SHA3 extension.
 *
 * Folding: a 128-bit lane L standing D bits before the data it is folded into
 * equals, mod P, clmul(L.lo, x^(D+32) mod P) ^ clmul(L.hi, x^(D-32) mod P) in the
 * reflected domain (constants bit-reflected and shifted left one). Once the input
 * is folded into one 128-bit value, that value and the last <16 bytes are run
 * through a scalar kernel from a zero register, which finishes the CRC.
 *
 * Each kernel also has a copying form that stores every block it loads, so a
 * payload is copied and checksummed in one pass over memory. A copying kernel reads
 * each source byte once and checksums exactly what it stored, so a source changed
 * by another thread meanwhile can give a frame with other bytes, never a wrong CRC.
 *
 * Compilers: GCC and clang build every kernel with per-function target attributes;
 * MSVC builds the x86-64 kernels with its intrinsics (which need no attributes) and
 * detects the CPU with __cpuidex/_xgetbv. The aarch64 kernels need GCC or clang.
 */
#include "_crc32.h"

#include <string.h>

/* table[t][b]: the register after byte b and t zero bytes, from a zero register. */
static uint32_t table[8][256];

typedef uint32_t (*crc_fn)(uint32_t, const unsigned char *, size_t);
typedef uint32_t (*crc_copy_fn)(uint32_t, unsigned char *, const unsigned char *, size_t);

/* MSVC_STYLE: intrinsics without target attributes, the CPU read with __cpuidex and
 * _xgetbv. AWS_ES_CRC32_MSVC_STYLE selects it under another compiler, so that the path
 * can be compiled (with every -m flag the kernels need) where there is no MSVC. */
#if (defined(_MSC_VER) && !defined(__clang__)) || defined(AWS_ES_CRC32_MSVC_STYLE)
#define MSVC_STYLE 1
#define TARGET(features)
#else
#define TARGET(features) __attribute__((target(features)))
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#define INLINE __forceinline
#else
#define INLINE inline __attribute__((always_inline))
#endif

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
#if (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) || defined(_M_X64) || \
    defined(_M_IX86) || defined(_M_ARM64)
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
    if (n) /* memcpy's pointers must be valid even for no bytes */
        memcpy(dst, src, n);
    return crc32_table(crc, dst, n);
}

/* Folding constants k(e) = reflect32(x^e mod P) << 1, for a fold distance of D bits
 * (low qword: e = D + 32, high qword: e = D - 32). */
#define K_128_LO 0x1751997d0ULL
#define K_128_HI 0x0ccaa009eULL
#define K_256_LO 0x0f1da05aaULL
#define K_256_HI 0x15a546366ULL
#define K_384_LO 0x03db1ecdcULL
#define K_384_HI 0x174359406ULL
#define K_512_LO 0x154442bd4ULL
#define K_512_HI 0x1c6e41596ULL
#define K_1024_LO 0x1e88ef372ULL
#define K_1024_HI 0x14a7fe880ULL
#define K_2048_LO 0x11542778aULL
#define K_2048_HI 0x1322d1430ULL
/* The finish: k(64), then Barrett reduction by mu = x^64 / P and P itself, each as a
 * 33-bit reflected value. */
#define K_64 0x163cd6124ULL
#define MU_R 0x1f7011641ULL
#define P_R 0x1db710641ULL

/* ------------------------------------------------------------------ x86-64 */

#if defined(__x86_64__) || defined(_M_X64)
#define HAVE_X86_FOLDING 1
#include <immintrin.h>
#ifdef MSVC_STYLE
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#ifdef __APPLE__
#include <sys/sysctl.h>
#endif
/* GCC 8 declares the 256-bit carry-less multiply only with AVX-512VL (fixed in GCC 9). */
#if defined(__clang__) || !defined(__GNUC__) || __GNUC__ >= 9
#define HAVE_VPCLMUL256 1
#endif

/* Copies from this size on use streaming stores (see the copy kernels). */
#define NT_COPY_MIN ((size_t)4 << 20)

#define T_SSE "pclmul,sse4.1"
#define T_AVX "pclmul,sse4.1,avx"
#define T_AVX2 "pclmul,sse4.1,avx,avx2,vpclmulqdq"
#define T_AVX512 "pclmul,sse4.1,avx,avx2,avx512f,avx512vl,avx512bw,vpclmulqdq"

/* Byte shuffles for the last partial block: from offset n, bytes 16 - n.. of x move
 * to the front (0x80 gives a zero byte); from offset 16 + n, bytes n.. stay in order. */
static const unsigned char tail_shuffle[48] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

/* k(128 d + 32), k(128 d - 32): folds 16 bytes into the 16 bytes d x 16 bytes after them
 * (d = 1..28). A 32- or 64-byte block d blocks before another is d x 2 or d x 4 away. */
static const uint64_t k_fold[28][2] = {
    {0x1751997d0ULL, 0x0ccaa009eULL}, {0x0f1da05aaULL, 0x15a546366ULL}, {0x03db1ecdcULL, 0x174359406ULL},
    {0x154442bd4ULL, 0x1c6e41596ULL}, {0x1c7569e54ULL, 0x0ae0b5394ULL}, {0x0df068dc2ULL, 0x18cb44e58ULL},
    {0x1ea89367eULL, 0x1d7cfc6acULL}, {0x1e88ef372ULL, 0x14a7fe880ULL}, {0x1fdc60a7cULL, 0x03f41287aULL},
    {0x0e3543be0ULL, 0x14b57d3f0ULL}, {0x1816ab61cULL, 0x10aae2566ULL}, {0x1821d8bc0ULL, 0x12e958ac4ULL},
    {0x1b35adb0eULL, 0x1e7146aacULL}, {0x19159bb02ULL, 0x125f17dfcULL}, {0x1db06f64cULL, 0x1c47d2a9cULL},
    {0x11542778aULL, 0x1322d1430ULL}, {0x0a749e894ULL, 0x16269a506ULL}, {0x1f7228078ULL, 0x1aaa44c18ULL},
    {0x032b0733cULL, 0x0ff6f2fc2ULL}, {0x00e9bd5ccULL, 0x115b87256ULL}, {0x1ad568056ULL, 0x1c712203aULL},
    {0x11e6a95a2ULL, 0x12af2c15aULL}, {0x07eaed122ULL, 0x09b9bdbd0ULL}, {0x1f79525b0ULL, 0x0d31343eaULL},
    {0x150fc8004ULL, 0x04470ac44ULL}, {0x04b700aa8ULL, 0x0eea395c4ULL}, {0x13484efdcULL, 0x0f9d9c7eeULL},
    {0x0ad0d2bb2ULL, 0x0cd669a40ULL},
};

/* The constants that fold a 16-byte block over d blocks, as a vector. */
#define kq128(d) _mm_loadu_si128((const __m128i *)k_fold[(d) - 1])

/* The 128-bit folding body, written once and compiled twice: with SSE encodings for
 * CPUs without AVX, and VEX-encoded for the rest. Mixing legacy SSE instructions with
 * 256/512-bit code costs a state transition on many CPUs, and the VEX form also needs
 * no register copies. */
#define DEFINE_FOLD128(T, SFX)                                                                    \
    /* nt: dst + off is 16-byte aligned and the store bypasses the cache (large copies) */  \
    TARGET(T) static INLINE __m128i ld128##SFX(unsigned char *dst, int nt, const unsigned char *p,  \
                                               size_t off)                                        \
    {                                                                                             \
        __m128i v = _mm_loadu_si128((const __m128i *)(p + off));                                  \
        if (dst && nt)                                                                            \
            _mm_stream_si128((__m128i *)(dst + off), v);                                          \
        else if (dst)                                                                             \
            _mm_storeu_si128((__m128i *)(dst + off), v);                                          \
        return v;                                                                                 \
    }                                                                                             \
    TARGET(T) static INLINE __m128i fold128##SFX(__m128i x, __m128i k, __m128i data)              \
    {                                                                                             \
        __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);                                            \
        __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);                                            \
        return _mm_xor_si128(_mm_xor_si128(lo, hi), data);                                        \
    }                                                                                             \
    /* The register after the 16 bytes of x, from a zero register, by carry-less multiplies  \
     * alone (no table: small inputs would pay its cache misses): fold 128 bits to 96 with    \
     * x^96 mod P, 96 to 64 with x^64 mod P, then Barrett-reduce 64 to 32. */                 \
    TARGET(T) static INLINE uint32_t finish##SFX(__m128i x)                                       \
    {                                                                                             \
        const __m128i k96 = _mm_cvtsi64_si128((long long)K_128_HI);                               \
        const __m128i k64 = _mm_cvtsi64_si128((long long)K_64);                                   \
        const __m128i barrett = _mm_set_epi64x((long long)P_R, (long long)MU_R);                  \
        const __m128i low32 = _mm_set_epi32(0, 0, 0, -1);                                         \
        __m128i t = _mm_xor_si128(_mm_clmulepi64_si128(x, k96, 0x00), _mm_srli_si128(x, 8));       \
        t = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(t, low32), k64, 0x00), _mm_srli_si128(t, 4)); \
        __m128i q = _mm_and_si128(_mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00), low32); \
        t = _mm_xor_si128(t, _mm_clmulepi64_si128(q, barrett, 0x10));                             \
        return (uint32_t)_mm_extract_epi32(t, 1);                                                 \
    }                                                                                             \
    /* The end of the input: x stands before the n bytes left, and acc holds what already    \
     * folded into the last of those whole 16-byte blocks. x and each block but the last    \
     * fold straight into the last one, by its own distance, so the multiplies run side by   \
     * side; then the n < 16 bytes left, and the finish. */                                   \
    TARGET(T) static INLINE uint32_t tail128##SFX(__m128i acc, __m128i x, unsigned char *dst,     \
                                                  const unsigned char *p, size_t n)               \
    {                                                                                             \
        const __m128i k128 = _mm_set_epi64x((long long)K_128_HI, (long long)K_128_LO);            \
        size_t rb = n / 16;                                                                       \
        for (size_t j = 0; j < rb; j++) {                                                         \
            acc = fold128##SFX(x, kq128(rb - j), acc);                                            \
            x = ld128##SFX(dst, 0, p, 16 * j);                                                    \
        }                                                                                         \
        x = _mm_xor_si128(acc, x);                                                                \
        p += 16 * rb;                                                                             \
        n -= 16 * rb;                                                                             \
        if (dst)                                                                                  \
            dst += 16 * rb;                                                                       \
        if (n) {                                                                                  \
            /* The last n < 16 bytes, with no byte loop: x's first n bytes become a block     \
             * (zeros in front) folded over the 16 bytes of x's other bytes and the tail.      \
             * Those 16 bytes end where the input ends, and the 16 - n before the tail were    \
             * read already: the load takes only the tail from memory. When copying, the tail  \
             * is stored first and read back from the copy, so the CRC covers exactly the     \
             * bytes written even if another thread is changing the source. */                 \
            const unsigned char *end16 = p + n - 16;                                              \
            if (dst) {                                                                            \
                memcpy(dst, p, n);                                                                \
                end16 = dst + n - 16;                                                             \
            }                                                                                     \
            __m128i lead = _mm_loadu_si128((const __m128i *)(tail_shuffle + n));                  \
            __m128i keep = _mm_loadu_si128((const __m128i *)(tail_shuffle + 16 + n));             \
            __m128i last = _mm_loadu_si128((const __m128i *)end16);                               \
            __m128i body = _mm_blendv_epi8(last, _mm_shuffle_epi8(x, keep), lead);                \
            x = fold128##SFX(_mm_shuffle_epi8(x, lead), k128, body);                              \
        }                                                                                         \
        return ~finish##SFX(x);                                                                   \
    }                                                                                             \
    TARGET(T) static INLINE uint32_t pclmul_body##SFX(uint32_t crc, unsigned char *dst, int nt,   \
                                                      const unsigned char *p, size_t n)           \
    {                                                                                             \
        if (n < 16)                                                                               \
            return dst ? crc32_copy_table(crc, dst, p, n) : crc32_table(crc, p, n);               \
        const __m128i k128 = _mm_set_epi64x((long long)K_128_HI, (long long)K_128_LO);            \
        __m128i x = _mm_xor_si128(ld128##SFX(dst, nt, p, 0), _mm_cvtsi32_si128((int)~crc));           \
        if (n >= 128) {                                                                           \
            /* Eight lanes in flight: enough independent multiplies to keep the               \
             * multiplier busy through its latency. */                                          \
            const __m128i k1024 = _mm_set_epi64x((long long)K_1024_HI, (long long)K_1024_LO);     \
            __m128i x1 = ld128##SFX(dst, nt, p, 16), x2 = ld128##SFX(dst, nt, p, 32);                     \
            __m128i x3 = ld128##SFX(dst, nt, p, 48), x4 = ld128##SFX(dst, nt, p, 64);                     \
            __m128i x5 = ld128##SFX(dst, nt, p, 80), x6 = ld128##SFX(dst, nt, p, 96);                     \
            __m128i x7 = ld128##SFX(dst, nt, p, 112);                                                 \
            p += 128;                                                                             \
            n -= 128;                                                                             \
            if (dst)                                                                              \
                dst += 128;                                                                       \
            while (n >= 128) {                                                                    \
                x = fold128##SFX(x, k1024, ld128##SFX(dst, nt, p, 0));                                \
                x1 = fold128##SFX(x1, k1024, ld128##SFX(dst, nt, p, 16));                             \
                x2 = fold128##SFX(x2, k1024, ld128##SFX(dst, nt, p, 32));                             \
                x3 = fold128##SFX(x3, k1024, ld128##SFX(dst, nt, p, 48));                             \
                x4 = fold128##SFX(x4, k1024, ld128##SFX(dst, nt, p, 64));                             \
                x5 = fold128##SFX(x5, k1024, ld128##SFX(dst, nt, p, 80));                             \
                x6 = fold128##SFX(x6, k1024, ld128##SFX(dst, nt, p, 96));                             \
                x7 = fold128##SFX(x7, k1024, ld128##SFX(dst, nt, p, 112));                            \
                p += 128;                                                                         \
                n -= 128;                                                                         \
                if (dst)                                                                          \
                    dst += 128;                                                                   \
            }                                                                                     \
            /* Every lane and every whole 16-byte block left folds straight into the last     \
             * one, by its own distance: one multiply deep, in registers only. */               \
            size_t rb = n / 16;                                                                   \
            __m128i acc = fold128##SFX(x, kq128(7 + rb), _mm_setzero_si128());                   \
            acc = fold128##SFX(x1, kq128(6 + rb), acc);                                           \
            acc = fold128##SFX(x2, kq128(5 + rb), acc);                                           \
            acc = fold128##SFX(x3, kq128(4 + rb), acc);                                           \
            acc = fold128##SFX(x4, kq128(3 + rb), acc);                                           \
            acc = fold128##SFX(x5, kq128(2 + rb), acc);                                           \
            acc = fold128##SFX(x6, kq128(1 + rb), acc);                                           \
            return tail128##SFX(acc, x7, dst, p, n);                                              \
        }                                                                                         \
        if (n >= 64) { /* four lanes, folded as a tree two deep */                                \
            const __m128i k256 = _mm_set_epi64x((long long)K_256_HI, (long long)K_256_LO);        \
            __m128i x2 = fold128##SFX(x, k256, ld128##SFX(dst, nt, p, 32));                           \
            __m128i x3 = fold128##SFX(ld128##SFX(dst, nt, p, 16), k256, ld128##SFX(dst, nt, p, 48));      \
            return tail128##SFX(_mm_setzero_si128(), fold128##SFX(x2, k128, x3), dst ? dst + 64 : NULL, \
                                 p + 64, n - 64);                                          \
        }                                                                                         \
        return tail128##SFX(_mm_setzero_si128(), x, dst ? dst + 16 : NULL, p + 16, n - 16);       \
    }

DEFINE_FOLD128(T_SSE, _sse)
DEFINE_FOLD128(T_AVX, _avx)

/* The plain and the copying entry points of a folding body. A copy from NT_COPY_MIN on
 * goes past the caches: a short head aligns dst to ALIGN bytes, and the rest is written
 * with streaming stores, without first reading each line in. */
#define DEFINE_ENTRIES(T, NAME, BODY, ALIGN)                                                      \
    TARGET(T) static uint32_t crc32_##NAME(uint32_t crc, const unsigned char *p, size_t n)         \
    {                                                                                             \
        return BODY(crc, NULL, 0, p, n);                                                          \
    }                                                                                             \
    TARGET(T) static uint32_t crc32_copy_##NAME(uint32_t crc, unsigned char *dst,                 \
                                                const unsigned char *src, size_t n)               \
    {                                                                                             \
        if (n < NT_COPY_MIN)                                                                      \
            return BODY(crc, dst, 0, src, n);                                                     \
        size_t head = (size_t)(-(uintptr_t)dst & ((ALIGN) - 1));                                  \
        crc = BODY(crc, dst, 0, src, head);                                                       \
        crc = BODY(crc, dst + head, 1, src + head, n - head);                                     \
        _mm_sfence();                                                                             \
        return crc;                                                                               \
    }


DEFINE_ENTRIES(T_SSE, pclmul_sse, pclmul_body_sse, 16)

DEFINE_ENTRIES(T_AVX, pclmul_avx, pclmul_body_avx, 16)

#ifdef HAVE_VPCLMUL256
/* 256-bit registers: VPCLMULQDQ with AVX2, for CPUs that have it without AVX-512. */

/* nt: dst + off is 32-byte aligned and the store bypasses the cache (large copies) */
TARGET(T_AVX2) static INLINE __m256i ld256(unsigned char *dst, int nt, const unsigned char *p, size_t off)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(p + off));
    if (dst && nt)
        _mm256_stream_si256((__m256i *)(dst + off), v);
    else if (dst)
        _mm256_storeu_si256((__m256i *)(dst + off), v);
    return v;
}

TARGET(T_AVX2) static INLINE __m256i fold256(__m256i x, __m256i k, __m256i data)
{
    __m256i lo = _mm256_clmulepi64_epi128(x, k, 0x00);
    __m256i hi = _mm256_clmulepi64_epi128(x, k, 0x11);
    return _mm256_xor_si256(_mm256_xor_si256(lo, hi), data);
}

TARGET(T_AVX2) static INLINE __m256i bcast256(unsigned long long hi, unsigned long long lo)
{
    return _mm256_broadcastsi128_si256(_mm_set_epi64x((long long)hi, (long long)lo));
}

/* acc ^ block folded over d 32-byte blocks. */
TARGET(T_AVX2) static INLINE __m256i fold_over256(__m256i acc, __m256i block, size_t d)
{
    const __m256i k = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)k_fold[2 * d - 1]));
    return _mm256_xor_si256(acc, _mm256_xor_si256(_mm256_clmulepi64_epi128(block, k, 0x00),
                                                  _mm256_clmulepi64_epi128(block, k, 0x11)));
}

TARGET(T_AVX2) static INLINE uint32_t vpclmul256_body(uint32_t crc, unsigned char *dst, int nt,
                                                      const unsigned char *p, size_t n)
{
    if (n < 32)
        return pclmul_body_avx(crc, dst, 0, p, n);
    __m256i y0 = _mm256_xor_si256(ld256(dst, nt, p, 0), _mm256_zextsi128_si256(_mm_cvtsi32_si128((int)~crc)));
    __m256i acc = _mm256_setzero_si256(), end = y0;
    size_t rb;
    if (n >= 256) {
        /* Eight registers of 32 bytes: sixteen multiplies per pass. */
        const __m256i k2048 = bcast256(K_2048_HI, K_2048_LO);
        __m256i y1 = ld256(dst, nt, p, 32), y2 = ld256(dst, nt, p, 64), y3 = ld256(dst, nt, p, 96);
        __m256i y4 = ld256(dst, nt, p, 128), y5 = ld256(dst, nt, p, 160), y6 = ld256(dst, nt, p, 192);
        __m256i y7 = ld256(dst, nt, p, 224);
        p += 256;
        n -= 256;
        if (dst)
            dst += 256;
        while (n >= 256) {
            y0 = fold256(y0, k2048, ld256(dst, nt, p, 0));
            y1 = fold256(y1, k2048, ld256(dst, nt, p, 32));
            y2 = fold256(y2, k2048, ld256(dst, nt, p, 64));
            y3 = fold256(y3, k2048, ld256(dst, nt, p, 96));
            y4 = fold256(y4, k2048, ld256(dst, nt, p, 128));
            y5 = fold256(y5, k2048, ld256(dst, nt, p, 160));
            y6 = fold256(y6, k2048, ld256(dst, nt, p, 192));
            y7 = fold256(y7, k2048, ld256(dst, nt, p, 224));
            p += 256;
            n -= 256;
            if (dst)
                dst += 256;
        }
        /* Every register and every whole block left folds straight into the last block,
         * by its own distance (as vpclmul512). */
        rb = n / 32;
        acc = fold_over256(acc, y0, 7 + rb);
        acc = fold_over256(acc, y1, 6 + rb);
        acc = fold_over256(acc, y2, 5 + rb);
        acc = fold_over256(acc, y3, 4 + rb);
        acc = fold_over256(acc, y4, 3 + rb);
        acc = fold_over256(acc, y5, 2 + rb);
        acc = fold_over256(acc, y6, 1 + rb);
        end = y7;
    } else {
        p += 32;
        n -= 32;
        if (dst)
            dst += 32;
        rb = n / 32;
    }
    for (size_t j = 0; j < rb; j++) {
        acc = fold_over256(acc, end, rb - j);
        end = ld256(dst, nt, p, 32 * j);
    }
    p += 32 * rb;
    n -= 32 * rb;
    if (dst)
        dst += 32 * rb;
    acc = _mm256_xor_si256(acc, end);
    const __m128i k128 = _mm_set_epi64x((long long)K_128_HI, (long long)K_128_LO);
    __m128i x = fold128_avx(_mm256_castsi256_si128(acc), k128, _mm256_extracti128_si256(acc, 1));
    return tail128_avx(_mm_setzero_si128(), x, dst, p, n);
}

DEFINE_ENTRIES(T_AVX2, vpclmul256, vpclmul256_body, 32)
#endif

/* 512-bit registers: VPCLMULQDQ with AVX-512. */

/* nt: dst + off is 64-byte aligned and the store bypasses the cache (large copies) */
TARGET(T_AVX512) static INLINE __m512i ld512(unsigned char *dst, int nt, const unsigned char *p, size_t off)
{
    __m512i v = _mm512_loadu_si512((const void *)(p + off));
    if (dst && nt)
        _mm512_stream_si512((void *)(dst + off), v);
    else if (dst)
        _mm512_storeu_si512((void *)(dst + off), v);
    return v;
}

TARGET(T_AVX512) static INLINE __m512i fold512(__m512i x, __m512i k, __m512i data)
{
    __m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
    __m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);
    return _mm512_ternarylogic_epi64(lo, hi, data, 0x96); /* lo ^ hi ^ data */
}

TARGET(T_AVX512) static INLINE __m512i bcast512(unsigned long long hi, unsigned long long lo)
{
    return _mm512_broadcast_i32x4(_mm_set_epi64x((long long)hi, (long long)lo));
}

/* acc ^ block folded over d 64-byte blocks. */
TARGET(T_AVX512) static INLINE __m512i fold_over512(__m512i acc, __m512i block, size_t d)
{
    const __m512i k = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)k_fold[4 * d - 1]));
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(block, k, 0x00),
                                     _mm512_clmulepi64_epi128(block, k, 0x11), acc, 0x96);
}

TARGET(T_AVX512) static INLINE uint32_t vpclmul512_body(uint32_t crc, unsigned char *dst, int nt,
                                                        const unsigned char *p, size_t n)
{
    if (n < 64)
        return pclmul_body_avx(crc, dst, 0, p, n);
    __m512i z0 = _mm512_xor_si512(ld512(dst, nt, p, 0), _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)~crc)));
    __m512i z1 = z0, z2 = z0, z3 = z0;
    size_t nz = 1; /* registers in flight */
    if (n >= 256) {
        z1 = ld512(dst, nt, p, 64), z2 = ld512(dst, nt, p, 128), z3 = ld512(dst, nt, p, 192);
        nz = 4;
        p += 256;
        n -= 256;
        if (dst)
            dst += 256;
        /* Four registers of 64 bytes: eight multiplies per pass, enough to keep the
         * multiplier busy through its latency (a fold is one multiply deep). */
        const __m512i k2048 = bcast512(K_2048_HI, K_2048_LO);
        while (n >= 256) {
            z0 = fold512(z0, k2048, ld512(dst, nt, p, 0));
            z1 = fold512(z1, k2048, ld512(dst, nt, p, 64));
            z2 = fold512(z2, k2048, ld512(dst, nt, p, 128));
            z3 = fold512(z3, k2048, ld512(dst, nt, p, 192));
            p += 256;
            n -= 256;
            if (dst)
                dst += 256;
        }
    } else {
        p += 64;
        n -= 64;
        if (dst)
            dst += 64;
    }
    /* Every register and every whole block left folds straight into the last block, by
     * its own distance: one multiply deep, where folding each into the next would be as
     * deep as there are blocks. Registers only: nothing goes through the stack. */
    size_t rb = n / 64, last = nz + rb - 1; /* block i folds over last - i blocks */
    __m512i acc = _mm512_setzero_si512(), end;
    if (nz == 4) {
        acc = fold_over512(acc, z0, last);
        acc = fold_over512(acc, z1, last - 1);
        acc = fold_over512(acc, z2, last - 2);
        end = z3;
    } else {
        end = z0;
    }
    for (size_t j = 0; j < rb; j++) {
        acc = fold_over512(acc, end, rb - j);
        end = ld512(dst, nt, p, 64 * j);
    }
    p += 64 * rb;
    n -= 64 * rb;
    if (dst)
        dst += 64 * rb;
    acc = _mm512_xor_si512(acc, end);
    /* The same for the four 16-byte lanes of the last block: lanes 0-2 fold into lane 3. */
    const __m512i klanes = _mm512_set_epi64(0, 0, (long long)K_128_HI, (long long)K_128_LO, (long long)K_256_HI,
                                            (long long)K_256_LO, (long long)K_384_HI, (long long)K_384_LO);
    __m512i f = _mm512_xor_si512(_mm512_clmulepi64_epi128(acc, klanes, 0x00),
                                 _mm512_clmulepi64_epi128(acc, klanes, 0x11));
    __m256i h = _mm256_xor_si256(_mm512_castsi512_si256(f), _mm512_extracti64x4_epi64(f, 1));
    __m128i x = _mm_ternarylogic_epi64(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1),
                                       _mm512_extracti32x4_epi32(acc, 3), 0x96);
    return tail128_avx(_mm_setzero_si128(), x, dst, p, n);
}

DEFINE_ENTRIES(T_AVX512, vpclmul512, vpclmul512_body, 64)

/* What the CPU has, and what the OS saves on a context switch (XCR0). */
static struct {
    int pclmul, avx, avx2, vpclmul, avx512;
} x86;

static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
#ifdef MSVC_STYLE
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    for (int i = 0; i < 4; i++)
        r[i] = (unsigned)v[i];
#else
    r[0] = r[1] = r[2] = r[3] = 0;
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

static uint64_t xcr0(void)
{
#ifdef MSVC_STYLE
    return _xgetbv(0);
#else
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#endif
}

static void detect_cpu(void)
{
    unsigned r[4], max;
    memset(&x86, 0, sizeof(x86));
    cpuid(0, 0, r);
    max = r[0];
    if (max < 1)
        return;
    cpuid(1, 0, r);
    x86.pclmul = (r[2] >> 1 & 1) && (r[2] >> 9 & 1) && (r[2] >> 19 & 1); /* PCLMULQDQ, SSSE3, SSE4.1 */
    int osxsave = r[2] >> 27 & 1, avx = r[2] >> 28 & 1;
    uint64_t xcr = osxsave ? xcr0() : 0;
    int ymm_saved = (xcr & 0x6) == 0x6;    /* XMM and YMM state */
    int zmm_saved = (xcr & 0xe6) == 0xe6; /* and opmask, ZMM0-15 upper halves, ZMM16-31 */
#ifdef __APPLE__
    /* macOS turns the AVX-512 state on for a thread at its first AVX-512 instruction,
     * so XCR0 does not show it beforehand; the kernel says whether it will. */
    {
        int value = 0;
        size_t len = sizeof(value);
        if (sysctlbyname("hw.optional.avx512f", &value, &len, NULL, 0) == 0 && value)
            zmm_saved = ymm_saved;
    }
#endif
    x86.avx = x86.pclmul && avx && ymm_saved;
#ifdef AWS_ES_CRC32_TEST_NO_AVX /* the sweep harness, built to run the SSE forms on any CPU */
    x86.avx = 0;
#endif
    if (max < 7)
        return;
    cpuid(7, 0, r);
    int vpclmulqdq = r[2] >> 10 & 1;
    x86.avx2 = x86.avx && (r[1] >> 5 & 1);
    x86.vpclmul = x86.avx2 && vpclmulqdq;
    /* AVX512F, AVX512BW, AVX512VL */
    x86.avx512 = x86.vpclmul && zmm_saved && (r[1] >> 16 & 1) && (r[1] >> 30 & 1) && (r[1] >> 31 & 1);
}

static int has_pclmul(void) { return x86.pclmul; }
#ifdef HAVE_VPCLMUL256
static int has_vpclmul256(void) { return x86.vpclmul; }
#endif
static int has_vpclmul512(void) { return x86.avx512; }

#endif /* x86-64 */

/* ------------------------------------------------------------------ aarch64 */

/* Little-endian only: the kernels read 64-bit lanes as bytes in memory order. */
#if defined(__aarch64__) && defined(__AARCH64EL__) && (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__linux__) || defined(__APPLE__))
#define HAVE_ARM64 1
#include <arm_acle.h>
#include <arm_neon.h>
/* clang's own builtins for the CRC32 instructions: its arm_acle.h declares __crc32d only
 * when the whole file is compiled with +crc (clang 14), a target attribute is not enough. */
#ifdef __clang__
#define CRC32D(c, v) __builtin_arm_crc32d(c, v)
#define CRC32W(c, v) __builtin_arm_crc32w(c, v)
#define CRC32B(c, v) __builtin_arm_crc32b(c, v)
#else
#define CRC32D(c, v) __crc32d(c, v)
#define CRC32W(c, v) __crc32w(c, v)
#define CRC32B(c, v) __crc32b(c, v)
#endif
/* veor3q_u8 under a target attribute: GCC, clang 16 and later, or a build with SHA3 on. */
#if !defined(__clang__) || __clang_major__ >= 16 || defined(__ARM_FEATURE_SHA3)
#define HAVE_EOR3 1
#endif
#ifdef __APPLE__
#include <sys/sysctl.h>
#endif
#ifdef __linux__
#include <sys/auxv.h>
#ifndef HWCAP_PMULL
#define HWCAP_PMULL (1 << 4)
#endif
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#ifndef HWCAP_SHA3
#define HWCAP_SHA3 (1 << 17)
#endif
#endif

#ifdef __clang__
#define T_CRC "crc"
#define T_PMULL "crc,aes"
#define T_EOR3 "crc,aes,sha3"
#else
#define T_CRC "+crc"
#define T_PMULL "+crc+crypto"
#define T_EOR3 "arch=armv8.2-a+crc+crypto+sha3"
#endif

static struct {
    int crc32, pmull, sha3;
} arm;

#ifdef __APPLE__
static int apple_has(const char *name)
{
    int value = 0;
    size_t len = sizeof(value);
    return sysctlbyname(name, &value, &len, NULL, 0) == 0 && value;
}
#endif

static void detect_cpu(void)
{
#ifdef __APPLE__
    /* Every Apple CPU that runs macOS has all three; older iPhone and iPad CPUs lack
     * CRC32 (A7-A9) or SHA3 (A10-A12), so ask the OS. Every Apple arm64 CPU has PMULL. */
    arm.crc32 = apple_has("hw.optional.armv8_crc32");
    arm.pmull = arm.crc32;
    arm.sha3 = arm.pmull && (apple_has("hw.optional.arm.FEAT_SHA3") || apple_has("hw.optional.armv8_2_sha3"));
#else
    unsigned long hw = getauxval(AT_HWCAP);
    arm.crc32 = (hw & HWCAP_CRC32) != 0;
    arm.pmull = arm.crc32 && (hw & HWCAP_PMULL) != 0;
    arm.sha3 = arm.pmull && (hw & HWCAP_SHA3) != 0;
#endif
}

static int has_crc32(void) { return arm.crc32; }
static int has_pmull(void) { return arm.pmull; }
#ifdef HAVE_EOR3
static int has_eor3(void) { return arm.sha3; }
#endif

/* The CRC32 instructions on the raw (inverted) register: 8 bytes at a time, then the
 * rest. When copying, the bytes are stored first and the copy is what is checksummed. */
/* Not forced inline here or below: callers carry other target attributes, and GCC refuses
 * to force-inline across targets that are not subsets (arch=armv8.2-a under -march=armv9-a). */
TARGET(T_CRC) static uint32_t crc32x_run(uint32_t reg, unsigned char *dst, const unsigned char *p, size_t n)
{
    if (dst && n) {
        memcpy(dst, p, n);
        p = dst;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        reg = CRC32D(reg, v);
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        reg = CRC32W(reg, v);
        p += 4;
        n -= 4;
    }
    while (n--)
        reg = CRC32B(reg, *p++);
    return reg;
}

/* Three streams of STREAM bytes each run side by side (the instruction's latency is
 * three times its issue interval); shift[][] multiplies a register by x^(8 * STREAM)
 * mod P, which moves a stream's CRC past the bytes of the next one. */
#define STREAM 256
static uint32_t shift[4][256];

static void build_shift(void)
{
    uint32_t bit[32];
    for (int b = 0; b < 32; b++) { /* the register 1 << b after STREAM zero bytes */
        uint32_t c = 1u << b;
        for (int i = 0; i < 8 * STREAM; i++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        bit[b] = c;
    }
    for (int t = 0; t < 4; t++)
        for (int v = 0; v < 256; v++) {
            uint32_t c = 0;
            for (int b = 0; b < 8; b++)
                if (v >> b & 1)
                    c ^= bit[8 * t + b];
            shift[t][v] = c;
        }
}

static INLINE uint32_t shifted(uint32_t c)
{
    return shift[0][c & 0xff] ^ shift[1][(c >> 8) & 0xff] ^ shift[2][(c >> 16) & 0xff] ^ shift[3][c >> 24];
}

TARGET(T_CRC) static uint32_t crc32_body(uint32_t crc, unsigned char *dst, const unsigned char *p, size_t n)
{
    uint32_t a = ~crc;
    while (n >= 3 * STREAM) {
        const unsigned char *q = p;
        if (dst) {
            memcpy(dst, p, 3 * STREAM);
            q = dst;
            dst += 3 * STREAM;
        }
        uint32_t b = 0, c = 0;
        for (size_t i = 0; i < STREAM; i += 8) {
            uint64_t va, vb, vc;
            memcpy(&va, q + i, 8);
            memcpy(&vb, q + STREAM + i, 8);
            memcpy(&vc, q + 2 * STREAM + i, 8);
            a = CRC32D(a, va);
            b = CRC32D(b, vb);
            c = CRC32D(c, vc);
        }
        a = shifted(shifted(a) ^ b) ^ c;
        p += 3 * STREAM;
        n -= 3 * STREAM;
    }
    return ~crc32x_run(a, dst, p, n);
}

TARGET(T_CRC) static uint32_t crc32_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    return crc32_body(crc, NULL, p, n);
}

TARGET(T_CRC) static uint32_t crc32_copy_crc32(uint32_t crc, unsigned char *dst, const unsigned char *src, size_t n)
{
    return crc32_body(crc, dst, src, n);
}

/* PMULL folding, written once for the plain and the EOR3 forms. */
#define DEFINE_PMULL(T, SFX, XOR3)                                                                  \
    TARGET(T) static INLINE uint8x16_t ldq##SFX(unsigned char *dst, const unsigned char *p, size_t off) \
    {                                                                                               \
        uint8x16_t v = vld1q_u8(p + off);                                                           \
        if (dst)                                                                                    \
            vst1q_u8(dst + off, v);                                                                 \
        return v;                                                                                   \
    }                                                                                               \
    TARGET(T) static INLINE uint8x16_t foldq##SFX(uint8x16_t x, poly64x2_t k, uint8x16_t data)      \
    {                                                                                               \
        poly64x2_t xp = vreinterpretq_p64_u8(x);                                                    \
        uint8x16_t lo = vreinterpretq_u8_p128(vmull_p64(vgetq_lane_p64(xp, 0), vgetq_lane_p64(k, 0))); \
        uint8x16_t hi = vreinterpretq_u8_p128(vmull_high_p64(xp, k));                               \
        return XOR3(lo, hi, data);                                                                  \
    }                                                                                               \
    TARGET(T) static INLINE uint32_t pmull_body##SFX(uint32_t crc, unsigned char *dst,             \
                                                     const unsigned char *p, size_t n)              \
    {                                                                                               \
        if (n < 128)                                                                                \
            return crc32_body(crc, dst, p, n);                                                      \
        const poly64x2_t k1024 = kq(K_1024_HI, K_1024_LO), k512 = kq(K_512_HI, K_512_LO);           \
        const poly64x2_t k256 = kq(K_256_HI, K_256_LO), k128 = kq(K_128_HI, K_128_LO);              \
        uint8x16_t x0 = veorq_u8(ldq##SFX(dst, p, 0),                                               \
                                 vreinterpretq_u8_u32(vsetq_lane_u32(~crc, vdupq_n_u32(0), 0)));    \
        uint8x16_t x1 = ldq##SFX(dst, p, 16), x2 = ldq##SFX(dst, p, 32), x3 = ldq##SFX(dst, p, 48);  \
        uint8x16_t x4 = ldq##SFX(dst, p, 64), x5 = ldq##SFX(dst, p, 80), x6 = ldq##SFX(dst, p, 96);  \
        uint8x16_t x7 = ldq##SFX(dst, p, 112);                                                      \
        p += 128;                                                                                   \
        n -= 128;                                                                                   \
        if (dst)                                                                                    \
            dst += 128;                                                                             \
        while (n >= 128) {                                                                          \
            x0 = foldq##SFX(x0, k1024, ldq##SFX(dst, p, 0));                                        \
            x1 = foldq##SFX(x1, k1024, ldq##SFX(dst, p, 16));                                       \
            x2 = foldq##SFX(x2, k1024, ldq##SFX(dst, p, 32));                                       \
            x3 = foldq##SFX(x3, k1024, ldq##SFX(dst, p, 48));                                       \
            x4 = foldq##SFX(x4, k1024, ldq##SFX(dst, p, 64));                                       \
            x5 = foldq##SFX(x5, k1024, ldq##SFX(dst, p, 80));                                       \
            x6 = foldq##SFX(x6, k1024, ldq##SFX(dst, p, 96));                                       \
            x7 = foldq##SFX(x7, k1024, ldq##SFX(dst, p, 112));                                      \
            p += 128;                                                                               \
            n -= 128;                                                                               \
            if (dst)                                                                                \
                dst += 128;                                                                         \
        }                                                                                           \
        x4 = foldq##SFX(x0, k512, x4);                                                              \
        x5 = foldq##SFX(x1, k512, x5);                                                              \
        x6 = foldq##SFX(x2, k512, x6);                                                              \
        x7 = foldq##SFX(x3, k512, x7);                                                              \
        x6 = foldq##SFX(x4, k256, x6);                                                              \
        x7 = foldq##SFX(x5, k256, x7);                                                              \
        x7 = foldq##SFX(x6, k128, x7);                                                              \
        while (n >= 16) {                                                                           \
            x7 = foldq##SFX(x7, k128, ldq##SFX(dst, p, 0));                                         \
            p += 16;                                                                                \
            n -= 16;                                                                                \
            if (dst)                                                                                \
                dst += 16;                                                                          \
        }                                                                                           \
        /* The folded value is 16 bytes of input standing where the data ended; the         \
         * CRC32 instructions finish them from a zero register, then the tail. */           \
        uint64x2_t f = vreinterpretq_u64_u8(x7);                                                    \
        uint32_t reg = CRC32D(CRC32D(0, vgetq_lane_u64(f, 0)), vgetq_lane_u64(f, 1));           \
        return ~crc32x_run(reg, dst, p, n);                                                         \
    }                                                                                               \
    TARGET(T) static uint32_t crc32_##SFX(uint32_t crc, const unsigned char *p, size_t n)          \
    {                                                                                               \
        return pmull_body##SFX(crc, NULL, p, n);                                                    \
    }                                                                                               \
    TARGET(T) static uint32_t crc32_copy_##SFX(uint32_t crc, unsigned char *dst,                   \
                                               const unsigned char *src, size_t n)                  \
    {                                                                                               \
        return pmull_body##SFX(crc, dst, src, n);                                                   \
    }

/* A folding constant as a vector: a macro, so it takes the target of the function it is in. */
#define kq(hi, lo) vreinterpretq_p64_u64(vcombine_u64(vcreate_u64(lo), vcreate_u64(hi)))

#define XOR_TWICE(a, b, c) veorq_u8(veorq_u8(a, b), c)
#define XOR_EOR3(a, b, c) veor3q_u8(a, b, c)
DEFINE_PMULL(T_PMULL, pmull, XOR_TWICE)
#ifdef HAVE_EOR3
DEFINE_PMULL(T_EOR3, pmull_eor3, XOR_EOR3)
#endif
#endif /* aarch64 */

/* ------------------------------------------------------------------ dispatch */

struct kernel {
    const char *name;
    crc_fn fn;
    crc_copy_fn copy_fn;
    int (*supported)(void);
};

static int always(void) { return 1; }

/* Slowest first: the last one the CPU supports is the default. */
static struct kernel kernels[] = {
    {"table", crc32_table, crc32_copy_table, always},
#ifdef HAVE_X86_FOLDING
    /* the VEX-encoded form replaces these when the CPU has AVX (aws_es_crc32_init) */
    {"pclmul", crc32_pclmul_sse, crc32_copy_pclmul_sse, has_pclmul},
#ifdef HAVE_VPCLMUL256
    {"vpclmul256", crc32_vpclmul256, crc32_copy_vpclmul256, has_vpclmul256},
#endif
    {"vpclmul512", crc32_vpclmul512, crc32_copy_vpclmul512, has_vpclmul512},
#endif
#ifdef HAVE_ARM64
    {"crc32", crc32_crc32, crc32_copy_crc32, has_crc32},
    {"pmull", crc32_pmull, crc32_copy_pmull, has_pmull},
#ifdef HAVE_EOR3
    {"pmull-eor3", crc32_pmull_eor3, crc32_copy_pmull_eor3, has_eor3},
#endif
#endif
};
#define N_KERNELS (sizeof(kernels) / sizeof(kernels[0]))

/* Earlier names, still accepted by aws_es_crc32_select. */
static const struct {
    const char *alias, *name;
} aliases[] = {{"vpclmul", "vpclmul512"}};

/* The kernel in use: switched while other threads may be running kernels without the
 * GIL, so read and written atomically (every kernel is correct; a call uses one). */
static const struct kernel *current = &kernels[0];
#if defined(_MSC_VER) && !defined(__clang__)
/* an aligned pointer read is atomic on x64 and ARM64, and MSVC gives volatile reads acquire order */
#define LOAD_CURRENT() (*(const struct kernel *const volatile *)&current)
#define STORE_CURRENT(k) _InterlockedExchangePointer((void *volatile *)&current, (void *)(k))
#else
#define LOAD_CURRENT() __atomic_load_n(&current, __ATOMIC_ACQUIRE)
#define STORE_CURRENT(k) __atomic_store_n(&current, (k), __ATOMIC_RELEASE)
#endif
static char available[128];
static int initialised;

void aws_es_crc32_init(void)
{
    size_t used = 0;
    if (initialised) /* once per process; a second call would undo a choice made since */
        return;
    build_tables();
#if defined(HAVE_X86_FOLDING) || defined(HAVE_ARM64)
    detect_cpu();
#endif
#ifdef HAVE_X86_FOLDING
    if (x86.avx) {
        kernels[1].fn = crc32_pclmul_avx;
        kernels[1].copy_fn = crc32_copy_pclmul_avx;
    }
#endif
#ifdef HAVE_ARM64
    if (arm.crc32)
        build_shift();
#endif
    available[0] = '\0';
    for (size_t i = 0; i < N_KERNELS; i++) {
        if (!kernels[i].supported())
            continue;
        STORE_CURRENT(&kernels[i]);
        size_t len = strlen(kernels[i].name);
        if (used + len + 2 <= sizeof(available)) {
            if (used)
                available[used++] = ' ';
            memcpy(available + used, kernels[i].name, len + 1);
            used += len;
        }
    }
    initialised = 1;
}

int aws_es_crc32_select(const char *name)
{
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(aliases[i].alias, name) == 0)
            name = aliases[i].name;
    for (size_t i = 0; i < N_KERNELS; i++) {
        if (strcmp(kernels[i].name, name) == 0 && kernels[i].supported()) {
            STORE_CURRENT(&kernels[i]);
            return 0;
        }
    }
    return -1;
}

const char *aws_es_crc32_kernel(void) { return LOAD_CURRENT()->name; }

const char *aws_es_crc32_available(void) { return available; }

uint32_t aws_es_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    return LOAD_CURRENT()->fn(crc, p, n);
}

uint32_t aws_es_crc32_copy(uint32_t crc, unsigned char *dst, const unsigned char *src, size_t n)
{
    return LOAD_CURRENT()->copy_fn(crc, dst, src, n);
}
