/* SPDX-License-Identifier: Apache-2.0 */
/* activity-aggregator: real-time counters. A member of a Kafka consumer
 * group on the event topics; any number of these processes share one SQLite
 * file, and partitions move between them on rebalance. The exactly-once
 * argument is in store.h; the group mechanics in consumer.h; how parsing
 * and storing overlap in counter_sink.h. */
#include "config.h"
#include "consumer.h"
#include "counter_sink.h"
#include "log.h"
#include "retention.h"
#include "store.h"
#include "version.h"
#include "worker_metrics.h"

#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;

/* /metrics: counting, then the file's size and retention. */
static void aggregator_metrics(FILE *f) {
    counter_sink_metrics(f);
    retention_metrics(f);
}

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv) {
    char *brokers = NULL, *instance_id = NULL, *beyond_end = NULL, *db = NULL, *group = NULL, *topic_prefix = NULL, *metrics_listen = NULL,
         *log_level = NULL;
    long flush_ms, flush_events, dedup_window, max_future, max_past;
    long keep_minutes, keep_minute_dims, keep_hours, keep_days, retention_interval,
        visit_timeout;
    const struct config_option opts[] = {
        {"brokers", CONFIG_STRING, "localhost:9092",
         "Kafka bootstrap servers, host:port[,host:port...]", &brokers, 0, 0, NULL},
        {"db", CONFIG_STRING, "counters.db", "SQLite file shared by every worker", &db, 0, 0,
         NULL},
        {"group", CONFIG_STRING, "activity-aggregator", "Kafka consumer group", &group, 0, 0,
         NULL},
        {"topic-prefix", CONFIG_STRING, "activity",
         "reads PREFIX.pageview, PREFIX.click, PREFIX.search", &topic_prefix, 0, 0, NULL},
        {"flush-ms", CONFIG_INT, "500", "store the batch at least this often (ms)", &flush_ms,
         10, 600000, NULL},
        {"flush-events", CONFIG_INT, "100000", "or when it holds this many events",
         &flush_events, 1, 10000000, NULL},
        {"dedup-window", CONFIG_INT, "3600",
         "seconds an event_id is remembered: a retry within it counts once", &dedup_window, 0,
         31 * 86400, NULL},
        {"max-future", CONFIG_INT, "600",
         "seconds an event's ts may be ahead of received_at before it is clamped to it",
         &max_future, 0, 86400 * 365, NULL},
        {"max-past", CONFIG_INT, "604800",
         "seconds an event's ts may be behind received_at and still be counted (older "
         "ones are only exported: no client writes arbitrary history); 0 = no limit",
         &max_past, 0, 86400L * 36500, NULL},
        {"keep-minutes", CONFIG_DURATION, "48h",
         "how long minute buckets (totals and visitor sketches) are kept: the last-hour "
         "chart and 'active now' need 1h; 0 or forever keeps them", &keep_minutes, 0,
         36500L * 86400, NULL},
        {"keep-minute-dims", CONFIG_DURATION, "25h",
         "how long each minute's per-page, per-target and per-query counts are kept (the "
         "largest part of the file): top lists over a range that is not whole hours need "
         "them, so 25h serves any range within the last day", &keep_minute_dims, 0,
         36500L * 86400, NULL},
        {"keep-hours", CONFIG_DURATION, "400d",
         "how long hour buckets are kept (today's and the 7-day charts; 400d compares any "
         "hour with a year before)", &keep_hours, 0, 36500L * 86400, NULL},
        {"keep-days", CONFIG_DURATION, "forever", "how long day buckets are kept",
         &keep_days, 0, 36500L * 86400, NULL},
        {"visit-timeout", CONFIG_DURATION, "30m",
         "a visit ends after this long without an event from its visitor (the next one "
         "starts a new visit); its state is kept twice as long", &visit_timeout, 60,
         86400, NULL},
        {"retention-interval", CONFIG_DURATION, "5m",
         "how often expired buckets are deleted and the file shrunk (also when sizes for "
         "/metrics are counted)", &retention_interval, 1, 86400, NULL},
        CONSUMER_INSTANCE_ID_OPTION(instance_id),
        {"offset-beyond-end", CONFIG_STRING, "hold",
         "a partition whose stored offset is beyond its log end (topic deleted and created "
         "again): hold (do not consume it; ERROR, metric, not ready), or move the stored "
         "offset to the log's start (earliest: count what is there) or end (latest)",
         &beyond_end, 0, 0, "hold|earliest|latest"},
        {"metrics-listen", CONFIG_STRING, "",
         "serve /metrics (Prometheus), /healthz and /readyz on host:port (empty: off)", &metrics_listen, 0, 0, NULL},
        {"log-level", CONFIG_STRING, "info", "debug, info, warn or error", &log_level, 0, 0,
         "debug|info|warn|error"},
        {NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};
    struct config cfg = {
        "activity-aggregator",
        "Real-time counters: consumes the event topics in a consumer group and keeps\n"
        "counts, unique-visitor sketches and its Kafka offsets in one SQLite file,\n"
        "exactly once. Read the views counts, bot_counts and uniques.",
        opts, NULL, 0, 1, NULL};
    char errbuf[512];
    struct store *store;
    struct retention *retention;
    struct retention_keep keep;
    struct counter_sink *sink;
    long counted, duplicates, skipped;
    struct consumer_options co;
    struct http_server *metrics = NULL;
    int rc = config_parse_main(&cfg, argc, argv);

    if (rc != CONFIG_RUN)
        return rc;
    log_init("activity-aggregator", log_level_parse(log_level));
    if (!(store = store_open(db, errbuf, sizeof(errbuf)))) {
        fprintf(stderr, "activity-aggregator: --db %s\n", errbuf);
        config_free(&cfg);
        return 1;
    }
    store_set_visit_timeout(store, visit_timeout * 1000);
    keep = (struct retention_keep){{{keep_minutes, keep_minute_dims},
                                    {keep_hours, keep_hours},
                                    {keep_days, keep_days}},
                                   2 * visit_timeout * 1000};
    if (!(retention = retention_open(db, &keep, errbuf, sizeof(errbuf)))) {
        fprintf(stderr, "activity-aggregator: --db %s\n", errbuf);
        store_close(store);
        config_free(&cfg);
        return 1;
    }
    /* before the first line on stdout, which tells a supervisor (and the
     * tests) it is up: a SIGTERM right after it must stop it cleanly */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (*metrics_listen && !(metrics = worker_metrics_start(metrics_listen, "activity_aggregator",
                                                             aggregator_metrics, errbuf,
                                                             sizeof(errbuf)))) {
        fprintf(stderr, "activity-aggregator: --metrics-listen: %s\n", errbuf);
        retention_close(retention);
        store_close(store);
        config_free(&cfg);
        return 2;
    }
    co = (struct consumer_options){.brokers = brokers,
                                   .kafka_props = cfg.kafka_props,
                                   .kafka_prop_cnt = cfg.kafka_prop_cnt,
                                   .group = group,
                                   .instance_id = instance_id,
                                   .client_id = "activity-aggregator",
                                   .topic_prefix = topic_prefix,
                                   .flush_ms = flush_ms,
                                   .flush_events = flush_events};
    co.beyond_end = !strcmp(beyond_end, "earliest") ? CONSUMER_BEYOND_END_EARLIEST
                    : !strcmp(beyond_end, "latest") ? CONSUMER_BEYOND_END_LATEST
                                                    : CONSUMER_BEYOND_END_HOLD;
    log_info("version %s consuming %s.* as group %s into %s", activity_version, topic_prefix,
             group, db);
    retention_start(retention, retention_interval);
    sink = counter_sink_new(store, max_future * 1000, max_past * 1000, dedup_window * 1000);
    {
        struct consumer_sink callbacks = counter_sink_callbacks(sink);
        rc = consumer_run(&co, &callbacks, &stop_requested);
    }
    counter_sink_free(sink);
    retention_close(retention);
    if (metrics)
        http_server_stop(metrics);
    store_close(store);
    counter_sink_totals(&counted, &duplicates, &skipped);
    log_info("stopped: %ld events counted, %ld duplicates, %ld skipped", counted, duplicates,
             skipped);
    config_free(&cfg);
    return rc;
}
