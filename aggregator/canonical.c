/* SPDX-License-Identifier: Apache-2.0 */
#include "canonical.h"

#include "timefmt.h"
#include "urlparts.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields the counters use; anything else is skipped. */
enum { K_TYPE, K_EVENT_ID, K_SITE, K_ANON, K_USER, K_URL, K_TARGET, K_QUERY, K_TS,
       K_RECEIVED, K_RESULTS, K_BOT, K_REFERRER, K_DEVICE, K_BROWSER, K_OS, K_CNT };
static const char *keys[K_CNT] = {"type", "event_id", "site", "anonymous_id", "user_id", "url",
                                  "target", "query", "ts", "received_at", "results", "bot",
                                  "referrer", "device", "browser", "os"};

#define MAX_STR 4096 /* longer strings are not canonical (the schema's limits are lower) */

struct scan {
    const char *p, *end;
    const char *err;
};

static void skip_ws(struct scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* "8-4-4-4-12" hex digits into 16 bytes (either case: the same UUID). */
static int uuid_pack(const char *text, uint8_t out[16]) {
    static const int dash[] = {8, 13, 18, 23};
    unsigned v;
    if (strlen(text) != 36)
        return -1;
    for (int i = 0; i < 4; i++)
        if (text[dash[i]] != '-')
            return -1;
    for (int i = 0, o = 0; i < 36; i += 4, o += 2) {
        if (text[i] == '-')
            i++; /* digit groups are 8, 4, 4, 4, 12: every dash precedes a 4-digit run */
        if (hex4(text + i, &v))
            return -1;
        out[o] = (uint8_t)(v >> 8);
        out[o + 1] = (uint8_t)v;
    }
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at p (no overlongs, surrogates or
 * values past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0], cp;
    size_t n;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* Reads a JSON string at s->p into out (NUL-terminated, at most cap bytes),
 * or only validates it when out is NULL. */
static int scan_string(struct scan *s, char *out, size_t cap) {
    size_t n = 0;
    if (s->p >= s->end || *s->p != '"') return s->err = "expected a string", -1;
    s->p++;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        char buf[4];
        size_t k;
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            /* A run of plain ASCII, the bulk of every event: one copy. */
            const char *run = s->p;
            while (s->p < s->end && (unsigned char)*s->p >= 0x20 && (unsigned char)*s->p < 0x80 &&
                   *s->p != '"' && *s->p != '\\')
                s->p++;
            k = (size_t)(s->p - run);
            if (out) {
                if (n + k > cap) return s->err = "string too long", -1;
                memcpy(out + n, run, k);
            }
            n += k;
            continue;
        }
        if (c < 0x20) return s->err = "control character in a string", -1;
        if (c == '\\') {
            unsigned cp, lo;
            if (s->end - s->p < 2) return s->err = "truncated escape", -1;
            switch (s->p[1]) {
            case '"': case '\\': case '/': buf[0] = s->p[1]; k = 1; break;
            case 'b': buf[0] = '\b'; k = 1; break;
            case 'f': buf[0] = '\f'; k = 1; break;
            case 'n': buf[0] = '\n'; k = 1; break;
            case 'r': buf[0] = '\r'; k = 1; break;
            case 't': buf[0] = '\t'; k = 1; break;
            case 'u':
                if (s->end - s->p < 6 || hex4(s->p + 2, &cp)) return s->err = "bad \\u escape", -1;
                if (cp >= 0xdc00 && cp <= 0xdfff) return s->err = "lone low surrogate", -1;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (s->end - s->p < 12 || s->p[6] != '\\' || s->p[7] != 'u' ||
                        hex4(s->p + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
                        return s->err = "unpaired surrogate", -1;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    s->p += 6;
                }
                if (cp == 0) return s->err = "NUL in a string", -1;
                k = put_utf8(buf, cp);
                s->p += 4;
                break;
            default:
                return s->err = "bad escape", -1;
            }
            s->p += 2;
        } else {
            if (!(k = utf8_len((const unsigned char *)s->p, (const unsigned char *)s->end)))
                return s->err = "invalid UTF-8", -1;
            memcpy(buf, s->p, k);
            s->p += k;
        }
        if (out) {
            if (n + k > cap) return s->err = "string too long", -1;
            memcpy(out + n, buf, k);
        }
        n += k;
    }
    if (s->p >= s->end) return s->err = "unterminated string", -1;
    s->p++;
    if (out) out[n] = '\0';
    return 0;
}

/* Skips any JSON value (objects and arrays by depth, strings validated). */
static int skip_value(struct scan *s) {
    int depth = 0;
    do {
        skip_ws(s);
        if (s->p >= s->end) return s->err = "truncated", -1;
        switch (*s->p) {
        case '{': case '[':
            if (++depth > 64) return s->err = "nested too deep", -1;
            s->p++;
            continue;
        case '}': case ']':
            if (depth == 0) return s->err = "unexpected close", -1;
            depth--;
            s->p++;
            break;
        case ',': case ':':
            if (depth == 0) return s->err = "unexpected separator", -1;
            s->p++;
            continue;
        case '"':
            if (scan_string(s, NULL, 0)) return -1;
            break;
        default: {
            const char *start = s->p;
            while (s->p < s->end && strchr("0123456789+-.eEtruefalsn", *s->p))
                s->p++;
            if (s->p == start) return s->err = "unexpected character", -1;
        }
        }
    } while (depth > 0);
    return 0;
}

static int scan_literal(struct scan *s, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n)) return -1;
    s->p += n;
    return 0;
}

const char *canonical_topic_type(const char *topic) {
    const char *dot = strrchr(topic, '.');
    return dot ? dot + 1 : topic;
}

int canonical_parse(const char *json, size_t len, const char *topic_type, int64_t max_future_ms,
                    struct arena *strings, struct rollup_event *ev, char *errbuf,
                    size_t errsize) {
    struct scan s = {json, json + len, NULL};
    /* One buffer for every kept string: cheaper than an allocation each. */
    static __thread char vals[K_CNT][MAX_STR + 1];
    int have[K_CNT] = {0}, bot = -1, first = 1;
    long long results = -1;
    const char *dim;

    memset(ev, 0, sizeof(*ev));
    skip_ws(&s);
    if (s.p >= s.end || *s.p++ != '{') {
        snprintf(errbuf, errsize, "not a JSON object");
        return -1;
    }
    for (;;) {
        char key[64]; /* a canonical event's own keys are short */
        int k;
        skip_ws(&s);
        if (s.p < s.end && *s.p == '}' && first) { s.p++; break; }
        if (scan_string(&s, key, sizeof(key) - 1)) goto bad;
        skip_ws(&s);
        if (s.p >= s.end || *s.p++ != ':') { s.err = "expected ':'"; goto bad; }
        skip_ws(&s);
        for (k = 0; k < K_CNT; k++) /* most keys are no known one: test a byte first */
            if (key[0] == keys[k][0] && !strcmp(key, keys[k])) break;
        if (k < K_CNT && have[k]) { s.err = "duplicate field"; goto bad; }
        if (k == K_BOT) {
            if (!scan_literal(&s, "true")) bot = 1;
            else if (!scan_literal(&s, "false")) bot = 0;
            else { s.err = "bot is not a boolean"; goto bad; }
        } else if (k == K_RESULTS) {
            /* the payload is not NUL-terminated: copy the digits first */
            char num[24];
            size_t n = 0;
            if (s.p < s.end && *s.p == '-')
                num[n++] = *s.p++;
            while (s.p < s.end && *s.p >= '0' && *s.p <= '9' && n < sizeof(num) - 1)
                num[n++] = *s.p++;
            num[n] = '\0';
            if (n == 0 || (n == 1 && num[0] == '-') || n == sizeof(num) - 1 ||
                (s.p < s.end && strchr(".eE0123456789", *s.p))) {
                s.err = "results is not an integer";
                goto bad;
            }
            results = strtoll(num, NULL, 10);
        } else if (k < K_CNT) {
            if (scan_string(&s, vals[k], MAX_STR)) goto bad;
        } else if (skip_value(&s)) {
            goto bad;
        }
        if (k < K_CNT) have[k] = 1;
        first = 0;
        skip_ws(&s);
        if (s.p < s.end && *s.p == ',') { s.p++; continue; }
        if (s.p < s.end && *s.p == '}') { s.p++; break; }
        s.err = "expected ',' or '}'";
        goto bad;
    }
    skip_ws(&s);
    if (s.p != s.end) { s.err = "bytes after the object"; goto bad; }

    if (!have[K_TYPE] || !have[K_EVENT_ID] || !have[K_SITE] ||
        !*vals[K_SITE] || strlen(vals[K_SITE]) > 256 || (!have[K_ANON] && !have[K_USER]) ||
        !have[K_TS] || !have[K_RECEIVED] || bot < 0) {
        snprintf(errbuf, errsize, "not a canonical event: type, event_id, site, "
                                  "visitor id, ts, received_at or bot missing");
        return -1;
    }
    if (!have[K_URL]) {
        snprintf(errbuf, errsize, "not a canonical event: url missing");
        return -1;
    }
    if (!strcmp(vals[K_TYPE], "pageview")) {
        ev->type = "pageview";
        dim = vals[K_URL];
    } else if (!strcmp(vals[K_TYPE], "click") && have[K_TARGET]) {
        ev->type = "click";
        dim = vals[K_TARGET];
    } else if (!strcmp(vals[K_TYPE], "search") && have[K_QUERY] && have[K_RESULTS]) {
        ev->type = "search";
        dim = vals[K_QUERY];
    } else {
        char q[40];
        utf8_quote(q, sizeof(q), vals[K_TYPE], strlen(vals[K_TYPE]));
        snprintf(errbuf, errsize, "not a canonical %s event", q);
        return -1;
    }
    if (topic_type && strcmp(ev->type, topic_type)) {
        snprintf(errbuf, errsize, "a %s event on a %s topic", ev->type, topic_type);
        return -1;
    }
    if (strpbrk(vals[K_SITE], "\x1e\x1f") || strpbrk(dim, "\x1e\x1f") ||
        strpbrk(vals[K_URL], "\x1e\x1f") ||
        (have[K_REFERRER] && strpbrk(vals[K_REFERRER], "\x1e\x1f"))) {
        snprintf(errbuf, errsize, "site, dimension or a URL has control characters");
        return -1;
    }
    if (timefmt_parse(vals[K_TS], &ev->ts_ms) || timefmt_parse(vals[K_RECEIVED], &ev->received_ms)) {
        snprintf(errbuf, errsize, "ts or received_at is not RFC 3339");
        return -1;
    }
    if (ev->ts_ms > ev->received_ms + max_future_ms)
        ev->ts_ms = ev->received_ms;
    if (uuid_pack(vals[K_EVENT_ID], ev->event_id)) {
        snprintf(errbuf, errsize, "event_id is not a UUID");
        return -1;
    }
    ev->site = arena_strndup(strings, vals[K_SITE], strlen(vals[K_SITE]));
    ev->page = urlparts_path(strings, vals[K_URL]);
    ev->dim = ev->type[0] == 'p' ? ev->page : arena_strndup(strings, dim, strlen(dim));
    ev->source = urlparts_source(strings, have[K_REFERRER] ? vals[K_REFERRER] : NULL, vals[K_URL]);
    ev->utm_source = urlparts_param(strings, vals[K_URL], "utm_source");
    ev->utm_medium = urlparts_param(strings, vals[K_URL], "utm_medium");
    ev->utm_campaign = urlparts_param(strings, vals[K_URL], "utm_campaign");
    /* the schema's names (a topic may carry anything, and these become
     * dashboard rows); anything else, or none (events made before ingest
     * classified user agents), counts as "Other" */
    ev->device = have[K_DEVICE] ? schema_known_name(vals[K_DEVICE], schema_devices) : "Other";
    ev->browser = have[K_BROWSER] ? schema_known_name(vals[K_BROWSER], schema_browsers) : "Other";
    ev->os = have[K_OS] ? schema_known_name(vals[K_OS], schema_systems) : "Other";
    {
        const char *v = have[K_ANON] ? vals[K_ANON] : vals[K_USER];
        ev->visitor = hll_hash(v, strlen(v));
    }
    ev->bot = bot;
    ev->zero_result = have[K_RESULTS] && results == 0;
    return 0;
bad:
    snprintf(errbuf, errsize, "not JSON: %s at byte %td", s.err ? s.err : "syntax error",
             s.p - json);
    return -1;
}
