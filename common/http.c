/* SPDX-License-Identifier: Apache-2.0 */
#include "http.h"

#include "log.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdint.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static atomic_size_t body_budget = 64u << 20, body_used;

void http_body_set_budget(size_t bytes) { atomic_store(&body_budget, bytes); }

size_t http_body_budget_used(void) { return atomic_load(&body_used); }

static int body_reserve(struct http_body *b, size_t n) {
    if (atomic_fetch_add(&body_used, n) + n > atomic_load(&body_budget)) {
        atomic_fetch_sub(&body_used, n);
        return -1;
    }
    b->reserved += n;
    return 0;
}

unsigned http_body_begin(struct http_body *b, const char *content_length) {
    char *end;
    unsigned long long n;
    if (!content_length)
        return 0;
    errno = 0;
    n = strtoull(content_length, &end, 10);
    if (errno || *end || end == content_length || n > b->limit) {
        b->total = errno || *end ? SIZE_MAX : (size_t)n;
        return 413;
    }
    if (body_reserve(b, (size_t)n + 1))
        return 503;
    if (!(b->buf = malloc((size_t)n + 1)))
        abort();
    b->buf[0] = '\0';
    return 0;
}

int http_body_append(struct http_body *b, const char *data, size_t len) {
    size_t keep;
    b->total += len;
    keep = b->len < b->limit ? b->limit - b->len : 0;
    if (keep > len)
        keep = len;
    if (keep && b->len + keep + 1 > b->reserved) {
        char *nb;
        if (body_reserve(b, b->len + keep + 1 - b->reserved))
            return -1;
        if (!(nb = realloc(b->buf, b->reserved)))
            abort();
        b->buf = nb;
    }
    if (keep) {
        memcpy(b->buf + b->len, data, keep);
        b->len += keep;
        b->buf[b->len] = '\0';
    }
    return b->total > b->limit ? -1 : 0;
}

void http_body_free(struct http_body *b) {
    free(b->buf);
    atomic_fetch_sub(&body_used, b->reserved);
    b->buf = NULL;
    b->len = b->total = b->reserved = 0;
}

int http_gunzip(const char *in, size_t inlen, size_t limit, char **out,
                size_t *outlen, char *errbuf, size_t errsize) {
    z_stream zs;
    size_t cap = inlen * 4 < limit ? inlen * 4 + 64 : limit + 1;
    char *buf = malloc(cap + 1);
    int zrc;

    memset(&zs, 0, sizeof(zs));
    /* 32 + MAX_WBITS: accept gzip and zlib headers, as browsers send both. */
    if (!buf || inflateInit2(&zs, 32 + MAX_WBITS) != Z_OK)
        abort();
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)inlen;
    do {
        if (zs.total_out == cap) {
            if (cap > limit)
                break;
            cap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
            buf = realloc(buf, cap + 1);
            if (!buf)
                abort();
        }
        zs.next_out = (Bytef *)buf + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        zrc = inflate(&zs, Z_NO_FLUSH);
    } while (zrc == Z_OK);
    *outlen = zs.total_out;
    inflateEnd(&zs);
    if (*outlen > limit) {
        free(buf);
        return 1;
    }
    if (zrc != Z_STREAM_END || zs.avail_in) {
        snprintf(errbuf, errsize, "body is not valid gzip: %s",
                 zrc == Z_STREAM_END ? "data after the end of the stream"
                 : zrc == Z_BUF_ERROR ? "truncated stream"
                 : zs.msg             ? zs.msg
                                      : "corrupt stream");
        free(buf);
        return -1;
    }
    buf[*outlen] = '\0';
    *out = buf;
    return 0;
}

void http_add_cors(struct MHD_Response *resp, const char *origin) {
    if (!origin)
        return;
    /* no Allow-Credentials: events need no cookies, and a reflected origin
     * with credentials would let any page read what a response holds */
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    if (strcmp(origin, "*"))
        MHD_add_response_header(resp, "Vary", "Origin");
}

struct MHD_Response *http_response_bytes(const char *type, const void *data,
                                         size_t len) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)data, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return resp;
}

json_t *http_json_text(const char *s) {
    json_t *j = json_string(s);
    if (!j) {
        size_t len = strlen(s), cap = len * 4 + 4;
        char *q = malloc(cap);
        if (!q)
            abort();
        utf8_quote(q, cap, s, len);
        j = json_string(q);
        free(q);
    }
    return j;
}

struct MHD_Response *http_response_json(json_t *body) {
    static const char failed[] = "{\"error\":\"internal error: the answer could not be encoded\"}";
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct MHD_Response *resp;
    json_decref(body);
    if (!text) {
        log_error("an answer could not be encoded as JSON");
        return http_response_bytes("application/json", failed, strlen(failed));
    }
    resp = http_response_bytes("application/json", text, strlen(text));
    free(text);
    return resp;
}

enum MHD_Result http_queue(struct MHD_Connection *conn, unsigned status,
                           struct MHD_Response *resp, const char *origin) {
    enum MHD_Result ret;
    http_add_cors(resp, origin);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result http_send_error(struct MHD_Connection *conn, unsigned status,
                                const char *msg, const char *origin) {
    return http_queue(conn, status,
                      http_response_json(json_pack("{s:o}", "error", http_json_text(msg))),
                      origin);
}

int http_list_contains(const char *list, const char *item) {
    size_t olen = strlen(item);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && *p == ' ')
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        if ((n == 1 && *p == '*') || (n == olen && !strncmp(p, item, n)))
            return 1;
        p += n;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
    }
    return 0;
}

int http_parse_listen(const char *spec, struct sockaddr_storage *addr,
                      char *errbuf, size_t errsize) {
    char host[256];
    const char *colon, *port;
    struct addrinfo hints, *res;
    int rc;

    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':') {
            snprintf(errbuf, errsize, "listen address '%s': expected [v6]:port", spec);
            return -1;
        }
        snprintf(host, sizeof(host), "%.*s", (int)(end - spec - 1), spec + 1);
        port = end + 2;
    } else {
        if (!(colon = strrchr(spec, ':'))) {
            snprintf(errbuf, errsize, "listen address '%s': expected host:port", spec);
            return -1;
        }
        snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
        port = colon + 1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (rc) {
        snprintf(errbuf, errsize, "listen address '%s': %s", spec, gai_strerror(rc));
        return -1;
    }
    memset(addr, 0, sizeof(*addr));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int http_is_loopback(const struct sockaddr_storage *addr) {
    if (addr->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
    if (addr->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)addr)->sin6_addr);
    return 0;
}
