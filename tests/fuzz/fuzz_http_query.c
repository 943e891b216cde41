/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the request-target decoding of the HTTP server
 * (src/north/http_query.h). The input is a query string; each parameter the page uses is
 * looked up in it (ASan catches a read past `size`), a found value must be NUL-terminated
 * within its buffer, and decode -> encode -> decode must give the same bytes. The input is
 * also decoded whole as a path, into a small and a large buffer: both agree when both fit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "north/http_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static void roundtrip(const char *dec, long n)
{
    static char enc[3 * 4096 + 1], again[4097];
    long e, d;

    e = pl_http_url_encode(dec, (size_t)n, enc, sizeof(enc));
    check(e >= 0);
    d = pl_http_url_decode(enc, (size_t)e, again, sizeof(again), 0);
    check(d == n && memcmp(again, dec, (size_t)n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"filter", "sort", "order", "offset", "limit", ""};
    const char *q = (const char *)data;
    char small[16], big[4097];
    long a, b;
    size_t i;

    if (size > 4096)
        return 0;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char v[64];
        int rc = pl_http_query_get(q, size, keys[i], v, sizeof(v));

        check(rc >= -1 && rc <= 1);
        if (rc == 1) {
            size_t len = strlen(v);

            check(len < sizeof(v));
            roundtrip(v, (long)len);
        }
    }
    b = pl_http_url_decode(q, size, big, sizeof(big), 0);
    a = pl_http_url_decode(q, size, small, sizeof(small), 0);
    check(b <= (long)size);
    if (b >= 0) {
        check(big[b] == '\0' && memchr(big, '\0', (size_t)b) == NULL);
        roundtrip(big, b);
    }
    if (a >= 0)
        check(b == a && memcmp(small, big, (size_t)a + 1) == 0);
    return 0;
}
