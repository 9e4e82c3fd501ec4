/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ingest/visitor (the daily visitor id) and common/siphash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "siphash.h"
#include "visitor.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY 86400000LL
#define NOON (20424 * DAY + DAY / 2) /* 2025-12-02T12:00:00Z */
#define UA "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"

static void test_siphash_reference_vectors(void **state) {
    /* vectors_sip128 of the reference implementation: key 00..0f, input
     * 00..(n-1); fed whole and in pieces */
    static const char *want[] = {"a3817f04ba25a8e66df67214c7550293",
                                 "da87c1d86b99af44347659119b22fc45",
                                 "8177228da4a45dc7fca38bdef60affe4",
                                 "9c70b60c5267a94e5f33b6b02985ed51",
                                 "f88164c12d9c8faf7d0f6e7c7bcd5579",
                                 "1368875980776f8854527a07690e9627"};
    uint8_t key[16], in[16], tag[16];
    char hex[33];
    (void)state;
    for (int i = 0; i < 16; i++)
        key[i] = in[i] = (uint8_t)i;
    for (size_t n = 0; n < 6; n++)
        for (size_t cut = 0; cut <= n; cut++) {
            struct siphash s;
            siphash_init(&s, key);
            siphash_update(&s, in, cut);
            siphash_update(&s, in + cut, n - cut);
            siphash_final(&s, tag);
            for (int i = 0; i < 16; i++)
                snprintf(hex + 2 * i, 3, "%02x", tag[i]);
            assert_string_equal(hex, want[n]);
        }
}

static void test_one_id_per_visitor_and_day(void **state) {
    char a[VISITOR_ID_LEN], b[VISITOR_ID_LEN], err[256];
    struct visitor_salts *v = visitor_salts_new(NULL, err, sizeof(err));
    (void)state;
    visitor_id(v, NOON, "shop.test", "203.0.113.7", UA, a);
    assert_int_equal(strlen(a), VISITOR_ID_LEN - 1);
    assert_memory_equal(a, "d-", 2);
    assert_int_equal(strspn(a + 2, "0123456789abcdef"), 32);
    visitor_id(v, NOON + 3 * 3600 * 1000, "shop.test", "203.0.113.7", UA, b); /* same day */
    assert_string_equal(a, b);
    visitor_id(v, NOON, "blog.test", "203.0.113.7", UA, b);
    assert_string_not_equal(a, b);
    visitor_id(v, NOON, "shop.test", "203.0.113.8", UA, b);
    assert_string_not_equal(a, b);
    visitor_id(v, NOON, "shop.test", "203.0.113.7", UA " Edg/131.0", b);
    assert_string_not_equal(a, b);
    visitor_id(v, NOON, "shop.tes", "t203.0.113.7", UA, b); /* the separators count */
    assert_string_not_equal(a, b);
    visitor_id(v, NOON, "shop.test", NULL, NULL, b); /* no address, no user agent */
    assert_string_not_equal(a, b);
    /* the next day: another salt, so another id, and no way back */
    visitor_id(v, NOON + DAY, "shop.test", "203.0.113.7", UA, b);
    assert_string_not_equal(a, b);
    visitor_id(v, NOON, "shop.test", "203.0.113.7", UA, b);
    assert_string_not_equal(a, b);
    visitor_salts_free(v);
}

static void test_salts_are_random_per_process(void **state) {
    char a[VISITOR_ID_LEN], b[VISITOR_ID_LEN], err[256];
    struct visitor_salts *v1 = visitor_salts_new("", err, sizeof(err));
    struct visitor_salts *v2 = visitor_salts_new("", err, sizeof(err));
    (void)state;
    visitor_id(v1, NOON, "shop.test", "203.0.113.7", UA, a);
    visitor_id(v2, NOON, "shop.test", "203.0.113.7", UA, b);
    assert_string_not_equal(a, b);
    visitor_salts_free(v1);
    visitor_salts_free(v2);
}

static int salt_files(const char *dir, char *name, size_t size) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "salt-", 5)) {
            snprintf(name, size, "%s", e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static void test_shared_directory_gives_processes_one_salt(void **state) {
    char dir[] = "/tmp/activity_salts_XXXXXX", a[VISITOR_ID_LEN], b[VISITOR_ID_LEN];
    char err[256], name[256], path[320];
    struct visitor_salts *v1, *v2;
    struct stat st;
    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_non_null(v1 = visitor_salts_new(dir, err, sizeof(err)));
    assert_non_null(v2 = visitor_salts_new(dir, err, sizeof(err)));
    visitor_id(v1, NOON, "shop.test", "203.0.113.7", UA, a);
    visitor_id(v2, NOON, "shop.test", "203.0.113.7", UA, b);
    assert_string_equal(a, b); /* two instances (or a restart) agree all day */
    assert_int_equal(salt_files(dir, name, sizeof(name)), 1);
    assert_string_equal(name, "salt-2025-12-02");
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 16);
    /* the next day: a new salt, and the old one deleted */
    visitor_id(v1, NOON + DAY, "shop.test", "203.0.113.7", UA, b);
    assert_string_not_equal(a, b);
    assert_int_equal(salt_files(dir, name, sizeof(name)), 1);
    assert_string_equal(name, "salt-2025-12-03");
    visitor_id(v2, NOON + DAY, "shop.test", "203.0.113.7", UA, a);
    assert_string_equal(a, b);
    visitor_salts_free(v1);
    visitor_salts_free(v2);
    unlink(path); /* name is the 12-03 file now */
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

static void test_unwritable_directory_is_refused(void **state) {
    char err[256];
    (void)state;
    assert_null(visitor_salts_new("/proc/no-such-dir/salts", err, sizeof(err)));
    assert_non_null(strstr(err, "/proc/no-such-dir/salts"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_reference_vectors),
        cmocka_unit_test(test_one_id_per_visitor_and_day),
        cmocka_unit_test(test_salts_are_random_per_process),
        cmocka_unit_test(test_shared_directory_gives_processes_one_salt),
        cmocka_unit_test(test_unwritable_directory_is_refused),
    };
    return cmocka_run_group_tests_name("visitor", tests, NULL, NULL);
}
