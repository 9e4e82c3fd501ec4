/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a request body, as /v1/events reads it, to canonical events.
 * Checks: every error message is valid UTF-8, and every event ingest
 * accepts is one the aggregator's parser reads back on its type's topic.
 * The same bytes are classified as a user agent (useragent.h), whose
 * names go into the events. */
#include "canonical.h"
#include "event.h"
#include "fuzz_check.h"
#include "useragent.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct schema_limits lim;
    char errbuf[512];
    json_t *root, *events, *ev;
    int64_t sent_at;
    size_t i;

    char ua[1024];
    struct useragent agent;
    size_t ua_len = size < sizeof(ua) - 1 ? size : sizeof(ua) - 1;
    memcpy(ua, data, ua_len);
    ua[ua_len] = '\0';
    useragent_classify(ua, &agent);
    if (!agent.device || !agent.browser || !agent.os)
        __builtin_trap();

    schema_limits_default(&lim);
    root = schema_json_parse((const char *)data, size, errbuf, sizeof(errbuf));
    if (!root) {
        fuzz_check_text("parse error", errbuf);
        return 0;
    }
    if (schema_batch_unpack(root, &events, &sent_at, errbuf, sizeof(errbuf))) {
        fuzz_check_text("shape error", errbuf);
        json_decref(root);
        return 0;
    }
    struct schema_context ctx = {1795000000000LL, sent_at, "Mozilla/5.0 fuzz", "127.0.0.0", 0,
                                 NULL, agent.device, agent.browser, agent.os};
    json_array_foreach(events, i, ev) {
        struct schema_event out;
        const char *reason = NULL;
        if (schema_event_build(&lim, ev, &ctx, &out, errbuf, sizeof(errbuf), &reason)) {
            fuzz_check_text("event error", errbuf);
            if (!reason)
                abort();
            continue;
        }
        {
            struct arena strings = {0};
            struct rollup_event re;
            char cerr[256];
            if (canonical_parse(out.json, out.json_len, schema_type_name(out.type), 600000,
                                &strings, &re, cerr, sizeof(cerr))) {
                fprintf(stderr, "ingest wrote an event the aggregator rejects (%s): %s\n", cerr,
                        out.json);
                abort();
            }
            arena_free(&strings);
        }
        schema_event_clear(&out);
    }
    json_decref(events);
    json_decref(root);
    return 0;
}
