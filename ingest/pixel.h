/* SPDX-License-Identifier: Apache-2.0 */
/* pixel: GET /v1/pixel.gif's query parameters (already percent-decoded by
 * libmicrohttpd) as the fields of one event, for browsers without
 * JavaScript and for <img> tags in e-mails. */
#ifndef INGEST_PIXEL_H
#define INGEST_PIXEL_H

#include <jansson.h>
#include <stdio.h>

/* Sets event[key] from one parameter. Keys starting with '_' are cache
 * busters and ignored. A query string carries only text, so "ts" and
 * "results" made of digits become numbers (too many digits for a double:
 * the text, which the schema then rejects); everything else stays text.
 * Returns 0, or -1 when key or value is not valid UTF-8 (event unchanged).
 * value NULL ("?key") is the empty string. */
int pixel_add_param(json_t *event, const char *key, const char *value);

/* Appends "key=value" (with '&' before it when f is not empty) to f, every
 * byte but the unreserved ones percent-encoded: the query as it was sent,
 * whatever its bytes, for the dead-letter record of a rejected pixel. */
void pixel_encode_param(FILE *f, const char *key, const char *value);

#endif
