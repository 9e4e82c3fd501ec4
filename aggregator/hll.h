/* SPDX-License-Identifier: Apache-2.0 */
/* hll: HyperLogLog sketches for unique visitors (Flajolet et al. 2007, with
 * linear counting below 2.5 m). 2^14 one-byte registers: 16 KiB per sketch
 * in memory, standard error 1.04 / sqrt(16384) = 0.81 %. Sketches merge by
 * register max, so uniques over any range of buckets are exact merges,
 * never sums.
 *
 * Stored form. Most sketches (a small site's minute) set a handful of
 * registers, so, like Redis, a sketch is stored sparse until that stops
 * paying: the sparse form is HLL_SPARSE_TAG and then one 3-byte big-endian
 * entry per non-zero register, index << 6 | rank, indices increasing (a
 * minute with 5 visitors: 16 bytes). Past HLL_SPARSE_MAX non-zero registers
 * it is promoted to the dense form, the HLL_REGISTERS bytes themselves.
 * Registers only grow, so a dense sketch never goes back. Both forms hold
 * exactly the same registers: estimates and merges do not depend on which
 * one was stored. */
#ifndef AGGREGATOR_HLL_H
#define AGGREGATOR_HLL_H

#include <stddef.h>
#include <stdint.h>

#define HLL_P 14
#define HLL_REGISTERS (1u << HLL_P)
#define HLL_SPARSE_TAG 'S'
/* 4096 entries are 12,289 bytes: still a quarter smaller than dense. */
#define HLL_SPARSE_MAX 4096

struct hll {
    uint8_t reg[HLL_REGISTERS];
};

/* 64-bit hash of a visitor id (FNV-1a, then a splitmix64 finaliser so every
 * input bit reaches the top bits the registers are indexed by). */
uint64_t hll_hash(const char *s, size_t len);

void hll_add_hash(struct hll *h, uint64_t hash);
void hll_merge(struct hll *dst, const struct hll *src);
/* Merges a stored sketch, sparse or dense; -1 if it is neither (nothing of
 * a malformed sparse form is merged). */
int hll_merge_bytes(struct hll *dst, const void *bytes, size_t len);
double hll_estimate(const struct hll *h);
/* The stored form of h into out (HLL_REGISTERS bytes): returns its length,
 * and h's estimate in *estimate (computed in the same pass). */
size_t hll_store_form(const struct hll *h, uint8_t *out, double *estimate);

/* A sketch built in memory from a batch's visitors (of a site or a value):
 * the entries (index << 6 | rank, as stored sparse) its visitors set, 4
 * bytes each and unsorted, at most HLL_SPARSE_MAX of them, past which
 * repeated registers are dropped or, if too few repeat, it turns dense. So
 * it never holds more than 16 KiB, and a batch's minute of a site with
 * three visitors takes 32 bytes, not a dense sketch's 16 KiB (nor a flush
 * the work of merging and scanning 16 KiB). A zeroed one is empty. */
struct hll_small {
    uint32_t *entries;
    uint32_t n, cap;
    struct hll *dense;
};

void hll_small_add(struct hll_small *s, uint64_t hash);
/* The stored form of s merged with a stored sketch (len 0: none) into out
 * (HLL_REGISTERS bytes), the form and estimate hll_store_form would give
 * for the union; returns its length. *malformed is set when the stored
 * bytes were neither form: then s alone is stored. */
size_t hll_small_store_form(struct hll_small *s, const void *stored, size_t len, uint8_t *out,
                            int *malformed, double *estimate);
void hll_small_free(struct hll_small *s);
/* The union of two stored sketches (a: NULL/0 for none) in the stored form
 * into out (HLL_REGISTERS bytes), as hll_small_store_form; returns its
 * length. A malformed one counts as empty and sets *malformed. */
size_t hll_union_forms(const void *a, size_t alen, const void *b, size_t blen, uint8_t *out,
                       int *malformed);

#endif
