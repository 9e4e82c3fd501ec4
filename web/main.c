/* SPDX-License-Identifier: Apache-2.0 */
/* activity-web: the query API and the dashboard. Reads the aggregator's
 * SQLite file read-only (a connection per request, so it never holds a
 * lock the workers wait on), serves web/static, and streams a site's
 * summary every second as Server-Sent Events (live.h). Loopback by
 * default; on any other address it wants --token. */
#include "api.h"
#include "config.h"
#include "http.h"
#include "http_server.h"
#include "live.h"
#include "log.h"
#include "shares.h"
#include "static_files.h"
#include "version.h"

#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COOKIE "activity_token"
#define SHARE_COOKIE "activity_share" /* a read-only link's token (shares.h) */

static volatile sig_atomic_t stop_requested;
static const char *db_path, *token, *collector;
static struct site_tz **zones; /* --site-tz, parsed before any thread starts */
static int tls, trust_forwarded;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static const char login_page[] =
    "<!doctype html><html><head><meta charset=utf-8><title>activity-tracker: sign in</title>"
    "<meta name=viewport content='width=device-width'>"
    "<style>body{font:16px system-ui;display:grid;place-items:center;height:90vh}"
    "form{display:grid;gap:.6em}</style></head><body><form method=post action=/login>"
    "<h1>activity-tracker</h1><label>Access token <input name=token type=password "
    "autocomplete=current-password autofocus required></label><button>Sign in</button>"
    "</form></body></html>";

struct request {
    struct http_body body;
};

static int token_equal(const char *given) {
    size_t a = strlen(token), b = given ? strlen(given) : 0;
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; given && i < a && i < b; i++) /* no early exit: constant time */
        diff |= (unsigned)(token[i] ^ given[i]);
    return given && diff == 0;
}

static int authorized(struct MHD_Connection *conn) {
    const char *auth;
    if (!*token)
        return 1;
    auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (auth && !strncmp(auth, "Bearer ", 7) && token_equal(auth + 7))
        return 1;
    return token_equal(MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, COOKIE));
}

static void params_of(struct MHD_Connection *conn, struct api_params *p) {
    p->site = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "site");
    p->type = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "type");
    p->granularity = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "granularity");
    p->from = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "from");
    p->to = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "to");
    p->limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    p->compare = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "compare");
    p->tz = site_tz_find(zones, p->site);
}

/* only_site: a share link's viewer (shares.h), who may read that site
 * only; NULL for the admin. */
static enum MHD_Result serve_api(struct MHD_Connection *conn, const char *url,
                                 const char *only_site) {
    struct api_params p;
    char errbuf[1024];
    int status = 400;
    json_t *answer = NULL;
    sqlite3 *db;
    int64_t now = time(NULL);

    const char *format = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
    int csv = format && !strcmp(format, "csv");

    params_of(conn, &p);
    if (only_site && strcmp(url, "/api/v1/sites") && (!p.site || strcmp(p.site, only_site)))
        return http_send_error(conn, 403, "this share link is for one site only", NULL);
    if (!strcmp(url, "/api/v1/live"))
        return live_serve(conn, p.site);
    if (strcmp(url, "/api/v1/sites") && strcmp(url, "/api/v1/summary") &&
        strcmp(url, "/api/v1/timeseries") && strcmp(url, "/api/v1/top"))
        return http_send_error(conn, 404, "no such API route", NULL);
    if (format && !csv && strcmp(format, "json"))
        return http_send_error(conn, 400, "format: must be json or csv", NULL);
    if (csv && strcmp(url, "/api/v1/timeseries") && strcmp(url, "/api/v1/top"))
        return http_send_error(conn, 400, "format: csv is for top and timeseries", NULL);
    if (!(db = api_db_open(db_path, errbuf, sizeof(errbuf))))
        return http_send_error(conn, 503, errbuf, NULL);
    if (!strcmp(url, "/api/v1/sites"))
        answer = api_sites(db, zones, only_site, &status, errbuf, sizeof(errbuf));
    else if (!strcmp(url, "/api/v1/summary"))
        answer = api_summary(db, &p, now, &status, errbuf, sizeof(errbuf));
    else if (!strcmp(url, "/api/v1/timeseries"))
        answer = api_timeseries(db, &p, now, &status, errbuf, sizeof(errbuf));
    else
        answer = api_top(db, &p, now, &status, errbuf, sizeof(errbuf));
    sqlite3_close(db);
    if (!answer) {
        if (status >= 500)
            log_warn("%s: %s", url, errbuf);
        return http_send_error(conn, (unsigned)status, errbuf, NULL);
    }
    {
        struct MHD_Response *resp;
        if (csv) {
            size_t len;
            char *text = api_answer_csv(answer, &len), disposition[128];
            resp = http_response_bytes("text/csv; charset=utf-8", text, len);
            free(text);
            /* the type and route only: the site is client text */
            snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s-%s.csv\"",
                     url + strlen("/api/v1/"), p.type);
            MHD_add_response_header(resp, "Content-Disposition", disposition);
            json_decref(answer);
        } else {
            resp = http_response_json(answer);
            MHD_add_response_header(resp, "Cache-Control", "no-store");
        }
        return http_queue(conn, 200, resp, NULL);
    }
}

/* Served over TLS here, or (--trust-forwarded) by a TLS proxy in front that
 * says so: then the sign-in cookie is only ever sent back over HTTPS. */
static int over_https(struct MHD_Connection *conn) {
    const char *proto;
    if (tls)
        return 1;
    proto = trust_forwarded
                ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-Proto")
                : NULL;
    return proto && !strcasecmp(proto, "https");
}

static enum MHD_Result serve_login(struct MHD_Connection *conn, struct request *r) {
    struct MHD_Response *resp;
    char given[512] = "", cookie[600];
    const char *body = r->body.buf ? r->body.buf : "";
    const char *at = !strncmp(body, "token=", 6) ? body : strstr(body, "&token=");
    if (at) {
        at = strchr(at, '=') + 1;
        snprintf(given, sizeof(given), "%.*s", (int)strcspn(at, "&"), at);
        MHD_http_unescape(given);
    }
    if (!*token || !token_equal(given)) {
        resp = http_response_bytes("text/html; charset=utf-8", login_page, strlen(login_page));
        return http_queue(conn, 401, resp, NULL);
    }
    resp = http_response_bytes("text/plain", "", 0);
    snprintf(cookie, sizeof(cookie), COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/%s", token,
             over_https(conn) ? "; Secure" : "");
    MHD_add_response_header(resp, "Set-Cookie", cookie);
    MHD_add_response_header(resp, "Location", "/");
    return http_queue(conn, 303, resp, NULL);
}

/* GET /share/TOKEN: a read-only link; its cookie, then the site's page. */
static enum MHD_Result serve_share(struct MHD_Connection *conn, const char *token_given) {
    struct MHD_Response *resp;
    char site[129], cookie[128], location[160];
    if (shares_site(token_given, site, sizeof(site)))
        return http_send_error(conn, 404, "no such share link (it may have been revoked)", NULL);
    resp = http_response_bytes("text/plain", "", 0);
    /* Lax: the link is followed from elsewhere (mail, chat), and it only reads */
    snprintf(cookie, sizeof(cookie), SHARE_COOKIE "=%s; HttpOnly; SameSite=Lax; Path=/%s",
             token_given, over_https(conn) ? "; Secure" : "");
    MHD_add_response_header(resp, "Set-Cookie", cookie);
    snprintf(location, sizeof(location), "/?site=%s", site); /* a site name needs no escaping */
    MHD_add_response_header(resp, "Location", location);
    return http_queue(conn, 303, resp, NULL);
}

/* The site a share link's holder may read (shares.h), from its cookie or a
 * bearer token; 0, or -1 when the request carries none. */
static int viewer_site(struct MHD_Connection *conn, char *site, size_t size) {
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (auth && !strncmp(auth, "Bearer ", 7) && !shares_site(auth + 7, site, size))
        return 0;
    return shares_site(MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, SHARE_COOKIE), site,
                       size);
}

static enum MHD_Result serve_collector_config(struct MHD_Connection *conn) {
    json_t *url = json_string(collector);
    char *text = json_dumps(url, JSON_ENCODE_ANY), *js = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&js, &len);
    enum MHD_Result ret;
    fprintf(f, "window.ACTIVITY_COLLECTOR = %s;\n", text);
    fclose(f);
    ret = http_queue(conn, 200, http_response_bytes("text/javascript; charset=utf-8", js, len),
                     NULL);
    free(text);
    free(js);
    json_decref(url);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls) {
    struct request *r = *con_cls;
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    (void)cls, (void)version;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r))))
            return MHD_NO;
        r->body.limit = 4096;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        http_body_append(&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (!strcmp(url, "/login") && !strcmp(method, "POST"))
        return serve_login(conn, r);
    if (!get)
        return http_send_error(conn, 405, "only GET here (and POST /login)", NULL);
    if (!strcmp(url, "/healthz"))
        return http_queue(conn, 200, http_response_json(json_pack("{s:s}", "status", "ok")),
                          NULL);
    if (!strncmp(url, "/share/", 7))
        return serve_share(conn, url + 7);
    if (!authorized(conn)) {
        char site[129];
        if (!viewer_site(conn, site, sizeof(site))) { /* a share link: one site, read-only */
            if (!strncmp(url, "/api/", 5))
                return serve_api(conn, url, site);
            return !strcmp(url, "/demo/config.js") ? serve_collector_config(conn)
                                                    : static_files_serve(conn, url);
        }
        if (!strncmp(url, "/api/", 5)) {
            struct MHD_Response *resp =
                http_response_json(json_pack("{s:s}", "error", "a valid bearer token is required"));
            MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
            return http_queue(conn, 401, resp, NULL);
        }
        return http_queue(conn, 401,
                          http_response_bytes("text/html; charset=utf-8", login_page,
                                              strlen(login_page)),
                          NULL);
    }
    if (!strncmp(url, "/api/", 5))
        return serve_api(conn, url, NULL);
    if (!strcmp(url, "/demo/config.js"))
        return serve_collector_config(conn);
    return static_files_serve(conn, url);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode code) {
    struct request *r = *con_cls;
    (void)cls, (void)conn, (void)code;
    if (r) {
        http_body_free(&r->body);
        free(r);
        *con_cls = NULL;
    }
}

/* Where the dashboard's files are when --static-dir is not given: installed
 * (PREFIX/bin/activity-web and PREFIX/share/activity-tracker/static), or in
 * the checkout it was built in (build[/x]/activity-web and web/static), so
 * the program runs from any directory either way. */
static const char *default_static_dir(void) {
    static char found[PATH_MAX + 64];
    static const char *const candidates[] = {"../share/activity-tracker/static",
                                             "../web/static", "../../web/static"};
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    struct stat st;
    char *slash;
    if (found[0])
        return found;
    if (n <= 0)
        return "web/static";
    exe[n] = '\0';
    if ((slash = strrchr(exe, '/')))
        *slash = '\0';
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        snprintf(found, sizeof(found), "%s/%s", exe, candidates[i]);
        if (!stat(found, &st) && S_ISDIR(st.st_mode))
            return found;
    }
    snprintf(found, sizeof(found), "%s/%s", exe, candidates[0]);
    return found;
}

static int token_ok(const char *t) {
    if (strlen(t) < 16)
        return 0;
    for (; *t; t++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-", *t))
            return 0;
    return 1;
}

int main(int argc, char **argv) {
    char *db = NULL, *listen = NULL, *tok = NULL, *static_dir = NULL, *coll = NULL,
         *log_level = NULL, *site_tz = NULL, *share_file = NULL, *new_share = NULL;
    struct http_limit_flags limit_flags = {0};
    const struct config_option opts[] = {
        {"db", CONFIG_STRING, "counters.db", "the aggregator's SQLite file (opened read-only)",
         &db, 0, 0, NULL},
        {"listen", CONFIG_STRING, "127.0.0.1:8080", "host:port to serve on (port 0: any free)",
         &listen, 0, 0, NULL},
        {"token", CONFIG_STRING, "",
         "access token (16+ characters of A-Z a-z 0-9 . _ ~ -): the API then wants "
         "'Authorization: Bearer TOKEN', the page a sign-in; required off loopback",
         &tok, 0, 0, NULL},
        {"static-dir", CONFIG_STRING, "",
         "the dashboard's files; empty: ../share/activity-tracker/static beside the program "
         "(make install), else the checkout's web/static beside build/",
         &static_dir, 0, 0, NULL},
        {"collector", CONFIG_STRING, "http://127.0.0.1:8081/",
         "activity-ingest's URL, for the demo site's tracker.js", &coll, 0, 0, NULL},
        {"trust-forwarded", CONFIG_BOOL, "false",
         "behind your own TLS proxy: X-Forwarded-Proto: https makes the sign-in cookie Secure",
         &trust_forwarded, 0, 0, NULL},
        {"site-tz", CONFIG_STRING, "",
         "sites' time zones, site=Area/City[,site=Area/City...] (the tz database's names): "
         "their 'today', dates and day buckets begin at their midnight; others use UTC",
         &site_tz, 0, 0, NULL},
        {"share-file", CONFIG_STRING, "",
         "read-only share links, one 'TOKEN SITE' a line (re-read when it changes; delete "
         "a line to revoke it); empty: no links", &share_file, 0, 0, NULL},
        {"new-share", CONFIG_STRING, "",
         "add a share link to SITE's dashboard to --share-file, print its path and exit",
         &new_share, 0, 0, NULL},
        HTTP_LIMIT_OPTIONS(limit_flags),
        {"log-level", CONFIG_STRING, "info", "debug, info, warn or error", &log_level, 0, 0,
         "debug|info|warn|error"},
        {NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};
    struct config cfg = {
        "activity-web",
        "Query API and live dashboard over the aggregator's counters: /api/v1/sites,\n"
        "summary, timeseries, top and live (Server-Sent Events); the dashboard at /,\n"
        "a demo site using tracker.js at /demo/.",
        opts, NULL, 0, 0, NULL};
    struct sockaddr_storage addr;
    struct http_server *d;
    struct http_limits lim;
    char errbuf[512];
    const char *colon;
    int rc = config_parse_main(&cfg, argc, argv);

    if (rc != CONFIG_RUN)
        return rc;
    log_init("activity-web", log_level_parse(log_level));
    db_path = db;
    token = tok;
    collector = coll;
    http_limits_from_flags(&lim, &limit_flags);
    tls = *limit_flags.tls_cert != '\0';
    rc = 2;
    shares_init(share_file);
    if (*new_share) {
        char share_token[SHARE_TOKEN_LEN + 1];
        if (!*share_file)
            fprintf(stderr, "activity-web: --new-share needs --share-file\n");
        else if (shares_create(share_file, new_share, share_token, errbuf, sizeof(errbuf)))
            fprintf(stderr, "activity-web: %s\n", errbuf);
        else
            printf("/share/%s\n", share_token), rc = 0;
    } else if (site_tz_parse(site_tz, &zones, errbuf, sizeof(errbuf))) { /* before any thread */
        fprintf(stderr, "activity-web: %s\n", errbuf);
    } else if (http_parse_listen(listen, &addr, errbuf, sizeof(errbuf))) {
        fprintf(stderr, "activity-web: --listen: %s\n", errbuf);
    } else if (*token && !token_ok(token)) {
        fprintf(stderr, "activity-web: --token must be at least 16 characters of A-Z a-z 0-9 "
                        ". _ ~ -\n");
    } else if (!*token && !http_is_loopback(&addr)) {
        fprintf(stderr, "activity-web: --listen %s is not a loopback address: set --token so "
                        "the counters are not open to anyone who can reach it\n",
                listen);
    } else if (static_files_init(*static_dir ? static_dir : default_static_dir())) {
        fprintf(stderr, "activity-web: --static-dir %s: no such directory\n",
                *static_dir ? static_dir : default_static_dir());
    } else if ((live_start(db_path, zones),
                !(d = http_server_start(&addr, &lim, handler, NULL, completed, errbuf,
                                        sizeof(errbuf))))) {
        live_stop();
        if (!strncmp(errbuf, "--tls", 5)) { /* a flag's mistake, not the network's */
            fprintf(stderr, "activity-web: %s\n", errbuf);
        } else {
            fprintf(stderr, "activity-web: --listen %s: %s\n", listen, errbuf);
            rc = 1;
        }
    } else {
        int host_len, port;
        colon = strrchr(listen, ':');
        host_len = (int)(colon - listen);
        port = http_server_port(d);
        /* before the line that says it is up: a SIGTERM right after it must
         * stop it cleanly */
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        printf("%s://%.*s:%d/\n", tls ? "https" : "http", host_len, listen, port);
        fflush(stdout);
        log_info("version %s serving %s on %.*s:%d", activity_version, db_path, host_len,
                 listen, port);
        /* checked 5 times a second: pause() could miss a signal that came
         * just before it, or went to one of the server's threads */
        while (!stop_requested)
            usleep(200 * 1000);
        live_stop(); /* MHD may not stop with suspended connections */
        http_server_stop(d);
        rc = 0;
    }
    site_tz_free(zones);
    config_free(&cfg);
    return rc;
}
