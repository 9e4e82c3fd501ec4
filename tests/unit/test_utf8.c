/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of common/utf8: client bytes quoted as valid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "utf8.h"

#include <string.h>

static void test_validates_like_rfc3629(void **state) {
    (void)state;
    const char *good[] = {"", "plain", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                          "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xc2\x80"};
    const char *bad[] = {"\xff", "\x80", "\xc3", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf",
                         "\xed\xa0\x80", /* surrogate */ "\xf4\x90\x80\x80", /* > U+10FFFF */
                         "\xf0\x80\x80\xaf", "\xe2\x82", "\xf5\x80\x80\x80", "a\xc3(b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!utf8_valid(good[i], strlen(good[i])))
            fail_msg("rejected good #%zu", i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (utf8_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted bad #%zu", i);
}

static void test_quote_escapes_invalid_bytes(void **state) {
    (void)state;
    char out[64];
    utf8_quote(out, sizeof(out), "a\xff" "b\xc3\xa9", 5);
    assert_string_equal(out, "a\\xffb\xc3\xa9");
    utf8_quote(out, sizeof(out), "\xc3", 1); /* a lone lead byte */
    assert_string_equal(out, "\\xc3");
}

static void test_quote_cuts_on_a_character_boundary(void **state) {
    (void)state;
    char in[80], out[68];
    memset(in, 'a', 63);
    memcpy(in + 63, "\xc3\xa9zz", 4); /* 67 bytes */
    /* 63 'a' + 2-byte char would need 65 + "..." + NUL: the é is dropped */
    assert_int_equal(utf8_quote(out, sizeof(out), in, 67), 66);
    assert_true(utf8_valid(out, strlen(out)));
    assert_memory_equal(out + 60, "aaa...", 7);
    /* everything fits: no "..." */
    assert_int_equal(utf8_quote(out, sizeof(out), in, 65), 65);
    assert_memory_equal(out + 63, "\xc3\xa9", 3);
    /* an escape is never cut either */
    memset(in, 0xff, 20);
    utf8_quote(out, 12, in, 20);
    assert_string_equal(out, "\\xff\\xff...");
    utf8_quote(out, 3, "abcdef", 6); /* too small for "...": empty */
    assert_string_equal(out, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validates_like_rfc3629),
        cmocka_unit_test(test_quote_escapes_invalid_bytes),
        cmocka_unit_test(test_quote_cuts_on_a_character_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
