/* SPDX-License-Identifier: Apache-2.0 */
/* fsutil: the durable-file steps the exporter's exactly-once argument rests
 * on. A rename is only durable once the directory holding it is fsynced,
 * and a new directory only once its parent is. */
#ifndef COMMON_FSUTIL_H
#define COMMON_FSUTIL_H

#include <stddef.h>

/* mkdir -p, fsyncing each parent a directory was created in. 0 or -1 (errno). */
int fs_mkdirs(const char *path);

/* fsync of a directory. 0 or -1 (errno). */
int fs_fsync_dir(const char *path);

/* fsync of the directory holding path. */
int fs_fsync_parent(const char *path);

/* Writes path as a whole or not at all: a temporary beside it, fsync,
 * rename, fsync of the directory. 0 or -1 (errno). */
int fs_write_atomic(const char *path, const void *data, size_t len);

/* Reads a whole file into a NUL-terminated buffer (caller frees). NULL with
 * errno set when it cannot. */
char *fs_read_all(const char *path, size_t *len);

#endif
