/* SPDX-License-Identifier: Apache-2.0 */
#include "hll.h"

#include "mix64.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t hll_hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return mix64(h);
}

/* The register a hash sets and the rank it offers: index << 6 | rank. */
static uint32_t hll_entry(uint64_t hash) {
    uint32_t idx = (uint32_t)(hash >> (64 - HLL_P));
    uint64_t rest = hash << HLL_P | (1ULL << (HLL_P - 1)); /* bounds the rank */
    return idx << 6 | (uint32_t)(__builtin_clzll(rest) + 1);
}

static void hll_set_entry(struct hll *h, uint32_t e) {
    if ((e & 63) > h->reg[e >> 6])
        h->reg[e >> 6] = (uint8_t)(e & 63);
}

void hll_add_hash(struct hll *h, uint64_t hash) { hll_set_entry(h, hll_entry(hash)); }

void hll_merge(struct hll *dst, const struct hll *src) {
    for (size_t i = 0; i < HLL_REGISTERS; i++)
        if (src->reg[i] > dst->reg[i])
            dst->reg[i] = src->reg[i];
}

static uint32_t sparse_entry(const uint8_t *p) {
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void sparse_put(uint8_t *p, uint32_t e) {
    p[0] = (uint8_t)(e >> 16);
    p[1] = (uint8_t)(e >> 8);
    p[2] = (uint8_t)e;
}

/* Checks a sparse form: whole entries, indices increasing, ranks possible. */
static int hll_sparse_valid(const uint8_t *p, size_t len) {
    long prev = -1;
    if (len < 1 || p[0] != HLL_SPARSE_TAG || (len - 1) % 3 || (len - 1) / 3 > HLL_SPARSE_MAX)
        return 0;
    for (size_t i = 1; i < len; i += 3) {
        uint32_t e = sparse_entry(p + i);
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
    for (size_t i = 1; i < len; i += 3)
        hll_set_entry(dst, sparse_entry(p + i));
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
            sparse_put(out + len, (uint32_t)i << 6 | r);
            len += 3;
        } else {
            len = HLL_REGISTERS; /* promoted: keep summing, copy at the end */
        }
    }
    *estimate = hll_estimate_of(sum, zeros);
    if (len == HLL_REGISTERS)
        memcpy(out, h->reg, HLL_REGISTERS);
    return len;
}

static int entry_order(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sorts s's entries and keeps one per register, its highest rank (sorted
 * by index << 6 | rank, that is the last of each index). */
static void small_compact(struct hll_small *s) {
    uint32_t n = 0;
    qsort(s->entries, s->n, sizeof(*s->entries), entry_order);
    for (uint32_t i = 0; i < s->n; i++)
        if (i + 1 == s->n || s->entries[i + 1] >> 6 != s->entries[i] >> 6)
            s->entries[n++] = s->entries[i];
    s->n = n;
}

void hll_small_add(struct hll_small *s, uint64_t hash) {
    uint32_t e = hll_entry(hash);
    if (!s->dense && s->n == s->cap) {
        if (s->cap < HLL_SPARSE_MAX) {
            s->cap = s->cap ? 2 * s->cap : 8;
            if (!(s->entries = realloc(s->entries, s->cap * sizeof(*s->entries))))
                abort();
        } else if (small_compact(s), s->n > HLL_SPARSE_MAX / 2) {
            /* more than half are distinct registers: dense costs no more */
            if (!(s->dense = calloc(1, sizeof(*s->dense))))
                abort();
            for (uint32_t i = 0; i < s->n; i++)
                hll_set_entry(s->dense, s->entries[i]);
            free(s->entries);
            s->entries = NULL;
            s->n = s->cap = 0;
        }
    }
    if (s->dense)
        hll_set_entry(s->dense, e);
    else
        s->entries[s->n++] = e;
}

size_t hll_small_store_form(struct hll_small *s, const void *stored, size_t len, uint8_t *out,
                            int *malformed, double *estimate) {
    const uint8_t *p = stored;
    struct hll *merged;
    double sum = 0;
    size_t i = 1, j = 0, o = 1;
    *malformed = len && len != HLL_REGISTERS && !hll_sparse_valid(p, len);
    if (*malformed)
        len = 0;
    if (!len)
        len = 1; /* an empty sparse form: the tag alone */
    if (!s->dense && len != HLL_REGISTERS) {
        /* both sparse: merge the two increasing lists of entries */
        small_compact(s);
        out[0] = HLL_SPARSE_TAG;
        while (i < len || j < s->n) {
            uint32_t a = i < len ? sparse_entry(p + i) : UINT32_MAX;
            uint32_t b = j < s->n ? s->entries[j] : UINT32_MAX, e;
            if (a >> 6 == b >> 6)
                e = a > b ? a : b, i += 3, j++;
            else if (a < b)
                e = a, i += 3;
            else
                e = b, j++;
            if (o == 1 + 3 * HLL_SPARSE_MAX)
                goto dense; /* one entry too many: promoted */
            sparse_put(out + o, e);
            o += 3;
            sum += 1.0 / (double)(1ULL << (e & 63)); /* exact: ranks are at most 51 */
        }
        /* the zero registers add 1 each; the terms are exact binary
         * fractions, so while ranks stay under 39 (a hash has one over 38
         * with odds of 2^-38) the sum is exact, as hll_store_form's is */
        *estimate = hll_estimate_of(sum + (double)(HLL_REGISTERS - (o - 1) / 3),
                                    (unsigned)(HLL_REGISTERS - (o - 1) / 3));
        return o;
    }
dense:
    if (!(merged = s->dense ? malloc(sizeof(*merged)) : calloc(1, sizeof(*merged))))
        abort();
    if (s->dense)
        *merged = *s->dense;
    for (j = 0; j < s->n; j++)
        hll_set_entry(merged, s->entries[j]);
    if (len > 1)
        hll_merge_bytes(merged, stored, len);
    o = hll_store_form(merged, out, estimate);
    free(merged);
    return o;
}

size_t hll_union_forms(const void *a, size_t alen, const void *b, size_t blen, uint8_t *out,
                       int *malformed) {
    const uint8_t *p = b;
    struct hll_small s = {0};
    double estimate;
    size_t len;
    int b_bad = blen && blen != HLL_REGISTERS && !hll_sparse_valid(p, blen);
    if (blen == HLL_REGISTERS) {
        if (!(s.dense = malloc(sizeof(*s.dense))))
            abort();
        memcpy(s.dense->reg, b, HLL_REGISTERS);
    } else if (blen > 1 && !b_bad) { /* sparse: its entries, increasing */
        s.n = s.cap = (uint32_t)(blen - 1) / 3;
        if (!(s.entries = malloc(s.cap * sizeof(*s.entries))))
            abort();
        for (uint32_t i = 0; i < s.n; i++)
            s.entries[i] = sparse_entry(p + 1 + 3 * i);
    }
    len = hll_small_store_form(&s, a, alen, out, malformed, &estimate);
    *malformed |= b_bad;
    hll_small_free(&s);
    return len;
}

void hll_small_free(struct hll_small *s) {
    free(s->entries);
    free(s->dense);
    *s = (struct hll_small){0};
}
