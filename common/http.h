/* SPDX-License-Identifier: Apache-2.0 */
/* http: the pieces of request handling that ingest and web share, on top of
 * libmicrohttpd: bounded body collection, gzip with a bound on the inflated
 * size, JSON and text answers, CORS, and listen-address parsing. */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>
#include <sys/socket.h>

/* A request body, kept up to limit bytes; the rest is counted, not kept.
 * The memory of all bodies held at once, across every connection, counts
 * against one process-wide budget, so unfinished uploads cannot take the
 * machine's memory: a body that does not fit is refused (503), and its
 * Content-Length is known before any of it is read. */
struct http_body {
    char *buf;
    size_t len;      /* bytes kept */
    size_t total;    /* bytes received */
    size_t limit;
    size_t reserved; /* bytes of the budget this body holds */
};

/* The budget for all bodies in memory at once (default 64 MiB). */
void http_body_set_budget(size_t bytes);
/* Bytes of the budget held now. */
size_t http_body_budget_used(void);

/* Starts a body from its Content-Length header's value (NULL: none, then
 * it grows as it comes). Returns 0; 413 when the length is above b->limit
 * (b->total says how much was announced); 503 when the budget cannot hold
 * it now. */
unsigned http_body_begin(struct http_body *b, const char *content_length);

/* Appends a chunk. Returns 0, or -1 once the body exceeds its limit or,
 * growing without a Content-Length, the budget. */
int http_body_append(struct http_body *b, const char *data, size_t len);
void http_body_free(struct http_body *b);

/* Inflates gzip (or zlib) data into a new buffer of at most limit bytes.
 * Returns 0, 1 if the inflated data would exceed limit, or -1 if the data is
 * not valid gzip (errbuf says why). */
int http_gunzip(const char *in, size_t inlen, size_t limit, char **out,
                size_t *outlen, char *errbuf, size_t errsize);

/* A JSON string of s, which may quote client bytes: invalid UTF-8 is
 * escaped (utf8_quote), so the result is never NULL. */
json_t *http_json_text(const char *s);

/* Response builders: the caller may add headers, then http_queue it.
 * http_response_json steals body; a NULL body (a builder that failed) is
 * answered {"error":"internal error: ..."} rather than crashing. */
struct MHD_Response *http_response_json(json_t *body);
struct MHD_Response *http_response_bytes(const char *type, const void *data,
                                         size_t len); /* copies data */

/* Adds CORS for origin (NULL: none), queues and releases resp. */
enum MHD_Result http_queue(struct MHD_Connection *conn, unsigned status,
                           struct MHD_Response *resp, const char *origin);

/* Queues {"error": msg} with status. */
enum MHD_Result http_send_error(struct MHD_Connection *conn, unsigned status,
                                const char *msg, const char *origin);

/* Adds Access-Control-Allow-Origin for an allowed origin ("*" for any;
 * NULL: none). */
void http_add_cors(struct MHD_Response *resp, const char *origin);

/* 1 when item is in the comma-separated list ("*" matches anything). */
int http_list_contains(const char *list, const char *item);

/* Parses "host:port", "[v6]:port" or ":port" into addr. Returns 0, or -1
 * with errbuf naming the problem. */
int http_parse_listen(const char *spec, struct sockaddr_storage *addr,
                      char *errbuf, size_t errsize);

/* 1 when addr is a loopback address (127.0.0.0/8 or ::1). */
int http_is_loopback(const struct sockaddr_storage *addr);

#endif
