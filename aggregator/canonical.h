/* SPDX-License-Identifier: Apache-2.0 */
/* canonical: reads a Kafka message value as a canonical event, fast.
 *
 * The aggregator parses every message it counts, and a general JSON parser
 * (building a tree of allocated values) was 80 % of its consumer thread. This
 * scanner walks the text once, keeps only the fields the counters need and
 * skips the rest (props and any nested value). A topic may carry anything,
 * so every read is bounds-checked and the fields it keeps are checked
 * strictly: exactly one JSON object, strings of valid UTF-8 without raw
 * control characters or bad escapes, no duplicate known field, nothing after
 * the object. Skipped values are checked for structure (balanced, strings
 * valid) but not every literal's spelling. */
#ifndef AGGREGATOR_CANONICAL_H
#define AGGREGATOR_CANONICAL_H

#include "arena.h"
#include "rollup.h"

#include <stddef.h>
#include <stdint.h>

/* Parses one canonical event read from a topic of topic_type ("pageview",
 * "click", "search"; NULL: any): an event of another type is not canonical
 * there, for the aggregator and the exporter alike. ts later than
 * received_at + max_future_ms is clamped to received_at (a client clock far
 * ahead). Returns 0, or -1 with errbuf saying what is wrong. The event's site
 * and dim are copied into strings and live until its reset. */
int canonical_parse(const char *json, size_t len, const char *topic_type, int64_t max_future_ms,
                    struct arena *strings, struct rollup_event *ev, char *errbuf,
                    size_t errsize);

/* The event type a topic carries: what follows its last '.'. */
const char *canonical_topic_type(const char *topic);

#endif
