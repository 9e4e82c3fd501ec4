/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ingest/enrich: IP privacy modes, bot flag, header hygiene. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "enrich.h"
#include "useragent.h"

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

static void assert_agent(const char *ua, int bot, const char *device, const char *browser,
                         const char *os) {
    struct useragent a;
    useragent_classify(ua, &a);
    if (a.bot != bot || strcmp(a.device, device) || strcmp(a.browser, browser) ||
        strcmp(a.os, os))
        fail_msg("%s\n  got bot=%d %s/%s/%s, want bot=%d %s/%s/%s", ua ? ua : "(none)", a.bot,
                 a.device, a.browser, a.os, bot, device, browser, os);
}

static void test_bot_flag(void **state) {
    (void)state;
    assert_agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 1,
                 "desktop", "Other", "Other");
    assert_agent("curl/7.88.1", 1, "desktop", "Other", "Other");
    assert_agent(NULL, 1, "desktop", "Other", "Other");
    assert_agent("", 1, "desktop", "Other", "Other");
    assert_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "HeadlessChrome/131.0.0.0 Safari/537.36", 1, "desktop", "Chrome", "Linux");
    assert_agent("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
                 "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 "
                 "Chrome-Lighthouse", 1, "mobile", "Chrome", "Android");
    assert_agent("python-requests/2.32.3", 1, "desktop", "Other", "Other");
}

/* Current browsers' real user agents (as of late 2026's releases). */
static void test_classify(void **state) {
    (void)state;
    assert_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/131.0.0.0 Safari/537.36", 0, "desktop", "Chrome", "Windows");
    assert_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, "
                 "like Gecko) Chrome/131.0.0.0 Safari/537.36", 0, "desktop", "Chrome", "macOS");
    assert_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/131.0.0.0 Safari/537.36", 0, "desktop", "Chrome", "Linux");
    assert_agent("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/131.0.0.0 Safari/537.36", 0, "desktop", "Chrome", "ChromeOS");
    assert_agent("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/131.0.0.0 Mobile Safari/537.36", 0, "mobile", "Chrome", "Android");
    assert_agent("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/131.0.0.0 Safari/537.36", 0, "tablet", "Chrome", "Android");
    assert_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", 0,
                 "mobile", "Chrome", "iOS");
    assert_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 0, "mobile",
                 "Safari", "iOS");
    assert_agent("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
                 "like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 0, "tablet", "Safari",
                 "iOS");
    assert_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
                 "like Gecko) Version/18.1 Safari/605.1.15", 0, "desktop", "Safari", "macOS");
    assert_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
                 "Firefox/133.0", 0, "desktop", "Firefox", "Windows");
    assert_agent("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", 0,
                 "mobile", "Firefox", "Android");
    assert_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", 0, "mobile",
                 "Firefox", "iOS");
    assert_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 0, "desktop", "Edge",
                 "Windows");
    assert_agent("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0", 0, "mobile", "Edge",
                 "Android");
    assert_agent("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S928B) AppleWebKit/537.36 (KHTML, "
                 "like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36", 0,
                 "mobile", "Samsung Internet", "Android");
    assert_agent("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) "
                 "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 "
                 "Mobile Safari/537.36", 0, "mobile", "Android WebView", "Android");
    assert_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", 0, "desktop", "Opera",
                 "Windows");
    /* "Microsoft" holds "cros": the token is "cros " */
    assert_agent("Mozilla/5.0 (Windows NT 10.0; Microsoft Windows) Something/1.0", 0,
                 "desktop", "Other", "Windows");
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
        cmocka_unit_test(test_bot_flag),            cmocka_unit_test(test_classify),
        cmocka_unit_test(test_sanitize),
    };
    return cmocka_run_group_tests_name("enrich", tests, NULL, NULL);
}
