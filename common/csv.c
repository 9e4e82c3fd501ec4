/* SPDX-License-Identifier: Apache-2.0 */
#include "csv.h"

#include <string.h>

void csv_field(FILE *f, const char *s, int spreadsheet_safe) {
    int formula = spreadsheet_safe && *s && strchr("=+-@\t\r", *s);
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
