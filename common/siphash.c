/* SPDX-License-Identifier: Apache-2.0 */
#include "siphash.h"

#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(struct siphash *s) {
    s->v0 += s->v1;
    s->v1 = ROTL(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = ROTL(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = ROTL(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = ROTL(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = ROTL(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = ROTL(s->v2, 32);
}

static uint64_t load_le64(const uint8_t *p) {
    uint64_t v = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&v, p, 8); /* one load */
#else
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
#endif
    return v;
}

static void store_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void compress(struct siphash *s, uint64_t m) {
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

void siphash_init(struct siphash *s, const uint8_t key[16]) {
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    s->v0 = 0x736f6d6570736575ULL ^ k0;
    s->v1 = 0x646f72616e646f6dULL ^ k1 ^ 0xee; /* 0xee: the 128-bit variant */
    s->v2 = 0x6c7967656e657261ULL ^ k0;
    s->v3 = 0x7465646279746573ULL ^ k1;
    s->tail = 0;
    s->len = 0;
}

void siphash_update(struct siphash *s, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len && s->len % 8) { /* finish the pending word */
        s->tail |= (uint64_t)*p++ << (8 * (s->len++ % 8));
        len--;
        if (s->len % 8 == 0) {
            compress(s, s->tail);
            s->tail = 0;
        }
    }
    for (; len >= 8; p += 8, len -= 8, s->len += 8)
        compress(s, load_le64(p));
    while (len--)
        s->tail |= (uint64_t)*p++ << (8 * (s->len++ % 8));
}

void siphash_final(struct siphash *s, uint8_t out[16]) {
    compress(s, s->tail | (uint64_t)(s->len & 0xff) << 56);
    s->v2 ^= 0xee;
    for (int i = 0; i < 4; i++)
        sip_round(s);
    store_le64(out, s->v0 ^ s->v1 ^ s->v2 ^ s->v3);
    s->v1 ^= 0xdd;
    for (int i = 0; i < 4; i++)
        sip_round(s);
    store_le64(out + 8, s->v0 ^ s->v1 ^ s->v2 ^ s->v3);
}
