/* activity-aggregator: real-time counters. A member of a Kafka consumer
 * group on the event topics; any number of these processes share one SQLite
 * file, and partitions move between them on rebalance. The exactly-once
 * argument is in store.h; the group mechanics in consumer.h. */
#include "config.h"
#include "consumer.h"
#include "log.h"
#include "canonical.h"
#include "store.h"
#include "worker_metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;
static atomic_long skipped_total, counted_total, duplicates_total;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

/* The SQLite sink: a batch of parsed events, stored by store_flush. */
struct aggregator {
    struct store *store;
    struct rollup *deltas; /* the batch, pre-aggregated as it arrives */
    struct rollup_event *events;
    size_t cnt, cap;
    int64_t max_future_ms, dedup_window_ms;
};

static int agg_offset(void *ctx, const char *topic, int32_t partition, int64_t *next) {
    return store_offset(((struct aggregator *)ctx)->store, topic, partition, next);
}

static void agg_add(void *ctx, const rd_kafka_message_t *m) {
    struct aggregator *a = ctx;
    char errbuf[256];
    if (a->cnt == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 1024;
        a->events = realloc(a->events, a->cap * sizeof(*a->events));
        if (!a->events)
            abort();
    }
    if (canonical_parse(m->payload ? m->payload : "", m->len, a->max_future_ms,
                     &a->events[a->cnt], errbuf, sizeof(errbuf))) {
        /* Something other than ingest produced it: count it, say where it
         * is, and move on; it must never stop the worker. */
        atomic_fetch_add(&skipped_total, 1);
        log_warn("skipping %s [%d] offset %lld: %s", rd_kafka_topic_name(m->rkt),
                 m->partition, (long long)m->offset, errbuf);
        return;
    }
    rollup_add(a->deltas, &a->events[a->cnt++]);
}

static void agg_discard(void *ctx) {
    struct aggregator *a = ctx;
    for (size_t i = 0; i < a->cnt; i++)
        rollup_event_clear(&a->events[i]);
    a->cnt = 0;
    rollup_reset(a->deltas);
}

static int agg_flush(void *ctx, const struct consumer_partition *parts, int cnt) {
    struct aggregator *a = ctx;
    char errbuf[512];
    size_t counted;
    int rc = store_flush(a->store, parts, cnt, a->events, a->cnt, a->deltas, a->dedup_window_ms,
                         &counted, errbuf, sizeof(errbuf));
    if (rc == STORE_OK) {
        atomic_fetch_add(&counted_total, (long)counted);
        atomic_fetch_add(&duplicates_total, (long)(a->cnt - counted));
        agg_discard(a);
    } else {
        log_warn("flush of %zu events: %s", a->cnt, errbuf);
    }
    return rc;
}

static void aggregator_metrics(FILE *f) {
    fprintf(f, "# TYPE activity_aggregator_events_counted_total counter\n"
               "activity_aggregator_events_counted_total %ld\n"
               "# TYPE activity_aggregator_duplicates_total counter\n"
               "activity_aggregator_duplicates_total %ld\n"
               "# HELP activity_aggregator_skipped_total Messages that were not canonical events.\n"
               "# TYPE activity_aggregator_skipped_total counter\n"
               "activity_aggregator_skipped_total %ld\n",
            atomic_load(&counted_total), atomic_load(&duplicates_total),
            atomic_load(&skipped_total));
}

int main(int argc, char **argv) {
    char *brokers = NULL, *db = NULL, *group = NULL, *topic_prefix = NULL, *metrics_listen = NULL,
         *log_level = NULL;
    long flush_ms, flush_events, dedup_window, max_future;
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
        {"flush-events", CONFIG_INT, "20000", "or when it holds this many events",
         &flush_events, 1, 10000000, NULL},
        {"dedup-window", CONFIG_INT, "3600",
         "seconds an event_id is remembered: a retry within it counts once", &dedup_window, 0,
         31 * 86400, NULL},
        {"max-future", CONFIG_INT, "600",
         "seconds an event's ts may be ahead of received_at before it is clamped to it",
         &max_future, 0, 86400 * 365, NULL},
        {"metrics-listen", CONFIG_STRING, "",
         "serve Prometheus /metrics on host:port (empty: off)", &metrics_listen, 0, 0, NULL},
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
    struct aggregator agg;
    struct consumer_sink sink = {&agg, agg_offset, agg_add, agg_flush, agg_discard, NULL};
    struct consumer_options co;
    struct MHD_Daemon *metrics = NULL;
    int rc = config_parse_main(&cfg, argc, argv);

    if (rc != CONFIG_RUN)
        return rc;
    log_init("activity-aggregator", log_level_parse(log_level));
    memset(&agg, 0, sizeof(agg));
    agg.max_future_ms = max_future * 1000;
    agg.dedup_window_ms = dedup_window * 1000;
    agg.deltas = rollup_new();
    if (!(agg.store = store_open(db, errbuf, sizeof(errbuf)))) {
        fprintf(stderr, "activity-aggregator: --db %s\n", errbuf);
        config_free(&cfg);
        return 1;
    }
    if (*metrics_listen && !(metrics = worker_metrics_start(metrics_listen, "activity_aggregator",
                                                             aggregator_metrics, errbuf,
                                                             sizeof(errbuf)))) {
        fprintf(stderr, "activity-aggregator: --metrics-listen: %s\n", errbuf);
        store_close(agg.store);
        config_free(&cfg);
        return 2;
    }
    co = (struct consumer_options){brokers,      cfg.kafka_props, cfg.kafka_prop_cnt, group,
                                   topic_prefix, flush_ms,        flush_events};
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    log_info("consuming %s.* as group %s into %s", topic_prefix, group, db);
    rc = consumer_run(&co, &sink, &stop_requested);

    agg_discard(&agg);
    free(agg.events);
    rollup_free(agg.deltas);
    if (metrics)
        MHD_stop_daemon(metrics);
    store_close(agg.store);
    log_info("stopped: %ld events counted, %ld duplicates, %ld skipped",
             atomic_load(&counted_total), atomic_load(&duplicates_total),
             atomic_load(&skipped_total));
    config_free(&cfg);
    return rc;
}
