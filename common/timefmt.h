/* SPDX-License-Identifier: Apache-2.0 */
/* timefmt: RFC 3339 timestamps <-> Unix epoch milliseconds, UTC. Strict on
 * input (the only formats the event schema accepts) and one canonical output
 * form, "2026-11-24T02:19:35.123Z", so stored timestamps sort as text. */
#ifndef COMMON_TIMEFMT_H
#define COMMON_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_LEN 25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */

/* The latest instant timefmt writes: 9999-12-31T23:59:59.999Z. */
#define TIMEFMT_MAX_MS 253402300799999LL

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" ('t'/'z'/' ' also
 * accepted as RFC 3339 allows). Fractions beyond milliseconds are truncated.
 * Returns 0 and sets *ms, or -1 if the text is not such a timestamp or the
 * instant (offset applied) lies outside 0..TIMEFMT_MAX_MS, so that whatever
 * it returns can be formatted again ("9999-12-31T23:59:59-00:01" cannot). */
int timefmt_parse(const char *s, int64_t *ms);

/* Writes the canonical form of ms (0..TIMEFMT_MAX_MS) into buf[TIMEFMT_LEN]. */
void timefmt_format(int64_t ms, char buf[TIMEFMT_LEN]);

/* Current wall-clock time in epoch milliseconds. */
int64_t timefmt_now_ms(void);

#endif
