/* SPDX-License-Identifier: Apache-2.0 */
#include "live.h"

#include "api.h"
#include "http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum viewer_state {
    V_SENDING, /* MHD reads chunk */
    V_WAITING, /* suspended (or about to be) until the next summary */
    V_ENDING,  /* resumed to end the stream */
};

struct viewer {
    struct viewer *prev, *next;
    struct MHD_Connection *conn;
    char site[512];
    char *chunk; /* "event: summary\ndata: ...\n\n" */
    size_t len, off;
    enum viewer_state state;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct viewer *viewers;
static unsigned viewer_count;
static int stopping;
static const char *db;
static struct site_tz *const *zones;
static pthread_t timer;

/* One SSE message with site's summary now (or the error in its place). */
static char *summary_chunk(sqlite3 *conn, const char *site, size_t *len) {
    struct api_params p = {site, NULL, NULL, NULL, NULL, NULL, NULL, site_tz_find(zones, site)};
    char errbuf[512], *text, *chunk = NULL;
    int status = 500;
    json_t *summary = conn ? api_summary(conn, &p, time(NULL), &status, errbuf, sizeof(errbuf))
                           : NULL;
    FILE *f;
    if (!summary)
        summary = json_pack("{s:o}", "error", http_json_text(conn ? errbuf : "counters "
                                                                            "database unavailable"));
    text = json_dumps(summary, JSON_COMPACT);
    json_decref(summary);
    f = open_memstream(&chunk, len);
    fprintf(f, "event: summary\ndata: %s\n\n", text ? text : "{}");
    fclose(f);
    free(text);
    return chunk;
}

static ssize_t viewer_read(void *cls, uint64_t pos, char *buf, size_t max) {
    struct viewer *v = cls;
    (void)pos;
    pthread_mutex_lock(&lock);
    if (v->state == V_ENDING || stopping) {
        pthread_mutex_unlock(&lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (v->off < v->len) {
        if (max > v->len - v->off)
            max = v->len - v->off;
        memcpy(buf, v->chunk + v->off, max);
        v->off += max;
        pthread_mutex_unlock(&lock);
        return (ssize_t)max;
    }
    v->state = V_WAITING;
    pthread_mutex_unlock(&lock);
    /* A resume that comes before this suspend cancels it (MHD keeps the
     * request to resume), and the connection calls back here at once. */
    MHD_suspend_connection(v->conn);
    return 0;
}

static void viewer_free(void *cls) {
    struct viewer *v = cls;
    pthread_mutex_lock(&lock);
    if (v->prev)
        v->prev->next = v->next;
    else
        viewers = v->next;
    if (v->next)
        v->next->prev = v->prev;
    viewer_count--;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    free(v->chunk);
    free(v);
}

static int site_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hands chunk to every waiting viewer of site; appends their connections
 * to resume. Called with the lock held. */
static void deliver(const char *site, const char *chunk, size_t len,
                    struct MHD_Connection ***resume, size_t *n, size_t *cap) {
    for (struct viewer *v = viewers; v; v = v->next) {
        if (v->state != V_WAITING || strcmp(v->site, site))
            continue;
        if (!(v->chunk = realloc(v->chunk, len)))
            abort();
        memcpy(v->chunk, chunk, len);
        v->len = len;
        v->off = 0;
        v->state = V_SENDING;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            if (!(*resume = realloc(*resume, *cap * sizeof(**resume))))
                abort();
        }
        (*resume)[(*n)++] = v->conn;
    }
}

/* Once a second: each site with waiting viewers gets its summary computed
 * once, outside the lock, then handed to them. Resumes happen outside the
 * lock too: a waiting connection is suspended, so MHD cannot free it in
 * between (only the free callback unlinks a viewer). */
static void *timer_loop(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        struct timespec until;
        struct MHD_Connection **resume = NULL;
        size_t nresume = 0, cap = 0, nsites = 0;
        char **sites, errbuf[512];
        sqlite3 *conn;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&wake, &lock, &until);
        if (stopping)
            break;
        if (!(sites = malloc((viewer_count + 1) * sizeof(*sites))))
            abort();
        for (struct viewer *v = viewers; v; v = v->next)
            if (v->state == V_WAITING)
                sites[nsites++] = strdup(v->site);
        pthread_mutex_unlock(&lock);

        qsort(sites, nsites, sizeof(*sites), site_cmp);
        conn = nsites ? api_db_open(db, errbuf, sizeof(errbuf)) : NULL;
        for (size_t i = 0; i < nsites; i++) {
            char *chunk;
            size_t len;
            if (i > 0 && !strcmp(sites[i], sites[i - 1]))
                continue;
            chunk = summary_chunk(conn, sites[i], &len);
            pthread_mutex_lock(&lock);
            deliver(sites[i], chunk, len, &resume, &nresume, &cap);
            pthread_mutex_unlock(&lock);
            free(chunk);
        }
        if (conn)
            sqlite3_close(conn);
        for (size_t i = 0; i < nsites; i++)
            free(sites[i]);
        free(sites);
        for (size_t i = 0; i < nresume; i++)
            MHD_resume_connection(resume[i]);
        free(resume);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

void live_start(const char *db_path, struct site_tz *const *site_zones) {
    zones = site_zones;
    db = db_path;
    if (pthread_create(&timer, NULL, timer_loop, NULL))
        abort();
}

enum MHD_Result live_serve(struct MHD_Connection *conn, const char *site) {
    struct MHD_Response *resp;
    struct viewer *v;
    char errbuf[512];
    sqlite3 *dbc;
    json_t *probe;
    if (!site || !*site)
        return http_send_error(conn, 400, "site: required", NULL);
    if (strlen(site) >= sizeof(v->site) || !(probe = json_string(site)))
        return http_send_error(conn, 400, "site: too long or not valid UTF-8", NULL);
    json_decref(probe);
    if (!(v = calloc(1, sizeof(*v))))
        abort();
    v->conn = conn;
    snprintf(v->site, sizeof(v->site), "%s", site);
    dbc = api_db_open(db, errbuf, sizeof(errbuf));
    v->chunk = summary_chunk(dbc, site, &v->len); /* the first one now */
    sqlite3_close(dbc);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, viewer_read, v, viewer_free);
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    pthread_mutex_lock(&lock);
    v->next = viewers;
    if (viewers)
        viewers->prev = v;
    viewers = v;
    viewer_count++;
    pthread_mutex_unlock(&lock);
    return http_queue(conn, 200, resp, NULL);
}

unsigned live_viewers(void) {
    unsigned n;
    pthread_mutex_lock(&lock);
    n = viewer_count;
    pthread_mutex_unlock(&lock);
    return n;
}

void live_stop(void) {
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(timer, NULL);
    for (;;) {
        struct MHD_Connection **resume = NULL;
        size_t n = 0;
        pthread_mutex_lock(&lock);
        for (struct viewer *v = viewers; v; v = v->next)
            if (v->state == V_WAITING) {
                v->state = V_ENDING;
                if (!(resume = realloc(resume, (n + 1) * sizeof(*resume))))
                    abort();
                resume[n++] = v->conn;
            }
        pthread_mutex_unlock(&lock);
        for (size_t i = 0; i < n; i++)
            MHD_resume_connection(resume[i]);
        free(resume);
        if (n == 0)
            break;
        usleep(10 * 1000);
    }
}
