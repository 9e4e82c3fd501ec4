/* SPDX-License-Identifier: Apache-2.0 */
/* metrics: the collector's Prometheus counters. Lock-free (C11 atomics),
 * since every request and every delivery report touches them. */
#ifndef INGEST_METRICS_H
#define INGEST_METRICS_H

#include "event.h"

void metrics_request_done(int status);
void metrics_in_flight(int delta);
long metrics_in_flight_now(void);
void metrics_events_accepted(enum schema_type type, long n);
/* reason: a SCHEMA_ERR_* code or one of the collector's body reasons. */
void metrics_event_rejected(const char *reason);
void metrics_produce_latency(long latency_us);
void metrics_deadletter_failed(void);

/* Gauges read from elsewhere when /metrics is asked. */
struct metrics_gauges {
    int producer_queue_len;
    unsigned connections;
    unsigned long connections_timed_out;
    size_t body_memory;
};

/* Prometheus text exposition; caller frees. */
char *metrics_render(const struct metrics_gauges *g);

#endif
