/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a pixel query string. It is split and percent-decoded the
 * way libmicrohttpd does (its own MHD_http_unescape), then goes through
 * pixel_add_param and the schema, as GET /v1/pixel.gif does. Checks: the
 * error quoting a bad key is valid UTF-8, the dead letter's encoded query
 * is ASCII, and schema errors are valid UTF-8. */
#include "event.h"
#include "fuzz_check.h"
#include "pixel.h"

#include <microhttpd.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *q = malloc(size + 1), *save = NULL, *part, *encoded = NULL;
    json_t *event = json_object();
    const char *bad = NULL;
    size_t enc_len = 0;
    FILE *enc = open_memstream(&encoded, &enc_len);
    memcpy(q, data, size);
    q[size] = '\0';
    for (part = strtok_r(q, "&", &save); part; part = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(part, '=');
        if (eq)
            *eq++ = '\0';
        MHD_http_unescape(part);
        if (eq)
            MHD_http_unescape(eq);
        pixel_encode_param(enc, part, eq);
        if (!bad && pixel_add_param(event, part, eq) < 0)
            bad = part;
    }
    fclose(enc);
    for (size_t i = 0; i < enc_len; i++)
        if ((unsigned char)encoded[i] < 0x21 || (unsigned char)encoded[i] > 0x7e)
            abort();
    if (bad) {
        char quoted[72], msg[160];
        utf8_quote(quoted, sizeof(quoted), bad, strlen(bad));
        snprintf(msg, sizeof(msg), "query parameter '%s' is not valid UTF-8", quoted);
        fuzz_check_text("pixel error", msg);
    } else {
        struct schema_limits lim;
        struct schema_event out;
        struct schema_context ctx = {1795000000000LL, -1, NULL, NULL, 0, NULL, NULL, NULL, NULL};
        char errbuf[512];
        const char *reason;
        schema_limits_default(&lim);
        if (!json_object_get(event, "ts"))
            json_object_set_new(event, "ts", json_real(1795000000000.0));
        if (schema_event_build(&lim, event, &ctx, &out, errbuf, sizeof(errbuf), &reason))
            fuzz_check_text("pixel event error", errbuf);
        else
            schema_event_clear(&out);
    }
    json_decref(event);
    free(encoded);
    free(q);
    return 0;
}
