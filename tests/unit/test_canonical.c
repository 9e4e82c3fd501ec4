/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of aggregator/canonical: canonical events in, hostile text out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "canonical.h"
#include "urlparts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID "\"event_id\":\"0b8e5f2a-9c1d-4e7a-8f3b-2d6c1a9e4b70\""
#define TAIL "\"ts\":\"2026-11-24T10:00:00.000Z\",\"received_at\":\"2026-11-24T10:00:01.000Z\",\"bot\":false"

/* The parsed events' strings; freed once all tests have run. */
static struct arena strings;

static int free_strings(void **state) {
    (void)state;
    arena_free(&strings);
    return 0;
}

static int parse(const char *text, struct rollup_event *ev, char *err) {
    /* a copy without a terminating NUL, as Kafka hands payloads over */
    size_t n = strlen(text);
    char *buf = malloc(n ? n : 1);
    int rc;
    memcpy(buf, text, n);
    rc = canonical_parse(buf, n, NULL, 600000, &strings, ev, err, 256);
    free(buf);
    return rc;
}

static void expect_bad(const char *text, const char *needle) {
    struct rollup_event ev;
    char err[256];
    if (parse(text, &ev, err) == 0)
        fail_msg("accepted: %s", text);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s' for %s", err, needle, text);
}

static void test_pageview_with_props_and_unknown_fields(void **state) {
    (void)state;
    struct rollup_event ev;
    char err[256];
    assert_int_equal(parse("{\"type\":\"pageview\"," ID ",\"site\":\"shop\",\"anonymous_id\":\"v1\","
                           "\"url\":\"https://shop/a/b?x=1#f\",\"props\":{\"n\":[1,{\"a\":\"}\"}],\"s\":\"\\\"\"},"
                           "\"title\":null,\"extra\":-1.5e3," TAIL "}", &ev, err), 0);
    assert_string_equal(ev.type, "pageview");
    assert_string_equal(ev.site, "shop");
    assert_string_equal(ev.dim, "/a/b");
    assert_memory_equal(ev.event_id,
                        "\x0b\x8e\x5f\x2a\x9c\x1d\x4e\x7a\x8f\x3b\x2d\x6c\x1a\x9e\x4b\x70", 16);
    assert_int_equal(ev.visitor, hll_hash("v1", 2));
    assert_false(ev.bot);
    assert_int_equal(ev.received_ms - ev.ts_ms, 1000);
}

static void test_event_id_case_does_not_matter(void **state) {
    (void)state;
    struct rollup_event lower, upper;
    char err[256];
    assert_int_equal(parse("{\"type\":\"click\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\","
                           "\"url\":\"https://s/\",\"target\":\"b\"," TAIL "}", &lower, err), 0);
    assert_int_equal(parse("{\"type\":\"click\",\"event_id\":\"0B8E5F2A-9C1D-4E7A-8F3B-2D6C1A9E4B70\","
                           "\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":\"https://s/\",\"target\":\"b\","
                           TAIL "}", &upper, err), 0);
    assert_memory_equal(lower.event_id, upper.event_id, 16);
}

static void test_search_escapes_and_unicode(void **state) {
    (void)state;
    struct rollup_event ev;
    char err[256];
    assert_int_equal(parse("{\"type\":\"search\"," ID ",\"site\":\"s\",\"user_id\":\"u\",\"url\":\"https://s/\","
                           "\"query\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \xe6\xbc\xa2\",\"results\":0,"
                           "\"ts\":\"2026-11-24T10:00:00Z\",\"received_at\":\"2026-11-24T10:00:01Z\",\"bot\":true}",
                           &ev, err), 0);
    assert_string_equal(ev.dim, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \xe6\xbc\xa2");
    assert_true(ev.zero_result);
    assert_true(ev.bot);
    assert_int_equal(ev.visitor, hll_hash("u", 1));
}

static void test_future_ts_is_clamped(void **state) {
    (void)state;
    struct rollup_event ev;
    char err[256];
    assert_int_equal(parse("{\"type\":\"click\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":\"https://s/\","
                           "\"target\":\"b\",\"ts\":\"2030-01-01T00:00:00Z\",\"received_at\":"
                           "\"2026-11-24T10:00:01Z\",\"bot\":false}", &ev, err), 0);
    assert_int_equal(ev.ts_ms, ev.received_ms);
}

static void test_hostile_text(void **state) {
    (void)state;
    expect_bad("", "not a JSON object");
    expect_bad("[1]", "not a JSON object");
    expect_bad("{\"type\":\"pageview\"", "not JSON");
    expect_bad("{\"type\":\"pageview\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":\"https://s/\"," TAIL "} x",
               "bytes after");
    expect_bad("{\"type\":\"pageview\",\"type\":\"click\"}", "duplicate");
    expect_bad("{\"type\":\"a\xff\"}", "invalid UTF-8");
    expect_bad("{\"type\":\"a\xc0\xaf\"}", "invalid UTF-8"); /* overlong '/' */
    expect_bad("{\"type\":\"a\\ud800\"}", "surrogate");
    expect_bad("{\"type\":\"a\\u0000\"}", "NUL");
    expect_bad("{\"type\":\"a\\x\"}", "bad escape");
    expect_bad("{\"type\":\"a\nb\"}", "control character");
    expect_bad("{\"type\":\"pageview\",\"props\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "deep");
    expect_bad("{\"type\":5}", "expected a string");
    expect_bad("{\"bot\":\"no\"}", "not a boolean");
    expect_bad("{\"results\":1.5}", "not an integer");
    expect_bad("{\"results\":99999999999999999999999999}", "not an integer");
    expect_bad("{\"type\":\"search\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":\"https://s/\","
               "\"query\":\"q\"," TAIL "}", "not a canonical search");
    expect_bad("{\"type\":\"pageview\"," ID ",\"site\":\"s\",\"url\":\"https://s/\"," TAIL "}", "visitor id");
    expect_bad("{\"type\":\"pageview\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":\"https://s/\","
               "\"ts\":\"soon\",\"received_at\":\"2026-11-24T10:00:01Z\",\"bot\":false}", "RFC 3339");
    expect_bad("{\"type\":\"pageview\",\"event_id\":\"0b8e5f2a-9c1d-4e7a-8f3b-2d6c1a9e4b7\","
               "\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":\"https://s/\"," TAIL "}", "not a UUID");
    expect_bad("{\"type\":\"pageview\",\"event_id\":\"0b8e5f2a-9c1d-4e7a-8f3b-2d6c1a9e4b7g\","
               "\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":\"https://s/\"," TAIL "}", "not a UUID");
    expect_bad("{\"type\":\"pageview\",\"event_id\":\"0b8e5f2a9c1d-4e7a-8f3b-2d6c1a9e4b70-\","
               "\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":\"https://s/\"," TAIL "}", "not a UUID");
    expect_bad("{\"type\":\"click\"," ID ",\"site\":\"s\\u001f\",\"anonymous_id\":\"v\",\"url\":\"https://s/\","
               "\"target\":\"b\"," TAIL "}", "control characters");
}

static void test_every_truncation_is_rejected(void **state) {
    (void)state;
    const char *full = "{\"type\":\"search\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":\"https://s/\","
                       "\"query\":\"caf\\u00e9\",\"results\":12,\"props\":{\"a\":[1,\"x\"]}," TAIL "}";
    size_t n = strlen(full);
    struct rollup_event ev;
    char err[256];
    for (size_t cut = 0; cut < n; cut++) {
        char *buf = malloc(cut ? cut : 1);
        memcpy(buf, full, cut);
        if (canonical_parse(buf, cut, NULL, 600000, &strings, &ev, err, sizeof(err)) == 0)
            fail_msg("accepted a prefix of %zu bytes", cut);
        free(buf);
    }
    assert_int_equal(parse(full, &ev, err), 0);
}

/* One rule for the aggregator and the exporter: an event counts only on
 * its own type's topic. */
static void test_event_on_another_types_topic_is_rejected(void **state) {
    (void)state;
    const char *pv = "{\"type\":\"pageview\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\","
                     "\"url\":\"https://s/a\"," TAIL "}";
    struct rollup_event ev;
    char err[256];
    assert_int_equal(canonical_parse(pv, strlen(pv), "pageview", 0, &strings, &ev, err, 256), 0);
    assert_int_equal(canonical_parse(pv, strlen(pv), "click", 0, &strings, &ev, err, 256), -1);
    assert_string_equal(err, "a pageview event on a click topic");
    assert_string_equal(canonical_topic_type("activity.click"), "click");
    /* a received_at past 9999 (after its offset) is not a time: the
     * exporter would have made dt=10000-01-01 of it */
    expect_bad("{\"type\":\"pageview\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\","
               "\"url\":\"https://s/a\",\"ts\":\"2026-11-24T10:00:00.000Z\","
               "\"received_at\":\"9999-12-31T23:59:59-00:01\",\"bot\":false}",
               "not RFC 3339");
    assert_string_equal(canonical_topic_type("a.b.search"), "search");
}

/* Where a visit came from and its UTM tags (urlparts.h). */
static void test_sources_and_utm_tags(void **state) {
    (void)state;
    struct arena a = {0};
    assert_string_equal(urlparts_source(&a, NULL, "https://shop/"), "");
    assert_string_equal(urlparts_source(&a, "", "https://shop/"), "");
    assert_string_equal(urlparts_source(&a, "https://www.Google.com/search?q=x", "https://shop/"),
                        "google.com");
    assert_string_equal(urlparts_source(&a, "https://news.ycombinator.com:443/item", "https://shop/"),
                        "news.ycombinator.com");
    assert_string_equal(urlparts_source(&a, "http://user@t.co/x", "https://shop/"), "t.co");
    assert_string_equal(urlparts_source(&a, "https://[2001:db8::1]:8080/", "https://shop/"),
                        "[2001:db8::1]");
    /* an internal link, whatever the case and the www., is no source */
    assert_string_equal(urlparts_source(&a, "https://WWW.Shop.test/a", "https://shop.test/b"), "");
    assert_string_equal(urlparts_source(&a, "android-app://com.x/", "https://shop/"), "com.x");
    assert_string_equal(urlparts_source(&a, "/relative", "https://shop/"), "");

    assert_string_equal(urlparts_param(&a, "https://s/p?utm_source=news&utm_medium=email",
                                       "utm_source"), "news");
    assert_string_equal(urlparts_param(&a, "https://s/p?a=1&utm_medium=email#x", "utm_medium"),
                        "email");
    assert_string_equal(urlparts_param(&a, "https://s/p?utm_campaign=Black+Friday%20%C3%A9",
                                       "utm_campaign"), "Black Friday \xc3\xa9");
    assert_string_equal(urlparts_param(&a, "https://s/p#utm_source=x", "utm_source"), "");
    assert_string_equal(urlparts_param(&a, "https://s/p?xutm_source=x", "utm_source"), "");
    assert_string_equal(urlparts_param(&a, "https://s/p?utm_source=", "utm_source"), "");
    /* not text once decoded: refused, not kept */
    assert_string_equal(urlparts_param(&a, "https://s/p?utm_source=%FF", "utm_source"), "");
    assert_string_equal(urlparts_param(&a, "https://s/p?utm_source=a%0Ab", "utm_source"), "");
    /* at most URLPARTS_MAX bytes, cut on a character boundary */
    {
        char url[2048] = "https://s/p?utm_source=";
        for (int i = 0; i < 300; i++)
            strcat(url, "%C3%A9");
        const char *v = urlparts_param(&a, url, "utm_source");
        assert_int_equal(strlen(v), URLPARTS_MAX);
    }
    {
        char url[2048] = "https://s/p?utm_source=x";
        for (int i = 0; i < 300; i++)
            strcat(url, "%C3%A9");
        assert_int_equal(strlen(urlparts_param(&a, url, "utm_source")), URLPARTS_MAX - 1);
    }
    assert_string_equal(urlparts_path(&a, "https://s"), "/");
    assert_string_equal(urlparts_path(&a, "https://s/a/b?c#d"), "/a/b");
    arena_free(&a);
}

/* Every event carries its page, source, tags and device for visits. */
static void test_visit_fields(void **state) {
    (void)state;
    struct rollup_event ev;
    char err[256];
    assert_int_equal(parse("{\"type\":\"click\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\","
                           "\"url\":\"https://s/landing?utm_source=nl&utm_campaign=c1\","
                           "\"referrer\":\"https://duckduckgo.com/\",\"target\":\"b\"," TAIL
                           ",\"device\":\"mobile\",\"browser\":\"Firefox\",\"os\":\"Android\"}",
                           &ev, err), 0);
    assert_string_equal(ev.page, "/landing");
    assert_string_equal(ev.dim, "b");
    assert_string_equal(ev.source, "duckduckgo.com");
    assert_string_equal(ev.utm_source, "nl");
    assert_string_equal(ev.utm_medium, "");
    assert_string_equal(ev.utm_campaign, "c1");
    assert_string_equal(ev.device, "mobile");
    assert_string_equal(ev.browser, "Firefox");
    assert_string_equal(ev.os, "Android");
    /* unknown names and absent fields (events from before) are "Other" */
    assert_int_equal(parse("{\"type\":\"pageview\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\","
                           "\"url\":\"https://s/\"," TAIL ",\"device\":\"<script>\"}", &ev, err), 0);
    assert_string_equal(ev.device, "Other");
    assert_string_equal(ev.browser, "Other");
    assert_string_equal(ev.source, "");
    expect_bad("{\"type\":\"click\"," ID ",\"site\":\"s\",\"anonymous_id\":\"v\","
               "\"target\":\"b\"," TAIL "}", "url missing");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pageview_with_props_and_unknown_fields),
        cmocka_unit_test(test_sources_and_utm_tags),
        cmocka_unit_test(test_visit_fields),
        cmocka_unit_test(test_event_id_case_does_not_matter),
        cmocka_unit_test(test_search_escapes_and_unicode),
        cmocka_unit_test(test_future_ts_is_clamped),
        cmocka_unit_test(test_hostile_text),
        cmocka_unit_test(test_every_truncation_is_rejected),
        cmocka_unit_test(test_event_on_another_types_topic_is_rejected),
    };
    return cmocka_run_group_tests_name("canonical", tests, NULL, free_strings);
}
