/* SPDX-License-Identifier: Apache-2.0 */
/* visitor: the visitor id ingest gives an event that carries none, so the
 * default tracker keeps nothing on the device (the approach Plausible
 * documents): SipHash-2-4-128 of the site, the client's address and its user
 * agent, keyed by a random salt of the UTC day of receipt. A salt is drawn
 * from the kernel, never derived from anything, and forgotten when its day
 * ends: an id cannot be linked to another day's, and cannot be recomputed
 * later, even by whoever runs the service. Within a day one visitor keeps
 * one id, so daily unique visitors stay exact without cookies or storage.
 *
 * Salts live in this process's memory, or, with a directory, in a file per
 * day there (mode 0600) that every ingest process sharing the directory
 * uses, and restarts too: the first to need a day's salt writes it (link(2)
 * makes one writer win), and older days' files are deleted. */
#ifndef INGEST_VISITOR_H
#define INGEST_VISITOR_H

#include <stddef.h>
#include <stdint.h>

/* "d-" and 32 hex digits, NUL-terminated */
#define VISITOR_ID_LEN 35

struct visitor_salts;

/* dir: NULL or "" for memory only. NULL with errbuf when the directory
 * cannot be made or written. */
struct visitor_salts *visitor_salts_new(const char *dir, char *errbuf, size_t errsize);
void visitor_salts_free(struct visitor_salts *v);

/* The id of (site, ip, user agent) on now_ms's UTC day. ip and ua may be
 * NULL. Thread-safe. A salt directory that fails is logged and the day's
 * salt kept in memory instead: an id is always made. */
void visitor_id(struct visitor_salts *v, int64_t now_ms, const char *site, const char *ip,
                const char *ua, char out[VISITOR_ID_LEN]);

#endif
