/* SPDX-License-Identifier: Apache-2.0 */
/* consumer-baseline: the yardstick for the aggregator's throughput. A plain
 * librdkafka KafkaConsumer in a fresh group reads COUNT messages from the
 * given topics and discards them. Prints "events/s <rate>", timed from the
 * first message to the last (group joining is not part of the rate). */
#include "kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    static const char *const defaults[][2] = {{"auto.offset.reset", "earliest"},
                                              {"enable.auto.commit", "false"},
                                              KAFKA_CONSUMER_QUEUE_DEFAULTS,
                                              {NULL, NULL}};
    char errbuf[512];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *subs;
    struct timespec t0 = {0, 0}, t1;
    long count, seen = 0, idle = 0;

    if (argc < 5) {
        fprintf(stderr, "usage: consumer-baseline BROKERS GROUP COUNT TOPIC...\n");
        return 2;
    }
    count = atol(argv[3]);
    conf = kafka_conf_new(argv[1], defaults, NULL, 0, errbuf, sizeof(errbuf));
    rd_kafka_conf_set(conf, "group.id", argv[2], errbuf, sizeof(errbuf));
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errbuf, sizeof(errbuf)))) {
        fprintf(stderr, "consumer-baseline: %s\n", errbuf);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    subs = rd_kafka_topic_partition_list_new(argc - 4);
    for (int i = 4; i < argc; i++)
        rd_kafka_topic_partition_list_add(subs, argv[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    while (seen < count && idle < 300) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        if (!m->err) {
            if (seen++ == 0)
                clock_gettime(CLOCK_MONOTONIC, &t0);
            idle = 0;
        }
        rd_kafka_message_destroy(m);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (seen < count) {
        fprintf(stderr, "consumer-baseline: only %ld of %ld messages\n", seen, count);
        return 1;
    }
    printf("events/s %.0f\n",
           (double)(seen - 1) / ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9));
    return 0;
}
