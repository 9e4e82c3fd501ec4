/* kafka: the one place a librdkafka configuration is assembled, so every
 * program honours --brokers and -X the same way and routes librdkafka's own
 * log lines into ours. */
#ifndef COMMON_KAFKA_H
#define COMMON_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Returns a new conf with bootstrap.servers = brokers (if non-empty), then
 * the program's defaults (pairs, NULL-terminated; may be NULL), then each
 * "key=value" of props in order, so the user's -X always wins. NULL with
 * errbuf naming the property librdkafka refused. Caller owns the conf. */
rd_kafka_conf_t *kafka_conf_new(const char *brokers,
                                const char *const (*defaults)[2],
                                char *const *props, int prop_cnt, char *errbuf,
                                size_t errsize);

#endif
