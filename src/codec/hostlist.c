/* SPDX-License-Identifier: MIT */
/*
 * Host lists: the D2000 "Host" parameter, up to 8 IPv4 literals, IPv6 literals (bracketed
 * with an optional port, or bare without one) or names, each optionally with ":port",
 * separated by ',' or ';'. Parsing only checks syntax and copies the names into the list's
 * own text[]; it must not resolve names, open sockets, allocate or touch errno. Every error
 * says which host (1-based) is wrong, quotes it and says what is wrong with it.
 */
#include "plcline/hostlist.h"
#include "plcline/error.h"

#include <string.h>

/* pl_status_set with a NULL-tolerant status. */
#define FAIL(st, code, ...) ((st) != NULL ? pl_status_set((st), (code), 0, __VA_ARGS__) : (code))

#define QUOTE_MAX    32  /* characters of offending text quoted in a message */
#define HOSTNAME_MAX 253 /* longest DNS name (RFC 1035, 255 octets on the wire) */

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

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_name_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

static int is_print(char c)
{
    return c > ' ' && c < 0x7f;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Dotted-quad IPv4: four decimal parts of 1..3 digits, each 0..255. */
static int ipv4_ok(const char *p, size_t n)
{
    size_t i = 0;
    unsigned part;

    for (part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t digits = 0;

        while (i < n && is_digit(p[i]) && digits < 4) {
            v = v * 10u + (unsigned)(p[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return 0;
        if (part < 3) {
            if (i >= n || p[i] != '.')
                return 0;
            i++;
        }
    }
    return i == n;
}

/* RFC 4291 text form: up to 8 groups of 1..4 hex digits, at most one "::", optionally an
 * IPv4 tail counting as two groups, optionally "%zone". */
static int ipv6_ok(const char *p, size_t n)
{
    size_t i = 0, end = n;
    unsigned groups = 0;
    int dcolon = 0;
    const char *pct = memchr(p, '%', n);

    if (pct != NULL) {
        size_t z = (size_t)(pct - p) + 1;

        if (z == n)
            return 0; /* empty zone */
        for (; z < n; z++)
            if (!is_name_char(p[z]))
                return 0;
        end = (size_t)(pct - p);
    }
    if (end < 2)
        return 0;
    if (p[0] == ':') {
        if (p[1] != ':')
            return 0;
        dcolon = 1;
        i = 2;
        if (i == end)
            return 1; /* "::" */
    }
    for (;;) {
        size_t j = i;

        while (j < end && is_hex(p[j]) && j - i < 5)
            j++;
        if (j < end && p[j] == '.') {
            if (!ipv4_ok(p + i, end - i))
                return 0;
            groups += 2;
            break;
        }
        if (j == i || j - i > 4)
            return 0;
        groups++;
        if (groups > 8)
            return 0;
        i = j;
        if (i == end)
            break;
        if (p[i] != ':')
            return 0;
        i++;
        if (i < end && p[i] == ':') {
            if (dcolon)
                return 0;
            dcolon = 1;
            i++;
            if (i == end)
                break;
        } else if (i == end) {
            return 0; /* trailing single ':' */
        }
    }
    return dcolon ? groups <= 7 : groups == 8;
}

/* Port 1..65535, decimal digits only. Returns the port or 0. */
static uint16_t port_parse(const char *p, size_t n)
{
    unsigned long v = 0;
    size_t i;

    if (n == 0 || n > 5)
        return 0;
    for (i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return 0;
        v = v * 10u + (unsigned long)(p[i] - '0');
    }
    return v <= 65535u ? (uint16_t)v : 0;
}

/* Checks a name or IPv4 literal; returns NULL when fine, else what is wrong. Sets *bad to
 * the offending character's index for a bad character. */
static const char *name_check(const char *p, size_t n, size_t *bad)
{
    size_t i;
    int numeric = 1;

    if (n > HOSTNAME_MAX)
        return "name longer than 253 characters";
    for (i = 0; i < n; i++) {
        if (!is_name_char(p[i])) {
            *bad = i;
            return "bad character";
        }
        if (!is_digit(p[i]) && p[i] != '.')
            numeric = 0;
    }
    if (numeric)
        return ipv4_ok(p, n) ? NULL : "bad IPv4 address";
    if (p[0] == '.' || p[0] == '-')
        return "name must start with a letter or digit";
    for (i = 0; i + 1 < n; i++)
        if (p[i] == '.' && p[i + 1] == '.')
            return "empty label '..' in name";
    return NULL;
}

static int store(pl_hostlist_t *list, size_t *used, const char *p, size_t n, uint16_t port,
                 pl_status_t *err)
{
    unsigned k = list->count;

    if (*used + n + 1 > sizeof(list->text))
        return FAIL(err, PL_EURL, "host %u: host names exceed %u bytes", k + 1,
                    (unsigned)sizeof(list->text));
    memcpy(list->text + *used, p, n);
    list->text[*used + n] = '\0';
    list->host[k].name = (uint16_t)*used;
    list->host[k].port = port;
    *used += n + 1;
    list->count = k + 1;
    return 0;
}

/* Parses one trimmed, non-empty host entry `p` (`n` bytes) as host number `k` (1-based). */
static int host_parse(pl_hostlist_t *list, size_t *used, unsigned k, const char *p, size_t n,
                      pl_status_t *err)
{
    const char *colon;
    const char *what;
    size_t ncolons = 0, i, bad = 0;
    uint16_t port = 0;

    if (p[0] == '[') {
        const char *close = memchr(p, ']', n);
        size_t alen;

        if (close == NULL)
            return FAIL(err, PL_EURL, "host %u ('%.*s%s'): missing ']'", k, qlen(n), p, qell(n));
        alen = (size_t)(close - p) - 1;
        if (alen == 0)
            return FAIL(err, PL_EURL, "host %u ('%.*s%s'): empty IPv6 address in brackets", k,
                        qlen(n), p, qell(n));
        if (!ipv6_ok(p + 1, alen))
            return FAIL(err, PL_EURL, "host %u ('%.*s%s'): bad IPv6 address", k, qlen(n), p,
                        qell(n));
        i = alen + 2; /* past ']' */
        if (i < n) {
            if (p[i] != ':' && !is_print(p[i]))
                return FAIL(err, PL_EURL, "host %u ('%.*s%s'): unexpected byte 0x%02x after ']'", k,
                            qlen(n), p, qell(n), (unsigned)(unsigned char)p[i]);
            if (p[i] != ':')
                return FAIL(err, PL_EURL, "host %u ('%.*s%s'): unexpected '%c' after ']'", k,
                            qlen(n), p, qell(n), p[i]);
            i++;
            if (i == n)
                return FAIL(err, PL_EURL, "host %u ('%.*s%s'): missing port after ':'", k, qlen(n),
                            p, qell(n));
            port = port_parse(p + i, n - i);
            if (port == 0)
                return FAIL(err, PL_EURL, "host %u: bad port '%.*s%s' (1..65535)", k, qlen(n - i),
                            p + i, qell(n - i));
        }
        return store(list, used, p + 1, alen, port, err);
    }

    for (i = 0; i < n; i++)
        if (p[i] == ':')
            ncolons++;
    colon = memchr(p, ':', n);

    if (ncolons >= 2) {
        /* Bare IPv6 literal: the whole entry is the address, no port. */
        int v6chars = 1;
        const char *pct = memchr(p, '%', n);
        size_t end = pct != NULL ? (size_t)(pct - p) : n;
        size_t pos = (size_t)(colon - p) + 1;

        if (ipv6_ok(p, n))
            return store(list, used, p, n, 0, err);
        for (i = 0; i < end; i++)
            if (!is_hex(p[i]) && p[i] != ':' && p[i] != '.')
                v6chars = 0;
        if (v6chars)
            return FAIL(err, PL_EURL, "host %u ('%.*s%s'): bad IPv6 address", k, qlen(n), p,
                        qell(n));
        return FAIL(err, PL_EURL, "host %u ('%.*s%s'): bad port '%.*s%s'", k, qlen(n), p, qell(n),
                    qlen(n - pos), p + pos, qell(n - pos));
    }

    if (colon != NULL) {
        size_t hlen = (size_t)(colon - p);
        size_t plen = n - hlen - 1;

        if (hlen == 0)
            return FAIL(err, PL_EURL, "host %u ('%.*s%s'): missing host before ':'", k, qlen(n), p,
                        qell(n));
        if (plen == 0)
            return FAIL(err, PL_EURL, "host %u ('%.*s%s'): missing port after ':'", k, qlen(n), p,
                        qell(n));
        port = port_parse(colon + 1, plen);
        if (port == 0)
            return FAIL(err, PL_EURL, "host %u: bad port '%.*s%s' (1..65535)", k, qlen(plen),
                        colon + 1, qell(plen));
        n = hlen;
    }

    what = name_check(p, n, &bad);
    if (what != NULL) {
        if (bad < n && !is_name_char(p[bad])) {
            if (is_blank(p[bad]))
                return FAIL(err, PL_EURL,
                            "host %u ('%.*s%s'): space inside a host (separate hosts by ',')", k,
                            qlen(n), p, qell(n));
            if (!is_print(p[bad]))
                return FAIL(err, PL_EURL, "host %u ('%.*s%s'): bad byte 0x%02x", k, qlen(n), p,
                            qell(n), (unsigned)(unsigned char)p[bad]);
            return FAIL(err, PL_EURL, "host %u ('%.*s%s'): bad character '%c'", k, qlen(n), p,
                        qell(n), p[bad]);
        }
        return FAIL(err, PL_EURL, "host %u ('%.*s%s'): %s", k, qlen(n), p, qell(n), what);
    }
    return store(list, used, p, n, port, err);
}

int pl_hostlist_parse(pl_hostlist_t *list, const char *s, size_t len, pl_status_t *err)
{
    size_t pos = 0, used = 0;
    unsigned k = 0;
    char sep = ',';
    int rc;

    if (list == NULL || (s == NULL && len > 0))
        return FAIL(err, PL_EINVAL, "pl_hostlist_parse: NULL argument");
    memset(list, 0, sizeof(*list));

    for (;;) {
        size_t start, end;

        while (pos < len && is_blank(s[pos]))
            pos++;
        start = pos;
        while (pos < len && s[pos] != ',' && s[pos] != ';')
            pos++;
        end = pos;
        while (end > start && is_blank(s[end - 1]))
            end--;
        k++;

        if (start == end) {
            if (k == 1 && pos == len)
                rc = FAIL(err, PL_EURL, "empty host list");
            else if (pos == len)
                rc = FAIL(err, PL_EURL, "host %u: empty entry after trailing '%c'", k, sep);
            else
                rc = FAIL(err, PL_EURL, "host %u: empty entry before '%c' at column %zu", k, s[pos],
                          pos + 1);
            goto fail;
        }
        if (k > PL_HOSTLIST_MAX) {
            rc = FAIL(
                err, PL_EURL, "host %u ('%.*s%s'): more than %u hosts (D2000 allows up to %u)", k,
                qlen(end - start), s + start, qell(end - start), PL_HOSTLIST_MAX, PL_HOSTLIST_MAX);
            goto fail;
        }
        rc = host_parse(list, &used, k, s + start, end - start, err);
        if (rc != 0)
            goto fail;
        if (pos == len)
            return 0;
        sep = s[pos++];
    }

fail:
    list->count = 0;
    return rc;
}

const char *pl_hostlist_name(const pl_hostlist_t *list, unsigned i)
{
    if (list == NULL || i >= list->count || list->host[i].name >= sizeof(list->text))
        return NULL;
    return list->text + list->host[i].name;
}

void pl_hostlist_trailing_port(pl_hostlist_t *list)
{
    unsigned i;
    uint16_t port;

    if (list == NULL || list->count < 2 || list->host[list->count - 1].port == 0)
        return;
    port = list->host[list->count - 1].port;
    for (i = 0; i + 1 < list->count; i++)
        if (list->host[i].port == 0)
            list->host[i].port = port;
}
