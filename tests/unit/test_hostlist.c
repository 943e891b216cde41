/* SPDX-License-Identifier: MIT */
/*
 * Host list parsing (include/plcline/hostlist.h): every accepted form, every error with the
 * content of its message, D2000's own example, the 8-host limit and the text capacity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/error.h"
#include "plcline/hostlist.h"

static int parse(pl_hostlist_t *l, const char *s, pl_status_t *st)
{
    pl_status_clear(st);
    return pl_hostlist_parse(l, s, strlen(s), st);
}

/* Asserts that `s` fails with PL_EURL and that the detail contains every given fragment. */
static void expect_fail(const char *s, const char *frag1, const char *frag2)
{
    pl_hostlist_t l;
    pl_status_t st;
    int rc = parse(&l, s, &st);

    if (rc != PL_EURL || strstr(st.detail, frag1) == NULL ||
        (frag2 != NULL && strstr(st.detail, frag2) == NULL))
        print_error("input '%s': rc %d, detail '%s', wanted '%s' and '%s'\n", s, rc, st.detail,
                    frag1, frag2 ? frag2 : "");
    assert_int_equal(rc, PL_EURL);
    assert_int_equal(st.code, PL_EURL);
    assert_non_null(strstr(st.detail, frag1));
    if (frag2 != NULL)
        assert_non_null(strstr(st.detail, frag2));
    assert_int_equal(l.count, 0);
}

static void expect_host(const pl_hostlist_t *l, unsigned i, const char *name, uint16_t port)
{
    assert_true(i < l->count);
    assert_string_equal(pl_hostlist_name(l, i), name);
    assert_int_equal(l->host[i].port, port);
}

static void test_d2000_example(void **state)
{
    pl_hostlist_t l;
    pl_status_t st;

    (void)state;
    assert_int_equal(parse(&l, "172.16.0.1; 172.16.0.2", &st), 0);
    assert_int_equal(l.count, 2);
    expect_host(&l, 0, "172.16.0.1", 0);
    expect_host(&l, 1, "172.16.0.2", 0);
}

static void test_single_forms(void **state)
{
    pl_hostlist_t l;
    pl_status_t st;

    (void)state;
    assert_int_equal(parse(&l, "10.0.0.1", &st), 0);
    assert_int_equal(l.count, 1);
    expect_host(&l, 0, "10.0.0.1", 0);

    assert_int_equal(parse(&l, "10.0.0.1:502", &st), 0);
    expect_host(&l, 0, "10.0.0.1", 502);

    assert_int_equal(parse(&l, "plc-a.example", &st), 0);
    expect_host(&l, 0, "plc-a.example", 0);

    assert_int_equal(parse(&l, "plc_a.example:65535", &st), 0);
    expect_host(&l, 0, "plc_a.example", 65535);

    assert_int_equal(parse(&l, "localhost:1", &st), 0);
    expect_host(&l, 0, "localhost", 1);

    assert_int_equal(parse(&l, "255.255.255.255", &st), 0);
    expect_host(&l, 0, "255.255.255.255", 0);

    /* a name may start with a digit (RFC 1123) as long as it is not all digits and dots */
    assert_int_equal(parse(&l, "3com.example", &st), 0);
    expect_host(&l, 0, "3com.example", 0);
}

static void test_ipv6_forms(void **state)
{
    pl_hostlist_t l;
    pl_status_t st;

    (void)state;
    assert_int_equal(parse(&l, "[::1]:12398", &st), 0);
    expect_host(&l, 0, "::1", 12398);

    assert_int_equal(parse(&l, "[::1]", &st), 0);
    expect_host(&l, 0, "::1", 0);

    assert_int_equal(parse(&l, "::1", &st), 0);
    expect_host(&l, 0, "::1", 0);

    assert_int_equal(parse(&l, "::", &st), 0);
    expect_host(&l, 0, "::", 0);

    assert_int_equal(parse(&l, "fe80::1%eth0", &st), 0);
    expect_host(&l, 0, "fe80::1%eth0", 0);

    assert_int_equal(parse(&l, "[fe80::1%eth0]:502", &st), 0);
    expect_host(&l, 0, "fe80::1%eth0", 502);

    assert_int_equal(parse(&l, "2001:db8:0:0:0:0:0:1", &st), 0);
    expect_host(&l, 0, "2001:db8:0:0:0:0:0:1", 0);

    assert_int_equal(parse(&l, "[::ffff:192.168.0.1]:80", &st), 0);
    expect_host(&l, 0, "::ffff:192.168.0.1", 80);

    assert_int_equal(parse(&l, "2001:DB8::", &st), 0);
    expect_host(&l, 0, "2001:DB8::", 0);

    /* mixed list: bare IPv6, bracketed with port, IPv4, name */
    assert_int_equal(parse(&l, "::1, [2001:db8::2]:503;10.0.0.3 ;plc", &st), 0);
    assert_int_equal(l.count, 4);
    expect_host(&l, 0, "::1", 0);
    expect_host(&l, 1, "2001:db8::2", 503);
    expect_host(&l, 2, "10.0.0.3", 0);
    expect_host(&l, 3, "plc", 0);
}

static void test_separators_and_blanks(void **state)
{
    pl_hostlist_t l;
    pl_status_t st;

    (void)state;
    assert_int_equal(parse(&l, " \t10.0.0.1 ,\t10.0.0.2:503 ;  plc-a.example\t ", &st), 0);
    assert_int_equal(l.count, 3);
    expect_host(&l, 0, "10.0.0.1", 0);
    expect_host(&l, 1, "10.0.0.2", 503);
    expect_host(&l, 2, "plc-a.example", 0);

    assert_int_equal(parse(&l, "a,b;c", &st), 0);
    assert_int_equal(l.count, 3);
    expect_host(&l, 2, "c", 0);
}

static void test_not_nul_terminated(void **state)
{
    pl_hostlist_t l;
    pl_status_t st;
    const char buf[] = {'p', 'l', 'c', ':', '5', '0', '2', '9', '9'};

    (void)state;
    /* only the first 7 bytes count: "plc:502" */
    assert_int_equal(pl_hostlist_parse(&l, buf, 7, &st), 0);
    expect_host(&l, 0, "plc", 502);
    assert_int_equal(pl_hostlist_parse(&l, buf, 3, &st), 0);
    expect_host(&l, 0, "plc", 0);
}

static void test_eight_hosts_nine_rejected(void **state)
{
    pl_hostlist_t l;
    pl_status_t st;
    unsigned i;
    char name[16];

    (void)state;
    assert_int_equal(parse(&l, "h1,h2,h3,h4,h5,h6,h7,h8", &st), 0);
    assert_int_equal(l.count, 8);
    for (i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "h%u", i + 1);
        expect_host(&l, i, name, 0);
    }
    expect_fail("h1,h2,h3,h4,h5,h6,h7,h8,h9", "host 9", "more than 8 hosts");
    expect_fail("h1;h2;h3;h4;h5;h6;h7;h8;h9", "D2000", "'h9'");
}

static void test_empty_entries(void **state)
{
    (void)state;
    expect_fail("", "empty host list", NULL);
    expect_fail("  \t ", "empty host list", NULL);
    expect_fail("a,,b", "host 2", "empty entry");
    expect_fail("a,,b", "column 3", NULL);
    expect_fail(",a", "host 1", "empty entry");
    expect_fail("a,", "host 2", "trailing ','");
    expect_fail("a; ", "host 2", "trailing ';'");
    expect_fail("a, ,b", "host 2", "empty entry");
}

static void test_port_errors(void **state)
{
    (void)state;
    expect_fail("10.0.0.1:0", "host 1", "bad port '0'");
    expect_fail("a,10.0.0.1:65536", "host 2", "bad port '65536'");
    expect_fail("10.0.0.1:99999", "bad port '99999'", "1..65535");
    expect_fail("10.0.0.1:123456", "bad port '123456'", NULL);
    expect_fail("10.0.0.1:12a", "bad port '12a'", NULL);
    expect_fail("10.0.0.1:-1", "bad port '-1'", NULL);
    expect_fail("10.0.0.1:", "host 1", "missing port");
    expect_fail("[::1]:", "missing port", NULL);
    expect_fail("[::1]:0", "bad port '0'", NULL);
    expect_fail("[::1]:70000", "bad port '70000'", NULL);
    expect_fail(":502", "missing host before ':'", NULL);
    /* a name with two colons: the port part is reported */
    expect_fail("a,plc:99:1", "host 2 ('plc:99:1')", "bad port '99:1'");
}

static void test_ipv6_errors(void **state)
{
    (void)state;
    expect_fail("[::1", "host 1", "missing ']'");
    expect_fail("[]", "empty IPv6 address", NULL);
    expect_fail("[::1]x", "unexpected 'x' after ']'", NULL);
    expect_fail("[::g]", "bad IPv6 address", NULL);
    expect_fail("[plc-a]:80", "bad IPv6 address", NULL);
    expect_fail("[1:2:3:4:5:6:7:8:9]", "bad IPv6 address", NULL);
    expect_fail("[1:2:3:4:5:6:7]", "bad IPv6 address", NULL);
    expect_fail("[1::2::3]", "bad IPv6 address", NULL);
    expect_fail("[12345::1]", "bad IPv6 address", NULL);
    expect_fail("[::1%]", "bad IPv6 address", NULL);
    expect_fail("[:1]", "bad IPv6 address", NULL);
    expect_fail("[1:]", "bad IPv6 address", NULL);
    expect_fail("[::1.2.3]", "bad IPv6 address", NULL);
    expect_fail("a:b:c", "host 1 ('a:b:c')", "bad IPv6 address");
    expect_fail("x, 1:2:3", "host 2", "bad IPv6 address");
}

static void test_name_errors(void **state)
{
    (void)state;
    expect_fail("plc a", "host 1", "space inside a host");
    expect_fail("ok,pl$c", "host 2 ('pl$c')", "bad character '$'");
    expect_fail("1.2.3", "host 1", "bad IPv4 address");
    expect_fail("1.2.3.256", "bad IPv4 address", NULL);
    expect_fail("1.2.3.4.5", "bad IPv4 address", NULL);
    expect_fail("1..2.3", "bad IPv4 address", NULL);
    expect_fail("-plc", "must start with a letter or digit", NULL);
    expect_fail(".plc", "must start with a letter or digit", NULL);
    expect_fail("plc..example", "empty label", NULL);
    expect_fail("plc]", "bad character ']'", NULL);
}

static void test_long_text_quoted_and_capacity(void **state)
{
    pl_hostlist_t l;
    pl_status_t st;
    char s[1024];
    size_t i, n = 0;

    (void)state;
    /* a 300-character name: too long for DNS, quoted truncated with "..." */
    for (i = 0; i < 300; i++)
        s[n++] = 'a';
    s[n] = '\0';
    assert_int_equal(parse(&l, s, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "longer than 253"));
    assert_non_null(strstr(st.detail, "...'"));
    assert_true(strlen(st.detail) < PL_STATUS_DETAIL_MAX);

    /* 8 names of 63 characters: 8 * 64 = 512 bytes fit exactly */
    n = 0;
    for (i = 0; i < 8; i++) {
        size_t j;

        if (i > 0)
            s[n++] = ',';
        for (j = 0; j < 63; j++)
            s[n++] = (char)('a' + i);
    }
    s[n] = '\0';
    assert_int_equal(parse(&l, s, &st), 0);
    assert_int_equal(l.count, 8);
    assert_int_equal(strlen(pl_hostlist_name(&l, 7)), 63);
    assert_int_equal(pl_hostlist_name(&l, 7)[0], 'h');

    /* one more byte does not */
    s[n++] = 'x';
    s[n] = '\0';
    expect_fail(s, "host 8", "exceed 512 bytes");
}

static void test_null_status_and_args(void **state)
{
    pl_hostlist_t l;

    (void)state;
    assert_int_equal(pl_hostlist_parse(&l, "a,,b", 4, NULL), PL_EURL);
    assert_int_equal(pl_hostlist_parse(&l, "a,b", 3, NULL), 0);
    assert_int_equal(pl_hostlist_parse(NULL, "a", 1, NULL), PL_EINVAL);
    assert_int_equal(pl_hostlist_parse(&l, NULL, 1, NULL), PL_EINVAL);
    assert_int_equal(pl_hostlist_parse(&l, NULL, 0, NULL), PL_EURL); /* empty list */
    assert_null(pl_hostlist_name(NULL, 0));
    assert_int_equal(pl_hostlist_parse(&l, "a,b", 3, NULL), 0);
    assert_null(pl_hostlist_name(&l, 2));
    assert_string_equal(pl_hostlist_name(&l, 1), "b");
}

static void test_embedded_nul_rejected(void **state)
{
    pl_hostlist_t l;
    pl_status_t st;
    const char buf[] = {'a', '\0', 'b'};

    (void)state;
    assert_int_equal(pl_hostlist_parse(&l, buf, sizeof(buf), &st), PL_EURL);
    assert_non_null(strstr(st.detail, "bad byte 0x00"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_d2000_example),
        cmocka_unit_test(test_single_forms),
        cmocka_unit_test(test_ipv6_forms),
        cmocka_unit_test(test_separators_and_blanks),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_eight_hosts_nine_rejected),
        cmocka_unit_test(test_empty_entries),
        cmocka_unit_test(test_port_errors),
        cmocka_unit_test(test_ipv6_errors),
        cmocka_unit_test(test_name_errors),
        cmocka_unit_test(test_long_text_quoted_and_capacity),
        cmocka_unit_test(test_null_status_and_args),
        cmocka_unit_test(test_embedded_nul_rejected),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
