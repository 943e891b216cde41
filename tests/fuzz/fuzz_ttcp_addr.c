/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for 7TTCP data addresses and values (src/proto/ttcp/codec/ttcp_addr.h).
 * Input: one flag byte (bit 0: swap; the rest picks an element; seeds use '0'..'9'), the address up
 * to the first '\n', then the value text. A parsed address must stay within words 0..65535; the
 * value is put into a heap buffer of exactly pl_ttcp_addr_words() words (ASan catches any
 * write past it), read back, formatted, and put again: the second put must give the same
 * words (decode -> encode agreement), and a BIT put must change only its bit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ttcp/codec/ttcp_addr.h"
#include "plcline/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static void put_get(const pl_ttcp_addr_t *a, uint16_t *words, uint32_t nwords, uint32_t i, int swap,
                    const char *text, size_t len)
{
    uint16_t *before = malloc(nwords * sizeof(*words));
    pl_ttcp_value_t v;
    pl_status_t st;
    char buf[64];
    uint32_t k;
    int rc, n;

    if (before == NULL)
        return;
    memcpy(before, words, nwords * sizeof(*words));
    pl_status_clear(&st);
    rc = pl_ttcp_value_put(a, words, i, swap, text, len, &st);
    if (rc != 0) {
        check(rc == PL_EVALUE && st.code == rc);
        check(memchr(st.detail, '\0', sizeof(st.detail)) != NULL);
        check(memcmp(before, words, nwords * sizeof(*words)) == 0); /* nothing written */
        free(before);
        return;
    }
    if (a->kind == PL_TTCP_BIT) {
        uint32_t pos = a->bit + i;

        for (k = 0; k < nwords; k++) {
            uint16_t diff = (uint16_t)(before[k] ^ words[k]);

            check(diff == 0 || (k == pos / 16u && diff == (uint16_t)(1u << (pos % 16u))));
        }
    }
    pl_ttcp_value_get(a, words, i, swap, &v);
    check(v.kind == a->kind);
    n = pl_ttcp_value_format(&v, buf, sizeof(buf));
    check(n > 0 && (size_t)n == strlen(buf));

    /* put what was formatted: the words must not change */
    memcpy(before, words, nwords * sizeof(*words));
    rc = pl_ttcp_value_put(a, words, i, swap, buf, (size_t)n, &st);
    check(rc == 0);
    check(memcmp(before, words, nwords * sizeof(*words)) == 0);
    free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl;
    size_t alen, vlen;
    char *s, *text;
    uint16_t *words;
    pl_ttcp_addr_t a;
    pl_status_t st;
    uint32_t nwords, picks[3];
    unsigned flags, k;
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
    rc = pl_ttcp_addr_parse(&a, s, &st);
    free(s);
    if (rc != 0) {
        check(rc == PL_EADDR && st.code == rc);
        check(memchr(st.detail, '\0', sizeof(st.detail)) != NULL);
        return 0;
    }

    check(a.count >= 1 && a.count <= PL_TTCP_ADDR_MAX_COUNT);
    check(a.offset <= 65535u);
    check(a.kind != PL_TTCP_BIT || a.bit <= 15u);
    nwords = pl_ttcp_addr_words(&a);
    check(nwords >= 1 && nwords <= 65536u);
    check(a.offset + nwords - 1u <= 65535u);
    if (a.kind == PL_TTCP_BIT)
        check(nwords == (a.bit + a.count - 1u) / 16u + 1u);
    else
        check(nwords == a.count * pl_ttcp_addr_elem_words(a.kind));

    /* exactly nwords words, and the value text exactly vlen bytes: ASan sees any overrun */
    words = malloc(nwords * sizeof(*words));
    text = malloc(vlen ? vlen : 1);
    if (words == NULL || text == NULL) {
        free(words);
        free(text);
        return 0;
    }
    for (k = 0; k < nwords; k++)
        words[k] = (uint16_t)(0xA5C3u ^ (k * 0x9E37u));
    if (vlen)
        memcpy(text, nl + 1, vlen);

    picks[0] = 0;
    picks[1] = a.count - 1u;
    picks[2] = (uint32_t)(flags >> 1) * 2654435761u % a.count;
    for (k = 0; k < 3; k++)
        put_get(&a, words, nwords, picks[k], (int)(flags & 1u), text, vlen);

    free(words);
    free(text);
    return 0;
}
