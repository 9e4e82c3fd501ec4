/* SPDX-License-Identifier: Apache-2.0 */
/* retention_sim: days of traffic through the aggregator's storage path
 * (rollup_add, store_flush, and with -DWITH_RETENTION retention_run), with
 * simulated time, so 30 days take minutes. Built against this tree and
 * against an older one by scripts/bench/retention_sim.sh; prints one line
 * per reported day with the file's size and where it goes.
 *
 * Traffic, generated in event-time order from a fixed seed: EVENTS a day,
 * spread evenly over the minutes; 100 sites with Zipf (s = 1) shares; 72 %
 * pageviews over 5,000 paths, 20 % clicks over 200 targets, 8 % searches
 * (80,000 a day: 40,000 from 15,000 recurring queries, Zipf, and 40,000
 * seen once, new every day: about 50,000 distinct a day); 2 % bots; about
 * 5 events per visitor and day. Every 5 simulated minutes are one flush
 * (the real worker flushes every 500 ms: more, smaller transactions that
 * write the same rows and sketches), and retention runs once per simulated
 * hour (the worker: every 5 minutes, so its minute data is at most 5
 * minutes, not an hour, past the window). */
#include "arena.h"
#include "mix64.h"
#include "store.h"
#ifdef WITH_RETENTION
#include "retention.h"
#endif

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SITES 100
#define PATHS 5000
#define TARGETS 200
#define POPULAR_QUERIES 15000
#define START 1764547200LL /* 2025-12-01T00:00:00Z */
#define BATCH_MINUTES 5

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static double uniform(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

/* Zipf (s = 1) over n ranks, by its cumulative distribution. */
struct zipf {
    int n;
    double *cdf;
};

static struct zipf zipf_new(int n) {
    struct zipf z = {n, malloc((size_t)n * sizeof(double))};
    double sum = 0;
    for (int i = 0; i < n; i++)
        z.cdf[i] = sum += 1.0 / (i + 1);
    for (int i = 0; i < n; i++)
        z.cdf[i] /= sum;
    return z;
}

static int zipf_draw(const struct zipf *z) {
    double u = uniform();
    int lo = 0, hi = z->n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static long long one(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Payload bytes of a granularity's rows (text, numbers, blobs; without the
 * b-tree's own overhead): how the file divides between granularities. */
static long long payload(sqlite3 *db, const char *g) {
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT coalesce(sum(length(site) + length(type) + length(granularity) + "
             "length(dim) + 10), 0) FROM counters WHERE granularity = '%s') + "
             "(SELECT coalesce(sum(length(site) + length(granularity) + length(registers) + 12), "
             "0) FROM sketches WHERE granularity = '%s')", g, g);
    return one(db, sql);
}

#ifdef WITH_RETENTION
/* A gauge of retention's last pass, from its /metrics text. */
static double retention_gauge(const char *name) {
    char *text = NULL, *at, line[128];
    size_t len = 0;
    double v = 0;
    FILE *f = open_memstream(&text, &len);
    retention_metrics(f);
    fclose(f);
    snprintf(line, sizeof(line), "\nactivity_aggregator_%s ", name); /* not its HELP line */
    if ((at = strstr(text, line)))
        v = atof(at + strlen(line));
    free(text);
    return v;
}
#endif

/* The longest prune transaction and pass since the last report, ms. */
static double longest_txn_ms, longest_pass_ms;

static void report(const char *path, int day, long long events) {
    sqlite3 *db;
    char sql[256];
    long long rows[3];
    const char *g[3] = {"minute", "hour", "day"};
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    for (int i = 0; i < 3; i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM counters WHERE granularity = '%s'", g[i]);
        rows[i] = one(db, sql);
    }
    printf("%d\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%.1f\t%.0f\n", day,
           one(db, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"),
           events, rows[0], rows[1], rows[2],
           one(db, "SELECT count(*) FROM sketches"),
           payload(db, "minute"), payload(db, "hour"), payload(db, "day"), longest_txn_ms,
           longest_pass_ms);
    longest_txn_ms = longest_pass_ms = 0;
    fflush(stdout);
    sqlite3_close(db);
}

int main(int argc, char **argv) {
    static const char *types[] = {"pageview", "click", "search"};
    char err[512], site_names[SITES][16];
    struct zipf sites, paths, targets, queries;
    double share[SITES];
    struct store *s;
    struct rollup *r = rollup_new();
    struct arena strings = {0};
    struct rollup_event *ev;
    struct consumer_partition parts[3];
    int days, per_day, per_minute;
    long long events = 0, unique_queries = 0;
    int64_t offsets[3] = {0};
    struct timespec t0, t1;
#ifdef WITH_RETENTION
    struct retention *ret;
    /* the aggregator's defaults (aggregator/main.c) */
    const struct retention_keep keep = {{{48 * 3600, 25 * 3600}, {400 * 86400, 400 * 86400},
                                         {0, 0}},
                                        3600 * 1000};
#endif

    if (argc < 4) {
        fprintf(stderr, "usage: %s DB DAYS EVENTS_PER_DAY [REPORT_DAY...]\n", argv[0]);
        return 2;
    }
    days = atoi(argv[2]);
    per_day = atoi(argv[3]);
    per_minute = per_day / 1440;
    if (!(s = store_open(argv[1], err, sizeof(err)))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
#ifdef WITH_RETENTION
    if (!(ret = retention_open(argv[1], &keep, err, sizeof(err)))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
#endif
    sites = zipf_new(SITES), paths = zipf_new(PATHS), targets = zipf_new(TARGETS);
    queries = zipf_new(POPULAR_QUERIES);
    for (int i = 0; i < SITES; i++) {
        snprintf(site_names[i], sizeof(site_names[i]), "site-%03d.example", i);
        share[i] = sites.cdf[i] - (i ? sites.cdf[i - 1] : 0);
    }
    ev = calloc((size_t)per_minute * BATCH_MINUTES + 1, sizeof(*ev));
    printf("day\tfile_bytes\tevents\tminute_rows\thour_rows\tday_rows\tsketches\t"
           "minute_payload\thour_payload\tday_payload\tlongest_prune_txn_ms\t"
           "longest_pass_ms\n");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int day = 0; day < days; day++) {
        for (int m = 0; m < 1440; m += BATCH_MINUTES) {
            int64_t minute_ms = (START + (int64_t)day * 86400 + m * 60) * 1000;
            int n_ev = per_minute * BATCH_MINUTES;
            size_t counted;
            char dim[96];
            arena_reset(&strings);
            for (int i = 0; i < n_ev; i++) {
                struct rollup_event *e = &ev[i];
                uint64_t roll = rnd() % 100, id = (uint64_t)events + (uint64_t)i;
                int site = zipf_draw(&sites), t = roll < 72 ? 0 : roll < 92 ? 1 : 2;
                uint64_t pool = (uint64_t)(share[site] * per_day / 5) + 1;
                memset(e, 0, sizeof(*e));
                memcpy(e->event_id, &id, sizeof(id));
                e->event_id[8] = (uint8_t)day;
                e->partition = 0;
                e->site = site_names[site];
                e->type = types[t];
                e->visitor = mix64((uint64_t)site << 40 ^ (uint64_t)day << 32 ^ rnd() % pool);
                e->ts_ms = e->received_ms = minute_ms + (int64_t)(i / per_minute) * 60000 +
                                            (int64_t)(rnd() % 60000);
                e->bot = rnd() % 100 < 2;
                if (t == 0)
                    snprintf(dim, sizeof(dim), "/products/item-%d", zipf_draw(&paths));
                else if (t == 1)
                    snprintf(dim, sizeof(dim), "button-%d", zipf_draw(&targets));
                else if (rnd() % 2)
                    snprintf(dim, sizeof(dim), "recurring query %d", zipf_draw(&queries));
                else
                    snprintf(dim, sizeof(dim), "long tail query %lld", unique_queries++);
                e->zero_result = t == 2 && rnd() % 10 == 0;
                e->dim = arena_strndup(&strings, dim, strlen(dim));
#ifdef WITH_RETENTION /* this tree also follows visits (aggregator/visits.h) */
                e->page = t == 0 ? e->dim : "/products";
                e->source = rnd() % 3 ? "" : "search.example";
                e->utm_source = e->utm_medium = e->utm_campaign = "";
                e->device = rnd() % 2 ? "desktop" : "mobile";
                e->browser = "Chrome";
                e->os = "Android";
#endif
                rollup_add(r, e);
            }
            for (int t = 0; t < 3; t++) {
                int n = 0;
                for (int i = 0; i < n_ev; i++)
                    n += ev[i].type == types[t];
                /* -1: the first flush stores the partition's offset */
                parts[t] = (struct consumer_partition){NULL, 0, events ? offsets[t] : -1,
                                                       offsets[t] + n};
                offsets[t] += n;
            }
            parts[0].topic = "activity.pageview", parts[1].topic = "activity.click";
            parts[2].topic = "activity.search";
            if (store_flush(s, parts, 3, ev, (size_t)n_ev, r, 3600000, &counted, err,
                            sizeof(err)) != STORE_OK) {
                fprintf(stderr, "flush: %s\n", err);
                return 1;
            }
            rollup_reset(r);
            events += n_ev;
#ifdef WITH_RETENTION
            if ((m + BATCH_MINUTES) % 60 == 0) {
                double txn, pass;
                if (retention_run(ret, minute_ms / 1000 + BATCH_MINUTES * 60))
                    return 1;
                txn = 1e3 * retention_gauge("retention_longest_transaction_seconds");
                pass = 1e3 * retention_gauge("retention_pass_seconds");
                longest_txn_ms = txn > longest_txn_ms ? txn : longest_txn_ms;
                longest_pass_ms = pass > longest_pass_ms ? pass : longest_pass_ms;
            }
#endif
        }
        for (int i = 4; i < argc; i++)
            if (atoi(argv[i]) == day + 1)
                report(argv[1], day + 1, events);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        fprintf(stderr, "day %d done, %.0f s\n", day + 1,
                (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
#ifdef WITH_RETENTION
    retention_close(ret);
#endif
    store_close(s);
    rollup_free(r);
    arena_free(&strings);
    free(ev);
    return 0;
}
