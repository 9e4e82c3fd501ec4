/* SPDX-License-Identifier: Apache-2.0 */
/* topic-produce: writes each line of stdin as one message to a topic, as
 * anything else on a shared cluster might. The aggregator tests use it to
 * put messages that are not canonical events on the event topics. */
#include "kafka.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    char errbuf[512], line[65536];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    int failed = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: topic-produce BROKERS TOPIC < lines\n");
        return 2;
    }
    /* keyless messages spread over every partition, not stuck to one: the
     * devbroker trims each partition to a few MB, and a test that fills
     * one partition past that loses its oldest messages before they are read */
    static const char *const defaults[][2] = {{"sticky.partitioning.linger.ms", "0"},
                                              {NULL, NULL}};
    conf = kafka_conf_new(argv[1], defaults, NULL, 0, errbuf, sizeof(errbuf));
    if (!conf || !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, sizeof(errbuf)))) {
        fprintf(stderr, "topic-produce: %s\n", errbuf);
        return 1;
    }
    while (fgets(line, sizeof(line), stdin)) {
        size_t n = strcspn(line, "\n");
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE(line, n), RD_KAFKA_V_END))
            failed++;
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 30000) || failed) {
        fprintf(stderr, "topic-produce: not every message was delivered\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    rd_kafka_destroy(rk);
    return 0;
}
