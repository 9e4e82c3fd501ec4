/* SPDX-License-Identifier: Apache-2.0 */
/* activity-export: the warehouse feed. A second consumer group on the event
 * topics, independent of the aggregator, writing gzip NDJSON (or CSV) files
 * partitioned by type, date and hour of received_at, exactly once
 * (export_ledger.h has the argument), and closing each finished day with
 * manifests (export_day.h). Subcommands close and verify work on the files
 * alone. */
#include "config.h"
#include "consumer.h"
#include "export_day.h"
#include "export_sink.h"
#include "log.h"
#include "version.h"
#include "timefmt.h"
#include "worker_metrics.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static struct {
    struct export_sink *sink;
    const char *out, *topic_prefix;
    int csv;
    int64_t grace_ms;
} run;

static void export_tick(void *ctx, rd_kafka_t *rk) {
    (void)ctx;
    export_sink_tick(run.sink);
    export_day_autoclose(run.out, run.topic_prefix, run.csv, run.grace_ms, rk);
}

static void export_metrics(FILE *f) {
    fprintf(f,
            "# TYPE activity_export_rows_total counter\nactivity_export_rows_total %ld\n"
            "# TYPE activity_export_bytes_total counter\nactivity_export_bytes_total %ld\n"
            "# HELP activity_export_files_total Files published.\n"
            "# TYPE activity_export_files_total counter\nactivity_export_files_total %ld\n"
            "# HELP activity_export_open_files Files being written.\n"
            "# TYPE activity_export_open_files gauge\nactivity_export_open_files %d\n"
            "# HELP activity_export_skipped_total Messages that were not canonical events.\n"
            "# TYPE activity_export_skipped_total counter\nactivity_export_skipped_total %ld\n"
            "# TYPE activity_export_write_errors_total counter\n"
            "activity_export_write_errors_total %ld\n"
            "# HELP activity_export_write_failing 1 while writes fail and consumption is held.\n"
            "# TYPE activity_export_write_failing gauge\nactivity_export_write_failing %d\n",
            atomic_load(&export_stats.rows), atomic_load(&export_stats.bytes),
            atomic_load(&export_stats.files), atomic_load(&export_stats.open_files),
            atomic_load(&export_stats.skipped), atomic_load(&export_stats.write_errors),
            atomic_load(&export_stats.failing));
}

static int check_date(const char *prog, const char *date) {
    char buf[40];
    int64_t ms;
    snprintf(buf, sizeof(buf), "%sT00:00:00Z", date);
    if (strlen(date) != 10 || timefmt_parse(buf, &ms)) {
        fprintf(stderr, "%s: --date wants YYYY-MM-DD, got '%s'\n", prog, date);
        return -1;
    }
    return 0;
}

/* activity-export close|verify --out DIR --date D */
static int day_command(int argc, char **argv) {
    int verify = !strcmp(argv[1], "verify");
    char *out = NULL, *date = NULL, *topic_prefix = NULL, *format = NULL, *log_level = NULL;
    char prog[64], errbuf[8192];
    const struct config_option opts[] = {
        {"out", CONFIG_STRING, "export", "the export directory", &out, 0, 0, NULL},
        {"date", CONFIG_STRING, "", "the day, YYYY-MM-DD (UTC)", &date, 0, 0, NULL},
        {"topic-prefix", CONFIG_STRING, "activity", "the exporter's --topic-prefix",
         &topic_prefix, 0, 0, NULL},
        {"format", CONFIG_STRING, "ndjson", "the exporter's --format", &format, 0, 0,
         "ndjson|csv"},
        {"log-level", CONFIG_STRING, "info", "debug, info, warn or error", &log_level, 0, 0,
         "debug|info|warn|error"},
        {NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};
    struct config cfg = {
        prog,
        verify ? "Re-checks a closed day: every file's size, sha256 and row count against its\n"
                 "manifest, files the manifest lacks, and offset contiguity per partition.\n"
                 "Exits 0 when all is well, 1 naming each problem."
               : "Closes a day now: publishes finished files, writes type=T/dt=D/_manifest.json\n"
                 "and _SUCCESS for each type. Refuses while an exporter still holds an\n"
                 "unpublished file with rows of that day.",
        opts, NULL, 0, 0, NULL};
    int rc;
    snprintf(prog, sizeof(prog), "activity-export %s", argv[1]);
    if ((rc = config_parse_main(&cfg, argc - 1, argv + 1)) != CONFIG_RUN)
        return rc;
    log_init(prog, log_level_parse(log_level));
    if (check_date(prog, date)) {
        config_free(&cfg);
        return 2;
    }
    if (verify) {
        int problems = export_day_verify(out, date, !strcmp(format, "csv"), stderr);
        if (problems < 0)
            fprintf(stderr, "%s: no files for %s under %s\n", prog, date, out);
        else if (problems == 0)
            printf("%s under %s: ok\n", date, out);
        rc = problems == 0 ? 0 : 1;
    } else {
        int closed = export_day_close(out, topic_prefix, date, !strcmp(format, "csv"), errbuf,
                                      sizeof(errbuf));
        if (closed < 0)
            fprintf(stderr, "%s: %s\n", prog, errbuf);
        else
            printf("%s: closed %d types\n", date, closed);
        rc = closed < 0 ? 1 : 0;
    }
    config_free(&cfg);
    return rc;
}

int main(int argc, char **argv) {
    char *brokers = NULL, *instance_id = NULL, *out = NULL, *group = NULL, *topic_prefix = NULL, *format = NULL,
         *metrics_listen = NULL, *log_level = NULL;
    long max_rows, max_bytes, max_age, grace, gzip_level, flush_ms, flush_events;
    const struct config_option opts[] = {
        {"brokers", CONFIG_STRING, "localhost:9092",
         "Kafka bootstrap servers, host:port[,host:port...]", &brokers, 0, 0, NULL},
        {"out", CONFIG_STRING, "export", "directory the files are written under", &out, 0, 0,
         NULL},
        {"group", CONFIG_STRING, "activity-export", "Kafka consumer group", &group, 0, 0, NULL},
        {"topic-prefix", CONFIG_STRING, "activity",
         "reads PREFIX.pageview, PREFIX.click, PREFIX.search", &topic_prefix, 0, 0, NULL},
        {"format", CONFIG_STRING, "ndjson",
         "ndjson (one canonical event a line) or csv (header, RFC 4180)", &format, 0, 0,
         "ndjson|csv"},
        {"max-rows", CONFIG_INT, "1000000", "publish a file at this many rows", &max_rows, 1,
         1000000000, NULL},
        {"max-bytes", CONFIG_INT, "134217728", "or at this many compressed bytes", &max_bytes,
         4096, 1L << 40, NULL},
        {"max-age", CONFIG_INT, "300", "or this many seconds after it was opened", &max_age, 1,
         86400, NULL},
        {"grace", CONFIG_INT, "3600",
         "close a day this many seconds after its end, once every partition is past it",
         &grace, 0, 7 * 86400, NULL},
        {"gzip-level", CONFIG_INT, "1", "gzip compression level, 1 (fast) to 9 (small)",
         &gzip_level, 1, 9, NULL},
        {"flush-ms", CONFIG_INT, "1000", "commit written rows and offsets at least this often",
         &flush_ms, 10, 600000, NULL},
        {"flush-events", CONFIG_INT, "50000", "or when this many rows wait", &flush_events, 1,
         10000000, NULL},
        CONSUMER_INSTANCE_ID_OPTION(instance_id),
        {"metrics-listen", CONFIG_STRING, "",
         "serve /metrics (Prometheus), /healthz and /readyz on host:port (empty: off)", &metrics_listen, 0, 0, NULL},
        {"log-level", CONFIG_STRING, "info", "debug, info, warn or error", &log_level, 0, 0,
         "debug|info|warn|error"},
        {NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};
    struct config cfg = {
        "activity-export",
        "Warehouse export: consumes the event topics in its own consumer group and\n"
        "writes OUT/type=T/dt=YYYY-MM-DD/hour=HH/part-P-FIRST-LAST.ndjson.gz, exactly\n"
        "once, and closes each day with _manifest.json and _SUCCESS.\n"
        "Also: activity-export close|verify --out DIR --date YYYY-MM-DD (see their --help).",
        opts, NULL, 0, 1, NULL};
    struct export_sink_options so;
    struct consumer_sink ops;
    struct consumer_options co;
    struct http_server *metrics = NULL;
    char errbuf[512];
    int rc;

    if (argc > 1 && (!strcmp(argv[1], "close") || !strcmp(argv[1], "verify")))
        return day_command(argc, argv);
    if ((rc = config_parse_main(&cfg, argc, argv)) != CONFIG_RUN)
        return rc;
    log_init("activity-export", log_level_parse(log_level));
    so = (struct export_sink_options){out,      topic_prefix, !strcmp(format, "csv"),
                                      max_rows, max_bytes,    max_age * 1000,
                                      (int)gzip_level, &stop_requested};
    run.sink = export_sink_new(&so);
    run.out = out;
    run.topic_prefix = topic_prefix;
    run.csv = so.csv;
    run.grace_ms = grace * 1000;
    export_sink_ops(run.sink, &ops);
    ops.tick = export_tick;
    /* before the first line on stdout, which tells a supervisor (and the
     * tests) it is up: a SIGTERM right after it must stop it cleanly */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (*metrics_listen && !(metrics = worker_metrics_start(metrics_listen, "activity_export",
                                                            export_metrics, errbuf,
                                                            sizeof(errbuf)))) {
        fprintf(stderr, "activity-export: --metrics-listen: %s\n", errbuf);
        export_sink_free(run.sink);
        config_free(&cfg);
        return 2;
    }
    co = (struct consumer_options){.brokers = brokers,
                                   .kafka_props = cfg.kafka_props,
                                   .kafka_prop_cnt = cfg.kafka_prop_cnt,
                                   .group = group,
                                   .instance_id = instance_id,
                                   .client_id = "activity-export",
                                   .topic_prefix = topic_prefix,
                                   .flush_ms = flush_ms,
                                   .flush_events = flush_events};
    log_info("version %s consuming %s.* as group %s into %s", activity_version, topic_prefix,
             group, out);
    rc = consumer_run(&co, &ops, &stop_requested);
    export_sink_finish(run.sink); /* publish what is committed; the fence keeps it safe */
    export_sink_free(run.sink);
    if (metrics)
        http_server_stop(metrics);
    log_info("stopped: %ld rows in %ld published files, %ld skipped",
             atomic_load(&export_stats.rows), atomic_load(&export_stats.files),
             atomic_load(&export_stats.skipped));
    config_free(&cfg);
    return rc;
}
