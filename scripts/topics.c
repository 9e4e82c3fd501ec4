/* SPDX-License-Identifier: Apache-2.0 */
/* activity-topics: creates the four topics with what production wants, or
 * checks an existing cluster's (Kafka's Admin API through librdkafka).
 *   activity-topics create --brokers B --partitions 12 --replication-factor 3
 *   activity-topics check --brokers B
 * Ingest never creates topics by producing (a topic made that way gets the
 * broker's defaults, one partition on a stock Kafka, so workers cannot
 * share it). The devbroker does not implement CreateTopics or
 * DescribeConfigs: there `check` reports partitions and replicas, and says
 * what it could not read. */
#include "config.h"
#include "kafka.h"
#include "log.h"
#include "topic_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_CNT 4
static const char *const suffixes[TOPIC_CNT] = {"pageview", "click", "search", "invalid"};

static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, int timeout_ms) {
    return rd_kafka_queue_poll(q, timeout_ms + 2000);
}

/* Partition and replica counts from metadata (all topics: asking for ours
 * by name could create them where auto-creation is on). */
static int describe(rd_kafka_t *rk, struct topic_facts *t, int timeout_ms) {
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err) {
        fprintf(stderr, "activity-topics: Kafka metadata: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    for (int i = 0; i < TOPIC_CNT; i++)
        for (int j = 0; j < md->topic_cnt; j++)
            if (!strcmp(md->topics[j].topic, t[i].name) && !md->topics[j].err) {
                t[i].exists = 1;
                t[i].partitions = md->topics[j].partition_cnt;
                t[i].replication =
                    md->topics[j].partition_cnt ? md->topics[j].partitions[0].replica_cnt : -1;
            }
    rd_kafka_metadata_destroy(md);
    return 0;
}

/* min.insync.replicas and retention.ms (DescribeConfigs); left -1 where the
 * cluster does not say. */
static void describe_configs(rd_kafka_t *rk, struct topic_facts *t, int timeout_ms) {
    rd_kafka_ConfigResource_t *res[TOPIC_CNT];
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_event_t *ev;
    const rd_kafka_DescribeConfigs_result_t *result;
    int n = 0;
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(opt, timeout_ms, err, sizeof(err));
    for (int i = 0; i < TOPIC_CNT; i++)
        if (t[i].exists)
            res[n++] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t[i].name);
    if (n)
        rd_kafka_DescribeConfigs(rk, res, (size_t)n, opt, q);
    ev = n ? admin_wait(q, timeout_ms) : NULL;
    result = ev ? rd_kafka_event_DescribeConfigs_result(ev) : NULL;
    if (!ev || rd_kafka_event_error(ev) || !result) {
        if (n)
            printf("WARN min.insync.replicas and retention not checked: %s\n",
                   ev ? rd_kafka_event_error_string(ev) : "no answer");
    } else {
        size_t cnt;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(result, &cnt);
        for (size_t i = 0; i < cnt; i++) {
            size_t ec;
            const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(rs[i], &ec);
            for (int k = 0; k < TOPIC_CNT; k++) {
                if (strcmp(t[k].name, rd_kafka_ConfigResource_name(rs[i])))
                    continue;
                for (size_t e = 0; e < ec; e++) {
                    const char *name = rd_kafka_ConfigEntry_name(es[e]);
                    const char *value = rd_kafka_ConfigEntry_value(es[e]);
                    if (!value)
                        continue;
                    if (!strcmp(name, "min.insync.replicas"))
                        t[k].min_insync = atol(value);
                    else if (!strcmp(name, "retention.ms"))
                        t[k].retention_ms = atoll(value) < 0 ? 0 : atoll(value);
                }
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    for (int i = 0; i < n; i++)
        rd_kafka_ConfigResource_destroy(res[i]);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
}

/* Returns 0 when every topic exists afterwards. */
static int create(rd_kafka_t *rk, struct topic_facts *t, long partitions, long replication,
                  long min_insync, long retention_h, int timeout_ms) {
    rd_kafka_NewTopic_t *nt[TOPIC_CNT];
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    char err[256], mis[32], ret[32];
    rd_kafka_event_t *ev;
    int rc = 0;
    snprintf(mis, sizeof(mis), "%ld", min_insync);
    snprintf(ret, sizeof(ret), "%lld", retention_h * 3600000LL);
    rd_kafka_AdminOptions_set_request_timeout(opt, timeout_ms, err, sizeof(err));
    for (int i = 0; i < TOPIC_CNT; i++) {
        nt[i] = rd_kafka_NewTopic_new(t[i].name, (int)partitions, (int)replication, err,
                                      sizeof(err));
        if (!nt[i]) {
            fprintf(stderr, "activity-topics: %s: %s\n", t[i].name, err);
            exit(2);
        }
        rd_kafka_NewTopic_set_config(nt[i], "min.insync.replicas", mis);
        rd_kafka_NewTopic_set_config(nt[i], "retention.ms", ret);
    }
    rd_kafka_CreateTopics(rk, nt, TOPIC_CNT, opt, q);
    ev = admin_wait(q, timeout_ms);
    if (!ev || rd_kafka_event_error(ev)) {
        fprintf(stderr, "activity-topics: CreateTopics: %s\n",
                ev ? rd_kafka_event_error_string(ev) : "no answer");
        rc = 1;
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                printf("created %s\n", rd_kafka_topic_result_name(res[i]));
            else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                printf("exists %s (left as it is)\n", rd_kafka_topic_result_name(res[i]));
            else {
                fprintf(stderr, "activity-topics: %s: %s\n", rd_kafka_topic_result_name(res[i]),
                        rd_kafka_topic_result_error_string(res[i]));
                rc = 1;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    for (int i = 0; i < TOPIC_CNT; i++)
        rd_kafka_NewTopic_destroy(nt[i]);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    return rc;
}

int main(int argc, char **argv) {
    char *brokers = NULL, *prefix = NULL, *log_level = NULL;
    long partitions, replication, min_insync, retention_h, grace, timeout_ms;
    const struct config_option opts[] = {
        {"brokers", CONFIG_STRING, "localhost:9092",
         "Kafka bootstrap servers, host:port[,host:port...]", &brokers, 0, 0, NULL},
        {"topic-prefix", CONFIG_STRING, "activity",
         "topics PREFIX.pageview, .click, .search and .invalid", &prefix, 0, 0, NULL},
        {"partitions", CONFIG_INT, "12",
         "create: partitions of each topic (the most workers of a group that share the "
         "work; a divisor-rich number leaves room to add workers)",
         &partitions, 1, 10000, NULL},
        {"replication-factor", CONFIG_INT, "3", "create: copies of each partition",
         &replication, 1, 32, NULL},
        {"min-insync-replicas", CONFIG_INT, "2",
         "create: copies that must have an event before it is acknowledged (acks=all)",
         &min_insync, 1, 32, NULL},
        {"retention-hours", CONFIG_INT, "168",
         "create: how long Kafka keeps events (at least a day plus the export's grace, "
         "and as long as a worker may be down)",
         &retention_h, 1, 876000, NULL},
        {"export-grace", CONFIG_INT, "3600", "check: activity-export's --grace (seconds)",
         &grace, 0, 31 * 86400, NULL},
        {"timeout", CONFIG_INT, "10000", "ms to wait for each answer", &timeout_ms, 100,
         600000, NULL},
        {"log-level", CONFIG_STRING, "warn", "debug, info, warn or error", &log_level, 0, 0,
         "debug|info|warn|error"},
        {NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};
    struct config cfg = {
        "activity-topics",
        "Usage: activity-topics create|check [flags]\n"
        "create: makes the four topics with partitions, replication, min.insync.replicas\n"
        "and retention (existing topics are left as they are), then checks them.\n"
        "check: reports missing topics (exit 1) and weaker settings than production\n"
        "wants (WARN lines, exit 0).",
        opts, NULL, 0, 1, NULL};
    struct topic_facts t[TOPIC_CNT];
    char names[TOPIC_CNT][256], errbuf[512];
    const char *cmd = argc > 1 ? argv[1] : "";
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    int rc;

    if (strcmp(cmd, "create") && strcmp(cmd, "check")) {
        if ((rc = config_parse_main(&cfg, argc, argv)) != CONFIG_RUN)
            return rc;
        fprintf(stderr, "activity-topics: say create or check (see --help)\n");
        config_free(&cfg);
        return 2;
    }
    if ((rc = config_parse_main(&cfg, argc - 1, argv + 1)) != CONFIG_RUN)
        return rc;
    log_init("activity-topics", log_level_parse(log_level));
    for (int i = 0; i < TOPIC_CNT; i++) {
        snprintf(names[i], sizeof(names[i]), "%s.%s", prefix, suffixes[i]);
        t[i] = (struct topic_facts){names[i], 0, -1, -1, -1, -1, i < 3};
    }
    conf = kafka_conf_new(brokers, NULL, cfg.kafka_props, cfg.kafka_prop_cnt, errbuf,
                          sizeof(errbuf));
    if (!conf || !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, sizeof(errbuf)))) {
        fprintf(stderr, "activity-topics: %s\n", errbuf);
        config_free(&cfg);
        return 2;
    }
    rc = 0;
    if (!strcmp(cmd, "create"))
        rc = create(rk, t, partitions, replication, min_insync, retention_h, (int)timeout_ms);
    if (describe(rk, t, (int)timeout_ms))
        rc = 1;
    else {
        describe_configs(rk, t, (int)timeout_ms);
        for (int i = 0; i < TOPIC_CNT; i++)
            if (t[i].exists) /* -1: the cluster did not say */
                printf("topic %s: %d partitions, replication %d, min.insync.replicas %ld, "
                       "retention.ms %lld\n", t[i].name, t[i].partitions, t[i].replication,
                       t[i].min_insync, t[i].retention_ms);
        fflush(stdout);
        if (topic_rules_check(t, TOPIC_CNT, grace, stdout))
            rc = 1;
    }
    rd_kafka_destroy(rk);
    config_free(&cfg);
    return rc;
}
