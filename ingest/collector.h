/* SPDX-License-Identifier: Apache-2.0 */
/* collector: activity-ingest's HTTP routes, from request to Kafka and back.
 *
 * What it guarantees: a request is answered 200 only after Kafka acknowledged
 * every event it accepted and every dead-letter record of the events it
 * rejected (acks=all, idempotent producer). Until then the connection is
 * suspended (MHD_suspend_connection), so no server thread waits on Kafka;
 * the delivery-report thread resumes it when the last report arrives. Every
 * produced message gets exactly one report, and a deadline thread answers
 * 503 + Retry-After to a request whose reports are not all in by
 * --ack-timeout (its deliveries may still complete later; the last report
 * frees it), so every suspended connection is resumed by its deadline: with
 * 200, or with 503 when any message failed or the deadline came first. Nothing rejected is dropped: rejected events and
 * unusable bodies (truncated) go to the dead-letter topic with the reason. */
#ifndef INGEST_COLLECTOR_H
#define INGEST_COLLECTOR_H

#include "enrich.h"
#include "event.h"
#include "producer.h"

#include <microhttpd.h>

struct collector_options {
    const char *topic_prefix;   /* topics PREFIX.<type>, PREFIX.invalid */
    const char *path_prefix;    /* "" or "/collect": routes live under it */
    const char *allow_origin;   /* CORS allowlist, "*" any */
    const char *sites;          /* site allowlist, "" any */
    enum enrich_ip_mode ip_mode;
    int trust_forwarded;        /* take the client IP from X-Forwarded-For */
    const char *trusted_proxies; /* addresses skipped from its right end */
    struct schema_limits limits;
    size_t max_body;            /* raw and inflated request body */
    size_t deadletter_max_body; /* bytes of a bad body kept in dead letter */
    int64_t max_past_ms;        /* the aggregator's --max-past, for the answer */
    long ack_timeout_ms;        /* every request is answered by then */
    struct visitor_salts *salts; /* ids for events that carry none (visitor.h) */
};

struct collector;

/* The options' strings must outlive the collector. */
struct collector *collector_new(const struct collector_options *opts);
/* Also looks the collector's topics up in Kafka (up to 5 s). */
void collector_set_producer(struct collector *c, struct producer *p);

/* MHD callbacks; cls is the collector. */
enum MHD_Result collector_handle(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls);
void collector_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe);

/* The producer's delivery callback; opaque is a request. */
void collector_on_delivery(void *opaque, rd_kafka_resp_err_t err,
                           long latency_us);

struct http_server;
/* The server whose connection gauges /metrics shows. */
void collector_set_server(struct collector *c, struct http_server *s);

/* From now on new requests get 503 + Connection: close. */
void collector_begin_shutdown(struct collector *c);

void collector_free(struct collector *c);

#endif
