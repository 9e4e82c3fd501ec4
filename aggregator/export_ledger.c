/* SPDX-License-Identifier: Apache-2.0 */
#include "export_ledger.h"

#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int ledger_path(char *buf, size_t size, const char *out, const char *topic,
                       int32_t partition, const char *ext) {
    return snprintf(buf, size, "%s/_state/%s-%d.%s", out, topic, (int)partition, ext) >=
                   (int)size
               ? -1
               : 0;
}

int ledger_lock(const char *out, const char *topic, int32_t partition) {
    char path[PATH_MAX];
    int fd;
    if (ledger_path(path, sizeof(path), out, topic, partition, "lock"))
        return -1;
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 && errno == ENOENT) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/_state", out);
        if (fs_mkdirs(dir) == 0)
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    }
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX)) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

void ledger_unlock(int fd) {
    if (fd >= 0)
        close(fd); /* releases the flock */
}

static void ledger_reset(struct ledger *l) {
    memset(l, 0, sizeof(*l));
    l->next = -1;
}

static int copy_str(char *dst, size_t size, json_t *v) {
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= size)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int ledger_read(const char *out, const char *topic, int32_t partition, struct ledger *l) {
    char path[PATH_MAX];
    json_t *root, *open, *renames;
    json_error_t jerr;
    int rc = 0;

    ledger_reset(l);
    if (ledger_path(path, sizeof(path), out, topic, partition, "ledger"))
        return -1;
    if (!(root = json_load_file(path, 0, &jerr)))
        return access(path, F_OK) && errno == ENOENT ? 1 : -1;
    l->next = json_integer_value(json_object_get(root, "next"));
    l->max_received_ms = json_integer_value(json_object_get(root, "max_received_at_ms"));
    if (!json_is_integer(json_object_get(root, "next")) ||
        copy_str(l->owner, sizeof(l->owner), json_object_get(root, "owner")))
        rc = -1;
    if ((open = json_object_get(root, "open")) && json_is_object(open)) {
        struct ledger_file *f = &l->open;
        l->has_open = 1;
        if (copy_str(f->tmp, sizeof(f->tmp), json_object_get(open, "tmp")) ||
            copy_str(f->dir, sizeof(f->dir), json_object_get(open, "dir")))
            rc = -1;
        f->first = json_integer_value(json_object_get(open, "first"));
        f->last = json_integer_value(json_object_get(open, "last"));
        f->rows = (long)json_integer_value(json_object_get(open, "rows"));
        f->bytes = (uint64_t)json_integer_value(json_object_get(open, "bytes"));
        f->opened_ms = json_integer_value(json_object_get(open, "opened_ms"));
    }
    renames = json_object_get(root, "renames");
    for (size_t i = 0; i < json_array_size(renames); i++) {
        json_t *r = json_array_get(renames, i);
        ledger_add_rename(l, "", "");
        if (copy_str(l->renames[l->rename_cnt - 1].from, LEDGER_PATH, json_object_get(r, "from")) ||
            copy_str(l->renames[l->rename_cnt - 1].to, LEDGER_PATH, json_object_get(r, "to")))
            rc = -1;
    }
    json_decref(root);
    if (rc)
        ledger_free(l);
    return rc;
}

int ledger_write(const char *out, const char *topic, int32_t partition, const struct ledger *l) {
    char path[PATH_MAX], *text;
    json_t *root, *renames = json_array();
    int rc;
    if (ledger_path(path, sizeof(path), out, topic, partition, "ledger")) {
        json_decref(renames);
        errno = ENAMETOOLONG;
        return -1;
    }
    for (int i = 0; i < l->rename_cnt; i++)
        json_array_append_new(renames, json_pack("{s:s,s:s}", "from", l->renames[i].from, "to",
                                                 l->renames[i].to));
    root = json_pack("{s:s,s:i,s:s,s:I,s:I,s:o}", "topic", topic, "partition", (int)partition,
                     "owner", l->owner, "next", (json_int_t)l->next, "max_received_at_ms",
                     (json_int_t)l->max_received_ms, "renames", renames);
    if (l->has_open) {
        const struct ledger_file *f = &l->open;
        json_object_set_new(root, "open",
                            json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "tmp", f->tmp, "dir",
                                      f->dir, "first", (json_int_t)f->first, "last",
                                      (json_int_t)f->last, "rows", (json_int_t)f->rows, "bytes",
                                      (json_int_t)f->bytes, "opened_ms",
                                      (json_int_t)f->opened_ms));
    }
    text = json_dumps(root, JSON_INDENT(1));
    json_decref(root);
    rc = fs_write_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

void ledger_free(struct ledger *l) {
    free(l->renames);
    l->renames = NULL;
    l->rename_cnt = 0;
}

void ledger_add_rename(struct ledger *l, const char *from, const char *to) {
    struct ledger_rename *grown = realloc(l->renames, (size_t)(l->rename_cnt + 1) * sizeof(*grown));
    if (!grown)
        abort();
    l->renames = grown;
    snprintf(grown[l->rename_cnt].from, LEDGER_PATH, "%s", from);
    snprintf(grown[l->rename_cnt].to, LEDGER_PATH, "%s", to);
    l->rename_cnt++;
}

/* Rows published into a day already closed: its manifest no longer lists
 * every file, so the day is opened again (and closed again when ready). */
static void reopen_day(const char *hour_dir) {
    char success[PATH_MAX];
    const char *slash = strrchr(hour_dir, '/');
    snprintf(success, sizeof(success), "%.*s/_SUCCESS", (int)(slash - hour_dir), hour_dir);
    if (unlink(success) == 0)
        log_warn("late rows for a closed day: removed %s; the day will be closed again",
                 success);
}

int ledger_roll_forward(const char *out, struct ledger *l, char *errbuf, size_t errsize) {
    for (int i = 0; i < l->rename_cnt; i++) {
        char from[PATH_MAX], to[PATH_MAX], dir[PATH_MAX];
        const char *slash;
        snprintf(from, sizeof(from), "%s/%s", out, l->renames[i].from);
        snprintf(to, sizeof(to), "%s/%s", out, l->renames[i].to);
        if (access(from, F_OK) && errno == ENOENT)
            continue; /* published by an earlier attempt */
        slash = strrchr(to, '/');
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - to), to);
        if (fs_mkdirs(dir) || rename(from, to) || fs_fsync_dir(dir) || fs_fsync_parent(from)) {
            snprintf(errbuf, errsize, "cannot publish %s: %s", to, strerror(errno));
            return -1;
        }
        reopen_day(dir);
    }
    ledger_free(l);
    return 0;
}

void ledger_final_path(char *buf, size_t size, const struct ledger_file *f, int32_t partition,
                       const char *ext) {
    snprintf(buf, size, "%s/part-%d-%" PRId64 "-%" PRId64 "%s", f->dir, (int)partition, f->first,
             f->last, ext);
}
