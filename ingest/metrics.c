/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include "version.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reasons counted apart; anything else lands in "other". Keep in step with
 * SCHEMA_ERR_* and the collector's body reasons. */
static const char *reasons[] = {
    SCHEMA_ERR_NOT_OBJECT, SCHEMA_ERR_MISSING, SCHEMA_ERR_TYPE,
    SCHEMA_ERR_LENGTH, SCHEMA_ERR_VALUE, SCHEMA_ERR_UNKNOWN_FIELD,
    SCHEMA_ERR_UNKNOWN_TYPE, SCHEMA_ERR_SIZE, "site_not_allowed",
    "invalid_json", "invalid_shape", "invalid_gzip", "body_too_large",
    "batch_too_large", "origin_not_allowed", "unsupported_media_type",
    "other"};
#define REASON_CNT (sizeof(reasons) / sizeof(reasons[0]))

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const long latency_bounds_us[] = {1000,   2500,   5000,    10000,
                                         25000,  50000,  100000,  250000,
                                         500000, 1000000, 2500000, 5000000,
                                         10000000};
#define LAT_CNT (sizeof(latency_bounds_us) / sizeof(latency_bounds_us[0]))

static atomic_long by_status[600];
static atomic_long in_flight;
static atomic_long accepted[SCHEMA_TYPE_CNT];
static atomic_long rejected[REASON_CNT];
static atomic_long latency_bucket[LAT_CNT + 1];
static atomic_long latency_sum_us, latency_count;
static atomic_long deadletter_failed;

void metrics_request_done(int status) {
    if (status >= 100 && status < 600)
        atomic_fetch_add(&by_status[status], 1);
}

void metrics_in_flight(int delta) { atomic_fetch_add(&in_flight, delta); }
long metrics_in_flight_now(void) { return atomic_load(&in_flight); }

void metrics_events_accepted(enum schema_type type, long n) {
    atomic_fetch_add(&accepted[type], n);
}

void metrics_event_rejected(const char *reason) {
    size_t i;
    for (i = 0; i < REASON_CNT - 1; i++)
        if (!strcmp(reason, reasons[i]))
            break;
    atomic_fetch_add(&rejected[i], 1);
}

void metrics_produce_latency(long us) {
    size_t i = 0;
    if (us < 0) /* librdkafka could not tell */
        return;
    while (i < LAT_CNT && us > latency_bounds_us[i])
        i++;
    atomic_fetch_add(&latency_bucket[i], 1);
    atomic_fetch_add(&latency_sum_us, us);
    atomic_fetch_add(&latency_count, 1);
}

void metrics_deadletter_failed(void) { atomic_fetch_add(&deadletter_failed, 1); }

char *metrics_render(const struct metrics_gauges *g) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    long cum = 0;

    fprintf(f, "# HELP activity_ingest_requests_total HTTP requests answered, by status.\n"
               "# TYPE activity_ingest_requests_total counter\n");
    for (int s = 100; s < 600; s++)
        if (atomic_load(&by_status[s]))
            fprintf(f, "activity_ingest_requests_total{code=\"%d\"} %ld\n", s,
                    atomic_load(&by_status[s]));
    fprintf(f, "# HELP activity_ingest_requests_in_flight Requests being read or awaiting Kafka.\n"
               "# TYPE activity_ingest_requests_in_flight gauge\n"
               "activity_ingest_requests_in_flight %ld\n",
            atomic_load(&in_flight));
    fprintf(f, "# HELP activity_ingest_events_accepted_total Events acknowledged by Kafka, by type.\n"
               "# TYPE activity_ingest_events_accepted_total counter\n");
    for (int t = 0; t < SCHEMA_TYPE_CNT; t++)
        fprintf(f, "activity_ingest_events_accepted_total{type=\"%s\"} %ld\n",
                schema_type_name((enum schema_type)t), atomic_load(&accepted[t]));
    fprintf(f, "# HELP activity_ingest_events_rejected_total Rejected events and bodies, by reason.\n"
               "# TYPE activity_ingest_events_rejected_total counter\n");
    for (size_t i = 0; i < REASON_CNT; i++)
        fprintf(f, "activity_ingest_events_rejected_total{reason=\"%s\"} %ld\n",
                reasons[i], atomic_load(&rejected[i]));
    fprintf(f, "# HELP activity_ingest_produce_latency_seconds Produce to delivery report.\n"
               "# TYPE activity_ingest_produce_latency_seconds histogram\n");
    for (size_t i = 0; i <= LAT_CNT; i++) {
        cum += atomic_load(&latency_bucket[i]);
        if (i < LAT_CNT)
            fprintf(f, "activity_ingest_produce_latency_seconds_bucket{le=\"%g\"} %ld\n",
                    latency_bounds_us[i] / 1e6, cum);
        else
            fprintf(f, "activity_ingest_produce_latency_seconds_bucket{le=\"+Inf\"} %ld\n", cum);
    }
    fprintf(f, "activity_ingest_produce_latency_seconds_sum %g\n"
               "activity_ingest_produce_latency_seconds_count %ld\n",
            atomic_load(&latency_sum_us) / 1e6, atomic_load(&latency_count));
    fprintf(f, "# HELP activity_ingest_producer_queue_messages Messages awaiting a delivery report.\n"
               "# TYPE activity_ingest_producer_queue_messages gauge\n"
               "activity_ingest_producer_queue_messages %d\n", g->producer_queue_len);
    fprintf(f, "# HELP activity_ingest_connections Open client connections.\n"
               "# TYPE activity_ingest_connections gauge\n"
               "activity_ingest_connections %u\n"
               "# HELP activity_ingest_connections_timed_out_total Connections closed for not "
               "sending a whole request within --request-timeout.\n"
               "# TYPE activity_ingest_connections_timed_out_total counter\n"
               "activity_ingest_connections_timed_out_total %lu\n"
               "# HELP activity_ingest_body_memory_bytes Request bodies held in memory "
               "(at most --max-body-memory).\n"
               "# TYPE activity_ingest_body_memory_bytes gauge\n"
               "activity_ingest_body_memory_bytes %zu\n",
            g->connections, g->connections_timed_out, g->body_memory);
    fprintf(f, "# HELP activity_ingest_deadletter_failures_total Dead-letter records Kafka did not acknowledge.\n"
               "# TYPE activity_ingest_deadletter_failures_total counter\n"
               "activity_ingest_deadletter_failures_total %ld\n",
            atomic_load(&deadletter_failed));
    fprintf(f, "# HELP activity_ingest_build_info The version running.\n"
               "# TYPE activity_ingest_build_info gauge\n"
               "activity_ingest_build_info{version=\"%s\"} 1\n", activity_version);
    fclose(f);
    return buf;
}
