/* SPDX-License-Identifier: Apache-2.0 */
/* http_server: an MHD daemon with the limits a public server needs, so no
 * client can take it over by holding connections open:
 *   - connections at once, in all and per client address (MHD's options);
 *   - a deadline for each whole request: a connection must deliver a
 *     request's head and body within request_timeout_s of opening or of the
 *     previous answer, however slowly it trickles bytes (MHD's own timeout
 *     only counts inactivity, which each byte resets); a watchdog thread
 *     closes the connections past it;
 *   - the open-file limit raised to what the connection limit needs;
 *   - at most max_query_params query parameters (MHD runs out of its
 *     per-connection pool near 450 and then answers nothing);
 *   - request framing RFC 9112 asks a server to refuse (request smuggling):
 *     answered 400, 411, 414 or 501 with Connection: close before the
 *     handler sees the request.
 * The handler is called as with MHD_start_daemon; it must set *con_cls on
 * its first call for a request that it does not answer at once. */
#ifndef COMMON_HTTP_SERVER_H
#define COMMON_HTTP_SERVER_H

#include "config.h"

#include <microhttpd.h>
#include <stddef.h>
#include <sys/socket.h>

struct http_limits {
    int threads;                /* HTTP threads, 0 = one per core, or: */
#define HTTP_THREAD_PER_CONNECTION (-1) /* for long streams (Server-Sent Events) */
    unsigned max_connections;   /* open at once, all clients */
    unsigned max_per_ip;        /* open at once from one address; 0 = no limit */
    unsigned request_timeout_s; /* to send a whole request, head and body */
    unsigned max_query_params;
    const char *tls_cert;       /* PEM files: HTTPS when both are set (not "") */
    const char *tls_key;
};

/* The defaults the README documents: 10,000 connections, 256 per address,
 * 10 s per request, 100 query parameters, one thread per core. */
void http_limits_default(struct http_limits *lim);

/* The limits as flags, for the option table of each public server (the
 * defaults above, as text). Zero-initialise it: config frees a string
 * flag's old value when it sets a new one. */
struct http_limit_flags {
    long max_connections, max_per_ip, request_timeout_s, max_query_params;
    char *tls_cert, *tls_key;
};
#define HTTP_LIMIT_OPTIONS(f)                                                              \
    {"max-connections", CONFIG_INT, "10000",                                              \
     "open client connections at once (the open-file limit is raised to fit)",            \
     &(f).max_connections, 16, 1000000, NULL},                                            \
    {"max-connections-per-ip", CONFIG_INT, "256",                                         \
     "open connections at once from one address; 0 = no limit (behind a proxy, "          \
     "every client has the proxy's address)",                                             \
     &(f).max_per_ip, 0, 1000000, NULL},                                                  \
    {"request-timeout", CONFIG_INT, "10",                                                 \
     "seconds a connection has to send a whole request, head and body, from its "         \
     "opening or the previous answer; then it is closed",                                 \
     &(f).request_timeout_s, 1, 3600, NULL},                                              \
    {"max-query-params", CONFIG_INT, "100", "most query parameters in a URL (414 above)", \
     &(f).max_query_params, 1, 10000, NULL},                                              \
    {"tls-cert", CONFIG_STRING, "",                                                       \
     "serve HTTPS with this PEM certificate (chain first); needs --tls-key; empty: "      \
     "plain HTTP (or TLS at a reverse proxy in front)",                                   \
     &(f).tls_cert, 0, 0, NULL},                                                          \
    {"tls-key", CONFIG_STRING, "", "the PEM private key of --tls-cert", &(f).tls_key, 0, \
     0, NULL}
void http_limits_from_flags(struct http_limits *lim, const struct http_limit_flags *f);

struct http_server;

/* Starts serving addr (HTTPS when lim has a certificate and key). Returns
 * NULL with errbuf set (errno kept). */
struct http_server *http_server_start(const struct sockaddr_storage *addr,
                                      const struct http_limits *lim,
                                      MHD_AccessHandlerCallback handler, void *cls,
                                      MHD_RequestCompletedCallback completed,
                                      char *errbuf, size_t errsize);

/* The port it is bound to (useful after ":0"). */
int http_server_port(const struct http_server *s);

/* Stops accepting: the listening socket is closed, so new connections are
 * refused at once, and connections still sending a request are closed.
 * Requests already received are left to finish. */
void http_server_quiesce(struct http_server *s);

/* Open connections now, and how many were closed for missing the request
 * deadline since the start. */
unsigned http_server_connections(struct http_server *s);
unsigned long http_server_timed_out(struct http_server *s);

void http_server_stop(struct http_server *s);

#endif
