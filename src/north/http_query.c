/* SPDX-License-Identifier: MIT */
/*
 * Percent-decoding and query parameters of request targets (see http_query.h).
 */
#include "north/http_query.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long pl_http_url_decode(const char *s, size_t n, char *out, size_t cap, int plus)
{
    size_t i, k = 0;

    if (cap == 0)
        return -1;
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '%') {
            int hi, lo;

            if (n - i < 3)
                return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        } else if (c == '\0') {
            return -1;
        }
        if (k + 1 >= cap) {
            out[0] = '\0';
            return -1;
        }
        out[k++] = c;
    }
    out[k] = '\0';
    return (long)k;
}

long pl_http_url_encode(const char *s, size_t n, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, k = 0;

    if (cap == 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';

        if (k + (plain ? 1u : 3u) >= cap) {
            out[0] = '\0';
            return -1;
        }
        if (plain) {
            out[k++] = (char)c;
        } else {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    out[k] = '\0';
    return (long)k;
}

int pl_http_query_get(const char *q, size_t n, const char *key, char *out, size_t cap)
{
    const char *end = q + n;
    size_t klen = strlen(key);

    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));

        if (eq != NULL && (size_t)(eq - q) == klen && memcmp(q, key, klen) == 0)
            return pl_http_url_decode(eq + 1, (size_t)(stop - eq - 1), out, cap, 1) < 0 ? -1 : 1;
        q = stop + 1;
    }
    return 0;
}
