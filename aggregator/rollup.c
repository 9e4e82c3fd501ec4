#include "rollup.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rollup_event_clear(struct rollup_event *ev) {
    free(ev->site);
    free(ev->dim);
    ev->site = ev->dim = NULL;
}

const char *rollup_granularity_name(enum rollup_granularity g) {
    static const char *names[] = {"minute", "hour", "day"};
    return names[g];
}

int64_t rollup_bucket(enum rollup_granularity g, int64_t ts_ms) {
    static const int64_t secs[] = {60, 3600, 86400};
    int64_t s = ts_ms / 1000;
    return s - s % secs[g];
}

/* ----------------------------------------------------------- the table */

/* One open-addressing table holds both kinds of entries. The key is the
 * counter's or sketch's identity joined with 0x1f (which validated text
 * cannot contain: the schema rejects control characters). */
struct entry {
    char *key;      /* NULL: empty slot */
    uint64_t hash;
    int64_t n;      /* counters */
    struct hll *sketch; /* sketches (key starts with 0x1e) */
};

/* Longest key: a dimension and a site (each <= 4096 bytes, and a site
 * <= 256, both enforced by canonical_parse) and the small fields. */
#define ROLLUP_KEY_MAX 8192

struct rollup {
    struct entry *slots;
    size_t cap, used;
};

struct rollup *rollup_new(void) {
    struct rollup *r = calloc(1, sizeof(*r));
    r->cap = 1024;
    r->slots = calloc(r->cap, sizeof(*r->slots));
    return r;
}

static struct entry *rollup_slot(struct rollup *r, const char *key, size_t len) {
    uint64_t h = hll_hash(key, len);
    size_t i;
    if ((r->used + 1) * 4 > r->cap * 3) { /* keep the load under 3/4 */
        struct entry *old = r->slots;
        size_t oldcap = r->cap;
        r->cap *= 2;
        r->slots = calloc(r->cap, sizeof(*r->slots));
        for (size_t k = 0; k < oldcap; k++)
            if (old[k].key) {
                for (i = old[k].hash & (r->cap - 1); r->slots[i].key; i = (i + 1) & (r->cap - 1))
                    ;
                r->slots[i] = old[k];
            }
        free(old);
    }
    for (i = h & (r->cap - 1); r->slots[i].key; i = (i + 1) & (r->cap - 1))
        if (r->slots[i].hash == h && !strcmp(r->slots[i].key, key))
            return &r->slots[i];
    r->slots[i].key = strndup(key, len);
    r->slots[i].hash = h;
    r->used++;
    return &r->slots[i];
}

static void rollup_count(struct rollup *r, const char *site, const char *type,
                         int g, int64_t bucket, const char *dim, int bot, int delta) {
    char key[ROLLUP_KEY_MAX];
    int n = snprintf(key, sizeof(key), "%s\x1f%s\x1f%d\x1f%lld\x1f%s\x1f%d", site, type, g,
                     (long long)bucket, dim, bot);
    assert(n < (int)sizeof(key));
    rollup_slot(r, key, (size_t)n)->n += delta;
}

static void rollup_apply(struct rollup *r, const struct rollup_event *ev, int delta) {
    for (int g = 0; g < ROLLUP_GRAN_CNT; g++) {
        int64_t b = rollup_bucket((enum rollup_granularity)g, ev->ts_ms);
        rollup_count(r, ev->site, ev->type, g, b, "", ev->bot, delta);
        rollup_count(r, ev->site, ev->type, g, b, ev->dim, ev->bot, delta);
        if (ev->zero_result) {
            rollup_count(r, ev->site, "zero_result_search", g, b, "", ev->bot, delta);
            rollup_count(r, ev->site, "zero_result_search", g, b, ev->dim, ev->bot, delta);
        }
        if (!ev->bot && delta > 0) {
            char key[ROLLUP_KEY_MAX];
            int n = snprintf(key, sizeof(key), "\x1e%s\x1f%d\x1f%lld", ev->site, g,
                             (long long)b);
            assert(n < (int)sizeof(key));
            struct entry *e = rollup_slot(r, key, (size_t)n);
            if (!e->sketch)
                e->sketch = calloc(1, sizeof(*e->sketch));
            hll_add_hash(e->sketch, ev->visitor);
        }
    }
}

void rollup_add(struct rollup *r, const struct rollup_event *ev) { rollup_apply(r, ev, 1); }
void rollup_remove(struct rollup *r, const struct rollup_event *ev) { rollup_apply(r, ev, -1); }

size_t rollup_key_count(const struct rollup *r) { return r->used; }

/* Splits a key back into its fields, in place in a copy. */
static int rollup_split(const char *key, char *buf, size_t size, char **f, int cnt) {
    int k = 0;
    snprintf(buf, size, "%s", key);
    f[k++] = buf;
    for (char *p = buf; *p && k < cnt; p++)
        if (*p == '\x1f') {
            *p = '\0';
            f[k++] = p + 1;
        }
    return k == cnt ? 0 : -1;
}

int rollup_foreach_count(const struct rollup *r, rollup_count_cb *cb, void *ctx) {
    char buf[ROLLUP_KEY_MAX], *f[6];
    int rc;
    for (size_t i = 0; i < r->cap; i++) {
        const struct entry *e = &r->slots[i];
        if (!e->key || e->sketch || e->n == 0 || rollup_split(e->key, buf, sizeof(buf), f, 6))
            continue;
        rc = cb(ctx, f[0], f[1], rollup_granularity_name((enum rollup_granularity)atoi(f[2])),
                atoll(f[3]), f[4], atoi(f[5]), e->n);
        if (rc)
            return rc;
    }
    return 0;
}

int rollup_foreach_sketch(const struct rollup *r, rollup_sketch_cb *cb, void *ctx) {
    char buf[ROLLUP_KEY_MAX], *f[3];
    int rc;
    for (size_t i = 0; i < r->cap; i++) {
        const struct entry *e = &r->slots[i];
        if (!e->key || !e->sketch || rollup_split(e->key + 1, buf, sizeof(buf), f, 3))
            continue;
        rc = cb(ctx, f[0], rollup_granularity_name((enum rollup_granularity)atoi(f[1])),
                atoll(f[2]), e->sketch);
        if (rc)
            return rc;
    }
    return 0;
}

void rollup_reset(struct rollup *r) {
    for (size_t i = 0; i < r->cap; i++) {
        free(r->slots[i].key);
        free(r->slots[i].sketch);
    }
    memset(r->slots, 0, r->cap * sizeof(*r->slots));
    r->used = 0;
}

void rollup_free(struct rollup *r) {
    if (!r)
        return;
    rollup_reset(r);
    free(r->slots);
    free(r);
}
