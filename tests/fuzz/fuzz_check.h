/* SPDX-License-Identifier: Apache-2.0 */
/* What every fuzz target checks beyond "no crash, no sanitizer report":
 * a message that may quote input is valid UTF-8, so a JSON builder given
 * it cannot fail (the bug class behind issue 14's crashes). */
#ifndef TESTS_FUZZ_CHECK_H
#define TESTS_FUZZ_CHECK_H

#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void fuzz_check_text(const char *what, const char *s) {
    json_t *j;
    if (!utf8_valid(s, strlen(s)) || !(j = json_string(s))) {
        fprintf(stderr, "%s is not valid UTF-8: %s\n", what, s);
        abort();
    }
    json_decref(j);
}

#endif
