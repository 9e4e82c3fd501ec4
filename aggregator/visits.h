/* SPDX-License-Identifier: Apache-2.0 */
/* visits: each visitor's visit (session), followed in the stream, and the
 * counters it yields (rollup.h, enum rollup_visit_count).
 *
 * A visit is a visitor's events on one site with no gap longer than the
 * timeout (--visit-timeout, 30 minutes): an event more than the timeout
 * after the visit's last one starts the next visit. Its counters are a
 * function of its events as a set, whatever order they come in: visits 1;
 * a bounce if it has exactly one pageview and no click or search; its
 * duration (latest event time minus earliest, ms) and pageviews; its entry
 * page, source (referrer host), UTM tags, device, browser and system from
 * its earliest event; its exit page from its latest pageview (no pageview:
 * the entry page). All of them are counted in the minute of its earliest
 * event (and that minute's hour and day), so a visit spanning buckets is
 * one visit, of the bucket it began in.
 *
 * Each flush counts a visit as it now stands and takes back what it
 * counted of it before (minus the stored state's counters, plus the new
 * state's; the rollup sums them, so only what changed is written): the
 * figures are exact at every moment for the visits so far, and a visit in
 * progress counts as it stands. A second pageview takes the bounce back;
 * an earlier event that arrives late moves the visit to its own minute.
 *
 * Exactly once. The state of the latest visit of each (site, visitor) is a
 * row of the `visits` table, read and written by visits_apply inside the
 * store's flush transaction (store.h), with the counters and the offsets
 * of the same events: a kill -9 before COMMIT leaves the state as it was
 * before those events (they are read again and applied again), one after
 * leaves it after them (they are not read again). A duplicate event_id
 * never reaches it (the flush drops duplicates first). Because the state
 * is in the file and not in a worker's memory, it does not matter which
 * worker holds the visitor's partitions of the three topics: the flushes
 * are serialised by SQLite's write lock, each reading what the last one
 * committed.
 *
 * Order. A visitor's pageviews, clicks and searches come from three
 * topics, so a later batch can bring an earlier event. Within one visit
 * that changes nothing (the counters are order-free, above). Across the
 * timeout it can: an event that arrives after a later visit began, and is
 * more than the timeout before that visit's first event, is counted as a
 * visit of its own (the state keeps the latest visit only); an event that
 * would have bridged two visits' gap does not merge them once the second
 * has begun. Both need an event to arrive over half an hour late.
 *
 * Memory. Open visits are rows in the file (~100 bytes plus the pages and
 * source), not worker memory: a flush holds only its batch's visitors, and
 * SQLite's page cache (64 MiB) is the only bound, so there is no limit at
 * which visits are dropped. A row is deleted by the retention pass
 * (retention.h) once its latest event was received twice the timeout
 * before the latest event counted (visit_clock; received_at is ingest's
 * clock, so this is the stream's time and not the aggregator's); a late
 * event of that visit then starts a new one. Catching up on a backlog, partitions consumed
 * more than that apart can split a visit of the one behind. */
#ifndef AGGREGATOR_VISITS_H
#define AGGREGATOR_VISITS_H

#include "rollup.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct visits;

/* Prepares the statements on db (schema 4: the visits table). NULL on an
 * SQLite error (db's message says which). */
struct visits *visits_new(sqlite3 *db);
void visits_free(struct visits *v);

/* Applies events (pointers into the batch, sorted here; bot events and
 * duplicates left out by the caller) to the stored visit state, a visit
 * ending after timeout_ms without events, and adds the counter deltas to
 * out. Call inside the write transaction. Returns
 * SQLITE_OK or the failing step's code (the transaction must then roll
 * back, and out be discarded). */
int visits_apply(struct visits *v, int64_t timeout_ms, const struct rollup_event **events,
                 size_t cnt, struct rollup *out);

/* What retention runs to delete finished visits: those whose latest event
 * was received before ?3 (the clock's seen_ms minus the time kept), in key
 * order after (?1, ?2), at most ?4 a run; the rows it returns are the
 * deleted keys, the next run starts after the largest. The stream's time,
 * not the wall clock's: an aggregator catching up on hours of backlog
 * keeps the visits it is still following. */
#define VISITS_CLOCK_SQL "SELECT seen_ms FROM visit_clock"
#define VISITS_PRUNE_SQL                                                                  \
    "DELETE FROM visits WHERE (site, visitor) IN (SELECT site, visitor FROM visits "     \
    "WHERE (site, visitor) > (?1, ?2) AND seen_ms < ?3 ORDER BY site, visitor LIMIT ?4) " \
    "RETURNING site, visitor"

#endif
