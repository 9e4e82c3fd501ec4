/* SPDX-License-Identifier: Apache-2.0 */
#include "export_csv.h"

#include "csv.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const columns[] = {
    "type",  "event_id",    "site",       "anonymous_id", "user_id", "session_id", "url",
    "referrer", "title",    "ts",         "client_ts",    "received_at", "target", "href",
    "text",  "query",       "results",    "props",        "user_agent",  "ip",     "bot"};
#define COLUMN_CNT (sizeof(columns) / sizeof(columns[0]))

const char *export_csv_header(void) {
    static char header[512];
    if (!header[0]) {
        size_t n = 0;
        for (size_t i = 0; i < COLUMN_CNT; i++)
            n += (size_t)snprintf(header + n, sizeof(header) - n, "%s%s", i ? "," : "",
                                  columns[i]);
        snprintf(header + n, sizeof(header) - n, "\r\n");
    }
    return header;
}

int export_csv_row(const char *json, size_t len, char **row, size_t *rowlen) {
    json_t *root = json_loadb(json, len, 0, NULL);
    FILE *f;
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    *row = NULL;
    f = open_memstream(row, rowlen);
    for (size_t i = 0; i < COLUMN_CNT; i++) {
        json_t *v = json_object_get(root, columns[i]);
        if (i)
            fputc(',', f);
        if (json_is_string(v)) {
            csv_field(f, json_string_value(v), 0);
        } else if (json_is_integer(v)) {
            fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        } else if (json_is_boolean(v)) {
            fputs(json_is_true(v) ? "true" : "false", f);
        } else if (v && !json_is_null(v)) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
            csv_field(f, text ? text : "", 0);
            free(text);
        }
    }
    fputs("\r\n", f);
    fclose(f);
    json_decref(root);
    return 0;
}
