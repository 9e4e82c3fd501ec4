/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of aggregator/arena: strings stay intact across chunks,
 * outsized ones get their own, and a reset hands the chunks out again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_strings_across_chunks_and_outsized(void **state) {
    (void)state;
    struct arena a = {0};
    char text[32], *kept[20000], *big, *src = malloc(200000);
    memset(src, 'x', 200000);
    for (int i = 0; i < 20000; i++) { /* ~300 KB: several 64 KiB chunks */
        int n = snprintf(text, sizeof(text), "string-%d", i);
        kept[i] = arena_strndup(&a, text, (size_t)n);
    }
    big = arena_strndup(&a, src, 200000);
    for (int i = 0; i < 20000; i++) {
        snprintf(text, sizeof(text), "string-%d", i);
        assert_string_equal(kept[i], text);
    }
    assert_int_equal(strlen(big), 200000);
    assert_memory_equal(big, src, 200000);
    arena_free(&a);
    free(src);
}

static void test_reset_reuses_the_chunks(void **state) {
    (void)state;
    struct arena a = {0};
    char *first = arena_strndup(&a, "abc", 3), *again;
    arena_reset(&a);
    again = arena_strndup(&a, "xyz", 3);
    assert_ptr_equal(first, again); /* the same chunk, from its start */
    assert_string_equal(again, "xyz");
    arena_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_across_chunks_and_outsized),
        cmocka_unit_test(test_reset_reuses_the_chunks),
    };
    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
