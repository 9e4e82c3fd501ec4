/* SPDX-License-Identifier: Apache-2.0 */
/* useragent: what a request's User-Agent says, in one pass over it.
 *
 * The bot flag and the device, browser and operating system the counters
 * show per visit come from the same tokens, so one scan finds them all: at
 * each byte, only the tokens starting with that (lower-cased) letter are
 * compared, instead of one strcasestr scan per token (19 scans, ~23,000
 * instructions for a desktop Chrome user agent; this is ~1/10 of that,
 * docs/PERFORMANCE.md). The names are the event schema's fixed lists
 * (schema/event.h: schema_devices, schema_browsers, schema_systems); what
 * is not recognised is "Other" (a device: "desktop"). */
#ifndef INGEST_USERAGENT_H
#define INGEST_USERAGENT_H

struct useragent {
    int bot; /* a crawler, monitor, headless browser or HTTP library */
    const char *device, *browser, *os; /* names of schema_devices, _browsers, _systems */
};

/* Classifies ua (NULL or empty: a bot, since browsers always send one). */
void useragent_classify(const char *ua, struct useragent *out);

#endif
