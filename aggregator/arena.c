/* SPDX-License-Identifier: Apache-2.0 */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

enum { CHUNK = 65536 };

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
};

static char *arena_take(struct arena *a, size_t len) {
    struct arena_chunk *c = a->used;
    if (!c || c->cap - c->used < len) {
        if (len <= CHUNK && a->spare) {
            c = a->spare;
            a->spare = c->next;
        } else {
            size_t cap = len > CHUNK ? len : CHUNK;
            if (!(c = malloc(sizeof(*c) + cap)))
                abort();
            c->cap = cap;
        }
        c->used = 0;
        c->next = a->used;
        a->used = c;
    }
    c->used += len;
    return c->data + c->used - len;
}

char *arena_strndup(struct arena *a, const char *s, size_t len) {
    char *p = arena_take(a, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void arena_reset(struct arena *a) {
    while (a->used) {
        struct arena_chunk *c = a->used;
        a->used = c->next;
        if (c->cap == CHUNK) {
            c->next = a->spare;
            a->spare = c;
        } else {
            free(c); /* an outsized one is not worth keeping */
        }
    }
}

void arena_free(struct arena *a) {
    arena_reset(a);
    while (a->spare) {
        struct arena_chunk *c = a->spare;
        a->spare = c->next;
        free(c);
    }
}
