/* SPDX-License-Identifier: Apache-2.0 */
/* enrich: what the collector adds about the sender, privacy first.
 * IPs are truncated by default (IPv4 to /24, IPv6 to /48: enough for
 * geography, not for identifying a household); the user agent is read by
 * useragent.h. */
#ifndef INGEST_ENRICH_H
#define INGEST_ENRICH_H

#include <stddef.h>
#include <sys/socket.h>

enum enrich_ip_mode { ENRICH_IP_TRUNCATE, ENRICH_IP_DROP, ENRICH_IP_KEEP };

/* Parses "truncate" | "drop" | "keep". Returns -1 for anything else. */
int enrich_ip_mode_parse(const char *s, enum enrich_ip_mode *mode);

/* Writes the address as the mode allows into out (INET6_ADDRSTRLEN bytes).
 * Returns 0 when out holds an address, 1 when it is dropped (or unknown). */
int enrich_ip_sockaddr(const struct sockaddr *sa, enum enrich_ip_mode mode,
                       char *out, size_t outsz);

/* The same for an address in text (e.g. from X-Forwarded-For). */
int enrich_ip_text(const char *text, enum enrich_ip_mode mode, char *out,
                   size_t outsz);

/* Copies a header value keeping printable ASCII only (others become '?'),
 * truncated to outsz - 1: user agents end up in JSON and logs. */
void enrich_sanitize(const char *in, char *out, size_t outsz);

#endif
