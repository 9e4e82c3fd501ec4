/* SPDX-License-Identifier: Apache-2.0 */
/* export_sink: the exporter's file sink under the consumer skeleton.
 *
 * Each partition writes one open file at a time (a new one whenever the
 * hour of received_at changes, so every file holds one contiguous offset
 * range). Between commits the rows are compressed into memory as gzip
 * members of 64 KiB of rows each; a commit appends them to the file under
 * OUT/_tmp/, fsyncs, and writes the ledger (export_ledger.h has the
 * argument). Files are
 * published by rename into type=T/dt=D/hour=H/ when they reach --max-rows,
 * --max-bytes or --max-age, when the hour changes, and when the exporter
 * stops. Multi-member gzip is standard (RFC 1952): gzip, zcat, Python,
 * BigQuery, Spark and ClickHouse read such a file as one stream. */
#ifndef AGGREGATOR_EXPORT_SINK_H
#define AGGREGATOR_EXPORT_SINK_H

#include "consumer.h"

#include <signal.h>
#include <stdatomic.h>

struct export_sink_options {
    const char *out;
    const char *topic_prefix;
    int csv;
    long max_rows;
    long max_bytes;
    long max_age_ms;
    int gzip_level;
    volatile sig_atomic_t *stop; /* set on SIGTERM: ends retry loops */
};

/* What /metrics shows. */
struct export_stats {
    atomic_long rows, bytes, files, skipped, write_errors;
    atomic_int open_files, failing; /* failing: the last write attempt failed */
};
extern struct export_stats export_stats;

struct export_sink;

struct export_sink *export_sink_new(const struct export_sink_options *o);
/* Fills the consumer's sink ops (tick left to the caller). */
void export_sink_ops(struct export_sink *s, struct consumer_sink *ops);
/* Publishes open files that have been idle past --max-age. */
void export_sink_tick(struct export_sink *s);
/* Publishes this process's committed open files (on a clean stop). */
void export_sink_finish(struct export_sink *s);
void export_sink_free(struct export_sink *s);

/* The file name suffix for a format: ".ndjson.gz" or ".csv.gz". */
const char *export_file_ext(int csv);

#endif
