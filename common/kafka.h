/* SPDX-License-Identifier: Apache-2.0 */
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
 * errbuf naming the property librdkafka refused. Caller owns the conf.
 *
 * Its log and error callbacks log each librdkafka error once: the log line
 * librdkafka writes anyway (a broker's connection failing is a WARN, not an
 * ERROR: it retries), plus "all brokers are down", which has none. A fatal
 * error (the client cannot go on) is logged once at ERROR with what it
 * means and what to do, and then kafka_fatal() is 1. */
rd_kafka_conf_t *kafka_conf_new(const char *brokers,
                                const char *const (*defaults)[2],
                                char *const *props, int prop_cnt, char *errbuf,
                                size_t errsize);

/* 1 once any client of the process reported a fatal error: the program
 * must stop and exit non-zero, so that its supervisor starts it anew. */
int kafka_fatal(void);

/* For a consumer, which gets its fatal error as a message error
 * (RD_KAFKA_RESP_ERR__FATAL) rather than through the error callback: logs
 * it once as the callback does, and kafka_fatal() is 1 from then on. */
void kafka_report_fatal(rd_kafka_t *rk);

/* Consumer defaults for a deep fetch queue, as pairs for `defaults`.
 * librdkafka stops fetching a partition once the consumer queue holds
 * queued.min.messages (or queued.max.messages.kbytes) and, in 2.0.2
 * (Debian 12; fetch.queue.backoff.ms only came in 2.3), looks again only
 * at the broker thread's next wake-up, up to 1 s later. A consumer that
 * drains librdkafka's default 100,000 messages faster than that sits idle
 * (seen in `-X debug=fetch`: the queue full, then empty, then fetching
 * exactly 1 s after the previous fetch); in a backlog the exporter ran at
 * 180-300k events/s instead of ~400k. The queue must hold at least a
 * second of consumption: 500,000 messages, at most 256 MB of payload, only
 * ever filled while there is a backlog. -X overrides both. */
#define KAFKA_CONSUMER_QUEUE_DEFAULTS                                                      \
    {"queued.min.messages", "500000"}, { "queued.max.messages.kbytes", "262144" }

#endif
