/* SPDX-License-Identifier: MIT */
/*
 * Allen-Bradley data-table addresses and values (src/proto/pccc/codec/pccc_addr.h): every accepted
 * address form with its file type, numbers, bit, element size and count; every error with the
 * column it points at; format -> parse round trips; the SLC and PLC-5 wire forms; value
 * put -> get -> format -> parse round trips for every kind (int16, int32, float, bits,
 * timer/counter/control, string with its byte swap, ASCII); request limits and splitting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/pccc/codec/pccc_addr.h"
#include "plcline/error.h"

static pl_pccc_addr_t addr(const char *s)
{
    pl_pccc_addr_t a;
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_pccc_addr_parse(&a, s, &st);
    if (rc != 0)
        print_error("address '%s': rc %d, detail '%s'\n", s, rc, st.detail);
    assert_int_equal(rc, 0);
    return a;
}

/* Parses `s`, checks the fields, and checks format -> parse gives the same address. */
static void expect(const char *s, uint8_t type, uint16_t file, uint16_t element, uint16_t sub,
                   int bit, uint8_t size, uint32_t count, pl_pccc_vkind_t kind, int member,
                   const char *canonical)
{
    pl_pccc_addr_t a = addr(s), b;
    char buf[64];
    int n;

    assert_int_equal(a.file_type, type);
    assert_int_equal(a.file, file);
    assert_int_equal(a.element, element);
    assert_int_equal(a.sub, sub);
    assert_int_equal(a.bit, bit);
    assert_int_equal(a.elem_size, size);
    assert_int_equal(a.count, count);
    assert_int_equal(a.kind, kind);
    assert_int_equal(a.member, member);
    n = pl_pccc_addr_format(&a, buf, sizeof(buf));
    assert_true(n > 0);
    assert_string_equal(buf, canonical);
    b = addr(buf);
    assert_memory_equal(&a, &b, sizeof(a));
}

static void expect_fail(const char *s, const char *frag1, const char *frag2)
{
    pl_pccc_addr_t a;
    pl_status_t st;
    int rc;

    memset(&a, 0x5A, sizeof(a));
    pl_status_clear(&st);
    rc = pl_pccc_addr_parse(&a, s, &st);
    if (rc != PL_EADDR || strstr(st.detail, frag1) == NULL ||
        (frag2 != NULL && strstr(st.detail, frag2) == NULL))
        print_error("address '%s': rc %d, detail '%s', wanted '%s' and '%s'\n", s, rc, st.detail,
                    frag1, frag2 ? frag2 : "");
    assert_int_equal(rc, PL_EADDR);
    assert_int_equal(st.code, PL_EADDR);
    assert_non_null(strstr(st.detail, frag1));
    if (frag2 != NULL)
        assert_non_null(strstr(st.detail, frag2));
    assert_int_equal(a.file, 0x5A5A); /* a failed parse leaves the output alone */
}

static void test_data_files(void **state)
{
    (void)state;
    expect("N7:0", 0x89, 7, 0, 0, -1, 2, 1, PL_PCCC_V_INT16, 0, "N7:0");
    expect("n7:12,10", 0x89, 7, 12, 0, -1, 2, 10, PL_PCCC_V_INT16, 0, "N7:12,10");
    expect("N:5", 0x89, 7, 5, 0, -1, 2, 1, PL_PCCC_V_INT16, 0, "N7:5");
    expect("N10:300", 0x89, 10, 300, 0, -1, 2, 1, PL_PCCC_V_INT16, 0, "N10:300");
    expect("N7:0/3", 0x89, 7, 0, 0, 3, 2, 1, PL_PCCC_V_BIT, 0, "N7:0/3");
    expect("F8:1", 0x8A, 8, 1, 0, -1, 4, 1, PL_PCCC_V_FLOAT, 0, "F8:1");
    expect("F:1,4", 0x8A, 8, 1, 0, -1, 4, 4, PL_PCCC_V_FLOAT, 0, "F8:1,4");
    expect("B3:0/5", 0x85, 3, 0, 0, 5, 2, 1, PL_PCCC_V_BIT, 0, "B3:0/5");
    expect("B3/17", 0x85, 3, 1, 0, 1, 2, 1, PL_PCCC_V_BIT, 0, "B3:1/1");
    expect("B:2", 0x85, 3, 2, 0, -1, 2, 1, PL_PCCC_V_INT16, 0, "B3:2");
    expect("B3/0,32", 0x85, 3, 0, 0, 0, 2, 32, PL_PCCC_V_BIT, 0, "B3:0/0,32");
    expect("L10:0", 0x91, 10, 0, 0, -1, 4, 1, PL_PCCC_V_INT32, 0, "L10:0");
    expect("L10:0/31", 0x91, 10, 0, 0, 31, 4, 1, PL_PCCC_V_BIT, 0, "L10:0/31");
    expect("ST9:0", 0x8D, 9, 0, 0, -1, 84, 1, PL_PCCC_V_STRING, 0, "ST9:0");
    expect("st9:1,2", 0x8D, 9, 1, 0, -1, 84, 2, PL_PCCC_V_STRING, 0, "ST9:1,2");
    expect("A10:0", 0x8E, 10, 0, 0, -1, 2, 1, PL_PCCC_V_ASCII, 0, "A10:0");
    expect("N999:65535", 0x89, 999, 65535, 0, -1, 2, 1, PL_PCCC_V_INT16, 0, "N999:65535");
}

static void test_structures(void **state)
{
    (void)state;
    expect("T4:0", 0x86, 4, 0, 0, -1, 6, 1, PL_PCCC_V_TIMER, 0, "T4:0");
    expect("T4:0.PRE", 0x86, 4, 0, 1, -1, 2, 1, PL_PCCC_V_INT16, 1, "T4:0.PRE");
    expect("T4:0.acc", 0x86, 4, 0, 2, -1, 2, 1, PL_PCCC_V_INT16, 1, "T4:0.ACC");
    expect("T4:0.EN", 0x86, 4, 0, 0, 15, 2, 1, PL_PCCC_V_BIT, 1, "T4:0.EN");
    expect("T4:0.TT", 0x86, 4, 0, 0, 14, 2, 1, PL_PCCC_V_BIT, 1, "T4:0.TT");
    expect("T:3/DN", 0x86, 4, 3, 0, 13, 2, 1, PL_PCCC_V_BIT, 1, "T4:3.DN");
    expect("C5:0", 0x87, 5, 0, 0, -1, 6, 1, PL_PCCC_V_COUNTER, 0, "C5:0");
    expect("C5:0.PRE", 0x87, 5, 0, 1, -1, 2, 1, PL_PCCC_V_INT16, 1, "C5:0.PRE");
    expect("C5:0.ACC", 0x87, 5, 0, 2, -1, 2, 1, PL_PCCC_V_INT16, 1, "C5:0.ACC");
    expect("C5:0.CU", 0x87, 5, 0, 0, 15, 2, 1, PL_PCCC_V_BIT, 1, "C5:0.CU");
    expect("C5:0.CD", 0x87, 5, 0, 0, 14, 2, 1, PL_PCCC_V_BIT, 1, "C5:0.CD");
    expect("C5:0.DN", 0x87, 5, 0, 0, 13, 2, 1, PL_PCCC_V_BIT, 1, "C5:0.DN");
    expect("C5:0.OV", 0x87, 5, 0, 0, 12, 2, 1, PL_PCCC_V_BIT, 1, "C5:0.OV");
    expect("C5:0.UN", 0x87, 5, 0, 0, 11, 2, 1, PL_PCCC_V_BIT, 1, "C5:0.UN");
    expect("R6:0", 0x88, 6, 0, 0, -1, 6, 1, PL_PCCC_V_CONTROL, 0, "R6:0");
    expect("R6:0.LEN", 0x88, 6, 0, 1, -1, 2, 1, PL_PCCC_V_INT16, 1, "R6:0.LEN");
    expect("R6:0.POS", 0x88, 6, 0, 2, -1, 2, 1, PL_PCCC_V_INT16, 1, "R6:0.POS");
    expect("R6:0.EN", 0x88, 6, 0, 0, 15, 2, 1, PL_PCCC_V_BIT, 1, "R6:0.EN");
    expect("R6:0.EU", 0x88, 6, 0, 0, 14, 2, 1, PL_PCCC_V_BIT, 1, "R6:0.EU");
    expect("R6:0.DN", 0x88, 6, 0, 0, 13, 2, 1, PL_PCCC_V_BIT, 1, "R6:0.DN");
    expect("R6:0.EM", 0x88, 6, 0, 0, 12, 2, 1, PL_PCCC_V_BIT, 1, "R6:0.EM");
    expect("R6:0.ER", 0x88, 6, 0, 0, 11, 2, 1, PL_PCCC_V_BIT, 1, "R6:0.ER");
    expect("R6:0.UL", 0x88, 6, 0, 0, 10, 2, 1, PL_PCCC_V_BIT, 1, "R6:0.UL");
    expect("R6:0.IN", 0x88, 6, 0, 0, 9, 2, 1, PL_PCCC_V_BIT, 1, "R6:0.IN");
    expect("R6:0.FD", 0x88, 6, 0, 0, 8, 2, 1, PL_PCCC_V_BIT, 1, "R6:0.FD");
    expect("T4:0,5", 0x86, 4, 0, 0, -1, 6, 5, PL_PCCC_V_TIMER, 0, "T4:0,5");
}

static void test_io_status(void **state)
{
    pl_pccc_addr_t a;

    (void)state;
    expect("S:1", 0x84, 2, 1, 0, -1, 2, 1, PL_PCCC_V_INT16, 0, "S2:1");
    expect("S2:1", 0x84, 2, 1, 0, -1, 2, 1, PL_PCCC_V_INT16, 0, "S2:1");
    expect("S:1/5", 0x84, 2, 1, 0, 5, 2, 1, PL_PCCC_V_BIT, 0, "S2:1/5");
    expect("I:1.0/3", 0x83, 1, 1, 0, 3, 2, 1, PL_PCCC_V_BIT, 0, "I1:1.0/3");
    expect("I1:1.2", 0x83, 1, 1, 2, -1, 2, 1, PL_PCCC_V_INT16, 0, "I1:1.2");
    expect("I:3/15", 0x83, 1, 3, 0, 15, 2, 1, PL_PCCC_V_BIT, 0, "I1:3.0/15");
    expect("O:0.0", 0x82, 0, 0, 0, -1, 2, 1, PL_PCCC_V_INT16, 0, "O0:0.0");
    expect("O0:2,4", 0x82, 0, 2, 0, -1, 2, 4, PL_PCCC_V_INT16, 0, "O0:2.0,4");
    a = addr("I:1.0/3");
    assert_int_equal(a.wire_type, PL_PCCC_FT_INPUT_SLOT);
    a = addr("O:0.0");
    assert_int_equal(a.wire_type, PL_PCCC_FT_OUTPUT_SLOT);
    a = addr("N7:0");
    assert_int_equal(a.wire_type, PL_PCCC_FT_INTEGER);
}

static void test_errors(void **state)
{
    (void)state;
    expect_fail("", "empty address", NULL);
    expect_fail("N7:x", "'N7:x': expected an element number at column 4", NULL);
    expect_fail("Q7:0", "'Q7:0': unknown file type 'Q'", NULL);
    expect_fail("NX7:0", "unknown file type 'NX'", NULL);
    expect_fail("\x01", "unknown file type byte 0x01", NULL);
    expect_fail("N7", "expected ':' at column 3 (end of address)", NULL);
    expect_fail("N7;0", "expected ':' at column 3, found ';'", NULL);
    expect_fail("B3-1", "expected ':' or '/' at column 3", NULL);
    expect_fail("N7:", "expected an element number at column 4 (end", NULL);
    expect_fail("N7:65536", "element number at column 4 out of range 0..65535", NULL);
    expect_fail("N1000:0", "file number at column 2 out of range 0..999", NULL);
    expect_fail("N2:0", "file number 2 at column 2 is reserved", NULL);
    expect_fail("S3:1", "S file is always file 2, not 3", NULL);
    expect_fail("I2:0", "I file is always file 1", NULL);
    expect_fail("O1:0", "O file is always file 0", NULL);
    expect_fail("L:0", "L needs a file number at column 2", NULL);
    expect_fail("ST:0", "ST needs a file number", NULL);
    expect_fail("A:0", "A needs a file number", NULL);
    expect_fail("N7:0/16", "bit number at column 6 out of range 0..15", NULL);
    expect_fail("L10:0/32", "out of range 0..31", NULL);
    expect_fail("N7:0/", "expected a bit number at column 6", NULL);
    expect_fail("F8:0/1", "'/bit' at column 5 is not valid for F", NULL);
    expect_fail("ST9:0/1", "not valid for ST", NULL);
    expect_fail("A9:0/1", "not valid for A", NULL);
    expect_fail("T4:0.XYZ", "expected a member (PRE, ACC, EN, TT, DN) at column 6", NULL);
    expect_fail("C5:0.EN", "expected a member (PRE, ACC, CU, CD, DN, OV, UN)", NULL);
    expect_fail("R6:0.TT", "LEN, POS, EN, EU, DN, EM, ER, UL, IN, FD", NULL);
    expect_fail("T4:0.PREX", "expected a member", "column 6");
    expect_fail("T4:0/13", "expected a member", NULL);
    expect_fail("T4:0.PRE,2", "not allowed with a structure member", NULL);
    expect_fail("N7:0,0", "count at column 6 out of range 1..65535", NULL);
    expect_fail("N7:0,65536", "count at column 6 out of range", NULL);
    expect_fail("N7:0,", "expected a count at column 6", NULL);
    expect_fail("N7:0 ", "expected ',<count>' or the end at column 5", NULL);
    expect_fail("N7:0.1", "expected ',<count>' or the end at column 5, found '.'", NULL);
    expect_fail("N7:65535,2", "range ends past element 65535", NULL);
    expect_fail("I:1.256", "word number at column 5 out of range 0..255", NULL);
    expect_fail("I:1.255,2", "range ends past word 255", NULL);
    expect_fail("B3/1048576", "bit number at column 4 out of range", NULL);
    expect_fail("N7:99999999999999999999999", "out of range", NULL);
    {
        pl_status_t st;
        pl_pccc_addr_t a;

        assert_int_equal(pl_pccc_addr_parse(NULL, "N7:0", &st), PL_EINVAL);
        assert_int_equal(pl_pccc_addr_parse(&a, NULL, NULL), PL_EINVAL);
        assert_int_equal(pl_pccc_addr_parse(&a, "Q", NULL), PL_EADDR);
    }
}

static void test_wire_forms(void **state)
{
    pl_pccc_addr_t a;
    pl_pccc_slc_addr_t s;
    pl_pccc_sysaddr_t p;
    uint32_t id, size;
    char buf[8];

    (void)state;
    a = addr("N7:0,10");
    assert_int_equal(pl_pccc_addr_bytes(&a), 20);
    assert_int_equal(pl_pccc_addr_slc(&a, &s), 0);
    assert_int_equal(s.size, 20); /* the seed's 0x14 */
    assert_int_equal(s.file, 7);
    assert_int_equal(s.type, 0x89);
    assert_int_equal(s.element, 0);
    assert_int_equal(s.sub, 0);
    a = addr("T4:2.ACC");
    assert_int_equal(pl_pccc_addr_slc(&a, &s), 0);
    assert_int_equal(s.size, 2);
    assert_int_equal(s.sub, 2);
    pl_pccc_addr_sysaddr(&a, &p);
    assert_int_equal(p.mask, 0x0E);
    assert_int_equal(p.level[1], 4);
    assert_int_equal(p.level[2], 2);
    assert_int_equal(p.level[3], 2);
    a = addr("I:1.2/3");
    assert_int_equal(pl_pccc_addr_slc(&a, &s), 0);
    assert_int_equal(s.type, PL_PCCC_FT_INPUT_SLOT);
    assert_int_equal(s.element, 1);
    assert_int_equal(s.sub, 2);
    a = addr("B3/0,33"); /* bits 0..32: three words */
    assert_int_equal(pl_pccc_addr_bytes(&a), 6);
    a = addr("B3:0/15,2"); /* bits 15 and 16: two words */
    assert_int_equal(pl_pccc_addr_bytes(&a), 4);
    a = addr("L10:0/31,2");
    assert_int_equal(pl_pccc_addr_bytes(&a), 8);
    a = addr("ST9:0,4");
    assert_int_equal(pl_pccc_addr_bytes(&a), 336);
    assert_int_equal(pl_pccc_addr_slc(&a, &s), PL_ERANGE);
    assert_int_equal(pl_pccc_addr_bytes(NULL), 0);

    a = addr("F8:0");
    pl_pccc_addr_plc5_type(&a, &id, &size);
    assert_int_equal(id, PL_PCCC_TD_FLOAT);
    assert_int_equal(size, 4);
    a = addr("B3:0");
    pl_pccc_addr_plc5_type(&a, &id, &size);
    assert_int_equal(id, PL_PCCC_TD_BIT_STRING);
    assert_int_equal(size, 2);
    a = addr("N7:0");
    pl_pccc_addr_plc5_type(&a, &id, &size);
    assert_int_equal(id, PL_PCCC_TD_INTEGER);
    a = addr("T4:0");
    pl_pccc_addr_plc5_type(&a, &id, &size);
    assert_int_equal(id, PL_PCCC_TD_TIMER);
    assert_int_equal(size, 6);
    a = addr("T4:0.PRE");
    pl_pccc_addr_plc5_type(&a, &id, &size);
    assert_int_equal(id, PL_PCCC_TD_INTEGER);
    assert_int_equal(size, 2);

    a = addr("N7:0,10");
    assert_int_equal(pl_pccc_addr_format(&a, buf, 8), 7);
    assert_int_equal(pl_pccc_addr_format(&a, buf, 7), PL_ENOBUFS);
    assert_string_equal(buf, "");
}

/* Parse `text` into element i of a fresh buffer, get it back, format it, and check the
 * formatted text; parsing the formatted text again must give the same bytes. */
static void round_trip(const char *address, uint32_t i, const char *text, const char *want)
{
    pl_pccc_addr_t a = addr(address);
    uint32_t n = pl_pccc_addr_bytes(&a);
    uint8_t *buf = malloc(n), *again = malloc(n);
    pl_pccc_value_t v;
    pl_status_t st;
    char out[512];
    int rc;

    memset(buf, 0, n);
    pl_status_clear(&st);
    rc = pl_pccc_value_parse(&a, buf, n, i, text, strlen(text), &st);
    if (rc != 0)
        print_error("'%s' = '%s': rc %d %s\n", address, text, rc, st.detail);
    assert_int_equal(rc, 0);
    assert_int_equal(pl_pccc_value_get(&a, buf, n, i, &v), 0);
    assert_int_equal(v.kind, a.kind);
    rc = pl_pccc_value_format(&v, out, sizeof(out));
    assert_true(rc >= 0);
    assert_string_equal(out, want);
    memcpy(again, buf, n);
    assert_int_equal(pl_pccc_value_parse(&a, again, n, i, out, (size_t)rc, &st), 0);
    assert_memory_equal(again, buf, n);
    free(buf);
    free(again);
}

static void expect_bytes(const char *address, uint32_t i, const char *text, const uint8_t *want,
                         size_t want_len)
{
    pl_pccc_addr_t a = addr(address);
    uint32_t n = pl_pccc_addr_bytes(&a);
    uint8_t *buf = malloc(n);

    memset(buf, 0, n);
    assert_int_equal(pl_pccc_value_parse(&a, buf, n, i, text, strlen(text), NULL), 0);
    assert_true(want_len <= n);
    assert_memory_equal(buf, want, want_len);
    free(buf);
}

static void test_values(void **state)
{
    (void)state;
    round_trip("N7:0", 0, "-32768", "-32768");
    round_trip("N7:0", 0, " 32767 ", "32767");
    round_trip("N7:0,3", 2, "0x7fff", "32767");
    round_trip("S:1", 0, "-1", "-1");
    round_trip("I:1.0", 0, "5", "5");
    round_trip("L10:0", 0, "-2147483648", "-2147483648");
    round_trip("L10:0,2", 1, "2147483647", "2147483647");
    round_trip("F8:1", 0, "1.5", "1.5");
    round_trip("F8:1,2", 1, "-0.1", "-0.100000001");
    round_trip("F8:0", 0, "3.40282347e38", "3.40282347e+38");
    round_trip("B3:0/5", 0, "1", "1");
    round_trip("B3/17,40", 39, "1", "1");
    round_trip("L10:0/31", 0, "1", "1");
    round_trip("T4:0.PRE", 0, "100", "100");
    round_trip("T4:0.DN", 0, "1", "1");
    round_trip("T4:0", 0, "EN=1 DN=1 PRE=100 ACC=5", "EN=1 TT=0 DN=1 PRE=100 ACC=5");
    round_trip("T4:0,2", 1, "pre=7, acc=-1", "EN=0 TT=0 DN=0 PRE=7 ACC=-1");
    round_trip("T4:0", 0, "CTL=0x8001", "EN=1 TT=0 DN=0 PRE=0 ACC=0 CTL=0x8001");
    round_trip("C5:0", 0, "CU=1 OV=1 UN=1 PRE=10 ACC=3", "CU=1 CD=0 DN=0 OV=1 UN=1 PRE=10 ACC=3");
    round_trip("R6:0", 0, "EN=1 FD=1 LEN=8 POS=2",
               "EN=1 EU=0 DN=0 EM=0 ER=0 UL=0 IN=0 FD=1 LEN=8 POS=2");
    round_trip("ST9:0", 0, "Hello", "Hello");
    round_trip("ST9:0,2", 1, "", "");
    round_trip("ST9:0", 0, "back\\\\slash \\x01\\x7f", "back\\\\slash \\x01\\x7f");
    round_trip(
        "ST9:0", 0,
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901",
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901");
    round_trip("A10:0", 0, "Hi", "Hi");
    round_trip("A10:0", 0, "H", "H\\x00");

    /* byte layouts */
    {
        static const uint8_t n7[] = {0xfe, 0xff};
        static const uint8_t f8[] = {0x00, 0x00, 0x80, 0x3f};
        static const uint8_t l10[] = {0x78, 0x56, 0x34, 0x12};
        static const uint8_t b3[] = {0x02, 0x00}; /* word 1 only */
        static const uint8_t t4[] = {0x00, 0xa0, 0x64, 0x00, 0x05, 0x00};
        static const uint8_t st[] = {0x05, 0x00, 'e', 'H', 'l', 'l', 0x00, 'o', 0x00};
        static const uint8_t a10[] = {'i', 'H'};

        expect_bytes("N7:0", 0, "-2", n7, sizeof(n7));
        expect_bytes("F8:0", 0, "1", f8, sizeof(f8));
        expect_bytes("L10:0", 0, "0x12345678", l10, sizeof(l10));
        expect_bytes("B3/17", 0, "1", b3, sizeof(b3));
        expect_bytes("T4:0", 0, "EN=1 DN=1 PRE=100 ACC=5", t4, sizeof(t4));
        expect_bytes("ST9:0", 0, "Hello", st, sizeof(st));
        expect_bytes("A10:0", 0, "Hi", a10, sizeof(a10));
    }
}

static void expect_value_fail(const char *address, const char *text, const char *frag)
{
    pl_pccc_addr_t a = addr(address);
    uint32_t n = pl_pccc_addr_bytes(&a);
    uint8_t *buf = malloc(n), *before = malloc(n);
    pl_status_t st;
    int rc;

    memset(buf, 0x33, n);
    memcpy(before, buf, n);
    pl_status_clear(&st);
    rc = pl_pccc_value_parse(&a, buf, n, 0, text, strlen(text), &st);
    if (rc != PL_EVALUE || strstr(st.detail, frag) == NULL)
        print_error("'%s' = '%s': rc %d '%s', wanted '%s'\n", address, text, rc, st.detail, frag);
    assert_int_equal(rc, PL_EVALUE);
    assert_non_null(strstr(st.detail, frag));
    assert_memory_equal(buf, before, n); /* nothing written */
    free(buf);
    free(before);
}

static void test_value_errors(void **state)
{
    pl_pccc_addr_t a;
    pl_pccc_value_t v;
    uint8_t buf[8] = {0};

    (void)state;
    expect_value_fail("N7:0", "32768", "out of range (N: -32768..32767)");
    expect_value_fail("N7:0", "abc", "not a number (N: -32768..32767)");
    expect_value_fail("N7:0", "  ", "empty value");
    expect_value_fail("L10:0", "2147483648", "out of range (L:");
    expect_value_fail("F8:0", "1e39", "out of range (F: finite float32)");
    expect_value_fail("F8:0", "nan", "not a number (F: finite float32)");
    expect_value_fail("B3:0/1", "2", "out of range (bit: 0..1)");
    expect_value_fail("T4:0", "XX=1", "unknown key");
    expect_value_fail("T4:0", "PRE", "expected KEY=value");
    expect_value_fail("T4:0", "EN=2", "out of range (EN: 0..1)");
    expect_value_fail("T4:0", "PRE=70000", "out of range (PRE:");
    expect_value_fail(
        "ST9:0",
        "01234567890123456789012345678901234567890123456789012345678901234567890123456789012",
        "longer than 82");
    expect_value_fail("ST9:0", "bad \\q", "bad escape at character 5");
    expect_value_fail("A10:0", "abc", "longer than 2");
    expect_value_fail("A10:0", "", "empty value (A");

    /* argument checks: element past the count, buffer too short, kind mismatch */
    a = addr("N7:0,2");
    assert_int_equal(pl_pccc_value_get(&a, buf, sizeof(buf), 2, &v), PL_EINVAL);
    assert_int_equal(pl_pccc_value_get(&a, buf, 3, 0, &v), PL_EINVAL);
    assert_int_equal(pl_pccc_value_parse(&a, buf, 3, 0, "1", 1, NULL), PL_EINVAL);
    assert_int_equal(pl_pccc_value_get(&a, buf, sizeof(buf), 1, &v), 0);
    v.kind = PL_PCCC_V_FLOAT;
    assert_int_equal(pl_pccc_value_put(&a, buf, sizeof(buf), 1, &v), PL_EINVAL);
    v.kind = PL_PCCC_V_INT16;
    v.i = 70000;
    assert_int_equal(pl_pccc_value_put(&a, buf, sizeof(buf), 1, &v), PL_ERANGE);
    a = addr("ST9:0");
    {
        uint8_t s[84];

        memset(&v, 0, sizeof(v));
        v.kind = PL_PCCC_V_STRING;
        v.len = 83;
        assert_int_equal(pl_pccc_value_put(&a, s, sizeof(s), 0, &v), PL_ERANGE);
        /* a LEN word above 82 from a device is clamped on reading */
        memset(s, 'x', sizeof(s));
        s[0] = 200;
        s[1] = 0;
        assert_int_equal(pl_pccc_value_get(&a, s, sizeof(s), 0, &v), 0);
        assert_int_equal(v.len, 82);
    }
    {
        char small[4];

        v.kind = PL_PCCC_V_INT32;
        v.i = -2147483647;
        assert_int_equal(pl_pccc_value_format(&v, small, sizeof(small)), PL_ENOBUFS);
        assert_string_equal(small, "");
    }
}

static void test_bits_only_their_bit(void **state)
{
    pl_pccc_addr_t a = addr("B3:0/15,2");
    uint8_t buf[4] = {0x55, 0x55, 0x55, 0x55};
    pl_pccc_value_t v;

    (void)state;
    assert_int_equal(pl_pccc_value_parse(&a, buf, sizeof(buf), 0, "1", 1, NULL), 0);
    assert_int_equal(buf[1], 0xD5);
    assert_int_equal(pl_pccc_value_parse(&a, buf, sizeof(buf), 1, "0", 1, NULL), 0);
    assert_int_equal(buf[2], 0x54);
    assert_int_equal(buf[0], 0x55);
    assert_int_equal(buf[3], 0x55);
    assert_int_equal(pl_pccc_value_get(&a, buf, sizeof(buf), 0, &v), 0);
    assert_int_equal(v.i, 1);
    a = addr("T4:0.TT");
    buf[0] = 0;
    buf[1] = 0;
    assert_int_equal(pl_pccc_value_parse(&a, buf, 2, 0, "1", 1, NULL), 0);
    assert_int_equal(buf[1], 0x40);
}

static void test_split(void **state)
{
    pl_pccc_chunk_t c[16];
    pl_pccc_addr_t a;
    int n;

    (void)state;
    assert_int_equal(pl_pccc_max_bytes(PL_PCCC_PROC_SLC_SMALL), 82);
    assert_int_equal(pl_pccc_max_bytes(PL_PCCC_PROC_SLC500), 234);
    assert_int_equal(pl_pccc_max_bytes(PL_PCCC_PROC_MICROLOGIX), 234);
    assert_int_equal(pl_pccc_max_bytes(PL_PCCC_PROC_PLC5), 220);
    assert_int_equal(pl_pccc_max_bytes(PL_PCCC_PROC_LOGIX), 234);
    assert_int_equal(pl_pccc_max_bytes(PL_PCCC_PROC_UNKNOWN), 82);

    a = addr("N7:10,250");
    n = pl_pccc_addr_split(&a, 234, c, 16);
    assert_int_equal(n, 3);
    assert_int_equal(c[0].element, 10);
    assert_int_equal(c[0].units, 117);
    assert_int_equal(c[0].bytes, 234);
    assert_int_equal(c[1].element, 127);
    assert_int_equal(c[1].offset, 234);
    assert_int_equal(c[2].element, 244);
    assert_int_equal(c[2].units, 16);
    assert_int_equal(c[2].bytes, 32);

    a = addr("F8:0,100");
    n = pl_pccc_addr_split(&a, 234, c, 16);
    assert_int_equal(n, 2);
    assert_int_equal(c[0].units, 58); /* 232 bytes: whole floats only */
    assert_int_equal(c[0].bytes, 232);
    assert_int_equal(c[1].element, 58);

    a = addr("T4:0,40");
    n = pl_pccc_addr_split(&a, 82, c, 16);
    assert_int_equal(n, 4); /* 13 + 13 + 13 + 1 timers of 6 bytes */
    assert_int_equal(c[3].units, 1);
    assert_int_equal(c[3].element, 39);
    assert_int_equal(c[0].units, 13);
    assert_int_equal(c[0].bytes, 78);

    a = addr("B3/0,4000"); /* 250 words */
    n = pl_pccc_addr_split(&a, 234, c, 16);
    assert_int_equal(n, 3);
    assert_int_equal(c[2].element, 234);
    assert_int_equal(c[2].units, 16);

    a = addr("I:2.1,4");
    n = pl_pccc_addr_split(&a, 4, c, 16);
    assert_int_equal(n, 2);
    assert_int_equal(c[1].element, 2);
    assert_int_equal(c[1].sub, 3);

    a = addr("T4:3.ACC");
    n = pl_pccc_addr_split(&a, 82, c, 16);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].element, 3);
    assert_int_equal(c[0].sub, 2);
    assert_int_equal(c[0].bytes, 2);

    a = addr("ST9:0,2");
    assert_int_equal(pl_pccc_addr_split(&a, 82, c, 16), PL_ERANGE);
    assert_int_equal(pl_pccc_addr_split(&a, 234, c, 16), 1); /* two strings, 168 bytes */

    /* too small an output array: the count needed, nothing past cap written */
    a = addr("N7:0,100");
    memset(c, 0xEE, sizeof(c));
    assert_int_equal(pl_pccc_addr_split(&a, 20, c, 2), 10);
    assert_int_equal(c[2].element, 0xEEEE);
    assert_int_equal(pl_pccc_addr_split(&a, 20, NULL, 0), 10);
    assert_int_equal(pl_pccc_addr_split(NULL, 20, c, 2), PL_EINVAL);
}

/* pl_pccc_addr_chunk(k) is chunk k of pl_pccc_addr_split, without the others: the same
 * count (or error) and the same chunk for every k, for every kind of address and a range of
 * request sizes; nothing written past the last chunk. */
static void test_chunk_is_split(void **state)
{
    static const char *const addrs[] = {
        "N7:0",   "N7:10,250", "F8:0,100",  "L10:1,70", "T4:0,40",      "T4:3.ACC",  "T4:0.DN",
        "C5:2,9", "R6:0,3",    "B3/0,4000", "B3/17,33", "B3:0/5",       "N7:0/3,40", "I:2.1,4",
        "O:0,7",  "S:1,60",    "ST9:0,2",   "A10:0,90", "N7:65000,535",
    };
    static const size_t maxes[] = {1, 2, 3, 4, 5, 6, 10, 82, 84, 100, 117, 168, 220, 234, 255};
    static pl_pccc_chunk_t all[70000];
    pl_pccc_chunk_t one;
    pl_pccc_addr_t a;
    size_t i, j;
    int n, m, k;

    (void)state;
    for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        a = addr(addrs[i]);
        for (j = 0; j < sizeof(maxes) / sizeof(maxes[0]); j++) {
            n = pl_pccc_addr_split(&a, maxes[j], all, sizeof(all) / sizeof(all[0]));
            assert_int_equal(pl_pccc_addr_chunk(&a, maxes[j], 0, NULL), n);
            if (n < 0)
                continue;
            assert_true((size_t)n <= sizeof(all) / sizeof(all[0]));
            for (k = 0; k < n; k++) {
                memset(&one, 0xEE, sizeof(one));
                m = pl_pccc_addr_chunk(&a, maxes[j], (uint32_t)k, &one);
                assert_int_equal(m, n);
                assert_memory_equal(&one, &all[k], sizeof(one));
            }
            memset(&one, 0xEE, sizeof(one));
            assert_int_equal(pl_pccc_addr_chunk(&a, maxes[j], (uint32_t)n, &one), n);
            assert_int_equal(one.element, 0xEEEE); /* past the last: untouched */
        }
    }
    a = addr("ST9:0,2");
    assert_int_equal(pl_pccc_addr_chunk(&a, 82, 0, &one), PL_ERANGE);
    assert_int_equal(pl_pccc_addr_chunk(NULL, 82, 0, &one), PL_EINVAL);
    a.count = 0;
    assert_int_equal(pl_pccc_addr_chunk(&a, 234, 0, &one), PL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_files),   cmocka_unit_test(test_structures),
        cmocka_unit_test(test_io_status),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_wire_forms),   cmocka_unit_test(test_values),
        cmocka_unit_test(test_value_errors), cmocka_unit_test(test_bits_only_their_bit),
        cmocka_unit_test(test_split),        cmocka_unit_test(test_chunk_is_split),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
