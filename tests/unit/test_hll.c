/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of aggregator/hll: accuracy at several cardinalities, merges,
 * the stored forms (sparse and dense), and the small in-memory form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hll.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_ids(struct hll *h, int from, int to) {
    char id[32];
    for (int i = from; i < to; i++) {
        int n = snprintf(id, sizeof(id), "visitor-%d", i);
        hll_add_hash(h, hll_hash(id, (size_t)n));
    }
}

static void test_estimates_within_two_percent(void **state) {
    (void)state;
    const int sizes[] = {10, 1000, 20000, 200000, 1000000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        struct hll *h = calloc(1, sizeof(*h));
        add_ids(h, 0, sizes[k]);
        double e = hll_estimate(h), err = fabs(e - sizes[k]) / sizes[k];
        if (err > 0.02)
            fail_msg("n=%d estimate %.0f (error %.2f%%)", sizes[k], e, err * 100);
        free(h);
    }
}

static void test_duplicates_do_not_count(void **state) {
    (void)state;
    struct hll *h = calloc(1, sizeof(*h));
    for (int r = 0; r < 5; r++)
        add_ids(h, 0, 5000);
    assert_true(fabs(hll_estimate(h) - 5000) / 5000 < 0.02);
    free(h);
}

static void test_merge_equals_union(void **state) {
    (void)state;
    struct hll *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b)), *u = calloc(1, sizeof(*u));
    add_ids(a, 0, 60000);
    add_ids(b, 40000, 100000); /* overlaps a by 20000 */
    add_ids(u, 0, 100000);
    hll_merge(a, b);
    assert_memory_equal(a->reg, u->reg, HLL_REGISTERS);
    assert_true(fabs(hll_estimate(a) - 100000) / 100000 < 0.02);
    assert_int_equal(hll_merge_bytes(a, b->reg, HLL_REGISTERS), 0);
    assert_int_equal(hll_merge_bytes(a, b->reg, 100), -1);
    free(a), free(b), free(u);
}

static void test_empty_is_zero(void **state) {
    (void)state;
    struct hll *h = calloc(1, sizeof(*h));
    assert_true(hll_estimate(h) == 0.0);
    free(h);
}

/* A sketch read back from its stored form. */
static struct hll *reload(const uint8_t *stored, size_t len) {
    struct hll *h = calloc(1, sizeof(*h));
    assert_int_equal(hll_merge_bytes(h, stored, len), 0);
    return h;
}

static void test_stored_forms_give_the_same_estimate(void **state) {
    (void)state;
    /* from one visitor to far past the promotion: the estimate from the
     * stored form, and from the sketch read back, equal the dense one
     * exactly (the same registers), and small sketches are small */
    const int sizes[] = {1, 5, 100, 1000, 4000, 6000, 50000, 1000000};
    uint8_t *out = malloc(HLL_REGISTERS);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        struct hll *h = calloc(1, sizeof(*h)), *back;
        double e;
        size_t len;
        add_ids(h, 0, sizes[k]);
        len = hll_store_form(h, out, &e);
        if (e != hll_estimate(h))
            fail_msg("n=%d: stored-form estimate %.17g, dense %.17g", sizes[k], e,
                     hll_estimate(h));
        back = reload(out, len);
        assert_memory_equal(back->reg, h->reg, HLL_REGISTERS);
        assert_true(hll_estimate(back) == hll_estimate(h));
        if (sizes[k] <= 1000)
            assert_true(len <= 1 + 3 * (size_t)sizes[k]); /* sparse */
        if (sizes[k] >= 50000)
            assert_int_equal(len, HLL_REGISTERS); /* promoted */
        free(h), free(back);
    }
    free(out);
}

static void test_promotion_boundary(void **state) {
    (void)state;
    struct hll *h = calloc(1, sizeof(*h)), *back;
    uint8_t *out = malloc(HLL_REGISTERS);
    double e;
    size_t len;
    for (unsigned i = 0; i < HLL_SPARSE_MAX; i++) /* every fourth register */
        h->reg[4 * i] = (uint8_t)(1 + i % 51);
    len = hll_store_form(h, out, &e);
    assert_int_equal(len, 1 + 3 * HLL_SPARSE_MAX); /* the most a sparse form holds */
    assert_int_equal(out[0], HLL_SPARSE_TAG);
    back = reload(out, len);
    assert_memory_equal(back->reg, h->reg, HLL_REGISTERS);
    free(back);
    h->reg[1] = 7; /* one more register: dense */
    len = hll_store_form(h, out, &e);
    assert_int_equal(len, HLL_REGISTERS);
    assert_memory_equal(out, h->reg, HLL_REGISTERS);
    assert_true(e == hll_estimate(h));
    free(h), free(out);
}

static void test_sparse_and_dense_merge(void **state) {
    (void)state;
    /* a sparse minute merged into a dense day and the other way round both
     * give the union's registers */
    struct hll *small = calloc(1, sizeof(*small)), *big = calloc(1, sizeof(*big));
    struct hll *u = calloc(1, sizeof(*u)), *m = calloc(1, sizeof(*m));
    uint8_t *sparse = malloc(HLL_REGISTERS), *dense = malloc(HLL_REGISTERS);
    double e;
    size_t slen, dlen;
    add_ids(small, 0, 300);
    add_ids(big, 200, 30000);
    add_ids(u, 0, 30000);
    slen = hll_store_form(small, sparse, &e);
    dlen = hll_store_form(big, dense, &e);
    assert_true(slen < 1000 && dlen == HLL_REGISTERS);
    assert_int_equal(hll_merge_bytes(m, dense, dlen), 0);
    assert_int_equal(hll_merge_bytes(m, sparse, slen), 0);
    assert_memory_equal(m->reg, u->reg, HLL_REGISTERS);
    memset(m, 0, sizeof(*m));
    assert_int_equal(hll_merge_bytes(m, sparse, slen), 0);
    assert_int_equal(hll_merge_bytes(m, dense, dlen), 0);
    assert_memory_equal(m->reg, u->reg, HLL_REGISTERS);
    free(small), free(big), free(u), free(m), free(sparse), free(dense);
}

static void test_malformed_stored_forms_are_refused(void **state) {
    (void)state;
    struct hll *h = calloc(1, sizeof(*h)), *zero = calloc(1, sizeof(*zero));
    const uint8_t unsorted[] = {HLL_SPARSE_TAG, 0, 0x01, 0x41, 0, 0, 0x41};  /* idx 5, 1 */
    const uint8_t repeated[] = {HLL_SPARSE_TAG, 0, 0, 0x41, 0, 0, 0x42};     /* idx 1, 1 */
    const uint8_t rank0[] = {HLL_SPARSE_TAG, 0, 0, 0x40};                    /* rank 0 */
    const uint8_t rank60[] = {HLL_SPARSE_TAG, 0, 0, 0x7c};                   /* rank 60 */
    const uint8_t cut[] = {HLL_SPARSE_TAG, 0, 0x01};
    const uint8_t tag[] = {'X', 0, 0, 0x41};
    const uint8_t good[] = {HLL_SPARSE_TAG, 0x0f, 0xff, 0xc1};              /* idx 16383 */
    assert_int_equal(hll_merge_bytes(h, unsorted, sizeof(unsorted)), -1);
    assert_int_equal(hll_merge_bytes(h, repeated, sizeof(repeated)), -1);
    assert_int_equal(hll_merge_bytes(h, rank0, sizeof(rank0)), -1);
    assert_int_equal(hll_merge_bytes(h, rank60, sizeof(rank60)), -1);
    assert_int_equal(hll_merge_bytes(h, cut, sizeof(cut)), -1);
    assert_int_equal(hll_merge_bytes(h, tag, sizeof(tag)), -1);
    assert_int_equal(hll_merge_bytes(h, "", 0), -1);
    assert_memory_equal(h->reg, zero->reg, HLL_REGISTERS); /* nothing merged */
    assert_int_equal(hll_merge_bytes(h, good, sizeof(good)), 0);
    assert_int_equal(h->reg[HLL_REGISTERS - 1], 1);
    free(h), free(zero);
}

static void small_add_ids(struct hll_small *s, int from, int to) {
    char id[32];
    for (int i = from; i < to; i++) {
        int n = snprintf(id, sizeof(id), "visitor-%d", i);
        hll_small_add(s, hll_hash(id, (size_t)n));
    }
}

/* A sketch built small in memory and merged into what is stored (nothing,
 * sparse of every size, dense) is stored exactly as the union's dense
 * registers would be: same form, same bytes, same estimate. */
static void test_small_sketches_store_the_union(void **state) {
    (void)state;
    const int stored_sizes[] = {0, 1, 50, 2500, 4000, 60000};
    const int added[] = {1, 3, 700, 3000, 4200, 9000, 100000};
    uint8_t *stored = malloc(HLL_REGISTERS), *got = malloc(HLL_REGISTERS);
    uint8_t *want = malloc(HLL_REGISTERS);
    for (size_t a = 0; a < sizeof(stored_sizes) / sizeof(stored_sizes[0]); a++)
        for (size_t b = 0; b < sizeof(added) / sizeof(added[0]); b++) {
            struct hll *before = calloc(1, sizeof(*before)), *u = calloc(1, sizeof(*u));
            struct hll_small s = {0};
            double e, ge;
            size_t slen = 0, glen, wlen;
            int malformed = 1;
            /* overlapping ranges: some visitors are in both */
            add_ids(before, 0, stored_sizes[a]);
            add_ids(u, 0, stored_sizes[a]);
            add_ids(u, stored_sizes[a] / 2, stored_sizes[a] / 2 + added[b]);
            small_add_ids(&s, stored_sizes[a] / 2, stored_sizes[a] / 2 + added[b]);
            small_add_ids(&s, stored_sizes[a] / 2, stored_sizes[a] / 2 + added[b] / 3); /* again */
            /* never more than 16 KiB in memory, whatever was added */
            assert_true(s.dense ? s.entries == NULL : s.cap <= HLL_SPARSE_MAX);
            if (stored_sizes[a])
                slen = hll_store_form(before, stored, &e);
            glen = hll_small_store_form(&s, slen ? stored : NULL, slen, got, &malformed, &ge);
            wlen = hll_store_form(u, want, &e);
            assert_int_equal(malformed, 0);
            assert_int_equal(glen, wlen);
            assert_memory_equal(got, want, wlen);
            assert_true(ge == e); /* the same estimate, to the bit */
            hll_small_free(&s);
            free(before), free(u);
        }
    free(stored), free(got), free(want);
}

/* A malformed stored sketch is reported and replaced by the new visitors. */
static void test_small_sketch_over_malformed_stored(void **state) {
    (void)state;
    const uint8_t unsorted[] = {HLL_SPARSE_TAG, 0, 0x01, 0x41, 0, 0, 0x41};
    uint8_t *got = malloc(HLL_REGISTERS), *want = malloc(HLL_REGISTERS);
    struct hll *h = calloc(1, sizeof(*h));
    struct hll_small s = {0};
    double e, ge;
    int malformed = 0;
    size_t len;
    small_add_ids(&s, 0, 5);
    add_ids(h, 0, 5);
    len = hll_small_store_form(&s, unsorted, sizeof(unsorted), got, &malformed, &ge);
    assert_int_equal(malformed, 1);
    assert_int_equal(len, hll_store_form(h, want, &e));
    assert_true(ge == e);
    assert_memory_equal(got, want, len);
    hll_small_free(&s);
    free(got), free(want), free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimates_within_two_percent),
        cmocka_unit_test(test_duplicates_do_not_count),
        cmocka_unit_test(test_merge_equals_union),
        cmocka_unit_test(test_empty_is_zero),
        cmocka_unit_test(test_stored_forms_give_the_same_estimate),
        cmocka_unit_test(test_promotion_boundary),
        cmocka_unit_test(test_sparse_and_dense_merge),
        cmocka_unit_test(test_malformed_stored_forms_are_refused),
        cmocka_unit_test(test_small_sketches_store_the_union),
        cmocka_unit_test(test_small_sketch_over_malformed_stored),
    };
    return cmocka_run_group_tests_name("hll", tests, NULL, NULL);
}
