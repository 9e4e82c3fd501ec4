/* SPDX-License-Identifier: Apache-2.0 */
#include "useragent.h"

#include "event.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* What a token found means. */
enum {
    T_BOT = 1 << 0,
    T_IPHONE = 1 << 1, T_IPAD = 1 << 2, T_ANDROID = 1 << 3, T_WINDOWS = 1 << 4,
    T_CROS = 1 << 5, T_MAC = 1 << 6, T_LINUX = 1 << 7,
    T_MOBILE = 1 << 8, T_TABLET = 1 << 9,
    T_EDGE = 1 << 10, T_SAMSUNG = 1 << 11, T_OPERA = 1 << 12, T_FIREFOX = 1 << 13,
    T_CHROME = 1 << 14, T_SAFARI = 1 << 15, T_VERSION = 1 << 16, T_WEBVIEW = 1 << 17,
};

/* Lower case, matched anywhere in the user agent, ignoring case. */
static const struct token {
    const char *text;
    uint32_t flag;
} tokens[] = {
    /* crawlers, monitors, HTTP libraries (any one makes a bot) */
    {"bot", T_BOT}, {"crawl", T_BOT}, {"spider", T_BOT}, {"slurp", T_BOT},
    {"curl/", T_BOT}, {"wget/", T_BOT}, {"python-", T_BOT}, {"go-http-client", T_BOT},
    {"java/", T_BOT}, {"okhttp", T_BOT}, {"libwww", T_BOT}, {"httpclient", T_BOT},
    {"facebookexternalhit", T_BOT}, {"pingdom", T_BOT}, {"uptime", T_BOT},
    {"monitor", T_BOT}, {"lighthouse", T_BOT}, {"headlesschrome", T_BOT},
    {"phantomjs", T_BOT},
    /* systems; "like mac os x" is in every iOS user agent, so Macintosh */
    {"iphone", T_IPHONE}, {"ipod", T_IPHONE}, {"ipad", T_IPAD}, {"android", T_ANDROID},
    {"windows nt", T_WINDOWS}, {"cros ", T_CROS}, {"macintosh", T_MAC}, {"linux", T_LINUX},
    /* devices */
    {"mobile", T_MOBILE}, {"tablet", T_TABLET},
    /* browsers; most carry "chrome/" and "safari/" too (decided below) */
    {"edg/", T_EDGE}, {"edga/", T_EDGE}, {"edgios/", T_EDGE},
    {"samsungbrowser/", T_SAMSUNG}, {"opr/", T_OPERA}, {"opera", T_OPERA},
    {"firefox/", T_FIREFOX}, {"fxios/", T_FIREFOX}, {"chrome/", T_CHROME},
    {"crios/", T_CHROME}, {"safari/", T_SAFARI}, {"version/", T_VERSION},
    {"; wv)", T_WEBVIEW},
};
#define TOKEN_CNT (sizeof(tokens) / sizeof(tokens[0]))

/* by_first[c]: the tokens starting with byte c, as a list ending in 0xff */
static uint8_t by_first[256][8];
static uint8_t lower[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void) {
    uint8_t used[256] = {0};
    memset(by_first, 0xff, sizeof(by_first));
    for (int c = 0; c < 256; c++)
        lower[c] = (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    for (size_t t = 0; t < TOKEN_CNT; t++) {
        uint8_t c = (uint8_t)tokens[t].text[0];
        /* 7 at most per letter (the last slot ends the list) */
        by_first[c][used[c]++] = (uint8_t)t;
    }
}

void useragent_classify(const char *ua, struct useragent *out) {
    const uint8_t *p = (const uint8_t *)ua;
    uint32_t found = 0;

    pthread_once(&tables_once, tables_init);
    if (!ua || !*ua)
        found = T_BOT;
    for (; p && *p; p++) {
        const uint8_t *cand = by_first[lower[*p]];
        for (; *cand != 0xff; cand++) {
            const uint8_t *t = (const uint8_t *)tokens[*cand].text + 1, *q = p + 1;
            while (*t && lower[*q] == *t) /* *q == 0 ends it: no token has a NUL */
                t++, q++;
            if (!*t)
                found |= tokens[*cand].flag;
        }
    }

    out->bot = !!(found & T_BOT);
    out->os = schema_systems[found & (T_IPHONE | T_IPAD) ? SCHEMA_IOS
                             : found & T_ANDROID ? SCHEMA_ANDROID
                             : found & T_WINDOWS ? SCHEMA_WINDOWS
                             : found & T_CROS ? SCHEMA_CHROMEOS
                             : found & T_MAC ? SCHEMA_MACOS
                             : found & T_LINUX ? SCHEMA_LINUX : SCHEMA_OS_OTHER];
    /* Edge, Samsung Internet and Opera also say Chrome; Chrome says Safari;
     * an Android WebView says "; wv)" and Chrome; Safari alone has both
     * Version/ and Safari/ without Chrome. */
    out->browser = schema_browsers[
        found & T_EDGE ? SCHEMA_EDGE : found & T_SAMSUNG ? SCHEMA_SAMSUNG
        : found & T_OPERA ? SCHEMA_OPERA : found & T_FIREFOX ? SCHEMA_FIREFOX
        : (found & (T_WEBVIEW | T_ANDROID)) == (T_WEBVIEW | T_ANDROID) ? SCHEMA_WEBVIEW
        : found & T_CHROME ? SCHEMA_CHROME
        : (found & (T_SAFARI | T_VERSION)) == (T_SAFARI | T_VERSION) ? SCHEMA_SAFARI
        : SCHEMA_BROWSER_OTHER];
    /* An Android phone's browser says "Mobile"; an Android tablet's does not.
     * iPadOS's Safari asks for desktop pages as a Mac: a desktop here. */
    out->device = schema_devices[found & (T_IPAD | T_TABLET) ? SCHEMA_TABLET
                                 : found & T_ANDROID ? (found & T_MOBILE ? SCHEMA_MOBILE
                                                                         : SCHEMA_TABLET)
                                 : found & (T_IPHONE | T_MOBILE) ? SCHEMA_MOBILE
                                                                 : SCHEMA_DESKTOP];
}
