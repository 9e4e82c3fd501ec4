/* SPDX-License-Identifier: Apache-2.0 */
/* rollup: from canonical events to counter deltas, in memory.
 *
 * canonical_parse() (canonical.h) fills a rollup_event from a Kafka message;
 * rollup_add() pre-aggregates: every event touches its minute's total and
 * dimension counters, 3 visitor sketches (minute, hour, day) and 2 of its
 * value's (hour, day), so a flush
 * writes one upsert per distinct key, however many events it covers; the
 * hour and day counters are summed from the minutes when they are visited. */
#ifndef AGGREGATOR_ROLLUP_H
#define AGGREGATOR_ROLLUP_H

#include "event.h"
#include "hll.h"

#include <stddef.h>
#include <stdint.h>

enum rollup_granularity { ROLLUP_MINUTE, ROLLUP_HOUR, ROLLUP_DAY, ROLLUP_GRAN_CNT };

struct rollup_event {
    uint8_t event_id[16]; /* the UUID's bytes */
    int32_t partition;    /* where Kafka delivered it (set by the sink) */
    const char *site;  /* site and dim: in the parser's arena (canonical.h) */
    const char *dim;   /* path, target or query */
    const char *type;  /* "pageview", "click", "search" */
    const char *page;  /* the url's path (every type has a url), for visits */
    /* where the visit came from and on what, for the visit an event starts
     * (visits.h): the referrer's host ("" direct), utm_* of the url ("" none),
     * and the fields ingest read from the user agent ("Other" when absent) */
    const char *source, *utm_source, *utm_medium, *utm_campaign;
    const char *device, *browser, *os;
    uint64_t visitor;  /* hll_hash of anonymous_id, else user_id */
    int64_t ts_ms;     /* event time, clamped (see canonical_parse) */
    int64_t received_ms;
    int bot;
    int zero_result;   /* a search with results == 0 */
};

const char *rollup_granularity_name(enum rollup_granularity g);
/* The counters table's type names: the events' (pageview, click, search,
 * zero_result_search), then the visits' (below); t < ROLLUP_TYPE_CNT. */
#define ROLLUP_TYPE_CNT 17
const char *rollup_type_name(int t);
/* The granularity named name ("minute", "hour", "day"); -1 for any other. */
int rollup_granularity_parse(const char *name);
/* Start of the bucket holding ts_ms, in Unix seconds. */
int64_t rollup_bucket(enum rollup_granularity g, int64_t ts_ms);

struct rollup;

struct rollup *rollup_new(void);
void rollup_add(struct rollup *r, const struct rollup_event *ev);

/* The counters visits.h keeps, in the counters table under these type
 * names: "visit", "bounce", "visit_ms", "visit_pageviews" (dim '' only),
 * "entry", "exit", "source", "utm_source", "utm_medium", "utm_campaign",
 * "device", "browser", "os" (one row per value, no total). The values are
 * stored by the hour and day only: per minute they would double the
 * minute rows retention keeps, for top lists of ranges shorter than an
 * hour. */
enum rollup_visit_count {
    ROLLUP_VISIT, ROLLUP_BOUNCE, ROLLUP_VISIT_MS, ROLLUP_VISIT_PAGEVIEWS, ROLLUP_ENTRY,
    ROLLUP_EXIT, ROLLUP_SOURCE, ROLLUP_UTM_SOURCE, ROLLUP_UTM_MEDIUM, ROLLUP_UTM_CAMPAIGN,
    ROLLUP_DEVICE, ROLLUP_BROWSER, ROLLUP_OS, ROLLUP_VISIT_COUNT_CNT
};
/* Adds n to one visit counter of the minute holding ts_ms (hours and days
 * are derived as for events). Never bot-flagged: bots make no visits. */
void rollup_add_visit(struct rollup *r, enum rollup_visit_count what, const char *site,
                      int64_t ts_ms, const char *dim, int64_t n);
/* Adds visitor to the hour and day sketches of a visit's value (what is
 * ROLLUP_ENTRY or after): "this visitor had a visit with it". Sketches
 * only grow, so visits.h adds a visitor when a value becomes the visit's,
 * and not to the exit page, which moves on with the visit. */
void rollup_add_visit_visitor(struct rollup *r, enum rollup_visit_count what, const char *site,
                              int64_t ts_ms, const char *dim, uint64_t visitor);
/* Takes an added event's counts back out (a duplicate found at flush time).
 * Sketches keep it: adding a visitor twice changes no register. */
void rollup_remove(struct rollup *r, const struct rollup_event *ev);
size_t rollup_key_count(const struct rollup *r);

/* visitors: the value's sketch with its hour or day counter (NULL: none). */
typedef int(rollup_count_cb)(void *ctx, const char *site, const char *type,
                             const char *granularity, int64_t bucket,
                             const char *dim, int bot, int64_t n,
                             struct hll_small *visitors);
/* Visits every key (counters whose delta is 0 are passed over); stops at
 * (and returns) the first non-zero callback. Counting visits the minutes,
 * then the hours and days derived from them (r's derived table changes),
 * each of a value with its visitors' sketch, so that one write serves
 * both; rollup_foreach_sketch then visits the sketches not passed so (a
 * value's whose count delta summed to 0). */
int rollup_foreach_count(struct rollup *r, rollup_count_cb *cb, void *ctx);
/* Visits every sketch: a site's visitors at each granularity (type and dim
 * NULL), and the visitors of each value (a path, target, query; a visit's
 * entry page, source, device...) by the hour and day: rollup_add adds an
 * event's visitor to its type's value (not a bot's), rollup_add_visit_visitor
 * a visit's. */
typedef int(rollup_sketch_cb)(void *ctx, const char *site, const char *type,
                              const char *granularity, int64_t bucket, const char *dim,
                              struct hll_small *sketch);
int rollup_foreach_sketch(const struct rollup *r, rollup_sketch_cb *cb, void *ctx);

void rollup_reset(struct rollup *r);
void rollup_free(struct rollup *r);

#endif
