/* SPDX-License-Identifier: Apache-2.0 */
/* producer-baseline: the yardstick for ingest's batch throughput, in the
 * spirit of librdkafka's rdkafka_performance. A plain librdkafka producer
 * sends COUNT copies of one canonical event (keys vary) with the settings
 * ingest forces (acks=all, idempotence, lz4, linger.ms=1) and waits for
 * every delivery report. Prints "events/s <rate>".
 *
 * With --vary it fills PREFIX.pageview/.click/.search instead with COUNT
 * distinct canonical events (unique event_ids, 10,000 visitors, 50 paths,
 * targets and queries, timestamps over the last hour): the pre-filled
 * topics the aggregator benchmark reads. */
#include "kafka.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long delivered, failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err)
        failed++;
    else
        delivered++;
}

/* One distinct canonical event of the --vary set into value. */
static const char *vary_event(long i, int64_t now_ms, char *value, size_t size) {
    static const char *types[] = {"pageview", "click", "search"};
    const char *type = types[i % 3];
    char ts[TIMEFMT_LEN], recv[TIMEFMT_LEN], extra[128];
    timefmt_format(now_ms - (i * 7919) % 3600000, ts);
    timefmt_format(now_ms, recv);
    if (i % 3 == 1)
        snprintf(extra, sizeof(extra), ",\"target\":\"button-%ld\"", i % 50);
    else if (i % 3 == 2)
        snprintf(extra, sizeof(extra), ",\"query\":\"query %ld\",\"results\":%ld", i % 50, i % 4);
    else
        extra[0] = '\0';
    snprintf(value, size,
             "{\"type\":\"%s\",\"event_id\":\"00000000-0000-4000-8000-%012ld\","
             "\"site\":\"bench.test\",\"anonymous_id\":\"visitor-%05ld\",\"url\":"
             "\"https://bench.test/page/%ld?ref=home\",\"ts\":\"%s\",\"client_ts\":\"%s\","
             "\"received_at\":\"%s\"%s,\"user_agent\":\"Mozilla/5.0 bench\","
             "\"ip\":\"127.0.0.0\",\"bot\":false}",
             type, i, (i * 31) % 10000, i % 50, ts, ts, recv, extra);
    return type;
}

int main(int argc, char **argv) {
    static const char *const defaults[][2] = {{"acks", "all"},
                                              {"enable.idempotence", "true"},
                                              {"compression.type", "lz4"},
                                              {"linger.ms", "1"},
                                              {NULL, NULL}};
    char errbuf[512], key[32], ts[TIMEFMT_LEN], value[1024], topic[256];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    struct timespec t0, t1;
    long count;
    double secs;
    int vary = argc == 5 && !strcmp(argv[1], "--vary");
    int64_t now = timefmt_now_ms();

    if (vary)
        argv++, argc--;
    if (argc != 4) {
        fprintf(stderr, "usage: producer-baseline BROKERS TOPIC COUNT\n"
                        "       producer-baseline --vary BROKERS TOPIC_PREFIX COUNT\n");
        return 2;
    }
    count = atol(argv[3]);
    conf = kafka_conf_new(argv[1], defaults, NULL, 0, errbuf, sizeof(errbuf));
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, sizeof(errbuf)))) {
        fprintf(stderr, "producer-baseline: %s\n", errbuf);
        return 1;
    }
    timefmt_format(timefmt_now_ms(), ts);
    /* The shape and size of what ingest produces for the bench's events. */
    snprintf(value, sizeof(value),
             "{\"type\":\"pageview\",\"event_id\":\"0b8e5f2a-9c1d-4e7a-8f3b-2d6c1a9e4b70\","
             "\"site\":\"bench.test\",\"anonymous_id\":\"visitor-000000\",\"url\":"
             "\"https://bench.test/products/42?ref=home\",\"title\":\"Product 42\","
             "\"ts\":\"%s\",\"client_ts\":\"%s\",\"received_at\":\"%s\",\"user_agent\":"
             "\"Mozilla/5.0 (X11; Linux x86_64) bench\",\"ip\":\"127.0.0.0\",\"bot\":false}",
             ts, ts, ts);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < count; i++) {
        snprintf(key, sizeof(key), "visitor-%06ld", i % 100000);
        snprintf(topic, sizeof(topic), "%s", argv[2]);
        if (vary)
            snprintf(topic, sizeof(topic), "%s.%s", argv[2],
                     vary_event(i, now, value, sizeof(value)));
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(key, strlen(key)),
                                 RD_KAFKA_V_VALUE(value, strlen(value)),
                                 RD_KAFKA_V_HEADER("schema", "activity/pageview/1", -1),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    rd_kafka_destroy(rk);
    if (failed || delivered != count) {
        fprintf(stderr, "producer-baseline: %ld delivered, %ld failed of %ld\n", delivered,
                failed, count);
        return 1;
    }
    printf("events/s %.0f\n", (double)count / secs);
    return 0;
}
