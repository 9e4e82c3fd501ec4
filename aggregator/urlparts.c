/* SPDX-License-Identifier: Apache-2.0 */
#include "urlparts.h"

#include "utf8.h"

#include <string.h>
#include <strings.h>

const char *urlparts_path(struct arena *a, const char *url) {
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p ? arena_strndup(a, p, strcspn(p, "?#")) : arena_strndup(a, "/", 1);
}

/* The host of scheme://[user@]host[:port]/..., without "www.": its start
 * and length, or NULL. */
static const char *url_host(const char *url, size_t *len) {
    const char *p = strstr(url, "://"), *at;
    size_t n;
    if (!p || p == url)
        return NULL;
    p += 3;
    n = strcspn(p, "/?#");
    if ((at = memchr(p, '@', n))) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (*p == '[') { /* an IPv6 literal keeps its colons */
        const char *close = memchr(p, ']', n);
        n = close ? (size_t)(close + 1 - p) : n;
    } else {
        n = strcspn(p, ":/?#") < n ? strcspn(p, ":/?#") : n;
    }
    if (n > 4 && !strncasecmp(p, "www.", 4))
        p += 4, n -= 4;
    *len = n;
    return n ? p : NULL;
}

const char *urlparts_source(struct arena *a, const char *referrer, const char *page_url) {
    size_t n, own_n;
    const char *h = referrer ? url_host(referrer, &n) : NULL;
    const char *own = page_url ? url_host(page_url, &own_n) : NULL;
    char *out;
    if (!h || (own && own_n == n && !strncasecmp(h, own, n)))
        return "";
    out = arena_strndup(a, h, n);
    for (char *c = out; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    return out;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

const char *urlparts_param(struct arena *a, const char *url, const char *name) {
    const char *q = strchr(url, '?');
    size_t name_len = strlen(name);
    char buf[URLPARTS_MAX + 1];
    while (q && *q != '#') {
        const char *v = q + 1, *end;
        size_t n = 0;
        end = v + strcspn(v, "&#");
        if ((size_t)(end - v) > name_len && !strncmp(v, name, name_len) && v[name_len] == '=') {
            for (v += name_len + 1; v < end && n < URLPARTS_MAX; v++) {
                if (*v == '%' && end - v >= 3 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
                    buf[n++] = (char)(hexval(v[1]) << 4 | hexval(v[2]));
                    v += 2;
                } else {
                    buf[n++] = *v == '+' ? ' ' : *v;
                }
            }
            /* a value cut at the limit ends on a character boundary;
             * otherwise what is not text is refused */
            for (int k = 0; v < end && k < 3 && n && !utf8_valid(buf, n); k++)
                n--;
            if (!n || !utf8_valid(buf, n))
                return "";
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
                    return "";
            return arena_strndup(a, buf, n);
        }
        q = *end == '&' ? end : NULL;
    }
    return "";
}
