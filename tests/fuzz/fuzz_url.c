/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for device URLs and host lists (src/codec/url.h, plcline/hostlist.h).
 * The input, made NUL-terminated, is parsed as a URL; when it parses, every view must lie in
 * the URL's own text and be NUL-terminated there, the counts must be within their limits,
 * and parsing the same string again must give the same result (and a failure the same
 * message). The raw input (not NUL-terminated) is also parsed as a host list so that ASan
 * catches any read past `len`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/url.h"
#include "plcline/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pl_url_t u1, u2;

static void check(int ok)
{
    if (!ok)
        abort();
}

/* `p` points into `text` (cap bytes) and is NUL-terminated there; returns its offset. */
static size_t in_text(const char *text, size_t cap, const char *p)
{
    size_t off;

    check(p >= text && p < text + cap);
    off = (size_t)(p - text);
    check(memchr(p, '\0', cap - off) != NULL);
    return off;
}

static void check_hosts(const pl_hostlist_t *l)
{
    unsigned i;

    check(l->count >= 1 && l->count <= PL_HOSTLIST_MAX);
    for (i = 0; i < l->count; i++) {
        const char *name = pl_hostlist_name(l, i);

        check(name != NULL);
        in_text(l->text, sizeof(l->text), name);
        check(name[0] != '\0');
    }
    check(pl_hostlist_name(l, l->count) == NULL);
}

static void check_status(const pl_status_t *st, int rc)
{
    check(rc < 0 && st->code == rc);
    check(memchr(st->detail, '\0', sizeof(st->detail)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const known[] = {"timeout", "keepalive", "node", "path", NULL};
    pl_status_t st1, st2;
    pl_hostlist_t hl;
    char *s = malloc(size + 1);
    int rc1, rc2;
    unsigned i;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    /* host list straight from the fuzzer's buffer: exactly `size` readable bytes */
    pl_status_clear(&st1);
    rc1 = pl_hostlist_parse(&hl, (const char *)data, size, &st1);
    if (rc1 == 0)
        check_hosts(&hl);
    else
        check_status(&st1, rc1);

    pl_status_clear(&st1);
    pl_status_clear(&st2);
    rc1 = pl_url_parse(&u1, s, 12398, &st1);
    rc2 = pl_url_parse(&u2, s, 12398, &st2);
    check(rc1 == rc2);
    if (rc1 != 0) {
        check_status(&st1, rc1);
        check(strcmp(st1.detail, st2.detail) == 0);
        check(u1.nparams == 0 && u1.hosts.count == 0 && u1.path != NULL && u1.path[0] == '\0');
        free(s);
        return 0;
    }

    check(memchr(u1.scheme, '\0', sizeof(u1.scheme)) != NULL);
    check(u1.scheme[0] != '\0');
    check_hosts(&u1.hosts);
    for (i = 0; i < u1.hosts.count; i++)
        check(u1.hosts.host[i].port != 0); /* default 12398 fills the rest */
    check(u1.nparams <= PL_URL_MAX_PARAMS);
    in_text(u1.text, sizeof(u1.text), u1.path);
    for (i = 0; i < u1.nparams; i++) {
        in_text(u1.text, sizeof(u1.text), u1.param[i].key);
        in_text(u1.text, sizeof(u1.text), u1.param[i].value);
        check(u1.param[i].key[0] != '\0');
        check(pl_url_get(&u1, u1.param[i].key) == u1.param[i].value); /* keys are unique */
    }

    /* the same string, the same result */
    check(strcmp(u1.scheme, u2.scheme) == 0);
    check(memcmp(&u1.hosts, &u2.hosts, sizeof(u1.hosts)) == 0);
    check(memcmp(u1.text, u2.text, sizeof(u1.text)) == 0);
    check(u1.nparams == u2.nparams);
    check(u1.path - u1.text == u2.path - u2.text);
    for (i = 0; i < u1.nparams; i++) {
        check(u1.param[i].key - u1.text == u2.param[i].key - u2.text);
        check(u1.param[i].value - u1.text == u2.param[i].value - u2.text);
    }

    /* the accessors never fail strangely */
    for (i = 0; i < u1.nparams; i++) {
        unsigned long v = 0;
        int rc = pl_url_get_uint(&u1, u1.param[i].key, 1, 65535, &v, &st1);

        check(rc == 1 || rc == PL_EURL);
        if (rc == 1)
            check(v >= 1 && v <= 65535);
        else
            check_status(&st1, rc);
    }
    rc1 = pl_url_check_keys(&u1, known, &st1);
    if (rc1 != 0)
        check_status(&st1, rc1);
    free(s);
    return 0;
}
