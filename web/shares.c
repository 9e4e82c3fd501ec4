/* SPDX-License-Identifier: Apache-2.0 */
#include "shares.h"

#include "event.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct share {
    char token[SHARE_TOKEN_LEN + 1];
    char site[129];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *file;
static struct share *shares;
static size_t share_cnt;
static struct timespec loaded_mtime;
static time_t checked_at;

/* A site name as events have them (schema/event.h), at most 128 bytes. */
static int site_name_ok(const char *site) {
    return strlen(site) <= 128 && schema_site_chars_ok(site);
}

void shares_init(const char *path) { file = *path ? path : NULL; }

/* Reads the file again when it changed (lock held). A missing file is no
 * shares; a malformed line is skipped. */
static void shares_reload(void) {
    struct stat st;
    FILE *f;
    char line[512];
    time_t now = time(NULL);
    if (now == checked_at)
        return;
    checked_at = now;
    if (stat(file, &st)) {
        share_cnt = 0;
        memset(&loaded_mtime, 0, sizeof(loaded_mtime));
        return;
    }
    if (st.st_mtim.tv_sec == loaded_mtime.tv_sec && st.st_mtim.tv_nsec == loaded_mtime.tv_nsec)
        return;
    if (!(f = fopen(file, "r")))
        return;
    loaded_mtime = st.st_mtim;
    share_cnt = 0;
    while (fgets(line, sizeof(line), f)) {
        struct share s;
        char rest;
        if (line[0] == '#' ||
            sscanf(line, "%32s %128s %c", s.token, s.site, &rest) != 2 ||
            strlen(s.token) != SHARE_TOKEN_LEN || !site_name_ok(s.site))
            continue;
        if (!(shares = realloc(shares, (share_cnt + 1) * sizeof(*shares))))
            abort();
        shares[share_cnt++] = s;
    }
    fclose(f);
}

static int same_token(const char *a, const char *b) {
    unsigned diff = 0;
    for (size_t i = 0; i < SHARE_TOKEN_LEN; i++) /* no early exit */
        diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

int shares_site(const char *token, char *site, size_t size) {
    int found = -1;
    if (!file || !token || strlen(token) != SHARE_TOKEN_LEN)
        return -1;
    pthread_mutex_lock(&lock);
    shares_reload();
    for (size_t i = 0; i < share_cnt; i++)
        if (same_token(shares[i].token, token)) {
            snprintf(site, size, "%s", shares[i].site);
            found = 0;
        }
    pthread_mutex_unlock(&lock);
    return found;
}

int shares_create(const char *path, const char *site, char *token_out, char *errbuf,
                  size_t errsize) {
    unsigned char raw[SHARE_TOKEN_LEN / 2];
    char line[256];
    int fd, n;
    if (!site_name_ok(site)) {
        snprintf(errbuf, errsize, "--new-share: a site name: 1-128 of A-Z a-z 0-9 . _ : -");
        return -1;
    }
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        snprintf(errbuf, errsize, "getrandom: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(token_out + 2 * i, 3, "%02x", raw[i]);
    n = snprintf(line, sizeof(line), "%s %s\n", token_out, site);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0 ||
        write(fd, line, (size_t)n) != n || fsync(fd)) {
        snprintf(errbuf, errsize, "--share-file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}
