/* SPDX-License-Identifier: MIT */
/*
 * Golden vectors as text (see hex.h). Test support only, never part of the library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hex.h"

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t pl_test_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;

    while (*s != '\0') {
        int hi, lo;

        if (*s == ' ') {
            s++;
            continue;
        }
        hi = nibble(s[0]);
        assert_true(hi >= 0);
        lo = nibble(s[1]);
        assert_true(lo >= 0);
        assert_true(n < cap);
        out[n++] = (uint8_t)((hi << 4) | lo);
        s += 2;
    }
    return n;
}
