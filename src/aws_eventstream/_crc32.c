/* CRC-32 kernels for the event-stream codec.
 *
 * The CRC is zlib's: reflected polynomial 0xEDB88320, initial and final value
 * inverted. The portable kernel is slice-by-8 over tables built at start-up.
 */
#include "_crc32.h"

#include <string.h>

static uint32_t table[8][256];

typedef uint32_t (*crc_fn)(uint32_t, const unsigned char *, size_t);

static uint32_t crc32_table(uint32_t crc, const unsigned char *p, size_t n);

static crc_fn current = crc32_table;
static const char *current_name = "table";

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

/* `crc` here is the working (inverted) register, not the public value. */
static inline uint32_t bytewise(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return crc;
}

static uint32_t crc32_table(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
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
    return ~bytewise(crc, p, n);
}

struct kernel {
    const char *name;
    crc_fn fn;
    int (*supported)(void);
};

static int always(void) { return 1; }

static const struct kernel kernels[] = {
    {"table", crc32_table, always},
};
#define N_KERNELS (sizeof(kernels) / sizeof(kernels[0]))

static char available[64];

void aws_es_crc32_init(void)
{
    size_t used = 0;
    build_tables();
    available[0] = '\0';
    for (size_t i = 0; i < N_KERNELS; i++) {
        if (!kernels[i].supported())
            continue;
        /* kernels[] is ordered slowest first, so the last supported one wins */
        current = kernels[i].fn;
        current_name = kernels[i].name;
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
            current = kernels[i].fn;
            current_name = kernels[i].name;
            return 0;
        }
    }
    return -1;
}

const char *aws_es_crc32_kernel(void) { return current_name; }

const char *aws_es_crc32_available(void) { return available; }

uint32_t aws_es_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    return current(crc, p, n);
}
