/* SPDX-License-Identifier: Apache-2.0 */
/* store: the aggregator's SQLite file: counters, visitor sketches, Kafka
 * offsets and recently seen event_ids (schema/counters.sql).
 *
 * Exactly once. Each partition's next offset lives in the same database as
 * the counters, and store_flush() writes both in ONE transaction:
 *   1. for every partition in the batch, a compare-and-set of its stored
 *      next offset from `start` (what this worker read when it got the
 *      partition, or wrote at its last flush) to `next`;
 *   2. for every event, a look-up of its event_id among those its
 *      partition counted within the dedup window (seen.h, in memory); an
 *      event found there (a client retry) is taken back out of the batch's
 *      pre-aggregated deltas; the new ids are written as one seen_ids row
 *      per partition;
 *   3. the counter and sketch deltas (site and value sketches), one upsert
 *      per key, except in buckets
 *      retention has deleted (retention.h: kept_from, read in the same
 *      transaction);
 *   4. the visit state of the batch's visitors and the visit counters it
 *      changes (visits.h), from the events step 2 kept.
 * If any compare-and-set finds another value, another worker owns the
 * partition now and has moved it on: the whole transaction rolls back and
 * nothing of the batch is counted (STORE_CONFLICT). So every offset range is
 * counted by exactly one committed transaction: a crash before COMMIT
 * leaves the old offset (the range is read again), a crash after leaves the
 * new one (it is not), and two workers can never both advance it.
 *
 * The ids in memory are loaded from seen_ids inside the transaction that
 * first meets the partition, and are trusted only while the chain of
 * compare-and-sets holds: reading an offset (a new assignment, or after a
 * conflict) forgets them all, and a failed flush forgets those of the
 * partitions it touched. Dedup is per partition: a retry is the same
 * request again, with the same visitor id, so Kafka's key puts it on the
 * same partition (unless the topic's partition count changes meanwhile). */
#ifndef AGGREGATOR_STORE_H
#define AGGREGATOR_STORE_H

#include "consumer.h"
#include "rollup.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 5
/* The consumer skeleton's codes, so a flush result passes straight through. */
#define STORE_OK CONSUMER_OK
#define STORE_CONFLICT CONSUMER_CONFLICT
#define STORE_ERROR CONSUMER_ERROR

struct store;

/* Opens (creating and migrating) the database. NULL with errbuf on error. */
struct store *store_open(const char *path, char *errbuf, size_t errsize);
void store_close(struct store *s);

/* A visit ends after this long without events (visits.h); 30 min unless set. */
void store_set_visit_timeout(struct store *s, int64_t ms);

/* Event ids held in memory for dedup, over all partitions. */
size_t store_seen_count(const struct store *s);

/* The stored next offset of a partition: 0 and *next set, 1 when none is
 * stored yet, STORE_ERROR on a database error. */
int store_offset(struct store *s, const char *topic, int32_t partition, int64_t *next);

/* Commits a batch as described above: events are the batch, deltas their
 * rollup (built as they arrived, outside the write lock, so workers only
 * serialise on the short transaction). *counted gets the number of events
 * that were new. STORE_OK, STORE_CONFLICT, or STORE_ERROR (the database is
 * busy or failing: nothing was written, deltas are as they were; retry the
 * same batch later). */
int store_flush(struct store *s, const struct consumer_partition *parts, int part_cnt,
                const struct rollup_event *events, size_t event_cnt, struct rollup *deltas,
                int64_t dedup_window_ms, size_t *counted, char *errbuf, size_t errsize);

#endif
