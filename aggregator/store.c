#include "store.h"

#include "log.h"
#include "timefmt.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char store_counters_sql[]; /* schema/counters.sql, compiled in */

enum { Q_OFFSET_GET, Q_OFFSET_INSERT, Q_OFFSET_CAS, Q_SEEN, Q_SEEN_PURGE, Q_COUNT,
       Q_SKETCH_GET, Q_SKETCH_PUT, Q_CNT };

static const char *queries[Q_CNT] = {
    "SELECT next_offset FROM kafka_offsets WHERE topic = ?1 AND partition = ?2",
    "INSERT INTO kafka_offsets (topic, partition, next_offset, updated_at) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    "UPDATE kafka_offsets SET next_offset = ?3, updated_at = ?4 "
    "WHERE topic = ?1 AND partition = ?2 AND next_offset = ?5",
    "INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?1, ?2)",
    "DELETE FROM seen_events WHERE seen_at < ?1",
    "INSERT INTO counters (site, type, granularity, bucket, dim, bot, n) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT DO UPDATE SET n = n + excluded.n",
    "SELECT registers FROM sketches WHERE site = ?1 AND granularity = ?2 AND bucket = ?3",
    "INSERT OR REPLACE INTO sketches (site, granularity, bucket, registers, estimate) "
    "VALUES (?1, ?2, ?3, ?4, ?5)",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_CNT];
    size_t *dups; /* indices of the batch's duplicates, for a rollback */
    size_t dup_cap;
    int64_t last_purge_ms;
};

void store_close(struct store *s) {
    if (!s)
        return;
    for (int i = 0; i < Q_CNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s->dups);
    free(s);
}

struct store *store_open(const char *path, char *errbuf, size_t errsize) {
    struct store *s = calloc(1, sizeof(*s));
    int version = 0, rc;
    sqlite3_stmt *st;

    rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        /* Several workers share the file: wait for each other's short
         * transactions rather than failing. */
        sqlite3_busy_timeout(s->db, 10000);
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                          "PRAGMA cache_size=-65536;", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK && sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (rc == SQLITE_OK && version > STORE_SCHEMA_VERSION) {
        snprintf(errbuf, errsize, "%s has schema version %d; this build knows up to %d",
                 path, version, STORE_SCHEMA_VERSION);
        store_close(s);
        return NULL;
    }
    if (rc == SQLITE_OK && version < STORE_SCHEMA_VERSION) {
        char sql[64];
        /* IMMEDIATE: two workers starting together migrate one after the other. */
        rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, store_counters_sql, NULL, NULL, NULL);
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        else
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    for (int i = 0; rc == SQLITE_OK && i < Q_CNT; i++)
        rc = sqlite3_prepare_v3(s->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL);
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

/* Runs a prepared write; returns sqlite's result code. */
static int store_step(sqlite3_stmt *q) {
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int store_put_count(void *ctx, const char *site, const char *type, const char *gran,
                           int64_t bucket, const char *dim, int bot, int64_t n) {
    sqlite3_stmt *q = ((struct store *)ctx)->q[Q_COUNT];
    sqlite3_bind_text(q, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, gran, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, bucket);
    sqlite3_bind_text(q, 5, dim, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 6, bot);
    sqlite3_bind_int64(q, 7, n);
    return store_step(q);
}

static int store_put_sketch(void *ctx, const char *site, const char *gran, int64_t bucket,
                            const struct hll *delta) {
    struct store *s = ctx;
    sqlite3_stmt *get = s->q[Q_SKETCH_GET], *put = s->q[Q_SKETCH_PUT];
    struct hll merged = *delta;
    int rc;
    sqlite3_bind_text(get, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(get, 2, gran, -1, SQLITE_STATIC);
    sqlite3_bind_int64(get, 3, bucket);
    rc = sqlite3_step(get);
    if (rc == SQLITE_ROW &&
        hll_merge_bytes(&merged, sqlite3_column_blob(get, 0), (size_t)sqlite3_column_bytes(get, 0)))
        log_warn("sketch %s/%s/%lld has a wrong size; replaced", site, gran, (long long)bucket);
    sqlite3_reset(get);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return rc;
    sqlite3_bind_text(put, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(put, 2, gran, -1, SQLITE_STATIC);
    sqlite3_bind_int64(put, 3, bucket);
    sqlite3_bind_blob(put, 4, merged.reg, HLL_REGISTERS, SQLITE_STATIC);
    sqlite3_bind_int64(put, 5, (sqlite3_int64)(hll_estimate(&merged) + 0.5));
    return store_step(put);
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
        sqlite3_stmt *q = s->q[Q_SEEN];
        sqlite3_bind_text(q, 1, events[i].event_id, 36, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, events[i].received_ms);
        rc = store_step(q);
        if (rc == SQLITE_OK && sqlite3_changes(s->db) == 0) {
            rollup_remove(deltas, &events[i]);
            s->dups[dup_cnt++] = i;
        }
    }
    if (rc == SQLITE_OK)
        rc = rollup_foreach_count(deltas, store_put_count, s);
    if (rc == SQLITE_OK)
        rc = rollup_foreach_sketch(deltas, store_put_sketch, s);
    if (rc == SQLITE_OK && now - s->last_purge_ms > 10000) {
        sqlite3_bind_int64(s->q[Q_SEEN_PURGE], 1, now - dedup_window_ms);
        rc = store_step(s->q[Q_SEEN_PURGE]);
        s->last_purge_ms = now;
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        *counted = event_cnt - dup_cnt;
        return STORE_OK;
    }
    if (result != STORE_CONFLICT)
        snprintf(errbuf, errsize, "SQLite: %s", sqlite3_errmsg(s->db));
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (size_t i = 0; i < dup_cnt; i++) /* the deltas as they were */
        rollup_add(deltas, &events[s->dups[i]]);
    return result;
}
