/* SPDX-License-Identifier: Apache-2.0 */
/* export_csv: a canonical event as one CSV row (RFC 4180: comma separated,
 * CRLF line ends, fields quoted when they hold a comma, quote or line
 * break, quotes doubled). One column per canonical field in the canonical
 * order; absent fields and nulls are empty; props (an object) is its
 * compact JSON text; booleans are true/false. */
#ifndef AGGREGATOR_EXPORT_CSV_H
#define AGGREGATOR_EXPORT_CSV_H

#include <stddef.h>

/* The header row, CRLF included. */
const char *export_csv_header(void);

/* Converts one canonical event. 0 and a malloc'd row (CRLF included), or
 * -1 when the text is not a JSON object. */
int export_csv_row(const char *json, size_t len, char **row, size_t *rowlen);

#endif
