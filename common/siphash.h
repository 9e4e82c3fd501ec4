/* SPDX-License-Identifier: Apache-2.0 */
/* siphash: SipHash-2-4 with a 128-bit tag (Aumasson and Bernstein, 2012),
 * a keyed pseudo-random function: without the 16-byte key its output says
 * nothing about its input and cannot be recomputed. Fed in pieces, so a
 * tag over several strings needs no copy into one buffer. */
#ifndef COMMON_SIPHASH_H
#define COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash {
    uint64_t v0, v1, v2, v3;
    uint64_t tail; /* up to 7 bytes not yet compressed, little-endian */
    size_t len;    /* bytes fed so far */
};

void siphash_init(struct siphash *s, const uint8_t key[16]);
void siphash_update(struct siphash *s, const void *data, size_t len);
void siphash_final(struct siphash *s, uint8_t out[16]);

#endif
