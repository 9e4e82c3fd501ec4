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

/* Checks a sparse form: whole entries, indices increasing, ranks possible. */
static int hll_sparse_valid(const uint8_t *p, size_t len) {
    long prev = -1;
    if (len < 1 || p[0] != HLL_SPARSE_TAG || (len - 1) % 3 || (len - 1) / 3 > HLL_SPARSE_MAX)
        return 0;
    for (size_t i = 1; i < len; i += 3) {
        uint32_t e = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        long idx = (long)(e >> 6);
        unsigned rank = e & 63;
        if (idx <= prev || idx >= (long)HLL_REGISTERS || rank == 0 || rank > 64 - HLL_P + 1)
            return 0;
        prev = idx;
    }
    return 1;
}

int hll_merge_bytes(struct hll *dst, const void *bytes, size_t len) {
    const uint8_t *p = bytes;
    if (len == HLL_REGISTERS) {
        hll_merge(dst, (const struct hll *)bytes);
        return 0;
    }
    if (!hll_sparse_valid(p, len))
        return -1;
    for (size_t i = 1; i < len; i += 3) {
        uint32_t e = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        uint8_t rank = (uint8_t)(e & 63);
        if (rank > dst->reg[e >> 6])
            dst->reg[e >> 6] = rank;
    }
    return 0;
}

/* The estimate from the sum of 2^-register and the count of zeros. */
static double hll_estimate_of(double sum, unsigned zeros) {
    const double m = HLL_REGISTERS, alpha = 0.7213 / (1.0 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros)
        e = m * log(m / zeros); /* linear counting: exact-ish when sparse */
    return e;
}

/* 2^-rank by table (ldexp per register was half of a flush's sketch work);
 * ranks are at most 64 - HLL_P + 1, a stored byte above 64 reads as 64. */
static void hll_pow2(double pow2[65]) {
    for (int r = 0; r <= 64; r++)
        pow2[r] = ldexp(1.0, -r);
}

double hll_estimate(const struct hll *h) {
    double pow2[65], sum = 0;
    unsigned zeros = 0;
    hll_pow2(pow2);
    for (size_t i = 0; i < HLL_REGISTERS; i++) {
        sum += pow2[h->reg[i] < 64 ? h->reg[i] : 64];
        zeros += h->reg[i] == 0;
    }
    return hll_estimate_of(sum, zeros);
}

size_t hll_store_form(const struct hll *h, uint8_t *out, double *estimate) {
    double pow2[65], sum = 0;
    unsigned zeros = 0;
    size_t len = 1;
    hll_pow2(pow2);
    out[0] = HLL_SPARSE_TAG;
    for (size_t i = 0; i < HLL_REGISTERS; i++) {
        uint8_t r = h->reg[i];
        sum += pow2[r < 64 ? r : 64];
        if (!r) {
            zeros++;
            continue;
        }
        /* a rank no hash makes (a damaged dense sketch) stays dense */
        if (len + 3 <= 1 + 3 * HLL_SPARSE_MAX && r <= 64 - HLL_P + 1) {
            uint32_t e = (uint32_t)i << 6 | r;
            out[len++] = (uint8_t)(e >> 16);
            out[len++] = (uint8_t)(e >> 8);
            out[len++] = (uint8_t)e;
        } else {
            len = HLL_REGISTERS; /* promoted: keep summing, copy at the end */
        }
    }
    *estimate = hll_estimate_of(sum, zeros);
    if (len == HLL_REGISTERS)
        memcpy(out, h->reg, HLL_REGISTERS);
    return len;
}
