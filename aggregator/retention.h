/* SPDX-License-Identifier: Apache-2.0 */
/* retention: keeps the counters file bounded. Each granularity's buckets
 * are kept for a configured time (a minute's per-dimension counts can have
 * a shorter one than its totals), then deleted, and the freed pages go back
 * to the file system (incremental auto-vacuum, store.c turns it on).
 *
 * A pass, on its own connection (never inside a counted batch):
 *   1. kept_from, per granularity and scope, moves forward to the start of
 *      the oldest bucket still inside its window, in one short transaction
 *      of the retention table (it never moves back: a bucket once pruned
 *      stays incomplete);
 *   2. rows and sketches before kept_from are deleted, at most
 *      RETENTION_ROWS_PER_TXN (sketches: RETENTION_SKETCHES_PER_TXN) per
 *      transaction, so a worker's flush waits for at most one of them;
 *      Finished visits' state (visits.h) goes the same way;
 *   3. free pages are returned, RETENTION_PAGES_PER_TXN per transaction;
 *   4. the file's size is read, and every RETENTION_COUNT_EVERY passes the
 *      rows and sketches per granularity are counted for the metrics (a
 *      read of whole tables: WAL readers do not block the writers, but its
 *      cost grows with the file, a few seconds at ten million rows).
 * Exactly once is untouched: a prune writes no offset and no seen id, and a
 * flush reads kept_from in its own transaction and writes nothing before it
 * (store.c), so a bucket is either still counted exactly or reported
 * incomplete by activity-web, never silently short. Every worker may run
 * passes; a second one finds nothing left to do. */
#ifndef AGGREGATOR_RETENTION_H
#define AGGREGATOR_RETENTION_H

#include "rollup.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#define RETENTION_ROWS_PER_TXN 500
#define RETENTION_SKETCHES_PER_TXN 100
#define RETENTION_PAGES_PER_TXN 64
#define RETENTION_COUNT_EVERY 6 /* 30 minutes at the default --retention-interval */

enum retention_scope { RETENTION_TOTALS, RETENTION_DIMS, RETENTION_SCOPE_CNT };

/* Seconds each granularity's buckets are kept; 0 keeps them forever.
 * RETENTION_TOTALS covers the dim = '' counts and the sketches. */
struct retention_keep {
    int64_t secs[ROLLUP_GRAN_CNT][RETENTION_SCOPE_CNT];
    /* a visit's state (visits.h) is deleted this long after its latest
     * event, in the stream's time (0: never): twice the visit timeout */
    int64_t visit_state_ms;
};

struct retention;

/* Opens its own connection to the counters file store_open created. */
struct retention *retention_open(const char *path, const struct retention_keep *keep,
                                 char *errbuf, size_t errsize);
/* One pass as above, with now in Unix seconds (the simulation in
 * scripts/bench passes its own). 0, or -1 after logging the error. */
int retention_run(struct retention *r, int64_t now);
/* Runs a pass now and then every interval_secs on a thread of its own. */
void retention_start(struct retention *r, long interval_secs);
/* Stops the thread (waiting for the transaction under way) and closes. */
void retention_close(struct retention *r);

/* Reads kept_from (INT64_MIN where nothing was pruned) with q, a prepared
 * RETENTION_KEPT_FROM_SQL; a flush does this in its transaction (store.c).
 * SQLite's result code. */
#define RETENTION_KEPT_FROM_SQL "SELECT granularity, scope, kept_from FROM retention"
int retention_read_kept_from(sqlite3_stmt *q,
                             int64_t kept_from[ROLLUP_GRAN_CNT][RETENTION_SCOPE_CNT]);

/* The last pass's figures as Prometheus lines (worker_metrics). */
void retention_metrics(FILE *f);

#endif
