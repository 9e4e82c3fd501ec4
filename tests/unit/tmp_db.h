/* The SQLite file of one unit test: a fresh path before each test (setup),
 * removed with its WAL and shared-memory files after (teardown). Included
 * by the tests that open a real database. */
#ifndef TESTS_UNIT_TMP_DB_H
#define TESTS_UNIT_TMP_DB_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[64];

static int setup(void **state) {
    int fd;
    (void)state;
    snprintf(path, sizeof(path), "/tmp/activity_test_db_XXXXXX");
    fd = mkstemp(path);
    close(fd);
    unlink(path);
    return 0;
}

static int teardown(void **state) {
    char p[80];
    (void)state;
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
    return 0;
}

#endif
