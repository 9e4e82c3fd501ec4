/* SPDX-License-Identifier: Apache-2.0 */
#include "visits.h"

#include "urlparts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct visits {
    sqlite3 *db;
    sqlite3_stmt *get, *put, *clock;
};

/* One visit as the visits table keeps it: what its counters are a function
 * of. Every field is order-free: a minimum, a maximum, a count, or taken
 * from the event with the smallest (entry, source, tags, device) or
 * largest (exit) time. */
struct visit {
    int64_t first_ms, last_ms; /* its earliest and latest event times */
    int64_t pageviews;
    int engaged;               /* a click or a search */
    int64_t exit_ms;           /* the latest pageview's time; -1: none yet */
    int64_t seen_ms;           /* the latest received_at among its events (ingest's clock) */
    char entry[4097], exit[4097], source[4097];
    char utm_source[URLPARTS_MAX + 1], utm_medium[URLPARTS_MAX + 1],
        utm_campaign[URLPARTS_MAX + 1];
    char device[24], browser[24], os[24];
};

enum { C_FIRST, C_LAST, C_PAGEVIEWS, C_ENGAGED, C_EXIT_MS, C_SEEN, C_ENTRY, C_EXIT, C_SOURCE,
       C_UTM_SOURCE, C_UTM_MEDIUM, C_UTM_CAMPAIGN, C_DEVICE, C_BROWSER, C_OS };

struct visits *visits_new(sqlite3 *db) {
    struct visits *v = calloc(1, sizeof(*v));
    if (!v)
        abort();
    v->db = db;
    if (sqlite3_prepare_v3(db,
                           "SELECT first_ms, last_ms, pageviews, engaged, exit_ms, seen_ms, entry, exit, "
                           "source, utm_source, utm_medium, utm_campaign, device, browser, os "
                           "FROM visits WHERE site = ?1 AND visitor = ?2",
                           -1, SQLITE_PREPARE_PERSISTENT, &v->get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(db,
                           "INSERT OR REPLACE INTO visits (site, visitor, first_ms, last_ms, "
                           "pageviews, engaged, exit_ms, seen_ms, entry, exit, source, utm_source, "
                           "utm_medium, utm_campaign, device, browser, os) VALUES (?1, ?2, ?3, "
                           "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                           -1, SQLITE_PREPARE_PERSISTENT, &v->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(db,
                           "INSERT INTO visit_clock (id, seen_ms) VALUES (0, ?1) ON CONFLICT "
                           "DO UPDATE SET seen_ms = max(seen_ms, excluded.seen_ms)",
                           -1, SQLITE_PREPARE_PERSISTENT, &v->clock, NULL) != SQLITE_OK) {
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
    sqlite3_finalize(v->clock);
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

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

/* What the first event of a visit decides: where and how it came in. */
static void visit_landing(struct visit *s, const struct rollup_event *ev) {
    s->first_ms = ev->ts_ms;
    COPY(s->entry, ev->page);
    COPY(s->source, ev->source);
    COPY(s->utm_source, ev->utm_source);
    COPY(s->utm_medium, ev->utm_medium);
    COPY(s->utm_campaign, ev->utm_campaign);
    COPY(s->device, ev->device);
    COPY(s->browser, ev->browser);
    COPY(s->os, ev->os);
    if (s->exit_ms < 0) /* no pageview yet: it leaves where it came in */
        COPY(s->exit, ev->page);
}

/* ev is part of the visit s (whatever order its events come in). */
static void visit_add(struct visit *s, const struct rollup_event *ev) {
    if (ev->ts_ms < s->first_ms)
        visit_landing(s, ev);
    if (ev->ts_ms > s->last_ms)
        s->last_ms = ev->ts_ms;
    if (ev->received_ms > s->seen_ms)
        s->seen_ms = ev->received_ms;
    if (ev->type[0] != 'p') {
        s->engaged = 1;
        return;
    }
    s->pageviews++;
    if (ev->ts_ms >= s->exit_ms) {
        s->exit_ms = ev->ts_ms;
        COPY(s->exit, ev->page);
    }
}

/* A new visit of ev alone. */
static void visit_new(struct visit *s, const struct rollup_event *ev) {
    s->last_ms = ev->ts_ms;
    s->pageviews = 0;
    s->engaged = 0;
    s->exit_ms = -1;
    s->seen_ms = ev->received_ms;
    visit_landing(s, ev);
    visit_add(s, ev);
}

/* The value s has of each dimension, ROLLUP_ENTRY to ROLLUP_OS; NULL for
 * none (a visit without that UTM tag). */
static const char *visit_value(const struct visit *s, enum rollup_visit_count what) {
    switch (what) {
    case ROLLUP_ENTRY: return s->entry;
    case ROLLUP_EXIT: return s->exit;
    /* "" is each table's total row, so a direct visit has a name of its own */
    case ROLLUP_SOURCE: return *s->source ? s->source : "(direct)";
    case ROLLUP_UTM_SOURCE: return *s->utm_source ? s->utm_source : NULL;
    case ROLLUP_UTM_MEDIUM: return *s->utm_medium ? s->utm_medium : NULL;
    case ROLLUP_UTM_CAMPAIGN: return *s->utm_campaign ? s->utm_campaign : NULL;
    case ROLLUP_DEVICE: return s->device;
    case ROLLUP_BROWSER: return s->browser;
    case ROLLUP_OS: return s->os;
    default: return NULL;
    }
}

/* sign * every counter of s, in the minute of its first event. */
static void visit_count(struct rollup *out, const char *site, const struct visit *s, int sign) {
    int64_t t = s->first_ms;
    rollup_add_visit(out, ROLLUP_VISIT, site, t, "", sign);
    rollup_add_visit(out, ROLLUP_BOUNCE, site, t, "", sign * (s->pageviews == 1 && !s->engaged));
    rollup_add_visit(out, ROLLUP_VISIT_MS, site, t, "", sign * (s->last_ms - s->first_ms));
    rollup_add_visit(out, ROLLUP_VISIT_PAGEVIEWS, site, t, "", sign * s->pageviews);
    for (int w = ROLLUP_ENTRY; w <= ROLLUP_OS; w++) {
        const char *value = visit_value(s, (enum rollup_visit_count)w);
        if (value)
            rollup_add_visit(out, (enum rollup_visit_count)w, site, t, value, sign);
    }
}

/* The visitor joins the sketches of the values of cur that it did not have
 * in was (the visit as counted before; NULL: a new visit), in cur's hour:
 * sketches only grow, so a value is added once, when the visit takes it.
 * Not the exit page, which changes as the visit goes on (a value a late
 * earlier event takes away, like the entry page, keeps the visitor). */
static void visit_join(struct rollup *out, const char *site, const struct visit *was,
                       const struct visit *cur, uint64_t visitor) {
    int same_hour = was && rollup_bucket(ROLLUP_HOUR, was->first_ms) ==
                               rollup_bucket(ROLLUP_HOUR, cur->first_ms);
    for (int w = ROLLUP_ENTRY; w <= ROLLUP_OS; w++) {
        const char *value = visit_value(cur, (enum rollup_visit_count)w), *before;
        if (w == ROLLUP_EXIT || !value)
            continue;
        before = same_hour ? visit_value(was, (enum rollup_visit_count)w) : NULL;
        if (!before || strcmp(before, value))
            rollup_add_visit_visitor(out, (enum rollup_visit_count)w, site, cur->first_ms, value,
                                     visitor);
    }
}

static void column_copy(sqlite3_stmt *q, int col, char *dst, size_t size) {
    const unsigned char *v = sqlite3_column_text(q, col);
    snprintf(dst, size, "%s", v ? (const char *)v : "");
}

/* The stored visit of ev's visitor: 1 and *s, 0 when none, or -(an error). */
static int visit_load(struct visits *v, const struct rollup_event *ev, struct visit *s) {
    sqlite3_stmt *q = v->get;
    int rc;
    sqlite3_bind_text(q, 1, ev->site, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)ev->visitor);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        s->first_ms = sqlite3_column_int64(q, C_FIRST);
        s->last_ms = sqlite3_column_int64(q, C_LAST);
        s->pageviews = sqlite3_column_int64(q, C_PAGEVIEWS);
        s->engaged = sqlite3_column_int(q, C_ENGAGED);
        s->exit_ms = sqlite3_column_int64(q, C_EXIT_MS);
        s->seen_ms = sqlite3_column_int64(q, C_SEEN);
        column_copy(q, C_ENTRY, s->entry, sizeof(s->entry));
        column_copy(q, C_EXIT, s->exit, sizeof(s->exit));
        column_copy(q, C_SOURCE, s->source, sizeof(s->source));
        column_copy(q, C_UTM_SOURCE, s->utm_source, sizeof(s->utm_source));
        column_copy(q, C_UTM_MEDIUM, s->utm_medium, sizeof(s->utm_medium));
        column_copy(q, C_UTM_CAMPAIGN, s->utm_campaign, sizeof(s->utm_campaign));
        column_copy(q, C_DEVICE, s->device, sizeof(s->device));
        column_copy(q, C_BROWSER, s->browser, sizeof(s->browser));
        column_copy(q, C_OS, s->os, sizeof(s->os));
    }
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -rc;
}

static int visit_store(struct visits *v, const struct rollup_event *ev, const struct visit *s) {
    sqlite3_stmt *q = v->put;
    const char *texts[] = {s->entry, s->exit, s->source, s->utm_source, s->utm_medium,
                           s->utm_campaign, s->device, s->browser, s->os};
    int rc;
    sqlite3_bind_text(q, 1, ev->site, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)ev->visitor);
    sqlite3_bind_int64(q, 3 + C_FIRST, s->first_ms);
    sqlite3_bind_int64(q, 3 + C_LAST, s->last_ms);
    sqlite3_bind_int64(q, 3 + C_PAGEVIEWS, s->pageviews);
    sqlite3_bind_int(q, 3 + C_ENGAGED, s->engaged);
    sqlite3_bind_int64(q, 3 + C_EXIT_MS, s->exit_ms);
    sqlite3_bind_int64(q, 3 + C_SEEN, s->seen_ms);
    for (int i = 0; i < 9; i++)
        sqlite3_bind_text(q, 3 + C_ENTRY + i, texts[i], -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Counts the visit cur as it now is, taking back what was counted of it
 * before (was, when it was loaded from the table): the rollup adds the two
 * up, so only what changed is written. */
static void visit_settle(struct rollup *out, const char *site, const struct visit *was,
                         const struct visit *cur, uint64_t visitor) {
    if (was)
        visit_count(out, site, was, -1);
    visit_count(out, site, cur, 1);
    visit_join(out, site, was, cur, visitor);
}

int visits_apply(struct visits *v, int64_t timeout_ms, const struct rollup_event **events,
                 size_t cnt, struct rollup *out) {
    struct visit *was, *cur, *alone; /* as stored, as it becomes, a late earlier one */
    int64_t newest = INT64_MIN;
    int rc = SQLITE_OK;
    if (!cnt) /* a flush of bots only, or of offsets only: events may be NULL */
        return SQLITE_OK;
    if (!(was = malloc(sizeof(*was))) || !(cur = malloc(sizeof(*cur))) ||
        !(alone = malloc(sizeof(*alone))))
        abort();
    qsort(events, cnt, sizeof(*events), event_order);
    for (size_t i = 0; rc == SQLITE_OK && i < cnt;) {
        const struct rollup_event *first = events[i];
        int stored = visit_load(v, first, was), have = stored > 0;
        if (stored < 0) {
            rc = -stored;
            break;
        }
        if (have)
            memcpy(cur, was, sizeof(*cur));
        /* this visitor's events of the batch, in time order */
        for (; i < cnt && events[i]->visitor == first->visitor &&
               !strcmp(events[i]->site, first->site);
             i++) {
            const struct rollup_event *ev = events[i];
            if (ev->received_ms > newest)
                newest = ev->received_ms;
            if (!have || ev->ts_ms > cur->last_ms + timeout_ms) {
                if (have) { /* the visit before is over: counted as it ended */
                    visit_settle(out, ev->site, stored > 0 ? was : NULL, cur, ev->visitor);
                    stored = 0;
                }
                visit_new(cur, ev);
                have = 1;
            } else if (ev->ts_ms < cur->first_ms - timeout_ms) {
                visit_new(alone, ev); /* an earlier visit, late: counted alone */
                visit_count(out, ev->site, alone, 1);
                visit_join(out, ev->site, NULL, alone, ev->visitor);
            } else {
                visit_add(cur, ev);
            }
        }
        visit_settle(out, first->site, stored > 0 ? was : NULL, cur, first->visitor);
        rc = visit_store(v, first, cur);
    }
    if (rc == SQLITE_OK) { /* the stream's time, for retention */
        sqlite3_bind_int64(v->clock, 1, newest);
        rc = sqlite3_step(v->clock) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(v->db);
        sqlite3_reset(v->clock);
    }
    free(was);
    free(cur);
    free(alone);
    return rc;
}
