/* SPDX-License-Identifier: Apache-2.0 */
#include "collector.h"

#include "http.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "pixel.h"
#include "timefmt.h"
#include "useragent.h"
#include "utf8.h"
#include "visitor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum route { R_NOT_FOUND, R_EVENTS, R_VALIDATE, R_PIXEL, R_HEALTH, R_READY,
             R_METRICS, R_TRACKER };

/* web/tracker.js, compiled in by the Makefile */
extern const char ingest_tracker_js[];

struct collector {
    struct collector_options o;
    struct producer *producer;
    char topics[SCHEMA_TYPE_CNT][256];
    char topic_invalid[256];
    atomic_int closing;
    struct http_server *server; /* for its gauges */

    /* Requests waiting on Kafka, so that each is answered by its deadline
     * (--ack-timeout) whatever librdkafka's timers do. */
    pthread_mutex_t wait_lock;
    struct req *waiting;
    pthread_t deadline_thread;
    int stopping; /* under wait_lock */
    pthread_cond_t wake;
};

/* One HTTP request, from its first header to the completion callback. */
struct req {
    struct collector *c;
    struct MHD_Connection *conn;
    enum route route;
    int is_options, method_ok;
    int dry_run;        /* /v1/validate, or HEAD of the pixel: nothing produced */
    int orphan;         /* answered and completed before its deliveries reported */
    struct http_body body;
    char *origin;       /* echoed in CORS when allowed; NULL otherwise */
    int origin_denied;
    int media_error;    /* 415: unsupported Content-Type or -Encoding */
    int gzip;
    int64_t received_at_ms;
    char ip[64];
    int has_ip;
    char full_ip[64]; /* whatever --ip says: only hashed into visitor ids */
    char ua[512];
    int has_ua;
    char *pixel_query; /* a rejected pixel's query, percent-encoded */

    /* The answer, prepared before the deliveries are awaited. */
    unsigned status;
    json_t *answer;
    long accepted_by_type[SCHEMA_TYPE_CNT];

    pthread_mutex_t lock; /* guards the four below, shared with the poller */
    int pending;          /* deliveries outstanding */
    int suspended;
    int timed_out;        /* answered at its deadline, deliveries outstanding */
    rd_kafka_resp_err_t err; /* first failed delivery */

    struct req *wprev, *wnext; /* in c->waiting, under c->wait_lock */
    int waiting;
    int64_t deadline_ms; /* monotonic */
};

static const char gif_1x1[] = {
    'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, (char)0x80, 0, 0, 0, 0, 0,
    (char)0xff, (char)0xff, (char)0xff, '!', (char)0xf9, 4, 1, 0, 0, 0, 0,
    ',', 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 'D', 1, 0, ';'};

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_add(struct collector *c, struct req *r) {
    pthread_mutex_lock(&c->wait_lock);
    r->deadline_ms = mono_ms() + c->o.ack_timeout_ms;
    r->wprev = NULL;
    r->wnext = c->waiting;
    if (c->waiting)
        c->waiting->wprev = r;
    c->waiting = r;
    r->waiting = 1;
    pthread_mutex_unlock(&c->wait_lock);
}

static void wait_unlink(struct collector *c, struct req *r) { /* under wait_lock */
    if (!r->waiting)
        return;
    if (r->wprev)
        r->wprev->wnext = r->wnext;
    else
        c->waiting = r->wnext;
    if (r->wnext)
        r->wnext->wprev = r->wprev;
    r->waiting = 0;
}

static void wait_remove(struct collector *c, struct req *r) {
    pthread_mutex_lock(&c->wait_lock);
    wait_unlink(c, r);
    pthread_mutex_unlock(&c->wait_lock);
}

/* Every 20 ms: a suspended request past its deadline is resumed to be
 * answered now; its deliveries report later and the last one frees it.
 * Exactly one of this thread and the last delivery resumes a request: the
 * one that clears r->suspended under r->lock. Lock order: wait_lock, then
 * r->lock (the delivery callback never holds both). */
static void *deadline_loop(void *arg) {
    struct collector *c = arg;
    pthread_mutex_lock(&c->wait_lock);
    while (!c->stopping) {
        struct MHD_Connection *due[256];
        int n = 0;
        int64_t now = mono_ms();
        struct timespec until;
        for (struct req *r = c->waiting, *next; r && n < 256; r = next) {
            next = r->wnext;
            if (r->deadline_ms > now)
                continue;
            pthread_mutex_lock(&r->lock);
            if (r->suspended) {
                r->suspended = 0;
                r->timed_out = 1;
                wait_unlink(c, r);
                due[n++] = r->conn;
            }
            pthread_mutex_unlock(&r->lock);
        }
        pthread_mutex_unlock(&c->wait_lock);
        for (int i = 0; i < n; i++)
            MHD_resume_connection(due[i]);
        pthread_mutex_lock(&c->wait_lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 20 * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        if (!c->stopping)
            pthread_cond_timedwait(&c->wake, &c->wait_lock, &until);
    }
    pthread_mutex_unlock(&c->wait_lock);
    return NULL;
}

struct collector *collector_new(const struct collector_options *opts) {
    struct collector *c = calloc(1, sizeof(*c));
    c->o = *opts;
    pthread_mutex_init(&c->wait_lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    if (pthread_create(&c->deadline_thread, NULL, deadline_loop, c))
        abort();
    for (int t = 0; t < SCHEMA_TYPE_CNT; t++)
        snprintf(c->topics[t], sizeof(c->topics[t]), "%s.%s", opts->topic_prefix,
                 schema_type_name((enum schema_type)t));
    snprintf(c->topic_invalid, sizeof(c->topic_invalid), "%s.invalid",
             opts->topic_prefix);
    return c;
}

void collector_set_producer(struct collector *c, struct producer *p) {
    const char *topics[SCHEMA_TYPE_CNT + 1];
    for (int t = 0; t < SCHEMA_TYPE_CNT; t++)
        topics[t] = c->topics[t];
    topics[SCHEMA_TYPE_CNT] = c->topic_invalid;
    c->producer = p;
    producer_warm(p, topics, SCHEMA_TYPE_CNT + 1, 5000);
}

void collector_set_server(struct collector *c, struct http_server *s) { c->server = s; }

void collector_begin_shutdown(struct collector *c) { atomic_store(&c->closing, 1); }

void collector_free(struct collector *c) {
    pthread_mutex_lock(&c->wait_lock);
    c->stopping = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->wait_lock);
    pthread_join(c->deadline_thread, NULL);
    pthread_mutex_destroy(&c->wait_lock);
    pthread_cond_destroy(&c->wake);
    free(c);
}

/* ------------------------------------------------------------- routing */

static enum route collector_route(const struct collector *c, const char *url) {
    static const struct { const char *path; enum route r; } routes[] = {
        {"/v1/events", R_EVENTS}, {"/v1/validate", R_VALIDATE},
        {"/v1/pixel.gif", R_PIXEL}, {"/healthz", R_HEALTH},
        {"/readyz", R_READY}, {"/metrics", R_METRICS}, {"/tracker.js", R_TRACKER}};
    size_t plen = strlen(c->o.path_prefix);
    if (strncmp(url, c->o.path_prefix, plen))
        return R_NOT_FOUND;
    url += plen;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (!strcmp(url, routes[i].path))
            return routes[i].r;
    return R_NOT_FOUND;
}

static const char *route_methods(enum route r) {
    return r == R_EVENTS || r == R_VALIDATE ? "POST, OPTIONS"
           : r == R_PIXEL                   ? "GET, OPTIONS"
                                            : "GET";
}

/* ---------------------------------------------------------- dead letter */

static char *base64(const char *in, size_t len) {
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < len) v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < len) v |= (unsigned char)in[i + 2];
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? tbl[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Counts a produce toward the request before enqueueing, so the delivery
 * report can never see pending drop to zero early. */
static void req_produce(struct req *r, const char *topic, const char *key,
                        const char *value, size_t len, const char *schema_id) {
    rd_kafka_resp_err_t err;
    pthread_mutex_lock(&r->lock);
    r->pending++;
    pthread_mutex_unlock(&r->lock);
    err = producer_send(r->c->producer, topic, key, value, len, schema_id, r);
    if (err) {
        log_warn("produce to %s failed: %s", topic, rd_kafka_err2str(err));
        pthread_mutex_lock(&r->lock);
        r->pending--;
        if (!r->err)
            r->err = err;
        pthread_mutex_unlock(&r->lock);
    }
}

/* Records a rejection: metrics, and (when not validating) the dead-letter
 * record with the reason, the receive time, the sender and the input. */
static void req_deadletter(struct req *r, const char *reason, const char *error,
                           int index, const json_t *event) {
    char ts[TIMEFMT_LEN], *text;
    json_t *rec;

    metrics_event_rejected(reason);
    if (r->dry_run)
        return;
    timefmt_format(r->received_at_ms, ts);
    rec = json_pack("{s:s,s:o,s:s,s:s}", "reason", reason, "error", http_json_text(error),
                    "received_at", ts, "route",
                    r->route == R_PIXEL ? "pixel" : "events");
    json_object_set_new(rec, "remote_addr", r->has_ip ? json_string(r->ip) : json_null());
    json_object_set_new(rec, "user_agent", r->has_ua ? json_string(r->ua) : json_null());
    if (index >= 0)
        json_object_set_new(rec, "index", json_integer(index));
    if (event) {
        /* A rejected event's JSON as sent can be far larger than its body
         * (escapes: "\u0001" is 6 bytes for 1): past the dead-letter limit it
         * is kept cut, in base64, so the record always fits in a message. */
        char *ev_text = json_dumps(event, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t ev_len = ev_text ? strlen(ev_text) : 0;
        if (ev_len <= r->c->o.deadletter_max_body) {
            json_object_set(rec, "event", (json_t *)event);
        } else {
            char *b64 = base64(ev_text, r->c->o.deadletter_max_body);
            json_object_set_new(rec, "event_base64", json_string(b64));
            json_object_set_new(rec, "event_bytes", json_integer((json_int_t)ev_len));
            json_object_set_new(rec, "event_truncated", json_true());
            free(b64);
        }
        free(ev_text);
    } else if (r->pixel_query) {
        json_object_set_new(rec, "query", json_string(r->pixel_query));
    } else {
        size_t keep = r->body.len < r->c->o.deadletter_max_body
                          ? r->body.len
                          : r->c->o.deadletter_max_body;
        char *b64 = base64(r->body.buf ? r->body.buf : "", keep);
        json_object_set_new(rec, "body_base64", json_string(b64));
        json_object_set_new(rec, "body_bytes", json_integer((json_int_t)r->body.total));
        json_object_set_new(rec, "body_truncated", json_boolean(keep < r->body.total));
        free(b64);
    }
    text = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    req_produce(r, r->c->topic_invalid, NULL, text, strlen(text),
                "activity/invalid/1");
    free(text);
}

/* A whole body is unusable: one answer, one dead-letter record. */
static void req_reject_body(struct req *r, unsigned status, const char *reason,
                            const char *error) {
    r->status = status;
    r->answer = json_pack("{s:o,s:s}", "error", http_json_text(error), "reason", reason);
    req_deadletter(r, reason, error, -1, NULL);
}

static void req_free(struct req *r);

/* ------------------------------------------------------------ ingestion */

static void req_ingest_events(struct req *r, json_t *events, int64_t sent_at_ms) {
    struct useragent agent;
    struct schema_context ctx;
    useragent_classify(r->has_ua ? r->ua : NULL, &agent);
    ctx = (struct schema_context){r->received_at_ms, sent_at_ms, r->has_ua ? r->ua : NULL,
                                  r->has_ip ? r->ip : NULL, agent.bot, NULL,
                                  r->has_ua ? agent.device : NULL, agent.browser, agent.os};
    json_t *rejected = json_array(), *not_counted = NULL, *ev;
    size_t i, n = json_array_size(events), accepted = 0;
    char errbuf[512], visitor[VISITOR_ID_LEN];
    const char *visitor_site = NULL; /* the site visitor was made for */

    json_array_foreach(events, i, ev) {
        struct schema_event out;
        const char *reason = NULL;
        const json_t *site = json_object_get(ev, "site");

        /* no id from the device (the default tracker keeps none): the day's,
         * made once per site of the request (the address and user agent are
         * the request's) */
        ctx.anonymous_id = NULL;
        if (json_is_string(site) && !json_object_get(ev, "anonymous_id") &&
            !json_object_get(ev, "user_id")) {
            if (!visitor_site || strcmp(visitor_site, json_string_value(site))) {
                visitor_site = json_string_value(site);
                visitor_id(r->c->o.salts, r->received_at_ms, visitor_site,
                           r->full_ip[0] ? r->full_ip : NULL, r->has_ua ? r->ua : NULL, visitor);
            }
            ctx.anonymous_id = visitor;
        }

        if (*r->c->o.sites && json_is_string(site) &&
            !http_list_contains(r->c->o.sites, json_string_value(site))) {
            char q[104];
            utf8_quote(q, sizeof(q), json_string_value(site), json_string_length(site));
            snprintf(errbuf, sizeof(errbuf), "field 'site': '%s' is not an allowed site", q);
            reason = "site_not_allowed";
        } else if (schema_event_build(&r->c->o.limits, ev, &ctx, &out, errbuf,
                                      sizeof(errbuf), &reason) == 0) {
            if (!r->dry_run)
                req_produce(r, r->c->topics[out.type], out.key, out.json,
                            out.json_len, schema_type_id(out.type));
            r->accepted_by_type[out.type]++;
            accepted++;
            if (r->c->o.max_past_ms && out.ts_ms < r->received_at_ms - r->c->o.max_past_ms) {
                if (!not_counted)
                    not_counted = json_array();
                json_array_append_new(not_counted, json_integer((json_int_t)i));
            }
            schema_event_clear(&out);
            continue;
        }
        json_array_append_new(rejected, json_pack("{s:i,s:o,s:s}", "index", (int)i,
                                                  "error", http_json_text(errbuf), "reason",
                                                  reason));
        req_deadletter(r, reason, errbuf, (int)i, ev);
    }
    r->status = (accepted == 0 && n > 0) ? 400 : 200;
    r->answer = json_pack("{s:i,s:o}", "accepted", (int)accepted, "rejected", rejected);
    /* accepted and exported, but older than the counters take */
    if (not_counted)
        json_object_set_new(r->answer, "not_counted", not_counted);
}

static void req_ingest_body(struct req *r) {
    struct collector *c = r->c;
    const char *data = r->body.buf ? r->body.buf : "";
    size_t len = r->body.len;
    char *inflated = NULL, errbuf[512];
    json_t *root, *events;
    int64_t sent_at;

    if (r->body.total > c->o.max_body) {
        snprintf(errbuf, sizeof(errbuf), "body is %zu bytes; the limit is %zu",
                 r->body.total, c->o.max_body);
        req_reject_body(r, 413, "body_too_large", errbuf);
        return;
    }
    if (r->gzip) {
        int rc = http_gunzip(data, len, c->o.max_body, &inflated, &len, errbuf,
                             sizeof(errbuf));
        if (rc > 0) {
            snprintf(errbuf, sizeof(errbuf),
                     "gzip body inflates to more than %zu bytes", c->o.max_body);
            req_reject_body(r, 413, "body_too_large", errbuf);
            return;
        }
        if (rc < 0) {
            req_reject_body(r, 400, "invalid_gzip", errbuf);
            return;
        }
        data = inflated;
    }
    root = schema_json_parse(data, len, errbuf, sizeof(errbuf));
    free(inflated);
    if (!root) {
        req_reject_body(r, 400, "invalid_json", errbuf);
        return;
    }
    if (schema_batch_unpack(root, &events, &sent_at, errbuf, sizeof(errbuf))) {
        json_decref(root);
        req_reject_body(r, 400, "invalid_shape", errbuf);
        return;
    }
    if (json_array_size(events) > c->o.limits.max_batch) {
        snprintf(errbuf, sizeof(errbuf), "batch has %zu events; the limit is %zu",
                 json_array_size(events), c->o.limits.max_batch);
        req_reject_body(r, 413, "batch_too_large", errbuf);
    } else {
        req_ingest_events(r, events, sent_at);
    }
    json_decref(events);
    json_decref(root);
}

struct pixel_args {
    json_t *event;
    const char *bad_key;
};

static enum MHD_Result pixel_arg(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *value) {
    struct pixel_args *a = cls;
    (void)kind;
    if (pixel_add_param(a->event, key, value) < 0) {
        a->bad_key = key;
        return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result pixel_arg_encode(void *cls, enum MHD_ValueKind kind,
                                        const char *key, const char *value) {
    (void)kind;
    pixel_encode_param(cls, key, value);
    return MHD_YES;
}

static void req_ingest_pixel(struct req *r) {
    struct pixel_args a = {json_object(), NULL};
    json_t *events;
    char errbuf[300], q[72];

    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, pixel_arg, &a);
    if (a.bad_key) {
        size_t len = 0;
        FILE *f = open_memstream(&r->pixel_query, &len);
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, pixel_arg_encode, f);
        fclose(f);
        utf8_quote(q, sizeof(q), a.bad_key, strlen(a.bad_key));
        snprintf(errbuf, sizeof(errbuf), "query parameter '%s' is not valid UTF-8", q);
        json_decref(a.event);
        req_reject_body(r, 400, SCHEMA_ERR_VALUE, errbuf);
        return;
    }
    if (!json_object_get(a.event, "ts"))
        json_object_set_new(a.event, "ts", json_real((double)r->received_at_ms));
    events = json_pack("[o]", a.event);
    req_ingest_events(r, events, -1);
    json_decref(events);
}

/* ------------------------------------------------------------- answers */

static enum MHD_Result req_answer(struct req *r) {
    struct MHD_Response *resp;
    unsigned status = r->status;

    if ((r->err || r->timed_out) && status == 200) {
        char msg[600];
        char why[256] = "";
        /* what readiness knows (Kafka unreachable, a topic missing) says why */
        if (producer_check_ready(r->c->producer, why + 2, sizeof(why) - 2) == 0)
            why[2] = '\0';
        else
            why[0] = ';', why[1] = ' ';
        if (r->timed_out)
            snprintf(msg, sizeof(msg),
                     "Kafka did not acknowledge the events within --ack-timeout (%ld ms)%s; "
                     "they may or may not have reached it: retry the same events (same "
                     "event_id) later",
                     (long)r->c->o.ack_timeout_ms, why);
        else
            snprintf(msg, sizeof(msg),
                     "Kafka did not acknowledge the events (%s); retry the same "
                     "events (same event_id) later",
                     rd_kafka_err2str(r->err));
        json_decref(r->answer);
        r->answer = NULL;
        status = 503;
        resp = http_response_json(json_pack("{s:s}", "error", msg));
        MHD_add_response_header(resp, "Retry-After", "2");
    } else {
        if (r->err)
            metrics_deadletter_failed(); /* the 4xx answer stands */
        if (status == 200 && !r->dry_run)
            for (int t = 0; t < SCHEMA_TYPE_CNT; t++)
                metrics_events_accepted((enum schema_type)t, r->accepted_by_type[t]);
        if (r->route == R_PIXEL && status == 200) {
            json_decref(r->answer);
            resp = http_response_bytes("image/gif", gif_1x1, sizeof(gif_1x1));
        } else {
            resp = http_response_json(r->answer);
        }
        r->answer = NULL;
    }
    metrics_request_done((int)status);
    return http_queue(r->conn, status, resp, r->origin);
}

/* Either answers now or suspends until the last delivery report or the
 * deadline, whichever comes first. */
static enum MHD_Result req_finish(struct req *r) {
    wait_add(r->c, r);
    pthread_mutex_lock(&r->lock);
    if (r->pending > 0) {
        r->suspended = 1;
        MHD_suspend_connection(r->conn);
        pthread_mutex_unlock(&r->lock);
        return MHD_YES;
    }
    pthread_mutex_unlock(&r->lock);
    wait_remove(r->c, r);
    return req_answer(r);
}

void collector_on_delivery(void *opaque, rd_kafka_resp_err_t err, long latency_us) {
    struct req *r = opaque;
    struct MHD_Connection *conn = r->conn;
    int resume, orphan;
    metrics_produce_latency(latency_us);
    pthread_mutex_lock(&r->lock);
    if (err && !r->err)
        r->err = err;
    if (err && r->orphan)
        metrics_deadletter_failed();
    resume = --r->pending == 0 && r->suspended;
    orphan = r->pending == 0 && r->orphan;
    if (resume)
        r->suspended = 0;
    pthread_mutex_unlock(&r->lock);
    if (orphan) { /* its connection is gone: the last report frees it */
        req_free(r);
        return;
    }
    /* Last touch of r: once resumed, an HTTP thread answers and frees it,
     * possibly before this call returns (so never resume under r->lock). */
    if (resume) {
        wait_remove(r->c, r);
        MHD_resume_connection(conn);
    }
}

static enum MHD_Result send_simple(struct req *r, unsigned status, const char *type,
                                   const char *text) {
    metrics_request_done((int)status);
    return http_queue(r->conn, status, http_response_bytes(type, text, strlen(text)),
                      r->origin);
}

/* tracker.js is cached by browsers for an hour and revalidated by ETag,
 * a hash of the text, so a new build is picked up within the hour. */
static enum MHD_Result send_tracker(struct req *r) {
    static char etag[24];
    const char *match = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
    struct MHD_Response *resp;
    if (!etag[0]) { /* computed once; a race writes the same bytes */
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (const char *p = ingest_tracker_js; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)h);
    }
    if (match && !strcmp(match, etag)) {
        metrics_request_done(304);
        resp = http_response_bytes("text/javascript", "", 0);
        MHD_add_response_header(resp, "ETag", etag);
        return http_queue(r->conn, 304, resp, r->origin);
    }
    metrics_request_done(200);
    resp = http_response_bytes("text/javascript; charset=utf-8", ingest_tracker_js,
                               strlen(ingest_tracker_js));
    MHD_add_response_header(resp, "Cache-Control", "public, max-age=3600");
    MHD_add_response_header(resp, "ETag", etag);
    return http_queue(r->conn, 200, resp, r->origin);
}

static enum MHD_Result req_answer_fixed_route(struct req *r) {
    struct metrics_gauges gauges;
    char errbuf[300];
    char *text;
    enum MHD_Result ret;

    switch (r->route) {
    case R_HEALTH:
        return send_simple(r, 200, "application/json", "{\"status\":\"ok\"}");
    case R_READY:
        if (producer_check_ready(r->c->producer, errbuf, sizeof(errbuf))) {
            metrics_request_done(503);
            return http_send_error(r->conn, 503, errbuf, NULL);
        }
        return send_simple(r, 200, "application/json", "{\"status\":\"ready\"}");
    case R_TRACKER:
        return send_tracker(r);
    case R_METRICS:
        gauges.producer_queue_len = producer_queue_len(r->c->producer);
        gauges.connections = r->c->server ? http_server_connections(r->c->server) : 0;
        gauges.connections_timed_out = r->c->server ? http_server_timed_out(r->c->server) : 0;
        gauges.body_memory = http_body_budget_used();
        text = metrics_render(&gauges);
        ret = send_simple(r, 200, "text/plain; version=0.0.4", text);
        free(text);
        return ret;
    default:
        metrics_request_done(404);
        return http_send_error(r->conn, 404, "no such path", r->origin);
    }
}

/* --------------------------------------------------------- MHD handler */

/* A media type is TYPE exactly, or TYPE followed by parameters. */
static int media_type_is(const char *value, const char *type) {
    size_t n = strlen(type);
    if (strncasecmp(value, type, n))
        return 0;
    value += n;
    return !*value || *value == ';' || *value == ' ' || *value == '\t';
}

/* The client address a proxy appended: X-Forwarded-For's rightmost entry
 * that is not one of the trusted proxies (a client writes any entries it
 * likes to the left of what the proxies add). Returns 0 with out set. */
static int forwarded_client(const char *xff, const char *trusted, char *out, size_t outsz) {
    size_t end = strlen(xff);
    for (;;) {
        size_t start = end, n;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        n = end - start;
        while (n && xff[start] == ' ')
            start++, n--;
        while (n && xff[start + n - 1] == ' ')
            n--;
        if (n == 0 || n >= outsz)
            return -1;
        memcpy(out, xff + start, n);
        out[n] = '\0';
        /* the leftmost entry is the client's whatever it is */
        while (start > 0 && xff[start - 1] != ',')
            start--;
        if (start == 0 || !*trusted || !http_list_contains(trusted, out))
            return 0;
        end = start - 1;
    }
}

static void req_read_headers(struct req *r, const char *method) {
    struct collector *c = r->c;
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    const char *ua = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "User-Agent");
    const char *ctype, *cenc, *fwd;
    const union MHD_ConnectionInfo *ci;
    int posts = r->route == R_EVENTS || r->route == R_VALIDATE;
    int head = !strcmp(method, "HEAD");
    char client[64];

    /* CORS only where browsers send events; no credentials are needed for
     * that, so an allowlist of * answers * and never reflects the Origin */
    if (origin && (posts || r->route == R_PIXEL)) {
        if (http_list_contains(c->o.allow_origin, "*"))
            r->origin = strdup("*");
        else if (http_list_contains(c->o.allow_origin, origin))
            r->origin = strdup(origin);
        else
            r->origin_denied = 1;
    }
    if (ua) {
        enrich_sanitize(ua, r->ua, sizeof(r->ua));
        r->has_ua = 1;
    }
    fwd = c->o.trust_forwarded
              ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-For")
              : NULL;
    /* an X-Forwarded-For without an address: the connection's */
    if (!fwd || forwarded_client(fwd, c->o.trusted_proxies, client, sizeof(client)) ||
        enrich_ip_text(client, ENRICH_IP_KEEP, r->full_ip, sizeof(r->full_ip))) {
        ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!ci || enrich_ip_sockaddr(ci->client_addr, ENRICH_IP_KEEP, r->full_ip,
                                      sizeof(r->full_ip)))
            r->full_ip[0] = '\0';
    }
    r->has_ip = enrich_ip_text(r->full_ip, c->o.ip_mode, r->ip, sizeof(r->ip)) == 0;

    r->is_options = !strcmp(method, "OPTIONS");
    /* HEAD is answered as GET would be, without a body; the pixel's HEAD
     * only validates, as a HEAD must not record anything */
    r->method_ok = (posts ? !strcmp(method, "POST") : !strcmp(method, "GET") || head) ||
                   (r->is_options && (posts || r->route == R_PIXEL));
    r->dry_run = r->route == R_VALIDATE || (r->route == R_PIXEL && head);
    if (!posts)
        return;
    ctype = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    cenc = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Encoding");
    if (!ctype || (!media_type_is(ctype, "application/json") &&
                   !media_type_is(ctype, "text/plain")))
        r->media_error = 1;
    if (cenc && !strcasecmp(cenc, "gzip"))
        r->gzip = 1;
    else if (cenc && strcasecmp(cenc, "identity"))
        r->media_error = 1;
}

/* A body is refused before it is read when its Content-Length is over the
 * limit (413, kept in the dead letter without its bytes) or when the bodies
 * in flight already hold the memory budget (503: retry). The answer goes
 * out at once and the connection closes. */
static enum MHD_Result req_begin_body(struct req *r) {
    char errbuf[160];
    unsigned st = http_body_begin(
        &r->body, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length"));
    if (st == 0)
        return MHD_YES;
    if (st == 503) {
        struct MHD_Response *resp = http_response_json(json_pack(
            "{s:s}", "error", "too many request bodies in flight; retry later"));
        MHD_add_response_header(resp, "Retry-After", "2");
        metrics_request_done(503);
        return http_queue(r->conn, 503, resp, r->origin);
    }
    r->received_at_ms = timefmt_now_ms();
    if (r->body.total == SIZE_MAX)
        snprintf(errbuf, sizeof(errbuf), "Content-Length is not a number");
    else
        snprintf(errbuf, sizeof(errbuf), "body is %zu bytes; the limit is %zu",
                 r->body.total, r->c->o.max_body);
    req_reject_body(r, 413, "body_too_large", errbuf);
    return req_answer(r);
}

static enum MHD_Result req_preflight(struct req *r) {
    struct MHD_Response *resp = http_response_bytes("text/plain", "", 0);
    unsigned status = r->origin_denied ? 403 : 204;
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", route_methods(r->route));
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            "Content-Type, Content-Encoding");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
    metrics_request_done((int)status);
    return http_queue(r->conn, status, resp, r->origin);
}

enum MHD_Result collector_handle(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    struct collector *c = cls;
    struct req *r = *con_cls;
    (void)version;

    if (!r) {
        r = calloc(1, sizeof(*r));
        r->c = c;
        r->conn = conn;
        r->route = collector_route(c, url);
        r->body.limit = c->o.max_body;
        pthread_mutex_init(&r->lock, NULL);
        metrics_in_flight(1);
        *con_cls = r;
        req_read_headers(r, method);
        if ((r->route == R_EVENTS || r->route == R_VALIDATE) && r->method_ok &&
            !r->is_options && !atomic_load(&c->closing))
            return req_begin_body(r);
        return MHD_YES;
    }
    if (*upload_data_size) {
        http_body_append(&r->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->answer || r->status) /* resumed: every delivery has reported */
        return req_answer(r);

    if (atomic_load(&c->closing)) {
        struct MHD_Response *resp = http_response_json(
            json_pack("{s:s}", "error", "shutting down; retry on another instance"));
        MHD_add_response_header(resp, "Retry-After", "2");
        MHD_add_response_header(resp, "Connection", "close");
        metrics_request_done(503);
        return http_queue(conn, 503, resp, r->origin);
    }
    if (r->route == R_NOT_FOUND)
        return req_answer_fixed_route(r);
    if (!r->method_ok) {
        struct MHD_Response *resp = http_response_json(json_pack(
            "{s:s}", "error", "method not allowed on this path"));
        MHD_add_response_header(resp, "Allow", route_methods(r->route));
        metrics_request_done(405);
        return http_queue(conn, 405, resp, r->origin);
    }
    if (r->is_options)
        return req_preflight(r);
    if (r->route != R_EVENTS && r->route != R_VALIDATE && r->route != R_PIXEL)
        return req_answer_fixed_route(r);

    r->received_at_ms = timefmt_now_ms();
    if (r->origin_denied)
        req_reject_body(r, 403, "origin_not_allowed", "this Origin may not send events");
    else if (r->route == R_PIXEL)
        req_ingest_pixel(r);
    else if (r->media_error)
        req_reject_body(r, 415, "unsupported_media_type",
                        "Content-Type must be application/json or text/plain, "
                        "Content-Encoding gzip or none");
    else
        req_ingest_body(r);
    return req_finish(r);
}

static void req_free(struct req *r) {
    http_body_free(&r->body);
    json_decref(r->answer);
    free(r->origin);
    free(r->pixel_query);
    pthread_mutex_destroy(&r->lock);
    free(r);
    metrics_in_flight(-1);
}

void collector_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    struct req *r = *con_cls;
    int pending;
    (void)cls;
    (void)conn;
    (void)toe;
    if (!r)
        return;
    *con_cls = NULL;
    /* A suspended connection is not completed before it is resumed, so
     * deliveries are outstanding here only after an early answer (413 by
     * Content-Length) or one at the deadline: the last delivery report then
     * frees r. */
    pthread_mutex_lock(&r->lock);
    pending = r->pending;
    r->orphan = pending > 0;
    pthread_mutex_unlock(&r->lock);
    if (!pending)
        req_free(r);
}
