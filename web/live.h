/* SPDX-License-Identifier: Apache-2.0 */
/* live: GET /api/v1/live, a site's summary pushed every second as
 * Server-Sent Events to any number of viewers without a thread each.
 *
 * Each viewer's connection is suspended (MHD_suspend_connection) while it
 * has nothing to send. One timer thread computes each watched site's
 * summary once a second, from one read-only connection to the counters
 * file, and hands it to every viewer of that site, resuming them. A viewer
 * still sending the previous second's summary skips this one, so a slow
 * client holds one summary at most. */
#ifndef WEB_LIVE_H
#define WEB_LIVE_H

#include "timezone.h"

#include <microhttpd.h>

/* Starts the timer thread; db_path and zones (the sites' time zones, for
 * "today") must outlive live_stop(). */
void live_start(const char *db_path, struct site_tz *const *zones);

/* Answers conn with the stream of site's summary (the first one at once). */
enum MHD_Result live_serve(struct MHD_Connection *conn, const char *site);

/* Viewers watching now. */
unsigned live_viewers(void);

/* Ends every stream and waits until none is suspended (MHD may not stop
 * with suspended connections), then stops the timer. */
void live_stop(void);

#endif
