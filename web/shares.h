/* SPDX-License-Identifier: Apache-2.0 */
/* shares: read-only links to one site's dashboard (--share-file).
 *
 * The file holds one share a line, "TOKEN SITE" ('#' starts a comment):
 * `activity-web --share-file F --new-share SITE` appends one with a random
 * token and prints its link, /share/TOKEN; deleting the line revokes it.
 * The file is read again whenever its modification time changes (checked
 * at most once a second), so neither needs a restart. Whoever holds a link
 * sees that site's dashboard and its read-only API (sites, summary,
 * timeseries, top, live), nothing of other sites, and never the admin
 * token. */
#ifndef WEB_SHARES_H
#define WEB_SHARES_H

#include <stddef.h>

#define SHARE_TOKEN_LEN 32 /* hex characters: 128 random bits */

/* Uses path ("" : no shares). Call before any thread starts. */
void shares_init(const char *path);

/* The site token gives access to, copied into site (size bytes); 0, or -1
 * when the token is no share's (or sharing is off). Constant time in the
 * token's bytes. */
int shares_site(const char *token, char *site, size_t size);

/* Appends a share of site with a new token to path (created 0600);
 * token_out gets SHARE_TOKEN_LEN + 1 bytes. 0, or -1 with errbuf. */
int shares_create(const char *path, const char *site, char *token_out, char *errbuf,
                  size_t errsize);

#endif
