/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of aggregator/visits through the store, on a real SQLite file:
 * what a visit counts, the timeout, events out of order and across
 * batches, duplicates, and a flush that does not commit (a kill -9 before
 * COMMIT leaves the same state: the batch is applied once, when it is read
 * again). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "canonical.h"
#include "store.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmp_db.h"

#define T0 1795946400000LL /* 2026-11-24T10:00:00Z */
#define MIN 60000LL

static struct arena strings;
static int64_t next_offset; /* the partition's, as the store has it */
static unsigned next_id;
static int64_t received_ms; /* when set, every event's received_at */

static int reset(void **state) {
    next_offset = -1;
    next_id = 0;
    received_ms = 0;
    return setup(state);
}

static int free_strings(void **state) {
    (void)state;
    arena_free(&strings);
    return 0;
}

/* An event of visitor at T0 + ms; page is its url's path. */
static struct rollup_event ev(const char *type, const char *visitor, int64_t ms, const char *page,
                              const char *extra) {
    struct rollup_event e;
    char json[1024], ts[TIMEFMT_LEN], received[TIMEFMT_LEN], err[128];
    timefmt_format(T0 + ms, ts);
    timefmt_format(received_ms ? received_ms : T0 + ms, received);
    snprintf(json, sizeof(json),
             "{\"type\":\"%s\",\"event_id\":\"00000000-0000-4000-8000-%012u\",\"site\":\"s\","
             "\"anonymous_id\":\"%s\",\"url\":\"https://s.test%s\",\"ts\":\"%s\","
             "\"received_at\":\"%s\",%s%s\"bot\":false}",
             type, ++next_id, visitor, page, ts, received,
             !strcmp(type, "click") ? "\"target\":\"b\"," : !strcmp(type, "search")
                                                          ? "\"query\":\"q\",\"results\":1,"
                                                          : "",
             extra ? extra : "");
    assert_int_equal(canonical_parse(json, strlen(json), NULL, 600000, &strings, &e, err,
                                     sizeof(err)), 0);
    return e;
}

/* Flushes events as one batch of partition 0, from the stored offset on
 * (start_override >= -1: from that offset instead, a stale owner). */
static int flush_from(struct store *s, struct rollup_event *e, size_t n, int64_t start) {
    struct consumer_partition p = {"activity.pageview", 0, start, 0};
    struct rollup *r = rollup_new();
    char err[256];
    size_t counted;
    int rc;
    p.next = (start < 0 ? 0 : start) + (int64_t)n;
    for (size_t i = 0; i < n; i++)
        rollup_add(r, &e[i]);
    rc = store_flush(s, &p, 1, e, n, r, 3600000, &counted, err, sizeof(err));
    rollup_free(r);
    if (rc == STORE_OK)
        next_offset = p.next;
    return rc;
}

static void flush(struct store *s, struct rollup_event *e, size_t n) {
    assert_int_equal(flush_from(s, e, n, next_offset), STORE_OK);
}

/* A visit counter over the day (the minutes' and hours' sum to it). */
static long long vc(const char *type, const char *dim) {
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(sum(n), 0) FROM visit_counts WHERE granularity = 'day' AND "
             "type = '%s' AND dim = '%s'", type, dim);
    return query(sql);
}

static struct store *open_store(void) {
    char err[256];
    struct store *s = store_open(path, err, sizeof(err));
    assert_non_null(s);
    return s;
}

static void test_one_visit_counts_everything_once(void **state) {
    (void)state;
    struct store *s = open_store();
    struct rollup_event e[] = {
        ev("pageview", "a", 0, "/home?utm_source=nl&utm_medium=email&utm_campaign=winter",
           "\"referrer\":\"https://www.google.com/\",\"device\":\"mobile\","
           "\"browser\":\"Safari\",\"os\":\"iOS\","),
        ev("pageview", "a", 60000, "/shoes", NULL),
        ev("click", "a", 90000, "/shoes", NULL),
        ev("pageview", "b", 5000, "/shoes", "\"referrer\":\"https://s.test/elsewhere\","),
    };
    flush(s, e, 4);
    assert_int_equal(vc("visit", ""), 2);
    assert_int_equal(vc("bounce", ""), 1); /* b: one pageview, nothing else */
    assert_int_equal(vc("visit_ms", ""), 90000);
    assert_int_equal(vc("visit_pageviews", ""), 3);
    assert_int_equal(vc("entry", "/home"), 1);
    assert_int_equal(vc("entry", "/shoes"), 1);
    assert_int_equal(vc("exit", "/home"), 0);
    assert_int_equal(vc("exit", "/shoes"), 2);
    assert_int_equal(vc("source", "google.com"), 1);
    assert_int_equal(vc("source", "(direct)"), 1); /* b came from the site itself */
    assert_int_equal(vc("utm_source", "nl"), 1);
    assert_int_equal(vc("utm_medium", "email"), 1);
    assert_int_equal(vc("utm_campaign", "winter"), 1);
    assert_int_equal(vc("device", "mobile"), 1);
    assert_int_equal(vc("browser", "Safari"), 1);
    assert_int_equal(vc("os", "iOS"), 1);
    assert_int_equal(vc("device", "Other"), 1); /* b's event named none */
    /* all of a visit sits in the minute it started: a's at 10:00 */
    assert_int_equal(query("SELECT n FROM visit_counts WHERE granularity='minute' AND "
                           "type='visit_ms' AND bucket=1795946400"), 90000);
    assert_int_equal(query("SELECT count(*) FROM visits"), 2);
    /* the values are kept by the hour and day, not the minute */
    assert_int_equal(query("SELECT count(*) FROM visit_counts WHERE granularity='minute' AND "
                           "dim <> ''"), 0);
    assert_int_equal(query("SELECT n FROM visit_counts WHERE granularity='hour' AND "
                           "type='entry' AND dim='/home'"), 1);
    store_close(s);
}

static void test_timeout_starts_a_new_visit(void **state) {
    (void)state;
    struct store *s = open_store();
    struct rollup_event e[] = {
        ev("pageview", "a", 0, "/1", NULL),
        ev("pageview", "a", 30 * MIN, "/2", NULL),     /* exactly the timeout: same visit */
        ev("pageview", "a", 60 * MIN + 1, "/3", NULL), /* over it: a new one */
    };
    flush(s, e, 3);
    assert_int_equal(vc("visit", ""), 2);
    assert_int_equal(vc("bounce", ""), 1);
    assert_int_equal(vc("visit_ms", ""), 30 * MIN);
    assert_int_equal(vc("entry", "/3"), 1);
    assert_int_equal(query("SELECT count(*) FROM visit_counts WHERE granularity='hour' AND "
                           "type='visit' AND n=1"), 2); /* 10:00 and 11:00 */
    store_close(s);
}

/* A visitor's click can reach the aggregator after a later pageview: its
 * topic is another one. */
static void test_events_out_of_order_across_batches(void **state) {
    (void)state;
    struct store *s = open_store();
    struct rollup_event later = ev("pageview", "a", 2 * MIN, "/2", NULL);
    struct rollup_event first[] = {ev("pageview", "a", 0, "/1", NULL)};
    struct rollup_event click = ev("click", "a", 1 * MIN, "/1", NULL);
    struct rollup_event earlier = ev("pageview", "a", -3 * MIN, "/0", NULL);
    struct rollup_event long_before = ev("pageview", "a", -90 * MIN, "/x", NULL);
    flush(s, first, 1);
    assert_int_equal(vc("bounce", ""), 1);
    flush(s, &later, 1);
    assert_int_equal(vc("bounce", ""), 0);
    assert_int_equal(vc("exit", "/2"), 1);
    flush(s, &click, 1); /* inside: no new exit, no longer visit */
    assert_int_equal(vc("visit_ms", ""), 2 * MIN);
    assert_int_equal(vc("exit", "/2"), 1);
    flush(s, &earlier, 1); /* before the first: the visit began earlier */
    assert_int_equal(vc("visit", ""), 1);
    assert_int_equal(vc("visit_ms", ""), 5 * MIN);
    assert_int_equal(vc("visit_pageviews", ""), 3);
    assert_int_equal(vc("entry", "/0"), 1);
    assert_int_equal(vc("entry", "/1"), 0);
    /* and it moved to the minute it began in */
    assert_int_equal(query("SELECT n FROM visit_counts WHERE granularity='minute' AND "
                           "type='visit' AND bucket=1795946220"), 1);
    assert_int_equal(query("SELECT n FROM visit_counts WHERE granularity='minute' AND "
                           "type='visit' AND bucket=1795946400"), 0);
    flush(s, &long_before, 1); /* a visit of its own */
    assert_int_equal(vc("visit", ""), 2);
    assert_int_equal(vc("bounce", ""), 1);
    assert_int_equal(vc("entry", "/x"), 1);
    assert_int_equal(vc("exit", "/2"), 1);
    store_close(s);
}

/* Every row of visit_counts that is not 0, as text. */
static void visit_rows(char *out, size_t size) {
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t n = 0;
    out[0] = '\0';
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT type, granularity, bucket, dim, n FROM "
                                            "visit_counts WHERE n <> 0 ORDER BY 1, 2, 3, 4",
                                        -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && n < size)
        n += (size_t)snprintf(out + n, size - n, "%s %s %lld %s %lld\n",
                              sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
                              (long long)sqlite3_column_int64(st, 2), sqlite3_column_text(st, 3),
                              (long long)sqlite3_column_int64(st, 4));
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(n < size);
}

/* A visit's events reach the aggregator in any order (three topics): every
 * order, one event per batch, gives the counters of time order. */
static void test_any_arrival_order_gives_the_same_counters(void **state) {
    enum { N = 5 };
    static char want[8192], got[8192];
    struct rollup_event e[N] = {
        ev("pageview", "a", 0, "/in?utm_source=ads&utm_campaign=c",
           "\"referrer\":\"https://t.co/x\",\"device\":\"tablet\",\"browser\":\"Safari\","
           "\"os\":\"iOS\","),
        ev("click", "a", 1 * MIN, "/in", NULL),
        ev("pageview", "a", 2 * MIN, "/b", NULL),
        ev("search", "a", 3 * MIN, "/b", NULL),
        ev("pageview", "a", 4 * MIN, "/out", NULL),
    };
    int perm[N] = {0, 1, 2, 3, 4}, count = 0;
    struct store *s = open_store();
    flush(s, e, N);
    store_close(s);
    visit_rows(want, sizeof(want));
    assert_non_null(strstr(want, "entry day 1795910400 /in 1"));
    assert_non_null(strstr(want, "exit day 1795910400 /out 1"));
    assert_non_null(strstr(want, "source day 1795910400 t.co 1"));
    assert_non_null(strstr(want, "visit_ms day 1795910400  240000"));
    for (;;) { /* every permutation, in lexicographic order */
        int i, j;
        teardown(state);
        reset(state);
        s = open_store();
        for (i = 0; i < N; i++)
            flush(s, &e[perm[i]], 1);
        store_close(s);
        visit_rows(got, sizeof(got));
        if (strcmp(got, want))
            fail_msg("order %d%d%d%d%d gave\n%s\nnot\n%s", perm[0], perm[1], perm[2], perm[3],
                     perm[4], got, want);
        count++;
        for (i = N - 2; i >= 0 && perm[i] > perm[i + 1]; i--)
            ;
        if (i < 0)
            break;
        for (j = N - 1; perm[j] < perm[i]; j--)
            ;
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        for (int a = i + 1, b = N - 1; a < b; a++, b--)
            t = perm[a], perm[a] = perm[b], perm[b] = t;
    }
    assert_int_equal(count, 120);
}

/* Whatever the batches, the same events give the same figures; a retry's
 * copy changes nothing; a flush that does not commit changes nothing. */
/* Every value's visitors as text (a malloc'd string): key and sketch bytes. */
static char *all_visitors(void) {
    sqlite3 *db;
    sqlite3_stmt *st;
    char *text;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(type || ' ' || dim || ' ' || "
                                        "granularity || ' ' || bucket || ' ' || hex(visitors), "
                                        "char(10)) FROM (SELECT * FROM counters WHERE visitors "
                                        "NOT NULL ORDER BY site, type, granularity, bucket, dim)",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_non_null(text = strdup((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return text;
}

static void test_batches_duplicates_and_uncommitted_flushes(void **state) {
    (void)state;
    enum { N = 3000, VISITORS = 40 };
    static struct rollup_event e[N];
    static const char *types[] = {"pageview", "pageview", "pageview", "click", "search"};
    static const char *pages[] = {"/", "/a", "/b", "/c"};
    const char *kinds[] = {"visit", "bounce", "visit_ms", "visit_pageviews"};
    long long whole[4];
    char *whole_visitors;
    unsigned rnd = 12345;
    int64_t t[VISITORS] = {0};
    struct store *s = open_store();

    /* one arrival time: a retry is within the dedup window however far
     * apart the visitors' clocks drift */
    received_ms = T0 + 30LL * 86400000;
    for (int i = 0; i < N; i++) {
        char visitor[8];
        int v;
        rnd = rnd * 1103515245u + 12345u;
        v = (int)(rnd >> 16) % VISITORS;
        /* gaps of 0 to 51 minutes: some visits time out */
        t[v] += (int64_t)((rnd >> 8) % 52) * MIN + (int64_t)(rnd % 1000);
        snprintf(visitor, sizeof(visitor), "v%d", v);
        e[i] = ev(types[rnd % 5], visitor, t[v], pages[(rnd >> 4) % 4], NULL);
    }
    flush(s, e, N);
    for (int k = 0; k < 4; k++)
        whole[k] = vc(kinds[k], "");
    assert_true(whole[0] > VISITORS && whole[1] > 0 && whole[2] > 0);
    whole_visitors = all_visitors();
    store_close(s);
    teardown(state);
    next_offset = -1;

    s = open_store();
    for (size_t at = 0; at < N; at += 7) {
        size_t n = N - at < 7 ? N - at : 7;
        /* a stale owner's flush of the same batch: refused, nothing kept */
        assert_int_equal(flush_from(s, e + at, n, next_offset + 1000), STORE_CONFLICT);
        flush(s, e + at, n);
        if (at % 700 == 0) /* a client retry: the same events again */
            flush(s, e + at, n);
    }
    for (int k = 0; k < 4; k++)
        assert_int_equal(vc(kinds[k], ""), whole[k]);
    assert_int_equal(query("SELECT sum(n) FROM visit_counts WHERE granularity='day' AND "
                           "type='entry'"), whole[0]);
    assert_int_equal(query("SELECT sum(n) FROM visit_counts WHERE granularity='day' AND "
                           "type='exit'"), whole[0]);
    /* and the same visitors of every value, to the byte: the retries' values
     * (their counts unchanged) were merged again, changing nothing */
    char *visitors = all_visitors();
    assert_string_equal(visitors, whole_visitors);
    assert_true(strlen(visitors) > 1000);
    free(visitors);
    free(whole_visitors);
    store_close(s);
}

/* A flush with no events (an offset moved, as --offset-beyond-end does)
 * or with bots only makes no visit, and reads no event. */
static void test_flushes_without_people(void **state) {
    (void)state;
    struct store *s = open_store();
    struct rollup_event bot = ev("pageview", "crawler", 0, "/", NULL);
    bot.bot = 1; /* as canonical_parse reads "bot":true */
    assert_int_equal(flush_from(s, NULL, 0, next_offset), STORE_OK);
    next_offset = 0;
    flush(s, &bot, 1);
    assert_int_equal(query("SELECT count(*) FROM visits"), 0);
    assert_int_equal(query("SELECT count(*) FROM visit_counts"), 0);
    assert_int_equal(query("SELECT n FROM bot_counts WHERE granularity = 'day' AND dim = ''"), 1);
    store_close(s);
}

/* The distinct visitors of a value: its sketches at granularity g, all
 * buckets merged. */
static long long value_visitors(const char *type, const char *dim, const char *g) {
    sqlite3 *db;
    sqlite3_stmt *st;
    struct hll *h = calloc(1, sizeof(*h));
    long long n;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT visitors FROM counters WHERE type = ?1 AND "
                                        "dim = ?2 AND granularity = ?3 AND visitors NOT NULL",
                                        -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dim, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, g, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        assert_int_equal(hll_merge_bytes(h, sqlite3_column_blob(st, 0),
                                         (size_t)sqlite3_column_bytes(st, 0)), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    n = (long long)(hll_estimate(h) + 0.5);
    free(h);
    return n;
}

/* Each value's visitors: an event's (a page, a click target), a visit's
 * (entry page, source, device...), by the hour and the day; not a bot's,
 * not for exit pages; a visitor seen again is not counted again. */
static void test_visitors_of_each_value(void **state) {
    char *rows;
    (void)state;
    struct store *s = open_store();
    struct rollup_event e[] = {
        ev("pageview", "a", 0, "/home", "\"referrer\":\"https://www.google.com/\","
           "\"device\":\"mobile\",\"browser\":\"Safari\",\"os\":\"iOS\","),
        ev("pageview", "a", 1 * MIN, "/shoes", NULL),
        ev("pageview", "b", 5000, "/shoes", NULL),
        ev("click", "c", 2 * MIN, "/shoes", NULL),
        ev("pageview", "d", 2 * MIN, "/shoes", NULL),
    };
    struct rollup_event again[] = {ev("pageview", "a", 3 * MIN, "/shoes", NULL),
                                   ev("pageview", "b", 4 * MIN, "/shoes", NULL)};
    struct rollup_event next_hour[] = {ev("pageview", "a", 70 * MIN, "/home", NULL)};
    struct rollup_event later[] = {ev("pageview", "b", 80 * MIN, "/home", NULL)};
    sqlite3 *db;
    const char *g[] = {"hour", "day"};
    e[4].bot = 1;
    flush(s, e, 5);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(value_visitors("pageview", "/shoes", g[i]), 2); /* a, b: not the bot */
        assert_int_equal(value_visitors("pageview", "/home", g[i]), 1);
        assert_int_equal(value_visitors("click", "b", g[i]), 1);
        assert_int_equal(value_visitors("entry", "/shoes", g[i]), 2); /* b, c */
        assert_int_equal(value_visitors("entry", "/home", g[i]), 1);
        assert_int_equal(value_visitors("source", "google.com", g[i]), 1);
        assert_int_equal(value_visitors("source", "(direct)", g[i]), 2);
        assert_int_equal(value_visitors("device", "mobile", g[i]), 1);
        assert_int_equal(value_visitors("device", "Other", g[i]), 2);
        assert_int_equal(value_visitors("os", "iOS", g[i]), 1);
    }
    assert_int_equal(query("SELECT count(*) FROM counters WHERE visitors NOT NULL AND "
                           "(type = 'exit' OR granularity = 'minute' OR bot OR dim = '')"), 0);
    flush(s, again, 2);
    assert_int_equal(value_visitors("pageview", "/shoes", "hour"), 2);
    assert_int_equal(value_visitors("entry", "/shoes", "hour"), 2);
    assert_int_equal(vc("visit", ""), 3);
    flush(s, next_hour, 1); /* a's second visit, at 11:10: a visitor of that hour too */
    assert_int_equal(query("SELECT count(*) FROM counters WHERE type = 'entry' AND "
                           "dim = '/home' AND granularity = 'hour' AND visitors NOT NULL"), 2);
    assert_int_equal(value_visitors("entry", "/home", "hour"), 1); /* merged: one person */
    assert_int_equal(value_visitors("entry", "/home", "day"), 1);
    assert_int_equal(vc("entry", "/home"), 2);
    /* a damaged sketch is replaced by the next batch's visitors, not a failure */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE counters SET visitors = x'5300' WHERE "
                                  "type = 'pageview' AND dim = '/home'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    flush(s, later, 1);
    assert_int_equal(value_visitors("pageview", "/home", "day"), 1); /* b alone */
    rows = all_visitors();
    assert_non_null(strstr(rows, "pageview /home day"));
    free(rows);
    store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_visit_counts_everything_once, reset, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_starts_a_new_visit, reset, teardown),
        cmocka_unit_test_setup_teardown(test_events_out_of_order_across_batches, reset, teardown),
        cmocka_unit_test_setup_teardown(test_flushes_without_people, reset, teardown),
        cmocka_unit_test_setup_teardown(test_visitors_of_each_value, reset, teardown),
        cmocka_unit_test_setup_teardown(test_any_arrival_order_gives_the_same_counters, reset,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batches_duplicates_and_uncommitted_flushes, reset,
                                        teardown),
    };
    return cmocka_run_group_tests_name("visits", tests, NULL, free_strings);
}
