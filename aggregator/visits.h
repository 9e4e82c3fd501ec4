/* SPDX-License-Identifier: Apache-2.0 */
/* visits: each visitor's visit (session), followed in the stream, and the
 * counters it yields (rollup.h, enum rollup_visit_count).
 *
 * A visit is a visitor's events on one site with no gap longer than the
 * timeout (--visit-timeout, 30 minutes): the first event starts it, and an
 * event more than the timeout after the visit's last one starts the next.
 * Everything about a visit is counted in the minute its first event is in
 * (and that minute's hour and day): visits, its entry page, source, UTM
 * tags, device, browser and system once; its pageviews, its duration (last
 * event's time minus the first's, in ms) and whether it bounced (exactly
 * one pageview, no click or search) and its exit page (the last page
 * viewed) are updated there as it goes on: a second pageview takes the
 * bounce back (-1), a new last page moves the exit count (-1 on the old
 * one, +1 on the new). So the figures are exact at any moment for the
 * visits so far, and a visit in progress counts as it stands.
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
 * Order. Within a batch a visitor's events are applied in time order. Its
 * pageviews, clicks and searches come from three topics, so a later batch
 * can bring an earlier event: one within a visit (not before its first
 * event by more than the timeout) joins it (a pageview takes back the
 * bounce; an event before the first lengthens the duration but the visit
 * stays in its bucket; only events at or after the last move the exit
 * page); one earlier than that is a visit of its own, counted alone.
 *
 * Memory. Open visits are rows in the file (~60 bytes each plus the exit
 * page), not worker memory: a flush holds only its batch's visitors, and
 * SQLite's page cache (64 MiB) is the only bound, so there is no limit at
 * which visits are dropped. Rows whose last event is older than twice the
 * timeout are deleted by the retention pass (retention.h), after which a
 * late event of that visit starts a new one. */
#ifndef AGGREGATOR_VISITS_H
#define AGGREGATOR_VISITS_H

#include "rollup.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct visits;

/* Prepares the statements on db (schema 4: the visits table). NULL on an
 * SQLite error (db's message says which). */
struct visits *visits_new(sqlite3 *db, int64_t timeout_ms);
void visits_free(struct visits *v);

/* Applies events (pointers into the batch; bot events and duplicates left
 * out by the caller, order is free) to the stored visit state and adds the
 * counter deltas to out. Call inside the write transaction. Returns
 * SQLITE_OK or the failing step's code (the transaction must then roll
 * back, and out be discarded). */
int visits_apply(struct visits *v, const struct rollup_event **events, size_t cnt,
                 struct rollup *out);

/* The statement retention runs to delete finished visits: ?1 is the oldest
 * last_ms kept, ?2 the most rows one run deletes. */
#define VISITS_PRUNE_SQL                                                                  \
    "DELETE FROM visits WHERE (site, visitor) IN (SELECT site, visitor FROM visits "     \
    "WHERE last_ms < ?1 LIMIT ?2)"

#endif
