/* SPDX-License-Identifier: Apache-2.0 */
/* consumer: the Kafka consumer-group skeleton shared by the aggregator's
 * SQLite sink and the exporter's file sink (DESIGN.md, "Layout").
 *
 * It owns group membership, the poll loop, flush cadence and shutdown; the
 * sink owns the offsets. Kafka's auto commit and auto offset store are off.
 * On assignment every partition is positioned at the offset the SINK stored
 * (or the beginning when it stored none), never at Kafka's committed one. A
 * flush hands the sink its batch together with, per partition, the offset
 * range it covers: [start, next). The sink must store the batch and the new
 * next offsets atomically, and refuse (CONSUMER_CONFLICT) when its stored
 * offset is no longer `start`. Before partitions are revoked the batch is
 * flushed; whatever could not be stored is discarded, which is always safe:
 * its offsets were not stored either, so the next owner reads it again.
 * After each stored flush the offsets are also committed to Kafka, only so
 * that standard lag tools see the group. */
#ifndef AGGREGATOR_CONSUMER_H
#define AGGREGATOR_CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdint.h>

#define CONSUMER_OK 0
#define CONSUMER_CONFLICT 1
#define CONSUMER_ERROR (-1)

struct consumer_partition {
    const char *topic;
    int32_t partition;
    int64_t start; /* the sink's stored next offset; -1: none stored yet */
    int64_t next;  /* one past the last message given to the sink */
};

struct consumer_sink {
    void *ctx;
    /* The stored next offset: 0 and *next set; 1 none stored; -1 error. */
    int (*offset)(void *ctx, const char *topic, int32_t partition, int64_t *next);
    /* Takes one message into the batch (parsing and skipping are the sink's). */
    void (*add)(void *ctx, const rd_kafka_message_t *m);
    /* Stores the batch and each partition's next offset atomically. A sink
     * may instead take the batch over and store it later (counter_sink.h),
     * before the next flush is stored, and answer that store's outcome at
     * the next flush. parts[i].topic stays valid until the discard that
     * precedes the partitions' revocation has returned. */
    int (*flush)(void *ctx, const struct consumer_partition *parts, int cnt);
    /* Forgets the batch (and waits for one taken over by flush). */
    void (*discard)(void *ctx);
    /* Optional: called once per flush interval, batch stored or not. */
    void (*tick)(void *ctx, rd_kafka_t *rk);
};

struct consumer_options {
    const char *brokers;
    char *const *kafka_props;
    int kafka_prop_cnt;
    const char *group;
    const char *instance_id;  /* group.instance.id (static membership); "" none */
    const char *client_id;    /* client.id: the program's name */
    const char *topic_prefix; /* subscribes to PREFIX.pageview, .click, .search */
    long flush_ms;
    long flush_events;
    /* A stored offset beyond a partition's log end (the topic was deleted
     * and created again, or the cluster is another one) would make every
     * message below it be skipped without a word. HOLD: the partition is
     * not consumed, an ERROR says so, readiness fails and /metrics counts
     * it, until the worker is started with EARLIEST or LATEST, which moves
     * the stored offset to the log start or end by the sink's own
     * compare-and-set store (so it stays exactly once) and logs it. */
    enum { CONSUMER_BEYOND_END_HOLD, CONSUMER_BEYOND_END_EARLIEST,
           CONSUMER_BEYOND_END_LATEST } beyond_end;
};

/* Counters for /metrics, updated by the consumer thread. */
struct consumer_stats {
    long flushes, conflicts, flush_errors;
    double last_flush_ms;
};

/* Runs until *stop is set, then flushes, leaves the group and returns 0; 1
 * when the consumer cannot start or the offsets cannot be read. */
int consumer_run(const struct consumer_options *o, const struct consumer_sink *sink,
                 volatile sig_atomic_t *stop);

/* Prometheus lines for the consumer's counters and per-partition lag;
 * thread-safe, caller frees. */
char *consumer_metrics(const char *prefix);

/* 1 when the worker is ready: in the group with partitions assigned, and
 * its last flush stored (or nothing to store yet); else 0 with why set.
 * Thread-safe. */
int consumer_ready(char *why, size_t size);

/* The recovery flags of both workers, for their option tables. */
#define CONSUMER_INSTANCE_ID_OPTION(dest)                                                   \
    {"instance-id", CONFIG_STRING, "",                                                      \
     "static group membership (group.instance.id): a worker restarted with the same id "    \
     "gets its partitions back at once instead of making the group rebalance twice; one "   \
     "id per worker slot (e.g. the systemd instance name), never two running at once (the " \
     "second one is fenced and exits 1); empty: dynamic membership",                        \
     &(dest), 0, 0, NULL}

#endif
