/* SPDX-License-Identifier: Apache-2.0 */
#include "consumer.h"

#include "event.h"
#include "kafka.h"
#include "log.h"
#include "version.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARTITIONS 1024

struct consumer {
    rd_kafka_t *rk;
    int held; /* partitions of the assignment not consumed (beyond_end) */
    const struct consumer_options *o;
    const struct consumer_sink *sink;
    struct consumer_partition parts[MAX_PARTITIONS]; /* the assignment */
    int part_cnt;
    long pending; /* messages in the sink's batch */
    struct timespec last_flush;
    int fatal;
};

/* What /metrics shows, copied out under a lock by the consumer thread. */
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct consumer_stats stats;
static atomic_long messages_total; /* per message: a lock there was 4 % of the thread */
static struct {
    char topic[128];
    int32_t partition;
    int64_t next, high;
} lag[MAX_PARTITIONS];
static int lag_cnt;
static int last_flush_failed;
static int held_cnt;

static double ms_since(const struct timespec *t) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

static struct consumer_partition *consumer_find(struct consumer *c, const char *topic, int32_t p) {
    for (int i = 0; i < c->part_cnt; i++)
        if (c->parts[i].partition == p && !strcmp(c->parts[i].topic, topic))
            return &c->parts[i];
    return NULL;
}

static void consumer_update_lag(struct consumer *c) {
    pthread_mutex_lock(&metrics_lock);
    lag_cnt = c->part_cnt;
    held_cnt = c->held;
    for (int i = 0; i < c->part_cnt; i++) {
        int64_t lo, hi = -1;
        rd_kafka_get_watermark_offsets(c->rk, c->parts[i].topic, c->parts[i].partition, &lo, &hi);
        snprintf(lag[i].topic, sizeof(lag[i].topic), "%s", c->parts[i].topic);
        lag[i].partition = c->parts[i].partition;
        lag[i].next = c->parts[i].next;
        lag[i].high = hi;
    }
    pthread_mutex_unlock(&metrics_lock);
}

/* p's stored offset is beyond its log end [lo, hi): held, or moved to lo or
 * hi through the sink's store as --offset-beyond-end says. Returns 1 when
 * held (then it is taken out of list, so it is not consumed). */
static int consumer_beyond_end(struct consumer *c, struct consumer_partition *p,
                               rd_kafka_topic_partition_list_t *list, int64_t lo, int64_t hi) {
    int64_t to = c->o->beyond_end == CONSUMER_BEYOND_END_EARLIEST ? lo : hi;
    struct consumer_partition move = {p->topic, p->partition, p->start, to};
    if (c->o->beyond_end == CONSUMER_BEYOND_END_HOLD) {
        log_error("%s [%d]: the stored offset %lld is beyond the partition's log end %lld (the "
                  "topic was deleted and created again, or this is another cluster): not "
                  "consuming it, since every message below %lld would be skipped. Restart with "
                  "--offset-beyond-end earliest to read the partition from its start (%lld), or "
                  "latest to skip to its end", p->topic, p->partition, (long long)p->start,
                  (long long)hi, (long long)p->start, (long long)lo);
        rd_kafka_topic_partition_list_del(list, p->topic, p->partition);
        return 1;
    }
    /* an empty batch that moves the offset: the same compare-and-set as any */
    if (c->sink->flush(c->sink->ctx, &move, 1) != CONSUMER_OK) {
        log_error("%s [%d]: could not store the offset %lld; holding the partition",
                  p->topic, p->partition, (long long)to);
        rd_kafka_topic_partition_list_del(list, p->topic, p->partition);
        return 1;
    }
    log_warn("%s [%d]: the stored offset %lld was beyond the log end %lld; moved to %lld "
             "(--offset-beyond-end %s)", p->topic, p->partition, (long long)p->start,
             (long long)hi, (long long)to, to == lo ? "earliest" : "latest");
    p->start = p->next = to;
    rd_kafka_topic_partition_list_find(list, p->topic, p->partition)->offset = to;
    return 0;
}

/* Reads the sink's offsets for the current assignment and positions the
 * consumer there. Returns 0, or -1 when an offset cannot be read (then
 * nothing may be consumed: the only safe position is unknown). */
static int consumer_position(struct consumer *c) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(c->part_cnt);
    int rc = 0;
    for (int i = 0; i < c->part_cnt && rc == 0; i++) {
        struct consumer_partition *p = &c->parts[i];
        int64_t next;
        int found = c->sink->offset(c->sink->ctx, p->topic, p->partition, &next);
        if (found < 0) {
            log_error("cannot read the stored offset of %s [%d]", p->topic, p->partition);
            rc = -1;
            break;
        }
        p->start = found == 0 ? next : -1;
        p->next = p->start;
        rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset =
            found == 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    c->held = 0;
    for (int i = 0; i < c->part_cnt && rc == 0; i++) {
        int64_t lo, hi;
        struct consumer_partition *p = &c->parts[i];
        if (p->start < 0 ||
            rd_kafka_query_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi, 5000))
            continue;
        /* A stored offset below the log start means retention deleted
         * messages this group never read: say so, loudly; the reset policy
         * then decides where reading resumes. */
        if (p->start < lo)
            log_error("%s [%d]: offsets %lld..%lld were deleted by retention before this group "
                      "read them", p->topic, p->partition, (long long)p->start,
                      (long long)lo - 1);
        if (p->start > hi && consumer_beyond_end(c, p, list, lo, hi))
            c->held++;
    }
    if (rc == 0) {
        rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, list);
        if (e) {
            log_error("assign: %s", rd_kafka_err2str(e));
            rc = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
    c->pending = 0;
    return rc;
}

/* Hands the batch to the sink. Returns CONSUMER_OK (or nothing to do),
 * CONSUMER_CONFLICT after re-positioning, or CONSUMER_ERROR (batch kept). */
static int consumer_flush(struct consumer *c) {
    struct consumer_partition dirty[MAX_PARTITIONS];
    rd_kafka_topic_partition_list_t *commit;
    struct timespec t0;
    int cnt = 0, rc;

    for (int i = 0; i < c->part_cnt; i++)
        if (c->parts[i].next != c->parts[i].start)
            dirty[cnt++] = c->parts[i];
    clock_gettime(CLOCK_MONOTONIC, &c->last_flush);
    if (cnt == 0)
        return CONSUMER_OK;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = c->sink->flush(c->sink->ctx, dirty, cnt);
    pthread_mutex_lock(&metrics_lock);
    stats.last_flush_ms = ms_since(&t0);
    if (rc == CONSUMER_OK)
        stats.flushes++;
    else if (rc == CONSUMER_CONFLICT)
        stats.conflicts++;
    else
        stats.flush_errors++;
    pthread_mutex_unlock(&metrics_lock);

    pthread_mutex_lock(&metrics_lock);
    last_flush_failed = rc == CONSUMER_ERROR;
    pthread_mutex_unlock(&metrics_lock);
    if (rc == CONSUMER_ERROR)
        return rc;
    if (rc == CONSUMER_CONFLICT) {
        log_warn("another worker moved one of our partitions on; discarding the batch "
                 "and re-reading the stored offsets");
        c->sink->discard(c->sink->ctx);
        if (consumer_position(c))
            c->fatal = 1;
        return rc;
    }
    commit = rd_kafka_topic_partition_list_new(cnt);
    for (int i = 0; i < c->part_cnt; i++) {
        struct consumer_partition *p = &c->parts[i];
        if (p->next == p->start)
            continue;
        p->start = p->next;
        rd_kafka_topic_partition_list_add(commit, p->topic, p->partition)->offset = p->next;
    }
    rd_kafka_commit(c->rk, commit, 1); /* for lag tools only; failures are harmless */
    rd_kafka_topic_partition_list_destroy(commit);
    c->pending = 0;
    consumer_update_lag(c);
    return CONSUMER_OK;
}

static void consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t *list, void *opaque) {
    struct consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        c->part_cnt = 0;
        for (int i = 0; i < list->cnt && i < MAX_PARTITIONS; i++) {
            c->parts[c->part_cnt].topic = strdup(list->elems[i].topic);
            c->parts[c->part_cnt++].partition = list->elems[i].partition;
        }
        log_info("assigned %d partitions", c->part_cnt);
        if (consumer_position(c))
            c->fatal = 1;
        consumer_update_lag(c); /* /metrics shows the assignment before any data */
    } else {
        /* Revoked: store what we have while the partitions are still ours. */
        for (int attempt = 0; attempt < 3 && consumer_flush(c) == CONSUMER_ERROR; attempt++)
            usleep(200 * 1000);
        c->sink->discard(c->sink->ctx);
        c->pending = 0;
        for (int i = 0; i < c->part_cnt; i++)
            free((char *)c->parts[i].topic);
        c->part_cnt = 0;
        c->held = 0;
        rd_kafka_assign(rk, NULL);
        consumer_update_lag(c);
        log_info("partitions revoked");
    }
}

/* Leaving the group can block for up to session.timeout.ms when the cluster
 * is unreachable, and SIGTERM must not hang. The watchdog ends the process
 * if the close takes more than 10 s: by then the batch is in the sink (it
 * is stored first), a process exit cannot tear a SQLite transaction, and
 * the group evicts a silent member after its session timeout. */
static pthread_mutex_t close_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t close_cond = PTHREAD_COND_INITIALIZER;
static int close_done;

static void *consumer_close_watchdog(void *arg) {
    struct timespec deadline;
    int timed_out = 0;
    (void)arg;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&close_lock);
    while (!close_done && !timed_out)
        timed_out = pthread_cond_timedwait(&close_cond, &close_lock, &deadline) != 0;
    pthread_mutex_unlock(&close_lock);
    if (timed_out) {
        log_warn("Kafka did not confirm leaving the group within 10 s; exiting anyway");
        _exit(0);
    }
    return NULL;
}

static void consumer_close(struct consumer *c) {
    pthread_t watchdog;
    if (consumer_flush(c) == CONSUMER_ERROR)
        log_warn("the last batch could not be stored; it will be read again");
    pthread_create(&watchdog, NULL, consumer_close_watchdog, NULL);
    rd_kafka_consumer_close(c->rk); /* serves the revoke: nothing left to flush */
    pthread_mutex_lock(&close_lock);
    close_done = 1;
    pthread_cond_signal(&close_cond);
    pthread_mutex_unlock(&close_lock);
    pthread_join(watchdog, NULL);
    rd_kafka_destroy(c->rk);
}

int consumer_run(const struct consumer_options *o, const struct consumer_sink *sink,
                 volatile sig_atomic_t *stop) {
    /* fetch.wait.max.ms: a quiet partition's fetch returns within 100 ms
     * rather than 500, which would otherwise add to every event's latency
     * on top of --flush-ms. */
    /* session.timeout.ms: a crashed member's partitions move on after 10 s
     * (librdkafka's default is 45 s, during which a restarted member's join
     * leaves every partition of the group unread), with heartbeats every 3 s. */
    static const char *const defaults[][2] = {{"auto.offset.reset", "earliest"},
                                              {"fetch.wait.max.ms", "100"},
                                              {"session.timeout.ms", "10000"},
                                              {"heartbeat.interval.ms", "3000"},
                                              KAFKA_CONSUMER_QUEUE_DEFAULTS,
                                              {NULL, NULL}};
    struct consumer c;
    rd_kafka_conf_t *conf;
    rd_kafka_topic_partition_list_t *subs;
    char errbuf[512];
    int backoff_ms = 0;

    memset(&c, 0, sizeof(c));
    c.o = o;
    c.sink = sink;
    conf = kafka_conf_new(o->brokers, defaults, o->kafka_props, o->kafka_prop_cnt, errbuf,
                          sizeof(errbuf));
    /* client.id, unless -X set one: broker-side tools tell the programs apart */
    if (conf && o->client_id) {
        char cur[256];
        size_t n = sizeof(cur);
        if (rd_kafka_conf_get(conf, "client.id", cur, &n) == RD_KAFKA_CONF_OK &&
            !strcmp(cur, "rdkafka"))
            rd_kafka_conf_set(conf, "client.id", o->client_id, NULL, 0);
    }
    if (!conf || rd_kafka_conf_set(conf, "group.id", o->group, errbuf, sizeof(errbuf)) ||
        (*o->instance_id &&
         rd_kafka_conf_set(conf, "group.instance.id", o->instance_id, errbuf, sizeof(errbuf)))) {
        log_error("%s", errbuf);
        if (conf)
            rd_kafka_conf_destroy(conf);
        return 1;
    }
    /* The sink's offsets are the truth; these two must stay off whatever -X says. */
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", NULL, 0);
    rd_kafka_conf_set_rebalance_cb(conf, consumer_rebalance_cb);
    rd_kafka_conf_set_opaque(conf, &c);
    if (!(c.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errbuf, sizeof(errbuf)))) {
        log_error("Kafka consumer: %s", errbuf);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_poll_set_consumer(c.rk);
    subs = rd_kafka_topic_partition_list_new(SCHEMA_TYPE_CNT);
    for (int t = 0; t < SCHEMA_TYPE_CNT; t++) {
        char topic[256];
        snprintf(topic, sizeof(topic), "%s.%s", o->topic_prefix,
                 schema_type_name((enum schema_type)t));
        rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    }
    if (rd_kafka_subscribe(c.rk, subs)) {
        log_error("cannot subscribe");
        rd_kafka_topic_partition_list_destroy(subs);
        rd_kafka_destroy(c.rk);
        return 1;
    }
    rd_kafka_topic_partition_list_destroy(subs);
    clock_gettime(CLOCK_MONOTONIC, &c.last_flush);

    while (!*stop && !c.fatal && !kafka_fatal()) {
        rd_kafka_message_t *m;
        if (backoff_ms) { /* the sink could not store: hold consumption, retry */
            usleep((useconds_t)backoff_ms * 1000);
            if (consumer_flush(&c) == CONSUMER_ERROR) {
                backoff_ms = backoff_ms < 2000 ? backoff_ms * 2 : 2000;
                continue;
            }
            backoff_ms = 0;
        }
        m = rd_kafka_consumer_poll(c.rk, 100);
        if (m) {
            struct consumer_partition *p;
            if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                kafka_report_fatal(c.rk);
            } else if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    log_warn("consume: %s", rd_kafka_message_errstr(m));
            } else if ((p = consumer_find(&c, rd_kafka_topic_name(m->rkt), m->partition)) &&
                       (p->next < 0 || m->offset >= p->next)) {
                p->next = m->offset + 1;
                c.sink->add(c.sink->ctx, m);
                c.pending++;
                atomic_fetch_add_explicit(&messages_total, 1, memory_order_relaxed);
            }
            rd_kafka_message_destroy(m);
        }
        /* Also flush as soon as a poll comes back empty: there is nothing
         * more to batch with, and holding the batch would only add up to
         * --flush-ms to every event's delay. */
        if (c.pending >= o->flush_events || (!m && c.pending) ||
            ms_since(&c.last_flush) >= (double)o->flush_ms) {
            if (consumer_flush(&c) == CONSUMER_ERROR) {
                log_warn("flush failed; holding consumption and retrying");
                backoff_ms = 100;
            }
            if (c.sink->tick)
                c.sink->tick(c.sink->ctx, c.rk);
        }
    }
    consumer_close(&c);
    return c.fatal || kafka_fatal() ? 1 : 0;
}

char *consumer_metrics(const char *prefix) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    pthread_mutex_lock(&metrics_lock);
    fprintf(f, "# TYPE %s_build_info gauge\n%s_build_info{version=\"%s\"} 1\n", prefix, prefix,
            activity_version);
    fprintf(f, "# TYPE %s_messages_total counter\n%s_messages_total %ld\n", prefix, prefix,
            atomic_load(&messages_total));
    fprintf(f, "# TYPE %s_flushes_total counter\n%s_flushes_total %ld\n", prefix, prefix,
            stats.flushes);
    fprintf(f, "# TYPE %s_flush_conflicts_total counter\n%s_flush_conflicts_total %ld\n", prefix,
            prefix, stats.conflicts);
    fprintf(f, "# TYPE %s_flush_errors_total counter\n%s_flush_errors_total %ld\n", prefix,
            prefix, stats.flush_errors);
    fprintf(f, "# TYPE %s_last_flush_seconds gauge\n%s_last_flush_seconds %g\n", prefix, prefix,
            stats.last_flush_ms / 1e3);
    fprintf(f, "# TYPE %s_assigned_partitions gauge\n%s_assigned_partitions %d\n", prefix, prefix,
            lag_cnt);
    fprintf(f, "# HELP %s_partitions_held Assigned partitions not consumed: stored offset beyond "
               "the log end.\n# TYPE %s_partitions_held gauge\n%s_partitions_held %d\n",
            prefix, prefix, prefix, held_cnt);
    fprintf(f, "# HELP %s_lag_messages Messages between the stored offset and the end.\n"
               "# TYPE %s_lag_messages gauge\n", prefix, prefix);
    for (int i = 0; i < lag_cnt; i++)
        if (lag[i].high >= 0)
            fprintf(f, "%s_lag_messages{topic=\"%s\",partition=\"%d\"} %lld\n", prefix,
                    lag[i].topic, lag[i].partition,
                    (long long)(lag[i].high - (lag[i].next < 0 ? 0 : lag[i].next)));
    pthread_mutex_unlock(&metrics_lock);
    fclose(f);
    return buf;
}

int consumer_ready(char *why, size_t size) {
    int ready = 0;
    pthread_mutex_lock(&metrics_lock);
    if (kafka_fatal())
        snprintf(why, size, "a fatal Kafka error; exiting");
    else if (lag_cnt == 0)
        snprintf(why, size, "no partitions assigned (joining the group, or more workers than "
                            "partitions)");
    else if (held_cnt)
        snprintf(why, size, "%d partitions held: their stored offset is beyond the log end "
                            "(see the log; --offset-beyond-end)", held_cnt);
    else if (last_flush_failed)
        snprintf(why, size, "the last flush could not be stored; retrying");
    else
        ready = 1;
    pthread_mutex_unlock(&metrics_lock);
    return ready;
}
