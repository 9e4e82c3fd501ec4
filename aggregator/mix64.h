/* SPDX-License-Identifier: Apache-2.0 */
/* mix64: splitmix64's finaliser, which spreads every input bit over all 64
 * output bits. Shared by the hashes that index tables by low bits (rollup,
 * seen) or registers by high bits (hll). */
#ifndef AGGREGATOR_MIX64_H
#define AGGREGATOR_MIX64_H

#include <stdint.h>

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

#endif
