/* SPDX-License-Identifier: Apache-2.0 */
#include "enrich.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

int enrich_ip_mode_parse(const char *s, enum enrich_ip_mode *mode) {
    if (!strcmp(s, "truncate"))
        *mode = ENRICH_IP_TRUNCATE;
    else if (!strcmp(s, "drop"))
        *mode = ENRICH_IP_DROP;
    else if (!strcmp(s, "keep"))
        *mode = ENRICH_IP_KEEP;
    else
        return -1;
    return 0;
}

static int enrich_ip_v4(struct in_addr a, enum enrich_ip_mode mode, char *out,
                        size_t outsz) {
    if (mode == ENRICH_IP_TRUNCATE)
        a.s_addr &= htonl(0xffffff00u);
    return inet_ntop(AF_INET, &a, out, (socklen_t)outsz) ? 0 : 1;
}

static int enrich_ip_v6(struct in6_addr a, enum enrich_ip_mode mode, char *out,
                        size_t outsz) {
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
        struct in_addr v4;
        memcpy(&v4, &a.s6_addr[12], 4);
        return enrich_ip_v4(v4, mode, out, outsz);
    }
    if (mode == ENRICH_IP_TRUNCATE)
        memset(&a.s6_addr[6], 0, 10);
    return inet_ntop(AF_INET6, &a, out, (socklen_t)outsz) ? 0 : 1;
}

int enrich_ip_sockaddr(const struct sockaddr *sa, enum enrich_ip_mode mode,
                       char *out, size_t outsz) {
    if (mode == ENRICH_IP_DROP || !sa)
        return 1;
    if (sa->sa_family == AF_INET)
        return enrich_ip_v4(((const struct sockaddr_in *)sa)->sin_addr, mode,
                            out, outsz);
    if (sa->sa_family == AF_INET6)
        return enrich_ip_v6(((const struct sockaddr_in6 *)sa)->sin6_addr, mode,
                            out, outsz);
    return 1;
}

int enrich_ip_text(const char *text, enum enrich_ip_mode mode, char *out,
                   size_t outsz) {
    struct in_addr a4;
    struct in6_addr a6;
    if (mode == ENRICH_IP_DROP)
        return 1;
    if (inet_pton(AF_INET, text, &a4) == 1)
        return enrich_ip_v4(a4, mode, out, outsz);
    if (inet_pton(AF_INET6, text, &a6) == 1)
        return enrich_ip_v6(a6, mode, out, outsz);
    return 1;
}

void enrich_sanitize(const char *in, char *out, size_t outsz) {
    size_t n = 0;
    for (; in && *in && n + 1 < outsz; in++)
        out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    out[n] = '\0';
}
