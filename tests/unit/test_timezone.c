/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of web/timezone: sites' zones, their offsets and midnights,
 * days of 23 and 25 hours, half-hour zones, and refused names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "timefmt.h"
#include "timezone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t at(const char *rfc3339) {
    int64_t ms;
    assert_int_equal(timefmt_parse(rfc3339, &ms), 0);
    return ms / 1000;
}

static void test_days_follow_the_sites_midnight(void **state) {
    (void)state;
    struct site_tz **z;
    char err[256];
    const struct site_tz *berlin, *kolkata;
    assert_int_equal(site_tz_parse("shop=Europe/Berlin, blog=Asia/Kolkata", &z, err, sizeof(err)), 0);
    berlin = site_tz_find(z, "shop");
    kolkata = site_tz_find(z, "blog");
    assert_non_null(berlin);
    assert_non_null(kolkata);
    assert_null(site_tz_find(z, "other"));
    assert_string_equal(site_tz_name(berlin), "Europe/Berlin");
    assert_string_equal(site_tz_name(NULL), "UTC");

    assert_int_equal(tz_offset(berlin, at("2026-01-15T12:00:00Z")), 3600);
    assert_int_equal(tz_offset(berlin, at("2026-07-15T12:00:00Z")), 7200);
    /* clocks go forward at 01:00 UTC on the last Sunday of March */
    assert_int_equal(tz_offset(berlin, at("2026-03-29T00:59:59Z")), 3600);
    assert_int_equal(tz_offset(berlin, at("2026-03-29T01:00:00Z")), 7200);
    /* that day has 23 hours, October's last Sunday 25 */
    assert_int_equal(tz_day_start(berlin, at("2026-03-29T12:00:00Z")), at("2026-03-28T23:00:00Z"));
    assert_int_equal(tz_day_start(berlin, at("2026-03-29T21:59:59Z")), at("2026-03-28T23:00:00Z"));
    assert_int_equal(tz_day_start(berlin, at("2026-03-29T22:00:00Z")), at("2026-03-29T22:00:00Z"));
    assert_int_equal(tz_day_start(berlin, at("2026-10-25T23:30:00Z")), at("2026-10-25T23:00:00Z"));
    assert_int_equal(tz_day_start(berlin, at("2026-10-25T22:59:59Z")), at("2026-10-24T22:00:00Z"));
    assert_int_equal(tz_midnight_of(berlin, at("2026-03-29T00:00:00Z")), at("2026-03-28T23:00:00Z"));
    assert_int_equal(tz_midnight_of(berlin, at("2026-03-30T00:00:00Z")), at("2026-03-29T22:00:00Z"));
    assert_int_equal(tz_midnight_of(NULL, at("2026-03-30T00:00:00Z")), at("2026-03-30T00:00:00Z"));
    /* +05:30, and the UTC day before */
    assert_int_equal(tz_day_start(kolkata, at("2026-12-01T02:00:00Z")), at("2026-11-30T18:30:00Z"));
    assert_int_equal(tz_day_start(kolkata, at("2026-11-30T18:29:59Z")), at("2026-11-29T18:30:00Z"));
    assert_int_equal(tz_day_start(NULL, at("2026-12-01T02:00:00Z")), at("2026-12-01T00:00:00Z"));
    site_tz_free(z);
}

/* The table agrees with glibc's own answer at thousands of instants. */
static void test_offsets_agree_with_the_tz_database(void **state) {
    (void)state;
    static const char *zones[] = {"America/New_York", "Australia/Lord_Howe", "America/St_Johns",
                                  "Asia/Kathmandu", "Europe/London", "Pacific/Chatham"};
    for (size_t k = 0; k < sizeof(zones) / sizeof(zones[0]); k++) {
        struct site_tz **z;
        char spec[64], err[256];
        unsigned rnd = 99;
        snprintf(spec, sizeof(spec), "s=%s", zones[k]);
        assert_int_equal(site_tz_parse(spec, &z, err, sizeof(err)), 0);
        setenv("TZ", zones[k], 1);
        tzset();
        for (int i = 0; i < 5000; i++) {
            struct tm tm;
            time_t t;
            rnd = rnd * 1103515245u + 12345u;
            t = (time_t)(((int64_t)rnd << 8 ^ rnd) % 4102444800LL); /* 1970..2100 */
            localtime_r(&t, &tm);
            if (tz_offset(z[0], t) != tm.tm_gmtoff)
                fail_msg("%s at %lld: %d, glibc says %ld", zones[k], (long long)t,
                         tz_offset(z[0], t), tm.tm_gmtoff);
        }
        unsetenv("TZ");
        tzset();
        site_tz_free(z);
    }
}

static void test_bad_specs_are_refused(void **state) {
    (void)state;
    struct site_tz **z = NULL;
    char err[256];
    assert_int_equal(site_tz_parse("", &z, err, sizeof(err)), 0);
    assert_null(z[0]);
    site_tz_free(z);
    assert_int_equal(site_tz_parse("shop=Mars/Olympus", &z, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "shop=Mars/Olympus"));
    assert_int_equal(site_tz_parse("shop", &z, err, sizeof(err)), -1);
    assert_int_equal(site_tz_parse("shop=../../etc/passwd", &z, err, sizeof(err)), -1);
    assert_int_equal(site_tz_parse("=Europe/Berlin", &z, err, sizeof(err)), -1);
    assert_int_equal(site_tz_parse("shop=/etc/passwd", &z, err, sizeof(err)), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_follow_the_sites_midnight),
        cmocka_unit_test(test_offsets_agree_with_the_tz_database),
        cmocka_unit_test(test_bad_specs_are_refused),
    };
    return cmocka_run_group_tests_name("timezone", tests, NULL, NULL);
}
