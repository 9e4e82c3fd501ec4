/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: activity-web's query parameters. The input is split at NUL
 * bytes into site, type, granularity, from, to, limit and compare (absent
 * when the input ends first), and every API answer is computed from an empty
 * counters database made with the real schema, in UTC and in a zone with
 * half-hour offsets and summer time (an odd length). Checks: an error is
 * valid UTF-8 JSON text, and an answer encodes (as JSON and as CSV). */
#include "api.h"
#include "fuzz_check.h"

#include <sqlite3.h>
#include <stdint.h>

extern const char store_counters_sql[];

static sqlite3 *db;
static struct site_tz **zones;

static void check_answer(json_t *answer, const char *errbuf) {
    char *text;
    if (!answer) {
        fuzz_check_text("API error", errbuf);
        return;
    }
    if (!(text = json_dumps(answer, JSON_COMPACT)))
        abort();
    free(text);
    if (json_object_get(answer, "items") || json_object_get(answer, "points")) {
        size_t len;
        free(api_answer_csv(answer, &len)); /* the format=csv answer */
    }
    json_decref(answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *fields[7] = {NULL};
    char *buf = malloc(size + 1), errbuf[1024];
    size_t off = 0;
    int status;
    if (!zones) {
        char err[256];
        if (site_tz_parse("f=America/St_Johns", &zones, err, sizeof(err)))
            abort();
    }
    if (!db) {
        /* rows for the seeds' site s1 around their times, so top lists
         * merge their values' visitors (one sketch malformed: skipped) */
        if (sqlite3_open(":memory:", &db) ||
            sqlite3_exec(db, store_counters_sql, NULL, NULL, NULL) ||
            sqlite3_exec(db,
                         "INSERT INTO counters VALUES "
                         "('s1','pageview','hour',1795086000,'/a',0,3,x'53000041'),"
                         "('s1','pageview','day',1795046400,'/a',0,3,x'5300004100008a'),"
                         "('s1','pageview','minute',1795086000,'/a',0,3,NULL),"
                         "('s1','entry','hour',1795086000,'/a',0,1,x'530001410000'),"
                         "('s1','click','hour',1795086000,'b',0,1,NULL)",
                         NULL, NULL, NULL))
            abort();
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (int i = 0; i < 7 && off <= size; i++) {
        fields[i] = buf + off;
        off += strlen(buf + off) + 1;
    }
    struct api_params p = {fields[0], fields[1], fields[2], fields[3],
                           fields[4], fields[5], fields[6], size % 2 ? zones[0] : NULL};
    status = 400;
    check_answer(api_summary(db, &p, 1795000000, &status, errbuf, sizeof(errbuf)), errbuf);
    status = 400;
    check_answer(api_timeseries(db, &p, 1795000000, &status, errbuf, sizeof(errbuf)), errbuf);
    status = 400;
    check_answer(api_top(db, &p, 1795000000, &status, errbuf, sizeof(errbuf)), errbuf);
    free(buf);
    return 0;
}
