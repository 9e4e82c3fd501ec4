/* SPDX-License-Identifier: Apache-2.0 */
#include "api.h"

#include "csv.h"
#include "hll.h"
#include "timefmt.h"
#include "utf8.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POINTS 10000

/* The counters' types (schema/counters.sql): the events' first, then the
 * visits' totals (a time series each), then the visits' dimensions (a top
 * list each). */
static const char *const types[] = {
    "pageview", "click", "search", "zero_result_search",
    "visit", "bounce", "visit_ms", "visit_pageviews",
    "entry", "exit", "source", "utm_source", "utm_medium", "utm_campaign", "device", "browser",
    "os"};
enum { EVENT_TYPES = 4, TOTAL_TYPES = 8, TYPE_CNT = sizeof(types) / sizeof(types[0]) };

sqlite3 *api_db_open(const char *path, char *errbuf, size_t errsize) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(errbuf, errsize, "counters database %s: %s", path,
                 db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

int api_parse_time(const char *s, const struct site_tz *tz, int64_t *secs) {
    char buf[40];
    int64_t ms;
    size_t len = strlen(s);
    int digits = len > 0 && len <= 12;
    for (size_t i = 0; i < len && digits; i++)
        digits = isdigit((unsigned char)s[i]);
    if (digits) {
        *secs = strtoll(s, NULL, 10);
        return 0;
    }
    if (len == 10) { /* a date: its midnight where the site is */
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        if (timefmt_parse(buf, &ms))
            return -1;
        *secs = tz_midnight_of(tz, ms / 1000);
        return 0;
    }
    if (timefmt_parse(s, &ms))
        return -1;
    *secs = ms / 1000;
    return 0;
}

static int granularity_secs(const char *g) {
    return !strcmp(g, "minute") ? 60 : !strcmp(g, "hour") ? 3600 : !strcmp(g, "day") ? 86400 : 0;
}

/* The start of the local day after the one starting at day (23 to 25
 * hours later where clocks change). */
static int64_t next_day(const struct site_tz *tz, int64_t day) {
    return tz_day_start(tz, day + 26 * 3600);
}

/* from/to with their defaults (today, where the site is) and checks. */
static int parse_range(const struct api_params *p, int64_t now, int64_t *from, int64_t *to,
                       char *errbuf, size_t errsize) {
    int64_t today = tz_day_start(p->tz, now);
    const char *name = NULL, *bad = NULL;
    *from = today;
    *to = next_day(p->tz, today);
    if (p->from && api_parse_time(p->from, p->tz, from))
        name = "from", bad = p->from;
    else if (p->to && api_parse_time(p->to, p->tz, to))
        name = "to", bad = p->to;
    if (bad) {
        char q[72]; /* the client's text, as valid UTF-8 whatever it sent */
        utf8_quote(q, sizeof(q), bad, strlen(bad));
        snprintf(errbuf, errsize,
                 "%s: '%s' is not a time (Unix seconds, YYYY-MM-DD or RFC 3339)", name, q);
        return -1;
    }
    if (*to <= *from) {
        snprintf(errbuf, errsize, "to must be after from");
        return -1;
    }
    return 0;
}

static int need_site(const struct api_params *p, char *errbuf, size_t errsize) {
    json_t *probe;
    if (!p->site || !*p->site) {
        snprintf(errbuf, errsize, "site: required");
        return -1;
    }
    if (!(probe = json_string(p->site))) {
        snprintf(errbuf, errsize, "site: not valid UTF-8");
        return -1;
    }
    json_decref(probe);
    return 0;
}

/* The index of type t among types[lo, hi), or -1. */
static int type_index(const char *t, int lo, int hi) {
    for (int i = lo; t && i < hi; i++)
        if (!strcmp(t, types[i]))
            return i;
    return -1;
}

/* What timeseries and top both want: a site, a type of types[lo, hi) and a
 * range. */
static int need_site_type_range(const struct api_params *p, int lo, int hi, int64_t now,
                                int64_t *from, int64_t *to, char *errbuf, size_t errsize) {
    if (need_site(p, errbuf, errsize))
        return -1;
    if (type_index(p->type, lo, hi) < 0) {
        int n = snprintf(errbuf, errsize, "type: must be one of");
        for (int i = lo; i < hi && n > 0 && (size_t)n < errsize; i++)
            n += snprintf(errbuf + n, errsize - (size_t)n, " %s", types[i]);
        return -1;
    }
    return parse_range(p, now, from, to, errbuf, errsize);
}

static const char *aligned_granularity(int64_t from, int64_t to) {
    if (from % 86400 == 0 && to % 86400 == 0)
        return "day";
    if (from % 3600 == 0 && to % 3600 == 0)
        return "hour";
    return "minute";
}

static json_t *db_failed(sqlite3 *db, int *status, char *errbuf, size_t errsize) {
    *status = 500;
    snprintf(errbuf, errsize, "database: %s", sqlite3_errmsg(db));
    return NULL;
}

/* From when granularity g's scope ("totals" or "dims") is complete:
 * INT64_MIN when nothing was pruned (or the file predates retention). */
static int64_t kept_from(sqlite3 *db, const char *g, const char *scope) {
    sqlite3_stmt *st;
    int64_t kept = INT64_MIN;
    if (sqlite3_prepare_v2(db, "SELECT kept_from FROM retention WHERE granularity = ?1 AND "
                               "scope = ?2", -1, &st, NULL))
        return kept; /* no table: a schema-2 file, nothing pruned */
    sqlite3_bind_text(st, 1, g, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        kept = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return kept;
}

/* Says in out whether [from, ...) reaches before what is kept. */
static void set_partial(json_t *out, int64_t from, int64_t kept) {
    json_object_set_new(out, "partial", json_boolean(from < kept));
    if (from < kept)
        json_object_set_new(out, "available_from", json_integer((json_int_t)kept));
}

/* Merges the sketches of [from, to) at granularity g into h. */
static int merge_sketches(sqlite3 *db, const char *site, const char *g, int64_t from, int64_t to,
                          struct hll *h) {
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT registers FROM sketches WHERE site = ?1 AND granularity = ?2 "
                           "AND bucket >= ?3 AND bucket < ?4",
                           -1, &st, NULL))
        return -1;
    sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, g, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, to);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        hll_merge_bytes(h, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

json_t *api_sites(sqlite3 *db, struct site_tz *const *zones, const char *only_site,
                  int *status, char *errbuf, size_t errsize) {
    sqlite3_stmt *st;
    json_t *sites = json_array(), *tz = json_object();
    int rc = SQLITE_DONE;
    if (only_site) {
        json_array_append_new(sites, json_string(only_site));
    } else {
        if (sqlite3_prepare_v2(db,
                               "SELECT site FROM counters UNION SELECT site FROM sketches "
                               "ORDER BY 1", -1, &st, NULL)) {
            json_decref(sites);
            json_decref(tz);
            return db_failed(db, status, errbuf, errsize);
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            json_array_append_new(sites, json_string((const char *)sqlite3_column_text(st, 0)));
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE) {
        json_decref(sites);
        json_decref(tz);
        return db_failed(db, status, errbuf, errsize);
    }
    for (size_t i = 0; zones && zones[i]; i++)
        if (!only_site || !strcmp(site_tz_site(zones[i]), only_site))
            json_object_set_new(tz, site_tz_site(zones[i]), json_string(site_tz_name(zones[i])));
    return json_pack("{s:o,s:o}", "sites", sites, "time_zones", tz);
}

/* What a reader wants of the visit totals: the share of visits that
 * bounced, the mean duration in seconds and pageviews per visit (null
 * without visits). */
static void summary_visit_ratios(json_t *out) {
    double visits = (double)json_integer_value(json_object_get(out, "visit"));
    double bounces = (double)json_integer_value(json_object_get(out, "bounce"));
    double ms = (double)json_integer_value(json_object_get(out, "visit_ms"));
    double pv = (double)json_integer_value(json_object_get(out, "visit_pageviews"));
    json_object_set_new(out, "bounce_rate", visits ? json_real(bounces / visits) : json_null());
    json_object_set_new(out, "visit_duration",
                        visits ? json_real(ms / visits / 1000.0) : json_null());
    json_object_set_new(out, "pageviews_per_visit", visits ? json_real(pv / visits) : json_null());
}

/* The figures of [from, to) into out: each type's count, bots, uniques, and
 * whether retention left the range partial. 0, or -1 on a database error. */
static int summary_figures(sqlite3 *db, const char *site, int64_t from, int64_t to, json_t *out) {
    const char *g = aligned_granularity(from, to);
    sqlite3_stmt *st;
    struct hll *h;
    int64_t bots = 0;
    int rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT type, bot, sum(n) FROM counters WHERE site = ?1 AND "
                           "granularity = ?2 AND dim = '' AND bucket >= ?3 AND bucket < ?4 "
                           "GROUP BY type, bot",
                           -1, &st, NULL))
        return -1;
    sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, g, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, to);
    for (int i = 0; i < TOTAL_TYPES; i++)
        json_object_set_new(out, types[i], json_integer(0));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        if (type_index(type, 0, TOTAL_TYPES) < 0)
            continue;
        if (!sqlite3_column_int(st, 1))
            json_object_set_new(out, type, json_integer(sqlite3_column_int64(st, 2)));
        else if (strcmp(type, "zero_result_search")) /* those are searches too */
            bots += sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    json_object_set_new(out, "bots", json_integer((json_int_t)bots));
    summary_visit_ratios(out);
    if (!(h = calloc(1, sizeof(*h))))
        abort();
    rc = merge_sketches(db, site, g, from, to, h);
    json_object_set_new(out, "uniques", json_integer((json_int_t)llround(hll_estimate(h))));
    free(h);
    set_partial(out, from, kept_from(db, g, "totals"));
    return rc;
}

json_t *api_summary(sqlite3 *db, const struct api_params *p, int64_t now, int *status,
                    char *errbuf, size_t errsize) {
    int64_t from, to;
    json_t *out, *previous = NULL;
    struct hll *h;
    int rc;

    if (need_site(p, errbuf, errsize) || parse_range(p, now, &from, &to, errbuf, errsize))
        return NULL;
    if (p->compare && strcmp(p->compare, "previous")) {
        snprintf(errbuf, errsize, "compare: must be previous");
        return NULL;
    }
    out = json_pack("{s:s,s:I,s:I,s:s}", "site", p->site, "from", (json_int_t)from, "to",
                    (json_int_t)to, "granularity", aligned_granularity(from, to));
    rc = summary_figures(db, p->site, from, to, out);
    if (!rc && p->compare) { /* the period of equal length just before */
        previous = json_pack("{s:I,s:I}", "from", (json_int_t)(2 * from - to), "to",
                             (json_int_t)from);
        json_object_set_new(out, "previous", previous);
        rc = summary_figures(db, p->site, 2 * from - to, from, previous);
    }
    /* active: the minute buckets that overlap the last five minutes */
    if (!(h = calloc(1, sizeof(*h))))
        abort();
    rc |= merge_sketches(db, p->site, "minute", now - 300 - 59, now + 60, h);
    json_object_set_new(out, "active", json_integer((json_int_t)llround(hll_estimate(h))));
    free(h);
    if (rc) {
        json_decref(out);
        return db_failed(db, status, errbuf, errsize);
    }
    return out;
}

/* The index of the bucket holding b among starts[0..cnt) (increasing), or
 * -1 before the first. */
static long bucket_index(const int64_t *starts, size_t cnt, int64_t b) {
    size_t lo = 0, hi = cnt;
    if (!cnt || b < starts[0])
        return -1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (starts[mid] <= b)
            lo = mid;
        else
            hi = mid;
    }
    return (long)lo;
}

json_t *api_timeseries(sqlite3 *db, const struct api_params *p, int64_t now, int *status,
                       char *errbuf, size_t errsize) {
    int64_t from, to, step, kept, *starts, *values;
    const char *g = p->granularity, *read;
    sqlite3_stmt *st;
    json_t *points, *out;
    size_t cnt = 0, cap;
    int rc, local_days;

    if (need_site_type_range(p, 0, TOTAL_TYPES, now, &from, &to, errbuf, errsize))
        return NULL;
    if (!g)
        g = to - from <= 3 * 3600 ? "minute" : to - from <= 7 * 86400 ? "hour" : "day";
    if (!(step = granularity_secs(g))) {
        snprintf(errbuf, errsize, "granularity: must be minute, hour or day");
        return NULL;
    }
    /* a site's days begin at its midnight: summed from its hours */
    local_days = p->tz && step == 86400;
    read = local_days ? "hour" : g;
    cap = (size_t)((to - from) / (local_days ? 82800 : step)) + 2;
    if (cap > MAX_POINTS + 2) {
        snprintf(errbuf, errsize, "granularity: %zu %s buckets is more than %d; use a coarser "
                                  "granularity or a shorter range", cap - 2, g, MAX_POINTS);
        return NULL;
    }
    if (!(starts = calloc(cap, sizeof(*starts))) || !(values = calloc(cap, sizeof(*values))))
        abort();
    for (int64_t b = local_days ? tz_day_start(p->tz, from) : from - ((from % step) + step) % step;
         b < to && cnt < cap; b = local_days ? next_day(p->tz, b) : b + step)
        starts[cnt++] = b;
    if (sqlite3_prepare_v2(db,
                           "SELECT bucket, n FROM counters WHERE site = ?1 AND type = ?2 AND "
                           "granularity = ?3 AND dim = '' AND bot = 0 AND bucket >= ?4 AND "
                           "bucket < ?5",
                           -1, &st, NULL)) {
        free(starts);
        free(values);
        return db_failed(db, status, errbuf, errsize);
    }
    sqlite3_bind_text(st, 1, p->site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, read, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, cnt ? starts[0] : from);
    sqlite3_bind_int64(st, 5, to);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long i = bucket_index(starts, cnt, sqlite3_column_int64(st, 0));
        if (i >= 0)
            values[i] += sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(starts);
        free(values);
        return db_failed(db, status, errbuf, errsize);
    }
    points = json_array();
    kept = kept_from(db, read, "totals");
    for (size_t i = 0; i < cnt; i++)
        json_array_append_new(points, json_pack("[I,o]", (json_int_t)starts[i],
                                                starts[i] < kept
                                                    ? json_null()
                                                    : json_integer((json_int_t)values[i])));
    out = json_pack("{s:s,s:s,s:s,s:I,s:I,s:o}", "site", p->site, "type", p->type, "granularity",
                    g, "from", (json_int_t)from, "to", (json_int_t)to, "points", points);
    set_partial(out, cnt ? starts[0] : from, kept);
    json_object_set_new(out, "time_zone", json_string(site_tz_name(p->tz)));
    free(starts);
    free(values);
    return out;
}

/* Widens [from, to) to the whole hours around it. */
static void whole_hours(int64_t *from, int64_t *to) {
    *from -= ((*from % 3600) + 3600) % 3600;
    *to += (3600 - ((*to % 3600) + 3600) % 3600) % 3600;
}

/* Whether a top list of type has its values' visitors (counters.visitors):
 * all but exit pages, whose visitors the aggregator cannot follow (a
 * visit's exit moves on as it goes). */
static int has_visitors(const char *type) { return strcmp(type, "exit") != 0; }

/* Sets each item's "visitors": the value's sketches over [from, to),
 * merged. 0, or -1 on a database error. A file of schema 4 or older (an
 * aggregator not yet upgraded) has no such column: no visitors then. */
static int top_visitors(sqlite3 *db, const char *site, const char *type, const char *g,
                        int64_t from, int64_t to, json_t *items) {
    size_t cnt = json_array_size(items), i;
    struct hll **h = calloc(cnt ? cnt : 1, sizeof(*h));
    json_t *dims = json_array(), *at = json_object(), *item;
    char *dims_text;
    sqlite3_stmt *st;
    int rc;
    if (!h)
        abort();
    json_array_foreach(items, i, item) { /* dim -> its index in items */
        json_array_append(dims, json_object_get(item, "dim"));
        json_object_set_new(at, json_string_value(json_object_get(item, "dim")),
                            json_integer((json_int_t)i));
    }
    if (!(dims_text = json_dumps(dims, JSON_COMPACT)))
        abort();
    json_decref(dims);
    if (sqlite3_prepare_v2(db,
                           "SELECT dim, visitors FROM counters WHERE site = ?1 AND type = ?2 "
                           "AND granularity = ?3 AND bucket >= ?4 AND bucket < ?5 AND bot = 0 "
                           "AND visitors IS NOT NULL AND dim IN (SELECT value FROM "
                           "json_each(?6))",
                           -1, &st, NULL)) {
        rc = 0; /* no such column */
        goto done;
    }
    sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, g, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, from);
    sqlite3_bind_int64(st, 5, to);
    sqlite3_bind_text(st, 6, dims_text, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *k = json_object_get(at, (const char *)sqlite3_column_text(st, 0));
        size_t n = (size_t)json_integer_value(k);
        if (!k)
            continue;
        if (!h[n] && !(h[n] = calloc(1, sizeof(*h[n]))))
            abort();
        hll_merge_bytes(h[n], sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
    }
    sqlite3_finalize(st);
    rc = rc == SQLITE_DONE ? 0 : -1;
    json_array_foreach(items, i, item) /* null: rows from before schema 5 only */
        json_object_set_new(item, "visitors",
                            h[i] ? json_integer((json_int_t)llround(hll_estimate(h[i])))
                                 : json_null());
done:
    for (i = 0; i < cnt; i++)
        free(h[i]);
    free(h);
    free(dims_text);
    json_decref(at);
    return rc;
}

json_t *api_top(sqlite3 *db, const struct api_params *p, int64_t now, int *status,
                char *errbuf, size_t errsize) {
    int64_t from, to;
    long limit = 10;
    sqlite3_stmt *st;
    json_t *items, *out;
    int rc;

    /* every type with a row per value: the events' (not zero_result_search's
     * own name: it is a search's query) and the visits' dimensions */
    if (need_site_type_range(p, 0, TYPE_CNT, now, &from, &to, errbuf, errsize))
        return NULL;
    if (type_index(p->type, EVENT_TYPES, TOTAL_TYPES) >= 0) {
        snprintf(errbuf, errsize, "type: %s has no values to list; it is a total (summary, "
                 "timeseries)", p->type);
        return NULL;
    }
    if (type_index(p->type, TOTAL_TYPES, TYPE_CNT) >= 0) {
        /* visits' values are stored by the hour: the whole hours around the range */
        whole_hours(&from, &to);
    }
    if (p->limit) {
        char *end;
        limit = strtol(p->limit, &end, 10);
        if (*end || end == p->limit || limit < 1 || limit > 1000) {
            snprintf(errbuf, errsize, "limit: must be an integer from 1 to 1000");
            return NULL;
        }
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT dim, sum(n) AS total FROM counters WHERE site = ?1 AND "
                           "type = ?2 AND granularity = ?3 AND dim <> '' AND bot = 0 AND "
                           "bucket >= ?4 AND bucket < ?5 GROUP BY dim HAVING total > 0 "
                           "ORDER BY total DESC, dim LIMIT ?6",
                           -1, &st, NULL))
        return db_failed(db, status, errbuf, errsize);
    sqlite3_bind_text(st, 1, p->site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, aligned_granularity(from, to), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, from);
    sqlite3_bind_int64(st, 5, to);
    sqlite3_bind_int64(st, 6, limit);
    items = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, json_pack("{s:s,s:I}", "dim",
                                               (const char *)sqlite3_column_text(st, 0), "n",
                                               (json_int_t)sqlite3_column_int64(st, 1)));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        return db_failed(db, status, errbuf, errsize);
    }
    out = json_pack("{s:s,s:s,s:I,s:I,s:s,s:o}", "site", p->site, "type", p->type, "from",
                    (json_int_t)from, "to", (json_int_t)to, "granularity",
                    aligned_granularity(from, to), "items", items);
    set_partial(out, from, kept_from(db, aligned_granularity(from, to), "dims"));
    if (has_visitors(p->type)) {
        /* kept by the hour and day: the whole hours around a shorter range */
        int64_t vfrom = from, vto = to;
        whole_hours(&vfrom, &vto);
        if (vfrom != from || vto != to)
            json_object_update_new(out, json_pack("{s:I,s:I}", "visitors_from", (json_int_t)vfrom,
                                              "visitors_to", (json_int_t)vto));
        if (top_visitors(db, p->site, p->type, aligned_granularity(vfrom, vto), vfrom, vto,
                         items)) {
            json_decref(out);
            return db_failed(db, status, errbuf, errsize);
        }
    }
    return out;
}

char *api_answer_csv(const json_t *answer, size_t *len) {
    const json_t *items = json_object_get(answer, "items"), *row;
    char *text = NULL, tsbuf[TIMEFMT_LEN];
    FILE *f = open_memstream(&text, len);
    size_t i;
    if (!f)
        abort();
    if (items) {
        int visitors = has_visitors(json_string_value(json_object_get(answer, "type")));
        fputs(visitors ? "dim,n,visitors\r\n" : "dim,n\r\n", f);
        json_array_foreach(items, i, row) {
            csv_field(f, json_string_value(json_object_get(row, "dim")), 1);
            fprintf(f, ",%lld", (long long)json_integer_value(json_object_get(row, "n")));
            if (visitors) { /* empty where the answer has null */
                const json_t *v = json_object_get(row, "visitors");
                fputc(',', f);
                if (json_is_integer(v))
                    fprintf(f, "%lld", (long long)json_integer_value(v));
            }
            fputs("\r\n", f);
        }
    } else {
        fputs("bucket,time,n\r\n", f);
        json_array_foreach(json_object_get(answer, "points"), i, row) {
            const json_t *n = json_array_get(row, 1);
            json_int_t bucket = json_integer_value(json_array_get(row, 0));
            timefmt_format((int64_t)bucket * 1000, tsbuf);
            fprintf(f, "%lld,%s,", (long long)bucket, tsbuf);
            if (json_is_integer(n))
                fprintf(f, "%lld", (long long)json_integer_value(n));
            fputs("\r\n", f);
        }
    }
    fclose(f);
    return text;
}
