/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite file of one unit test: a fresh path before each test (setup),
 * removed with its WAL and shared-memory files after (teardown), and a
 * query of one number in it. Included, after cmocka.h, by the tests that
 * open a real database. */
#ifndef TESTS_UNIT_TMP_DB_H
#define TESTS_UNIT_TMP_DB_H

#include <sqlite3.h>
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

/* The first column of the first row of sql, read on its own connection. */
static long long query(const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    long long n = -1;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

#endif
