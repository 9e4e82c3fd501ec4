/* SPDX-License-Identifier: Apache-2.0 */
/* worker_metrics: the HTTP endpoint of a consumer-group worker (aggregator,
 * exporter): Prometheus /metrics (the consumer skeleton's counters and lag,
 * followed by the worker's own lines), /healthz (200 while it runs) and
 * /readyz (200 when consumer_ready(), else 503 with the reason). */
#ifndef AGGREGATOR_WORKER_METRICS_H
#define AGGREGATOR_WORKER_METRICS_H

#include "http_server.h"

#include <microhttpd.h>
#include <stdio.h>

/* Writes the worker's own metric lines. */
typedef void (*worker_metrics_fn)(FILE *f);

/* Serves them on listen ("host:port"; port 0 picks one) and prints
 * its URL as stdout's first line. NULL with errbuf filled on failure. */
struct http_server *worker_metrics_start(const char *listen, const char *prefix,
                                         worker_metrics_fn own, char *errbuf, size_t errsize);

#endif
