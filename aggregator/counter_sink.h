/* SPDX-License-Identifier: Apache-2.0 */
/* counter_sink: the aggregator's sink under the consumer skeleton
 * (consumer.h): Kafka messages in, counters in SQLite (store.h) out.
 *
 * Two threads share the work so that one worker uses two cores: the
 * consumer thread parses each message into the current batch; a writer
 * thread meanwhile pre-aggregates the previous batch, stores it with
 * store_flush() and frees it. At most one batch is being stored at a time, and
 * batches are stored in the order they were cut, so the offset
 * compare-and-set chain of store.h holds unchanged: batch N+1's expected
 * start offsets are batch N's next offsets, and N is committed (or has
 * failed) before N+1's transaction begins.
 *
 * The skeleton's flush therefore returns as soon as the batch is handed
 * over, and learns how the store went at the next flush:
 *   - stored: the handed-over batch is done; the new one is handed over.
 *   - STORE_ERROR (database busy or failing): the old batch is tried again
 *     first; while it keeps failing, the flush answers CONSUMER_ERROR and
 *     the skeleton holds consumption and retries, keeping the new batch.
 *   - STORE_CONFLICT (another worker moved a partition on): nothing of the
 *     old batch was stored; the flush answers CONSUMER_CONFLICT, the
 *     skeleton discards the new batch too and re-reads the stored offsets.
 * discard waits for the batch being stored; one that fails then is dropped
 * with a warning, which is safe for the reason consumer.h gives: its
 * offsets were not stored either. Offsets go to Kafka (for lag tools) at
 * hand-over, so they may run one batch ahead of the stored ones; the stored
 * ones are the only ones read back. */
#ifndef AGGREGATOR_COUNTER_SINK_H
#define AGGREGATOR_COUNTER_SINK_H

#include "consumer.h"
#include "store.h"

#include <stdint.h>
#include <stdio.h>

struct counter_sink;

/* Starts the writer thread; the store stays the caller's, and must outlive
 * the sink. An event whose ts is more than max_past_ms before its
 * received_at (0: no limit) is not counted, so that no client can write
 * counters (and sketches) for arbitrary history; the exporter still has it. */
struct counter_sink *counter_sink_new(struct store *store, int64_t max_future_ms,
                                      int64_t max_past_ms, int64_t dedup_window_ms);
/* The callbacks for consumer_run, with the sink as their context. */
struct consumer_sink counter_sink_callbacks(struct counter_sink *s);
/* Waits for the batch being stored, stops the writer, frees everything. */
void counter_sink_free(struct counter_sink *s);

/* Prometheus lines: events counted, duplicates, skipped messages, events
 * too old to count. */
void counter_sink_metrics(FILE *f);
/* The same three totals, for the exit log line. */
void counter_sink_totals(long *counted, long *duplicates, long *skipped);

#endif
