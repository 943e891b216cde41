/* SPDX-License-Identifier: MIT */
/*
 * The table of protocols and the lookups over it (registry.h), made from the one list of
 * protocols in src/proto/protocols.h.
 */
#include "proto/registry.h"
#include "proto/protocols.h"

#include "plcline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pl_protocol_<name>: src/proto/<name>/<name>_protocol.c */
#define DECLARE(name) extern const pl_protocol_t pl_protocol_##name;
PL_PROTOCOLS(DECLARE)
#undef DECLARE

#define ROW(name) &pl_protocol_##name,
static const pl_protocol_t *const protocols[] = {PL_PROTOCOLS(ROW)};
#undef ROW

#define NPROTOCOLS (sizeof(protocols) / sizeof(protocols[0]))

static int same_ci(const char *a, const char *b, size_t blen)
{
    size_t i;

    if (strlen(a) != blen)
        return 0;
    for (i = 0; i < blen; i++) {
        char x = a[i], y = b[i];

        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

const pl_protocol_t *pl_protocol_find(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < NPROTOCOLS; i++)
        if (same_ci(protocols[i]->name, name, len) || same_ci(protocols[i]->scheme, name, len))
            return protocols[i];
    return NULL;
}

const pl_protocol_t *pl_protocol_at(size_t i)
{
    return i < NPROTOCOLS ? protocols[i] : NULL;
}

const char *pl_protocol_list(char *buf, size_t cap)
{
    size_t i, n = 0;

    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (i = 0; i < NPROTOCOLS; i++) {
        int k = snprintf(buf + n, cap - n, "%s%s", i == 0 ? "" : ", ", protocols[i]->name);

        if (k < 0 || (size_t)k >= cap - n)
            break;
        n += (size_t)k;
    }
    return buf;
}

int pl_protocol_of_url(const char *url, const pl_protocol_t **out, pl_status_t *err)
{
    const char *sep = strstr(url, "://");
    char list[128];

    *out = NULL;
    if (sep == NULL)
        return pl_status_set(err, PL_EURL, 0,
                             "missing '://' (expected SCHEME://HOST, SCHEME one of: %s)",
                             pl_protocol_list(list, sizeof(list)));
    *out = pl_protocol_find(url, (size_t)(sep - url));
    if (*out == NULL)
        return pl_status_set(err, PL_EURL, 0, "unknown protocol '%.*s', expected one of: %s",
                             (int)((size_t)(sep - url) > 32 ? 32 : sep - url), url,
                             pl_protocol_list(list, sizeof(list)));
    return 0;
}

const pl_proto_key_t *pl_protocol_key(const pl_protocol_t *p, pl_key_scope_t scope,
                                      const char *name)
{
    const pl_proto_key_t *k = p->keys[scope];

    for (; k != NULL && k->name != NULL; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

int pl_keys_get(const char *keys, const char *key, char *out, size_t cap)
{
    const char *p = keys;
    size_t kl = strlen(key);

    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, "&");

        if (n > kl && p[kl] == '=' && strncmp(p, key, kl) == 0) {
            size_t vl = n - kl - 1;

            if (cap > 0) {
                if (vl >= cap)
                    vl = cap - 1;
                memcpy(out, p + kl + 1, vl);
                out[vl] = '\0';
            }
            return 1;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return 0;
}

int pl_keys_add(char *keys, size_t cap, const char *key, const char *value)
{
    size_t n = strlen(keys);
    int k = snprintf(keys + n, cap - n, "%s%s=%s", n > 0 ? "&" : "", key, value);

    if (k < 0 || (size_t)k >= cap - n) {
        keys[n] = '\0';
        return PL_ENOBUFS;
    }
    return 0;
}

/* A decimal number without sign, 0..UINT32_MAX; -1 on anything else. */
static long long parse_uint(const char *s, const char **end)
{
    unsigned long long v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > UINT32_MAX)
            return -1;
        p++;
    }
    *end = p;
    return (long long)v;
}

static int check_value(const pl_proto_key_t *k, const char *v, pl_status_t *err)
{
    const char *end = v, *q;
    long long a, b;

    switch (k->kind) {
    case PL_KEY_UINT:
    case PL_KEY_MS:
        a = parse_uint(v, &end);
        if (a < 0 || *end != '\0' || a < k->min || a > k->max)
            return pl_status_set(
                err, PL_ECONFIG, 0, "'%s' is '%.30s', expected %s from %u to %u", k->name, v,
                k->kind == PL_KEY_MS ? "milliseconds" : "a whole number", k->min, k->max);
        return 0;
    case PL_KEY_BOOL:
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
            return pl_status_set(err, PL_ECONFIG, 0, "'%s' is '%.30s', expected 0 or 1", k->name,
                                 v);
        return 0;
    case PL_KEY_RANGE:
        a = parse_uint(v, &end);
        b = a;
        if (a >= 0 && *end == '-')
            b = parse_uint(end + 1, &end);
        if (a < 0 || b < 0 || *end != '\0' || a > b || a < k->min || b > k->max ||
            (unsigned long long)(b - a) >= k->max_count)
            return pl_status_set(err, PL_ECONFIG, 0,
                                 "'%s' is '%.30s', expected a range such as 0-7 within %u-%u, "
                                 "at most %u values",
                                 k->name, v, k->min, k->max, k->max_count);
        return 0;
    case PL_KEY_QUERY:
        return 0;
    case PL_KEY_TEXT:
        if (*v == '\0' || strlen(v) > k->max || strchr(v, '&') != NULL)
            return pl_status_set(err, PL_ECONFIG, 0,
                                 "'%s' is '%.20s', expected 1 to %u characters without '&'",
                                 k->name, v, k->max);
        return 0;
    case PL_KEY_LIST:
        for (b = 0, q = v;; q = end + 1) {
            a = parse_uint(q, &end);
            if (a < 0 || a < k->min || a > k->max || ++b > k->max_count ||
                (*end != '\0' && *end != ','))
                return pl_status_set(err, PL_ECONFIG, 0,
                                     "'%s' is '%.20s', expected at most %u numbers %u-%u "
                                     "separated by ','",
                                     k->name, v, k->max_count, k->min, k->max);
            if (*end == '\0')
                return 0;
        }
    case PL_KEY_WORD:
        if (*v == '\0' || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789_-") != strlen(v))
            return pl_status_set(err, PL_ECONFIG, 0, "'%s' is '%.30s', expected a word", k->name,
                                 v);
        return 0;
    }
    return 0;
}

int pl_protocol_key_value_check(const pl_proto_key_t *k, const char *value, pl_status_t *err)
{
    return check_value(k, value, err);
}

int pl_protocol_keys_check(const pl_protocol_t *p, pl_key_scope_t scope, const char *keys,
                           pl_status_t *err)
{
    const pl_proto_key_t *k = p->keys[scope];
    const char *s = keys;
    int query = 0;

    /* A protocol without an engine driver (its simulator and client only, so far) cannot
     * serve a line: every line's keys come here, from the engine and from `run --check`, so
     * this is the one place that refuses it, before the engine would need the driver. */
    if (scope == PL_KEYS_LINE && p->driver == NULL)
        return pl_status_set(err, PL_ECONFIG, 0, "protocol '%s' has no engine driver yet", p->name);
    for (; k != NULL && k->name != NULL; k++)
        if (k->kind == PL_KEY_QUERY)
            query = 1;
    if (query)
        return p->keys_check != NULL ? p->keys_check(scope, keys, err) : 0;
    while (*s != '\0') {
        size_t n = strcspn(s, "&"), kl = strcspn(s, "=&");
        char name[32], value[PL_KEYS_MAX];
        const pl_proto_key_t *key;

        if (kl >= sizeof(name) || kl == n)
            return pl_status_set(err, PL_ECONFIG, 0, "bad key near '%.30s', expected key=value", s);
        memcpy(name, s, kl);
        name[kl] = '\0';
        key = pl_protocol_key(p, scope, name);
        if (key == NULL)
            return pl_status_set(err, PL_ECONFIG, 0, "'%s' does not apply to %s", name, p->name);
        if (n - kl - 1 >= sizeof(value))
            return pl_status_set(err, PL_ECONFIG, 0, "'%s' is too long", name);
        memcpy(value, s + kl + 1, n - kl - 1);
        value[n - kl - 1] = '\0';
        if (check_value(key, value, err) != 0)
            return PL_ECONFIG;
        s += n;
        if (*s == '&')
            s++;
    }
    return p->keys_check != NULL ? p->keys_check(scope, keys, err) : 0;
}

unsigned pl_protocol_uint(const pl_protocol_t *p, pl_key_scope_t scope, const char *keys,
                          const char *name)
{
    const pl_proto_key_t *k = pl_protocol_key(p, scope, name);
    char v[32];

    if (!pl_keys_get(keys, name, v, sizeof(v))) {
        if (k == NULL || k->def == NULL)
            return 0;
        snprintf(v, sizeof(v), "%s", k->def);
    }
    return (unsigned)strtoul(v, NULL, 10);
}
