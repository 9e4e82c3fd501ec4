#include "kafka.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                         const char *buf) {
    /* syslog levels: 0..3 error, 4 warning, 5..6 info, 7 debug */
    enum log_level l = level <= 3 ? LOG_ERROR
                       : level == 4 ? LOG_WARN
                       : level <= 6 ? LOG_INFO
                                    : LOG_DEBUG;
    log_msg(l, "librdkafka %s %s: %s", rd_kafka_name(rk), fac, buf);
}

rd_kafka_conf_t *kafka_conf_new(const char *brokers,
                                const char *const (*defaults)[2],
                                char *const *props, int prop_cnt, char *errbuf,
                                size_t errsize) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char key[512], err[512];

    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
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
