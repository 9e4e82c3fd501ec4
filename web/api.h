/* SPDX-License-Identifier: Apache-2.0 */
/* api: the query API's answers, read from the aggregator's SQLite file
 * through its documented views and tables (schema/counters.sql), every
 * query a prepared statement with bound parameters.
 *
 * A range is [from, to) in Unix seconds; "today" and dates are the site's
 * (timezone.h), and so are day buckets of a time series. Sums use the
 * coarsest granularity
 * whose buckets the range's ends fall on (day, hour, else minute), so they
 * are exact to the minute; unique visitors merge the HyperLogLog sketches of
 * those buckets.
 *
 * Retention: the aggregator deletes old buckets (its --keep-* flags) and
 * records from when each granularity is complete (the retention table). An
 * answer whose range starts before that says "partial": true with
 * "available_from" (the oldest complete bucket), and a time series gives
 * null, not 0, for the buckets that are gone. */
#ifndef WEB_API_H
#define WEB_API_H

#include "timezone.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

/* Every parameter's parsing happens here too, so the messages agree. A
 * parameter missing from the query string is NULL. */
struct api_params {
    const char *site, *type, *granularity, *from, *to, *limit, *compare;
    const struct site_tz *tz; /* the site's time zone (timezone.h); NULL: UTC */
};

/* Opens the counters file read-only (with a 5 s busy timeout). NULL with
 * errbuf naming the file and the problem. */
sqlite3 *api_db_open(const char *path, char *errbuf, size_t errsize);

/* Parses T: Unix seconds, YYYY-MM-DD (midnight in tz; NULL: UTC) or
 * RFC 3339. */
int api_parse_time(const char *s, const struct site_tz *tz, int64_t *secs);

/* The answers. NULL with errbuf naming the bad parameter (a 400), or with
 * *status set to 500/503 when the database failed. */
/* The sites, and the time zone of each that has one; with only_site (a
 * share link's, shares.h) that site alone, without reading the file. */
json_t *api_sites(sqlite3 *db, struct site_tz *const *zones, const char *only_site,
                  int *status, char *errbuf, size_t errsize);
json_t *api_summary(sqlite3 *db, const struct api_params *p, int64_t now, int *status,
                    char *errbuf, size_t errsize);
json_t *api_timeseries(sqlite3 *db, const struct api_params *p, int64_t now, int *status,
                       char *errbuf, size_t errsize);
json_t *api_top(sqlite3 *db, const struct api_params *p, int64_t now, int *status,
                char *errbuf, size_t errsize);

/* A top list or time series answer as CSV (header "dim,n" or
 * "bucket,time,n"; a pruned bucket's n empty), its text ready for a
 * spreadsheet (csv.h). malloc'd; *len its length. */
char *api_answer_csv(const json_t *answer, size_t *len);

#endif
