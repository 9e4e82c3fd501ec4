/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "activity";
static enum log_level log_min = LOG_INFO;

void log_init(const char *progname, enum log_level min_level) {
    log_prog = progname;
    log_min = min_level;
}

enum log_level log_level_parse(const char *name) {
    return !strcmp(name, "debug")   ? LOG_DEBUG
           : !strcmp(name, "warn")  ? LOG_WARN
           : !strcmp(name, "error") ? LOG_ERROR
                                    : LOG_INFO;
}

void log_msg(enum log_level level, const char *fmt, ...) {
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[2048];
    struct timespec now;
    struct tm tm;
    size_t n;
    va_list ap;

    if (level < log_min)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s ",
                          now.tv_nsec / 1000000, log_prog, names[level]);
    va_start(ap, fmt);
    if (n < sizeof(line))
        n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2; /* truncated: keep the newline */
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}
