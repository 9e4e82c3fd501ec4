/* SPDX-License-Identifier: Apache-2.0 */
/* urlparts: the pieces of an event's URLs the counters keep: the page's
 * path, the referrer's host (where a visit came from) and the landing
 * page's utm_source, utm_medium and utm_campaign. The URLs were checked by
 * ingest (http(s), valid UTF-8, bounded); these only cut them, and every
 * result is a new string in the arena, at most URLPARTS_MAX bytes for a
 * parameter (a campaign name, not a payload). */
#ifndef AGGREGATOR_URLPARTS_H
#define AGGREGATOR_URLPARTS_H

#include "arena.h"

#define URLPARTS_MAX 200

/* The path of an http(s) URL, without query or fragment; "/" if none. */
const char *urlparts_path(struct arena *a, const char *url);

/* Where a visit came from: the referrer's host, lower case, without
 * "www." and port; "" (direct) when there is no referrer, it is not
 * scheme://host..., or its host is the page's own (an internal link). */
const char *urlparts_source(struct arena *a, const char *referrer, const char *page_url);

/* The value of query parameter name in url, percent-decoded ('+' is a
 * space); "" when absent, empty, or not valid text once decoded. */
const char *urlparts_param(struct arena *a, const char *url, const char *name);

#endif
