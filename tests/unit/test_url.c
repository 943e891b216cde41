/* SPDX-License-Identifier: MIT */
/*
 * Device URL parsing (src/codec/url.h): the header's examples, scheme rules, host lists with
 * default ports, path and query splitting (values keep ',' ';' ':' '[' ']'), duplicates,
 * limits, pl_url_get_uint ranges and pl_url_check_keys, each error with its message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "codec/url.h"
#include "plcline/error.h"

static pl_url_t url; /* ~2.5 KiB: kept off the test stack */

static void expect_fail(const char *s, const char *frag1, const char *frag2)
{
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_url_parse(&url, s, 12398, &st);
    if (rc != PL_EURL || strstr(st.detail, frag1) == NULL ||
        (frag2 != NULL && strstr(st.detail, frag2) == NULL))
        print_error("input '%s': rc %d, detail '%s', wanted '%s' and '%s'\n", s, rc, st.detail,
                    frag1, frag2 ? frag2 : "");
    assert_int_equal(rc, PL_EURL);
    assert_int_equal(st.code, PL_EURL);
    assert_non_null(strstr(st.detail, frag1));
    if (frag2 != NULL)
        assert_non_null(strstr(st.detail, frag2));
    assert_int_equal(url.nparams, 0);
    assert_int_equal(url.hosts.count, 0);
}

static void ok(const char *s, uint16_t default_port)
{
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_url_parse(&url, s, default_port, &st);
    if (rc != 0)
        print_error("input '%s': rc %d, detail '%s'\n", s, rc, st.detail);
    assert_int_equal(rc, 0);
}

static void expect_host(unsigned i, const char *name, uint16_t port)
{
    assert_true(i < url.hosts.count);
    assert_string_equal(pl_hostlist_name(&url.hosts, i), name);
    assert_int_equal(url.hosts.host[i].port, port);
}

static void test_header_examples(void **state)
{
    (void)state;
    ok("7ttcp://127.0.0.1:12398/3?timeout=500&keepalive=0", 1);
    assert_string_equal(url.scheme, "7ttcp");
    assert_int_equal(url.hosts.count, 1);
    expect_host(0, "127.0.0.1", 12398);
    assert_string_equal(url.path, "3");
    assert_int_equal(url.nparams, 2);
    assert_string_equal(url.param[0].key, "timeout");
    assert_string_equal(url.param[0].value, "500");
    assert_string_equal(url.param[1].key, "keepalive");
    assert_string_equal(url.param[1].value, "0");
    assert_string_equal(pl_url_get(&url, "timeout"), "500");
    assert_string_equal(pl_url_get(&url, "keepalive"), "0");
    assert_null(pl_url_get(&url, "node"));

    ok("7ttcp://10.0.0.1,10.0.0.2:12398/3", 502);
    assert_int_equal(url.hosts.count, 2);
    expect_host(0, "10.0.0.1", 12398); /* the list's trailing port, not the default */
    expect_host(1, "10.0.0.2", 12398);
    assert_string_equal(url.path, "3");
    assert_int_equal(url.nparams, 0);

    ok("7ttcp://[::1]:12398/0", 0);
    expect_host(0, "::1", 12398);
    assert_string_equal(url.path, "0");

    ok("pccc://plc-a.example?plc=slc500&path=1,0", 44818);
    assert_string_equal(url.scheme, "pccc");
    expect_host(0, "plc-a.example", 44818);
    assert_string_equal(url.path, "");
    assert_int_equal(url.nparams, 2);
    assert_string_equal(pl_url_get(&url, "plc"), "slc500");
    assert_string_equal(pl_url_get(&url, "path"), "1,0");
}

static void test_hosts_and_default_port(void **state)
{
    (void)state;
    ok("7ttcp://10.0.0.1, 10.0.0.2 ;plc-b:503/3", 12398);
    assert_int_equal(url.hosts.count, 3);
    expect_host(0, "10.0.0.1", 503); /* a trailing port is the whole list's */
    expect_host(1, "10.0.0.2", 503);
    expect_host(2, "plc-b", 503);

    ok("7ttcp://10.0.0.1:502,10.0.0.2/3", 12398); /* no trailing port: own or default */
    expect_host(0, "10.0.0.1", 502);
    expect_host(1, "10.0.0.2", 12398);

    ok("7ttcp://10.0.0.1:502,10.0.0.2,10.0.0.3:503/3", 12398); /* own ports stay */
    expect_host(0, "10.0.0.1", 502);
    expect_host(1, "10.0.0.2", 503);
    expect_host(2, "10.0.0.3", 503);

    ok("7ttcp://10.0.0.1", 0); /* 0 leaves ports 0 */
    expect_host(0, "10.0.0.1", 0);
    assert_string_equal(url.path, "");

    /* '/' and '?' inside brackets do not end the host list; bare IPv6 without port */
    ok("7ttcp://[fe80::1%eth0]:7/5", 1);
    expect_host(0, "fe80::1%eth0", 7);
    assert_string_equal(url.path, "5");
    ok("7ttcp://::1/5", 9);
    expect_host(0, "::1", 9);
    assert_string_equal(url.path, "5");
}

static void test_scheme(void **state)
{
    (void)state;
    ok("7TTCP://h", 1);
    assert_string_equal(url.scheme, "7ttcp");
    ok("Modbus+TCP.v-1://h", 1);
    assert_string_equal(url.scheme, "modbus+tcp.v-1");
    ok("abcdefghijklmno://h", 1); /* 15 characters */
    assert_string_equal(url.scheme, "abcdefghijklmno");

    expect_fail("abcdefghijklmnop://h", "longer than 15", "'abcdefghijklmnop'");
    expect_fail("://h", "missing scheme", NULL);
    expect_fail("127.0.0.1:12398/3", "missing '://'", NULL);
    expect_fail("7ttcp:/h", "missing '://'", NULL);
    expect_fail("7t_tcp://h", "bad character '_' in scheme", "column 3");
}

static void test_path(void **state)
{
    (void)state;
    ok("7ttcp://h/", 1);
    assert_string_equal(url.path, "");
    ok("7ttcp://h/a/b,c", 1);
    assert_string_equal(url.path, "a/b,c");
    ok("7ttcp://h/3?", 1);
    assert_string_equal(url.path, "3");
    assert_int_equal(url.nparams, 0);
    ok("7ttcp://h?", 1);
    assert_string_equal(url.path, "");
    assert_int_equal(url.nparams, 0);
}

static void test_query_values_keep_separators(void **state)
{
    (void)state;
    ok("eip://10.0.0.1?backup=10.0.0.3,10.0.0.4:502&local=[::1]:0&path=1,0&x=a;b&f&g=&h=a=b",
       44818);
    assert_int_equal(url.hosts.count, 1);
    assert_int_equal(url.nparams, 7);
    assert_string_equal(pl_url_get(&url, "backup"), "10.0.0.3,10.0.0.4:502");
    assert_string_equal(pl_url_get(&url, "local"), "[::1]:0");
    assert_string_equal(pl_url_get(&url, "path"), "1,0");
    assert_string_equal(pl_url_get(&url, "x"), "a;b");
    assert_string_equal(pl_url_get(&url, "f"), "");
    assert_string_equal(pl_url_get(&url, "g"), "");
    assert_string_equal(pl_url_get(&url, "h"), "a=b");
    /* values may contain '/' and '?' too: the query is split on '&' only */
    ok("7ttcp://h/3?file=/tmp/x?y", 1);
    assert_string_equal(url.path, "3");
    assert_string_equal(pl_url_get(&url, "file"), "/tmp/x?y");
}

static void test_query_errors(void **state)
{
    (void)state;
    expect_fail("7ttcp://h/3?timeout=1&timeout=2", "duplicate key 'timeout'", NULL);
    expect_fail("7ttcp://h?a=1&&b=2", "empty parameter", "column 15");
    expect_fail("7ttcp://h?a=1&", "empty parameter", NULL);
    expect_fail("7ttcp://h?&a", "empty parameter", NULL);
    expect_fail("7ttcp://h?=5", "missing key", NULL);
    expect_fail("7ttcp://h?a b=5", "bad character ' ' in key 'a b'", NULL);
    expect_fail("7ttcp://h/3\t", "control character 0x09", "column 12");
}

static void test_param_limit(void **state)
{
    char s[512];
    size_t n;
    unsigned i;

    (void)state;
    n = (size_t)snprintf(s, sizeof(s), "7ttcp://h?");
    for (i = 0; i < PL_URL_MAX_PARAMS; i++)
        n += (size_t)snprintf(s + n, sizeof(s) - n, "%sk%u=%u", i ? "&" : "", i, i);
    ok(s, 1);
    assert_int_equal(url.nparams, PL_URL_MAX_PARAMS);
    assert_string_equal(pl_url_get(&url, "k23"), "23");
    snprintf(s + n, sizeof(s) - n, "&k%u=%u", i, i);
    expect_fail(s, "more than 24 parameters", "'k24'");
}

static void test_text_capacity(void **state)
{
    static char s[2048];
    size_t n, i;

    (void)state;
    /* path of 1023 bytes + NUL fills text[] exactly */
    n = (size_t)snprintf(s, sizeof(s), "7ttcp://h/");
    for (i = 0; i < PL_URL_TEXT - 1; i++)
        s[n++] = 'p';
    s[n] = '\0';
    ok(s, 1);
    assert_int_equal(strlen(url.path), PL_URL_TEXT - 1);
    /* one more byte does not fit */
    s[n++] = 'p';
    s[n] = '\0';
    expect_fail(s, "exceed 1024 bytes", NULL);
    /* neither does a long value */
    n = (size_t)snprintf(s, sizeof(s), "7ttcp://h?a=");
    for (i = 0; i < PL_URL_TEXT; i++)
        s[n++] = 'v';
    s[n] = '\0';
    expect_fail(s, "exceed 1024 bytes", NULL);
}

static void test_host_errors_pass_through(void **state)
{
    (void)state;
    expect_fail("7ttcp:///3", "empty host list", NULL);
    expect_fail("7ttcp://a,b:99999/3", "host 2", "bad port '99999'");
    expect_fail("7ttcp://a,,b/3", "host 2", "empty entry");
    expect_fail("7ttcp://[::1/3", "missing ']'", NULL);
    expect_fail("7ttcp://h1,h2,h3,h4,h5,h6,h7,h8,h9/3", "host 9", "more than 8 hosts");
    ok("7ttcp://h1,h2,h3,h4,h5,h6,h7,h8/3", 1);
    assert_int_equal(url.hosts.count, 8);
}

static void test_get_uint(void **state)
{
    pl_status_t st;
    unsigned long v = 77;

    (void)state;
    ok("7ttcp://h?timeout=500&big=99999999999999999999999&neg=-1&hex=0x10&e=&z=0", 1);
    assert_int_equal(pl_url_get_uint(&url, "absent", 0, 10, &v, &st), 0);
    assert_int_equal(v, 77);
    assert_int_equal(pl_url_get_uint(&url, "timeout", 1, 60000, &v, &st), 1);
    assert_int_equal(v, 500);
    assert_int_equal(pl_url_get_uint(&url, "timeout", 500, 500, &v, &st), 1);
    assert_int_equal(pl_url_get_uint(&url, "z", 0, 1, &v, &st), 1);
    assert_int_equal(v, 0);

    {
        unsigned u = 7; /* the in-place form: kept when absent or refused, set when given */

        assert_int_equal(pl_url_get_unsigned(&url, "absent", 0, 10, &u, &st), 0);
        assert_int_equal(u, 7);
        assert_int_equal(pl_url_get_unsigned(&url, "timeout", 1, 499, &u, &st), PL_EURL);
        assert_int_equal(u, 7);
        assert_int_equal(pl_url_get_unsigned(&url, "timeout", 1, 60000, &u, &st), 1);
        assert_int_equal(u, 500);
    }

    v = 77;
    assert_int_equal(pl_url_get_uint(&url, "timeout", 1, 499, &v, &st), PL_EURL);
    assert_int_equal(v, 77);
    assert_non_null(strstr(st.detail, "timeout"));
    assert_non_null(strstr(st.detail, "1..499"));
    assert_int_equal(pl_url_get_uint(&url, "timeout", 501, 1000, &v, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "out of range 501..1000"));
    assert_int_equal(pl_url_get_uint(&url, "big", 0, 100, &v, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "big="));
    assert_non_null(strstr(st.detail, "0..100"));
    assert_int_equal(pl_url_get_uint(&url, "neg", 0, 100, &v, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "not a decimal number"));
    assert_int_equal(pl_url_get_uint(&url, "hex", 0, 100, &v, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "hex='0x10'"));
    assert_int_equal(pl_url_get_uint(&url, "e", 0, 100, &v, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "e: missing value"));
    assert_int_equal(pl_url_get_uint(&url, "e", 0, 100, &v, NULL), PL_EURL);
    assert_int_equal(v, 77);
}

static void test_check_keys(void **state)
{
    static const char *const known[] = {"timeout", "keepalive", "node", NULL};
    static const char *const none[] = {NULL};
    static const char *const many[] = {"aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb",
                                       "cccccccccccccccccccc", "dddddddddddddddddddd", NULL};
    pl_status_t st;

    (void)state;
    ok("7ttcp://h?timeout=1&node=3", 1);
    assert_int_equal(pl_url_check_keys(&url, known, &st), 0);
    ok("7ttcp://h", 1);
    assert_int_equal(pl_url_check_keys(&url, none, &st), 0);

    ok("7ttcp://h?timeout=1&tmeout=2", 1);
    assert_int_equal(pl_url_check_keys(&url, known, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "unknown key 'tmeout'"));
    assert_non_null(strstr(st.detail, "timeout, keepalive, node"));
    assert_int_equal(pl_url_check_keys(&url, none, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "unknown key 'timeout'"));
    assert_int_equal(pl_url_check_keys(&url, NULL, NULL), PL_EURL);
    assert_int_equal(pl_url_check_keys(&url, many, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "unknown key 'timeout'"));
    assert_non_null(strstr(st.detail, ", ..."));
    assert_true(strlen(st.detail) < PL_STATUS_DETAIL_MAX);
}

static void test_null_args(void **state)
{
    (void)state;
    assert_int_equal(pl_url_parse(NULL, "7ttcp://h", 1, NULL), PL_EINVAL);
    assert_int_equal(pl_url_parse(&url, NULL, 1, NULL), PL_EINVAL);
    assert_int_equal(pl_url_parse(&url, "nope", 1, NULL), PL_EURL);
    assert_string_equal(url.path, "");
    assert_null(pl_url_get(NULL, "a"));
    assert_null(pl_url_get(&url, NULL));
}

/* The same URL parses to the same result every time (no state kept between calls). */
static void test_reparse_same(void **state)
{
    static pl_url_t first;
    const char *s = "7ttcp://a:1;[::2]:3/p?k=v&x";
    ptrdiff_t path_off, key_off[PL_URL_MAX_PARAMS], value_off[PL_URL_MAX_PARAMS];
    unsigned i, n;

    (void)state;
    ok(s, 5);
    /* a copy by value keeps pointers into `url`: record offsets before parsing again */
    first = url;
    n = url.nparams;
    path_off = url.path - url.text;
    for (i = 0; i < n; i++) {
        key_off[i] = url.param[i].key - url.text;
        value_off[i] = url.param[i].value - url.text;
    }
    ok("other://z/q?m=n", 1);
    ok(s, 5);
    assert_string_equal(first.scheme, url.scheme);
    assert_memory_equal(&first.hosts, &url.hosts, sizeof(url.hosts));
    assert_memory_equal(first.text, url.text, sizeof(url.text));
    assert_int_equal(url.nparams, n);
    assert_int_equal(url.path - url.text, path_off);
    for (i = 0; i < n; i++) {
        assert_int_equal(url.param[i].key - url.text, key_off[i]);
        assert_int_equal(url.param[i].value - url.text, value_off[i]);
    }
    assert_string_equal(pl_url_get(&url, "k"), "v");
    assert_string_equal(pl_url_get(&url, "x"), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_examples),
        cmocka_unit_test(test_hosts_and_default_port),
        cmocka_unit_test(test_scheme),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_query_values_keep_separators),
        cmocka_unit_test(test_query_errors),
        cmocka_unit_test(test_param_limit),
        cmocka_unit_test(test_text_capacity),
        cmocka_unit_test(test_host_errors_pass_through),
        cmocka_unit_test(test_get_uint),
        cmocka_unit_test(test_check_keys),
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_reparse_same),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
