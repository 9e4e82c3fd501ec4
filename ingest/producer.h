/* SPDX-License-Identifier: Apache-2.0 */
/* producer: the collector's Kafka producer and its delivery reports.
 *
 * Durability: acks=all and enable.idempotence=true are forced, so a message
 * librdkafka reports delivered is on every in-sync replica, and its internal
 * retries never duplicate or reorder a message. message.timeout.ms is the
 * collector's --ack-timeout plus 1 s, so every produced message gets exactly
 * one delivery report, success or an error, soon after the collector's own
 * deadline has answered the request. A poller thread serves the reports;
 * nothing blocks an HTTP thread. */
#ifndef INGEST_PRODUCER_H
#define INGEST_PRODUCER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Called on the poller thread once per message; latency_us from produce
 * (-1 when librdkafka cannot tell). */
typedef void(producer_delivery_cb)(void *opaque, rd_kafka_resp_err_t err,
                                   long latency_us);

struct producer;

/* Takes ownership of conf (also on failure). Returns NULL with errbuf set. */
struct producer *producer_new(rd_kafka_conf_t *conf, long ack_timeout_ms,
                              producer_delivery_cb *cb, char *errbuf,
                              size_t errsize);

/* Enqueues a copy of value; key may be NULL. The delivery callback gets
 * opaque exactly once if this returns 0; on an error nothing was enqueued. */
rd_kafka_resp_err_t producer_send(struct producer *p, const char *topic,
                                  const char *key, const char *value,
                                  size_t len, const char *schema_id,
                                  void *opaque);

#define PRODUCER_MAX_TOPICS 8

/* Looks the topics' partition leaders up now (waiting up to timeout_ms),
 * so that the first requests do not each wait ~0.1-0.5 s for that lookup;
 * warns about a topic the cluster does not know. */
void producer_warm(struct producer *p, const char *const *topics, int cnt, int timeout_ms);

/* Messages produced but not yet reported. */
int producer_queue_len(struct producer *p);

/* 0 when a broker answered the latest metadata request (one a second, in
 * the background, each given 2 s); else -1 with errbuf saying why. Never
 * blocks. */
int producer_check_ready(struct producer *p, char *errbuf, size_t errsize);

/* Waits up to timeout_ms for every delivery report, then stops the poller
 * and destroys the handle. Returns the number of messages left unreported. */
int producer_close(struct producer *p, int timeout_ms);

#endif
