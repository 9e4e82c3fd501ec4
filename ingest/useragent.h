/* SPDX-License-Identifier: Apache-2.0 */
/* useragent: what a request's User-Agent says, in one pass over it.
 *
 * The bot flag and the device, browser and operating system the counters
 * show per visit come from the same tokens, so one scan finds them all: at
 * each byte, only the tokens starting with that (lower-cased) letter are
 * compared, instead of one strcasestr scan per token (19 scans, ~23,000
 * instructions for a desktop Chrome user agent; this is ~1/10 of that,
 * docs/PERFORMANCE.md). The names are a small fixed set (README, "Devices,
 * browsers and systems"); anything not recognised is "Other". */
#ifndef INGEST_USERAGENT_H
#define INGEST_USERAGENT_H

struct useragent {
    int bot;             /* a crawler, monitor, headless browser or HTTP library */
    const char *device;  /* "desktop" | "mobile" | "tablet" */
    const char *browser; /* "Chrome" | "Safari" | "Firefox" | "Edge" | "Samsung Internet" |
                            "Opera" | "Android WebView" | "Other" */
    const char *os;      /* "Windows" | "macOS" | "iOS" | "Android" | "Linux" | "ChromeOS" |
                            "Other" */
};

/* Classifies ua (NULL or empty: a bot, since browsers always send one). */
void useragent_classify(const char *ua, struct useragent *out);

#endif
