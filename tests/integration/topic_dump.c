/* SPDX-License-Identifier: Apache-2.0 */
/* topic-dump: a plain librdkafka consumer for tests. Reads every partition
 * of the named topics from the beginning to the current end and prints one
 * JSON line per message: topic, partition, offset, key, value, headers.
 * It shares no code with the programs under test beyond the config helpers,
 * so it checks what really reached Kafka. */
#include "kafka.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char errbuf[512], group[64];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *parts;
    int eofs = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: topic-dump BROKERS TOPIC [TOPIC...]\n");
        return 2;
    }
    snprintf(group, sizeof(group), "topic-dump-%d", (int)getpid());
    static const char *const defaults[][2] = {{"enable.partition.eof", "true"},
                                              {"enable.auto.commit", "false"},
                                              {"log_level", "3"},
                                              {NULL, NULL}};
    conf = kafka_conf_new(argv[1], defaults, NULL, 0, errbuf, sizeof(errbuf));
    rd_kafka_conf_set(conf, "group.id", group, errbuf, sizeof(errbuf));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errbuf, sizeof(errbuf));
    if (!rk) {
        fprintf(stderr, "topic-dump: %s\n", errbuf);
        return 1;
    }
    parts = rd_kafka_topic_partition_list_new(16);
    for (int i = 2; i < argc; i++) {
        const struct rd_kafka_metadata *md;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[i], NULL);
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        if (err || md->topic_cnt != 1 || md->topics[0].err) {
            fprintf(stderr, "topic-dump: metadata for %s: %s\n", argv[i],
                    rd_kafka_err2str(err ? err : md->topics[0].err));
            return 1;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, argv[i], p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    rd_kafka_assign(rk, parts);

    while (eofs < parts->cnt) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
        rd_kafka_headers_t *hdrs;
        json_t *line, *h;
        char *text;
        if (!m) {
            fprintf(stderr, "topic-dump: no message or end of partition in 10 s\n");
            return 1;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            fprintf(stderr, "topic-dump: %s\n", rd_kafka_message_errstr(m));
            return 1;
        }
        h = json_object();
        if (!rd_kafka_message_headers(m, &hdrs)) {
            const char *name;
            const void *val;
            size_t sz;
            for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &sz); i++)
                json_object_set_new(h, name, json_stringn(val, sz));
        }
        line = json_pack("{s:s,s:i,s:I,s:o,s:o,s:o}", "topic", rd_kafka_topic_name(m->rkt),
                         "partition", (int)m->partition, "offset", (json_int_t)m->offset,
                         "key", m->key ? json_stringn(m->key, m->key_len) : json_null(),
                         "value", json_stringn(m->payload, m->len), "headers", h);
        text = json_dumps(line, JSON_COMPACT);
        puts(text);
        free(text);
        json_decref(line);
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}
