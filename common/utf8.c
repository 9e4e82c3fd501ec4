/* SPDX-License-Identifier: Apache-2.0 */
#include "utf8.h"

#include <string.h>

size_t utf8_char_len(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t n;
    unsigned cp;
    if (len == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0; /* continuation byte, overlong lead C0/C1, or F5-FF */
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

int utf8_valid(const char *s, size_t len) {
    for (size_t i = 0, n; i < len; i += n)
        if (!(n = utf8_char_len(s + i, len - i)))
            return 0;
    return 1;
}

size_t utf8_quote(char *out, size_t outsize, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    static const char more[] = "...";
    size_t o = 0, i = 0;
    if (outsize == 0)
        return 0;
    while (i < len) {
        size_t n = utf8_char_len(s + i, len - i);
        char esc[4];
        const char *piece = s + i;
        size_t plen = n;
        if (!n) {
            esc[0] = '\\', esc[1] = 'x';
            esc[2] = hex[(unsigned char)s[i] >> 4];
            esc[3] = hex[(unsigned char)s[i] & 15];
            piece = esc, plen = 4, n = 1;
        }
        /* keep room for the "..." unless this piece is the last one */
        if (o + plen + (i + n < len ? sizeof(more) - 1 : 0) + 1 > outsize) {
            if (o + sizeof(more) > outsize) /* outsize < 4: nothing fits */
                o = 0;
            else
                memcpy(out + o, more, sizeof(more) - 1), o += sizeof(more) - 1;
            break;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        i += n;
    }
    out[o] = '\0';
    return o;
}
