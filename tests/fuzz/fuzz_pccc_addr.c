/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for Allen-Bradley addresses and values (src/proto/pccc/codec/pccc_addr.h).
 *
 * Input: one flag byte (picks an element and a request size limit), the address up to the
 * first '\n', then the value text. An address that parses is formatted and parsed again and
 * must come back the same. Its value text is parsed into a heap buffer of exactly
 * pl_pccc_addr_bytes() bytes (ASan catches any access past it) at the first, last and one
 * picked element; what was put is read back, formatted and parsed again, and must give the
 * same bytes; a bit put must change only its own bit. The split into requests must cover
 * the address exactly, element-aligned and within the limit, and each chunk asked for alone
 * (pl_pccc_addr_chunk) must be the split's. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pccc/codec/pccc_addr.h"
#include "plcline/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

#define CHUNKS 64u

static int same_addr(const pl_pccc_addr_t *a, const pl_pccc_addr_t *b)
{
    return a->file_type == b->file_type && a->wire_type == b->wire_type && a->file == b->file &&
           a->element == b->element && a->sub == b->sub && a->bit == b->bit &&
           a->elem_size == b->elem_size && a->count == b->count && a->kind == b->kind &&
           a->member == b->member && strcmp(a->letters, b->letters) == 0;
}

static void put_get(const pl_pccc_addr_t *a, uint8_t *buf, uint32_t n, uint32_t i, const char *text,
                    size_t len)
{
    uint8_t *before = malloc(n);
    pl_pccc_value_t v;
    pl_status_t st;
    char out[512];
    uint32_t k;
    int rc, m;

    if (before == NULL)
        return;
    memcpy(before, buf, n);
    pl_status_clear(&st);
    rc = pl_pccc_value_parse(a, buf, n, i, text, len, &st);
    if (rc != 0) {
        CHECK(rc == PL_EVALUE && st.code == rc);
        CHECK(memchr(st.detail, '\0', sizeof(st.detail)) != NULL);
        CHECK(memcmp(before, buf, n) == 0); /* nothing written */
        free(before);
        return;
    }
    if (a->kind == PL_PCCC_V_BIT) { /* only one bit may change */
        uint32_t changed = 0;

        for (k = 0; k < n; k++) {
            uint8_t d = (uint8_t)(before[k] ^ buf[k]);

            CHECK((d & (d - 1u)) == 0);
            changed += d != 0;
        }
        CHECK(changed <= 1);
    } else { /* only element i may change */
        for (k = 0; k < n; k++)
            if (k / a->elem_size != i)
                CHECK(before[k] == buf[k]);
    }
    CHECK(pl_pccc_value_get(a, buf, n, i, &v) == 0);
    CHECK(v.kind == a->kind);
    m = pl_pccc_value_format(&v, out, sizeof(out));
    CHECK(m >= 0 && (size_t)m == strlen(out));
    memcpy(before, buf, n);
    rc = pl_pccc_value_parse(a, buf, n, i, out, (size_t)m, &st);
    CHECK(rc == 0);
    CHECK(memcmp(before, buf, n) == 0);
    free(before);
}

static void split(const pl_pccc_addr_t *a, uint32_t bytes, size_t max)
{
    pl_pccc_chunk_t c[CHUNKS];
    uint32_t covered = 0;
    int n, k;

    n = pl_pccc_addr_split(a, max, c, CHUNKS);
    if (max < a->elem_size) {
        CHECK(n == PL_ERANGE);
        CHECK(pl_pccc_addr_chunk(a, max, 0, NULL) == PL_ERANGE);
        return;
    }
    CHECK(n >= 1);
    for (k = 0; k < n && (size_t)k < CHUNKS; k++) {
        CHECK(c[k].bytes <= max && c[k].bytes > 0);
        CHECK(c[k].bytes % a->elem_size == 0);
        CHECK(c[k].offset == covered);
        CHECK(c[k].bytes == c[k].units * a->elem_size);
        covered += c[k].bytes;
    }
    if ((size_t)n <= CHUNKS)
        CHECK(covered == bytes);
    /* chunk k alone is chunk k of the split; nothing past the last */
    for (k = 0; k < n && (size_t)k < CHUNKS; k++) {
        pl_pccc_chunk_t one;

        CHECK(pl_pccc_addr_chunk(a, max, (uint32_t)k, &one) == n);
        CHECK(memcmp(&one, &c[k], sizeof(one)) == 0);
    }
    CHECK(pl_pccc_addr_chunk(a, max, (uint32_t)n, NULL) == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[4] = {82, 220, 234, 6};
    const uint8_t *nl;
    size_t alen, vlen;
    char *s, *text, fmt[64];
    uint8_t *buf;
    pl_pccc_addr_t a, b;
    pl_pccc_slc_addr_t slc;
    pl_pccc_sysaddr_t sys;
    pl_status_t st;
    uint32_t n, picks[3], k;
    unsigned flags;
    int rc;

    if (size < 1)
        return 0;
    flags = data[0];
    data++;
    size--;
    nl = memchr(data, '\n', size);
    alen = nl != NULL ? (size_t)(nl - data) : size;
    vlen = nl != NULL ? size - alen - 1 : 0;

    s = malloc(alen + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, alen);
    s[alen] = '\0';
    pl_status_clear(&st);
    rc = pl_pccc_addr_parse(&a, s, &st);
    free(s);
    if (rc != 0) {
        CHECK(rc == PL_EADDR && st.code == rc);
        CHECK(memchr(st.detail, '\0', sizeof(st.detail)) != NULL);
        return 0;
    }

    CHECK(a.count >= 1 && a.count <= PL_PCCC_ADDR_MAX_COUNT);
    CHECK(a.elem_size == 2 || a.elem_size == 4 || a.elem_size == 6 || a.elem_size == 84);
    CHECK(a.bit >= -1 && a.bit < (int)(8u * a.elem_size));
    n = pl_pccc_addr_bytes(&a);
    CHECK(n >= a.elem_size && n % a.elem_size == 0);

    /* format -> parse */
    rc = pl_pccc_addr_format(&a, fmt, sizeof(fmt));
    CHECK(rc > 0);
    CHECK(pl_pccc_addr_parse(&b, fmt, &st) == 0);
    CHECK(same_addr(&a, &b));

    /* wire forms */
    rc = pl_pccc_addr_slc(&a, &slc);
    CHECK(rc == 0 ? slc.size == n : (rc == PL_ERANGE && n > 255u));
    pl_pccc_addr_sysaddr(&a, &sys);
    {
        uint8_t tmp[32];

        CHECK(pl_pccc_sysaddr_encode(tmp, sizeof(tmp), &sys) > 0);
    }
    split(&a, n, limits[flags & 3u]);

    /* values, in exactly n bytes */
    buf = malloc(n);
    text = malloc(vlen ? vlen : 1);
    if (buf == NULL || text == NULL) {
        free(buf);
        free(text);
        return 0;
    }
    for (k = 0; k < n; k++)
        buf[k] = (uint8_t)(0xA5u ^ (k * 0x9Du));
    if (vlen)
        memcpy(text, nl + 1, vlen);
    picks[0] = 0;
    picks[1] = a.count - 1u;
    picks[2] = (uint32_t)(flags >> 2) * 2654435761u % a.count;
    for (k = 0; k < 3; k++)
        put_get(&a, buf, n, picks[k], text, vlen);
    free(buf);
    free(text);
    return 0;
}
