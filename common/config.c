/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "version.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct config_option *config_find(const struct config *cfg,
                                               const char *name, size_t len) {
    for (const struct config_option *o = cfg->opts; o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len))
            return o;
    return NULL;
}

static void config_env_name(const struct config *cfg,
                            const struct config_option *o, char *buf,
                            size_t size) {
    size_t n = (size_t)snprintf(buf, size, "%s",
                                cfg->env_prefix ? cfg->env_prefix : "ACTIVITY_");
    for (const char *p = o->name; *p && n + 1 < size; p++)
        buf[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    buf[n] = '\0';
}

static int config_choice_ok(const char *choices, const char *v) {
    size_t len = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, v, n))
            return 1;
        p += n + (bar ? 1 : 0);
    }
    return 0;
}

/* "N" seconds, or N with a unit s, m, h or d; "forever" is 0 where
 * allowed. 0 on success. */
static int config_duration(const char *v, int forever_ok, long *secs) {
    static const struct { char unit; long secs; } units[] = {{'s', 1}, {'m', 60},
                                                             {'h', 3600}, {'d', 86400}};
    char *end;
    long n;
    if (forever_ok && !strcmp(v, "forever")) {
        *secs = 0;
        return 0;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || n < 0 || !isdigit((unsigned char)*v))
        return -1;
    if (!*end) {
        *secs = n;
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (end[0] == units[i].unit && !end[1]) {
            if (n > LONG_MAX / units[i].secs)
                return -1;
            *secs = n * units[i].secs;
            return 0;
        }
    return -1;
}

/* Sets one option from text; 'from' names the source for the error. */
static int config_set(const struct config_option *o, const char *v,
                      const char *from, char *errbuf, size_t errsize) {
    switch (o->type) {
    case CONFIG_STRING:
        if (o->choices && !config_choice_ok(o->choices, v)) {
            snprintf(errbuf, errsize, "%s: --%s must be one of %s, not '%s'",
                     from, o->name, o->choices, v);
            return -1;
        }
        free(*(char **)o->dest);
        *(char **)o->dest = strdup(v);
        return 0;
    case CONFIG_INT: {
        char *end;
        long n;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < o->min || n > o->max) {
            snprintf(errbuf, errsize,
                     "%s: --%s must be an integer from %ld to %ld, not '%s'",
                     from, o->name, o->min, o->max, v);
            return -1;
        }
        *(long *)o->dest = n;
        return 0;
    }
    case CONFIG_DURATION: {
        long secs;
        if (config_duration(v, o->min == 0, &secs) || secs < o->min || secs > o->max) {
            snprintf(errbuf, errsize,
                     "%s: --%s must be a duration like 90s, 30m, 48h or 400d%s, from %lds to "
                     "%lds, not '%s'", from, o->name, o->min == 0 ? " (or forever)" : "",
                     o->min, o->max, v);
            return -1;
        }
        *(long *)o->dest = secs;
        return 0;
    }
    case CONFIG_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
            *(int *)o->dest = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
            *(int *)o->dest = 0;
        else {
            snprintf(errbuf, errsize, "%s: --%s must be true or false, not '%s'",
                     from, o->name, v);
            return -1;
        }
        return 0;
    }
    return -1;
}

static int config_add_kafka(struct config *cfg, const char *kv, const char *from,
                            char *errbuf, size_t errsize) {
    char **props;
    if (!cfg->takes_kafka) {
        snprintf(errbuf, errsize, "%s: %s takes no Kafka properties", from,
                 cfg->prog);
        return -1;
    }
    if (!strchr(kv, '=') || kv[0] == '=') {
        snprintf(errbuf, errsize, "%s: Kafka property '%s' is not key=value",
                 from, kv);
        return -1;
    }
    props = realloc(cfg->kafka_props,
                    sizeof(*props) * (size_t)(cfg->kafka_prop_cnt + 1));
    if (!props)
        abort();
    cfg->kafka_props = props;
    props[cfg->kafka_prop_cnt++] = strdup(kv);
    return 0;
}

static char *config_trim(char *s) {
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int config_read_file(struct config *cfg, const char *path, char *errbuf,
                            size_t errsize) {
    FILE *f = fopen(path, "r");
    char line[4096], from[512], kv[4096];
    int lineno = 0, rc = 0;

    if (!f) {
        snprintf(errbuf, errsize, "--config %s: %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        char *s, *eq, *key, *val;
        const struct config_option *o;
        lineno++;
        snprintf(from, sizeof(from), "%s:%d", path, lineno);
        if ((s = strchr(line, '#')))
            *s = '\0';
        s = config_trim(line);
        if (!*s)
            continue;
        if (!(eq = strchr(s, '='))) {
            snprintf(errbuf, errsize, "%s: expected 'name = value'", from);
            rc = -1;
            break;
        }
        *eq = '\0';
        key = config_trim(s);
        val = config_trim(eq + 1);
        if (!strncmp(key, "kafka.", 6)) {
            snprintf(kv, sizeof(kv), "%s=%s", key + 6, val);
            rc = config_add_kafka(cfg, kv, from, errbuf, errsize);
        } else if ((o = config_find(cfg, key, strlen(key)))) {
            rc = config_set(o, val, from, errbuf, errsize);
        } else {
            snprintf(errbuf, errsize, "%s: unknown setting '%s'", from, key);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

static const char *config_type_arg(const struct config_option *o) {
    switch (o->type) {
    case CONFIG_INT: return "N";
    case CONFIG_DURATION: return "DURATION";
    case CONFIG_BOOL: return "[true|false]";
    default: return o->choices ? o->choices : "VALUE";
    }
}

/* Writes s for troff: backslashes doubled, hyphens as minus signs, and a
 * line never starting with a control character. */
static void man_text(const char *s) {
    if (*s == '.' || *s == '\'')
        fputs("\\&", stdout);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
        if (*s == '\n' && (s[1] == '.' || s[1] == '\''))
            fputs("\\&", stdout);
    }
}

/* The man page, from the same table as --help (make install writes it). */
static void config_man(const struct config *cfg) {
    char env[128];
    printf(".TH %s 1 \"\" \"activity-tracker %s\"\n.SH NAME\n%s \\- ", cfg->prog,
           activity_version, cfg->prog);
    /* the summary's first clause: up to ':', '.' or the line's end */
    for (const char *p = cfg->summary; *p && !strchr("\n:.", *p); p++)
        putchar(*p == '-' ? ' ' : *p);
    printf("\n.SH DESCRIPTION\n");
    man_text(cfg->summary);
    printf("\n.PP\nSources, each overriding the one before: the defaults below, --config FILE, "
           "ACTIVITY_* environment variables, flags.\n.SH OPTIONS\n");
    for (const struct config_option *o = cfg->opts; o->name; o++) {
        config_env_name(cfg, o, env, sizeof(env));
        printf(".TP\n.B \\-\\-%s \\fI", o->name);
        man_text(config_type_arg(o));
        printf("\\fR\n");
        man_text(o->help);
        printf(" (environment %s; default: ", env);
        man_text(o->def && *o->def ? o->def : "none");
        printf(")\n");
    }
    printf(".TP\n.B \\-\\-config \\fIFILE\\fR\nread name = value lines first%s\n",
           cfg->takes_kafka ? "; kafka.<prop> lines are librdkafka properties" : "");
    if (cfg->takes_kafka)
        printf(".TP\n.B \\-X \\fIprop=value\\fR\nlibrdkafka property, passed unchanged "
               "(repeatable)\n");
    printf(".TP\n.B \\-\\-version\nprint the version\n.SH SEE ALSO\n"
           "The README in /usr/share/doc or the project's repository.\n");
}

static void config_help(const struct config *cfg, int markdown) {
    char env[128];
    if (markdown) {
        printf("| flag | environment | default | meaning |\n|---|---|---|---|\n");
    } else {
        printf("Usage: %s [options]\n\n%s\n\nOptions (flag, then environment "
               "variable; flags override the environment, which overrides "
               "--config):\n",
               cfg->prog, cfg->summary);
    }
    for (const struct config_option *o = cfg->opts; o->name; o++) {
        config_env_name(cfg, o, env, sizeof(env));
        if (markdown) {
            printf("| `--%s ", o->name);
            for (const char *c = config_type_arg(o); *c; c++) {
                if (*c == '|') /* a bare | would end the table cell */
                    putchar('\\');
                putchar(*c);
            }
            printf("` | `%s` | %s | %s |\n", env,
                   o->def && *o->def ? o->def : "", o->help);
        }
        else
            printf("  --%s %s\n      %s\n      [%s; default: %s]\n", o->name,
                   config_type_arg(o), o->help, env,
                   o->def && *o->def ? o->def : "none");
    }
    if (markdown) {
        printf("| `--config FILE` | | | read `name = value` lines first%s |\n",
               cfg->takes_kafka ? "; `kafka.<prop>` keys go to librdkafka" : "");
        if (cfg->takes_kafka)
            printf("| `-X prop=value` | | | librdkafka property, passed "
                   "unchanged (repeatable) |\n");
        return;
    }
    printf("  --config FILE\n      read 'name = value' lines first ('#' comments)%s\n",
           cfg->takes_kafka ? ";\n      'kafka.<prop> = value' lines are librdkafka properties"
                            : "");
    if (cfg->takes_kafka)
        printf("  -X prop=value\n      librdkafka property, passed unchanged "
               "(repeatable), e.g.\n      -X security.protocol=SASL_SSL -X "
               "compression.type=zstd\n");
    printf("  -h, --help\n      show this help\n  --version\n      print the version\n");
}

int config_parse(struct config *cfg, int argc, char **argv, char *errbuf,
                 size_t errsize) {
    char env[128];
    const char *v;

    for (const struct config_option *o = cfg->opts; o->name; o++)
        if (o->def && config_set(o, o->def, "default", errbuf, errsize))
            return -1;

    /* --config and --help first: they decide what the other sources mean. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            config_help(cfg, 0);
            return 1;
        }
        if (!strcmp(argv[i], "--help-markdown")) {
            config_help(cfg, 1);
            return 1;
        }
        if (!strcmp(argv[i], "--help-man")) {
            config_man(cfg);
            return 1;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("%s %s\n", cfg->prog, activity_version);
            return 1;
        }
        if (!strcmp(argv[i], "--config") || !strncmp(argv[i], "--config=", 9)) {
            const char *path = argv[i][8] == '=' ? argv[i] + 9 : argv[++i];
            if (!path) {
                snprintf(errbuf, errsize, "--config needs a file name");
                return -1;
            }
            if (config_read_file(cfg, path, errbuf, errsize))
                return -1;
        }
    }

    for (const struct config_option *o = cfg->opts; o->name; o++) {
        config_env_name(cfg, o, env, sizeof(env));
        if ((v = getenv(env)) && config_set(o, v, env, errbuf, errsize))
            return -1;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq;
        const struct config_option *o;
        char from[160];

        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strncmp(a, "--config=", 9))
            continue;
        if (!strcmp(a, "-X")) {
            if (i + 1 >= argc) {
                snprintf(errbuf, errsize, "-X needs prop=value");
                return -1;
            }
            if (config_add_kafka(cfg, argv[++i], "-X", errbuf, errsize))
                return -1;
            continue;
        }
        if (!strncmp(a, "-X", 2)) {
            if (config_add_kafka(cfg, a + 2, "-X", errbuf, errsize))
                return -1;
            continue;
        }
        if (strncmp(a, "--", 2)) {
            snprintf(errbuf, errsize, "unexpected argument '%s' (see --help)", a);
            return -1;
        }
        a += 2;
        eq = strchr(a, '=');
        o = config_find(cfg, a, eq ? (size_t)(eq - a) : strlen(a));
        if (!o) {
            snprintf(errbuf, errsize, "unknown flag '--%.*s' (see --help)",
                     eq ? (int)(eq - a) : (int)strlen(a), a);
            return -1;
        }
        snprintf(from, sizeof(from), "command line");
        if (eq)
            v = eq + 1;
        else if (o->type == CONFIG_BOOL)
            v = "true";
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            snprintf(errbuf, errsize, "--%s needs a value", o->name);
            return -1;
        }
        if (config_set(o, v, from, errbuf, errsize))
            return -1;
    }
    return 0;
}

int config_parse_main(struct config *cfg, int argc, char **argv) {
    char errbuf[512];
    int rc = config_parse(cfg, argc, argv, errbuf, sizeof(errbuf));
    if (rc == 0)
        return CONFIG_RUN;
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", cfg->prog, errbuf);
    config_free(cfg);
    return rc < 0 ? 2 : 0;
}

void config_free(struct config *cfg) {
    for (const struct config_option *o = cfg->opts; o->name; o++)
        if (o->type == CONFIG_STRING) {
            free(*(char **)o->dest);
            *(char **)o->dest = NULL;
        }
    for (int i = 0; i < cfg->kafka_prop_cnt; i++)
        free(cfg->kafka_props[i]);
    free(cfg->kafka_props);
    cfg->kafka_props = NULL;
    cfg->kafka_prop_cnt = 0;
}
