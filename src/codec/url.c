/* SPDX-License-Identifier: MIT */
/*
 * Device URLs: SCHEME://HOSTLIST[/PATH][?key=value&...]. The scheme is lower-cased into a
 * fixed field, the host list goes to pl_hostlist_parse(), the path, keys and values are
 * copied verbatim (no percent-decoding) into the URL's own text[] and the views point there,
 * so a parsed pl_url_t must not be copied by value (its pointers would still refer to the
 * original). This module must not allocate, resolve names, do I/O or touch errno; errors
 * say what is wrong and where.
 */
#include "codec/url.h"
#include "plcline/error.h"

#include <limits.h>
#include <string.h>

/* pl_status_set with a NULL-tolerant status. */
#define FAIL(st, code, ...) ((st) != NULL ? pl_status_set((st), (code), 0, __VA_ARGS__) : (code))

#define QUOTE_MAX 32 /* characters of offending text quoted in a message */

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

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_scheme_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '+' || c == '.' || c == '-';
}

static int is_key_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Copies `n` bytes of `p` plus a NUL into url->text at *used; NULL when it does not fit. */
static const char *put_text(pl_url_t *url, size_t *used, const char *p, size_t n)
{
    char *dst;

    if (*used + n + 1 > sizeof(url->text))
        return NULL;
    dst = url->text + *used;
    memcpy(dst, p, n);
    dst[n] = '\0';
    *used += n + 1;
    return dst;
}

static int parse_query(pl_url_t *url, const char *s, size_t q, size_t *used, pl_status_t *err)
{
    size_t a = q;

    for (;;) {
        size_t b = a, eq, klen, j;
        const char *key, *value;

        while (s[b] != '\0' && s[b] != '&')
            b++;
        if (b == a)
            return FAIL(err, PL_EURL, "empty parameter at column %zu", a + 1);
        eq = a;
        while (eq < b && s[eq] != '=')
            eq++;
        klen = eq - a;
        if (klen == 0)
            return FAIL(err, PL_EURL, "missing key before '=' at column %zu", a + 1);
        for (j = a; j < eq; j++)
            if (!is_key_char(s[j]))
                return FAIL(err, PL_EURL, "bad character '%c' in key '%.*s%s' at column %zu", s[j],
                            qlen(klen), s + a, qell(klen), j + 1);
        for (j = 0; j < url->nparams; j++)
            if (strlen(url->param[j].key) == klen && memcmp(url->param[j].key, s + a, klen) == 0)
                return FAIL(err, PL_EURL, "duplicate key '%.*s%s'", qlen(klen), s + a, qell(klen));
        if (url->nparams == PL_URL_MAX_PARAMS)
            return FAIL(err, PL_EURL, "more than %u parameters at '%.*s%s'", PL_URL_MAX_PARAMS,
                        qlen(klen), s + a, qell(klen));
        key = put_text(url, used, s + a, klen);
        value = NULL;
        if (key != NULL && eq < b)
            value = put_text(url, used, s + eq + 1, b - eq - 1);
        else if (key != NULL)
            value = put_text(url, used, "", 0);
        if (value == NULL)
            return FAIL(err, PL_EURL, "path and parameters exceed %u bytes",
                        (unsigned)sizeof(url->text));
        url->param[url->nparams].key = key;
        url->param[url->nparams].value = value;
        url->nparams++;
        if (s[b] == '\0')
            return 0;
        a = b + 1;
    }
}

static int parse(pl_url_t *url, const char *s, uint16_t default_port, pl_status_t *err)
{
    size_t i = 0, h, j, k, used = 0;
    unsigned n;
    int inbr = 0, rc;

    for (j = 0; s[j] != '\0'; j++)
        if ((unsigned char)s[j] < 0x20 || s[j] == 0x7f)
            return FAIL(err, PL_EURL, "control character 0x%02x at column %zu",
                        (unsigned)(unsigned char)s[j], j + 1);

    /* SCHEME "://" */
    while (is_scheme_char(s[i]))
        i++;
    if (s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/') {
        if (strstr(s, "://") == NULL)
            return FAIL(err, PL_EURL, "missing '://' (expected e.g. 7ttcp://host:port/node)");
        return FAIL(err, PL_EURL, "bad character '%c' in scheme at column %zu", s[i], i + 1);
    }
    if (i == 0)
        return FAIL(err, PL_EURL, "missing scheme before '://'");
    if (i >= sizeof(url->scheme))
        return FAIL(err, PL_EURL, "scheme '%.*s%s' longer than %u characters", qlen(i), s, qell(i),
                    (unsigned)sizeof(url->scheme) - 1);
    for (j = 0; j < i; j++)
        url->scheme[j] = lower(s[j]);
    url->scheme[i] = '\0';

    /* HOSTLIST: up to the first '/' or '?' outside brackets */
    h = i + 3;
    for (j = h; s[j] != '\0'; j++) {
        if (s[j] == '[')
            inbr = 1;
        else if (s[j] == ']')
            inbr = 0;
        else if (!inbr && (s[j] == '/' || s[j] == '?'))
            break;
    }
    rc = pl_hostlist_parse(&url->hosts, s + h, j - h, err);
    if (rc != 0)
        return rc;
    pl_hostlist_trailing_port(&url->hosts);
    for (n = 0; n < url->hosts.count; n++)
        if (url->hosts.host[n].port == 0)
            url->hosts.host[n].port = default_port;

    /* ["/" PATH] */
    k = j;
    if (s[j] == '/') {
        for (k = j + 1; s[k] != '\0' && s[k] != '?'; k++)
            ;
        url->path = put_text(url, &used, s + j + 1, k - j - 1);
    } else {
        url->path = put_text(url, &used, "", 0);
    }
    if (url->path == NULL)
        return FAIL(err, PL_EURL, "path and parameters exceed %u bytes",
                    (unsigned)sizeof(url->text));

    /* ["?" QUERY] */
    if (s[k] == '?' && s[k + 1] != '\0')
        return parse_query(url, s, k + 1, &used, err);
    return 0;
}

int pl_url_parse(pl_url_t *url, const char *s, uint16_t default_port, pl_status_t *err)
{
    int rc;

    if (url == NULL || s == NULL)
        return FAIL(err, PL_EINVAL, "pl_url_parse: NULL argument");
    memset(url, 0, sizeof(*url));
    url->path = url->text;
    rc = parse(url, s, default_port, err);
    if (rc != 0) {
        memset(url, 0, sizeof(*url));
        url->path = url->text;
    }
    return rc;
}

const char *pl_url_get(const pl_url_t *url, const char *key)
{
    unsigned i;

    if (url == NULL || key == NULL)
        return NULL;
    for (i = 0; i < url->nparams && i < PL_URL_MAX_PARAMS; i++)
        if (strcmp(url->param[i].key, key) == 0)
            return url->param[i].value;
    return NULL;
}

int pl_url_get_uint(const pl_url_t *url, const char *key, unsigned long min, unsigned long max,
                    unsigned long *out, pl_status_t *err)
{
    const char *v = pl_url_get(url, key);
    unsigned long x = 0;
    size_t i, n;
    int over = 0;

    if (v == NULL)
        return 0;
    n = strlen(v);
    if (n == 0)
        return FAIL(err, PL_EURL, "%.*s%s: missing value (expected %lu..%lu)", qlen(strlen(key)),
                    key, qell(strlen(key)), min, max);
    for (i = 0; i < n; i++) {
        unsigned long d;

        if (!is_digit(v[i]))
            return FAIL(err, PL_EURL, "%.*s%s='%.*s%s': not a decimal number (expected %lu..%lu)",
                        qlen(strlen(key)), key, qell(strlen(key)), qlen(n), v, qell(n), min, max);
        d = (unsigned long)(v[i] - '0');
        if (x > (ULONG_MAX - d) / 10u)
            over = 1;
        else
            x = x * 10u + d;
    }
    if (over || x < min || x > max)
        return FAIL(err, PL_EURL, "%.*s%s=%.*s%s: out of range %lu..%lu", qlen(strlen(key)), key,
                    qell(strlen(key)), qlen(n), v, qell(n), min, max);
    if (out != NULL)
        *out = x;
    return 1;
}

int pl_url_get_unsigned(const pl_url_t *url, const char *key, unsigned min, unsigned max,
                        unsigned *inout, pl_status_t *err)
{
    unsigned long v = *inout;
    int rc = pl_url_get_uint(url, key, min, max, &v, err);

    if (rc > 0)
        *inout = (unsigned)v;
    return rc;
}

int pl_url_check_keys(const pl_url_t *url, const char *const *known, pl_status_t *err)
{
    char names[PL_STATUS_DETAIL_MAX];
    size_t used = 0, budget;
    unsigned i;
    const char *const *k;

    if (url == NULL)
        return FAIL(err, PL_EINVAL, "pl_url_check_keys: NULL argument");
    for (i = 0; i < url->nparams && i < PL_URL_MAX_PARAMS; i++) {
        const char *key = url->param[i].key;
        size_t klen = strlen(key);

        for (k = known; k != NULL && *k != NULL; k++)
            if (strcmp(*k, key) == 0)
                break;
        if (k != NULL && *k != NULL)
            continue;

        /* "a, b, c", or "a, b, ..." when the names do not fit in the rest of the detail:
         * "unknown key '" KEY "' (known: " NAMES ")" */
        budget = sizeof(names) - 1 - strlen("unknown key '' (known: )") - (size_t)qlen(klen) -
                 strlen(qell(klen));
        for (k = known; k != NULL && *k != NULL; k++) {
            size_t sep = used ? 2 : 0, n = strlen(*k);
            size_t reserve = k[1] != NULL ? strlen(", ...") : 0; /* room to say there is more */

            if (used + sep + n + reserve > budget) {
                const char *more = used ? ", ..." : "...";

                memcpy(names + used, more, strlen(more));
                used += strlen(more);
                break;
            }
            memcpy(names + used, ", ", sep);
            memcpy(names + used + sep, *k, n);
            used += sep + n;
        }
        names[used] = '\0';
        if (used == 0)
            return FAIL(err, PL_EURL, "unknown key '%.*s%s' (no keys accepted here)", qlen(klen),
                        key, qell(klen));
        return FAIL(err, PL_EURL, "unknown key '%.*s%s' (known: %s)", qlen(klen), key, qell(klen),
                    names);
    }
    return 0;
}
