/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of aggregator/store on a real SQLite file: the offset
 * compare-and-set that makes counting exactly once, dedup, and the upgrade
 * of a file written by schema 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "canonical.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tmp_db.h"

/* The parsed events' strings; freed once all tests have run. */
static struct arena strings;

static int free_strings(void **state) {
    (void)state;
    arena_free(&strings);
    return 0;
}

static struct rollup_event parsed(const char *json) {
    struct rollup_event e;
    char err[128];
    assert_int_equal(canonical_parse(json, strlen(json), NULL, 600000, &strings, &e, err, sizeof(err)), 0);
    return e;
}

static struct rollup_event mk(const char *id, const char *visitor) {
    char json[512];
    snprintf(json, sizeof(json),
             "{\"type\":\"pageview\",\"event_id\":\"%s\",\"site\":\"s\",\"anonymous_id\":\"%s\","
             "\"url\":\"https://s/a\",\"ts\":\"2026-11-24T10:00:00.000Z\","
             "\"received_at\":\"2026-11-24T10:00:01.000Z\",\"bot\":false}",
             id, visitor);
    return parsed(json);
}

/* store_flush as the aggregator calls it: deltas built before the flush. */
static int flush(struct store *s, struct consumer_partition *p, struct rollup_event *ev, size_t n,
                 size_t *counted, char *err) {
    struct rollup *r = rollup_new();
    int rc;
    for (size_t i = 0; i < n; i++)
        rollup_add(r, &ev[i]);
    rc = store_flush(s, p, 1, ev, n, r, 3600000, counted, err, 256);
    rollup_free(r);
    return rc;
}

static long long total(void) {
    return query("SELECT coalesce(sum(n),0) FROM counts WHERE granularity='day' AND dim=''");
}

static void test_offset_cas_lets_one_owner_win(void **state) {
    (void)state;
    char err[256];
    size_t counted;
    int64_t next;
    struct store *a, *b;
    struct rollup_event e1 = mk("00000000-0000-4000-8000-000000000001", "v1");
    struct rollup_event e2 = mk("00000000-0000-4000-8000-000000000002", "v2");
    struct consumer_partition p = {"activity.pageview", 0, -1, 10};

    assert_non_null(a = store_open(path, err, sizeof(err)));
    assert_non_null(b = store_open(path, err, sizeof(err)));
    assert_int_equal(store_offset(a, "activity.pageview", 0, &next), 1);

    /* A stores offsets [start .. 10) with e1. */
    assert_int_equal(flush(a, &p, &e1, 1, &counted, err), STORE_OK);
    assert_int_equal(counted, 1);
    assert_int_equal(store_offset(b, "activity.pageview", 0, &next), 0);
    assert_int_equal(next, 10);

    /* B also believed nothing was stored: refused, nothing counted. */
    assert_int_equal(flush(b, &p, &e2, 1, &counted, err), STORE_CONFLICT);
    assert_non_null(strstr(err, "moved on by another worker"));
    assert_int_equal(total(), 1);

    /* B took the partition over at 10 and moves it to 20. */
    p.start = 10, p.next = 20;
    assert_int_equal(flush(b, &p, &e2, 1, &counted, err), STORE_OK);
    /* A, a zombie still holding [10 .. 20), cannot count it again. */
    assert_int_equal(flush(a, &p, &e2, 1, &counted, err), STORE_CONFLICT);
    assert_int_equal(total(), 2);

    store_close(a);
    store_close(b);
}

static void test_same_event_id_counts_once(void **state) {
    (void)state;
    char err[256];
    size_t counted;
    struct store *s;
    struct rollup_event ev[3] = {mk("00000000-0000-4000-8000-00000000000a", "v1"),
                                 mk("00000000-0000-4000-8000-00000000000a", "v1"),
                                 mk("00000000-0000-4000-8000-00000000000b", "v2")};
    struct consumer_partition p = {"activity.pageview", 3, -1, 3};
    assert_non_null(s = store_open(path, err, sizeof(err)));
    assert_int_equal(flush(s, &p, ev, 3, &counted, err), STORE_OK);
    assert_int_equal(counted, 2);
    p.start = 3, p.next = 4; /* the retry again, in a later batch */
    assert_int_equal(flush(s, &p, ev, 1, &counted, err), STORE_OK);
    assert_int_equal(counted, 0);
    assert_int_equal(total(), 2);
    store_close(s);
}

static void sql(const char *text) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The ids a worker holds in memory come from the database: a restarted
 * worker knows them, and so does one that takes a partition back after
 * another worker counted on it. */
static void test_ids_outlive_the_worker_and_follow_the_partition(void **state) {
    (void)state;
    char err[256];
    size_t counted;
    int64_t next;
    struct store *a, *b;
    struct rollup_event e1 = mk("00000000-0000-4000-8000-000000000001", "v1");
    struct rollup_event e2 = mk("00000000-0000-4000-8000-000000000002", "v2");
    struct consumer_partition p = {"activity.pageview", 0, -1, 1};

    assert_non_null(a = store_open(path, err, sizeof(err)));
    assert_int_equal(flush(a, &p, &e1, 1, &counted, err), STORE_OK);
    store_close(a);
    assert_int_equal(query("SELECT count(*) FROM seen_ids"), 1);

    assert_non_null(a = store_open(path, err, sizeof(err)));
    assert_non_null(b = store_open(path, err, sizeof(err)));
    p.start = 1, p.next = 2; /* e1 retried: known after the restart */
    assert_int_equal(flush(a, &p, &e1, 1, &counted, err), STORE_OK);
    assert_int_equal(counted, 0);

    /* B takes the partition over and counts e2; A gets it back. */
    assert_int_equal(store_offset(b, "activity.pageview", 0, &next), 0);
    p.start = 2, p.next = 3;
    assert_int_equal(flush(b, &p, &e2, 1, &counted, err), STORE_OK);
    assert_int_equal(counted, 1);
    assert_int_equal(store_offset(a, "activity.pageview", 0, &next), 0);
    assert_int_equal(next, 3);
    p.start = 3, p.next = 4; /* e2 retried: A must know it from B's row */
    assert_int_equal(flush(a, &p, &e2, 1, &counted, err), STORE_OK);
    assert_int_equal(counted, 0);
    assert_int_equal(total(), 2);

    store_close(a);
    store_close(b);
}

/* A flush that is refused remembers none of its ids. */
static void test_refused_flush_remembers_nothing(void **state) {
    (void)state;
    char err[256];
    size_t counted;
    struct store *s;
    struct rollup_event e1 = mk("00000000-0000-4000-8000-000000000001", "v1");
    struct consumer_partition p = {"activity.pageview", 0, -1, 1};

    assert_non_null(s = store_open(path, err, sizeof(err)));
    assert_int_equal(flush(s, &p, &e1, 1, &counted, err), STORE_OK);
    e1 = mk("00000000-0000-4000-8000-000000000003", "v3");
    p.start = 7, p.next = 8; /* a start that is not stored */
    assert_int_equal(flush(s, &p, &e1, 1, &counted, err), STORE_CONFLICT);
    /* A database error after the dedup step (here a trigger's). */
    sql("CREATE TRIGGER fail BEFORE INSERT ON counters BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
    p.start = 1, p.next = 2;
    assert_int_equal(flush(s, &p, &e1, 1, &counted, err), STORE_ERROR);
    assert_non_null(strstr(err, "disk on fire"));
    sql("DROP TRIGGER fail");
    assert_int_equal(flush(s, &p, &e1, 1, &counted, err), STORE_OK);
    assert_int_equal(counted, 1);
    assert_int_equal(total(), 2);
    store_close(s);
}

/* Rows leave once the partition's own time is a window past them. */
static void test_old_rows_are_purged_by_partition_time(void **state) {
    (void)state;
    char err[256];
    size_t counted;
    struct store *s;
    struct rollup_event e = mk("00000000-0000-4000-8000-000000000001", "v1");
    struct rollup *r = rollup_new();
    struct consumer_partition p = {"activity.pageview", 0, -1, 1};

    assert_non_null(s = store_open(path, err, sizeof(err)));
    rollup_add(r, &e);
    assert_int_equal(store_flush(s, &p, 1, &e, 1, r, 60000, &counted, err, 256), STORE_OK);
    e.event_id[15] = 2;
    e.received_ms += 30000; /* half a window later: both rows stay */
    rollup_reset(r);
    rollup_add(r, &e);
    p.start = 1, p.next = 2;
    assert_int_equal(store_flush(s, &p, 1, &e, 1, r, 60000, &counted, err, 256), STORE_OK);
    assert_int_equal(query("SELECT count(*) FROM seen_ids"), 2);
    e.event_id[15] = 3;
    e.received_ms += 31000; /* the first row is now out of the window */
    rollup_reset(r);
    rollup_add(r, &e);
    p.start = 2, p.next = 3;
    assert_int_equal(store_flush(s, &p, 1, &e, 1, r, 60000, &counted, err, 256), STORE_OK);
    assert_int_equal(query("SELECT count(*) FROM seen_ids"), 2);
    assert_int_equal(total(), 3);
    rollup_free(r);
    store_close(s);
}

/* A search at ts with results, as ingest makes it. */
static struct rollup_event search_at(int id, const char *ts, int results) {
    char json[512];
    snprintf(json, sizeof(json),
             "{\"type\":\"search\",\"event_id\":\"00000000-0000-4000-8000-%012d\",\"site\":\"s\","
             "\"anonymous_id\":\"v\",\"url\":\"https://s/\",\"query\":\"q\",\"results\":%d,"
             "\"ts\":\"%s\","
             "\"received_at\":\"2026-11-25T01:00:00.000Z\",\"bot\":false}",
             id, results, ts);
    return parsed(json);
}

static long long count_of(const char *type, const char *gran, const char *bucket_utc,
                          const char *dim) {
    char sql[400];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(sum(n), 0) FROM counts WHERE site = 's' AND type = '%s' AND "
             "granularity = '%s' AND bucket = unixepoch('%s') AND dim = '%s'",
             type, gran, bucket_utc, dim);
    return query(sql);
}

/* Hour and day counters are summed from the minutes at flush time: across
 * minute, hour and day boundaries, with a duplicate taken back out and a
 * zero-result search counted in both of its types. */
static void test_hours_and_days_add_up_their_minutes(void **state) {
    (void)state;
    char err[256];
    size_t counted;
    struct store *s;
    struct rollup_event ev[] = {
        search_at(1, "2026-11-24T10:00:00.000Z", 3), search_at(2, "2026-11-24T10:59:59.999Z", 0),
        search_at(2, "2026-11-24T10:59:59.999Z", 0), /* a retry: counted once */
        search_at(3, "2026-11-24T11:00:00.000Z", 1), search_at(4, "2026-11-25T00:00:30.000Z", 0),
    };
    struct consumer_partition p = {"activity.search", 0, -1, 5};

    assert_non_null(s = store_open(path, err, sizeof(err)));
    assert_int_equal(flush(s, &p, ev, 5, &counted, err), STORE_OK);
    assert_int_equal(counted, 4);
    for (int d = 0; d < 2; d++) {
        const char *dim = d ? "q" : "";
        assert_int_equal(count_of("search", "minute", "2026-11-24 10:00:00", dim), 1);
        assert_int_equal(count_of("search", "minute", "2026-11-24 10:59:00", dim), 1);
        assert_int_equal(count_of("search", "hour", "2026-11-24 10:00:00", dim), 2);
        assert_int_equal(count_of("search", "hour", "2026-11-24 11:00:00", dim), 1);
        assert_int_equal(count_of("search", "hour", "2026-11-25 00:00:00", dim), 1);
        assert_int_equal(count_of("search", "day", "2026-11-24 00:00:00", dim), 3);
        assert_int_equal(count_of("search", "day", "2026-11-25 00:00:00", dim), 1);
        assert_int_equal(count_of("zero_result_search", "hour", "2026-11-24 10:00:00", dim), 1);
        assert_int_equal(count_of("zero_result_search", "day", "2026-11-24 00:00:00", dim), 1);
        assert_int_equal(count_of("zero_result_search", "day", "2026-11-25 00:00:00", dim), 1);
    }
    /* A second flush adds to the same hour and day rows. */
    p.start = 5, p.next = 6;
    ev[0] = search_at(5, "2026-11-24T10:30:00.000Z", 2);
    assert_int_equal(flush(s, &p, ev, 1, &counted, err), STORE_OK);
    assert_int_equal(count_of("search", "hour", "2026-11-24 10:00:00", ""), 3);
    assert_int_equal(count_of("search", "day", "2026-11-24 00:00:00", "q"), 4);
    assert_int_equal(query("SELECT count(*) FROM counts WHERE granularity = 'hour'"), 10);
    store_close(s);
}

/* A dense sketch of n visitors, as schema 2 stored every sketch. */
static struct hll *visitors(int first, int n) {
    struct hll *h = calloc(1, sizeof(*h));
    char id[32];
    for (int i = first; i < first + n; i++) {
        int len = snprintf(id, sizeof(id), "visitor-%d", i);
        hll_add_hash(h, hll_hash(id, (size_t)len));
    }
    return h;
}

static char *read_text(const char *file) {
    FILE *f = fopen(file, "r");
    char *text;
    long len;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    assert_non_null(text = calloc(1, (size_t)len + 1));
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

/* A file as the last schema-2 release left it (its schema file verbatim,
 * tests/unit/fixtures/counters_v2.sql; WAL; no auto-vacuum; every sketch
 * 16,384 bytes), opened by this build: sketches become sparse where that is
 * smaller and give the same estimates, counters and offsets are untouched,
 * the file shrinks, and counting goes on in it. */
static void test_schema_2_file_is_upgraded(void **state) {
    enum { SMALL = 300 };
    const int sizes[] = {1, 7, 2000, 60000}; /* the last stays dense */
    char *schema = read_text("tests/unit/fixtures/counters_v2.sql"), err[256];
    double estimates[4];
    long long pages_before;
    sqlite3 *db;
    sqlite3_stmt *put;
    struct store *s;
    size_t counted;
    struct rollup_event e = mk("00000000-0000-4000-8000-000000000001", "v1");
    struct consumer_partition p = {"activity.pageview", 0, 41, 42};
    (void)state;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, schema, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2; BEGIN;"
                                  "INSERT INTO counters VALUES ('s','pageview','day',"
                                  "1763942400,'',0,5), ('s','pageview','day',1763942400,'/a',0,5);"
                                  "INSERT INTO kafka_offsets VALUES ('activity.pageview',0,41,0)",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO sketches VALUES (?1, 'minute', ?2, ?3, ?4)",
                                        -1, &put, NULL), SQLITE_OK);
    for (int i = 0; i < 4 + SMALL; i++) { /* 4 sites of the sizes, then many small minutes */
        struct hll *h = visitors(i, i < 4 ? sizes[i] : 3);
        double est = hll_estimate(h);
        if (i < 4)
            estimates[i] = est;
        sqlite3_bind_text(put, 1, i < 4 ? (const char *[]){"a", "b", "c", "d"}[i] : "s", -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(put, 2, i < 4 ? 1763978400 : 1763978400 + 60 * i);
        sqlite3_bind_blob(put, 3, h->reg, HLL_REGISTERS, SQLITE_TRANSIENT);
        sqlite3_bind_int64(put, 4, (sqlite3_int64)(est + 0.5));
        assert_int_equal(sqlite3_step(put), SQLITE_DONE);
        sqlite3_reset(put);
        free(h);
    }
    sqlite3_finalize(put);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    free(schema);
    pages_before = query("PRAGMA page_count");
    assert_int_equal(query("PRAGMA auto_vacuum"), 0);

    assert_non_null(s = store_open(path, err, sizeof(err)));
    assert_int_equal(query("PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(query("SELECT count(*) FROM visits"), 0); /* schema 4: visits followed */
    assert_int_equal(query("PRAGMA auto_vacuum"), 2); /* incremental: retention can shrink it */
    assert_int_equal(query("SELECT length(registers) FROM sketches WHERE site = 'a'"), 1 + 3);
    assert_int_equal(query("SELECT length(registers) FROM sketches WHERE site = 'b'"), 1 + 3 * 7);
    assert_true(query("SELECT length(registers) FROM sketches WHERE site = 'c'") < 1 + 3 * 2000);
    assert_int_equal(query("SELECT length(registers) FROM sketches WHERE site = 'd'"),
                     HLL_REGISTERS);
    assert_int_equal(query("SELECT count(*) FROM sketches WHERE length(registers) > 100"), 2);
    for (int i = 0; i < 4; i++) { /* the very same registers: the very same estimate */
        char sql[128];
        sqlite3_stmt *get;
        struct hll *h = calloc(1, sizeof(*h));
        snprintf(sql, sizeof(sql), "SELECT registers FROM sketches WHERE site = '%c'", 'a' + i);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &get, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(get), SQLITE_ROW);
        assert_int_equal(hll_merge_bytes(h, sqlite3_column_blob(get, 0),
                                         (size_t)sqlite3_column_bytes(get, 0)), 0);
        sqlite3_finalize(get);
        sqlite3_close(db);
        assert_true(hll_estimate(h) == estimates[i]);
        free(h);
    }
    assert_int_equal(query("SELECT sum(n) FROM counters"), 10);
    assert_int_equal(query("SELECT next_offset FROM kafka_offsets"), 41);
    assert_true(query("PRAGMA page_count") * 5 < pages_before); /* 1.2 MB of registers gone */

    /* counting goes on: the offset's compare-and-set from 41, a sparse sketch grows */
    assert_int_equal(flush(s, &p, &e, 1, &counted, err), STORE_OK);
    assert_int_equal(query("SELECT sum(n) FROM counts WHERE granularity='day' AND dim=''"), 6);
    assert_int_equal(query("SELECT estimate FROM uniques WHERE site = 's' AND granularity = "
                           "'day'"), 1);
    assert_int_equal(query("SELECT length(registers) FROM sketches WHERE site = 's' AND "
                           "granularity = 'day'"), 4);
    /* schema 5: the value's visitors, in the rows the upgrade added a column to */
    assert_int_equal(query("SELECT length(visitors) FROM counters WHERE site = 's' AND "
                           "granularity = 'day' AND dim = '/a'"), 4);
    store_close(s);
    /* and opening it again changes nothing more */
    assert_non_null(s = store_open(path, err, sizeof(err)));
    store_close(s);
    assert_int_equal(query("SELECT count(*) FROM sketches"), 4 + SMALL + 3);
}

static void test_newer_schema_is_refused(void **state) {
    (void)state;
    char err[256];
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_null(store_open(path, err, sizeof(err)));
    assert_non_null(strstr(err, "schema version 99"));
}

/* Workers started together on a new file all open it: SQLite answers one
 * of two connections that both want to switch it to WAL SQLITE_BUSY
 * without waiting (its deadlock rule), and store_open must try again
 * rather than fail. Each round starts 4 processes at one instant (they
 * wait on a pipe that is then closed); without the retry, every run of
 * this test saw several of its 100 opens fail this way. */
static void test_workers_opening_a_new_file_together_all_succeed(void **state) {
    enum { ROUNDS = 25, WORKERS = 4 };
    int failed = 0;
    (void)state;
    for (int round = 0; round < ROUNDS; round++) {
        pid_t pids[WORKERS];
        int gate[2];
        teardown(NULL);
        assert_int_equal(pipe(gate), 0);
        for (int w = 0; w < WORKERS; w++) {
            assert_true((pids[w] = fork()) >= 0);
            if (pids[w] == 0) {
                char err[256], c;
                struct store *s;
                close(gate[1]);
                while (read(gate[0], &c, 1) > 0) /* returns 0 once the gate is closed */
                    ;
                s = store_open(path, err, sizeof(err));
                if (!s)
                    fprintf(stderr, "worker %d of round %d: %s\n", w, round, err);
                store_close(s);
                _exit(s ? 0 : 1);
            }
        }
        close(gate[0]);
        close(gate[1]);
        for (int w = 0; w < WORKERS; w++) {
            int status;
            assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
            failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        }
    }
    assert_int_equal(failed, 0);
    assert_int_equal(query("PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_offset_cas_lets_one_owner_win, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_event_id_counts_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_outlive_the_worker_and_follow_the_partition, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_flush_remembers_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_rows_are_purged_by_partition_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hours_and_days_add_up_their_minutes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_schema_2_file_is_upgraded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_opening_a_new_file_together_all_succeed, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, free_strings);
}
