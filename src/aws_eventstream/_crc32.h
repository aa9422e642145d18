/* CRC-32 (zlib's reflected polynomial 0xEDB88320) with run-time kernel choice. */
#ifndef AWS_EVENTSTREAM_CRC32_H
#define AWS_EVENTSTREAM_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Choose the fastest kernel this CPU runs; call once before any other function. */
void aws_es_crc32_init(void);

/* Switch to the kernel called `name`; 0 on success, -1 if unknown or unsupported here. */
int aws_es_crc32_select(const char *name);

/* Name of the kernel in use. */
const char *aws_es_crc32_kernel(void);

/* Space-separated names of the kernels this CPU can run. */
const char *aws_es_crc32_available(void);

/* CRC-32 of p[0:n] continuing from `crc` (0 to start), as zlib.crc32 computes it. */
uint32_t aws_es_crc32(uint32_t crc, const unsigned char *p, size_t n);

/* Copy src[0:n] to dst (not overlapping) and return the CRC-32 of those bytes
 * continuing from `crc`, in one pass over memory. */
uint32_t aws_es_crc32_copy(uint32_t crc, unsigned char *dst, const unsigned char *src, size_t n);

#endif
