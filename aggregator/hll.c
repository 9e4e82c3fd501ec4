/* SPDX-License-Identifier: Apache-2.0 */
#include "hll.h"

#include "mix64.h"

#include <math.h>
#include <string.h>

uint64_t hll_hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return mix64(h);
}

void hll_add_hash(struct hll *h, uint64_t hash) {
    uint32_t idx = (uint32_t)(hash >> (64 - HLL_P));
    uint64_t rest = hash << HLL_P | (1ULL << (HLL_P - 1)); /* bounds the rank */
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > h->reg[idx])
        h->reg[idx] = rank;
}

void hll_merge(struct hll *dst, const struct hll *src) {
    for (size_t i = 0; i < HLL_REGISTERS; i++)
        if (src->reg[i] > dst->reg[i])
            dst->reg[i] = src->reg[i];
}

int hll_merge_bytes(struct hll *dst, const void *bytes, size_t len) {
    if (len != HLL_REGISTERS)
        return -1;
    hll_merge(dst, (const struct hll *)bytes);
    return 0;
}

double hll_estimate(const struct hll *h) {
    const double m = HLL_REGISTERS, alpha = 0.7213 / (1.0 + 1.079 / m);
    /* 2^-rank by table (ldexp per register was half of a flush's sketch
     * work); ranks are at most 64 - HLL_P + 1, a stored byte above 64 reads
     * as 64 (2^-64, nothing). */
    double sum = 0, pow2[65];
    unsigned zeros = 0;
    for (int r = 0; r <= 64; r++)
        pow2[r] = ldexp(1.0, -r);
    for (size_t i = 0; i < HLL_REGISTERS; i++) {
        sum += pow2[h->reg[i] < 64 ? h->reg[i] : 64];
        zeros += h->reg[i] == 0;
    }
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros)
        e = m * log(m / zeros); /* linear counting: exact-ish when sparse */
    return e;
}
