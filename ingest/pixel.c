/* SPDX-License-Identifier: Apache-2.0 */
#include "pixel.h"

#include "utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int pixel_add_param(json_t *event, const char *key, const char *value) {
    json_t *v = NULL;
    if (key[0] == '_')
        return 0;
    value = value ? value : "";
    if ((!strcmp(key, "ts") || !strcmp(key, "results")) && *value &&
        strspn(value, "0123456789") == strlen(value)) {
        double d = strtod(value, NULL);
        if (isfinite(d))
            v = json_real(d);
    }
    if (!v)
        v = json_string(value);
    if (!v || !utf8_valid(key, strlen(key))) {
        json_decref(v);
        return -1;
    }
    json_object_set_new(event, key, v);
    return 0;
}

void pixel_encode_param(FILE *f, const char *key, const char *value) {
    static const char hex[] = "0123456789ABCDEF";
    if (ftell(f) > 0)
        fputc('&', f);
    for (int part = 0; part < 2; part++) {
        const char *p = part ? value : key;
        if (part && !value)
            break;
        if (part)
            fputc('=', f);
        for (; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~')
                fputc(c, f);
            else
                fprintf(f, "%%%c%c", hex[c >> 4], hex[c & 15]);
        }
    }
}
