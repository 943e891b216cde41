/* SPDX-License-Identifier: MIT */
/*
 * The IEC 104 engine driver's quality mapping (pl_iec104_drv_convert, docs/iec104.md
 * "Engine"): IV -> bad (PL_EVALUE, with a detail), NT -> uncertain, SB, BL and OV kept as
 * flags beside a good quality, several bits together; the value kinds per type; and the
 * CP56Time2a as source time: taken as sent, none when its IV bit says the time is invalid
 * or when it is out of the calendar, and the summer-time bit moves nothing. Time tags are
 * built from their seven octets, as the client decodes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/codec/cp56.h"
#include "proto/iec104/drv_iec104.h"
#include "plcline/error.h"

/* 2026-12-07 08:15:42.123 (a Monday): ms, min, hour, day | weekday << 5, month, year. */
static const uint8_t TIME_TAG[7] = {0x8B, 0xA4, 15, 8, 7 | (1u << 5), 12, 26};
#define TIME_MS 1796631342123ll

static pl_iec104_point_t point(uint8_t type, uint8_t quality, double value, int32_t raw)
{
    pl_iec104_point_t p;

    memset(&p, 0, sizeof(p));
    p.ioa = 1001;
    p.ca = 1;
    p.type = type;
    p.cause = PL_IEC104_COT_SPONT;
    p.quality = quality;
    p.value = value;
    p.raw = raw;
    return p;
}

/* The point's time tag from octets `b` (with the minute octet's IV bit and the hour
 * octet's SU bit as given), converted as the client does. */
static void with_time(pl_iec104_point_t *p, const uint8_t b[7])
{
    pl_iec104_cp56_t t;

    pl_iec104_cp56_decode(b, &t);
    p->has_time = 1;
    p->time_iv = t.iv;
    p->time_su = t.su;
    if (pl_iec104_cp56_to_unix_ms(&t, &p->time_ms) < 0)
        p->time_ms = 0;
}

static void test_quality_bits(void **state)
{
    pl_iec104_point_t p;
    pl_drv_meta_t m;
    pl_value_t v;

    (void)state;
    /* none: good, no flags */
    p = point(PL_IEC104_M_ME_NC_1, 0, 1.5, 0);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_GOOD);
    assert_int_equal(m.flags, 0);
    assert_int_equal(m.error, 0);
    assert_null(m.detail);
    assert_int_equal(v.type, PL_VT_FLOAT);
    assert_true(v.f == 1.5);
    /* IV: bad with PL_EVALUE and why; the value still comes along */
    p.quality = PL_IEC104_Q_IV;
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_BAD);
    assert_int_equal(m.error, PL_EVALUE);
    assert_non_null(m.detail);
    assert_non_null(strstr(m.detail, "invalid (IV)"));
    assert_int_equal(m.flags, PL_QF_INVALID);
    assert_true(v.f == 1.5);
    /* NT: uncertain */
    p.quality = PL_IEC104_Q_NT;
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_UNCERTAIN);
    assert_int_equal(m.flags, PL_QF_NOT_TOPICAL);
    assert_int_equal(m.error, 0);
    /* SB, BL, OV: flags beside a good quality, each alone and together */
    p.quality = PL_IEC104_Q_SB;
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_GOOD);
    assert_int_equal(m.flags, PL_QF_SUBSTITUTED);
    p.quality = PL_IEC104_Q_BL;
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_GOOD);
    assert_int_equal(m.flags, PL_QF_BLOCKED);
    p.quality = PL_IEC104_Q_OV;
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_GOOD);
    assert_int_equal(m.flags, PL_QF_OVERFLOW);
    p.quality = PL_IEC104_Q_SB | PL_IEC104_Q_BL | PL_IEC104_Q_OV;
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_GOOD);
    assert_int_equal(m.flags, PL_QF_SUBSTITUTED | PL_QF_BLOCKED | PL_QF_OVERFLOW);
    /* NT with a flag: uncertain; IV over NT: bad, both flags kept */
    p.quality = PL_IEC104_Q_NT | PL_IEC104_Q_SB;
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_UNCERTAIN);
    assert_int_equal(m.flags, PL_QF_NOT_TOPICAL | PL_QF_SUBSTITUTED);
    p.quality = 0xF1; /* IV NT SB BL OV */
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_BAD);
    assert_int_equal(m.flags, PL_QF_INVALID | PL_QF_NOT_TOPICAL | PL_QF_SUBSTITUTED |
                                  PL_QF_BLOCKED | PL_QF_OVERFLOW);
}

static void test_value_kinds(void **state)
{
    pl_iec104_point_t p;
    pl_drv_meta_t m;
    pl_value_t v;

    (void)state;
    p = point(PL_IEC104_M_SP_NA_1, 0, 1, 1);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(v.type, PL_VT_BOOL);
    assert_int_equal(v.i, 1);
    p = point(PL_IEC104_M_SP_TB_1, PL_IEC104_Q_IV, 0, 0);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(v.type, PL_VT_BOOL);
    assert_int_equal(v.i, 0);
    assert_int_equal(m.quality, PL_Q_BAD);
    p = point(PL_IEC104_M_DP_NA_1, 0, 2, 2); /* on */
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(v.type, PL_VT_INT);
    assert_int_equal(v.i, 2);
    p = point(PL_IEC104_M_ST_NA_1, 0, -64, -64);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(v.type, PL_VT_INT);
    assert_int_equal(v.i, -64);
    p = point(PL_IEC104_M_ME_NA_1, 0, -0.5, -16384); /* normalized: value / 32768 */
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(v.type, PL_VT_FLOAT);
    assert_true(v.f == -0.5);
    p = point(PL_IEC104_M_ME_NB_1, 0, -1000, -1000);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(v.type, PL_VT_INT);
    assert_int_equal(v.i, -1000);
    p = point(PL_IEC104_M_IT_TB_1, 0, 123456, 123456);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(v.type, PL_VT_INT);
    assert_int_equal(v.i, 123456);
    p = point(PL_IEC104_M_BO_NA_1, 0, 0, (int32_t)0x80000001u);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(v.type, PL_VT_INT);
    assert_int_equal(v.i, (int32_t)0x80000001u);
}

static void test_source_time(void **state)
{
    pl_iec104_point_t p;
    pl_drv_meta_t m;
    pl_value_t v;
    uint8_t b[7];

    (void)state;
    /* a valid time tag is the source time, to the millisecond */
    p = point(PL_IEC104_M_ME_TF_1, 0, 2.0, 0);
    with_time(&p, TIME_TAG);
    assert_int_equal(p.time_ms, TIME_MS);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.source_ms, (uint64_t)TIME_MS);
    /* its IV bit (bit 7 of the minutes): no source time, the value itself stays good */
    memcpy(b, TIME_TAG, sizeof(b));
    b[2] |= 0x80u;
    p = point(PL_IEC104_M_ME_TF_1, 0, 2.0, 0);
    with_time(&p, b);
    assert_int_equal(p.time_iv, 1);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.source_ms, 0);
    assert_int_equal(m.quality, PL_Q_GOOD);
    assert_int_equal(m.flags, 0);
    /* SU (bit 7 of the hours): reported, never applied: the same instant */
    memcpy(b, TIME_TAG, sizeof(b));
    b[3] |= 0x80u;
    p = point(PL_IEC104_M_ME_TF_1, 0, 2.0, 0);
    with_time(&p, b);
    assert_int_equal(p.time_su, 1);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.source_ms, (uint64_t)TIME_MS);
    /* a time out of the calendar (31 November): none */
    memcpy(b, TIME_TAG, sizeof(b));
    b[4] = 31;
    b[5] = 11;
    p = point(PL_IEC104_M_ME_TF_1, 0, 2.0, 0);
    with_time(&p, b);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.source_ms, 0);
    /* a type without a time tag: none */
    p = point(PL_IEC104_M_ME_NC_1, 0, 2.0, 0);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.source_ms, 0);
    /* an invalid value with a valid time keeps its time */
    p = point(PL_IEC104_M_ME_TF_1, PL_IEC104_Q_IV, 2.0, 0);
    with_time(&p, TIME_TAG);
    pl_iec104_drv_convert(&p, &v, &m);
    assert_int_equal(m.quality, PL_Q_BAD);
    assert_int_equal(m.source_ms, (uint64_t)TIME_MS);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quality_bits),
        cmocka_unit_test(test_value_kinds),
        cmocka_unit_test(test_source_time),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
