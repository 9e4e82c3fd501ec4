/* SPDX-License-Identifier: Apache-2.0 */
/* hll: HyperLogLog sketches for unique visitors (Flajolet et al. 2007, with
 * linear counting below 2.5 m). 2^14 one-byte registers: 16 KiB per sketch,
 * standard error 1.04 / sqrt(16384) = 0.81 %. Sketches merge by register
 * max, so uniques over any range of buckets are exact merges, never sums. */
#ifndef AGGREGATOR_HLL_H
#define AGGREGATOR_HLL_H

#include <stddef.h>
#include <stdint.h>

#define HLL_P 14
#define HLL_REGISTERS (1u << HLL_P)

struct hll {
    uint8_t reg[HLL_REGISTERS];
};

/* 64-bit hash of a visitor id (FNV-1a, then a splitmix64 finaliser so every
 * input bit reaches the top bits the registers are indexed by). */
uint64_t hll_hash(const char *s, size_t len);

void hll_add_hash(struct hll *h, uint64_t hash);
void hll_merge(struct hll *dst, const struct hll *src);
/* Merges a stored sketch (HLL_REGISTERS bytes); -1 if the size is wrong. */
int hll_merge_bytes(struct hll *dst, const void *bytes, size_t len);
double hll_estimate(const struct hll *h);

#endif
