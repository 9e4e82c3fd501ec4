/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of scripts/topic_rules: what activity-topics check reports for
 * a cluster's topics (the devbroker cannot show replication or configs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "topic_rules.h"

#include <stdlib.h>
#include <string.h>

static char *check(const struct topic_facts *t, int n, int *errors) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *errors = topic_rules_check(t, n, 3600, f);
    fclose(f);
    return buf;
}

static void test_production_settings_pass(void **state) {
    (void)state;
    struct topic_facts t[] = {{"a.pageview", 1, 12, 3, 2, 604800000LL, 1},
                              {"a.click", 1, 12, 3, 2, 604800000LL, 1},
                              {"a.search", 1, 12, 3, 2, 0 /* infinite */, 1},
                              {"a.invalid", 1, 3, 3, 2, 604800000LL, 0}};
    int errors;
    char *out = check(t, 4, &errors);
    assert_int_equal(errors, 0);
    assert_string_equal(out, "");
    free(out);
}

static void test_each_weakness_is_named(void **state) {
    (void)state;
    struct topic_facts t[] = {{"a.pageview", 1, 12, 1, 1, 3600000LL, 1},
                              {"a.click", 1, 6, 3, -1, -1, 1},
                              {"a.search", 0, -1, -1, -1, -1, 1}};
    int errors;
    char *out = check(t, 3, &errors);
    assert_int_equal(errors, 1);
    assert_non_null(strstr(out, "ERROR topic a.search does not exist"));
    assert_non_null(strstr(out, "WARN topic a.pageview: replication factor 1"));
    assert_non_null(strstr(out, "WARN topic a.pageview: min.insync.replicas 1"));
    assert_non_null(strstr(out, "WARN topic a.pageview: retention.ms 3600000 is shorter"));
    assert_non_null(strstr(out, "WARN topic a.click has 6 partitions, another event topic 12"));
    /* unknown settings (-1) are not reported as weak */
    assert_null(strstr(out, "a.click: min.insync"));
    assert_null(strstr(out, "a.click: retention"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_production_settings_pass),
        cmocka_unit_test(test_each_weakness_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
