/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of aggregator/hll: accuracy at several cardinalities, merges. */
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimates_within_two_percent),
        cmocka_unit_test(test_duplicates_do_not_count),
        cmocka_unit_test(test_merge_equals_union),
        cmocka_unit_test(test_empty_is_zero),
    };
    return cmocka_run_group_tests_name("hll", tests, NULL, NULL);
}
