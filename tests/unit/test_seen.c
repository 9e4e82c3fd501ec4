/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of aggregator/seen: the in-memory set of one partition's
 * recently counted event_ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "seen.h"

#include <string.h>

static const uint8_t *id(uint64_t n) {
    static uint8_t b[16];
    memset(b, 0, 16);
    memcpy(b + 8, &n, 8); /* ids that differ in one half only */
    return b;
}

static void test_second_sight_is_a_duplicate(void **state) {
    (void)state;
    struct seen *s = seen_new(1000);
    assert_int_equal(seen_add(s, id(1), 5000), 0);
    assert_int_equal(seen_add(s, id(2), 5000), 0);
    assert_int_equal(seen_add(s, id(1), 5500), 1);
    assert_int_equal(seen_add(s, id(2), 4000), 1); /* older time, still within */
    assert_int_equal(seen_count(s), 2);
    assert_int_equal(seen_newest(s), 5500);
    seen_free(s);
}

static void test_window_is_the_partitions_own_time(void **state) {
    (void)state;
    struct seen *s = seen_new(1000);
    assert_int_equal(seen_add(s, id(1), 5000), 0);
    assert_int_equal(seen_add(s, id(2), 6000), 0); /* id 1 exactly at the edge */
    assert_int_equal(seen_add(s, id(1), 6000), 1);
    assert_int_equal(seen_add(s, id(3), 6001), 0); /* now id 1 has left */
    assert_int_equal(seen_add(s, id(1), 6001), 0);
    assert_int_equal(seen_add(s, id(1), 6001), 1); /* and is back, renewed */
    seen_free(s);
}

static void test_growth_keeps_live_ids_and_drops_expired(void **state) {
    (void)state;
    struct seen *s = seen_new(100000);
    for (uint64_t i = 0; i < 150000; i++) /* grows 8 times, nothing expired yet */
        assert_int_equal(seen_add(s, id(i), 1000 + (int64_t)i), 0);
    assert_int_equal(seen_count(s), 150000);
    /* At 151000 the ids below 50000 have left the window. */
    for (uint64_t i = 50000; i < 150000; i++)
        assert_int_equal(seen_add(s, id(i), 151000), 1);
    /* The next growth drops those 50000. */
    for (uint64_t i = 150000; i < 250000; i++)
        assert_int_equal(seen_add(s, id(i), 151000), 0);
    assert_int_equal(seen_count(s), 200000);
    for (uint64_t i = 50000; i < 250000; i++)
        assert_int_equal(seen_add(s, id(i), 151000), 1);
    for (uint64_t i = 0; i < 50000; i++)
        assert_int_equal(seen_add(s, id(i), 151000), 0);
    seen_free(s);
}

static void test_zero_and_negative_times_are_held(void **state) {
    (void)state;
    struct seen *s = seen_new(1000);
    assert_int_equal(seen_add(s, id(0), 0), 0);
    assert_int_equal(seen_add(s, id(0), -5), 1);
    seen_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_sight_is_a_duplicate),
        cmocka_unit_test(test_window_is_the_partitions_own_time),
        cmocka_unit_test(test_growth_keeps_live_ids_and_drops_expired),
        cmocka_unit_test(test_zero_and_negative_times_are_held),
    };
    return cmocka_run_group_tests_name("seen", tests, NULL, NULL);
}
