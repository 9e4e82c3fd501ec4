/* SPDX-License-Identifier: Apache-2.0 */
/* schema/event: the event model of DESIGN.md as a library.
 *
 * One JSON event in; out either the canonical enriched event (compact JSON
 * with a fixed field order, the Kafka message value), its topic type and its
 * message key (the visitor id), or an error sentence that names the field
 * and the rule it broke, plus a short reason code for metrics.
 *
 * Numbers are parsed as doubles (JSON_DECODE_INT_AS_REAL) so that a huge
 * integer is a per-field error ("must be an integer from 0 to ...") instead
 * of making the whole request unparseable; integral values are written back
 * as integers. Duplicate keys and invalid UTF-8 make a document unparseable:
 * there is no honest way to guess what the sender meant. */
#ifndef SCHEMA_EVENT_H
#define SCHEMA_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum schema_type { SCHEMA_PAGEVIEW, SCHEMA_CLICK, SCHEMA_SEARCH, SCHEMA_TYPE_CNT };

struct schema_limits {
    size_t max_id;          /* site, anonymous_id, user_id, session_id */
    size_t max_text;        /* title, target, text, query, prop values */
    size_t max_url;         /* url, referrer, href */
    size_t max_props;       /* keys in props */
    size_t max_prop_key;
    size_t max_event_bytes; /* canonical JSON of one event */
    size_t max_batch;       /* events in one request */
};

/* What the collector knows about the request an event came in. */
struct schema_context {
    int64_t received_at_ms;
    int64_t sent_at_ms;     /* client clock when the batch was sent; -1 none */
    const char *user_agent; /* NULL: not sent */
    const char *ip;         /* already truncated as configured; NULL: dropped */
    int bot;
    /* the anonymous_id of an event that has neither it nor user_id; NULL:
     * such an event is refused */
    const char *anonymous_id;
    /* what the user agent says (ingest/useragent.h); NULL: not written */
    const char *device, *browser, *os;
};

struct schema_event {
    enum schema_type type;
    char *json; /* canonical event, malloc'd, NUL-terminated */
    size_t json_len;
    char *key; /* visitor id: anonymous_id, else user_id; malloc'd */
    int64_t ts_ms; /* the event time written, skew-corrected and clamped */
    char event_id[37];
};

/* Reason codes, stable for metrics and the dead-letter topic. */
#define SCHEMA_ERR_NOT_OBJECT "not_object"
#define SCHEMA_ERR_MISSING "missing_field"
#define SCHEMA_ERR_TYPE "wrong_type"
#define SCHEMA_ERR_LENGTH "too_long"
#define SCHEMA_ERR_VALUE "invalid_value"
#define SCHEMA_ERR_UNKNOWN_FIELD "unknown_field"
#define SCHEMA_ERR_UNKNOWN_TYPE "unknown_type"
#define SCHEMA_ERR_SIZE "event_too_large"

void schema_limits_default(struct schema_limits *lim);

/* "pageview", "click", "search". */
const char *schema_type_name(enum schema_type type);

/* "activity/pageview/1": the schema id carried in the message header. */
const char *schema_type_id(enum schema_type type);

/* The names an event's device, browser and os may have: what ingest reads
 * from the user agent (ingest/useragent.h), one list each, indexed by these
 * enums and NULL-terminated; a reader takes any other value as "Other". */
enum schema_device { SCHEMA_DESKTOP, SCHEMA_MOBILE, SCHEMA_TABLET, SCHEMA_DEVICE_CNT };
enum schema_browser { SCHEMA_CHROME, SCHEMA_SAFARI, SCHEMA_FIREFOX, SCHEMA_EDGE,
                      SCHEMA_SAMSUNG, SCHEMA_OPERA, SCHEMA_WEBVIEW, SCHEMA_BROWSER_OTHER,
                      SCHEMA_BROWSER_CNT };
enum schema_os { SCHEMA_WINDOWS, SCHEMA_MACOS, SCHEMA_IOS, SCHEMA_ANDROID, SCHEMA_LINUX,
                 SCHEMA_CHROMEOS, SCHEMA_OS_OTHER, SCHEMA_OS_CNT };
extern const char *const schema_devices[SCHEMA_DEVICE_CNT + 1];
extern const char *const schema_browsers[SCHEMA_BROWSER_CNT + 1];
extern const char *const schema_systems[SCHEMA_OS_CNT + 1];

/* name when it is one of names (a list above), else "Other". */
const char *schema_known_name(const char *name, const char *const *names);

/* 1 when s is a site name's characters: 1 or more of [A-Za-z0-9._:-]. */
int schema_site_chars_ok(const char *s);

/* Parses a request body with the flags the schema relies on. Returns NULL
 * with errbuf like "invalid JSON at line 1 column 7: ..." on failure. */
json_t *schema_json_parse(const char *buf, size_t len, char *errbuf,
                          size_t errsize);

/* Splits a parsed body into its events: a single event object, an array of
 * events, or {"sent_at": T, "events": [...]}. Sets *events to a new
 * reference to an array and *sent_at_ms (-1 when absent). Returns 0, or -1
 * with errbuf when the body has none of these shapes. */
int schema_batch_unpack(json_t *root, json_t **events, int64_t *sent_at_ms,
                        char *errbuf, size_t errsize);

/* A timestamp field value: RFC 3339 text or epoch milliseconds. */
int schema_parse_time(const json_t *v, int64_t *ms);

/* Validates and enriches one event. Returns 0 and fills *out (release with
 * schema_event_clear), or -1 with errbuf naming the field and rule and
 * *reason set to one of SCHEMA_ERR_*. */
int schema_event_build(const struct schema_limits *lim, const json_t *in,
                       const struct schema_context *ctx,
                       struct schema_event *out, char *errbuf, size_t errsize,
                       const char **reason);

void schema_event_clear(struct schema_event *ev);

#endif
