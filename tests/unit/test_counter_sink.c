/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of aggregator/counter_sink on a real SQLite file: a batch
 * handed to the writer thread is stored before the next one, and a
 * conflict found by the writer is reported at the next flush, with nothing
 * of either batch counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "counter_sink.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmp_db.h"

static long long pageviews(void) {
    return query("SELECT coalesce(sum(n),0) FROM counts WHERE type='pageview' AND "
                 "granularity='day' AND dim=''");
}

/* A topic handle for the messages (the sink reads the topic's name), from a
 * client that never connects. */
static rd_kafka_t *rk;
static rd_kafka_topic_t *pageview_topic;

static int topic_setup(void **state) {
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    (void)state;
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(rk);
    pageview_topic = rd_kafka_topic_new(rk, "activity.pageview", NULL);
    return 0;
}

static int topic_teardown(void **state) {
    (void)state;
    rd_kafka_topic_destroy(pageview_topic);
    rd_kafka_destroy(rk);
    return 0;
}

/* Gives the sink the canonical pageview `id` with event time ts as if Kafka
 * delivered it at `offset` of partition 0 (received 2026-11-24T10:00:01Z). */
static void add_at(const struct consumer_sink *cb, int id, int64_t offset, const char *ts) {
    char json[512];
    rd_kafka_message_t m;
    snprintf(json, sizeof(json),
             "{\"type\":\"pageview\",\"event_id\":\"00000000-0000-4000-8000-%012d\","
             "\"site\":\"s\",\"anonymous_id\":\"v%d\",\"url\":\"https://s/a\","
             "\"ts\":\"%s\",\"received_at\":\"2026-11-24T10:00:01.000Z\","
             "\"bot\":false}",
             id, id, ts);
    memset(&m, 0, sizeof(m));
    m.rkt = pageview_topic;
    m.payload = json;
    m.len = strlen(json);
    m.offset = offset;
    cb->add(cb->ctx, &m);
}

static void add(const struct consumer_sink *cb, int id, int64_t offset) {
    add_at(cb, id, offset, "2026-11-24T10:00:00.000Z");
}

static struct consumer_partition part(int64_t start, int64_t next) {
    return (struct consumer_partition){"activity.pageview", 0, start, next};
}

static void test_batches_are_stored_in_order_behind_the_consumer(void **state) {
    (void)state;
    char err[256];
    struct store *st = store_open(path, err, sizeof(err));
    struct counter_sink *s = counter_sink_new(st, 600000, 7 * 86400000LL, 3600000);
    struct consumer_sink cb = counter_sink_callbacks(s);
    struct consumer_partition p = part(-1, 2);

    add(&cb, 1, 0);
    add(&cb, 2, 1);
    assert_int_equal(cb.flush(cb.ctx, &p, 1), CONSUMER_OK);
    add(&cb, 3, 2); /* parsed while batch one may still be stored */
    p = part(2, 3);
    /* Its compare-and-set expects batch one's offset: it can only pass if
     * batch one was committed first. */
    assert_int_equal(cb.flush(cb.ctx, &p, 1), CONSUMER_OK);
    counter_sink_free(s); /* waits for batch two */
    assert_int_equal(pageviews(), 3);
    assert_int_equal(query("SELECT next_offset FROM kafka_offsets"), 3);
    store_close(st);
}

/* No client can write counters for arbitrary history: an event more than
 * max_past before its arrival is not counted, and its offset moves on. */
static void test_events_older_than_max_past_are_not_counted(void **state) {
    (void)state;
    char err[256];
    struct store *st = store_open(path, err, sizeof(err));
    struct counter_sink *s = counter_sink_new(st, 600000, 7 * 86400000LL, 3600000);
    struct consumer_sink cb = counter_sink_callbacks(s);
    struct consumer_partition p = part(-1, 3);
    add_at(&cb, 1, 0, "2026-11-17T10:00:02.000Z"); /* 7 days minus 1 s: counted */
    add_at(&cb, 2, 1, "2026-11-17T10:00:00.000Z"); /* 7 days and 1 s: not */
    add_at(&cb, 3, 2, "1970-01-02T00:01:01.000Z");
    assert_int_equal(cb.flush(cb.ctx, &p, 1), CONSUMER_OK);
    counter_sink_free(s);
    assert_int_equal(pageviews(), 1);
    assert_int_equal(query("SELECT count(*) FROM counters WHERE bucket < 1000000000"), 0);
    assert_int_equal(query("SELECT next_offset FROM kafka_offsets"), 3);
    store_close(st);
}

static void test_a_conflict_is_reported_at_the_next_flush_and_counts_nothing(void **state) {
    (void)state;
    char err[256];
    struct store *a = store_open(path, err, sizeof(err)), *b = store_open(path, err, sizeof(err));
    struct counter_sink *sa = counter_sink_new(a, 600000, 7 * 86400000LL, 3600000);
    struct counter_sink *sb = counter_sink_new(b, 600000, 7 * 86400000LL, 3600000);
    struct consumer_sink ca = counter_sink_callbacks(sa), cb = counter_sink_callbacks(sb);
    struct consumer_partition p = part(-1, 1);

    add(&ca, 1, 0);
    assert_int_equal(ca.flush(ca.ctx, &p, 1), CONSUMER_OK);
    ca.discard(ca.ctx); /* waits: worker A now owns offset 1 */

    /* Worker B still believes the partition starts at nothing stored. */
    add(&cb, 1, 0);
    assert_int_equal(cb.flush(cb.ctx, &p, 1), CONSUMER_OK); /* handed over */
    add(&cb, 2, 1);
    p = part(1, 2);
    assert_int_equal(cb.flush(cb.ctx, &p, 1), CONSUMER_CONFLICT);
    cb.discard(cb.ctx);
    counter_sink_free(sb);
    counter_sink_free(sa);
    assert_int_equal(pageviews(), 1);
    assert_int_equal(query("SELECT next_offset FROM kafka_offsets"), 1);
    store_close(a);
    store_close(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batches_are_stored_in_order_behind_the_consumer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_conflict_is_reported_at_the_next_flush_and_counts_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_older_than_max_past_are_not_counted, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("counter_sink", tests, topic_setup, topic_teardown);
}
