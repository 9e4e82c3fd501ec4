/* SPDX-License-Identifier: Apache-2.0 */
#include "event.h"

#include "timefmt.h"
#include "utf8.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* Client text quoted in an error: at most 64 bytes, cut on a character
 * boundary, invalid bytes escaped (utf8.h), so the message stays UTF-8. */
struct quoted {
    char s[72];
};
static struct quoted quote(const char *s) {
    struct quoted q;
    utf8_quote(q.s, sizeof(q.s), s, strlen(s));
    return q;
}

/* Largest integer a double (and so JSON_DECODE_INT_AS_REAL) holds exactly. */
#define SCHEMA_MAX_SAFE_INT 9007199254740991.0
#define SCHEMA_MAX_TS_MS ((double)TIMEFMT_MAX_MS)
#define SCHEMA_MAX_RESULTS 2147483647.0

enum field_kind {
    F_SITE,  /* 1..max_id of [A-Za-z0-9._:-] */
    F_ID,    /* 1..max_id, no control characters */
    F_UUID,  /* 8-4-4-4-12 hex, stored lower-case */
    F_TEXT,  /* 0..max_text */
    F_QUERY, /* 1..max_text */
    F_URL,   /* http(s)://..., 1..max_url */
    F_ANYURL,/* 0..max_url, any scheme or relative */
    F_TIME,  /* RFC 3339 text or epoch milliseconds */
    F_COUNT, /* integer 0..2^31-1 */
    F_PROPS, /* flat object of string/number/bool */
};

#define T_PV (1u << SCHEMA_PAGEVIEW)
#define T_CL (1u << SCHEMA_CLICK)
#define T_SE (1u << SCHEMA_SEARCH)
#define T_ALL (T_PV | T_CL | T_SE)

struct field {
    const char *name;
    enum field_kind kind;
    unsigned allowed;  /* types that may carry it */
    unsigned required; /* types that must carry it */
};

/* Table order is the canonical output order. "type" is handled apart. */
/* Indices the builder needs by name; asserted against the table below. */
enum { FIELD_EVENT_ID = 0, FIELD_ANON = 2, FIELD_USER = 3 };

static const struct field fields[] = {
    {"event_id", F_UUID, T_ALL, 0},
    {"site", F_SITE, T_ALL, T_ALL},
    {"anonymous_id", F_ID, T_ALL, 0},
    {"user_id", F_ID, T_ALL, 0},
    {"session_id", F_ID, T_ALL, 0},
    {"url", F_URL, T_ALL, T_ALL},
    {"referrer", F_ANYURL, T_ALL, 0},
    {"title", F_TEXT, T_ALL, 0},
    {"ts", F_TIME, T_ALL, T_ALL},
    {"target", F_QUERY, T_CL, T_CL},
    {"href", F_ANYURL, T_CL, 0},
    {"text", F_TEXT, T_CL, 0},
    {"query", F_QUERY, T_SE, T_SE},
    {"results", F_COUNT, T_SE, T_SE},
    {"props", F_PROPS, T_ALL, 0},
};
#define FIELD_CNT (sizeof(fields) / sizeof(fields[0]))

static const char *type_names[SCHEMA_TYPE_CNT] = {"pageview", "click", "search"};
static const char *type_ids[SCHEMA_TYPE_CNT] = {
    "activity/pageview/1", "activity/click/1", "activity/search/1"};

void schema_limits_default(struct schema_limits *lim) {
    lim->max_id = 128;
    lim->max_text = 512;
    lim->max_url = 2048;
    lim->max_props = 32;
    lim->max_prop_key = 64;
    lim->max_event_bytes = 16384;
    lim->max_batch = 500;
}

const char *schema_type_name(enum schema_type type) { return type_names[type]; }
const char *schema_type_id(enum schema_type type) { return type_ids[type]; }

const char *const schema_devices[SCHEMA_DEVICE_CNT + 1] = {"desktop", "mobile", "tablet", NULL};
const char *const schema_browsers[SCHEMA_BROWSER_CNT + 1] = {
    "Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera", "Android WebView",
    "Other", NULL};
const char *const schema_systems[SCHEMA_OS_CNT + 1] = {
    "Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS", "Other", NULL};

const char *schema_known_name(const char *name, const char *const *names) {
    for (; *names; names++)
        if (!strcmp(name, *names))
            return *names;
    return "Other";
}

int schema_site_chars_ok(const char *s) {
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-' || *s == ':'))
            return 0;
    return 1;
}

json_t *schema_json_parse(const char *buf, size_t len, char *errbuf,
                          size_t errsize) {
    json_error_t jerr;
    json_t *root = json_loadb(buf, len,
                              JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES,
                              &jerr);
    if (!root) {
        /* jansson's text quotes the input "near '...'", bytes as they are */
        char text[sizeof(jerr.text) + 8];
        utf8_quote(text, sizeof(text), jerr.text, strlen(jerr.text));
        snprintf(errbuf, errsize, "invalid JSON at line %d column %d: %s", jerr.line,
                 jerr.column, text);
    }
    return root;
}

int schema_parse_time(const json_t *v, int64_t *ms) {
    if (json_is_string(v))
        return timefmt_parse(json_string_value(v), ms);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d < 0 || d > SCHEMA_MAX_TS_MS || d != floor(d))
            return -1;
        *ms = (int64_t)d;
        return 0;
    }
    return -1;
}

int schema_batch_unpack(json_t *root, json_t **events, int64_t *sent_at_ms,
                        char *errbuf, size_t errsize) {
    json_t *sent, *arr;
    const char *key;
    json_t *val;

    *sent_at_ms = -1;
    if (json_is_array(root)) {
        *events = json_incref(root);
        return 0;
    }
    if (!json_is_object(root)) {
        snprintf(errbuf, errsize,
                 "body must be an event object, an array of events or "
                 "{\"sent_at\": ..., \"events\": [...]}");
        return -1;
    }
    if (!(arr = json_object_get(root, "events"))) {
        *events = json_array();
        json_array_append(*events, root);
        return 0;
    }
    json_object_foreach(root, key, val) {
        if (strcmp(key, "events") && strcmp(key, "sent_at")) {
            snprintf(errbuf, errsize,
                     "batch field '%s' is unknown: a batch has only "
                     "'sent_at' and 'events'",
                     quote(key).s);
            return -1;
        }
    }
    if (!json_is_array(arr)) {
        snprintf(errbuf, errsize, "batch field 'events' must be an array");
        return -1;
    }
    if ((sent = json_object_get(root, "sent_at")) &&
        schema_parse_time(sent, sent_at_ms)) {
        snprintf(errbuf, errsize,
                 "batch field 'sent_at' must be an RFC 3339 timestamp or "
                 "epoch milliseconds");
        return -1;
    }
    *events = json_incref(arr);
    return 0;
}

/* ---------------------------------------------------------------- strings */

/* C0 controls, DEL, and the C1 controls U+0080-U+009F (UTF-8 C2 80 to
 * C2 9F): jansson has checked that s is valid UTF-8. */
static int has_control(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f ||
            (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0))
            return 1;
    }
    return 0;
}

/* One error exit for every rule, so each message has the same shape. */
#define FAIL(code, ...)                                                        \
    do {                                                                       \
        snprintf(errbuf, errsize, __VA_ARGS__);                                \
        *reason = (code);                                                      \
        return -1;                                                             \
    } while (0)

static int check_string(const char *name, const json_t *v, size_t min,
                        size_t max, char *errbuf, size_t errsize,
                        const char **reason) {
    size_t len;
    if (!json_is_string(v))
        FAIL(SCHEMA_ERR_TYPE, "field '%s' must be a string", name);
    len = json_string_length(v);
    if (len < min)
        FAIL(SCHEMA_ERR_VALUE, "field '%s' must not be empty", name);
    if (len > max)
        FAIL(SCHEMA_ERR_LENGTH, "field '%s' is %zu bytes long; the limit is %zu",
             name, len, max);
    if (has_control(json_string_value(v), len))
        FAIL(SCHEMA_ERR_VALUE, "field '%s' contains a control character", name);
    return 0;
}

static int is_uuid(const char *s) {
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return s[36] == '\0';
}

/* Random bytes are fetched from the kernel in blocks: one getrandom(2) per
 * 256 UUIDs instead of one per event. */
static void uuid_v4(char out[37]) {
    static __thread unsigned char pool[4096];
    static __thread size_t used = sizeof(pool);
    static const char hex[] = "0123456789abcdef";
    unsigned char *b;
    if (used == sizeof(pool)) {
        if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool))
            abort(); /* the kernel's CSPRNG does not fail once initialised */
        used = 0;
    }
    b = pool + used;
    used += 16;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (int i = 0, o = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[36] = '\0';
}

/* ------------------------------------------------------------ output */

/* The canonical event is written straight into one buffer, in table order:
 * cheaper than building a second jansson object and dumping it. */
struct outbuf {
    char *p;
    size_t len, cap;
};

static void ob_init(struct outbuf *b) {
    b->cap = 512;
    b->len = 0;
    if (!(b->p = malloc(b->cap)))
        abort();
}

static void ob_raw(struct outbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap *= 2;
        if (!(b->p = realloc(b->p, b->cap)))
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Writes prefix then s as a JSON string. s is valid UTF-8 (jansson checked
 * it); only quote, backslash and control characters need escaping. */
static void ob_str(struct outbuf *b, const char *prefix, const char *s, size_t n) {
    size_t run = 0;
    ob_raw(b, prefix, strlen(prefix));
    ob_raw(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        ob_raw(b, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            ob_raw(b, esc, 2);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            ob_raw(b, esc, 6);
        }
    }
    ob_raw(b, s + run, n - run);
    ob_raw(b, "\"", 1);
}

/* prefix then a validated value: string, integer, real, boolean or a flat
 * object of those (props). */
static void ob_value(struct outbuf *b, const char *prefix, const json_t *v) {
    char num[40];
    const char *k;
    json_t *pv;
    int first = 1;
    switch (json_typeof(v)) {
    case JSON_STRING:
        ob_str(b, prefix, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        /* 17 significant digits round-trip every double, as jansson does */
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(num, sizeof(num), "true");
        break;
    case JSON_FALSE:
        snprintf(num, sizeof(num), "false");
        break;
    case JSON_OBJECT:
        ob_raw(b, prefix, strlen(prefix));
        ob_raw(b, "{", 1);
        json_object_foreach((json_t *)v, k, pv) {
            ob_str(b, first ? "" : ",", k, strlen(k));
            ob_value(b, ":", pv);
            first = 0;
        }
        ob_raw(b, "}", 1);
        return;
    default:
        assert(!"validated values are never arrays or null");
        return;
    }
    ob_raw(b, prefix, strlen(prefix));
    ob_raw(b, num, strlen(num));
}

/* An integral double in the safe range becomes an integer again. */
static json_t *number_out(double d) {
    if (d == floor(d) && fabs(d) <= SCHEMA_MAX_SAFE_INT)
        return json_integer((json_int_t)d);
    return json_real(d);
}

/* Builds the canonical props into *out only on success, so a rejected
 * event leaves nothing for the caller to release. */
static int check_props(const struct schema_limits *lim, const json_t *v,
                       json_t **out, char *errbuf, size_t errsize,
                       const char **reason) {
    const char *k;
    json_t *pv, *props;
    if (!json_is_object(v))
        FAIL(SCHEMA_ERR_TYPE, "field 'props' must be an object");
    if (json_object_size(v) > lim->max_props)
        FAIL(SCHEMA_ERR_LENGTH, "field 'props' has %zu keys; the limit is %zu",
             json_object_size(v), lim->max_props);
    json_object_foreach((json_t *)v, k, pv) {
        size_t klen = strlen(k), len;
        if (klen == 0 || klen > lim->max_prop_key || has_control(k, klen))
            FAIL(SCHEMA_ERR_VALUE,
                 "props key '%s' must be 1 to %zu bytes without control "
                 "characters",
                 quote(k).s, lim->max_prop_key);
        if (json_is_string(pv)) {
            len = json_string_length(pv);
            if (len > lim->max_text || has_control(json_string_value(pv), len))
                FAIL(len > lim->max_text ? SCHEMA_ERR_LENGTH : SCHEMA_ERR_VALUE,
                     "props.%s must be at most %zu bytes without control "
                     "characters",
                     quote(k).s, lim->max_text);
        } else if (!json_is_real(pv) && !json_is_boolean(pv)) {
            FAIL(SCHEMA_ERR_TYPE,
                 "props.%s must be a string, number or boolean (nested "
                 "objects, arrays and null are not allowed)",
                 quote(k).s);
        }
    }
    props = json_object();
    json_object_foreach((json_t *)v, k, pv)
        json_object_set_new(props, k,
                            json_is_real(pv) ? number_out(json_real_value(pv))
                                             : json_incref(pv));
    *out = props;
    return 0;
}

/* Validates one field value and returns its canonical form in *out. */
static int check_field(const struct schema_limits *lim, const struct field *f,
                       const json_t *v, json_t **out, char *errbuf,
                       size_t errsize, const char **reason) {
    const char *s;
    int64_t ms;
    double d;

    switch (f->kind) {
    case F_SITE:
        if (check_string(f->name, v, 1, lim->max_id, errbuf, errsize, reason))
            return -1;
        if (!schema_site_chars_ok(json_string_value(v)))
            FAIL(SCHEMA_ERR_VALUE, "field 'site' may contain only letters, digits and . _ - :");
        break;
    case F_ID:
        if (check_string(f->name, v, 1, lim->max_id, errbuf, errsize, reason))
            return -1;
        break;
    case F_UUID: {
        char lower[37];
        if (!json_is_string(v))
            FAIL(SCHEMA_ERR_TYPE, "field 'event_id' must be a string");
        if (json_string_length(v) != 36 || !is_uuid(json_string_value(v)))
            FAIL(SCHEMA_ERR_VALUE,
                 "field 'event_id' must be a UUID like "
                 "\"0b8e5f2a-9c1d-4e7a-8f3b-2d6c1a9e4b70\"");
        for (int i = 0; i < 37; i++) {
            char c = json_string_value(v)[i];
            lower[i] = (c >= 'A' && c <= 'F') ? (char)(c + 32) : c;
        }
        *out = json_string(lower);
        return 0;
    }
    case F_TEXT:
        if (check_string(f->name, v, 0, lim->max_text, errbuf, errsize, reason))
            return -1;
        break;
    case F_QUERY:
        if (check_string(f->name, v, 1, lim->max_text, errbuf, errsize, reason))
            return -1;
        break;
    case F_URL:
        if (check_string(f->name, v, 1, lim->max_url, errbuf, errsize, reason))
            return -1;
        s = json_string_value(v);
        if (strncasecmp(s, "http://", 7) && strncasecmp(s, "https://", 8))
            FAIL(SCHEMA_ERR_VALUE, "field '%s' must be an http:// or https:// URL",
                 f->name);
        break;
    case F_ANYURL:
        if (check_string(f->name, v, 0, lim->max_url, errbuf, errsize, reason))
            return -1;
        break;
    case F_TIME:
        if (!json_is_string(v) && !json_is_real(v))
            FAIL(SCHEMA_ERR_TYPE,
                 "field '%s' must be an RFC 3339 string or epoch milliseconds",
                 f->name);
        if (schema_parse_time(v, &ms))
            FAIL(SCHEMA_ERR_VALUE,
                 "field '%s' must be an RFC 3339 timestamp (like "
                 "\"2026-11-24T10:00:00.000Z\") or whole epoch milliseconds "
                 "from 0, between 1970 and 9999",
                 f->name);
        *out = json_integer(ms); /* the caller formats it after skew fix */
        return 0;
    case F_COUNT:
        if (!json_is_real(v))
            FAIL(SCHEMA_ERR_TYPE, "field '%s' must be a number", f->name);
        d = json_real_value(v);
        if (d < 0 || d > SCHEMA_MAX_RESULTS || d != floor(d))
            FAIL(SCHEMA_ERR_VALUE,
                 "field '%s' must be a whole number from 0 to 2147483647",
                 f->name);
        *out = json_integer((json_int_t)d);
        return 0;
    case F_PROPS:
        return check_props(lim, v, out, errbuf, errsize, reason);
    }
    *out = json_incref((json_t *)v);
    return 0;
}

int schema_event_build(const struct schema_limits *lim, const json_t *in,
                       const struct schema_context *ctx,
                       struct schema_event *out, char *errbuf, size_t errsize,
                       const char **reason) {
    const json_t *tv;
    const char *key, *tname, *tail;
    json_t *val, *vals[FIELD_CNT] = {0};
    struct outbuf ob;
    unsigned bit;
    int type = -1, rc = -1;
    int64_t client_ms = 0, ts_ms;
    char tsbuf[TIMEFMT_LEN];

    assert(!strcmp(fields[FIELD_EVENT_ID].name, "event_id") &&
           !strcmp(fields[FIELD_ANON].name, "anonymous_id") &&
           !strcmp(fields[FIELD_USER].name, "user_id"));
    memset(out, 0, sizeof(*out));
    if (!json_is_object(in))
        FAIL(SCHEMA_ERR_NOT_OBJECT, "an event must be a JSON object");
    if (!(tv = json_object_get(in, "type")))
        FAIL(SCHEMA_ERR_MISSING, "missing field 'type'");
    if (!json_is_string(tv))
        FAIL(SCHEMA_ERR_TYPE, "field 'type' must be a string");
    tname = json_string_value(tv);
    for (int i = 0; i < SCHEMA_TYPE_CNT; i++)
        if (!strcmp(tname, type_names[i]))
            type = i;
    if (type < 0)
        FAIL(SCHEMA_ERR_UNKNOWN_TYPE,
             "field 'type' is '%s'; it must be pageview, click or search",
             quote(tname).s);
    bit = 1u << type;

    json_object_foreach((json_t *)in, key, val) {
        size_t i;
        if (!strcmp(key, "type"))
            continue;
        for (i = 0; i < FIELD_CNT; i++)
            if (!strcmp(key, fields[i].name))
                break;
        if (i == FIELD_CNT || !(fields[i].allowed & bit))
            FAIL(SCHEMA_ERR_UNKNOWN_FIELD,
                 "field '%s' is not part of a %s event", quote(key).s, tname);
    }

    for (size_t i = 0; i < FIELD_CNT; i++) {
        const json_t *v = json_object_get(in, fields[i].name);
        if (!v) {
            if (fields[i].required & bit) {
                snprintf(errbuf, errsize, "missing field '%s'", fields[i].name);
                *reason = SCHEMA_ERR_MISSING;
                goto done;
            }
            continue;
        }
        if (check_field(lim, &fields[i], v, &vals[i], errbuf, errsize, reason))
            goto done;
    }
    if (!vals[FIELD_ANON] && !vals[FIELD_USER] && ctx->anonymous_id)
        vals[FIELD_ANON] = json_string(ctx->anonymous_id);
    if (!vals[FIELD_ANON] && !vals[FIELD_USER]) {
        snprintf(errbuf, errsize, "missing field 'anonymous_id' (or 'user_id')");
        *reason = SCHEMA_ERR_MISSING;
        goto done;
    }

    out->type = (enum schema_type)type;
    if (vals[FIELD_EVENT_ID])
        memcpy(out->event_id, json_string_value(vals[FIELD_EVENT_ID]), 37);
    else
        uuid_v4(out->event_id);

    ob_init(&ob);
    ob_str(&ob, "{\"type\":", tname, strlen(tname));
    ob_str(&ob, ",\"event_id\":", out->event_id, 36);
    for (size_t i = FIELD_EVENT_ID + 1; i < FIELD_CNT; i++) {
        char prefix[32];
        if (!vals[i])
            continue;
        if (fields[i].kind == F_TIME) {
            /* Clock skew: the client's clock was off by (received_at -
             * sent_at) when it sent the batch; assume the same at ts. */
            client_ms = json_integer_value(vals[i]);
            ts_ms = client_ms;
            if (ctx->sent_at_ms >= 0)
                ts_ms += ctx->received_at_ms - ctx->sent_at_ms;
            if (ts_ms < 0)
                ts_ms = 0;
            if (ts_ms > (int64_t)SCHEMA_MAX_TS_MS)
                ts_ms = (int64_t)SCHEMA_MAX_TS_MS;
            out->ts_ms = ts_ms;
            timefmt_format(ts_ms, tsbuf);
            ob_str(&ob, ",\"ts\":", tsbuf, TIMEFMT_LEN - 1);
            timefmt_format(client_ms, tsbuf);
            ob_str(&ob, ",\"client_ts\":", tsbuf, TIMEFMT_LEN - 1);
            timefmt_format(ctx->received_at_ms, tsbuf);
            ob_str(&ob, ",\"received_at\":", tsbuf, TIMEFMT_LEN - 1);
            continue;
        }
        snprintf(prefix, sizeof(prefix), ",\"%s\":", fields[i].name);
        ob_value(&ob, prefix, vals[i]);
    }
    if (ctx->user_agent)
        ob_str(&ob, ",\"user_agent\":", ctx->user_agent, strlen(ctx->user_agent));
    if (ctx->ip)
        ob_str(&ob, ",\"ip\":", ctx->ip, strlen(ctx->ip));
    if (ctx->device && ctx->browser && ctx->os) {
        ob_str(&ob, ",\"device\":", ctx->device, strlen(ctx->device));
        ob_str(&ob, ",\"browser\":", ctx->browser, strlen(ctx->browser));
        ob_str(&ob, ",\"os\":", ctx->os, strlen(ctx->os));
    }
    tail = ctx->bot ? ",\"bot\":true}" : ",\"bot\":false}";
    ob_raw(&ob, tail, strlen(tail));
    out->json = ob.p;
    out->json_len = ob.len;
    if (out->json_len > lim->max_event_bytes) {
        snprintf(errbuf, errsize, "event is %zu bytes; the limit is %zu",
                 out->json_len, lim->max_event_bytes);
        *reason = SCHEMA_ERR_SIZE;
        schema_event_clear(out);
        goto done;
    }
    out->key = strdup(
        json_string_value(vals[FIELD_ANON] ? vals[FIELD_ANON] : vals[FIELD_USER]));
    rc = 0;
done:
    for (size_t i = 0; i < FIELD_CNT; i++)
        json_decref(vals[i]);
    return rc;
}

void schema_event_clear(struct schema_event *ev) {
    free(ev->json);
    free(ev->key);
    ev->json = ev->key = NULL;
    ev->json_len = 0;
}
