/* SPDX-License-Identifier: Apache-2.0 */
#include "timezone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define TZ_FROM 0LL           /* 1970-01-01 */
#define TZ_UNTIL 4102444800LL /* 2100-01-01 */

struct site_tz {
    char site[129], zone[64];
    size_t n;        /* offsets in force from at[i] on */
    int64_t *at;     /* at[0] = TZ_FROM */
    int32_t *offset;
};

static int32_t offset_at(int64_t t) {
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    return (int32_t)tm.tm_gmtoff;
}

/* A zone name of the tz database: Area/City letters, digits, '_', '-',
 * '+', '/', no "..", and its file exists (glibc takes an unknown name for
 * UTC without a word). */
static int zone_known(const char *zone) {
    char path[128];
    struct stat st;
    if (!*zone || strlen(zone) > 60 || zone[0] == '/' || strstr(zone, ".."))
        return 0;
    for (const char *c = zone; *c; c++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/", *c))
            return 0;
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Every change of offset of the zone in TZ now: a day's step, then the
 * exact second by bisection (no zone changes twice within a day). */
static void zone_table(struct site_tz *z) {
    size_t cap = 64;
    int32_t prev = offset_at(TZ_FROM);
    z->at = malloc(cap * sizeof(*z->at));
    z->offset = malloc(cap * sizeof(*z->offset));
    if (!z->at || !z->offset)
        abort();
    z->at[0] = TZ_FROM;
    z->offset[0] = prev;
    z->n = 1;
    for (int64_t t = TZ_FROM + 86400; t < TZ_UNTIL; t += 86400) {
        int32_t now = offset_at(t);
        int64_t lo = t - 86400, hi = t; /* offset(lo) == prev, offset(hi) == now */
        if (now == prev)
            continue;
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            if (offset_at(mid) == prev)
                lo = mid;
            else
                hi = mid;
        }
        if (z->n == cap) {
            cap *= 2;
            z->at = realloc(z->at, cap * sizeof(*z->at));
            z->offset = realloc(z->offset, cap * sizeof(*z->offset));
            if (!z->at || !z->offset)
                abort();
        }
        z->at[z->n] = hi;
        z->offset[z->n++] = now;
        prev = now;
    }
}

int site_tz_parse(const char *spec, struct site_tz ***out, char *errbuf, size_t errsize) {
    char *copy = strdup(spec), *save = NULL, *item, *old = getenv("TZ");
    size_t n = 0;
    int rc = 0;
    if (old)
        old = strdup(old);
    *out = calloc(1, sizeof(**out));
    for (item = strtok_r(copy, ",", &save); item && !rc; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        struct site_tz *z;
        while (*item == ' ')
            item++;
        if (!eq || eq == item || eq - item > 128 || !zone_known(eq + 1)) {
            snprintf(errbuf, errsize, "--site-tz: '%.80s' is not site=Area/City with a zone of "
                     "/usr/share/zoneinfo", item);
            rc = -1;
            break;
        }
        if (!(z = calloc(1, sizeof(*z))) || !(*out = realloc(*out, (n + 2) * sizeof(**out))))
            abort();
        snprintf(z->site, sizeof(z->site), "%.*s", (int)(eq - item), item);
        snprintf(z->zone, sizeof(z->zone), "%s", eq + 1);
        setenv("TZ", z->zone, 1);
        tzset();
        zone_table(z);
        (*out)[n++] = z;
        (*out)[n] = NULL;
    }
    if (old)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);
    free(copy);
    if (rc) {
        site_tz_free(*out);
        *out = NULL;
    }
    return rc;
}

void site_tz_free(struct site_tz **zones) {
    for (size_t i = 0; zones && zones[i]; i++) {
        free(zones[i]->at);
        free(zones[i]->offset);
        free(zones[i]);
    }
    free(zones);
}

const struct site_tz *site_tz_find(struct site_tz *const *zones, const char *site) {
    for (size_t i = 0; zones && site && zones[i]; i++)
        if (!strcmp(zones[i]->site, site))
            return zones[i];
    return NULL;
}

const char *site_tz_site(const struct site_tz *tz) { return tz->site; }
const char *site_tz_name(const struct site_tz *tz) { return tz ? tz->zone : "UTC"; }

int32_t tz_offset(const struct site_tz *tz, int64_t t) {
    size_t lo = 0, hi;
    if (!tz)
        return 0;
    hi = tz->n; /* the last at[i] <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->offset[lo];
}

int64_t tz_midnight_of(const struct site_tz *tz, int64_t utc_day) {
    /* the offset in force at local midnight: guessed from utc_day, then
     * from the guess (a change between them moves it once) */
    int64_t t = utc_day - tz_offset(tz, utc_day);
    return utc_day - tz_offset(tz, t);
}

int64_t tz_day_start(const struct site_tz *tz, int64_t t) {
    int64_t local = t + tz_offset(tz, t);
    int64_t day = local - ((local % 86400) + 86400) % 86400;
    return tz_midnight_of(tz, day);
}
