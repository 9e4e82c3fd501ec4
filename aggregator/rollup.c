/* SPDX-License-Identifier: Apache-2.0 */
#include "rollup.h"

#include "arena.h"
#include "mix64.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

const char *rollup_granularity_name(enum rollup_granularity g) {
    static const char *names[] = {"minute", "hour", "day"};
    return names[g];
}

int rollup_granularity_parse(const char *name) {
    /* the first letter tells them apart (a flush asks once per key) */
    int g = !name ? -1 : name[0] == 'm' ? ROLLUP_MINUTE : name[0] == 'h' ? ROLLUP_HOUR
                       : name[0] == 'd' ? ROLLUP_DAY : -1;
    return g >= 0 && !strcmp(name, rollup_granularity_name((enum rollup_granularity)g)) ? g : -1;
}

int64_t rollup_bucket(enum rollup_granularity g, int64_t ts_ms) {
    static const int64_t secs[] = {60, 3600, 86400};
    int64_t s = ts_ms / 1000;
    return s - s % secs[g];
}

/* ----------------------------------------------------------- the table */

/* One open-addressing table holds counters and sketches. Every event
 * touches up to 7 keys that differ only in a few small fields, so a key
 * is a fixed binary header followed by the event's strings, and its hash
 * is the strings' hash (computed once per event) mixed with the header:
 * no formatting and no rehashing of text per key. The strings are
 * NUL-terminated inside the key (validated text has no NUL), so the
 * callbacks get pointers into it without a copy.
 *
 * Counters are kept per minute only: an hour or day counter is the sum of
 * its minutes, so rollup_foreach_count derives them once per key rather
 * than once per event (a batch has far fewer keys than events). Sketches
 * are not summed but merged, which costs more per key than an event's
 * register update: a site's are kept at every granularity, a value's (its
 * visitors) by the hour and day. Both are in
 * the small form a batch's few visitors fill (hll.h). */
enum { KIND_COUNT, KIND_SKETCH, KIND_VALUE_SKETCH };
static const char *type_names[] = {
    "pageview", "click", "search", "zero_result_search",
    /* enum rollup_visit_count, from TYPE_VISIT_FIRST on */
    "visit", "bounce", "visit_ms", "visit_pageviews", "entry", "exit", "source", "utm_source",
    "utm_medium", "utm_campaign", "device", "browser", "os"};
enum { TYPE_ZERO_RESULT = 3, TYPE_VISIT_FIRST = 4,
       /* entry .. os: kept by the hour and day only (rollup.h) */
       TYPE_VISIT_DIMS_FIRST = TYPE_VISIT_FIRST + ROLLUP_ENTRY };
_Static_assert(sizeof(type_names) / sizeof(type_names[0]) ==
                   TYPE_VISIT_FIRST + ROLLUP_VISIT_COUNT_CNT, "a name for every counter");
_Static_assert(sizeof(type_names) / sizeof(type_names[0]) == ROLLUP_TYPE_CNT, "rollup.h");

const char *rollup_type_name(int t) { return type_names[t]; }

struct key_header {
    uint8_t kind, granularity, bot, type;
    uint8_t bucket[8]; /* int64, unaligned in the key */
};
#define HEADER_LEN sizeof(struct key_header)

struct entry {
    const char *key; /* in the arena; NULL: empty slot */
    uint32_t len;
    uint64_t hash;
    int64_t n;                /* counters */
    struct hll_small *sketch; /* sketches (site or value) */
    int with_count;           /* a value's sketch passed with its hour or day count */
};

/* Longest key: a dimension and a site (each <= 4096 bytes, and a site
 * <= 256, both enforced by canonical_parse), two NULs and the header. */
#define ROLLUP_KEY_MAX (HEADER_LEN + 256 + 4096 + 2)

struct rollup {
    struct entry *slots;
    size_t cap, used;
    struct arena keys;
    struct rollup *coarse; /* hour and day counters, derived per flush */
};

struct rollup *rollup_new(void) {
    struct rollup *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->cap = 1024;
    if (!(r->slots = calloc(r->cap, sizeof(*r->slots))))
        abort();
    return r;
}

static void rollup_grow(struct rollup *r) {
    struct entry *old = r->slots;
    size_t oldcap = r->cap;
    r->cap *= 2;
    if (!(r->slots = calloc(r->cap, sizeof(*r->slots))))
        abort();
    for (size_t k = 0; k < oldcap; k++)
        if (old[k].key) {
            size_t i = old[k].hash & (r->cap - 1);
            while (r->slots[i].key)
                i = (i + 1) & (r->cap - 1);
            r->slots[i] = old[k];
        }
    free(old);
}

/* The entry of a key (header and strings, hashed by rollup_header), or NULL. */
static struct entry *rollup_find(const struct rollup *r, const char *key, size_t len, uint64_t h) {
    for (size_t i = h & (r->cap - 1); r->slots[i].key; i = (i + 1) & (r->cap - 1))
        if (r->slots[i].hash == h && r->slots[i].len == len && !memcmp(r->slots[i].key, key, len))
            return &r->slots[i];
    return NULL;
}

/* The entry of a key (header and strings, hashed by rollup_header), created
 * empty when new. */
static struct entry *rollup_slot(struct rollup *r, const char *key, size_t len, uint64_t h) {
    size_t i;
    if ((r->used + 1) * 4 > r->cap * 3) /* keep the load under 3/4 */
        rollup_grow(r);
    for (i = h & (r->cap - 1); r->slots[i].key; i = (i + 1) & (r->cap - 1))
        if (r->slots[i].hash == h && r->slots[i].len == len && !memcmp(r->slots[i].key, key, len))
            return &r->slots[i];
    r->slots[i].key = arena_strndup(&r->keys, key, len);
    r->slots[i].len = (uint32_t)len;
    r->slots[i].hash = h;
    r->used++;
    return &r->slots[i];
}

static uint64_t rollup_header(char *key, int kind, int g, int bot, int type, int64_t bucket,
                              uint64_t strings_hash) {
    struct key_header hd = {(uint8_t)kind, (uint8_t)g, (uint8_t)bot, (uint8_t)type, {0}};
    memcpy(hd.bucket, &bucket, sizeof(bucket));
    memcpy(key, &hd, HEADER_LEN);
    return mix64(strings_hash ^ mix64((uint64_t)bucket ^ (uint64_t)(kind | g << 8 | bot << 16 |
                                                                type << 24) << 32));
}

static void entry_sketch_add(struct entry *e, uint64_t visitor) {
    if (!e->sketch && !(e->sketch = calloc(1, sizeof(*e->sketch))))
        abort();
    hll_small_add(e->sketch, visitor);
}

/* Visitor joins the hour and day sketches of a value: key holds its site
 * and dim (hashed as strings_hash) after the header. */
static void rollup_add_value_visitor(struct rollup *r, char *key, size_t len, int type,
                                     uint64_t strings_hash, int64_t ts_ms, uint64_t visitor) {
    for (int g = ROLLUP_HOUR; g < ROLLUP_GRAN_CNT; g++) {
        uint64_t h = rollup_header(key, KIND_VALUE_SKETCH, g, 0, type,
                                   rollup_bucket((enum rollup_granularity)g, ts_ms), strings_hash);
        entry_sketch_add(rollup_slot(r, key, len, h), visitor);
    }
}

static int rollup_type_index(const char *type) {
    for (int t = 0; t < TYPE_ZERO_RESULT; t++)
        if (!strcmp(type, type_names[t]))
            return t;
    assert(!"a type canonical_parse does not make");
    return 0;
}

static void rollup_apply(struct rollup *r, const struct rollup_event *ev, int delta) {
    /* Three key bodies: site+dim, site+'' (the total), and site (sketches). */
    char dim_key[ROLLUP_KEY_MAX], total_key[HEADER_LEN + 256 + 2];
    size_t site_len = strlen(ev->site), dim_len = strlen(ev->dim);
    size_t dim_n = HEADER_LEN + site_len + 1 + dim_len + 1, total_n = HEADER_LEN + site_len + 2;
    int types[2] = {rollup_type_index(ev->type), TYPE_ZERO_RESULT};
    int type_cnt = ev->zero_result ? 2 : 1;
    uint64_t h_dim, h_total, h_site;
    int64_t minute;

    assert(site_len <= 256 && dim_len <= 4096);
    memcpy(dim_key + HEADER_LEN, ev->site, site_len + 1);
    memcpy(dim_key + HEADER_LEN + site_len + 1, ev->dim, dim_len + 1);
    memcpy(total_key + HEADER_LEN, ev->site, site_len + 1);
    total_key[total_n - 1] = '\0';
    h_dim = hll_hash(dim_key + HEADER_LEN, dim_n - HEADER_LEN);
    h_total = hll_hash(total_key + HEADER_LEN, total_n - HEADER_LEN);
    h_site = hll_hash(total_key + HEADER_LEN, site_len + 1);

    minute = rollup_bucket(ROLLUP_MINUTE, ev->ts_ms);
    for (int k = 0; k < type_cnt; k++) {
        uint64_t h = rollup_header(total_key, KIND_COUNT, ROLLUP_MINUTE, ev->bot, types[k],
                                   minute, h_total);
        rollup_slot(r, total_key, total_n, h)->n += delta;
        h = rollup_header(dim_key, KIND_COUNT, ROLLUP_MINUTE, ev->bot, types[k], minute, h_dim);
        rollup_slot(r, dim_key, dim_n, h)->n += delta;
        if (!ev->bot && delta > 0 && dim_len)
            rollup_add_value_visitor(r, dim_key, dim_n, types[k], h_dim, ev->ts_ms, ev->visitor);
    }
    for (int g = 0; g < ROLLUP_GRAN_CNT; g++) {
        int64_t b = rollup_bucket((enum rollup_granularity)g, ev->ts_ms);
        if (!ev->bot && delta > 0) {
            uint64_t h = rollup_header(total_key, KIND_SKETCH, g, 0, 0, b, h_site);
            entry_sketch_add(rollup_slot(r, total_key, HEADER_LEN + site_len + 1, h), ev->visitor);
        }
    }
}

void rollup_add(struct rollup *r, const struct rollup_event *ev) { rollup_apply(r, ev, 1); }

void rollup_remove(struct rollup *r, const struct rollup_event *ev) { rollup_apply(r, ev, -1); }

/* A visit's key body: site and dim after the header; its length. */
static size_t visit_key(char key[ROLLUP_KEY_MAX], const char *site, const char *dim) {
    size_t site_len = strlen(site), dim_len = strlen(dim);
    assert(site_len <= 256 && dim_len <= 4096);
    memcpy(key + HEADER_LEN, site, site_len + 1);
    memcpy(key + HEADER_LEN + site_len + 1, dim, dim_len + 1);
    return HEADER_LEN + site_len + 1 + dim_len + 1;
}

void rollup_add_visit(struct rollup *r, enum rollup_visit_count what, const char *site,
                      int64_t ts_ms, const char *dim, int64_t n) {
    char key[ROLLUP_KEY_MAX];
    size_t len;
    uint64_t h;
    if (!n)
        return;
    len = visit_key(key, site, dim);
    h = rollup_header(key, KIND_COUNT, ROLLUP_MINUTE, 0, TYPE_VISIT_FIRST + (int)what,
                      rollup_bucket(ROLLUP_MINUTE, ts_ms), hll_hash(key + HEADER_LEN, len - HEADER_LEN));
    rollup_slot(r, key, len, h)->n += n;
}

void rollup_add_visit_visitor(struct rollup *r, enum rollup_visit_count what, const char *site,
                              int64_t ts_ms, const char *dim, uint64_t visitor) {
    char key[ROLLUP_KEY_MAX];
    size_t len = visit_key(key, site, dim);
    assert(what >= ROLLUP_ENTRY);
    rollup_add_value_visitor(r, key, len, TYPE_VISIT_FIRST + (int)what,
                             hll_hash(key + HEADER_LEN, len - HEADER_LEN), ts_ms, visitor);
}

size_t rollup_key_count(const struct rollup *r) { return r->used; }

static struct key_header entry_header(const struct entry *e, int64_t *bucket) {
    struct key_header hd;
    memcpy(&hd, e->key, HEADER_LEN);
    memcpy(bucket, hd.bucket, sizeof(*bucket));
    return hd;
}

/* The sketch in r of the value whose hour or day counter is e, marked as
 * passed with it; NULL when none. */
static struct hll_small *value_sketch_of(struct rollup *r, const struct entry *e,
                                         struct key_header hd, int64_t bucket, const char *dim) {
    char key[ROLLUP_KEY_MAX];
    struct entry *v;
    if (hd.bot || !*dim)
        return NULL; /* a bot's, or a total */
    memcpy(key, e->key, e->len);
    v = rollup_find(r, key, e->len,
                    rollup_header(key, KIND_VALUE_SKETCH, hd.granularity, 0, hd.type, bucket,
                                  hll_hash(key + HEADER_LEN, e->len - HEADER_LEN)));
    if (!v)
        return NULL;
    v->with_count = 1;
    return v->sketch;
}

/* Visits the counters of r; with coarse, also adds each one to its hour
 * and day counters there; with sketches (the table whose minutes made r),
 * passes each hour and day counter of a value with that value's sketch. */
static int rollup_visit_counts(struct rollup *r, struct rollup *coarse,
                               struct rollup *sketches, rollup_count_cb *cb, void *ctx) {
    char key[ROLLUP_KEY_MAX];
    for (size_t i = 0; i < r->cap; i++) {
        struct entry *e = &r->slots[i];
        const char *site, *dim;
        struct key_header hd;
        int64_t bucket;
        uint64_t strings_hash;
        int rc;
        e->with_count = 0; /* (the minutes' pass: a retried flush passes them anew) */
        if (!e->key || e->n == 0)
            continue;
        hd = entry_header(e, &bucket);
        if (hd.kind != KIND_COUNT)
            continue;
        site = e->key + HEADER_LEN;
        dim = site + strlen(site) + 1;
        rc = coarse && hd.type >= TYPE_VISIT_DIMS_FIRST
                 ? 0 /* a minute's visit dimensions: only its hour and day are stored */
                 : cb(ctx, site, type_names[hd.type],
                      rollup_granularity_name((enum rollup_granularity)hd.granularity), bucket,
                      dim, hd.bot, e->n,
                      sketches ? value_sketch_of(sketches, e, hd, bucket, dim) : NULL);
        if (rc)
            return rc;
        if (!coarse)
            continue;
        memcpy(key, e->key, e->len);
        strings_hash = hll_hash(site, e->len - HEADER_LEN); /* as rollup_apply hashed them */
        for (int g = ROLLUP_HOUR; g < ROLLUP_GRAN_CNT; g++) {
            uint64_t h = rollup_header(key, KIND_COUNT, g, hd.bot, hd.type,
                                       rollup_bucket((enum rollup_granularity)g, bucket * 1000),
                                       strings_hash);
            rollup_slot(coarse, key, e->len, h)->n += e->n;
        }
    }
    return 0;
}

int rollup_foreach_count(struct rollup *r, rollup_count_cb *cb, void *ctx) {
    int rc;
    if (!r->coarse)
        r->coarse = rollup_new();
    rollup_reset(r->coarse);
    rc = rollup_visit_counts(r, r->coarse, NULL, cb, ctx);
    return rc ? rc : rollup_visit_counts(r->coarse, NULL, r, cb, ctx);
}

int rollup_foreach_sketch(const struct rollup *r, rollup_sketch_cb *cb, void *ctx) {
    for (size_t i = 0; i < r->cap; i++) {
        const struct entry *e = &r->slots[i];
        struct key_header hd;
        const char *site;
        int64_t bucket;
        int rc, value;
        if (!e->key || !e->sketch || e->with_count)
            continue; /* (a value's passed with its count: rollup_foreach_count) */
        hd = entry_header(e, &bucket);
        site = e->key + HEADER_LEN;
        value = hd.kind == KIND_VALUE_SKETCH; /* a site's: no type, no dim */
        rc = cb(ctx, site, value ? type_names[hd.type] : NULL,
                rollup_granularity_name((enum rollup_granularity)hd.granularity), bucket,
                value ? site + strlen(site) + 1 : NULL, e->sketch);
        if (rc)
            return rc;
    }
    return 0;
}

void rollup_reset(struct rollup *r) {
    for (size_t i = 0; i < r->cap; i++)
        if (r->slots[i].sketch) {
            hll_small_free(r->slots[i].sketch);
            free(r->slots[i].sketch);
        }
    memset(r->slots, 0, r->cap * sizeof(*r->slots));
    r->used = 0;
    arena_reset(&r->keys);
}

void rollup_free(struct rollup *r) {
    if (!r)
        return;
    rollup_reset(r);
    rollup_free(r->coarse);
    arena_free(&r->keys);
    free(r->slots);
    free(r);
}
