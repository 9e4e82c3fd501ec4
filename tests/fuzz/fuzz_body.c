/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: request-body framing. The first byte picks the path:
 *   even: a gzip body inflated with a bound (64 KiB) and parsed as JSON;
 *   odd:  a Content-Length line, then chunks appended to a bounded body.
 * Checks: the bound holds, messages are valid UTF-8, and the body memory
 * budget is all given back. */
#include "fuzz_check.h"
#include "http.h"
#include "event.h"

#include <stdint.h>

#define LIMIT 65536

static void fuzz_gzip(const char *in, size_t len) {
    char *out = NULL, errbuf[256];
    size_t outlen = 0;
    int rc = http_gunzip(in, len, LIMIT, &out, &outlen, errbuf, sizeof(errbuf));
    if (rc < 0) {
        fuzz_check_text("gzip error", errbuf);
        return;
    }
    if (rc > 0)
        return;
    if (outlen > LIMIT || out[outlen] != '\0')
        abort();
    json_decref(schema_json_parse(out, outlen, errbuf, sizeof(errbuf)));
    free(out);
}

static void fuzz_framing(const char *in, size_t len) {
    struct http_body b = {NULL, 0, 0, 4096, 0};
    const char *nl = memchr(in, '\n', len);
    char cl[64];
    size_t n = nl ? (size_t)(nl - in) : 0;
    if (!nl || n >= sizeof(cl))
        return;
    memcpy(cl, in, n);
    cl[n] = '\0';
    in += n + 1, len -= n + 1;
    if (http_body_begin(&b, cl) == 0) {
        /* chunks of 1 to 256 bytes, sizes taken from the data itself */
        while (len) {
            size_t step = 1 + (unsigned char)in[0] % 256;
            if (step > len)
                step = len;
            http_body_append(&b, in, step);
            in += step, len -= step;
        }
        if (b.len > b.limit || (b.buf && b.buf[b.len] != '\0'))
            abort();
    }
    http_body_free(&b);
    if (http_body_budget_used() != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        fuzz_gzip((const char *)data + 1, size - 1);
    else
        fuzz_framing((const char *)data + 1, size - 1);
    return 0;
}
