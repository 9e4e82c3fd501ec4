/* SPDX-License-Identifier: Apache-2.0 */
#include "http_server.h"

#include "http.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Descriptors kept for what is not a client connection: Kafka's sockets,
 * SQLite, logs, the listening socket. */
#define FD_RESERVE 128

/* One open connection, MHD's socket context for it. */
struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    /* when the request now being received began (opening, or the previous
     * answer), ms on the monotonic clock; 0 while none is being received */
    atomic_int_fast64_t since_ms;
    int too_many_params;
};

struct http_server {
    struct MHD_Daemon *d;
    struct http_limits lim;
    pthread_mutex_t lock; /* the list; held by MHD's notifications and the watchdog */
    struct http_conn *conns;
    unsigned open;
    unsigned long timed_out;
    int quiescing;
    pthread_t watchdog;
    pthread_cond_t wake;
    int stopping;
    MHD_AccessHandlerCallback handler;
    MHD_RequestCompletedCallback completed;
    void *cls;
    char *tls_cert_pem, *tls_key_pem;
};

void http_limits_default(struct http_limits *lim) {
    lim->threads = 0;
    lim->max_connections = 10000;
    lim->max_per_ip = 256;
    lim->request_timeout_s = 10;
    lim->max_query_params = 100;
    lim->tls_cert = lim->tls_key = NULL;
}

void http_limits_from_flags(struct http_limits *lim, const struct http_limit_flags *f) {
    http_limits_default(lim);
    lim->max_connections = (unsigned)f->max_connections;
    lim->max_per_ip = (unsigned)f->max_per_ip;
    lim->request_timeout_s = (unsigned)f->request_timeout_s;
    lim->max_query_params = (unsigned)f->max_query_params;
    lim->tls_cert = f->tls_cert;
    lim->tls_key = f->tls_key;
}

/* A whole small file, NUL-terminated; NULL with errbuf set. */
static char *read_pem(const char *path, const char *flag, char *errbuf, size_t errsize) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    if (f) {
        FILE *m = open_memstream(&buf, &len);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            fwrite(chunk, 1, n, m);
        fclose(m);
        fclose(f);
        if (len && strstr(buf, "-----BEGIN "))
            return buf;
        free(buf);
        snprintf(errbuf, errsize, "%s %s: not a PEM file", flag, path);
        return NULL;
    }
    snprintf(errbuf, errsize, "%s %s: %s", flag, path, strerror(errno));
    return NULL;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct http_conn *conn_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Closing is MHD's: the watchdog only shuts a socket down, under the lock
 * that MHD's CLOSED notification also takes, and MHD sends that
 * notification before it closes the descriptor, so the watchdog never
 * touches a descriptor number that was reused. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    struct http_server *s = cls;
    struct http_conn *c;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!(c = calloc(1, sizeof(*c))))
            abort();
        c->fd = ci ? ci->connect_fd : -1;
        atomic_store(&c->since_ms, mono_ms());
        pthread_mutex_lock(&s->lock);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->open++;
        if (s->quiescing) /* accepted just before the listener closed */
            shutdown(c->fd, SHUT_RDWR);
        pthread_mutex_unlock(&s->lock);
        *socket_context = c;
        return;
    }
    if (!(c = *socket_context))
        return;
    pthread_mutex_lock(&s->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->open--;
    pthread_mutex_unlock(&s->lock);
    free(c);
    *socket_context = NULL;
}

/* The next request's time starts with the answer to this one. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    struct http_server *s = cls;
    struct http_conn *c = conn_of(conn);
    if (c)
        atomic_store(&c->since_ms, mono_ms());
    if (s->completed)
        s->completed(s->cls, conn, con_cls, toe);
}

/* Shuts down every connection whose request began before limit_ms (all
 * that are receiving one, with INT64_MAX). Called with s->lock held. */
static unsigned cut_receiving(struct http_server *s, int64_t limit_ms) {
    unsigned n = 0;
    for (struct http_conn *c = s->conns; c; c = c->next) {
        int64_t since = atomic_load(&c->since_ms);
        if (since && since < limit_ms) {
            shutdown(c->fd, SHUT_RDWR);
            atomic_store(&c->since_ms, 0);
            n++;
        }
    }
    return n;
}

static void *watchdog(void *arg) {
    struct http_server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec until;
        unsigned n = cut_receiving(s, mono_ms() - (int64_t)s->lim.request_timeout_s * 1000);
        s->timed_out += n;
        if (n)
            log_debug("closed %u connections that did not send a request within %u s", n,
                      s->lim.request_timeout_s);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Called before MHD parses the query string: too many parameters would
 * exhaust the connection's memory pool, after which MHD cannot even send
 * its 431. The URI is MHD's own writable buffer (it cuts it at '?' itself
 * right after this call); ending it just after the '?' leaves no
 * parameters to parse, and check_request() answers 414. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
    struct http_server *s = cls;
    char *q = strchr(uri, '?');
    unsigned params = 1;
    if (!q)
        return NULL;
    for (const char *p = q; *p; p++)
        params += *p == '&' || *p == ';';
    if (params > s->lim.max_query_params) {
        struct http_conn *c = conn_of(conn);
        if (c)
            c->too_many_params = 1;
        q[1] = '\0';
    }
    return NULL;
}

struct header_count {
    unsigned content_length, content_type, transfer_encoding;
    const char *te, *cl;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value) {
    struct header_count *h = cls;
    (void)kind;
    if (!strcasecmp(key, "Content-Length"))
        h->content_length++, h->cl = value;
    else if (!strcasecmp(key, "Content-Type"))
        h->content_type++;
    else if (!strcasecmp(key, "Transfer-Encoding"))
        h->transfer_encoding++, h->te = value;
    return MHD_YES;
}

/* Checks a request whose head is complete. Returns 0, or the status to
 * answer with *msg saying why. *has_body: a Content-Length above 0. */
static unsigned check_request(struct http_conn *c, struct MHD_Connection *conn, const char **msg,
                              int *has_body) {
    struct header_count h = {0, 0, 0, NULL, NULL};
    if (c && c->too_many_params) {
        c->too_many_params = 0;
        *msg = "too many query parameters";
        return 414;
    }
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &h);
    if (h.content_length > 1 || (h.content_length && h.transfer_encoding)) {
        *msg = "a request may not have two Content-Length headers, or both Content-Length "
               "and Transfer-Encoding";
        return 400;
    }
    if (h.content_type > 1) {
        *msg = "a request may not have two Content-Type headers";
        return 400;
    }
    if (h.transfer_encoding) {
        int chunked = h.transfer_encoding == 1 && !strcasecmp(h.te, "chunked");
        *msg = chunked ? "request bodies must be sent with a Content-Length (not chunked)"
                       : "unsupported Transfer-Encoding; send the body with a Content-Length";
        return chunked ? 411 : 501;
    }
    *has_body = h.cl && strspn(h.cl, "0") != strlen(h.cl);
    return 0;
}

/* Checks each request before the handler sees it, and stops timing it once
 * it is complete: on the first call without a body, else on the call that
 * says the body is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    struct http_server *s = cls;
    struct http_conn *c = conn_of(conn);
    if (!*con_cls) {
        const char *msg = NULL;
        int has_body = 0;
        unsigned status = check_request(c, conn, &msg, &has_body);
        if (status) {
            struct MHD_Response *resp =
                http_response_json(json_pack("{s:s}", "error", msg));
            MHD_add_response_header(resp, "Connection", "close");
            return http_queue(conn, status, resp, NULL);
        }
        if (!has_body && c)
            atomic_store(&c->since_ms, 0);
    } else if (*upload_data_size == 0 && c) {
        atomic_store(&c->since_ms, 0);
    }
    return s->handler(s->cls, conn, url, method, version, upload_data, upload_data_size,
                      con_cls);
}

/* libmicrohttpd's own messages, as lines of our log like librdkafka's. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    size_t n;
    int saved = errno; /* http_server_start's caller reads it after a failure */
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_warn("libmicrohttpd: %s", msg);
    errno = saved;
}

/* Raises the open-file limit as far as the hard limit allows; returns how
 * many connections fit in it. */
static unsigned fit_fd_limit(unsigned want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return want;
    if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < (rlim_t)want + FD_RESERVE) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + FD_RESERVE) {
        unsigned fit = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)rl.rlim_cur - FD_RESERVE : FD_RESERVE;
        log_warn("the open-file limit is %llu (hard limit %llu): serving at most %u "
                 "connections instead of %u; raise it (ulimit -n, LimitNOFILE=)",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, fit, want);
        return fit;
    }
    return want;
}

struct http_server *http_server_start(const struct sockaddr_storage *addr,
                                      const struct http_limits *lim,
                                      MHD_AccessHandlerCallback handler, void *cls,
                                      MHD_RequestCompletedCallback completed,
                                      char *errbuf, size_t errsize) {
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct http_server *s;
    int threads = lim->threads;
    char *cert = NULL, *key = NULL;
    struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}};
    int want_tls = (lim->tls_cert && *lim->tls_cert) || (lim->tls_key && *lim->tls_key);

    if (want_tls) {
        if (!(lim->tls_cert && *lim->tls_cert) || !(lim->tls_key && *lim->tls_key)) {
            snprintf(errbuf, errsize, "--tls-cert and --tls-key go together");
            return NULL;
        }
        if (!(cert = read_pem(lim->tls_cert, "--tls-cert", errbuf, errsize)) ||
            !(key = read_pem(lim->tls_key, "--tls-key", errbuf, errsize))) {
            free(cert);
            return NULL;
        }
        tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
        tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
        tls[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        flags |= MHD_USE_TLS;
    }
    if (!(s = calloc(1, sizeof(*s))))
        abort();
    s->lim = *lim;
    s->lim.max_connections = fit_fd_limit(lim->max_connections);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (addr->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (threads == HTTP_THREAD_PER_CONNECTION)
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL; /* poll: no FD_SETSIZE cap */
    else
        flags |= MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (threads == 0)
        threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    s->handler = handler;
    s->completed = completed;
    s->cls = cls;
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, addr,
        /* a pool of one is no pool, and MHD warns about any size below 2:
         * then the slot repeats the timeout instead */
        threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(threads > 1 ? threads : (int)lim->request_timeout_s),
        MHD_OPTION_CONNECTION_TIMEOUT, lim->request_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, s->lim.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, lim->max_per_ip,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    s->tls_cert_pem = cert; /* MHD keeps the pointers: freed at stop */
    s->tls_key_pem = key;
    if (!s->d) {
        free(cert);
        free(key);
        snprintf(errbuf, errsize, "cannot listen%s: %s", want_tls ? " with TLS" : "",
                 strerror(errno));
        free(s);
        return NULL;
    }
    if (pthread_create(&s->watchdog, NULL, watchdog, s))
        abort();
    return s;
}

int http_server_port(const struct http_server *s) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

unsigned http_server_connections(struct http_server *s) {
    unsigned n;
    pthread_mutex_lock(&s->lock);
    n = s->open;
    pthread_mutex_unlock(&s->lock);
    return n;
}

unsigned long http_server_timed_out(struct http_server *s) {
    unsigned long n;
    pthread_mutex_lock(&s->lock);
    n = s->timed_out;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void http_server_quiesce(struct http_server *s) {
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd); /* MHD hands it over: closed, new connections are refused */
    pthread_mutex_lock(&s->lock);
    s->quiescing = 1;
    cut_receiving(s, INT64_MAX);
    pthread_mutex_unlock(&s->lock);
}

void http_server_stop(struct http_server *s) {
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->watchdog, NULL);
    MHD_stop_daemon(s->d);
    free(s->tls_cert_pem);
    free(s->tls_key_pem);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
