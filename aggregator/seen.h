/* SPDX-License-Identifier: Apache-2.0 */
/* seen: the event_ids one partition has counted within the dedup window,
 * in memory, so that dedup costs a hash probe per event instead of a SQLite
 * index insert (store.c keeps the durable copy, a row per flush).
 *
 * Time is the partition's own: the newest received_at it has seen, so a
 * backlog read hours later dedups exactly as it would have live. An id is
 * remembered while its time is within the window of that newest time; the
 * expired ones are dropped whenever the table would grow. */
#ifndef AGGREGATOR_SEEN_H
#define AGGREGATOR_SEEN_H

#include <stdint.h>
#include <stddef.h>

struct seen;

struct seen *seen_new(int64_t window_ms);
void seen_free(struct seen *s);

/* 1 when id (16 bytes) is there and within the window; otherwise adds it
 * (or renews an expired one) at ms and returns 0. */
int seen_add(struct seen *s, const uint8_t id[16], int64_t ms);
/* The newest ms given so far; ids older than it minus the window are gone. */
int64_t seen_newest(const struct seen *s);
/* Ids held, expired ones not yet dropped included. */
size_t seen_count(const struct seen *s);

#endif
