/* SPDX-License-Identifier: Apache-2.0 */
/* timezone: each site's time zone (--site-tz shop=Europe/Berlin), so that
 * "today" and day buckets follow the site's midnight.
 *
 * The counters are stored in UTC buckets; a local day is read from hour
 * buckets (activity-web sums them), which is exact for zones whose offset
 * is whole hours (nearly all). For the few that are not (India, +05:30;
 * Nepal, +05:45; ...), a local day is read from the hours that start in
 * it, so its edges are off by the offset's minutes.
 *
 * The zone's offsets come from the system's tz database through glibc,
 * once, at start: every change of offset from 1970 to 2100 is found with
 * localtime_r under TZ=zone and kept as a table, so answering needs no
 * global state (TZ is process-wide and not thread-safe to switch). */
#ifndef WEB_TIMEZONE_H
#define WEB_TIMEZONE_H

#include <stddef.h>
#include <stdint.h>

struct site_tz;

/* Parses "site=Area/City,site2=Area/City" (empty: none) into *out, a
 * NULL-terminated array. Call before any thread starts. -1 with errbuf
 * naming the bad entry or unknown zone. */
int site_tz_parse(const char *spec, struct site_tz ***out, char *errbuf, size_t errsize);
void site_tz_free(struct site_tz **zones);

/* The zone of site, or NULL (UTC). */
const struct site_tz *site_tz_find(struct site_tz *const *zones, const char *site);
const char *site_tz_site(const struct site_tz *tz);
const char *site_tz_name(const struct site_tz *tz);

/* Seconds east of UTC at Unix time t (NULL: 0). */
int32_t tz_offset(const struct site_tz *tz, int64_t t);
/* The Unix time of the local midnight that begins the local day holding t. */
int64_t tz_day_start(const struct site_tz *tz, int64_t t);
/* The Unix time of local midnight of the date whose UTC midnight is utc_day. */
int64_t tz_midnight_of(const struct site_tz *tz, int64_t utc_day);

#endif
