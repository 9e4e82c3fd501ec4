/* SPDX-License-Identifier: Apache-2.0 */
/* csv: one RFC 4180 field (quoted when it holds a comma, quote or line
 * break; quotes doubled), for the export's CSV files and the query API's
 * CSV answers. */
#ifndef COMMON_CSV_H
#define COMMON_CSV_H

#include <stdio.h>

/* spreadsheet_safe: a field that a spreadsheet would run as a formula
 * (starting with = + - @, tab or CR) gets a leading ' (OWASP's advice for
 * CSV meant to be opened in one). The export keeps its data as it is. */
void csv_field(FILE *f, const char *s, int spreadsheet_safe);

#endif
