/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP data addresses and values (src/proto/ttcp/codec/ttcp_addr.h): every accepted address form
 * and every error with where it points, word counts incl. bit spill, count and range limits, value
 * put -> get round trips for every kind (with and without swap), boundary values, formatting, and
 * value errors naming the value and the range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ttcp/codec/ttcp_addr.h"
#include "plcline/error.h"

static pl_ttcp_addr_t addr(const char *s)
{
    pl_ttcp_addr_t a;
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_ttcp_addr_parse(&a, s, &st);
    if (rc != 0)
        print_error("address '%s': rc %d, detail '%s'\n", s, rc, st.detail);
    assert_int_equal(rc, 0);
    return a;
}

static void expect_addr(const char *s, pl_ttcp_kind_t kind, uint32_t offset, uint8_t bit,
                        uint32_t count, uint32_t words)
{
    pl_ttcp_addr_t a = addr(s);

    assert_int_equal(a.kind, kind);
    assert_int_equal(a.offset, offset);
    if (kind == PL_TTCP_BIT)
        assert_int_equal(a.bit, bit);
    assert_int_equal(a.count, count);
    assert_int_equal(pl_ttcp_addr_words(&a), words);
}

static void expect_addr_fail(const char *s, const char *frag1, const char *frag2)
{
    pl_ttcp_addr_t a = {PL_TTCP_D, 7, 0, 9};
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_ttcp_addr_parse(&a, s, &st);
    if (rc != PL_EADDR || strstr(st.detail, frag1) == NULL ||
        (frag2 != NULL && strstr(st.detail, frag2) == NULL))
        print_error("address '%s': rc %d, detail '%s', wanted '%s' and '%s'\n", s, rc, st.detail,
                    frag1, frag2 ? frag2 : "");
    assert_int_equal(rc, PL_EADDR);
    assert_int_equal(st.code, PL_EADDR);
    assert_non_null(strstr(st.detail, frag1));
    if (frag2 != NULL)
        assert_non_null(strstr(st.detail, frag2));
    /* a failed parse leaves the output alone */
    assert_int_equal(a.kind, PL_TTCP_D);
    assert_int_equal(a.offset, 7);
    assert_int_equal(a.count, 9);
}

static void test_addr_forms(void **state)
{
    (void)state;
    expect_addr("W12", PL_TTCP_W, 12, 0, 1, 1);
    expect_addr("w12", PL_TTCP_W, 12, 0, 1, 1);
    expect_addr("I0", PL_TTCP_I, 0, 0, 1, 1);
    expect_addr("i65535", PL_TTCP_I, 65535, 0, 1, 1);
    expect_addr("D100", PL_TTCP_D, 100, 0, 1, 2);
    expect_addr("l100,3", PL_TTCP_L, 100, 0, 3, 6);
    expect_addr("F100,4", PL_TTCP_F, 100, 0, 4, 8);
    expect_addr("b7,10", PL_TTCP_B, 7, 0, 10, 10);
    expect_addr("W0x10", PL_TTCP_W, 16, 0, 1, 1);
    expect_addr("W0XfFfF", PL_TTCP_W, 65535, 0, 1, 1);
    expect_addr("W007", PL_TTCP_W, 7, 0, 1, 1);
    expect_addr("W10/3", PL_TTCP_BIT, 10, 3, 1, 1);
    expect_addr("w10/0xf", PL_TTCP_BIT, 10, 15, 1, 1);
    expect_addr("W0,0x10", PL_TTCP_W, 0, 0, 16, 16);
}

static void test_addr_words_and_limits(void **state)
{
    (void)state;
    /* bit spill: W10/15,2 is bit 15 of word 10 and bit 0 of word 11 */
    expect_addr("W10/15,2", PL_TTCP_BIT, 10, 15, 2, 2);
    expect_addr("W10/0,16", PL_TTCP_BIT, 10, 0, 16, 1);
    expect_addr("W10/0,17", PL_TTCP_BIT, 10, 0, 17, 2);
    expect_addr("W10/1,16", PL_TTCP_BIT, 10, 1, 16, 2);
    expect_addr("W0/15,65536", PL_TTCP_BIT, 0, 15, 65536, 4097);
    /* counts up to 65536, words up to 65535 */
    expect_addr("W0,65536", PL_TTCP_W, 0, 0, 65536, 65536);
    expect_addr("W65535", PL_TTCP_W, 65535, 0, 1, 1);
    expect_addr("W65535,1", PL_TTCP_W, 65535, 0, 1, 1);
    expect_addr("D65534", PL_TTCP_D, 65534, 0, 1, 2);
    expect_addr("D0,32768", PL_TTCP_D, 0, 0, 32768, 65536);
    expect_addr("W65535/15", PL_TTCP_BIT, 65535, 15, 1, 1);
    expect_addr("W65520/0,256", PL_TTCP_BIT, 65520, 0, 256, 16);

    expect_addr_fail("W65535,2", "'W65535,2': range ends past word 65535", NULL);
    expect_addr_fail("W1,65536", "range ends past word 65535", NULL);
    expect_addr_fail("D65535", "range ends past word 65535", NULL);
    expect_addr_fail("D0,32769", "range ends past word 65535", NULL);
    expect_addr_fail("W65535/15,2", "range ends past word 65535", NULL);
    expect_addr_fail("W65520/1,256", "range ends past word 65535", NULL);
    expect_addr_fail("W0,65537", "count at column 4 out of range 1..65536", NULL);
    expect_addr_fail("W0,0", "count at column 4 out of range 1..65536", NULL);
    expect_addr_fail("W65536", "offset at column 2 out of range 0..65535", NULL);
    expect_addr_fail("W0x10000", "offset", "out of range 0..65535");
    expect_addr_fail("W99999999999999999999999999", "offset", "out of range");
    expect_addr_fail("W0,99999999999999999999999999", "count", "out of range");
}

static void test_addr_errors(void **state)
{
    (void)state;
    expect_addr_fail("W12x", "'W12x': unexpected 'x' at column 4", NULL);
    expect_addr_fail("Q5", "'Q5': unknown data type 'Q' (expected W, I, D, L, F, B)", NULL);
    expect_addr_fail("", "empty address", NULL);
    expect_addr_fail("W", "'W': missing an offset at column 2", NULL);
    expect_addr_fail("W,2", "unexpected ',' at column 2", "expected an offset");
    expect_addr_fail("W0x", "missing hex digits at column 4", NULL);
    expect_addr_fail("W0xg", "unexpected 'g' at column 4", "hex digits");
    expect_addr_fail("W-1", "unexpected '-' at column 2", NULL);
    expect_addr_fail("W 1", "unexpected ' ' at column 2", NULL);
    expect_addr_fail("W1 ", "unexpected ' ' at column 3", NULL);
    expect_addr_fail("D5/3", "'/bit' at column 3 is only valid with W", NULL);
    expect_addr_fail("I5/3", "only valid with W", NULL);
    expect_addr_fail("W5/16", "bit at column 4 out of range 0..15", NULL);
    expect_addr_fail("W5/", "missing a bit number at column 4", NULL);
    expect_addr_fail("W5/x", "unexpected 'x' at column 4", NULL);
    expect_addr_fail("W5,", "missing a count at column 4", NULL);
    expect_addr_fail("W5,2x", "unexpected 'x' at column 5 (expected the end)", NULL);
    expect_addr_fail("W5/2x", "unexpected 'x' at column 5 (expected ',' or the end)", NULL);
    expect_addr_fail("D5x", "(expected ',' or the end)", NULL);
    expect_addr_fail("W5,2/3", "unexpected '/' at column 5", NULL);
    expect_addr_fail("W5,2,3", "unexpected ',' at column 5", NULL);
    expect_addr_fail("\x01W", "unknown data type byte 0x01", NULL);
    expect_addr_fail("W1\x7f", "unexpected byte 0x7f at column 3", NULL);
}

static void test_addr_null_args(void **state)
{
    pl_ttcp_addr_t a;

    (void)state;
    assert_int_equal(pl_ttcp_addr_parse(NULL, "W1", NULL), PL_EINVAL);
    assert_int_equal(pl_ttcp_addr_parse(&a, NULL, NULL), PL_EINVAL);
    assert_int_equal(pl_ttcp_addr_parse(&a, "W1x", NULL), PL_EADDR);
    assert_int_equal(pl_ttcp_addr_words(NULL), 0);
    assert_int_equal(pl_ttcp_addr_elem_words(PL_TTCP_W), 1);
    assert_int_equal(pl_ttcp_addr_elem_words(PL_TTCP_I), 1);
    assert_int_equal(pl_ttcp_addr_elem_words(PL_TTCP_B), 1);
    assert_int_equal(pl_ttcp_addr_elem_words(PL_TTCP_BIT), 1);
    assert_int_equal(pl_ttcp_addr_elem_words(PL_TTCP_D), 2);
    assert_int_equal(pl_ttcp_addr_elem_words(PL_TTCP_L), 2);
    assert_int_equal(pl_ttcp_addr_elem_words(PL_TTCP_F), 2);
}

/* put `text` into element `i`, then get and format it back; the formatted text must equal
 * `expect`. */
static void round_trip(const pl_ttcp_addr_t *a, uint16_t *words, uint32_t i, int swap,
                       const char *text, const char *expect)
{
    pl_status_t st;
    pl_ttcp_value_t v;
    char buf[32];
    int rc, n;

    pl_status_clear(&st);
    rc = pl_ttcp_value_put(a, words, i, swap, text, strlen(text), &st);
    if (rc != 0)
        print_error("value '%s': rc %d, detail '%s'\n", text, rc, st.detail);
    assert_int_equal(rc, 0);
    pl_ttcp_value_get(a, words, i, swap, &v);
    assert_int_equal(v.kind, a->kind);
    n = pl_ttcp_value_format(&v, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    assert_string_equal(buf, expect);
}

static void expect_value_fail(const pl_ttcp_addr_t *a, const char *text, const char *frag1,
                              const char *frag2)
{
    uint16_t words[4] = {0x1111, 0x2222, 0x3333, 0x4444};
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_ttcp_value_put(a, words, 0, 0, text, strlen(text), &st);
    if (rc != PL_EVALUE || strstr(st.detail, frag1) == NULL ||
        (frag2 != NULL && strstr(st.detail, frag2) == NULL))
        print_error("value '%s': rc %d, detail '%s', wanted '%s' and '%s'\n", text, rc, st.detail,
                    frag1, frag2 ? frag2 : "");
    assert_int_equal(rc, PL_EVALUE);
    assert_non_null(strstr(st.detail, frag1));
    if (frag2 != NULL)
        assert_non_null(strstr(st.detail, frag2));
    /* nothing written */
    assert_int_equal(words[0], 0x1111);
    assert_int_equal(words[1], 0x2222);
}

static void test_values_w_i_b(void **state)
{
    pl_ttcp_addr_t w = addr("W0,3"), i = addr("I0,3"), b = addr("B0,3");
    uint16_t words[3] = {0};

    (void)state;
    round_trip(&w, words, 0, 0, "0", "0");
    round_trip(&w, words, 1, 0, "65535", "65535");
    round_trip(&w, words, 2, 0, "0xBEEF", "48879");
    assert_int_equal(words[0], 0);
    assert_int_equal(words[1], 0xFFFF);
    assert_int_equal(words[2], 0xBEEF);
    round_trip(&w, words, 0, 1, " 12 ", "12"); /* swap does not matter for one word */

    round_trip(&i, words, 0, 0, "-32768", "-32768");
    assert_int_equal(words[0], 0x8000);
    round_trip(&i, words, 1, 0, "32767", "32767");
    assert_int_equal(words[1], 0x7FFF);
    round_trip(&i, words, 2, 0, "-1", "-1");
    assert_int_equal(words[2], 0xFFFF);
    round_trip(&i, words, 2, 0, "-0x10", "-16");
    round_trip(&i, words, 2, 0, "-0", "0");

    round_trip(&b, words, 0, 0, "255", "255");
    assert_int_equal(words[0], 0x00FF);
    round_trip(&b, words, 1, 0, "0", "0");
    round_trip(&b, words, 2, 0, "0x7f", "127");
    assert_int_equal(words[2], 0x007F);

    expect_value_fail(&w, "65536", "'65536': out of range", "W: 0..65535");
    expect_value_fail(&w, "-1", "'-1': negative", "W: 0..65535");
    expect_value_fail(&w, "1.5", "'1.5': not a number", "W: 0..65535");
    expect_value_fail(&w, "+1", "not a number", NULL);
    expect_value_fail(&w, "0x", "'0x': not a number", NULL);
    expect_value_fail(&w, "12a", "not a number", NULL);
    expect_value_fail(&w, "", "empty value", "W: 0..65535");
    expect_value_fail(&w, "  ", "empty value", NULL);
    expect_value_fail(&w, "-", "not a number", NULL);
    expect_value_fail(&w, "99999999999999999999999", "out of range", "W: 0..65535");
    expect_value_fail(&i, "32768", "'32768': out of range", "I: -32768..32767");
    expect_value_fail(&i, "-32769", "out of range", "I: -32768..32767");
    expect_value_fail(&i, "0xFFFF", "out of range", NULL);
    expect_value_fail(&b, "256", "'256': out of range", "B: 0..255");
    expect_value_fail(&b, "-1", "negative", "B: 0..255");
}

static void test_values_b_get_masks_high_byte(void **state)
{
    pl_ttcp_addr_t b = addr("B0");
    uint16_t words[1] = {0x12AB};
    pl_ttcp_value_t v;

    (void)state;
    pl_ttcp_value_get(&b, words, 0, 0, &v);
    assert_int_equal(v.kind, PL_TTCP_B);
    assert_int_equal(v.v.u, 0xAB);
}

static void test_values_d_l_f(void **state)
{
    pl_ttcp_addr_t d = addr("D0,2"), l = addr("L0,2"), f = addr("F0,2");
    uint16_t words[4] = {0};

    (void)state;
    /* D: low word first, or high word first with swap */
    round_trip(&d, words, 0, 0, "0x12345678", "305419896");
    assert_int_equal(words[0], 0x5678);
    assert_int_equal(words[1], 0x1234);
    round_trip(&d, words, 1, 1, "0x12345678", "305419896");
    assert_int_equal(words[2], 0x1234);
    assert_int_equal(words[3], 0x5678);
    round_trip(&d, words, 0, 0, "4294967295", "4294967295");
    assert_int_equal(words[0], 0xFFFF);
    assert_int_equal(words[1], 0xFFFF);
    round_trip(&d, words, 0, 1, "65536", "65536");
    assert_int_equal(words[0], 0x0001);
    assert_int_equal(words[1], 0x0000);
    expect_value_fail(&d, "4294967296", "out of range", "D: 0..4294967295");
    expect_value_fail(&d, "-1", "negative", "D: 0..4294967295");

    round_trip(&l, words, 0, 0, "-2147483648", "-2147483648");
    assert_int_equal(words[0], 0x0000);
    assert_int_equal(words[1], 0x8000);
    round_trip(&l, words, 1, 0, "2147483647", "2147483647");
    assert_int_equal(words[2], 0xFFFF);
    assert_int_equal(words[3], 0x7FFF);
    round_trip(&l, words, 1, 1, "-2", "-2");
    assert_int_equal(words[2], 0xFFFF);
    assert_int_equal(words[3], 0xFFFE);
    round_trip(&l, words, 0, 1, "-0x7fffffff", "-2147483647");
    expect_value_fail(&l, "2147483648", "out of range", "L: -2147483648..2147483647");
    expect_value_fail(&l, "-2147483649", "out of range", NULL);

    round_trip(&f, words, 0, 0, "1.5", "1.5");
    assert_int_equal(words[0], 0x0000); /* 1.5f = 0x3FC00000 */
    assert_int_equal(words[1], 0x3FC0);
    round_trip(&f, words, 1, 1, "1.5", "1.5");
    assert_int_equal(words[2], 0x3FC0);
    assert_int_equal(words[3], 0x0000);
    round_trip(&f, words, 0, 0, "-0.1", "-0.100000001");
    round_trip(&f, words, 1, 1, "3.40282347e38", "3.40282347e+38");
    round_trip(&f, words, 0, 0, "1e-45", "1.40129846e-45");
    round_trip(&f, words, 0, 0, "+2", "2");
    round_trip(&f, words, 0, 0, ".5", "0.5");
    round_trip(&f, words, 0, 0, "100", "100");
    expect_value_fail(&f, "1e39", "'1e39': out of range", "finite float32");
    expect_value_fail(&f, "inf", "not a number", "F");
    expect_value_fail(&f, "nan", "not a number", NULL);
    expect_value_fail(&f, "-inf", "not a number", NULL);
    expect_value_fail(&f, "+nan", "not a number", NULL);
    expect_value_fail(&f, "-", "not a number", NULL);
    expect_value_fail(&f, "- 1", "not a number", NULL);
    expect_value_fail(&f, "1.5x", "not a number", NULL);
    expect_value_fail(&f, "1,5", "not a number", NULL);
    expect_value_fail(&f, "", "empty value", "F: finite float32");
    expect_value_fail(&f, "1.000000000000000000000000000000000000000000000000000000000000000001",
                      "too long", NULL);
}

static void test_values_f_not_nul_terminated(void **state)
{
    pl_ttcp_addr_t f = addr("F0"), w = addr("W0");
    uint16_t words[2] = {0};
    pl_ttcp_value_t v;
    const char text[] = {'2', '.', '5', '9', '9'};

    (void)state;
    assert_int_equal(pl_ttcp_value_put(&f, words, 0, 0, text, 3, NULL), 0);
    pl_ttcp_value_get(&f, words, 0, 0, &v);
    assert_true(v.v.f == 2.5f);
    assert_int_equal(pl_ttcp_value_put(&w, words, 0, 0, text, 1, NULL), 0);
    assert_int_equal(words[0], 2);
}

static void test_values_bits(void **state)
{
    pl_ttcp_addr_t a = addr("W10/15,3");
    uint16_t words[2] = {0x1234, 0xABCD};
    pl_ttcp_value_t v;

    (void)state;
    assert_int_equal(pl_ttcp_addr_words(&a), 2);
    /* element 0 is bit 15 of word 10; elements 1 and 2 spill into bits 0 and 1 of word 11 */
    round_trip(&a, words, 0, 0, "1", "1");
    assert_int_equal(words[0], 0x9234);
    assert_int_equal(words[1], 0xABCD);
    round_trip(&a, words, 1, 0, "0", "0");
    assert_int_equal(words[0], 0x9234);
    assert_int_equal(words[1], 0xABCC);
    round_trip(&a, words, 2, 0, "0", "0");
    assert_int_equal(words[1], 0xABCC);
    round_trip(&a, words, 2, 0, "1", "1");
    assert_int_equal(words[1], 0xABCE);
    round_trip(&a, words, 0, 0, "0x0", "0");
    assert_int_equal(words[0], 0x1234);
    pl_ttcp_value_get(&a, words, 2, 0, &v);
    assert_int_equal(v.kind, PL_TTCP_BIT);
    assert_int_equal(v.v.u, 1);

    expect_value_fail(&a, "2", "'2': out of range", "BIT: 0..1");
    expect_value_fail(&a, "-1", "negative", "BIT: 0..1");
    expect_value_fail(&a, "true", "not a number", NULL);
}

static void test_value_element_bounds(void **state)
{
    pl_ttcp_addr_t d = addr("D0,2");
    uint16_t words[4] = {1, 2, 3, 4};
    pl_ttcp_value_t v;
    pl_status_t st;

    (void)state;
    assert_int_equal(pl_ttcp_value_put(&d, words, 2, 0, "5", 1, &st), PL_EINVAL);
    assert_non_null(strstr(st.detail, "element 2"));
    assert_int_equal(words[3], 4);
    assert_int_equal(pl_ttcp_value_put(NULL, words, 0, 0, "5", 1, NULL), PL_EINVAL);
    assert_int_equal(pl_ttcp_value_put(&d, NULL, 0, 0, "5", 1, NULL), PL_EINVAL);
    assert_int_equal(pl_ttcp_value_put(&d, words, 0, 0, NULL, 1, NULL), PL_EINVAL);
    assert_int_equal(pl_ttcp_value_put(&d, words, 0, 0, NULL, 0, NULL), PL_EVALUE);
    /* get past the count yields 0 rather than reading past the buffer */
    pl_ttcp_value_get(&d, words, 2, 0, &v);
    assert_int_equal(v.kind, PL_TTCP_D);
    assert_int_equal(v.v.u, 0);
    pl_ttcp_value_get(&d, words, 1, 0, &v);
    assert_int_equal(v.v.u, 0x00040003);
    pl_ttcp_value_get(&d, words, 1, 1, &v);
    assert_int_equal(v.v.u, 0x00030004);
    pl_ttcp_value_get(NULL, words, 0, 0, &v);
    pl_ttcp_value_get(&d, words, 0, 0, NULL);
}

static void test_value_format(void **state)
{
    pl_ttcp_value_t v;
    char buf[16];

    (void)state;
    v.kind = PL_TTCP_D;
    v.v.u = 4294967295u;
    assert_int_equal(pl_ttcp_value_format(&v, buf, sizeof(buf)), 10);
    assert_string_equal(buf, "4294967295");
    assert_int_equal(pl_ttcp_value_format(&v, buf, 11), 10);
    assert_int_equal(pl_ttcp_value_format(&v, buf, 10), PL_ENOBUFS);
    assert_string_equal(buf, "");
    assert_int_equal(pl_ttcp_value_format(&v, buf, 0), PL_ENOBUFS);
    assert_int_equal(pl_ttcp_value_format(&v, NULL, 10), PL_ENOBUFS);
    assert_int_equal(pl_ttcp_value_format(NULL, buf, 10), PL_ENOBUFS);
    v.kind = PL_TTCP_L;
    v.v.i = -2147483647 - 1;
    assert_int_equal(pl_ttcp_value_format(&v, buf, sizeof(buf)), 11);
    assert_string_equal(buf, "-2147483648");
    v.kind = PL_TTCP_F;
    v.v.f = 0.1f;
    assert_int_equal(pl_ttcp_value_format(&v, buf, sizeof(buf)), 11);
    assert_string_equal(buf, "0.100000001");
    v.kind = PL_TTCP_BIT;
    v.v.u = 1;
    assert_int_equal(pl_ttcp_value_format(&v, buf, 2), 1);
    assert_string_equal(buf, "1");
}

/* Every formatted float parses back to the same bits (the "%.9g" promise). */
static void test_float_format_round_trips(void **state)
{
    static const uint32_t bits[] = {0x00000001, 0x007FFFFF, 0x00800000, 0x3DCCCCCD, 0x3F800001,
                                    0x4B7FFFFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x80000000, 0xC0490FDB};
    pl_ttcp_addr_t f = addr("F0");
    size_t k;

    (void)state;
    for (k = 0; k < sizeof(bits) / sizeof(bits[0]); k++) {
        uint16_t words[2] = {(uint16_t)(bits[k] & 0xFFFF), (uint16_t)(bits[k] >> 16)};
        uint16_t back[2] = {0, 0};
        pl_ttcp_value_t v;
        char buf[32];
        int n;

        pl_ttcp_value_get(&f, words, 0, 0, &v);
        n = pl_ttcp_value_format(&v, buf, sizeof(buf));
        assert_true(n > 0);
        assert_int_equal(pl_ttcp_value_put(&f, back, 0, 0, buf, (size_t)n, NULL), 0);
        assert_int_equal(back[0], words[0]);
        assert_int_equal(back[1], words[1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_forms),   cmocka_unit_test(test_addr_words_and_limits),
        cmocka_unit_test(test_addr_errors),  cmocka_unit_test(test_addr_null_args),
        cmocka_unit_test(test_values_w_i_b), cmocka_unit_test(test_values_b_get_masks_high_byte),
        cmocka_unit_test(test_values_d_l_f), cmocka_unit_test(test_values_f_not_nul_terminated),
        cmocka_unit_test(test_values_bits),  cmocka_unit_test(test_value_element_bounds),
        cmocka_unit_test(test_value_format), cmocka_unit_test(test_float_format_round_trips),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
