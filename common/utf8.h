/* SPDX-License-Identifier: Apache-2.0 */
/* utf8: client bytes made safe to quote. Every message that quotes what a
 * client sent (an error naming a field, a site, a query parameter) goes
 * through here, so it is valid UTF-8 whatever the input: a JSON builder
 * given it never fails, and a cut never splits a character. */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 character at s[0..len), or 0 when the
 * bytes there are not one (overlong forms, surrogates, past U+10FFFF and
 * truncated sequences are all invalid). */
size_t utf8_char_len(const char *s, size_t len);

/* 1 when s[0..len) is valid UTF-8 throughout. */
int utf8_valid(const char *s, size_t len);

/* Writes s[0..len) into out (always NUL-terminated, at most outsize bytes):
 * valid characters as they are, every invalid byte as the four characters
 * \xNN, and when it does not all fit, as many whole characters as fit
 * followed by "..." (outsize >= 4). Returns the bytes written. */
size_t utf8_quote(char *out, size_t outsize, const char *s, size_t len);

#endif
