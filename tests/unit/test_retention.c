/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of aggregator/retention on a real SQLite file written by the
 * store: what each window deletes, that nothing is written back before
 * kept_from, bounded transactions, and that the file shrinks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "canonical.h"
#include "retention.h"
#include "store.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmp_db.h"

#define NOW 1764590400LL /* 2025-12-01T12:00:00Z */
#define H 3600LL
#define D 86400LL

static struct arena strings;
static int64_t next_offset;

static int free_strings(void **state) {
    (void)state;
    arena_free(&strings);
    return 0;
}

/* Counts n pageviews of `path` by n visitors, at `at` (Unix seconds). */
static void count(struct store *s, int64_t at, const char *path_, int n) {
    struct rollup *r = rollup_new();
    struct rollup_event *ev = calloc((size_t)n, sizeof(*ev));
    struct consumer_partition p = {"activity.pageview", 0, next_offset ? next_offset : -1,
                                   next_offset + n};
    char json[512], ts[40], err[256];
    size_t counted;
    timefmt_format(at * 1000, ts);
    for (int i = 0; i < n; i++) {
        snprintf(json, sizeof(json),
                 "{\"type\":\"pageview\",\"event_id\":\"00000000-0000-4000-8000-%012llx\","
                 "\"site\":\"s\",\"anonymous_id\":\"v%d\",\"url\":\"https://s%s\",\"ts\":\"%s\","
                 "\"received_at\":\"%s\",\"bot\":false}",
                 (unsigned long long)(next_offset + i), i, path_, ts, ts);
        assert_int_equal(canonical_parse(json, strlen(json), NULL, 600000, &strings, &ev[i], err,
                                         sizeof(err)), 0);
        rollup_add(r, &ev[i]);
    }
    assert_int_equal(store_flush(s, &p, 1, ev, (size_t)n, r, 3600000, &counted, err, sizeof(err)),
                     STORE_OK);
    assert_int_equal(counted, (size_t)n);
    next_offset += n;
    rollup_free(r);
    free(ev);
}

static long long rows(const char *g, int64_t bucket, int dims) {
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM counters WHERE type = 'pageview' AND "
             "granularity = '%s' AND bucket = %lld AND (dim <> '') = %d", g, (long long)bucket, dims);
    return query(sql);
}

static long long sketches(const char *g, int64_t bucket) {
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM sketches WHERE granularity = '%s' AND "
             "bucket = %lld", g, (long long)bucket);
    return query(sql);
}

static const struct retention_keep defaults = {{{48 * H, 25 * H}, {400 * D, 400 * D}, {0, 0}},
                                               H * 1000};

static int setup_test(void **state) {
    next_offset = 0;
    return setup(state);
}

static void test_each_window_deletes_its_own(void **state) {
    (void)state;
    char err[256];
    struct store *s;
    struct retention *r;
    const int64_t old = NOW - 3 * D, day_ago = NOW - 30 * H, recent = NOW - 2 * H;
    assert_non_null(s = store_open(path, err, sizeof(err)));
    count(s, old, "/old", 2);
    count(s, day_ago, "/day-ago", 3);
    count(s, recent, "/recent", 4);
    assert_non_null(r = retention_open(path, &defaults, err, sizeof(err)));
    assert_int_equal(retention_run(r, NOW), 0);

    /* minutes: 3 days ago all gone; 30 h ago the totals stay, the paths go */
    assert_int_equal(rows("minute", old, 0) + rows("minute", old, 1) + sketches("minute", old), 0);
    assert_int_equal(rows("minute", day_ago, 0), 1);
    assert_int_equal(sketches("minute", day_ago), 1);
    assert_int_equal(rows("minute", day_ago, 1), 0);
    assert_int_equal(rows("minute", recent, 1), 1);
    /* hours and days all stay */
    assert_int_equal(rows("hour", old, 1) + rows("hour", day_ago, 1) + rows("hour", recent, 1), 3);
    assert_int_equal(query("SELECT sum(n) FROM counts WHERE granularity = 'day' AND dim = ''"), 9);
    assert_int_equal(query("SELECT count(*) FROM sketches WHERE granularity <> 'minute'"), 6);
    /* what was deleted is on record, at bucket starts */
    assert_int_equal(query("SELECT kept_from FROM retention WHERE granularity = 'minute' AND "
                           "scope = 'totals'"), NOW - 48 * H);
    assert_int_equal(query("SELECT kept_from FROM retention WHERE granularity = 'minute' AND "
                           "scope = 'dims'"), NOW - 25 * H);
    assert_int_equal(query("SELECT kept_from FROM retention WHERE granularity = 'hour'"),
                     NOW - 400 * D);
    assert_int_equal(query("SELECT count(*) FROM retention WHERE granularity = 'day'"), 0);

    /* a late event in a pruned minute counts in its hour and day only */
    count(s, old + 5, "/old", 1);
    assert_int_equal(rows("minute", old, 0) + rows("minute", old, 1) + sketches("minute", old), 0);
    assert_int_equal(query("SELECT n FROM counts WHERE granularity = 'hour' AND dim = '' "
                           "AND bucket = 1764331200"), 3); /* the hour 3 days ago: 2 + 1 */
    /* an earlier clock (or shorter windows elsewhere) never moves kept_from back */
    assert_int_equal(retention_run(r, NOW - 10 * D), 0);
    assert_int_equal(query("SELECT kept_from FROM retention WHERE granularity = 'minute' AND "
                           "scope = 'totals'"), NOW - 48 * H);
    retention_close(r);
    store_close(s);
}

/* Far more rows than one transaction deletes: all go, the file gives the
 * space back, and the metrics say so. */
static void test_large_prune_is_chunked_and_shrinks_the_file(void **state) {
    (void)state;
    enum { PATHS = 20 * RETENTION_ROWS_PER_TXN + 7 };
    char err[256], p[64];
    struct store *s;
    struct retention *r;
    long long pages_full, pages_after;
    char *text, want[128];
    size_t len;
    FILE *f;
    assert_non_null(s = store_open(path, err, sizeof(err)));
    for (int i = 0; i < PATHS; i++) { /* 1 s apart: 2 minutes, plus a bucket now */
        snprintf(p, sizeof(p), "/page-%d-with-a-longer-name", i);
        count(s, NOW - 3 * D + i % 120, p, 1);
    }
    count(s, NOW, "/now", 1);
    pages_full = query("PRAGMA page_count");
    assert_non_null(r = retention_open(path, &defaults, err, sizeof(err)));
    assert_int_equal(retention_run(r, NOW), 0);
    assert_int_equal(query("SELECT count(*) FROM counters WHERE granularity = 'minute' AND "
                           "bucket < 1764500000"), 0);
    assert_int_equal(query("SELECT count(*) FROM counters WHERE type = 'pageview' AND "
                           "granularity = 'hour' AND dim <> ''"), PATHS + 1);
    pages_after = query("PRAGMA page_count");
    assert_true(pages_after < pages_full - 50); /* ~2 x 10,000 rows of ~50 bytes freed */
    assert_int_equal(query("PRAGMA freelist_count"), 0);

    f = open_memstream(&text, &len);
    retention_metrics(f);
    fclose(f);
    assert_non_null(strstr(text, "activity_aggregator_pruned_rows_total{granularity=\"minute\"} "));
    /* every type's rows: the pages' and the visits' (entry, exit, ...) */
    snprintf(want, sizeof(want), "activity_aggregator_rows{granularity=\"hour\",scope=\"dims\"} %lld\n",
             query("SELECT count(*) FROM counters WHERE granularity = 'hour' AND dim <> ''"));
    assert_non_null(strstr(text, want));
    /* one visitor (v0) made them all: one visit followed */
    assert_non_null(strstr(text, "activity_aggregator_visit_rows 1\n"));
    assert_non_null(strstr(text, "activity_aggregator_sketches{granularity=\"minute\"} 1\n"));
    assert_non_null(strstr(text, "activity_aggregator_oldest_bucket_seconds{granularity=\"minute\"}"
                                 " 1764590400\n"));
    assert_non_null(strstr(text, "activity_aggregator_db_bytes "));
    free(text);
    retention_close(r);
    store_close(s);
}

/* Each value's visitors live in its hour and day rows, so they go with
 * them (here hours' values after 2 days); a late visitor of a pruned hour
 * does not bring its row back. */
static void test_values_visitors_go_with_their_rows(void **state) {
    (void)state;
    const struct retention_keep keep = {{{48 * H, 25 * H}, {400 * D, 2 * D}, {0, 0}}, H * 1000};
    const char *old_hour_values = "SELECT count(*) FROM counters WHERE granularity = 'hour' AND "
                                  "bucket = 1764331200 AND dim <> ''";
    char err[256];
    struct store *s;
    struct retention *r;
    const int64_t old = NOW - 3 * D, recent = NOW - 2 * H;
    assert_non_null(s = store_open(path, err, sizeof(err)));
    count(s, old, "/old", 2);
    count(s, recent, "/recent", 4);
    /* the page's and its visits' values (entry, source, device...) */
    assert_true(query("SELECT count(*) FROM counters WHERE granularity = 'hour' AND "
                      "bucket = 1764331200 AND visitors NOT NULL") >= 2);
    assert_non_null(r = retention_open(path, &keep, err, sizeof(err)));
    assert_int_equal(retention_run(r, NOW), 0);
    assert_int_equal(query(old_hour_values), 0);
    assert_int_equal(query("SELECT count(*) FROM counters WHERE granularity = 'hour' AND "
                           "type = 'pageview' AND dim = '/recent' AND visitors NOT NULL"), 1);
    assert_int_equal(query("SELECT count(*) FROM counters WHERE granularity = 'day' AND "
                           "type = 'pageview' AND dim <> '' AND visitors NOT NULL"), 2);
    count(s, old + 5, "/old", 1);
    assert_int_equal(query(old_hour_values), 0);
    assert_int_equal(query("SELECT n FROM counters WHERE granularity = 'day' AND "
                           "type = 'pageview' AND dim = '/old' AND visitors NOT NULL"), 3);
    retention_close(r);
    store_close(s);
}

/* Visit state goes once its latest event was received an hour (here)
 * before the latest counted: the stream's time, not the clock's, so hours
 * of backlog counted now keep the visits they are in. */
static void test_finished_visits_go_by_the_streams_time(void **state) {
    (void)state;
    char err[256];
    struct store *s;
    struct retention *r;
    const int64_t t1 = NOW - 10 * H;
    assert_non_null(s = store_open(path, err, sizeof(err)));
    assert_non_null(r = retention_open(path, &defaults, err, sizeof(err)));
    count(s, t1, "/a", 1207); /* visitors v0..v1206: three chunks to prune */
    assert_int_equal(retention_run(r, NOW), 0);
    assert_int_equal(query("SELECT count(*) FROM visits"), 1207); /* 10 h old by the clock: kept */
    count(s, t1 + H / 2, "/b", 2); /* v0, v1 half an hour later */
    assert_int_equal(retention_run(r, NOW), 0);
    assert_int_equal(query("SELECT count(*) FROM visits"), 1207);
    count(s, t1 + 2 * H, "/c", 1); /* v0: now v1 is 1.5 h behind, the rest 2 h */
    assert_int_equal(retention_run(r, NOW), 0);
    assert_int_equal(query("SELECT count(*) FROM visits"), 1);
    /* the counters are not touched */
    assert_int_equal(query("SELECT sum(n) FROM visit_counts WHERE granularity = 'day' AND "
                           "type = 'visit'"), 1207 + 1);
    retention_close(r);
    store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_window_deletes_its_own, setup_test, teardown),
        cmocka_unit_test_setup_teardown(test_finished_visits_go_by_the_streams_time, setup_test,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_values_visitors_go_with_their_rows, setup_test,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_prune_is_chunked_and_shrinks_the_file,
                                        setup_test, teardown),
    };
    return cmocka_run_group_tests_name("retention", tests, NULL, free_strings);
}
