/* SPDX-License-Identifier: Apache-2.0 */
/* config: one option table per program, from which parsing, --help and the
 * README's flag tables all come, so they cannot drift apart.
 *
 * Sources, each overriding the one before (as DESIGN.md agrees):
 *   1. the table's defaults
 *   2. --config FILE: "name = value" lines, '#' comments; "kafka.<prop>"
 *      keys are librdkafka properties
 *   3. environment: ACTIVITY_<NAME> (dashes become underscores; a program
 *      whose flags mean something else, like the devbroker's --brokers N,
 *      sets its own prefix)
 *   4. command-line flags: --name value, --name=value, -X prop=value
 * -X and kafka.* properties are handed to librdkafka unchanged, in order,
 * the convention kcat uses, so SASL, TLS and tuning need no code here. */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stddef.h>

/* CONFIG_DURATION: seconds into a long, written 90s, 30m, 48h, 400d or bare
 * seconds; "forever" means 0 when min is 0. */
enum config_type { CONFIG_STRING, CONFIG_INT, CONFIG_BOOL, CONFIG_DURATION };

struct config_option {
    const char *name;    /* flag without "--"; also the config-file key */
    enum config_type type;
    const char *def;     /* default, as text; NULL = unset */
    const char *help;
    void *dest;          /* char ** (owned by config) | long * | int * */
    long min, max;       /* CONFIG_INT and CONFIG_DURATION range, inclusive */
    const char *choices; /* CONFIG_STRING: "a|b|c", or NULL for any */
};

struct config {
    const char *prog;
    const char *summary;             /* one paragraph for --help */
    const struct config_option *opts; /* terminated by { .name = NULL } */
    char **kafka_props;              /* "key=value", in order of appearance */
    int kafka_prop_cnt;
    int takes_kafka;                 /* accepts -X / kafka.* */
    const char *env_prefix;          /* NULL: "ACTIVITY_" */
};

/* Fills every option's dest. Returns 0 when the program should run, 1 when
 * --help, --help-markdown or --version was printed (exit 0), -1 with errbuf
 * filled. */
int config_parse(struct config *cfg, int argc, char **argv, char *errbuf,
                 size_t errsize);

#define CONFIG_RUN (-1)

/* config_parse as every main() wants it: on an error it prints
 * "prog: message" to stderr. Returns CONFIG_RUN when the program should go
 * on, otherwise the exit status (0 after --help, 2 after an error), with the
 * config already freed. */
int config_parse_main(struct config *cfg, int argc, char **argv);

/* Frees the strings config_parse allocated (string dests, kafka props). */
void config_free(struct config *cfg);

#endif
