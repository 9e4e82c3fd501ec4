/* SPDX-License-Identifier: Apache-2.0 */
/* activity-devbroker: an in-memory Kafka cluster for development and tests.
 *
 * It wraps librdkafka's mock cluster (rdkafka_mock.h), which speaks the real
 * Kafka protocol on loopback: producers, idempotence, consumer groups and
 * offset commits behave as against a real cluster, so every program is
 * tested through the same code it runs in production. It keeps nothing on
 * disk and trims each partition to a few MB: never point production at it.
 *
 * Topics are created here with rd_kafka_mock_topic_create because the mock
 * does not implement the CreateTopics admin request.
 *
 * Fault injection for tests (the mock does not move leadership, so a down
 * broker's partitions are unavailable until it is up again):
 *   SIGUSR1  every broker goes down (connections refused)
 *   SIGUSR2  every broker comes up again */
#include "config.h"
#include "kafka.h"
#include "log.h"

#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t brokers_wanted_down; /* -1 none, 0 up, 1 down */

static void on_stop(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void on_usr(int sig) { brokers_wanted_down = sig == SIGUSR1 ? 1 : 0; }

int main(int argc, char **argv) {
    long broker_cnt, partitions;
    char *bootstrap_file = NULL, *topic_prefix = NULL;
    const struct config_option opts[] = {
        {"brokers", CONFIG_INT, "3", "number of in-memory brokers",
         &broker_cnt, 1, 16, NULL},
        {"partitions", CONFIG_INT, "6", "partitions of each topic",
         &partitions, 1, 256, NULL},
        {"bootstrap-file", CONFIG_STRING, "",
         "also write the bootstrap list to this file (written last, so its "
         "existence means the cluster is ready)",
         &bootstrap_file, 0, 0, NULL},
        {"topic-prefix", CONFIG_STRING, "activity",
         "topics created: PREFIX.pageview, .click, .search, .invalid",
         &topic_prefix, 0, 0, NULL},
        {NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};
    struct config cfg = {
        "activity-devbroker",
        "In-memory Kafka cluster (librdkafka's mock cluster) for development "
        "and tests.\nPrints the bootstrap list as the first line of stdout and "
        "runs until SIGINT/SIGTERM.\nSIGUSR1 takes every broker down, SIGUSR2 "
        "brings them back (fault tests).\nNothing is persisted: never use it "
        "in production.",
        opts, NULL, 0, 0, "ACTIVITY_DEVBROKER_"};
    static const char *types[] = {"pageview", "click", "search", "invalid"};
    char errbuf[512], topic[256];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    const char *bootstraps;
    int rc = config_parse_main(&cfg, argc, argv);

    if (rc != CONFIG_RUN)
        return rc;
    log_init("activity-devbroker", LOG_WARN);

    conf = kafka_conf_new(NULL, NULL, NULL, 0, errbuf, sizeof(errbuf));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, sizeof(errbuf));
    if (!rk) {
        fprintf(stderr, "activity-devbroker: %s\n", errbuf);
        return 1;
    }
    mc = rd_kafka_mock_cluster_new(rk, (int)broker_cnt);
    if (!mc) {
        fprintf(stderr, "activity-devbroker: cannot create mock cluster\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        rd_kafka_resp_err_t err;
        snprintf(topic, sizeof(topic), "%s.%s", topic_prefix, types[i]);
        err = rd_kafka_mock_topic_create(mc, topic, (int)partitions,
                                         broker_cnt < 3 ? (int)broker_cnt : 3);
        if (err) {
            fprintf(stderr, "activity-devbroker: create %s: %s\n", topic,
                    rd_kafka_err2str(err));
            return 1;
        }
    }
    bootstraps = rd_kafka_mock_cluster_bootstraps(mc);

    if (*bootstrap_file) {
        char tmp[4096];
        FILE *f;
        snprintf(tmp, sizeof(tmp), "%s.tmp", bootstrap_file);
        if (!(f = fopen(tmp, "w")) || fprintf(f, "%s\n", bootstraps) < 0 ||
            fclose(f) || rename(tmp, bootstrap_file)) {
            perror(bootstrap_file);
            return 1;
        }
    }
    printf("%s\n", bootstraps);
    fflush(stdout);

    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    brokers_wanted_down = -1;
    signal(SIGUSR1, on_usr);
    signal(SIGUSR2, on_usr);
    while (!stop_requested) {
        if (brokers_wanted_down >= 0) {
            int down = brokers_wanted_down;
            brokers_wanted_down = -1;
            for (int b = 1; b <= broker_cnt; b++) {
                if (down)
                    rd_kafka_mock_broker_set_down(mc, b);
                else
                    rd_kafka_mock_broker_set_up(mc, b);
            }
            log_warn("all brokers %s", down ? "down" : "up");
        }
        usleep(50 * 1000);
    }

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    if (*bootstrap_file)
        unlink(bootstrap_file);
    config_free(&cfg);
    return 0;
}
