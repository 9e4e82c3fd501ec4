/* SPDX-License-Identifier: Apache-2.0 */
/* arena: bytes that are freed together (a rollup's keys, a batch's
 * strings), carved out of 64 KiB chunks: one allocation per chunk instead
 * of one per string. A reset keeps the chunks for reuse, so a worker that
 * has reached its batch size allocates nothing more per batch. Bytes only:
 * nothing is aligned. */
#ifndef AGGREGATOR_ARENA_H
#define AGGREGATOR_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *used;  /* the newest first */
    struct arena_chunk *spare; /* kept by arena_reset */
};

/* Copies len bytes and a NUL after them. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif
