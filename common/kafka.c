/* SPDX-License-Identifier: Apache-2.0 */
#include "kafka.h"

#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int fatal;

int kafka_fatal(void) { return atomic_load(&fatal); }

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                         const char *buf) {
    /* syslog levels: 0..3 error, 4 warning, 5..6 info, 7 debug. A broker
     * connection that fails (FAIL) is retried: a warning. */
    enum log_level l = level <= 3 ? (strcmp(fac, "FAIL") ? LOG_ERROR : LOG_WARN)
                       : level == 4 ? LOG_WARN
                       : level <= 6 ? LOG_INFO
                                    : LOG_DEBUG;
    log_msg(l, "librdkafka %s %s: %s", rd_kafka_name(rk), fac, buf);
}

/* What a fatal error means for an operator, by its underlying code. */
static const char *fatal_advice(rd_kafka_resp_err_t err) {
    switch (err) {
    case RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
        return "another worker of the group runs with the same --instance-id; give each "
               "worker its own (e.g. the systemd instance name)";
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR__FENCED:
        return "the idempotent producer can no longer guarantee order without "
               "duplicates; a new process gets a new producer id";
    default:
        return "the Kafka client cannot go on";
    }
}

void kafka_report_fatal(rd_kafka_t *rk) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
    if (atomic_exchange(&fatal, 1))
        return;
    log_error("Kafka fatal error in %s: %s. %s: stopping and exiting 1 so that a "
              "supervisor restarts it", rd_kafka_name(rk), buf, fatal_advice(orig));
}

/* Errors that librdkafka also logs are not logged again here. */
static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        kafka_report_fatal(rk);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        log_warn("Kafka: %s", reason);
}

rd_kafka_conf_t *kafka_conf_new(const char *brokers,
                                const char *const (*defaults)[2],
                                char *const *props, int prop_cnt, char *errbuf,
                                size_t errsize) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char key[512], err[512];

    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    if (brokers && *brokers &&
        rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err,
                          sizeof(err)) != RD_KAFKA_CONF_OK) {
        snprintf(errbuf, errsize, "--brokers %s: %s", brokers, err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (; defaults && defaults[0][0]; defaults++)
        if (rd_kafka_conf_set(conf, defaults[0][0], defaults[0][1], err,
                              sizeof(err)) != RD_KAFKA_CONF_OK) {
            snprintf(errbuf, errsize, "default %s=%s: %s", defaults[0][0],
                     defaults[0][1], err);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    for (int i = 0; i < prop_cnt; i++) {
        const char *eq = strchr(props[i], '=');
        size_t klen = (size_t)(eq - props[i]);
        if (klen >= sizeof(key))
            klen = sizeof(key) - 1;
        memcpy(key, props[i], klen);
        key[klen] = '\0';
        if (rd_kafka_conf_set(conf, key, eq + 1, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
            snprintf(errbuf, errsize, "Kafka property %s: %s", props[i], err);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}
