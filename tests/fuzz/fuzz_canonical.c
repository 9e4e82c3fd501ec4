/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: whatever a Kafka topic may hold, through the parser both
 * consumers use. The first byte picks the topic's type. Checks: what it
 * accepts has the shape the counters rely on, and messages are UTF-8. */
#include "canonical.h"
#include "fuzz_check.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const topic_types[] = {NULL, "pageview", "click", "search"};
    struct arena strings = {0};
    struct rollup_event ev;
    char errbuf[256];
    char *copy;
    if (size == 0)
        return 0;
    /* a copy of exactly the payload, without a NUL, as librdkafka hands it */
    copy = malloc(size - 1 ? size - 1 : 1);
    memcpy(copy, data + 1, size - 1);
    if (canonical_parse(copy, size - 1, topic_types[data[0] % 4], 600000, &strings, &ev, errbuf,
                        sizeof(errbuf))) {
        fuzz_check_text("canonical error", errbuf);
    } else {
        if (!*ev.site || strlen(ev.site) > 256 || ev.ts_ms > ev.received_ms + 600000)
            abort();
        fuzz_check_text("site", ev.site);
        fuzz_check_text("dim", ev.dim);
    }
    arena_free(&strings);
    free(copy);
    return 0;
}
