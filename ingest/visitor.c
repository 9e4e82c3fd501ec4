/* SPDX-License-Identifier: Apache-2.0 */
#include "visitor.h"

#include "log.h"
#include "siphash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SALT_LEN 16

struct visitor_salts {
    pthread_mutex_t lock;
    char *dir;               /* NULL: memory only */
    int64_t day;             /* UTC days since 1970 of salt; INT64_MIN: none yet */
    uint8_t salt[SALT_LEN];
};

static void random_salt(uint8_t salt[SALT_LEN]) {
    if (getrandom(salt, SALT_LEN, 0) != SALT_LEN)
        abort(); /* the kernel's generator does not fail once seeded */
}

static void salt_path(const struct visitor_salts *v, int64_t day, char *out, size_t size) {
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, size, "%s/salt-%04d-%02d-%02d", v->dir, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
}

/* Reads the day's salt file; 0, or -1 with errno (ENOENT: none yet). */
static int read_salt(const char *path, uint8_t salt[SALT_LEN]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
    if (fd < 0)
        return -1;
    if (read(fd, salt, SALT_LEN) == SALT_LEN)
        rc = 0;
    else
        errno = EIO; /* cut short: another writer's file is whole once linked */
    close(fd);
    return rc;
}

/* Writes a new salt under a temporary name, then links it to path: of
 * processes racing for a new day, one link wins and all read its salt. */
static int write_salt(const struct visitor_salts *v, const char *path) {
    char tmp[PATH_MAX];
    uint8_t salt[SALT_LEN];
    int fd, rc = -1;
    snprintf(tmp, sizeof(tmp), "%s/.salt-XXXXXX", v->dir);
    if ((fd = mkstemp(tmp)) < 0)
        return -1;
    random_salt(salt);
    if (write(fd, salt, SALT_LEN) == SALT_LEN && fsync(fd) == 0 &&
        (link(tmp, path) == 0 || errno == EEXIST))
        rc = 0;
    explicit_bzero(salt, sizeof(salt));
    close(fd);
    unlink(tmp);
    return rc;
}

/* Deletes every other day's salt: a past salt must not outlive its day. */
static void forget_other_days(const struct visitor_salts *v, const char *keep) {
    DIR *d = opendir(v->dir);
    struct dirent *e;
    char path[PATH_MAX];
    if (!d)
        return;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "salt-", 5)) {
            snprintf(path, sizeof(path), "%s/%s", v->dir, e->d_name);
            if (strcmp(path, keep) && unlink(path) && errno != ENOENT)
                log_warn("--visitor-salt-dir: cannot delete %s: %s", path, strerror(errno));
        }
    closedir(d);
}

/* Makes day's salt the current one (under the lock). */
static void use_day(struct visitor_salts *v, int64_t day) {
    char path[PATH_MAX];
    v->day = day;
    if (!v->dir) {
        random_salt(v->salt);
        return;
    }
    salt_path(v, day, path, sizeof(path));
    if (read_salt(path, v->salt) && (errno != ENOENT || write_salt(v, path) ||
                                     read_salt(path, v->salt))) {
        log_error("--visitor-salt-dir: %s: %s; today's ids come from a salt in memory, so "
                  "other ingest processes give the same visitors other ids",
                  path, strerror(errno));
        random_salt(v->salt);
        return;
    }
    forget_other_days(v, path);
}

struct visitor_salts *visitor_salts_new(const char *dir, char *errbuf, size_t errsize) {
    struct visitor_salts *v = calloc(1, sizeof(*v));
    char probe[PATH_MAX];
    if (!v)
        abort();
    pthread_mutex_init(&v->lock, NULL);
    v->day = INT64_MIN;
    if (dir && *dir) {
        v->dir = strdup(dir);
        if (mkdir(dir, 0700) && errno != EEXIST) {
            snprintf(errbuf, errsize, "%s: %s", dir, strerror(errno));
            visitor_salts_free(v);
            return NULL;
        }
        snprintf(probe, sizeof(probe), "%s/.salt-XXXXXX", dir);
        int fd = mkstemp(probe);
        if (fd < 0) {
            snprintf(errbuf, errsize, "%s: cannot write there: %s", dir, strerror(errno));
            visitor_salts_free(v);
            return NULL;
        }
        close(fd);
        unlink(probe);
    }
    return v;
}

void visitor_salts_free(struct visitor_salts *v) {
    if (!v)
        return;
    explicit_bzero(v->salt, sizeof(v->salt));
    pthread_mutex_destroy(&v->lock);
    free(v->dir);
    free(v);
}

void visitor_id(struct visitor_salts *v, int64_t now_ms, const char *site, const char *ip,
                const char *ua, char out[VISITOR_ID_LEN]) {
    static const char hex[] = "0123456789abcdef";
    int64_t day = now_ms / 86400000;
    struct siphash s;
    uint8_t tag[16];
    pthread_mutex_lock(&v->lock);
    if (v->day != day)
        use_day(v, day);
    siphash_init(&s, v->salt);
    pthread_mutex_unlock(&v->lock);
    /* NUL-separated: ("ab", "c") and ("a", "bc") must not collide */
    siphash_update(&s, site, strlen(site) + 1);
    siphash_update(&s, ip ? ip : "", strlen(ip ? ip : "") + 1);
    siphash_update(&s, ua ? ua : "", strlen(ua ? ua : ""));
    siphash_final(&s, tag);
    out[0] = 'd', out[1] = '-';
    for (int i = 0; i < 16; i++) {
        out[2 + 2 * i] = hex[tag[i] >> 4];
        out[3 + 2 * i] = hex[tag[i] & 15];
    }
    out[VISITOR_ID_LEN - 1] = '\0';
}
