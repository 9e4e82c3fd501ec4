/* SPDX-License-Identifier: Apache-2.0 */
#include "timefmt.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int timefmt_digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil), so no timezone state is involved. */
static int64_t timefmt_days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int timefmt_parse(const char *s, int64_t *ms) {
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, frac = 0, off = 0;
    const char *p;

    if (timefmt_digits(s, 4, &y) || s[4] != '-' || timefmt_digits(s + 5, 2, &mo) ||
        s[7] != '-' || timefmt_digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        timefmt_digits(s + 11, 2, &h) || s[13] != ':' ||
        timefmt_digits(s + 14, 2, &mi) || s[16] != ':' ||
        timefmt_digits(s + 17, 2, &sec))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    if (sec == 60) /* leap second: the instant just before the next minute */
        sec = 59, frac = 999;
    p = s + 19;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                frac = frac * 10 + (*p - '0');
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (timefmt_digits(p + 1, 2, &oh) || p[3] != ':' ||
            timefmt_digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    int64_t secs = timefmt_days_from_civil(y, mo, d) * 86400 + h * 3600 +
                   mi * 60 + sec - (int64_t)off * 60;
    if (secs < 0 || secs * 1000 + frac > TIMEFMT_MAX_MS)
        return -1;
    *ms = secs * 1000 + frac;
    return 0;
}

static void timefmt_put(char *p, int v, int digits) {
    for (int i = digits - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
}

/* By hand rather than strftime/snprintf: it runs three times per event. */
void timefmt_format(int64_t ms, char buf[TIMEFMT_LEN]) {
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    assert(ms >= 0 && ms <= TIMEFMT_MAX_MS);
    gmtime_r(&secs, &tm);
    memcpy(buf, "0000-00-00T00:00:00.000Z", TIMEFMT_LEN);
    timefmt_put(buf, tm.tm_year + 1900, 4);
    timefmt_put(buf + 5, tm.tm_mon + 1, 2);
    timefmt_put(buf + 8, tm.tm_mday, 2);
    timefmt_put(buf + 11, tm.tm_hour, 2);
    timefmt_put(buf + 14, tm.tm_min, 2);
    timefmt_put(buf + 17, tm.tm_sec, 2);
    timefmt_put(buf + 20, (int)(ms % 1000), 3);
}

int64_t timefmt_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
