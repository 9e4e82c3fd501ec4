/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ingest/enrich: IP privacy modes, bot flag, header hygiene. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "enrich.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static void test_ipv4_modes(void **state) {
    (void)state;
    char out[64];
    assert_int_equal(enrich_ip_text("203.0.113.77", ENRICH_IP_TRUNCATE, out, sizeof(out)), 0);
    assert_string_equal(out, "203.0.113.0");
    assert_int_equal(enrich_ip_text("203.0.113.77", ENRICH_IP_KEEP, out, sizeof(out)), 0);
    assert_string_equal(out, "203.0.113.77");
    assert_int_equal(enrich_ip_text("203.0.113.77", ENRICH_IP_DROP, out, sizeof(out)), 1);
}

static void test_ipv6_truncated_to_48(void **state) {
    (void)state;
    char out[64];
    assert_int_equal(enrich_ip_text("2001:db8:1234:5678::9", ENRICH_IP_TRUNCATE, out, sizeof(out)), 0);
    assert_string_equal(out, "2001:db8:1234::");
    /* a v4-mapped address is treated as the IPv4 it is */
    assert_int_equal(enrich_ip_text("::ffff:198.51.100.9", ENRICH_IP_TRUNCATE, out, sizeof(out)), 0);
    assert_string_equal(out, "198.51.100.0");
}

static void test_sockaddr(void **state) {
    (void)state;
    char out[64];
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(enrich_ip_sockaddr((struct sockaddr *)&sin, ENRICH_IP_TRUNCATE, out, sizeof(out)), 0);
    assert_string_equal(out, "127.0.0.0");
    assert_int_equal(enrich_ip_sockaddr(NULL, ENRICH_IP_KEEP, out, sizeof(out)), 1);
}

static void test_garbage_ip_is_dropped(void **state) {
    (void)state;
    char out[64];
    assert_int_equal(enrich_ip_text("not-an-ip", ENRICH_IP_KEEP, out, sizeof(out)), 1);
    assert_int_equal(enrich_ip_text("", ENRICH_IP_KEEP, out, sizeof(out)), 1);
}

static void test_bot_flag(void **state) {
    (void)state;
    assert_true(enrich_is_bot("Mozilla/5.0 (compatible; Googlebot/2.1)"));
    assert_true(enrich_is_bot("curl/7.88.1"));
    assert_true(enrich_is_bot(NULL));
    assert_true(enrich_is_bot(""));
    assert_false(enrich_is_bot("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"));
}

static void test_sanitize(void **state) {
    (void)state;
    char out[8];
    enrich_sanitize("ab\ncd\xc3\xa9xyz", out, sizeof(out));
    assert_string_equal(out, "ab?cd??");
    enrich_sanitize(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_modes),          cmocka_unit_test(test_ipv6_truncated_to_48),
        cmocka_unit_test(test_sockaddr),            cmocka_unit_test(test_garbage_ip_is_dropped),
        cmocka_unit_test(test_bot_flag),            cmocka_unit_test(test_sanitize),
    };
    return cmocka_run_group_tests_name("enrich", tests, NULL, NULL);
}
