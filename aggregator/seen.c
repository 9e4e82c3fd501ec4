/* SPDX-License-Identifier: Apache-2.0 */
#include "seen.h"

#include "mix64.h"

#include <stdlib.h>
#include <string.h>

/* Open addressing with linear probing; ms 0 marks an empty slot, so times
 * are kept at 1 or later. */
struct slot {
    uint64_t hi, lo;
    int64_t ms;
};

struct seen {
    struct slot *slots;
    size_t mask, used;
    int64_t window_ms, newest_ms;
};

enum { MIN_SLOTS = 1024 };

static size_t slot_index(uint64_t hi, uint64_t lo, size_t mask) {
    /* Version 4 UUIDs are random, but nothing makes clients send those
     * (nor our own tests: counting ones), so every bit of both halves
     * must reach the low bits the mask keeps. */
    return (size_t)mix64(hi ^ mix64(lo)) & mask;
}

static struct slot *probe(struct slot *slots, size_t mask, uint64_t hi, uint64_t lo) {
    size_t i = slot_index(hi, lo, mask);
    while (slots[i].ms && (slots[i].hi != hi || slots[i].lo != lo))
        i = (i + 1) & mask;
    return &slots[i];
}

static int expired(const struct seen *s, int64_t ms) {
    return ms < s->newest_ms - s->window_ms;
}

/* Keeps the live ids in a table at most half full. */
static void rebuild(struct seen *s) {
    size_t live = 0, size = MIN_SLOTS;
    struct slot *slots;
    for (size_t i = 0; i <= s->mask; i++)
        live += s->slots[i].ms && !expired(s, s->slots[i].ms);
    while (size < 2 * (live + 1))
        size *= 2;
    if (!(slots = calloc(size, sizeof(*slots))))
        abort();
    for (size_t i = 0; i <= s->mask; i++)
        if (s->slots[i].ms && !expired(s, s->slots[i].ms))
            *probe(slots, size - 1, s->slots[i].hi, s->slots[i].lo) = s->slots[i];
    free(s->slots);
    s->slots = slots;
    s->mask = size - 1;
    s->used = live;
}

struct seen *seen_new(int64_t window_ms) {
    struct seen *s = calloc(1, sizeof(*s));
    if (!s || !(s->slots = calloc(MIN_SLOTS, sizeof(*s->slots))))
        abort();
    s->mask = MIN_SLOTS - 1;
    s->window_ms = window_ms;
    s->newest_ms = INT64_MIN / 2; /* newest - window must not overflow */
    return s;
}

void seen_free(struct seen *s) {
    if (!s)
        return;
    free(s->slots);
    free(s);
}

int seen_add(struct seen *s, const uint8_t id[16], int64_t ms) {
    uint64_t hi, lo;
    struct slot *slot;
    memcpy(&hi, id, 8);
    memcpy(&lo, id + 8, 8);
    if (ms < 1)
        ms = 1;
    if (ms > s->newest_ms)
        s->newest_ms = ms;
    slot = probe(s->slots, s->mask, hi, lo);
    if (slot->ms && !expired(s, slot->ms))
        return 1;
    if (!slot->ms) {
        if (4 * (s->used + 1) > 3 * (s->mask + 1)) {
            rebuild(s);
            slot = probe(s->slots, s->mask, hi, lo);
        }
        s->used++;
    }
    *slot = (struct slot){hi, lo, ms};
    return 0;
}

int64_t seen_newest(const struct seen *s) {
    return s->newest_ms;
}

size_t seen_count(const struct seen *s) {
    return s->used;
}
