/* SPDX-License-Identifier: Apache-2.0 */
#include "worker_metrics.h"

#include "consumer.h"
#include "http.h"
#include "http_server.h"

#include <stdlib.h>
#include <string.h>

struct worker_metrics {
    const char *prefix;
    worker_metrics_fn own;
};

static struct worker_metrics served; /* one endpoint per process */

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload, size_t *upload_size, void **con_cls) {
    char *text, *all = NULL;
    size_t size = 0;
    FILE *f;
    enum MHD_Result ret;
    (void)cls, (void)version, (void)upload, (void)upload_size;
    if (!*con_cls) { /* headers only; answer on the next call */
        *con_cls = conn;
        return MHD_YES;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return http_send_error(conn, 405, "only GET here", NULL);
    if (!strcmp(url, "/healthz"))
        return http_queue(conn, 200, http_response_json(json_pack("{s:s}", "status", "ok")), NULL);
    if (!strcmp(url, "/readyz")) {
        char why[256];
        if (!consumer_ready(why, sizeof(why)))
            return http_send_error(conn, 503, why, NULL);
        return http_queue(conn, 200, http_response_json(json_pack("{s:s}", "status", "ready")),
                          NULL);
    }
    if (strcmp(url, "/metrics"))
        return http_send_error(conn, 404, "GET /metrics, /healthz or /readyz here", NULL);
    text = consumer_metrics(served.prefix);
    f = open_memstream(&all, &size);
    fputs(text, f);
    served.own(f);
    fclose(f);
    free(text);
    ret = http_queue(conn, 200, http_response_bytes("text/plain; version=0.0.4", all, size), NULL);
    free(all);
    return ret;
}

struct http_server *worker_metrics_start(const char *listen, const char *prefix,
                                         worker_metrics_fn own, char *errbuf, size_t errsize) {
    struct sockaddr_storage addr;
    struct http_server *d;
    struct http_limits lim;
    const char *colon = strrchr(listen, ':');
    served = (struct worker_metrics){prefix, own};
    http_limits_default(&lim);
    lim.threads = 1;
    lim.max_connections = 64; /* for a scraper, not for the public */
    if (http_parse_listen(listen, &addr, errbuf, errsize) ||
        !(d = http_server_start(&addr, &lim, metrics_handler, NULL, NULL, errbuf, errsize)))
        return NULL;
    /* the bound port, which differs from the flag's when it was 0 */
    printf("http://%.*s:%d/metrics\n", (int)(colon - listen), listen, http_server_port(d));
    fflush(stdout);
    return d;
}
