/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of common/timefmt: RFC 3339 parsing and the canonical form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "timefmt.h"

static int64_t parse(const char *s) {
    int64_t ms = -42;
    assert_int_equal(timefmt_parse(s, &ms), 0);
    return ms;
}

static void test_parses_utc_and_offsets(void **state) {
    (void)state;
    assert_int_equal(parse("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse("2026-11-24T02:19:35.123Z"), 1795486775123LL);
    assert_int_equal(parse("2026-11-24T03:19:35.123+01:00"), 1795486775123LL);
    assert_int_equal(parse("2026-11-23t21:19:35.123456-05:00"), 1795486775123LL);
    assert_int_equal(parse("2024-02-29 00:00:00.5z"), 1709164800500LL);
}

static void test_rejects_malformed(void **state) {
    (void)state;
    int64_t ms;
    const char *bad[] = {"", "2026-11-24", "2026-11-24T02:19:35", "2026-13-01T00:00:00Z",
                         "2025-02-29T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T02:19:35.Z",
                         "2026-11-24T02:19:35Zjunk", "1969-12-31T23:59:59Z", "2026-11-24T02:19:35+1:00",
                         "２０２６-11-24T02:19:35Z",
                         /* past 9999-12-31T23:59:59.999Z once the offset is applied */
                         "9999-12-31T23:59:59-00:01", "9999-12-31T23:30:00-01:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (timefmt_parse(bad[i], &ms) == 0)
            fail_msg("accepted '%s'", bad[i]);
}

static void test_format_round_trips(void **state) {
    (void)state;
    char buf[TIMEFMT_LEN];
    timefmt_format(1795486775123LL, buf);
    assert_string_equal(buf, "2026-11-24T02:19:35.123Z");
    assert_int_equal(parse(buf), 1795486775123LL);
    assert_int_equal(parse("9999-12-31T23:59:59.999Z"), TIMEFMT_MAX_MS);
    assert_int_equal(parse("9999-12-31T23:59:59.999+00:01"), TIMEFMT_MAX_MS - 60000);
    timefmt_format(TIMEFMT_MAX_MS, buf);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
    timefmt_format(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_utc_and_offsets),
        cmocka_unit_test(test_rejects_malformed),
        cmocka_unit_test(test_format_round_trips),
    };
    return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
