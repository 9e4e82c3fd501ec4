/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of common/config: defaults < --config file < environment < flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *brokers, *mode;
static long timeout, keep;
static int verbose;
static const struct config_option opts[] = {
    {"brokers", CONFIG_STRING, "localhost:9092", "bootstrap", &brokers, 0, 0, NULL},
    {"ack-timeout", CONFIG_INT, "5000", "ms", &timeout, 1, 60000, NULL},
    {"ip", CONFIG_STRING, "truncate", "ip policy", &mode, 0, 0, "truncate|drop|keep"},
    {"verbose", CONFIG_BOOL, "false", "more logs", &verbose, 0, 0, NULL},
    {"keep", CONFIG_DURATION, "48h", "how long", &keep, 0, 36500L * 86400, NULL},
    {NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};

static int parse(struct config *cfg, int argc, char **argv, char *err) {
    memset(cfg, 0, sizeof(*cfg));
    cfg->prog = "test";
    cfg->summary = "test";
    cfg->opts = opts;
    cfg->takes_kafka = 1;
    return config_parse(cfg, argc, argv, err, 256);
}

static int teardown(void **state) {
    (void)state;
    unsetenv("ACTIVITY_ACK_TIMEOUT");
    unsetenv("ACTIVITY_BROKERS");
    return 0;
}

static void test_defaults(void **state) {
    (void)state;
    struct config cfg;
    char err[256], *argv[] = {"p", NULL};
    assert_int_equal(parse(&cfg, 1, argv, err), 0);
    assert_string_equal(brokers, "localhost:9092");
    assert_int_equal(timeout, 5000);
    assert_int_equal(verbose, 0);
    config_free(&cfg);
}

static void test_precedence_file_env_flag(void **state) {
    (void)state;
    struct config cfg;
    char err[256], path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# comment\nbrokers = file:1\nack-timeout = 100\nip=drop\n"
               "kafka.linger.ms = 7\n");
    fclose(f);
    setenv("ACTIVITY_ACK_TIMEOUT", "200", 1);
    setenv("ACTIVITY_BROKERS", "env:1", 1);
    char *argv[] = {"p", "--config", path, "--brokers=flag:1", "--verbose", "-X", "acks=all",
                    "-Xclient.id=x", NULL};
    assert_int_equal(parse(&cfg, 8, argv, err), 0);
    assert_string_equal(brokers, "flag:1");
    assert_int_equal(timeout, 200);
    assert_string_equal(mode, "drop");
    assert_int_equal(verbose, 1);
    assert_int_equal(cfg.kafka_prop_cnt, 3);
    assert_string_equal(cfg.kafka_props[0], "linger.ms=7");
    assert_string_equal(cfg.kafka_props[1], "acks=all");
    assert_string_equal(cfg.kafka_props[2], "client.id=x");
    config_free(&cfg);
    unlink(path);
}

static void test_errors_name_the_input(void **state) {
    (void)state;
    struct config cfg;
    char err[256];
    char *a1[] = {"p", "--ack-timeout", "0", NULL};
    assert_int_equal(parse(&cfg, 3, a1, err), -1);
    assert_non_null(strstr(err, "--ack-timeout must be an integer from 1 to 60000"));
    config_free(&cfg);
    char *a2[] = {"p", "--ip=hide", NULL};
    assert_int_equal(parse(&cfg, 2, a2, err), -1);
    assert_non_null(strstr(err, "truncate|drop|keep"));
    config_free(&cfg);
    char *a3[] = {"p", "--bogus", NULL};
    assert_int_equal(parse(&cfg, 2, a3, err), -1);
    assert_non_null(strstr(err, "unknown flag '--bogus'"));
    config_free(&cfg);
    char *a4[] = {"p", "-X", "novalue", NULL};
    assert_int_equal(parse(&cfg, 3, a4, err), -1);
    assert_non_null(strstr(err, "key=value"));
    config_free(&cfg);
    setenv("ACTIVITY_ACK_TIMEOUT", "soon", 1);
    char *a5[] = {"p", NULL};
    assert_int_equal(parse(&cfg, 1, a5, err), -1);
    assert_non_null(strstr(err, "ACTIVITY_ACK_TIMEOUT"));
    config_free(&cfg);
}

static void test_durations(void **state) {
    (void)state;
    struct config cfg;
    char err[256];
    const struct { const char *text; long secs; } ok[] = {
        {"48h", 48 * 3600}, {"400d", 400 * 86400}, {"90m", 5400}, {"15s", 15}, {"120", 120},
        {"0", 0}, {"forever", 0}};
    const char *bad[] = {"", "h", "-1h", "1w", "1hh", "1.5h", "36501d", "99999999999999999999d",
                         " 1h"};
    char *argv[] = {"p", "--keep", NULL, NULL};
    assert_int_equal(parse(&cfg, 1, argv, err), 0);
    assert_int_equal(keep, 48 * 3600); /* the default, in the same notation */
    config_free(&cfg);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        argv[2] = (char *)ok[i].text;
        assert_int_equal(parse(&cfg, 3, argv, err), 0);
        assert_int_equal(keep, ok[i].secs);
        config_free(&cfg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        argv[2] = (char *)bad[i];
        if (parse(&cfg, 3, argv, err) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err, "--keep must be a duration like 90s, 30m, 48h or 400d"));
        config_free(&cfg);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_precedence_file_env_flag, teardown),
        cmocka_unit_test_teardown(test_errors_name_the_input, teardown),
        cmocka_unit_test_teardown(test_durations, teardown),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
