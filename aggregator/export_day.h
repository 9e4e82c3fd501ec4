/* SPDX-License-Identifier: Apache-2.0 */
/* export_day: closing a day for the nightly load, and checking it.
 *
 * Closing day D writes, for each type with rows that day,
 * type=T/dt=D/_manifest.json (every file with its rows, bytes, sha256,
 * topic, partition and offset range; the schema version; totals) and then
 * an empty _SUCCESS, both atomically. A day is ready once every partition
 * of the type's topic is past the end of D plus the grace period: its
 * newest exported received_at is past it, or it was fully read at a moment
 * past it; and no partition still holds an unpublished file of D. */
#ifndef AGGREGATOR_EXPORT_DAY_H
#define AGGREGATOR_EXPORT_DAY_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>

/* Closes D ("YYYY-MM-DD") for every type with files that day, now, ready or
 * not; publishes pending renames first. Refuses, naming the partition, when
 * a partition still has an open file holding rows of D. Returns the number
 * of types closed, or -1 with errbuf. */
int export_day_close(const char *out, const char *topic_prefix, const char *date, int csv,
                     char *errbuf, size_t errsize);

/* Re-checks a closed day: every manifest entry's size, sha256, row count
 * and offsets; files on disk the manifest lacks; offset ranges per
 * partition without overlaps, and without gaps other than those filled by
 * the neighbouring days. Prints each problem to report, naming the file.
 * Returns the number of problems, or -1 when there is no such day. */
int export_day_verify(const char *out, const char *date, int csv, FILE *report);

/* Closes every day that is ready; at most once per 10 s. */
void export_day_autoclose(const char *out, const char *topic_prefix, int csv, int64_t grace_ms,
                          rd_kafka_t *rk);

#endif
