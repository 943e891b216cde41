/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP data addresses ("W12", "F100,4", "W10/3,20") and the values they name: parsing an
 * address, counting the words it covers, decoding element i from the words read at its
 * offset, formatting it for people, and parsing text into element i of a word buffer. The
 * word buffer holds exactly pl_ttcp_addr_words() words; nothing here reads or writes past
 * it. This module must not allocate, do I/O or touch errno; errors show where the address
 * is wrong, or which value is out of which range.
 */
#include "proto/ttcp/codec/ttcp_addr.h"
#include "plcline/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pl_status_set with a NULL-tolerant status. */
#define FAIL(st, code, ...) ((st) != NULL ? pl_status_set((st), (code), 0, __VA_ARGS__) : (code))

#define QUOTE_MAX      32     /* characters of offending text quoted in a message */
#define WORD_MAX       65535u /* last word offset */
#define BIT_MAX        15u    /* last bit of a word */
#define WORD_BITS      16u
#define FLOAT_TEXT     64             /* longest float text accepted, NUL included */
#define SATURATE_AT    0x100000000ull /* number parsing stops growing here (> any 32-bit value) */
#define TYPES_EXPECTED "W, I, D, L, F, B"

static int qlen(size_t n)
{
    return (int)(n > QUOTE_MAX ? QUOTE_MAX : n);
}

static const char *qell(size_t n)
{
    return n > QUOTE_MAX ? "..." : "";
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_print(char c)
{
    return c >= ' ' && c < 0x7f;
}

static int hex_val(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char *kind_name(pl_ttcp_kind_t kind)
{
    switch (kind) {
    case PL_TTCP_W:
        return "W";
    case PL_TTCP_I:
        return "I";
    case PL_TTCP_D:
        return "D";
    case PL_TTCP_L:
        return "L";
    case PL_TTCP_F:
        return "F";
    case PL_TTCP_B:
        return "B";
    case PL_TTCP_BIT:
        return "BIT";
    }
    return "?";
}

/* Unsigned decimal or 0x-hex digits at p[*i..n), saturating at SATURATE_AT. Returns 0 with
 * *i past the number, or -1 with *i at the first position that is not what was expected. */
static int num_parse(const char *p, size_t n, size_t *i, uint64_t *out)
{
    size_t k = *i;
    uint64_t v = 0;

    if (k + 1 < n && p[k] == '0' && (p[k + 1] == 'x' || p[k + 1] == 'X')) {
        k += 2;
        if (k >= n || hex_val(p[k]) < 0) {
            *i = k;
            return -1;
        }
        for (; k < n && hex_val(p[k]) >= 0; k++) {
            v = v * 16u + (uint64_t)hex_val(p[k]);
            if (v > SATURATE_AT)
                v = SATURATE_AT;
        }
    } else {
        if (k >= n || !is_digit(p[k]))
            return -1;
        for (; k < n && is_digit(p[k]); k++) {
            v = v * 10u + (uint64_t)(p[k] - '0');
            if (v > SATURATE_AT)
                v = SATURATE_AT;
        }
    }
    *i = k;
    *out = v;
    return 0;
}

/* The message for a character at column i+1 that is not what the grammar expects. */
static int unexpected(const char *s, size_t n, size_t i, const char *expected, pl_status_t *err)
{
    if (s[i] == '\0')
        return FAIL(err, PL_EADDR, "'%.*s%s': missing %s at column %zu", qlen(n), s, qell(n),
                    expected, i + 1);
    if (is_print(s[i]))
        return FAIL(err, PL_EADDR, "'%.*s%s': unexpected '%c' at column %zu (expected %s)", qlen(n),
                    s, qell(n), s[i], i + 1, expected);
    return FAIL(err, PL_EADDR, "'%.*s%s': unexpected byte 0x%02x at column %zu (expected %s)",
                qlen(n), s, qell(n), (unsigned)(unsigned char)s[i], i + 1, expected);
}

unsigned pl_ttcp_addr_elem_words(pl_ttcp_kind_t kind)
{
    switch (kind) {
    case PL_TTCP_D:
    case PL_TTCP_L:
    case PL_TTCP_F:
        return 2;
    case PL_TTCP_W:
    case PL_TTCP_I:
    case PL_TTCP_B:
    case PL_TTCP_BIT:
        return 1;
    }
    return 1;
}

uint32_t pl_ttcp_addr_words(const pl_ttcp_addr_t *a)
{
    if (a == NULL || a->count == 0)
        return 0;
    if (a->kind == PL_TTCP_BIT)
        return (a->bit + a->count - 1u) / WORD_BITS + 1u;
    return a->count * pl_ttcp_addr_elem_words(a->kind);
}

int pl_ttcp_addr_parse(pl_ttcp_addr_t *a, const char *s, pl_status_t *err)
{
    pl_ttcp_addr_t r;
    const char *next;
    size_t n, i = 1, at;
    uint64_t v;

    if (a == NULL || s == NULL)
        return FAIL(err, PL_EINVAL, "pl_ttcp_addr_parse: NULL argument");
    n = strlen(s);
    if (n == 0)
        return FAIL(err, PL_EADDR, "empty address (expected e.g. W12, F100,4 or W10/3)");

    memset(&r, 0, sizeof(r));
    r.count = 1;
    switch (s[0]) {
    case 'W':
    case 'w':
        r.kind = PL_TTCP_W;
        break;
    case 'I':
    case 'i':
        r.kind = PL_TTCP_I;
        break;
    case 'D':
    case 'd':
        r.kind = PL_TTCP_D;
        break;
    case 'L':
    case 'l':
        r.kind = PL_TTCP_L;
        break;
    case 'F':
    case 'f':
        r.kind = PL_TTCP_F;
        break;
    case 'B':
    case 'b':
        r.kind = PL_TTCP_B;
        break;
    default:
        if (is_print(s[0]))
            return FAIL(err, PL_EADDR, "'%.*s%s': unknown data type '%c' (expected %s)", qlen(n), s,
                        qell(n), s[0], TYPES_EXPECTED);
        return FAIL(err, PL_EADDR, "'%.*s%s': unknown data type byte 0x%02x (expected %s)", qlen(n),
                    s, qell(n), (unsigned)(unsigned char)s[0], TYPES_EXPECTED);
    }

    at = i;
    if (num_parse(s, n, &i, &v) != 0)
        return unexpected(s, n, i, i == at ? "an offset" : "hex digits", err);
    if (v > WORD_MAX)
        return FAIL(err, PL_EADDR, "'%.*s%s': offset at column %zu out of range 0..%u", qlen(n), s,
                    qell(n), at + 1, WORD_MAX);
    r.offset = (uint32_t)v;
    next = r.kind == PL_TTCP_W ? "'/', ',' or the end" : "',' or the end";

    if (s[i] == '/') {
        if (r.kind != PL_TTCP_W)
            return FAIL(err, PL_EADDR, "'%.*s%s': '/bit' at column %zu is only valid with W",
                        qlen(n), s, qell(n), i + 1);
        at = ++i;
        if (num_parse(s, n, &i, &v) != 0)
            return unexpected(s, n, i, i == at ? "a bit number" : "hex digits", err);
        if (v > BIT_MAX)
            return FAIL(err, PL_EADDR, "'%.*s%s': bit at column %zu out of range 0..%u", qlen(n), s,
                        qell(n), at + 1, BIT_MAX);
        r.kind = PL_TTCP_BIT;
        r.bit = (uint8_t)v;
        next = "',' or the end";
    }

    if (s[i] == ',') {
        at = ++i;
        if (num_parse(s, n, &i, &v) != 0)
            return unexpected(s, n, i, i == at ? "a count" : "hex digits", err);
        if (v < 1 || v > PL_TTCP_ADDR_MAX_COUNT)
            return FAIL(err, PL_EADDR, "'%.*s%s': count at column %zu out of range 1..%u", qlen(n),
                        s, qell(n), at + 1, PL_TTCP_ADDR_MAX_COUNT);
        r.count = (uint32_t)v;
        next = "the end";
    }

    if (s[i] != '\0')
        return unexpected(s, n, i, next, err);
    if (r.offset + pl_ttcp_addr_words(&r) - 1u > WORD_MAX)
        return FAIL(err, PL_EADDR, "'%.*s%s': range ends past word %u", qlen(n), s, qell(n),
                    WORD_MAX);
    *a = r;
    return 0;
}

static int kind_ok(pl_ttcp_kind_t kind)
{
    return (unsigned)kind <= (unsigned)PL_TTCP_BIT;
}

static int32_t i16_of(uint16_t w)
{
    return w >= 0x8000u ? (int32_t)w - 0x10000 : (int32_t)w;
}

static int32_t i32_of(uint32_t u)
{
    return (u & 0x80000000u) ? -(int32_t)(~u) - 1 : (int32_t)u;
}

void pl_ttcp_value_get(const pl_ttcp_addr_t *a, const uint16_t *words, uint32_t i, int swap,
                       pl_ttcp_value_t *out)
{
    uint32_t lo, hi, u, pos;

    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    if (a == NULL)
        return;
    out->kind = a->kind;
    if (words == NULL || i >= a->count || !kind_ok(a->kind))
        return;
    switch (a->kind) {
    case PL_TTCP_W:
        out->v.u = words[i];
        return;
    case PL_TTCP_I:
        out->v.i = i16_of(words[i]);
        return;
    case PL_TTCP_B:
        out->v.u = words[i] & 0xFFu; /* BYTE data: the high byte is 0 */
        return;
    case PL_TTCP_BIT:
        pos = a->bit + i;
        out->v.u = ((uint32_t)words[pos / WORD_BITS] >> (pos % WORD_BITS)) & 1u;
        return;
    case PL_TTCP_D:
    case PL_TTCP_L:
    case PL_TTCP_F:
        lo = words[2u * i + (swap ? 1u : 0u)];
        hi = words[2u * i + (swap ? 0u : 1u)];
        u = lo | (hi << 16);
        if (a->kind == PL_TTCP_D)
            out->v.u = u;
        else if (a->kind == PL_TTCP_L)
            out->v.i = i32_of(u);
        else
            memcpy(&out->v.f, &u, sizeof(out->v.f));
        return;
    }
}

int pl_ttcp_value_format(const pl_ttcp_value_t *v, char *buf, size_t cap)
{
    int n = -1;

    if (v == NULL || buf == NULL || cap == 0)
        return PL_ENOBUFS;
    switch (v->kind) {
    case PL_TTCP_W:
    case PL_TTCP_D:
    case PL_TTCP_B:
    case PL_TTCP_BIT:
        n = snprintf(buf, cap, "%lu", (unsigned long)v->v.u);
        break;
    case PL_TTCP_I:
    case PL_TTCP_L:
        n = snprintf(buf, cap, "%ld", (long)v->v.i);
        break;
    case PL_TTCP_F:
        n = snprintf(buf, cap, "%.9g", (double)v->v.f);
        break;
    }
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return PL_ENOBUFS;
    }
    return n;
}

/* Accepted range of an integer kind. */
static void int_range(pl_ttcp_kind_t kind, int64_t *min, int64_t *max)
{
    *min = 0;
    switch (kind) {
    case PL_TTCP_W:
        *max = 65535;
        return;
    case PL_TTCP_I:
        *min = -32768;
        *max = 32767;
        return;
    case PL_TTCP_B:
        *max = 255;
        return;
    case PL_TTCP_BIT:
        *max = 1;
        return;
    case PL_TTCP_D:
        *max = 4294967295;
        return;
    case PL_TTCP_L:
        *min = -2147483647 - 1;
        *max = 2147483647;
        return;
    case PL_TTCP_F:
        *max = 0;
        return;
    }
    *max = 0;
}

/* Parses float text p[0..n) (trimmed) on a bounded NUL-terminated copy. */
static int float_parse(const char *p, size_t n, uint32_t *bits, pl_status_t *err)
{
    char tmp[FLOAT_TEXT];
    char *end = NULL;
    size_t lead;
    float f;

    if (n >= sizeof(tmp))
        return FAIL(err, PL_EVALUE, "'%.*s%s': too long for an F value (finite float32)", qlen(n),
                    p, qell(n));
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    f = strtof(tmp, &end);
    /* strtof also takes "inf", "nan" and leading spaces: require [sign] digit or '.' */
    lead = (p[0] == '-' || p[0] == '+') ? 1u : 0u;
    if (end != tmp + n || lead >= n || !(is_digit(p[lead]) || p[lead] == '.'))
        return FAIL(err, PL_EVALUE, "'%.*s%s': not a number (F: finite float32)", qlen(n), p,
                    qell(n));
    if (!isfinite(f))
        return FAIL(err, PL_EVALUE, "'%.*s%s': out of range for F (finite float32)", qlen(n), p,
                    qell(n));
    memcpy(bits, &f, sizeof(*bits));
    return 0;
}

/* Parses integer text p[0..n) (trimmed) for `kind`: decimal or 0x hex, '-' only if signed. */
static int int_parse(pl_ttcp_kind_t kind, const char *p, size_t n, int64_t *out, pl_status_t *err)
{
    int64_t min, max, x;
    uint64_t mag;
    size_t i = 0;
    int neg = 0;

    int_range(kind, &min, &max);
    if (n > 0 && p[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (num_parse(p, n, &i, &mag) != 0 || i != n)
        return FAIL(err, PL_EVALUE, "'%.*s%s': not a number (%s: %lld..%lld)", qlen(n), p, qell(n),
                    kind_name(kind), (long long)min, (long long)max);
    if (neg && min == 0)
        return FAIL(err, PL_EVALUE, "'%.*s%s': negative, out of range (%s: %lld..%lld)", qlen(n), p,
                    qell(n), kind_name(kind), (long long)min, (long long)max);
    x = neg ? -(int64_t)mag : (int64_t)mag; /* mag <= SATURATE_AT: no overflow */
    if (x < min || x > max)
        return FAIL(err, PL_EVALUE, "'%.*s%s': out of range (%s: %lld..%lld)", qlen(n), p, qell(n),
                    kind_name(kind), (long long)min, (long long)max);
    *out = x;
    return 0;
}

int pl_ttcp_value_put(const pl_ttcp_addr_t *a, uint16_t *words, uint32_t i, int swap, const char *s,
                      size_t len, pl_status_t *err)
{
    int64_t x = 0;
    uint32_t u = 0, pos;
    uint16_t mask;
    int rc;

    if (a == NULL || words == NULL || (s == NULL && len > 0) || !kind_ok(a->kind))
        return FAIL(err, PL_EINVAL, "pl_ttcp_value_put: bad argument");
    if (i >= a->count)
        return FAIL(err, PL_EINVAL, "element %lu past the address's %lu elements", (unsigned long)i,
                    (unsigned long)a->count);
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0) {
        int64_t min, max;

        if (a->kind == PL_TTCP_F)
            return FAIL(err, PL_EVALUE, "empty value (F: finite float32)");
        int_range(a->kind, &min, &max);
        return FAIL(err, PL_EVALUE, "empty value (%s: %lld..%lld)", kind_name(a->kind),
                    (long long)min, (long long)max);
    }

    if (a->kind == PL_TTCP_F)
        rc = float_parse(s, len, &u, err);
    else
        rc = int_parse(a->kind, s, len, &x, err);
    if (rc != 0)
        return rc;

    switch (a->kind) {
    case PL_TTCP_W:
    case PL_TTCP_I:
    case PL_TTCP_B: /* BYTE data: one word, high byte 0 (range-checked above) */
        words[i] = (uint16_t)((uint64_t)x & 0xFFFFu);
        return 0;
    case PL_TTCP_BIT:
        pos = a->bit + i;
        mask = (uint16_t)(1u << (pos % WORD_BITS));
        if (x != 0)
            words[pos / WORD_BITS] = (uint16_t)(words[pos / WORD_BITS] | mask);
        else
            words[pos / WORD_BITS] = (uint16_t)(words[pos / WORD_BITS] & ~mask);
        return 0;
    case PL_TTCP_D:
    case PL_TTCP_L:
        u = (uint32_t)((uint64_t)x & 0xFFFFFFFFu);
        break;
    case PL_TTCP_F:
        break;
    }
    words[2u * i + (swap ? 1u : 0u)] = (uint16_t)(u & 0xFFFFu);
    words[2u * i + (swap ? 0u : 1u)] = (uint16_t)(u >> 16);
    return 0;
}
