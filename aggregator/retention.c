/* SPDX-License-Identifier: Apache-2.0 */
#include "retention.h"

#include "log.h"
#include "timefmt.h"
#include "visits.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const scope_names[] = {"totals", "dims"};
#define DIGITS(n) #n
#define TEXT_OF(n) DIGITS(n)
#define PAGES_PER_TXN TEXT_OF(RETENTION_PAGES_PER_TXN)

enum { Q_KEEP, Q_KEPT_FROM, Q_NEXT_SITE, Q_NEXT_SKETCH_SITE, Q_PRUNE_ROWS, Q_PRUNE_SKETCHES,
       Q_FREE_PAGES, Q_VACUUM, Q_ROW_STATS, Q_SKETCH_STATS, Q_PAGES, Q_VISIT_CLOCK,
       Q_PRUNE_VISITS, Q_VISIT_ROWS, Q_CNT };

static const char *queries[Q_CNT] = {
    "INSERT INTO retention (granularity, scope, kept_from) VALUES (?1, ?2, ?3) "
    "ON CONFLICT DO UPDATE SET kept_from = max(kept_from, excluded.kept_from)",
    RETENTION_KEPT_FROM_SQL,
    "SELECT site FROM counters WHERE site > ?1 ORDER BY site LIMIT 1",
    "SELECT site FROM sketches WHERE site > ?1 ORDER BY site LIMIT 1",
    /* totals and dimensions have their own kept_from: ?4 is the later one */
    "DELETE FROM counters WHERE (site, type, granularity, bucket, dim, bot) IN ("
    "SELECT site, type, granularity, bucket, dim, bot FROM counters WHERE site = ?1 AND "
    "type = ?2 AND granularity = ?3 AND bucket < ?4 AND "
    "CASE WHEN dim = '' THEN bucket < ?5 ELSE bucket < ?6 END LIMIT ?7)",
    "DELETE FROM sketches WHERE (site, granularity, bucket) IN (SELECT site, granularity, "
    "bucket FROM sketches WHERE site = ?1 AND granularity = ?2 AND bucket < ?3 LIMIT ?4)",
    "PRAGMA freelist_count",
    "PRAGMA incremental_vacuum(" PAGES_PER_TXN ")",
    "SELECT granularity, dim <> '', count(*), min(bucket) FROM counters GROUP BY 1, 2",
    "SELECT granularity, count(*), sum(length(registers)), min(bucket) FROM sketches "
    "GROUP BY 1",
    "SELECT (SELECT page_count FROM pragma_page_count()) * "
    "(SELECT page_size FROM pragma_page_size())",
    VISITS_CLOCK_SQL,
    VISITS_PRUNE_SQL,
    "SELECT count(*) FROM visits",
};

struct retention {
    sqlite3 *db;
    sqlite3_stmt *q[Q_CNT];
    struct retention_keep keep;
    int64_t kept_from[ROLLUP_GRAN_CNT][RETENTION_SCOPE_CNT]; /* INT64_MIN: none */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int running;
    long passes; /* this connection's, to count rows every RETENTION_COUNT_EVERY */
    atomic_int stopping; /* a pass under way ends at its next transaction */
    long interval_secs;
};

/* What /metrics shows: the last pass's sizes and the running totals. */
static struct {
    pthread_mutex_t lock;
    int measured;
    int64_t db_bytes;
    int64_t rows[ROLLUP_GRAN_CNT][RETENTION_SCOPE_CNT];
    int64_t sketches[ROLLUP_GRAN_CNT], sketch_bytes[ROLLUP_GRAN_CNT];
    int64_t oldest[ROLLUP_GRAN_CNT]; /* INT64_MAX: nothing stored */
    int64_t pruned_rows[ROLLUP_GRAN_CNT], pruned_sketches[ROLLUP_GRAN_CNT];
    int64_t visits, pruned_visits; /* visit state rows (visits.h) */
    long passes, failures;
    double longest_txn, pass_seconds;
} figures = {.lock = PTHREAD_MUTEX_INITIALIZER};

static double seconds_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Steps q to its end as one transaction (autocommit), timing it into
 * *longest (with any wait for the write lock: an upper bound on how long it
 * held it), and hands each row it returns to on_row (when not NULL).
 * sqlite3_changes() after it, or -1 on an error. */
static long run_timed(struct retention *r, sqlite3_stmt *q, double *longest,
                      void (*on_row)(sqlite3_stmt *q, void *ctx), void *ctx) {
    struct timespec t0;
    int rc;
    double took;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (on_row)
            on_row(q, ctx);
    sqlite3_reset(q);
    took = seconds_since(&t0);
    if (took > *longest)
        *longest = took;
    return rc == SQLITE_DONE ? (long)sqlite3_changes(r->db) : -1;
}

/* Step 1: moves kept_from forward, then reads it (another worker with
 * longer windows may have moved it further). */
static int advance_kept_from(struct retention *r, int64_t now, double *longest) {
    sqlite3_stmt *q = r->q[Q_KEEP];
    struct timespec t0;
    int rc;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (int g = 0; rc == SQLITE_OK && g < ROLLUP_GRAN_CNT; g++)
        for (int sc = 0; rc == SQLITE_OK && sc < RETENTION_SCOPE_CNT; sc++) {
            int64_t keep = r->keep.secs[g][sc];
            if (!keep)
                continue;
            sqlite3_bind_text(q, 1, rollup_granularity_name((enum rollup_granularity)g), -1,
                              SQLITE_STATIC);
            sqlite3_bind_text(q, 2, scope_names[sc], -1, SQLITE_STATIC);
            /* the bucket holding now - keep is still (partly) inside the window */
            sqlite3_bind_int64(q, 3, rollup_bucket((enum rollup_granularity)g,
                                                   (now - keep) * 1000));
            rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(r->db);
            sqlite3_reset(q);
        }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    else
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    if (seconds_since(&t0) > *longest)
        *longest = seconds_since(&t0);
    if (rc != SQLITE_OK)
        return -1;
    return retention_read_kept_from(r->q[Q_KEPT_FROM], r->kept_from) == SQLITE_OK ? 0 : -1;
}

int retention_read_kept_from(sqlite3_stmt *q,
                             int64_t kept_from[ROLLUP_GRAN_CNT][RETENTION_SCOPE_CNT]) {
    int rc;
    for (int g = 0; g < ROLLUP_GRAN_CNT; g++)
        kept_from[g][RETENTION_TOTALS] = kept_from[g][RETENTION_DIMS] = INT64_MIN;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int g = rollup_granularity_parse((const char *)sqlite3_column_text(q, 0));
        const char *scope = (const char *)sqlite3_column_text(q, 1);
        if (g >= 0 && scope)
            kept_from[g][strcmp(scope, "dims") ? RETENTION_TOTALS : RETENTION_DIMS] =
                sqlite3_column_int64(q, 2);
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The site after `after` in a table (counters or sketches); 0 when none. */
static int next_site(struct retention *r, int which, char *site, size_t size) {
    sqlite3_stmt *q = r->q[which];
    int found;
    sqlite3_bind_text(q, 1, site, -1, SQLITE_TRANSIENT);
    found = sqlite3_step(q) == SQLITE_ROW;
    if (found)
        snprintf(site, size, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    return found;
}

/* Runs a bound DELETE ... LIMIT limit until it deletes fewer: each run is
 * one transaction (bindings survive sqlite3_reset). */
static int delete_in_chunks(struct retention *r, sqlite3_stmt *q, int limit, int64_t *pruned,
                            double *longest) {
    long n;
    do {
        if ((n = run_timed(r, q, longest, NULL, NULL)) < 0)
            return -1;
        *pruned += n;
    } while (n == limit && !atomic_load(&r->stopping));
    return 0;
}

/* Step 2 for counters: per site, type and granularity, in bounded chunks. */
static int prune_rows(struct retention *r, int64_t pruned[], double *longest) {
    sqlite3_stmt *q = r->q[Q_PRUNE_ROWS];
    char site[1024] = "";
    while (next_site(r, Q_NEXT_SITE, site, sizeof(site)))
        for (int t = 0; t < ROLLUP_TYPE_CNT; t++)
            for (int g = 0; g < ROLLUP_GRAN_CNT; g++) {
                int64_t totals = r->kept_from[g][RETENTION_TOTALS];
                int64_t dims = r->kept_from[g][RETENTION_DIMS];
                if (totals == INT64_MIN && dims == INT64_MIN)
                    continue;
                sqlite3_bind_text(q, 1, site, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 2, rollup_type_name(t), -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 3, rollup_granularity_name((enum rollup_granularity)g), -1,
                                  SQLITE_STATIC);
                sqlite3_bind_int64(q, 4, totals > dims ? totals : dims);
                sqlite3_bind_int64(q, 5, totals);
                sqlite3_bind_int64(q, 6, dims);
                sqlite3_bind_int(q, 7, RETENTION_ROWS_PER_TXN);
                if (delete_in_chunks(r, q, RETENTION_ROWS_PER_TXN, &pruned[g], longest))
                    return -1;
            }
    return 0;
}

/* Step 2 for sketches, which follow their granularity's totals. */
static int prune_sketches(struct retention *r, int64_t pruned[], double *longest) {
    sqlite3_stmt *q = r->q[Q_PRUNE_SKETCHES];
    char site[1024] = "";
    while (next_site(r, Q_NEXT_SKETCH_SITE, site, sizeof(site)))
        for (int g = 0; g < ROLLUP_GRAN_CNT; g++) {
            if (r->kept_from[g][RETENTION_TOTALS] == INT64_MIN)
                continue;
            sqlite3_bind_text(q, 1, site, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, rollup_granularity_name((enum rollup_granularity)g), -1,
                              SQLITE_STATIC);
            sqlite3_bind_int64(q, 3, r->kept_from[g][RETENTION_TOTALS]);
            sqlite3_bind_int(q, 4, RETENTION_SKETCHES_PER_TXN);
            if (delete_in_chunks(r, q, RETENTION_SKETCHES_PER_TXN, &pruned[g], longest))
                return -1;
        }
    return 0;
}

static int64_t one_number(struct retention *r, int which) {
    sqlite3_stmt *q = r->q[which];
    int64_t v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_reset(q);
    return v;
}

/* The walk's position in the visits table: after (site, visitor). */
struct visit_key {
    char site[300];
    int64_t visitor;
};

/* A deleted key: the position moves to the largest (RETURNING is in no
 * order). */
static void visit_key_max(sqlite3_stmt *q, void *ctx) {
    struct visit_key *k = ctx;
    const char *s = (const char *)sqlite3_column_text(q, 0);
    int64_t v = sqlite3_column_int64(q, 1);
    int c = s ? strcmp(s, k->site) : -1;
    if (c > 0 || (c == 0 && v > k->visitor)) {
        snprintf(k->site, sizeof(k->site), "%s", s);
        k->visitor = v;
    }
}

/* Step 2 for finished visits' state (visits.h: by the stream's time), in
 * key order, each chunk one transaction that returns the keys it deleted. */
static int prune_visits(struct retention *r, int64_t *pruned, double *longest) {
    sqlite3_stmt *q = r->q[Q_PRUNE_VISITS];
    struct visit_key at = {"", INT64_MIN};
    int64_t clock = one_number(r, Q_VISIT_CLOCK);
    long n;
    if (!r->keep.visit_state_ms || clock < 0)
        return 0; /* nothing kept yet */
    do {
        sqlite3_bind_text(q, 1, at.site, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, at.visitor);
        sqlite3_bind_int64(q, 3, clock - r->keep.visit_state_ms);
        sqlite3_bind_int(q, 4, RETENTION_ROWS_PER_TXN);
        if ((n = run_timed(r, q, longest, visit_key_max, &at)) < 0)
            return -1;
        *pruned += n;
    } while (n == RETENTION_ROWS_PER_TXN && !atomic_load(&r->stopping));
    return 0;
}

/* Step 3: gives the free pages back, a bounded number per transaction. */
static int give_back_pages(struct retention *r, double *longest) {
    int64_t free_pages;
    while ((free_pages = one_number(r, Q_FREE_PAGES)) > 0) {
        int64_t before = free_pages;
        if (run_timed(r, r->q[Q_VACUUM], longest, NULL, NULL) < 0)
            return -1;
        if (one_number(r, Q_FREE_PAGES) >= before)
            break; /* auto-vacuum is off (a file whose VACUUM failed): nothing to do */
    }
    return free_pages < 0 ? -1 : 0;
}

/* Step 4: the sizes, published with the pass's totals. */
static int measure(struct retention *r, int count_rows, const int64_t pruned_rows[],
                   const int64_t pruned_sketches[], int64_t pruned_visits, double longest,
                   double took) {
    sqlite3_stmt *q;
    int64_t rows[ROLLUP_GRAN_CNT][RETENTION_SCOPE_CNT] = {{0}}, sketches[ROLLUP_GRAN_CNT] = {0};
    int64_t sketch_bytes[ROLLUP_GRAN_CNT] = {0}, oldest[ROLLUP_GRAN_CNT];
    int64_t db_bytes = one_number(r, Q_PAGES), visits = 0;
    int rc;
    for (int g = 0; g < ROLLUP_GRAN_CNT; g++)
        oldest[g] = INT64_MAX;
    if (!count_rows)
        goto publish;
    q = r->q[Q_ROW_STATS];
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int g = rollup_granularity_parse((const char *)sqlite3_column_text(q, 0));
        if (g < 0)
            continue;
        rows[g][sqlite3_column_int(q, 1) ? RETENTION_DIMS : RETENTION_TOTALS] =
            sqlite3_column_int64(q, 2);
        if (sqlite3_column_int64(q, 3) < oldest[g])
            oldest[g] = sqlite3_column_int64(q, 3);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return -1;
    q = r->q[Q_SKETCH_STATS];
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int g = rollup_granularity_parse((const char *)sqlite3_column_text(q, 0));
        if (g < 0)
            continue;
        sketches[g] = sqlite3_column_int64(q, 1);
        sketch_bytes[g] = sqlite3_column_int64(q, 2);
        if (sqlite3_column_int64(q, 3) < oldest[g])
            oldest[g] = sqlite3_column_int64(q, 3);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE || (visits = one_number(r, Q_VISIT_ROWS)) < 0)
        return -1;
publish:
    if (db_bytes < 0)
        return -1;
    pthread_mutex_lock(&figures.lock);
    figures.db_bytes = db_bytes;
    if (count_rows) {
        figures.measured = 1;
        memcpy(figures.rows, rows, sizeof(rows));
        memcpy(figures.sketches, sketches, sizeof(sketches));
        memcpy(figures.sketch_bytes, sketch_bytes, sizeof(sketch_bytes));
        memcpy(figures.oldest, oldest, sizeof(oldest));
        figures.visits = visits;
    }
    figures.pruned_visits += pruned_visits;
    for (int g = 0; g < ROLLUP_GRAN_CNT; g++) {
        figures.pruned_rows[g] += pruned_rows[g];
        figures.pruned_sketches[g] += pruned_sketches[g];
    }
    figures.passes++;
    figures.longest_txn = longest;
    figures.pass_seconds = took;
    pthread_mutex_unlock(&figures.lock);
    return 0;
}

int retention_run(struct retention *r, int64_t now) {
    int64_t pruned_rows[ROLLUP_GRAN_CNT] = {0}, pruned_sketches[ROLLUP_GRAN_CNT] = {0};
    int64_t pruned_visits = 0;
    double longest = 0;
    struct timespec t0;
    int rc;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = advance_kept_from(r, now, &longest);
    if (!rc)
        rc = prune_rows(r, pruned_rows, &longest);
    if (!rc)
        rc = prune_sketches(r, pruned_sketches, &longest);
    if (!rc)
        rc = prune_visits(r, &pruned_visits, &longest);
    if (!rc)
        rc = give_back_pages(r, &longest);
    if (!rc)
        rc = measure(r, r->passes++ % RETENTION_COUNT_EVERY == 0, pruned_rows, pruned_sketches,
                     pruned_visits, longest, seconds_since(&t0));
    if (rc) {
        log_error("retention: %s (the next pass tries again)", sqlite3_errmsg(r->db));
        pthread_mutex_lock(&figures.lock);
        figures.failures++;
        pthread_mutex_unlock(&figures.lock);
        return -1;
    }
    log_debug("retention: pruned %" PRId64 "/%" PRId64 "/%" PRId64 " rows and %" PRId64
              "/%" PRId64 "/%" PRId64 " sketches (minute/hour/day); longest transaction %.1f ms",
              pruned_rows[0], pruned_rows[1], pruned_rows[2], pruned_sketches[0],
              pruned_sketches[1], pruned_sketches[2], longest * 1e3);
    return 0;
}

struct retention *retention_open(const char *path, const struct retention_keep *keep,
                                 char *errbuf, size_t errsize) {
    struct retention *r = calloc(1, sizeof(*r));
    int rc;
    if (!r)
        abort();
    r->keep = *keep;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(r->db, 10000); /* a flush is short; wait for it */
        rc = sqlite3_exec(r->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    }
    for (int i = 0; rc == SQLITE_OK && i < Q_CNT; i++)
        rc = sqlite3_prepare_v3(r->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT, &r->q[i], NULL);
    if (rc != SQLITE_OK) {
        snprintf(errbuf, errsize, "%s: %s", path, sqlite3_errmsg(r->db));
        retention_close(r);
        return NULL;
    }
    return r;
}

static void *retention_thread(void *arg) {
    struct retention *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        struct timespec until;
        pthread_mutex_unlock(&r->lock);
        retention_run(r, timefmt_now_ms() / 1000);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += r->interval_secs;
        pthread_mutex_lock(&r->lock);
        while (!r->stopping &&
               pthread_cond_timedwait(&r->wake, &r->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

void retention_start(struct retention *r, long interval_secs) {
    r->interval_secs = interval_secs;
    if (pthread_create(&r->thread, NULL, retention_thread, r))
        abort();
    r->running = 1;
}

void retention_close(struct retention *r) {
    if (!r)
        return;
    if (r->running) {
        pthread_mutex_lock(&r->lock);
        r->stopping = 1;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    for (int i = 0; i < Q_CNT; i++)
        sqlite3_finalize(r->q[i]);
    sqlite3_close(r->db);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* One metric with a line per granularity; INT64_MAX: no line. */
static void per_granularity(FILE *f, const char *name, const char *type, const char *help,
                            const int64_t v[ROLLUP_GRAN_CNT]) {
    fprintf(f, "# HELP activity_aggregator_%s %s\n# TYPE activity_aggregator_%s %s\n", name,
            help, name, type);
    for (int g = 0; g < ROLLUP_GRAN_CNT; g++)
        if (v[g] != INT64_MAX)
            fprintf(f, "activity_aggregator_%s{granularity=\"%s\"} %lld\n", name,
                    rollup_granularity_name((enum rollup_granularity)g), (long long)v[g]);
}

void retention_metrics(FILE *f) {
    pthread_mutex_lock(&figures.lock);
    fprintf(f, "# HELP activity_aggregator_retention_passes_total Retention passes done.\n"
               "# TYPE activity_aggregator_retention_passes_total counter\n"
               "activity_aggregator_retention_passes_total %ld\n"
               "# HELP activity_aggregator_retention_failures_total Passes stopped by an error.\n"
               "# TYPE activity_aggregator_retention_failures_total counter\n"
               "activity_aggregator_retention_failures_total %ld\n",
            figures.passes, figures.failures);
    per_granularity(f, "pruned_rows_total", "counter", "Counter rows deleted by retention.",
                    figures.pruned_rows);
    per_granularity(f, "pruned_sketches_total", "counter", "Sketches deleted by retention.",
                    figures.pruned_sketches);
    fprintf(f, "# HELP activity_aggregator_pruned_visits_total Finished visits' state rows "
               "deleted by retention.\n# TYPE activity_aggregator_pruned_visits_total counter\n"
               "activity_aggregator_pruned_visits_total %lld\n",
            (long long)figures.pruned_visits);
    if (!figures.measured) { /* sizes only once a pass has counted them */
        pthread_mutex_unlock(&figures.lock);
        return;
    }
    fprintf(f, "# HELP activity_aggregator_db_bytes Size of the counters file (pages in use and "
               "free).\n# TYPE activity_aggregator_db_bytes gauge\n"
               "activity_aggregator_db_bytes %lld\n"
               "# HELP activity_aggregator_retention_longest_transaction_seconds The last pass's "
               "longest transaction (a flush waits at most this long for it).\n"
               "# TYPE activity_aggregator_retention_longest_transaction_seconds gauge\n"
               "activity_aggregator_retention_longest_transaction_seconds %.6f\n"
               "# HELP activity_aggregator_retention_pass_seconds How long the last pass took.\n"
               "# TYPE activity_aggregator_retention_pass_seconds gauge\n"
               "activity_aggregator_retention_pass_seconds %.6f\n"
               "# HELP activity_aggregator_rows Counter rows by granularity and scope "
               "(totals: dim = '').\n# TYPE activity_aggregator_rows gauge\n",
            (long long)figures.db_bytes, figures.longest_txn, figures.pass_seconds);
    for (int g = 0; g < ROLLUP_GRAN_CNT; g++)
        for (int sc = 0; sc < RETENTION_SCOPE_CNT; sc++)
            fprintf(f, "activity_aggregator_rows{granularity=\"%s\",scope=\"%s\"} %lld\n",
                    rollup_granularity_name((enum rollup_granularity)g), scope_names[sc],
                    (long long)figures.rows[g][sc]);
    per_granularity(f, "sketches", "gauge", "Visitor sketches by granularity.", figures.sketches);
    fprintf(f, "# HELP activity_aggregator_visit_rows Visits followed (state rows in the file: "
               "open ones and those finished less than twice the timeout ago).\n"
               "# TYPE activity_aggregator_visit_rows gauge\nactivity_aggregator_visit_rows %lld\n",
            (long long)figures.visits);
    per_granularity(f, "sketch_bytes", "gauge", "Stored size of the sketches (sparse or dense).",
                    figures.sketch_bytes);
    per_granularity(f, "oldest_bucket_seconds", "gauge",
                    "Start of the oldest bucket stored, Unix seconds (absent: none).",
                    figures.oldest);
    pthread_mutex_unlock(&figures.lock);
}
