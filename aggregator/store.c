/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include "log.h"
#include "retention.h"
#include "seen.h"
#include "timefmt.h"
#include "visits.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const char store_counters_sql[]; /* schema/counters.sql, compiled in */

enum { Q_OFFSET_GET, Q_OFFSET_INSERT, Q_OFFSET_CAS, Q_SEEN_GET, Q_SEEN_PUT, Q_SEEN_PURGE,
       Q_COUNT, Q_COUNT_VISITORS, Q_SKETCH_GET, Q_SKETCH_PUT, Q_KEPT_FROM, Q_CNT };

static const char *queries[Q_CNT] = {
    "SELECT next_offset FROM kafka_offsets WHERE topic = ?1 AND partition = ?2",
    "INSERT INTO kafka_offsets (topic, partition, next_offset, updated_at) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    "UPDATE kafka_offsets SET next_offset = ?3, updated_at = ?4 "
    "WHERE topic = ?1 AND partition = ?2 AND next_offset = ?5",
    "SELECT newest_ms, ids FROM seen_ids WHERE type = ?1 AND partition = ?2",
    "INSERT INTO seen_ids (type, partition, newest_ms, ids) VALUES (?1, ?2, ?3, ?4)",
    "DELETE FROM seen_ids WHERE type = ?1 AND partition = ?2 AND newest_ms < ?3",
    "INSERT INTO counters (site, type, granularity, bucket, dim, bot, n) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT DO UPDATE SET n = n + excluded.n",
    /* a value's hour or day: its count and its visitors in one write (n 0:
     * the visitors alone, a count delta that summed to nothing) */
    "INSERT INTO counters (site, type, granularity, bucket, dim, bot, n, visitors) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO UPDATE SET n = n + excluded.n, "
    "visitors = activity_hll_union(visitors, excluded.visitors)",
    "SELECT registers FROM sketches WHERE site = ?1 AND granularity = ?2 AND bucket = ?3",
    "INSERT OR REPLACE INTO sketches (site, granularity, bucket, registers, estimate) "
    "VALUES (?1, ?2, ?3, ?4, ?5)",
    RETENTION_KEPT_FROM_SQL,
};

/* One partition's dedup state: its ids in memory (loaded from seen_ids the
 * first time a flush meets the partition), and the ids the flush under way
 * adds, for the one row it writes. */
struct seen_part {
    const char *type;
    int32_t partition;
    struct seen *seen;
    uint8_t *added;
    size_t added_len, added_cap;
    int64_t added_newest;
    int64_t purged_at; /* the partition's time at its last purge */
    int touched;       /* by the flush under way */
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_CNT];
    size_t *dups; /* indices of the batch's duplicates, for a rollback */
    size_t dup_cap;
    struct seen_part *parts;
    int part_cnt, part_cap, last_part;
    uint8_t *sketch_form; /* a sketch's stored form, HLL_REGISTERS bytes */
    uint8_t *union_form;  /* activity_hll_union's answer, HLL_REGISTERS bytes */
    struct visits *visits;
    int64_t visit_timeout_ms;
    struct rollup *visit_deltas;        /* the flush's visit counters */
    const struct rollup_event **humans; /* the flush's new events not from bots */
    size_t human_cap;
    /* retention: buckets before these are deleted, so not written again */
    int64_t kept_from[ROLLUP_GRAN_CNT][RETENTION_SCOPE_CNT];
};

static void seen_part_free(struct seen_part *p) {
    seen_free(p->seen);
    free(p->added);
}

/* Forgets the dedup state of every partition (all = 1) or of those the
 * failed flush touched: what a worker holds in memory is only known to
 * match the database while its offset compare-and-sets succeed. */
static void seen_parts_drop(struct store *s, int all) {
    int kept = 0;
    for (int i = 0; i < s->part_cnt; i++) {
        if (all || s->parts[i].touched)
            seen_part_free(&s->parts[i]);
        else
            s->parts[kept++] = s->parts[i];
    }
    s->part_cnt = kept;
    s->last_part = 0;
}

void store_close(struct store *s) {
    if (!s)
        return;
    for (int i = 0; i < Q_CNT; i++)
        sqlite3_finalize(s->q[i]);
    visits_free(s->visits);
    sqlite3_close(s->db);
    seen_parts_drop(s, 1);
    rollup_free(s->visit_deltas);
    free(s->humans);
    free(s->parts);
    free(s->dups);
    free(s->sketch_form);
    free(s->union_form);
    free(s);
}

void store_set_visit_timeout(struct store *s, int64_t ms) { s->visit_timeout_ms = ms; }

size_t store_seen_count(const struct store *s) {
    size_t n = 0;
    for (int i = 0; i < s->part_cnt; i++)
        n += seen_count(s->parts[i].seen);
    return n;
}

/* Runs a prepared write; returns sqlite's result code. */
static int store_step(sqlite3_stmt *q) {
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Schema 3 stores sketches sparse when that is smaller (hll.h): rewrites
 * the dense ones of an older file, a thousand at a time in key order. */
static int store_compact_sketches(sqlite3 *db, long *converted) {
    sqlite3_stmt *get = NULL, *put = NULL;
    struct hll *h = malloc(sizeof(*h));
    uint8_t *form = malloc(HLL_REGISTERS);
    char site[1024] = "", gran[16] = "";
    int64_t bucket = INT64_MIN;
    int rc, rows;
    if (!h || !form)
        abort();
    rc = sqlite3_prepare_v2(db,
                            "SELECT site, granularity, bucket, registers FROM sketches "
                            "WHERE (site, granularity, bucket) > (?1, ?2, ?3) "
                            "AND length(registers) = 16384 ORDER BY site, granularity, bucket "
                            "LIMIT 1000", -1, &get, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db,
                                "UPDATE sketches SET registers = ?4 WHERE site = ?1 AND "
                                "granularity = ?2 AND bucket = ?3", -1, &put, NULL);
    do {
        rows = 0;
        if (rc != SQLITE_OK)
            break;
        sqlite3_bind_text(get, 1, site, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(get, 2, gran, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(get, 3, bucket);
        while (rc == SQLITE_OK && (rc = sqlite3_step(get)) == SQLITE_ROW) {
            double estimate;
            size_t len;
            rc = SQLITE_OK;
            rows++;
            snprintf(site, sizeof(site), "%s", (const char *)sqlite3_column_text(get, 0));
            snprintf(gran, sizeof(gran), "%s", (const char *)sqlite3_column_text(get, 1));
            bucket = sqlite3_column_int64(get, 2);
            memset(h, 0, sizeof(*h));
            hll_merge_bytes(h, sqlite3_column_blob(get, 3), HLL_REGISTERS);
            if ((len = hll_store_form(h, form, &estimate)) == HLL_REGISTERS)
                continue;
            sqlite3_bind_text(put, 1, site, -1, SQLITE_STATIC);
            sqlite3_bind_text(put, 2, gran, -1, SQLITE_STATIC);
            sqlite3_bind_int64(put, 3, bucket);
            sqlite3_bind_blob(put, 4, form, (int)len, SQLITE_STATIC);
            if ((rc = store_step(put)) == SQLITE_OK)
                (*converted)++;
        }
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        sqlite3_reset(get);
    } while (rows == 1000);
    sqlite3_finalize(get);
    sqlite3_finalize(put);
    free(h);
    free(form);
    return rc;
}

/* Incremental auto-vacuum lets retention (retention.h) give the space it
 * frees back to the file system. A new file gets it before its first
 * table; an older one only through one VACUUM, which rewrites the file (and
 * drops the space the dense sketches held). It runs once, at the upgrade;
 * failing (a full disk: VACUUM needs room for the new copy) leaves a file
 * that works and only does not shrink, so it is a warning. */
static int store_vacuum_once(sqlite3 *db, const char *path) {
    sqlite3_stmt *st;
    int mode = 0, rc;
    if ((rc = sqlite3_prepare_v2(db, "PRAGMA auto_vacuum", -1, &st, NULL)) != SQLITE_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        mode = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (mode == 2)
        return SQLITE_OK;
    log_info("%s: compacting the file and turning on incremental vacuum (once)", path);
    rc = sqlite3_exec(db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", NULL, NULL, NULL);
    if (rc == SQLITE_BUSY)
        return rc;
    if (rc != SQLITE_OK)
        log_warn("%s: VACUUM failed (%s); the file works but will not shrink until it "
                 "succeeds at a later start", path, sqlite3_errmsg(db));
    return SQLITE_OK;
}

/* WAL mode, then the schema: read its version and migrate an older one.
 * SQLITE_OK with *version set, or the failing step's code. */
static int store_setup(struct store *s, const char *path, int *version) {
    sqlite3_stmt *st;
    char sql[64];
    long converted = 0;
    int rc = sqlite3_exec(s->db, "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; "
                          "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    *version = 0;
    if ((rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL)) != SQLITE_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (*version >= STORE_SCHEMA_VERSION)
        return *version == STORE_SCHEMA_VERSION ? store_vacuum_once(s->db, path) : SQLITE_OK;
    /* IMMEDIATE: two workers starting together migrate one after the other. */
    rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, store_counters_sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK && *version > 0 && *version < 3)
        rc = store_compact_sketches(s->db, &converted);
    if (rc == SQLITE_OK && *version > 0 && *version < 5) /* no rewrite: old rows read NULL */
        rc = sqlite3_exec(s->db, "ALTER TABLE counters ADD COLUMN visitors BLOB", NULL, NULL, NULL);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    else
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    if (*version > 0)
        log_info("%s: schema %d -> %d (%ld sketches stored sparse; visits (schema 4) and the "
                 "visitors of each value (5) are counted from now on)", path, *version,
                 STORE_SCHEMA_VERSION, converted);
    *version = STORE_SCHEMA_VERSION;
    return store_vacuum_once(s->db, path);
}

/* activity_hll_union(stored, batch): the union of two stored sketches, so
 * that an upsert merges a value's visitors without reading them first. */
static void sql_hll_union(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    struct store *s = sqlite3_user_data(ctx);
    int malformed = 0;
    size_t len = hll_union_forms(sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0]),
                                 sqlite3_value_blob(argv[1]), (size_t)sqlite3_value_bytes(argv[1]),
                                 s->union_form, &malformed);
    (void)argc;
    if (malformed)
        log_warn("a value's stored visitors were malformed; replaced by this batch's");
    sqlite3_result_blob(ctx, s->union_form, (int)len, SQLITE_TRANSIENT);
}

struct store *store_open(const char *path, char *errbuf, size_t errsize) {
    struct store *s = calloc(1, sizeof(*s));
    int version = 0, rc;

    rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        /* Several workers share the file: wait for each other's short
         * transactions rather than failing. */
        sqlite3_busy_timeout(s->db, 10000);
        /* The busy handler is not always asked: workers starting together
         * on a new file (still in rollback-journal mode) can each hold a
         * read lock and want the write lock to switch to WAL, and SQLite
         * answers one of them SQLITE_BUSY at once rather than deadlock
         * (1 in 20 of 4 workers started at once exited "database is
         * locked"). That one tries again, for as long as the timeout. */
        for (int waited_ms = 0; (rc = store_setup(s, path, &version)) == SQLITE_BUSY && waited_ms < 10000;
             waited_ms += 10)
            usleep(10 * 1000);
    }
    if (rc == SQLITE_OK && version > STORE_SCHEMA_VERSION) {
        snprintf(errbuf, errsize, "%s has schema version %d; this build knows up to %d",
                 path, version, STORE_SCHEMA_VERSION);
        store_close(s);
        return NULL;
    }
    if (!(s->sketch_form = malloc(HLL_REGISTERS)) || !(s->union_form = malloc(HLL_REGISTERS)))
        abort();
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(s->db, "activity_hll_union", 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, s,
                                        sql_hll_union, NULL, NULL, NULL);
    for (int i = 0; rc == SQLITE_OK && i < Q_CNT; i++)
        rc = sqlite3_prepare_v3(s->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL);
    if (rc == SQLITE_OK && !(s->visits = visits_new(s->db)))
        rc = SQLITE_ERROR;
    s->visit_timeout_ms = 30 * 60 * 1000;
    s->visit_deltas = rollup_new();
    if (rc != SQLITE_OK) {
        snprintf(errbuf, errsize, "%s: %s", path, sqlite3_errmsg(s->db));
        store_close(s);
        return NULL;
    }
    return s;
}

int store_offset(struct store *s, const char *topic, int32_t partition, int64_t *next) {
    sqlite3_stmt *q = s->q[Q_OFFSET_GET];
    int rc;
    /* Positions are read when partitions are assigned or after a conflict:
     * another worker may have counted them meanwhile. */
    seen_parts_drop(s, 1);
    sqlite3_bind_text(q, 1, topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, partition);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *next = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return 1;
    log_error("reading the offset of %s [%d]: %s", topic, partition, sqlite3_errmsg(s->db));
    return STORE_ERROR;
}

static int store_put_count(void *ctx, const char *site, const char *type, const char *gran,
                           int64_t bucket, const char *dim, int bot, int64_t n,
                           struct hll_small *visitors) {
    struct store *s = ctx;
    sqlite3_stmt *q = s->q[visitors ? Q_COUNT_VISITORS : Q_COUNT];
    int scope = *dim ? RETENTION_DIMS : RETENTION_TOTALS, malformed;
    double estimate;
    if (bucket < s->kept_from[rollup_granularity_parse(gran)][scope])
        return SQLITE_OK; /* retention deleted this bucket: a late event's row would be
                             an incomplete figure where the web says there is none */
    if (visitors) /* the batch's alone: activity_hll_union merges the stored ones */
        sqlite3_bind_blob(q, 8, s->sketch_form,
                          (int)hll_small_store_form(visitors, NULL, 0, s->sketch_form, &malformed,
                                                    &estimate),
                          SQLITE_STATIC);
    sqlite3_bind_text(q, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, gran, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, bucket);
    sqlite3_bind_text(q, 5, dim, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 6, bot);
    sqlite3_bind_int64(q, 7, n);
    return store_step(q);
}

static int store_put_site_sketch(struct store *s, const char *site, const char *gran,
                                 int64_t bucket, struct hll_small *delta) {
    sqlite3_stmt *get = s->q[Q_SKETCH_GET], *put = s->q[Q_SKETCH_PUT];
    double estimate;
    size_t len;
    int rc, malformed = 0;
    if (bucket < s->kept_from[rollup_granularity_parse(gran)][RETENTION_TOTALS])
        return SQLITE_OK;
    sqlite3_bind_text(get, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(get, 2, gran, -1, SQLITE_STATIC);
    sqlite3_bind_int64(get, 3, bucket);
    rc = sqlite3_step(get);
    len = hll_small_store_form(delta, rc == SQLITE_ROW ? sqlite3_column_blob(get, 0) : NULL,
                               rc == SQLITE_ROW ? (size_t)sqlite3_column_bytes(get, 0) : 0,
                               s->sketch_form, &malformed, &estimate);
    sqlite3_reset(get);
    if (malformed)
        log_warn("sketch %s/%s/%lld is malformed; replaced", site, gran, (long long)bucket);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return rc;
    sqlite3_bind_text(put, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(put, 2, gran, -1, SQLITE_STATIC);
    sqlite3_bind_int64(put, 3, bucket);
    sqlite3_bind_blob(put, 4, s->sketch_form, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(put, 5, (sqlite3_int64)(estimate + 0.5));
    return store_step(put);
}

static int store_put_sketch(void *ctx, const char *site, const char *type, const char *gran,
                            int64_t bucket, const char *dim, struct hll_small *delta) {
    /* a value's sketch whose count delta summed to 0: its visitors alone */
    return type ? store_put_count(ctx, site, type, gran, bucket, dim, 0, 0, delta)
                : store_put_site_sketch(ctx, site, gran, bucket, delta);
}

/* Loads a partition's stored ids into a new state; SQLite's result code. */
static int seen_part_load(struct store *s, struct seen_part *p, int64_t window_ms) {
    sqlite3_stmt *q = s->q[Q_SEEN_GET];
    int rc;
    *p = (struct seen_part){.type = p->type, .partition = p->partition,
                            .seen = seen_new(window_ms), .purged_at = INT64_MIN / 2, .touched = 1};
    sqlite3_bind_text(q, 1, p->type, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, p->partition);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t ms = sqlite3_column_int64(q, 0);
        const uint8_t *ids = sqlite3_column_blob(q, 1);
        size_t n = (size_t)sqlite3_column_bytes(q, 1) / 16;
        for (size_t i = 0; i < n; i++)
            seen_add(p->seen, ids + 16 * i, ms);
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The dedup state of an event's partition, loaded on first use. */
static struct seen_part *seen_part_of(struct store *s, const struct rollup_event *ev,
                                      int64_t window_ms, int *rc) {
    struct seen_part *p;
    if (s->part_cnt) {
        p = &s->parts[s->last_part]; /* a batch holds runs from one partition */
        if (p->partition == ev->partition && !strcmp(p->type, ev->type))
            return p;
    }
    for (int i = 0; i < s->part_cnt; i++) {
        p = &s->parts[i];
        if (p->partition == ev->partition && !strcmp(p->type, ev->type)) {
            s->last_part = i;
            return p;
        }
    }
    if (s->part_cnt == s->part_cap) {
        s->part_cap = s->part_cap ? 2 * s->part_cap : 8;
        if (!(s->parts = realloc(s->parts, (size_t)s->part_cap * sizeof(*s->parts))))
            abort();
    }
    s->last_part = s->part_cnt++;
    p = &s->parts[s->last_part];
    p->type = ev->type;
    p->partition = ev->partition;
    *rc = seen_part_load(s, p, window_ms);
    return p;
}

/* 1 when the event was counted before; otherwise notes its id for the
 * partition's row. */
static int seen_part_add(struct seen_part *p, const struct rollup_event *ev) {
    p->touched = 1;
    if (seen_add(p->seen, ev->event_id, ev->received_ms))
        return 1;
    if (p->added_len + 16 > p->added_cap) {
        p->added_cap = p->added_cap ? 2 * p->added_cap : 4096;
        if (!(p->added = realloc(p->added, p->added_cap)))
            abort();
    }
    if (!p->added_len || ev->received_ms > p->added_newest)
        p->added_newest = ev->received_ms;
    memcpy(p->added + p->added_len, ev->event_id, 16);
    p->added_len += 16;
    return 0;
}

/* Writes the flush's new ids, one row per partition, and drops rows that
 * have left the window (checked every 10 s of the partition's time). */
static int seen_parts_store(struct store *s, int64_t window_ms) {
    int rc = SQLITE_OK;
    for (int i = 0; rc == SQLITE_OK && i < s->part_cnt; i++) {
        struct seen_part *p = &s->parts[i];
        int64_t newest = seen_newest(p->seen);
        sqlite3_stmt *q;
        if (!p->touched)
            continue;
        if (p->added_len) {
            q = s->q[Q_SEEN_PUT];
            sqlite3_bind_text(q, 1, p->type, -1, SQLITE_STATIC);
            sqlite3_bind_int(q, 2, p->partition);
            sqlite3_bind_int64(q, 3, p->added_newest);
            sqlite3_bind_blob(q, 4, p->added, (int)p->added_len, SQLITE_STATIC);
            rc = store_step(q);
        }
        if (rc == SQLITE_OK && newest - p->purged_at >= 10000) {
            q = s->q[Q_SEEN_PURGE];
            sqlite3_bind_text(q, 1, p->type, -1, SQLITE_STATIC);
            sqlite3_bind_int(q, 2, p->partition);
            sqlite3_bind_int64(q, 3, newest - window_ms);
            rc = store_step(q);
            p->purged_at = newest;
        }
    }
    return rc;
}

/* Step 4 of store_flush: the visits of the batch's new events from people
 * (s->dups holds the duplicates' indices, ascending). */
static int store_apply_visits(struct store *s, const struct rollup_event *events,
                              size_t event_cnt, size_t dup_cnt) {
    size_t n = 0, d = 0;
    if (s->human_cap < event_cnt) {
        s->human_cap = event_cnt;
        if (!(s->humans = realloc(s->humans, event_cnt * sizeof(*s->humans))))
            abort();
    }
    for (size_t i = 0; i < event_cnt; i++) {
        if (d < dup_cnt && s->dups[d] == i) {
            d++;
            continue;
        }
        if (!events[i].bot)
            s->humans[n++] = &events[i];
    }
    rollup_reset(s->visit_deltas);
    int rc = visits_apply(s->visits, s->visit_timeout_ms, s->humans, n, s->visit_deltas);
    if (rc == SQLITE_OK)
        rc = rollup_foreach_count(s->visit_deltas, store_put_count, s);
    return rc == SQLITE_OK ? rollup_foreach_sketch(s->visit_deltas, store_put_sketch, s) : rc;
}

int store_flush(struct store *s, const struct consumer_partition *parts, int part_cnt,
                const struct rollup_event *events, size_t event_cnt, struct rollup *deltas,
                int64_t dedup_window_ms, size_t *counted, char *errbuf, size_t errsize) {
    int64_t now = timefmt_now_ms();
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    int result = STORE_ERROR;
    size_t dup_cnt = 0;

    *counted = 0;
    if (s->dup_cap < event_cnt) {
        s->dup_cap = event_cnt;
        s->dups = realloc(s->dups, event_cnt * sizeof(*s->dups));
        if (!s->dups)
            abort();
    }
    for (int i = 0; rc == SQLITE_OK && i < part_cnt; i++) {
        const struct consumer_partition *p = &parts[i];
        sqlite3_stmt *q = s->q[p->start < 0 ? Q_OFFSET_INSERT : Q_OFFSET_CAS];
        sqlite3_bind_text(q, 1, p->topic, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, p->partition);
        sqlite3_bind_int64(q, 3, p->next);
        sqlite3_bind_int64(q, 4, now);
        if (p->start >= 0)
            sqlite3_bind_int64(q, 5, p->start);
        rc = store_step(q);
        if (rc == SQLITE_OK && sqlite3_changes(s->db) != 1) {
            snprintf(errbuf, errsize,
                     "%s [%d] was moved on by another worker (expected offset %lld)",
                     p->topic, p->partition, (long long)p->start);
            result = STORE_CONFLICT;
            rc = SQLITE_ABORT;
        }
    }
    for (size_t i = 0; rc == SQLITE_OK && i < event_cnt; i++) {
        struct seen_part *p = seen_part_of(s, &events[i], dedup_window_ms, &rc);
        if (rc == SQLITE_OK && seen_part_add(p, &events[i])) {
            rollup_remove(deltas, &events[i]);
            s->dups[dup_cnt++] = i;
        }
    }
    if (rc == SQLITE_OK)
        rc = seen_parts_store(s, dedup_window_ms);
    if (rc == SQLITE_OK)
        /* in the transaction: a prune's new kept_from is seen by every
         * flush that commits after it */
        rc = retention_read_kept_from(s->q[Q_KEPT_FROM], s->kept_from);
    if (rc == SQLITE_OK)
        rc = rollup_foreach_count(deltas, store_put_count, s);
    if (rc == SQLITE_OK)
        rc = rollup_foreach_sketch(deltas, store_put_sketch, s);
    if (rc == SQLITE_OK)
        rc = store_apply_visits(s, events, event_cnt, dup_cnt);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        for (int i = 0; i < s->part_cnt; i++)
            s->parts[i].touched = 0, s->parts[i].added_len = 0;
        *counted = event_cnt - dup_cnt;
        return STORE_OK;
    }
    if (result != STORE_CONFLICT)
        snprintf(errbuf, errsize, "SQLite: %s", sqlite3_errmsg(s->db));
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    seen_parts_drop(s, 0);
    for (size_t i = 0; i < dup_cnt; i++) /* the deltas as they were */
        rollup_add(deltas, &events[s->dups[i]]);
    return result;
}
