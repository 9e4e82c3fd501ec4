/* SPDX-License-Identifier: Apache-2.0 */
#include "counter_sink.h"

#include "canonical.h"
#include "log.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long too_old_total;
static atomic_long skipped_total, counted_total, duplicates_total, dedup_ids;
static atomic_long stores_total, store_us_total; /* the writer's transactions */

/* A batch: parsed events (kept for the dedup step), their pre-aggregated
 * deltas, and, once handed over, the offset ranges it covers (their topic
 * names are the skeleton's, valid until discard returns: consumer.h). The
 * writer builds the deltas, before its transaction: the consumer thread,
 * which parses every message, is the busier of the two. */
struct batch {
    struct rollup *deltas;
    int rolled_up; /* deltas hold every event */
    struct rollup_event *events;
    struct arena strings; /* the events' site and dim */
    size_t cnt, cap;
    struct consumer_partition *parts;
    int part_cnt, part_cap;
};

struct counter_sink {
    struct store *store;
    int64_t max_future_ms, max_past_ms, dedup_window_ms;
    struct batch batches[2];
    struct batch *current; /* filled by the consumer thread */
    struct batch *handed;  /* the writer's; NULL when none */
    pthread_t writer;
    pthread_mutex_t lock; /* guards job, result, stop */
    pthread_cond_t cond;
    int job;    /* the writer is storing `handed` */
    int result; /* how the last attempt on `handed` went */
    int stop;
};

static void batch_clear(struct batch *b) {
    arena_reset(&b->strings);
    b->cnt = 0;
    b->part_cnt = 0;
    rollup_reset(b->deltas);
    b->rolled_up = 0;
}

static void batch_set_parts(struct batch *b, const struct consumer_partition *parts, int cnt) {
    if (b->part_cap < cnt) {
        b->part_cap = cnt;
        if (!(b->parts = realloc(b->parts, (size_t)cnt * sizeof(*b->parts))))
            abort();
    }
    memcpy(b->parts, parts, (size_t)cnt * sizeof(*parts));
    b->part_cnt = cnt;
}

/* One attempt to store a batch (store.h says what an attempt guarantees);
 * a stored batch is cleared here too, off the consumer thread. */
static int batch_store(struct counter_sink *s, struct batch *b) {
    char errbuf[512];
    size_t counted;
    struct timespec t0, t1;
    int rc;
    if (!b->rolled_up) {
        for (size_t i = 0; i < b->cnt; i++)
            rollup_add(b->deltas, &b->events[i]);
        b->rolled_up = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = store_flush(s->store, b->parts, b->part_cnt, b->events, b->cnt, b->deltas,
                     s->dedup_window_ms, &counted, errbuf, sizeof(errbuf));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    atomic_fetch_add(&stores_total, 1);
    atomic_fetch_add(&store_us_total,
                     (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
    atomic_store(&dedup_ids, (long)store_seen_count(s->store));
    if (rc == STORE_OK) {
        atomic_fetch_add(&counted_total, (long)counted);
        atomic_fetch_add(&duplicates_total, (long)(b->cnt - counted));
        batch_clear(b);
    } else {
        log_warn("flush of %zu events: %s", b->cnt, errbuf);
    }
    return rc;
}

static void *writer_main(void *arg) {
    struct counter_sink *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        int rc;
        while (!s->job && !s->stop)
            pthread_cond_wait(&s->cond, &s->lock);
        if (!s->job)
            break;
        pthread_mutex_unlock(&s->lock);
        rc = batch_store(s, s->handed);
        pthread_mutex_lock(&s->lock);
        s->result = rc;
        s->job = 0;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void writer_start(struct counter_sink *s) {
    pthread_mutex_lock(&s->lock);
    s->job = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Waits until the writer is idle; the result of its last attempt. */
static int writer_wait(struct counter_sink *s) {
    int rc;
    pthread_mutex_lock(&s->lock);
    while (s->job)
        pthread_cond_wait(&s->cond, &s->lock);
    rc = s->result;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ------------------------------------------------------ the callbacks */

static int sink_offset(void *ctx, const char *topic, int32_t partition, int64_t *next) {
    struct counter_sink *s = ctx;
    /* Positions are read on assignment and after a conflict, both after a
     * discard: the writer is idle, so the connection has no open
     * transaction whose uncommitted offsets this read could see. */
    assert(!s->handed);
    return store_offset(s->store, topic, partition, next);
}

static void sink_add(void *ctx, const rd_kafka_message_t *m) {
    struct counter_sink *s = ctx;
    struct batch *b = s->current;
    char errbuf[256];
    if (b->cnt == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        if (!(b->events = realloc(b->events, b->cap * sizeof(*b->events))))
            abort();
    }
    if (canonical_parse(m->payload ? m->payload : "", m->len,
                        canonical_topic_type(rd_kafka_topic_name(m->rkt)), s->max_future_ms,
                        &b->strings,
                        &b->events[b->cnt], errbuf, sizeof(errbuf))) {
        /* Something other than ingest produced it: count it, say where it
         * is, and move on; it must never stop the worker. */
        atomic_fetch_add(&skipped_total, 1);
        log_warn("skipping %s [%d] offset %lld: %s", rd_kafka_topic_name(m->rkt), m->partition,
                 (long long)m->offset, errbuf);
        return;
    }
    if (s->max_past_ms && b->events[b->cnt].ts_ms < b->events[b->cnt].received_ms - s->max_past_ms) {
        atomic_fetch_add(&too_old_total, 1); /* not kept: its offset moves on all the same */
        return;
    }
    b->events[b->cnt++].partition = m->partition;
}

static int sink_flush(void *ctx, const struct consumer_partition *parts, int cnt) {
    struct counter_sink *s = ctx;
    if (s->handed) {
        int rc = writer_wait(s);
        if (rc == STORE_ERROR) { /* the older batch goes first, or nothing does */
            writer_start(s);
            rc = writer_wait(s);
        }
        if (rc == STORE_ERROR)
            return CONSUMER_ERROR;
        batch_clear(s->handed);
        s->handed = NULL;
        if (rc == STORE_CONFLICT)
            return CONSUMER_CONFLICT;
    }
    batch_set_parts(s->current, parts, cnt);
    s->handed = s->current;
    s->current = s->current == &s->batches[0] ? &s->batches[1] : &s->batches[0];
    writer_start(s);
    return CONSUMER_OK;
}

static void sink_discard(void *ctx) {
    struct counter_sink *s = ctx;
    if (s->handed) {
        int rc = writer_wait(s);
        for (int attempt = 0; rc == STORE_ERROR && attempt < 2; attempt++) {
            usleep(200 * 1000);
            writer_start(s);
            rc = writer_wait(s);
        }
        if (rc == STORE_ERROR)
            log_warn("a batch of %zu events could not be stored; its offsets were not stored "
                     "either, so it will be read again", s->handed->cnt);
        batch_clear(s->handed);
        s->handed = NULL;
    }
    batch_clear(s->current);
}

/* While the stream is quiet no flush comes to retry a failed batch. */
static void sink_tick(void *ctx, rd_kafka_t *rk) {
    struct counter_sink *s = ctx;
    (void)rk;
    if (!s->handed)
        return;
    pthread_mutex_lock(&s->lock);
    if (!s->job && s->result == STORE_ERROR) {
        s->job = 1;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
}

struct consumer_sink counter_sink_callbacks(struct counter_sink *s) {
    return (struct consumer_sink){s, sink_offset, sink_add, sink_flush, sink_discard, sink_tick};
}

struct counter_sink *counter_sink_new(struct store *store, int64_t max_future_ms,
                                      int64_t max_past_ms,
                                      int64_t dedup_window_ms) {
    struct counter_sink *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->store = store;
    s->max_future_ms = max_future_ms;
    s->max_past_ms = max_past_ms;
    s->dedup_window_ms = dedup_window_ms;
    s->batches[0].deltas = rollup_new();
    s->batches[1].deltas = rollup_new();
    s->current = &s->batches[0];
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (pthread_create(&s->writer, NULL, writer_main, s))
        abort();
    return s;
}

void counter_sink_free(struct counter_sink *s) {
    if (!s)
        return;
    sink_discard(s);
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->writer, NULL);
    for (int i = 0; i < 2; i++) {
        free(s->batches[i].events);
        arena_free(&s->batches[i].strings);
        free(s->batches[i].parts);
        rollup_free(s->batches[i].deltas);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

void counter_sink_metrics(FILE *f) {
    fprintf(f, "# TYPE activity_aggregator_events_counted_total counter\n"
               "activity_aggregator_events_counted_total %ld\n"
               "# TYPE activity_aggregator_duplicates_total counter\n"
               "activity_aggregator_duplicates_total %ld\n"
               "# HELP activity_aggregator_skipped_total Messages that were not canonical events.\n"
               "# TYPE activity_aggregator_skipped_total counter\n"
               "activity_aggregator_skipped_total %ld\n"
               "# HELP activity_aggregator_too_old_total Events not counted: ts more than "
               "--max-past before received_at.\n"
               "# TYPE activity_aggregator_too_old_total counter\n"
               "activity_aggregator_too_old_total %ld\n"
               "# HELP activity_aggregator_dedup_ids Event ids held in memory for retry dedup.\n"
               "# TYPE activity_aggregator_dedup_ids gauge\n"
               "activity_aggregator_dedup_ids %ld\n"
               "# HELP activity_aggregator_stores_total SQLite transactions of the writer thread.\n"
               "# TYPE activity_aggregator_stores_total counter\n"
               "activity_aggregator_stores_total %ld\n"
               "# HELP activity_aggregator_store_seconds_total Time in the writer's transactions.\n"
               "# TYPE activity_aggregator_store_seconds_total counter\n"
               "activity_aggregator_store_seconds_total %.6f\n",
            atomic_load(&counted_total), atomic_load(&duplicates_total),
            atomic_load(&skipped_total), atomic_load(&too_old_total), atomic_load(&dedup_ids), atomic_load(&stores_total),
            atomic_load(&store_us_total) / 1e6);
}

void counter_sink_totals(long *counted, long *duplicates, long *skipped) {
    *counted = atomic_load(&counted_total);
    *duplicates = atomic_load(&duplicates_total);
    *skipped = atomic_load(&skipped_total);
}
