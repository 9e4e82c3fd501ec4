/* SPDX-License-Identifier: Apache-2.0 */
#include "visits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct visits {
    sqlite3 *db;
    sqlite3_stmt *get, *put;
    int64_t timeout_ms;
};

/* One visit as the visits table keeps it. */
struct visit {
    int64_t start_ms;        /* the first event applied: the visit's bucket */
    int64_t first_ms, last_ms; /* its earliest and latest event times */
    int64_t pageviews;
    int engaged;             /* a click or a search */
    char exit[4097];         /* the last page viewed (a path, <= 4096 bytes) */
};

struct visits *visits_new(sqlite3 *db, int64_t timeout_ms) {
    struct visits *v = calloc(1, sizeof(*v));
    if (!v)
        abort();
    v->db = db;
    v->timeout_ms = timeout_ms;
    if (sqlite3_prepare_v3(db,
                           "SELECT start_ms, first_ms, last_ms, pageviews, engaged, exit "
                           "FROM visits WHERE site = ?1 AND visitor = ?2",
                           -1, SQLITE_PREPARE_PERSISTENT, &v->get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(db,
                           "INSERT OR REPLACE INTO visits (site, visitor, start_ms, first_ms, "
                           "last_ms, pageviews, engaged, exit) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, SQLITE_PREPARE_PERSISTENT, &v->put, NULL) != SQLITE_OK) {
        visits_free(v);
        return NULL;
    }
    return v;
}

void visits_free(struct visits *v) {
    if (!v)
        return;
    sqlite3_finalize(v->get);
    sqlite3_finalize(v->put);
    free(v);
}

/* A visitor's events in time order; a pageview before a click of the same
 * millisecond (the click was on the page). */
static int event_order(const void *a, const void *b) {
    const struct rollup_event *x = *(const struct rollup_event *const *)a;
    const struct rollup_event *y = *(const struct rollup_event *const *)b;
    int c = strcmp(x->site, y->site);
    if (c)
        return c;
    if (x->visitor != y->visitor)
        return x->visitor < y->visitor ? -1 : 1;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return (x->type[0] != 'p') - (y->type[0] != 'p');
}

static int is_bounce(const struct visit *s) { return s->pageviews == 1 && !s->engaged; }

/* A new visit starts with ev: its one-time counts, in its minute. */
static void visit_start(struct visit *s, const struct rollup_event *ev, struct rollup *out) {
    const char *site = ev->site;
    int64_t t = ev->ts_ms;
    s->start_ms = s->first_ms = s->last_ms = t;
    s->pageviews = ev->type[0] == 'p';
    s->engaged = !s->pageviews;
    snprintf(s->exit, sizeof(s->exit), "%s", ev->page);
    rollup_add_visit(out, ROLLUP_VISIT, site, t, "", 1);
    rollup_add_visit(out, ROLLUP_BOUNCE, site, t, "", is_bounce(s));
    rollup_add_visit(out, ROLLUP_VISIT_PAGEVIEWS, site, t, "", s->pageviews);
    rollup_add_visit(out, ROLLUP_ENTRY, site, t, ev->page, 1);
    rollup_add_visit(out, ROLLUP_EXIT, site, t, ev->page, 1);
    /* "" is each table's total row, so a direct visit has a name of its own */
    rollup_add_visit(out, ROLLUP_SOURCE, site, t, *ev->source ? ev->source : "(direct)", 1);
    if (*ev->utm_source)
        rollup_add_visit(out, ROLLUP_UTM_SOURCE, site, t, ev->utm_source, 1);
    if (*ev->utm_medium)
        rollup_add_visit(out, ROLLUP_UTM_MEDIUM, site, t, ev->utm_medium, 1);
    if (*ev->utm_campaign)
        rollup_add_visit(out, ROLLUP_UTM_CAMPAIGN, site, t, ev->utm_campaign, 1);
    rollup_add_visit(out, ROLLUP_DEVICE, site, t, ev->device, 1);
    rollup_add_visit(out, ROLLUP_BROWSER, site, t, ev->browser, 1);
    rollup_add_visit(out, ROLLUP_OS, site, t, ev->os, 1);
}

/* ev joins the visit s: what changes, counted in the visit's minute. */
static void visit_join(struct visit *s, const struct rollup_event *ev, struct rollup *out) {
    const char *site = ev->site;
    int64_t t = s->start_ms;
    int was_bounce = is_bounce(s), pageview = ev->type[0] == 'p';
    if (pageview) {
        s->pageviews++;
        rollup_add_visit(out, ROLLUP_VISIT_PAGEVIEWS, site, t, "", 1);
    } else {
        s->engaged = 1;
    }
    if (ev->ts_ms >= s->last_ms) {
        rollup_add_visit(out, ROLLUP_VISIT_MS, site, t, "", ev->ts_ms - s->last_ms);
        s->last_ms = ev->ts_ms;
        if (pageview && strcmp(s->exit, ev->page)) {
            rollup_add_visit(out, ROLLUP_EXIT, site, t, s->exit, -1);
            rollup_add_visit(out, ROLLUP_EXIT, site, t, ev->page, 1);
            snprintf(s->exit, sizeof(s->exit), "%s", ev->page);
        }
    } else if (ev->ts_ms < s->first_ms) {
        rollup_add_visit(out, ROLLUP_VISIT_MS, site, t, "", s->first_ms - ev->ts_ms);
        s->first_ms = ev->ts_ms;
    }
    rollup_add_visit(out, ROLLUP_BOUNCE, site, t, "", is_bounce(s) - was_bounce);
}

/* The stored visit of ev's visitor: 1 and *s, 0 when none, or an error. */
static int visit_load(struct visits *v, const struct rollup_event *ev, struct visit *s) {
    sqlite3_stmt *q = v->get;
    int rc;
    sqlite3_bind_text(q, 1, ev->site, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)ev->visitor);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *exit = sqlite3_column_text(q, 5);
        s->start_ms = sqlite3_column_int64(q, 0);
        s->first_ms = sqlite3_column_int64(q, 1);
        s->last_ms = sqlite3_column_int64(q, 2);
        s->pageviews = sqlite3_column_int64(q, 3);
        s->engaged = sqlite3_column_int(q, 4);
        snprintf(s->exit, sizeof(s->exit), "%s", exit ? (const char *)exit : "");
    }
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -rc;
}

static int visit_store(struct visits *v, const struct rollup_event *ev, const struct visit *s) {
    sqlite3_stmt *q = v->put;
    int rc;
    sqlite3_bind_text(q, 1, ev->site, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)ev->visitor);
    sqlite3_bind_int64(q, 3, s->start_ms);
    sqlite3_bind_int64(q, 4, s->first_ms);
    sqlite3_bind_int64(q, 5, s->last_ms);
    sqlite3_bind_int64(q, 6, s->pageviews);
    sqlite3_bind_int(q, 7, s->engaged);
    sqlite3_bind_text(q, 8, s->exit, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int visits_apply(struct visits *v, const struct rollup_event **events, size_t cnt,
                 struct rollup *out) {
    struct visit *s = malloc(sizeof(*s)), alone;
    int rc = SQLITE_OK;
    if (!s)
        abort();
    qsort(events, cnt, sizeof(*events), event_order);
    for (size_t i = 0; rc == SQLITE_OK && i < cnt;) {
        const struct rollup_event *first = events[i];
        int have = visit_load(v, first, s), changed = 0;
        if (have < 0) {
            rc = -have;
            break;
        }
        /* this visitor's events of the batch */
        for (; i < cnt && events[i]->visitor == first->visitor &&
               !strcmp(events[i]->site, first->site);
             i++) {
            const struct rollup_event *ev = events[i];
            if (!have || ev->ts_ms > s->last_ms + v->timeout_ms) {
                visit_start(s, ev, out);
                have = changed = 1;
            } else if (ev->ts_ms < s->first_ms - v->timeout_ms) {
                visit_start(&alone, ev, out); /* an earlier visit, late: counted alone */
            } else {
                visit_join(s, ev, out);
                changed = 1;
            }
        }
        if (changed)
            rc = visit_store(v, first, s);
    }
    free(s);
    return rc;
}
