/* SPDX-License-Identifier: Apache-2.0 */
/* export_ledger: the exporter's offset store, one small JSON file per
 * partition in the OUT/_state directory, replaced atomically (fs_write_atomic) and
 * only ever touched under that partition's flock (the .lock file beside it).
 *
 * A commit is: data fsynced into the partition's temporary files under
 * OUT/_tmp/; then the ledger written with the new next offset, the byte
 * length of the still-open file, and the renames that publish finished
 * files; then those renames. The ledger write is the commit point. After a
 * crash the next owner truncates the open file to its committed length and
 * redoes the renames (both idempotent), so rows past the ledger's offset
 * vanish and rows before it are all published exactly once.
 *
 * The owner field fences a worker that lost its partition without knowing
 * (a "zombie"): a new owner writes its own id on assignment, and a commit
 * by anyone else is refused. */
#ifndef AGGREGATOR_EXPORT_LEDGER_H
#define AGGREGATOR_EXPORT_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_PATH 512 /* relative paths under OUT */

struct ledger_file {
    char tmp[LEDGER_PATH];   /* _tmp/<topic>-<partition>-<first>-<owner>.tmp */
    char dir[LEDGER_PATH];   /* type=T/dt=D/hour=H */
    int64_t first, last;     /* offset range the rows came from */
    long rows;
    uint64_t bytes;          /* committed length */
    int64_t opened_ms;
};

struct ledger_rename {
    char from[LEDGER_PATH], to[LEDGER_PATH];
};

struct ledger {
    int64_t next;            /* next offset to read; -1: nothing stored */
    char owner[96];
    int64_t max_received_ms; /* newest received_at committed, for closing days */
    int has_open;
    struct ledger_file open;
    struct ledger_rename *renames;
    int rename_cnt;
};

/* Takes the partition's lock (blocking). Returns the fd, or -1. */
int ledger_lock(const char *out, const char *topic, int32_t partition);
void ledger_unlock(int fd);

/* 0 read, 1 no ledger yet (l reset), -1 unreadable. */
int ledger_read(const char *out, const char *topic, int32_t partition, struct ledger *l);
int ledger_write(const char *out, const char *topic, int32_t partition, const struct ledger *l);
void ledger_free(struct ledger *l);

/* Appends a rename (the caller's struct keeps ownership of the strings). */
void ledger_add_rename(struct ledger *l, const char *from, const char *to);

/* Publishes the pending renames; one whose source is gone is done already.
 * 0, or -1 with errbuf naming the file. */
int ledger_roll_forward(const char *out, struct ledger *l, char *errbuf, size_t errsize);

/* The final path of a finished file: DIR/part-<partition>-<first>-<last><ext>. */
void ledger_final_path(char *buf, size_t size, const struct ledger_file *f, int32_t partition,
                       const char *ext);

#endif
