/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of schema/event: every rule, good and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "event.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct schema_limits lim;
static struct schema_context ctx;
static char errbuf[512];
static const char *reason;

static int setup(void **state) {
    (void)state;
    schema_limits_default(&lim);
    ctx.received_at_ms = 1795000000000; /* 2026-11-18T11:06:40Z */
    ctx.sent_at_ms = -1;
    ctx.user_agent = "Mozilla/5.0 test";
    ctx.ip = "127.0.0.0";
    ctx.bot = 0;
    errbuf[0] = '\0';
    reason = NULL;
    return 0;
}

/* Builds from JSON text; returns rc, leaves the event in *ev. */
static int build(const char *text, struct schema_event *ev) {
    char perr[256];
    json_t *in = schema_json_parse(text, strlen(text), perr, sizeof(perr));
    int rc;
    assert_non_null(in);
    rc = schema_event_build(&lim, in, &ctx, ev, errbuf, sizeof(errbuf), &reason);
    json_decref(in);
    return rc;
}

static void expect_error(const char *text, const char *code, const char *needle) {
    struct schema_event ev;
    assert_int_equal(build(text, &ev), -1);
    assert_string_equal(reason, code);
    if (!strstr(errbuf, needle))
        fail_msg("error '%s' does not mention '%s'", errbuf, needle);
    assert_null(ev.json);
}

static json_t *build_ok(const char *text) {
    struct schema_event ev;
    json_t *out;
    if (build(text, &ev))
        fail_msg("rejected: %s", errbuf);
    out = json_loads(ev.json, 0, NULL);
    assert_non_null(out);
    assert_string_equal(ev.key, json_string_value(json_object_get(out, "anonymous_id")
                                                      ? json_object_get(out, "anonymous_id")
                                                      : json_object_get(out, "user_id")));
    schema_event_clear(&ev);
    return out;
}

#define PV "\"type\":\"pageview\",\"site\":\"shop\",\"anonymous_id\":\"a1\",\"url\":\"https://shop.test/x\""

static void test_pageview_minimal_is_enriched(void **state) {
    (void)state;
    json_t *ev = build_ok("{" PV ",\"ts\":\"2026-11-18T10:00:00Z\"}");
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "pageview");
    assert_int_equal(strlen(json_string_value(json_object_get(ev, "event_id"))), 36);
    assert_string_equal(json_string_value(json_object_get(ev, "ts")), "2026-11-18T10:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(ev, "received_at")),
                        "2026-11-18T11:06:40.000Z");
    assert_string_equal(json_string_value(json_object_get(ev, "user_agent")), "Mozilla/5.0 test");
    assert_string_equal(json_string_value(json_object_get(ev, "ip")), "127.0.0.0");
    assert_true(json_is_false(json_object_get(ev, "bot")));
    json_decref(ev);
}

static void test_canonical_field_order_is_fixed(void **state) {
    (void)state;
    struct schema_event ev;
    assert_int_equal(build("{\"ts\":0,\"url\":\"http://a.b/\",\"anonymous_id\":\"v\","
                           "\"site\":\"s\",\"type\":\"pageview\","
                           "\"event_id\":\"0B8E5F2A-9C1D-4E7A-8F3B-2D6C1A9E4B70\"}",
                           &ev), 0);
    assert_string_equal(ev.json,
                        "{\"type\":\"pageview\",\"event_id\":\"0b8e5f2a-9c1d-4e7a-8f3b-"
                        "2d6c1a9e4b70\",\"site\":\"s\",\"anonymous_id\":\"v\",\"url\":"
                        "\"http://a.b/\",\"ts\":\"1970-01-01T00:00:00.000Z\",\"client_ts\":"
                        "\"1970-01-01T00:00:00.000Z\",\"received_at\":\"2026-11-18T11:06:"
                        "40.000Z\",\"user_agent\":\"Mozilla/5.0 test\",\"ip\":\"127.0.0.0\","
                        "\"bot\":false}");
    assert_string_equal(ev.event_id, "0b8e5f2a-9c1d-4e7a-8f3b-2d6c1a9e4b70");
    assert_string_equal(ev.key, "v");
    schema_event_clear(&ev);
}

static void test_generated_event_ids_differ(void **state) {
    (void)state;
    struct schema_event a, b;
    assert_int_equal(build("{" PV ",\"ts\":1}", &a), 0);
    assert_int_equal(build("{" PV ",\"ts\":1}", &b), 0);
    assert_string_not_equal(a.event_id, b.event_id);
    assert_int_equal(a.event_id[14], '4'); /* version 4 */
    schema_event_clear(&a);
    schema_event_clear(&b);
}

static void test_clock_skew_is_corrected_from_sent_at(void **state) {
    (void)state;
    /* client clock 1 hour behind: sent_at = received_at - 1h */
    ctx.sent_at_ms = ctx.received_at_ms - 3600000;
    json_t *ev = build_ok("{" PV ",\"ts\":\"2026-11-18T10:06:30Z\"}");
    assert_string_equal(json_string_value(json_object_get(ev, "ts")), "2026-11-18T11:06:30.000Z");
    assert_string_equal(json_string_value(json_object_get(ev, "client_ts")),
                        "2026-11-18T10:06:30.000Z");
    json_decref(ev);
}

static void test_skew_correction_stays_in_range(void **state) {
    (void)state;
    /* a client whose sent_at is far in the past pushes ts past year 9999 */
    ctx.sent_at_ms = 0;
    json_t *ev = build_ok("{" PV ",\"ts\":\"9999-12-31T23:00:00Z\"}");
    assert_string_equal(json_string_value(json_object_get(ev, "ts")), "9999-12-31T23:59:59.999Z");
    json_decref(ev);
    ctx.sent_at_ms = ctx.received_at_ms + 86400000; /* and into the past */
    ev = build_ok("{" PV ",\"ts\":0}");
    assert_string_equal(json_string_value(json_object_get(ev, "ts")), "1970-01-01T00:00:00.000Z");
    json_decref(ev);
}

static void test_epoch_millis_accepted(void **state) {
    (void)state;
    json_t *ev = build_ok("{" PV ",\"ts\":1795000000123}");
    assert_string_equal(json_string_value(json_object_get(ev, "ts")), "2026-11-18T11:06:40.123Z");
    json_decref(ev);
}

static void test_click_and_search(void **state) {
    (void)state;
    json_t *ev = build_ok("{\"type\":\"click\",\"site\":\"s\",\"user_id\":\"u7\",\"url\":\"https://x/\","
                          "\"ts\":1,\"target\":\"buy\",\"href\":\"/cart\",\"text\":\"Buy now\"}");
    assert_string_equal(json_string_value(json_object_get(ev, "target")), "buy");
    json_decref(ev);
    ev = build_ok("{\"type\":\"search\",\"site\":\"s\",\"anonymous_id\":\"a\",\"url\":\"https://x/\","
                  "\"ts\":1,\"query\":\"red shoes\",\"results\":0}");
    assert_true(json_is_integer(json_object_get(ev, "results")));
    assert_int_equal(json_integer_value(json_object_get(ev, "results")), 0);
    json_decref(ev);
}

static void test_unicode_kept_intact(void **state) {
    (void)state;
    json_t *ev = build_ok("{\"type\":\"search\",\"site\":\"s\",\"anonymous_id\":\"\\u00e9\\u6f22\",\"url\":"
                          "\"https://x/\",\"ts\":1,\"query\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"results\":3}");
    assert_string_equal(json_string_value(json_object_get(ev, "query")), "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_string_equal(json_string_value(json_object_get(ev, "anonymous_id")), "\xc3\xa9\xe6\xbc\xa2");
    json_decref(ev);
}

static void test_output_escapes_quotes_and_backslashes(void **state) {
    (void)state;
    json_t *ev = build_ok("{" PV ",\"ts\":1,\"title\":\"say \\\"hi\\\" \\\\ \\/ </script>\","
                          "\"props\":{\"k\\\"ey\":\"v\\\\al\",\"big\":1e300,\"neg\":-7}}");
    assert_string_equal(json_string_value(json_object_get(ev, "title")), "say \"hi\" \\ / </script>");
    json_t *p = json_object_get(ev, "props");
    assert_string_equal(json_string_value(json_object_get(p, "k\"ey")), "v\\al");
    assert_true(json_real_value(json_object_get(p, "big")) == 1e300);
    assert_int_equal(json_integer_value(json_object_get(p, "neg")), -7);
    json_decref(ev);
}

static void test_props_flat_values(void **state) {
    (void)state;
    json_t *ev = build_ok("{" PV ",\"ts\":1,\"props\":{\"plan\":\"pro\",\"n\":3,\"ratio\":0.5,\"ok\":true}}");
    json_t *p = json_object_get(ev, "props");
    assert_true(json_is_integer(json_object_get(p, "n")));
    assert_true(json_is_real(json_object_get(p, "ratio")));
    assert_true(json_is_true(json_object_get(p, "ok")));
    json_decref(ev);
}

static void test_missing_fields(void **state) {
    (void)state;
    expect_error("{\"site\":\"s\"}", SCHEMA_ERR_MISSING, "'type'");
    expect_error("{\"type\":\"pageview\",\"anonymous_id\":\"a\",\"url\":\"https://x/\",\"ts\":1}",
                 SCHEMA_ERR_MISSING, "'site'");
    expect_error("{\"type\":\"pageview\",\"site\":\"s\",\"url\":\"https://x/\",\"ts\":1}",
                 SCHEMA_ERR_MISSING, "'anonymous_id'");
    expect_error("{" PV "}", SCHEMA_ERR_MISSING, "'ts'");
    expect_error("{\"type\":\"click\",\"site\":\"s\",\"anonymous_id\":\"a\",\"url\":\"https://x/\",\"ts\":1}",
                 SCHEMA_ERR_MISSING, "'target'");
    expect_error("{\"type\":\"search\",\"site\":\"s\",\"anonymous_id\":\"a\",\"url\":\"https://x/\",\"ts\":1,"
                 "\"query\":\"q\"}", SCHEMA_ERR_MISSING, "'results'");
}

static void test_wrong_types(void **state) {
    (void)state;
    expect_error("[1]", SCHEMA_ERR_NOT_OBJECT, "object");
    expect_error("{\"type\":3}", SCHEMA_ERR_TYPE, "'type'");
    expect_error("{\"type\":\"pageview\",\"site\":5,\"anonymous_id\":\"a\",\"url\":\"https://x/\",\"ts\":1}",
                 SCHEMA_ERR_TYPE, "'site'");
    expect_error("{" PV ",\"ts\":true}", SCHEMA_ERR_TYPE, "'ts'");
    expect_error("{" PV ",\"ts\":1,\"title\":[\"x\"]}", SCHEMA_ERR_TYPE, "'title'");
    expect_error("{\"type\":\"search\",\"site\":\"s\",\"anonymous_id\":\"a\",\"url\":\"https://x/\",\"ts\":1,"
                 "\"query\":\"q\",\"results\":\"3\"}", SCHEMA_ERR_TYPE, "'results'");
    expect_error("{" PV ",\"ts\":1,\"event_id\":42}", SCHEMA_ERR_TYPE, "'event_id'");
}

static void test_unknown_type_and_fields(void **state) {
    (void)state;
    expect_error("{\"type\":\"purchase\"}", SCHEMA_ERR_UNKNOWN_TYPE, "purchase");
    expect_error("{" PV ",\"ts\":1,\"colour\":\"red\"}", SCHEMA_ERR_UNKNOWN_FIELD, "'colour'");
    /* a search field on a pageview is unknown there */
    expect_error("{" PV ",\"ts\":1,\"query\":\"q\"}", SCHEMA_ERR_UNKNOWN_FIELD, "'query'");
    /* enrichment fields cannot be forged by the client */
    expect_error("{" PV ",\"ts\":1,\"received_at\":1}", SCHEMA_ERR_UNKNOWN_FIELD, "'received_at'");
    expect_error("{" PV ",\"ts\":1,\"bot\":false}", SCHEMA_ERR_UNKNOWN_FIELD, "'bot'");
}

static void test_bad_numbers(void **state) {
    (void)state;
    const char *srch = "{\"type\":\"search\",\"site\":\"s\",\"anonymous_id\":\"a\",\"url\":\"https://x/\","
                       "\"ts\":1,\"query\":\"q\",\"results\":";
    char buf[512];
    expect_error("{" PV ",\"ts\":-5}", SCHEMA_ERR_VALUE, "'ts'");
    expect_error("{" PV ",\"ts\":1.5}", SCHEMA_ERR_VALUE, "'ts'");
    expect_error("{" PV ",\"ts\":99999999999999999999999999}", SCHEMA_ERR_VALUE, "'ts'");
    expect_error("{" PV ",\"ts\":1e300}", SCHEMA_ERR_VALUE, "'ts'");
    snprintf(buf, sizeof(buf), "%s-1}", srch);
    expect_error(buf, SCHEMA_ERR_VALUE, "'results'");
    snprintf(buf, sizeof(buf), "%s2.5}", srch);
    expect_error(buf, SCHEMA_ERR_VALUE, "'results'");
    snprintf(buf, sizeof(buf), "%s18446744073709551616}", srch);
    expect_error(buf, SCHEMA_ERR_VALUE, "'results'");
}

static void test_bad_values(void **state) {
    (void)state;
    expect_error("{" PV ",\"ts\":\"yesterday\"}", SCHEMA_ERR_VALUE, "RFC 3339");
    expect_error("{" PV ",\"ts\":\"2026-02-30T00:00:00Z\"}", SCHEMA_ERR_VALUE, "'ts'");
    expect_error("{\"type\":\"pageview\",\"site\":\"s\",\"anonymous_id\":\"a\",\"url\":\"javascript:alert(1)\","
                 "\"ts\":1}", SCHEMA_ERR_VALUE, "'url'");
    expect_error("{\"type\":\"pageview\",\"site\":\"a b\",\"anonymous_id\":\"a\",\"url\":\"https://x/\",\"ts\":1}",
                 SCHEMA_ERR_VALUE, "'site'");
    expect_error("{\"type\":\"pageview\",\"site\":\"s\",\"anonymous_id\":\"\",\"url\":\"https://x/\",\"ts\":1}",
                 SCHEMA_ERR_VALUE, "'anonymous_id'");
    expect_error("{" PV ",\"ts\":1,\"event_id\":\"not-a-uuid\"}", SCHEMA_ERR_VALUE, "UUID");
}

static void test_control_characters_rejected(void **state) {
    (void)state;
    expect_error("{" PV ",\"ts\":1,\"title\":\"a\\nb\"}", SCHEMA_ERR_VALUE, "control");
    expect_error("{" PV ",\"ts\":1,\"title\":\"a\\u001bb\"}", SCHEMA_ERR_VALUE, "control");
    expect_error("{" PV ",\"ts\":1,\"props\":{\"k\":\"\\t\"}}", SCHEMA_ERR_VALUE, "props.k");
}

static void test_long_strings_rejected(void **state) {
    (void)state;
    size_t n = lim.max_text + 1;
    char *big = malloc(n + 128);
    memcpy(big, "{" PV ",\"ts\":1,\"title\":\"", strlen("{" PV ",\"ts\":1,\"title\":\""));
    size_t off = strlen("{" PV ",\"ts\":1,\"title\":\"");
    memset(big + off, 'x', n);
    strcpy(big + off + n, "\"}");
    expect_error(big, SCHEMA_ERR_LENGTH, "'title' is 513 bytes long; the limit is 512");
    big[off + n - 1] = '"';
    strcpy(big + off + n, "}");
    json_decref(build_ok(big)); /* exactly at the limit is fine */
    free(big);
}

static void test_event_size_limit(void **state) {
    (void)state;
    lim.max_event_bytes = 300;
    expect_error("{" PV ",\"ts\":1,\"title\":\"" "0123456789012345678901234567890123456789"
                 "0123456789012345678901234567890123456789" "\"}", SCHEMA_ERR_SIZE, "limit is 300");
}

static void test_props_rules(void **state) {
    (void)state;
    expect_error("{" PV ",\"ts\":1,\"props\":[1]}", SCHEMA_ERR_TYPE, "'props'");
    expect_error("{" PV ",\"ts\":1,\"props\":{\"a\":{\"b\":1}}}", SCHEMA_ERR_TYPE, "props.a");
    expect_error("{" PV ",\"ts\":1,\"props\":{\"a\":[1]}}", SCHEMA_ERR_TYPE, "props.a");
    expect_error("{" PV ",\"ts\":1,\"props\":{\"a\":null}}", SCHEMA_ERR_TYPE, "props.a");
    expect_error("{" PV ",\"ts\":1,\"props\":{\"\":1}}", SCHEMA_ERR_VALUE, "props key");
    lim.max_props = 2;
    expect_error("{" PV ",\"ts\":1,\"props\":{\"a\":1,\"b\":2,\"c\":3}}", SCHEMA_ERR_LENGTH, "3 keys");
}

static void test_parse_rejects_broken_documents(void **state) {
    (void)state;
    char err[256];
    assert_null(schema_json_parse("{\"a\":1,\"a\":2}", 13, err, sizeof(err)));
    assert_non_null(strstr(err, "duplicate"));
    assert_null(schema_json_parse("{\"type\":", 8, err, sizeof(err)));
    assert_non_null(strstr(err, "line 1"));
    assert_null(schema_json_parse("\"\xff\xfe\"", 4, err, sizeof(err)));
    assert_null(schema_json_parse("\"a\\u0000b\"", 10, err, sizeof(err)));
    assert_null(schema_json_parse("", 0, err, sizeof(err)));
}

static void test_batch_shapes(void **state) {
    (void)state;
    char err[256];
    json_t *root, *events;
    int64_t sent;

    root = json_loads("{\"type\":\"pageview\"}", 0, NULL);
    assert_int_equal(schema_batch_unpack(root, &events, &sent, err, sizeof(err)), 0);
    assert_int_equal(json_array_size(events), 1);
    assert_int_equal(sent, -1);
    json_decref(events);
    json_decref(root);

    root = json_loads("[{},{}]", 0, NULL);
    assert_int_equal(schema_batch_unpack(root, &events, &sent, err, sizeof(err)), 0);
    assert_int_equal(json_array_size(events), 2);
    json_decref(events);
    json_decref(root);

    root = schema_json_parse("{\"sent_at\":1000,\"events\":[{}]}", 30, err, sizeof(err));
    assert_int_equal(schema_batch_unpack(root, &events, &sent, err, sizeof(err)), 0);
    assert_int_equal(sent, 1000);
    json_decref(events);
    json_decref(root);

    root = json_loads("{\"sent_at\":\"soon\",\"events\":[]}", 0, NULL);
    assert_int_equal(schema_batch_unpack(root, &events, &sent, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "sent_at"));
    json_decref(root);

    root = json_loads("{\"events\":{}}", 0, NULL);
    assert_int_equal(schema_batch_unpack(root, &events, &sent, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'events' must be an array"));
    json_decref(root);

    root = json_loads("{\"events\":[],\"extra\":1}", 0, NULL);
    assert_int_equal(schema_batch_unpack(root, &events, &sent, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'extra'"));
    json_decref(root);

    root = json_loads("42", JSON_DECODE_ANY, NULL);
    assert_int_equal(schema_batch_unpack(root, &events, &sent, err, sizeof(err)), -1);
    json_decref(root);
}

/* Error messages quote client text: cut on a character boundary, invalid
 * bytes never reach them, and the message is always valid UTF-8 (a JSON
 * builder given it must not fail). */
static void expect_utf8_error(const char *text, const char *needle) {
    struct schema_event ev;
    json_t *s;
    assert_int_equal(build(text, &ev), -1);
    if (!strstr(errbuf, needle))
        fail_msg("error '%s' does not mention '%s'", errbuf, needle);
    s = json_string(errbuf);
    if (!s)
        fail_msg("error is not valid UTF-8: %s", errbuf);
    json_decref(s);
}

static void test_quoted_names_are_cut_on_character_boundaries(void **state) {
    (void)state;
    /* 63 'a' then a two-byte character: a 64-byte cut splits it */
    char name[80], text[400];
    memset(name, 'a', 63);
    strcpy(name + 63, "\xc3\xa9");
    snprintf(text, sizeof(text), "{\"type\":\"%s\"}", name);
    expect_utf8_error(text, "aaaa");
    snprintf(text, sizeof(text), "{" PV ",\"ts\":1,\"%s\":1}", name);
    expect_utf8_error(text, "is not part of a pageview event");
    snprintf(text, sizeof(text), "{" PV ",\"ts\":1,\"props\":{\"%s\":[]}}", name + 1);
    expect_utf8_error(text, "must be a string, number or boolean");
    snprintf(text, sizeof(text), "{" PV ",\"ts\":1,\"props\":{\"%s%s\":1}}", name, name);
    expect_utf8_error(text, "props key");
}

static void test_c1_controls_rejected(void **state) {
    (void)state;
    expect_error("{" PV ",\"ts\":1,\"title\":\"a\\u0085b\"}", SCHEMA_ERR_VALUE, "control");
    expect_error("{" PV ",\"ts\":1,\"title\":\"a\\u009fb\"}", SCHEMA_ERR_VALUE, "control");
    json_decref(build_ok("{" PV ",\"ts\":1,\"title\":\"a\\u00a0b\\u00ffc\"}"));
}

static void test_times_past_9999_are_invalid_values(void **state) {
    (void)state;
    struct schema_event ev;
    expect_error("{" PV ",\"ts\":\"9999-12-31T23:59:59-00:01\"}", SCHEMA_ERR_VALUE, "'ts'");
    /* the last representable instant is fine, and so is skew past it
     * (ts is clamped, client_ts is as sent) */
    ctx.sent_at_ms = ctx.received_at_ms - 3600000;
    assert_int_equal(build("{" PV ",\"ts\":\"9999-12-31T23:59:59.999Z\"}", &ev), 0);
    assert_non_null(strstr(ev.json, "\"client_ts\":\"9999-12-31T23:59:59.999Z\""));
    schema_event_clear(&ev);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pageview_minimal_is_enriched, setup),
        cmocka_unit_test_setup(test_canonical_field_order_is_fixed, setup),
        cmocka_unit_test_setup(test_generated_event_ids_differ, setup),
        cmocka_unit_test_setup(test_clock_skew_is_corrected_from_sent_at, setup),
        cmocka_unit_test_setup(test_skew_correction_stays_in_range, setup),
        cmocka_unit_test_setup(test_epoch_millis_accepted, setup),
        cmocka_unit_test_setup(test_click_and_search, setup),
        cmocka_unit_test_setup(test_unicode_kept_intact, setup),
        cmocka_unit_test_setup(test_output_escapes_quotes_and_backslashes, setup),
        cmocka_unit_test_setup(test_props_flat_values, setup),
        cmocka_unit_test_setup(test_missing_fields, setup),
        cmocka_unit_test_setup(test_wrong_types, setup),
        cmocka_unit_test_setup(test_unknown_type_and_fields, setup),
        cmocka_unit_test_setup(test_bad_numbers, setup),
        cmocka_unit_test_setup(test_bad_values, setup),
        cmocka_unit_test_setup(test_control_characters_rejected, setup),
        cmocka_unit_test_setup(test_long_strings_rejected, setup),
        cmocka_unit_test_setup(test_event_size_limit, setup),
        cmocka_unit_test_setup(test_props_rules, setup),
        cmocka_unit_test_setup(test_parse_rejects_broken_documents, setup),
        cmocka_unit_test_setup(test_batch_shapes, setup),
        cmocka_unit_test_setup(test_quoted_names_are_cut_on_character_boundaries, setup),
        cmocka_unit_test_setup(test_c1_controls_rejected, setup),
        cmocka_unit_test_setup(test_times_past_9999_are_invalid_values, setup),
    };
    return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
