/* SPDX-License-Identifier: Apache-2.0 */
/* activity-ingest: the HTTP collector. Reads its configuration, starts the
 * Kafka producer and the HTTP server, and on SIGTERM/SIGINT shuts down
 * without losing an acknowledged event:
 *   1. close the listening socket (new connections are refused at once)
 *      and the connections still sending a request; new requests on open
 *      ones get 503;
 *   2. wait until every in-flight request has been answered (each one's
 *      deliveries report within --ack-timeout, so this ends);
 *   3. flush the producer, stop the server, exit 0. */
#include "collector.h"
#include "config.h"
#include "http.h"
#include "http_server.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "version.h"
#include "visitor.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv) {
    char *brokers = NULL, *listen = NULL, *topic_prefix = NULL, *path_prefix = NULL,
         *allow_origin = NULL, *sites = NULL, *ip_mode = NULL, *log_level = NULL,
         *trusted_proxies = NULL, *salt_dir = NULL;
    long ack_timeout, max_body, max_batch, max_event, max_props, max_text, max_url,
        threads, deadletter_body, max_past, body_memory;
    struct http_limit_flags limit_flags = {0};
    struct visitor_salts *salts = NULL;
    int trust_forwarded;
    const struct config_option opts[] = {
        {"brokers", CONFIG_STRING, "localhost:9092",
         "Kafka bootstrap servers, host:port[,host:port...]", &brokers, 0, 0, NULL},
        {"listen", CONFIG_STRING, "127.0.0.1:8081",
         "HTTP listen address, host:port or [v6]:port (port 0: any free port)",
         &listen, 0, 0, NULL},
        {"ack-timeout", CONFIG_INT, "5000",
         "ms to wait for Kafka to acknowledge a request's events before 503",
         &ack_timeout, 100, 300000, NULL},
        {"topic-prefix", CONFIG_STRING, "activity",
         "topics PREFIX.pageview, .click, .search and the dead letter PREFIX.invalid",
         &topic_prefix, 0, 0, NULL},
        {"path-prefix", CONFIG_STRING, "",
         "serve every route under this path, e.g. /t (a first-party path that "
         "ad-blockers do not list)",
         &path_prefix, 0, 0, NULL},
        {"allow-origin", CONFIG_STRING, "*",
         "CORS: comma-separated origins allowed to send events, * for any",
         &allow_origin, 0, 0, NULL},
        {"sites", CONFIG_STRING, "",
         "comma-separated site ids accepted; empty accepts any", &sites, 0, 0, NULL},
        {"ip", CONFIG_STRING, "truncate",
         "client IP in events: truncate (IPv4 /24, IPv6 /48), drop, or keep",
         &ip_mode, 0, 0, "truncate|drop|keep"},
        {"visitor-salt-dir", CONFIG_STRING, "",
         "an event without anonymous_id or user_id gets a visitor id that is a keyed hash of "
         "site, client address and user agent with a random salt of the day, forgotten when "
         "the day ends; this directory keeps the day's salt for every ingest process sharing "
         "it and for restarts (empty: in memory, so several instances or a restart give one "
         "visitor several ids that day)", &salt_dir, 0, 0, NULL},
        {"trust-forwarded", CONFIG_BOOL, "false",
         "take the client IP from X-Forwarded-For (only behind your own proxy): its "
         "rightmost address not in --trusted-proxies",
         &trust_forwarded, 0, 0, NULL},
        {"trusted-proxies", CONFIG_STRING, "",
         "comma-separated addresses of proxies in front of the one that connects here (a "
         "load balancer before nginx): their entries are skipped from X-Forwarded-For's "
         "right end; empty: the rightmost entry, which that proxy appended, is the client",
         &trusted_proxies, 0, 0, NULL},
        HTTP_LIMIT_OPTIONS(limit_flags),
        {"max-body-memory", CONFIG_INT, "67108864",
         "bytes of request bodies held at once, all connections together (503 above)",
         &body_memory, 1048576, 68719476736, NULL},
        {"max-body-bytes", CONFIG_INT, "1048576",
         "largest request body, before and after gzip inflation (413 above)",
         &max_body, 1024, 67108864, NULL},
        {"max-batch", CONFIG_INT, "500", "most events in one request (413 above)",
         &max_batch, 1, 100000, NULL},
        {"max-event-bytes", CONFIG_INT, "16384",
         "largest canonical event, enrichment included", &max_event, 256, 1048576, NULL},
        {"max-props", CONFIG_INT, "32", "most keys in an event's props", &max_props, 0,
         1024, NULL},
        {"max-text-bytes", CONFIG_INT, "512",
         "longest title, click target/text, search query and props value", &max_text,
         16, 65536, NULL},
        {"max-url-bytes", CONFIG_INT, "2048", "longest url, referrer and href",
         &max_url, 64, 65536, NULL},
        {"deadletter-body-bytes", CONFIG_INT, "65536",
         "bytes of an unusable body, or of a rejected event's JSON, kept in its "
         "dead-letter record (the rest is cut, so a record always fits Kafka's 1 MB "
         "message limit)",
         &deadletter_body, 0, 655360, NULL},
        {"max-past", CONFIG_INT, "604800",
         "the aggregators' --max-past: events whose ts is older are accepted and exported "
         "but not counted, and the answer lists them in not_counted; 0 = no limit",
         &max_past, 0, 86400L * 36500, NULL},
        {"threads", CONFIG_INT, "0", "HTTP threads; 0 = one per core", &threads, 0,
         256, NULL},
        {"log-level", CONFIG_STRING, "info", "debug, info, warn or error", &log_level,
         0, 0, "debug|info|warn|error"},
        {NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};
    struct config cfg = {
        "activity-ingest",
        "HTTP collector: validates click, search and pageview events, enriches\n"
        "them and produces them to Kafka; answers 200 only once Kafka has\n"
        "acknowledged them. Routes: POST /v1/events, POST /v1/validate,\n"
        "GET /v1/pixel.gif, GET /healthz, /readyz, /metrics.",
        opts, NULL, 0, 1, NULL};
    static const char *const producer_defaults[][2] = {
        {"linger.ms", "1"},
        {"compression.type", "lz4"},
        {"client.id", "activity-ingest"},
        /* a topic created by a first produce has the broker's defaults (one
         * partition on a stock Kafka): topics are made by activity-topics */
        {"allow.auto.create.topics", "false"},
        {NULL, NULL}};
    char errbuf[512];
    struct collector_options co;
    struct http_server *server;
    struct http_limits lim;
    struct sockaddr_storage addr;
    rd_kafka_conf_t *conf;
    struct timespec deadline;
    int rc = config_parse_main(&cfg, argc, argv), left;

    if (rc != CONFIG_RUN)
        return rc;
    log_init("activity-ingest", log_level_parse(log_level));
    struct collector *collector = NULL;
    struct producer *producer = NULL;
    if (*path_prefix &&
        (path_prefix[0] != '/' || path_prefix[strlen(path_prefix) - 1] == '/')) {
        fprintf(stderr, "activity-ingest: --path-prefix must start with / and not "
                        "end with /, like /t\n");
        rc = 2;
        goto out;
    }
    if (http_parse_listen(listen, &addr, errbuf, sizeof(errbuf))) {
        fprintf(stderr, "activity-ingest: --listen: %s\n", errbuf);
        rc = 2;
        goto out;
    }

    memset(&co, 0, sizeof(co));
    co.topic_prefix = topic_prefix;
    co.path_prefix = path_prefix;
    co.allow_origin = allow_origin;
    co.sites = sites;
    enrich_ip_mode_parse(ip_mode, &co.ip_mode); /* choices checked by config */
    co.trust_forwarded = trust_forwarded;
    co.trusted_proxies = trusted_proxies;
    schema_limits_default(&co.limits);
    co.limits.max_batch = (size_t)max_batch;
    co.limits.max_event_bytes = (size_t)max_event;
    co.limits.max_props = (size_t)max_props;
    co.limits.max_text = (size_t)max_text;
    co.limits.max_url = (size_t)max_url;
    co.max_body = (size_t)max_body;
    co.deadletter_max_body = (size_t)deadletter_body;
    co.max_past_ms = (int64_t)max_past * 1000;
    co.ack_timeout_ms = ack_timeout;
    if (!(co.salts = salts = visitor_salts_new(salt_dir, errbuf, sizeof(errbuf)))) {
        fprintf(stderr, "activity-ingest: --visitor-salt-dir %s\n", errbuf);
        rc = 2;
        goto out;
    }
    collector = collector_new(&co);

    conf = kafka_conf_new(brokers, producer_defaults, cfg.kafka_props, cfg.kafka_prop_cnt,
                          errbuf, sizeof(errbuf));
    if (!conf) {
        fprintf(stderr, "activity-ingest: %s\n", errbuf);
        rc = 2;
        goto out;
    }
    producer = producer_new(conf, ack_timeout, collector_on_delivery, errbuf, sizeof(errbuf));
    if (!producer) {
        fprintf(stderr, "activity-ingest: Kafka producer: %s\n", errbuf);
        rc = 1;
        goto out;
    }
    collector_set_producer(collector, producer);

    http_limits_from_flags(&lim, &limit_flags);
    lim.threads = (int)threads;
    http_body_set_budget((size_t)body_memory);
    /* Bodies of 64 KiB and more get their own mappings, returned to the
     * system when freed: a fixed threshold stops glibc from raising it after
     * the first large free and then keeping every large body's memory. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    /* before the first line on stdout, which tells a supervisor (and the
     * tests) it is up: a SIGTERM right after it must stop it cleanly */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    server = http_server_start(&addr, &lim, collector_handle, collector, collector_completed,
                               errbuf, sizeof(errbuf));
    if (server)
        collector_set_server(collector, server);
    if (!server) {
        if (!strncmp(errbuf, "--tls", 5)) { /* a flag's mistake, not the network's */
            fprintf(stderr, "activity-ingest: %s\n", errbuf);
            rc = 2;
        } else {
            fprintf(stderr, "activity-ingest: --listen %s: %s\n", listen, errbuf);
            rc = 1;
        }
        goto out;
    }
    {
        char host[300];
        const char *colon = listen[0] == '[' ? strchr(listen, ']') + 1 : strrchr(listen, ':');
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        printf("%s://%s:%d%s/\n", *limit_flags.tls_cert ? "https" : "http",
               *host ? host : "0.0.0.0", http_server_port(server),
               path_prefix);
        fflush(stdout);
        log_info("version %s listening on %s:%d, producing to %s (topics %s.*)",
                 activity_version, *host ? host : "*", http_server_port(server), brokers,
                 topic_prefix);
    }

    /* a fatal Kafka error stops the collector as SIGTERM does (requests in
     * flight get their 503), then it exits 1; checked 5 times a second */
    while (!stop_requested && !kafka_fatal())
        usleep(200 * 1000);

    log_info("shutting down: %ld requests in flight", metrics_in_flight_now());
    collector_begin_shutdown(collector);
    http_server_quiesce(server);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ack_timeout / 1000 + 5;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (metrics_in_flight_now() == 0 || now.tv_sec > deadline.tv_sec)
            break;
        usleep(20 * 1000);
    }
    left = producer_close(producer, (int)ack_timeout + 1000);
    producer = NULL;
    http_server_stop(server);
    if (left)
        log_error("%d messages were not acknowledged by Kafka at exit", left);
    log_info("stopped");
    rc = left || kafka_fatal() ? 1 : 0;
out:
    if (producer)
        producer_close(producer, 0);
    if (collector)
        collector_free(collector);
    visitor_salts_free(salts);
    config_free(&cfg);
    return rc;
}
