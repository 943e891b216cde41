/* SPDX-License-Identifier: MIT */
/*
 * The engine with the real IEC 104 driver and client against a scripted station on
 * loopback (docs/iec104.md, "Engine"): what the station's quality descriptors and time tags
 * become in the published tag states, end to end through the client's decoding and the
 * driver; tags found by IOA (several on one IOA, told apart by their type; objects no tag
 * names ignored); a tag's own 'stale' with the real driver; and every tag bad when the
 * connection goes down, good again with the next general interrogation; a reload that
 * keeps the connection keeps the values and interrogates the station for an added tag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/codec/cp56.h"
#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/line.h"

#define GUARD_MS 5000u
#define CA       1u
/* 2026-12-07 08:15:42.123 */
#define TIME_MS 1796631342123ll

enum { T_TIME, T_NT, T_IV, T_FLAGS, T_SP, T_DP, T_SU, T_STALE, T_TIME_IV, NTAGS };

static const struct {
    const char *name, *address;
    unsigned stale_ms;
} TAGS[NTAGS] = {
    {"time", "1001", 0},  {"nt", "M_ME_NC_1:1002", 0}, {"iv", "1003", 0},
    {"flags", "1004", 0}, {"sp", "M_SP_NA_1:1005", 0}, {"dp", "M_DP_NA_1:1005", 0},
    {"su", "1006", 0},    {"stale", "1008", 30},       {"time_iv", "1009", 0},
};

static struct {
    uv_loop_t loop;
    pl_listener_t *lst;
    pl_conn_t *conn;
    uint8_t rx[1024];
    size_t rx_len;
    uint16_t vs, vr;
    unsigned gis, closed;
    pl_engine_t *e;
    unsigned changes;
} S;

static const pl_iec104_params_t *params(void)
{
    static pl_iec104_params_t p;

    pl_iec104_params_default(&p);
    return &p;
}

static void send_asdu(const pl_iec104_asdu_t *h, const pl_iec104_object_t *o, size_t n)
{
    uint8_t asdu[PL_IEC104_MAX_ASDU], f[PL_IEC104_MAX_APDU];
    size_t fitted = 0;
    int len = pl_iec104_asdu_encode(asdu, sizeof(asdu), params(), h, o, n, &fitted);

    assert_true(len > 0);
    assert_int_equal(fitted, n);
    len = pl_iec104_encode_i(f, sizeof(f), S.vs, S.vr, asdu, (size_t)len);
    assert_true(len > 0);
    S.vs = pl_iec104_seq_add(S.vs, 1);
    assert_int_equal(pl_conn_send(S.conn, f, (size_t)len), 0);
}

static pl_iec104_object_t obj(uint32_t ioa, uint8_t quality)
{
    pl_iec104_object_t o;

    memset(&o, 0, sizeof(o));
    o.ioa = ioa;
    o.quality = quality;
    return o;
}

static void time_tag(pl_iec104_object_t *o, int iv, int su)
{
    assert_int_equal(pl_iec104_cp56_from_unix_ms(TIME_MS, &o->time), 0);
    o->has_time = 1;
    o->time.iv = (uint8_t)iv;
    o->time.su = (uint8_t)su;
}

/* One object of type `type` with cause 20. */
static void send_one(uint8_t type, const pl_iec104_object_t *o)
{
    pl_iec104_asdu_t h;

    memset(&h, 0, sizeof(h));
    h.type = type;
    h.cause = PL_IEC104_COT_INROGEN;
    h.ca = CA;
    send_asdu(&h, o, 1);
}

/* The interrogation's answer: ACT_CON, one object per tag's case, one no tag names,
 * ACT_TERM. */
static void answer_gi(const pl_iec104_asdu_t *q, const pl_iec104_object_t *qo)
{
    pl_iec104_asdu_t h = *q;
    pl_iec104_object_t o;

    h.cause = PL_IEC104_COT_ACTCON;
    send_asdu(&h, qo, 1);
    o = obj(1001, 0);
    o.v.real = 1.5f;
    time_tag(&o, 0, 0);
    send_one(PL_IEC104_M_ME_TF_1, &o);
    o = obj(1002, PL_IEC104_Q_NT);
    o.v.real = 2.5f;
    send_one(PL_IEC104_M_ME_NC_1, &o);
    o = obj(1003, PL_IEC104_Q_IV);
    o.v.sva = 33;
    send_one(PL_IEC104_M_ME_NB_1, &o);
    o = obj(1004, PL_IEC104_Q_SB | PL_IEC104_Q_BL | PL_IEC104_Q_OV);
    o.v.sva = -7;
    send_one(PL_IEC104_M_ME_NB_1, &o);
    o = obj(1005, 0); /* single point on: only the M_SP_NA_1 tag takes it */
    o.v.state = 1;
    send_one(PL_IEC104_M_SP_NA_1, &o);
    o = obj(1006, 0);
    o.v.real = 6.0f;
    time_tag(&o, 0, 1);
    send_one(PL_IEC104_M_ME_TF_1, &o);
    o = obj(1007, 0); /* no tag names it */
    o.v.real = 7.0f;
    send_one(PL_IEC104_M_ME_NC_1, &o);
    o = obj(1008, 0);
    o.v.real = 8.0f;
    send_one(PL_IEC104_M_ME_NC_1, &o);
    o = obj(1009, 0);
    o.v.real = 9.0f;
    time_tag(&o, 1, 0);
    send_one(PL_IEC104_M_ME_TF_1, &o);
    h.cause = PL_IEC104_COT_ACTTERM;
    send_asdu(&h, qo, 1);
    S.gis++;
}

static void station_apdu(const uint8_t *b, size_t n)
{
    uint8_t f[PL_IEC104_APCI_LEN];
    pl_iec104_apdu_t a;
    pl_iec104_asdu_t q;
    pl_iec104_object_t o;

    assert_int_equal(pl_iec104_decode(b, n, &a), 0);
    if (a.kind == PL_IEC104_FRAME_U) {
        uint8_t con = a.func == PL_IEC104_U_STARTDT_ACT  ? PL_IEC104_U_STARTDT_CON
                      : a.func == PL_IEC104_U_TESTFR_ACT ? PL_IEC104_U_TESTFR_CON
                      : a.func == PL_IEC104_U_STOPDT_ACT ? PL_IEC104_U_STOPDT_CON
                                                         : 0;

        if (con != 0) {
            assert_int_equal(pl_iec104_encode_u(f, sizeof(f), con), (int)sizeof(f));
            assert_int_equal(pl_conn_send(S.conn, f, sizeof(f)), 0);
        }
        return;
    }
    if (a.kind == PL_IEC104_FRAME_S)
        return;
    S.vr = pl_iec104_seq_add(S.vr, 1);
    assert_int_equal(pl_iec104_asdu_decode(a.asdu, a.asdu_len, params(), &q), 0);
    assert_int_equal(pl_iec104_asdu_object(&q, 0, &o), 0);
    if (q.type == PL_IEC104_C_IC_NA_1 && q.cause == PL_IEC104_COT_ACT)
        answer_gi(&q, &o);
}

static int on_accept(pl_listener_t *l, pl_conn_t *conn, void *ud)
{
    (void)l, (void)ud;
    assert_null(S.conn);
    S.conn = conn;
    S.rx_len = 0;
    S.vs = S.vr = 0;
    return 0;
}

static void on_conn_data(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud)
{
    int n;

    (void)conn, (void)ud;
    assert_true(S.rx_len + len <= sizeof(S.rx));
    memcpy(S.rx + S.rx_len, buf, len);
    S.rx_len += len;
    while ((n = pl_iec104_frame(S.rx, S.rx_len, NULL)) > 0) {
        station_apdu(S.rx, (size_t)n);
        memmove(S.rx, S.rx + n, S.rx_len - (size_t)n);
        S.rx_len -= (size_t)n;
    }
    assert_int_equal(n, PL_EAGAIN);
}

static void on_conn_close(pl_conn_t *conn, const pl_status_t *why, void *ud)
{
    (void)conn, (void)why, (void)ud;
    S.conn = NULL;
    S.closed++;
}

static void on_change(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    (void)e, (void)st, (void)ud;
    S.changes++;
}

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until pred() or the guard. */
static void run_until(int (*pred)(void), unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(&S.loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (!pred() && !expired)
        uv_run(&S.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&S.loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

static const pl_tag_state_t *tag(const char *name)
{
    const pl_tag_state_t *st = pl_engine_tag(S.e, name);

    assert_non_null(st);
    return st;
}

static int all_in(void)
{
    return tag("time_iv")->value.type != PL_VT_NONE;
}

static int stale_uncertain(void)
{
    return tag("stale")->quality == PL_Q_UNCERTAIN;
}

static int all_bad(void)
{
    size_t i;

    for (i = 0; i < NTAGS; i++)
        if (i != T_DP && tag(TAGS[i].name)->quality != PL_Q_BAD)
            return 0;
    return 1;
}

static int time_good_again(void)
{
    return S.gis == 2 && tag("time")->quality == PL_Q_GOOD;
}

static void on_stopped(pl_engine_t *e, void *ud)
{
    (void)e, (void)ud;
}

static int added_in(void)
{
    return tag("added")->value.type != PL_VT_NONE;
}

/* A reload (SIGHUP) with one tag more, on IOA 1007, which the station sends only in its
 * interrogation: the new engine keeps the connection, starts with the kept tags' values
 * (without a frame from the station), and the driver interrogates the station once, so
 * that the added tag gets its value without waiting for the point to change. In the
 * daemon's order the old engine stops (and hands the connection over) before the new one
 * starts: the device was subscribed twice then, and the station asked twice. */
static void reload_with_added_tag(const pl_engine_config_t *old_ec)
{
    pl_engine_config_t ec = *old_ec;
    pl_engine_cbs_t cbs = {on_change, NULL};
    pl_tag_def_t tags[NTAGS + 1];
    pl_engine_t *e2 = NULL;
    pl_status_t err;
    const pl_tag_state_t *st;
    unsigned gis = S.gis;

    memcpy(tags, old_ec->tags, NTAGS * sizeof(tags[0]));
    memset(&tags[NTAGS], 0, sizeof(tags[NTAGS]));
    tags[NTAGS].name = "added";
    tags[NTAGS].device = "station";
    tags[NTAGS].address = "1007";
    ec.tags = tags;
    ec.ntags = NTAGS + 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&S.loop, &ec, &cbs, NULL, &e2, &err), 0);
    assert_int_equal(pl_engine_adopt(e2, S.e), 1);
    pl_engine_stop(S.e, on_stopped); /* apps/cmd_run.c reload() */
    pl_engine_free(S.e);
    assert_int_equal(pl_engine_start(e2), 0);
    S.e = e2;
    st = tag("time");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_true(st->value.f == 1.5);
    assert_int_equal(st->source_ms, (uint64_t)TIME_MS);
    assert_int_equal(tag("added")->value.type, PL_VT_NONE);
    run_until(added_in, GUARD_MS);
    st = tag("added");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_true(st->value.f == 7.0);
    assert_int_equal(S.gis, gis + 1);
    assert_int_equal(S.closed, 1); /* only the station's own close earlier */
}

static void test_engine_with_station(void **state)
{
    pl_listener_config_t lc;
    pl_listener_cbs_t lcbs = {on_accept, on_conn_data, on_conn_close};
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {on_change, NULL};
    pl_line_def_t line;
    pl_device_def_t dev;
    pl_tag_def_t tags[NTAGS];
    pl_status_t err;
    const pl_tag_state_t *st;
    size_t i;

    (void)state;
    memset(&S, 0, sizeof(S));
    assert_int_equal(uv_loop_init(&S.loop), 0);
    memset(&lc, 0, sizeof(lc));
    lc.port = 0;
    assert_int_equal(pl_listener_new(&S.loop, &lc, &lcbs, NULL, &S.lst, &err), 0);

    memset(&line, 0, sizeof(line));
    snprintf(line.name, sizeof(line.name), "L");
    snprintf(line.protocol, sizeof(line.protocol), "iec104");
    pl_line_config_init(&line.line);
    assert_int_equal(pl_hostlist_parse(&line.line.hosts, "127.0.0.1", 9, NULL), 0);
    line.line.port = pl_listener_port(S.lst);
    line.line.backoff_min_ms = 5;
    line.line.backoff_max_ms = 20;
    snprintf(line.keys, sizeof(line.keys), "t1=2000&t2=100&t3=60000");
    memset(&dev, 0, sizeof(dev));
    snprintf(dev.name, sizeof(dev.name), "station");
    snprintf(dev.line, sizeof(dev.line), "L");
    snprintf(dev.keys, sizeof(dev.keys), "ca=%u", CA);
    memset(tags, 0, sizeof(tags));
    for (i = 0; i < NTAGS; i++) {
        tags[i].name = TAGS[i].name;
        tags[i].device = "station";
        tags[i].address = TAGS[i].address;
        tags[i].stale_ms = TAGS[i].stale_ms;
    }
    memset(&ec, 0, sizeof(ec));
    ec.lines = &line;
    ec.nlines = 1;
    ec.devices = &dev;
    ec.ndevices = 1;
    ec.tags = tags;
    ec.ntags = NTAGS;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&S.loop, &ec, &cbs, NULL, &S.e, &err), 0);
    assert_int_equal(pl_engine_start(S.e), 0);
    run_until(all_in, GUARD_MS);

    /* a valid time tag: the source time, to the millisecond */
    st = tag("time");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_true(st->value.f == 1.5);
    assert_int_equal(st->source_ms, (uint64_t)TIME_MS);
    assert_int_equal(st->flags, 0);
    /* NT: uncertain, flagged */
    st = tag("nt");
    assert_int_equal(st->quality, PL_Q_UNCERTAIN);
    assert_int_equal(st->flags, PL_QF_NOT_TOPICAL);
    assert_true(st->value.f == 2.5);
    assert_int_equal(st->source_ms, 0);
    /* IV: bad with why */
    st = tag("iv");
    assert_int_equal(st->quality, PL_Q_BAD);
    assert_int_equal(st->error, PL_EVALUE);
    assert_non_null(strstr(st->detail, "invalid (IV)"));
    assert_int_equal(st->flags, PL_QF_INVALID);
    /* SB, BL, OV: good, flagged */
    st = tag("flags");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_int_equal(st->flags, PL_QF_SUBSTITUTED | PL_QF_BLOCKED | PL_QF_OVERFLOW);
    assert_int_equal(st->value.i, -7);
    /* two tags on IOA 1005: the single point's tag takes it, the double point's does not */
    st = tag("sp");
    assert_int_equal(st->value.type, PL_VT_BOOL);
    assert_int_equal(st->value.i, 1);
    assert_int_equal(tag("dp")->value.type, PL_VT_NONE);
    /* SU: the same instant; the time tag's IV: no source time, the value good */
    assert_int_equal(tag("su")->source_ms, (uint64_t)TIME_MS);
    st = tag("time_iv");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_int_equal(st->source_ms, 0);
    assert_true(st->value.f == 9.0);
    /* the tag with its own 'stale' (the device has none) ages alone */
    run_until(stale_uncertain, GUARD_MS);
    assert_int_equal(tag("time")->quality, PL_Q_GOOD);
    assert_int_equal(tag("flags")->quality, PL_Q_GOOD);

    /* the station drops the connection: every tag bad, its value kept; the next
     * connection's interrogation brings them back */
    pl_conn_close(S.conn, NULL);
    run_until(all_bad, GUARD_MS);
    st = tag("time");
    assert_true(st->value.f == 1.5);
    assert_non_null(strstr(st->detail, "connection down"));
    run_until(time_good_again, GUARD_MS);
    assert_int_equal(tag("iv")->quality, PL_Q_BAD);
    assert_int_equal(tag("nt")->quality, PL_Q_UNCERTAIN);

    reload_with_added_tag(&ec);

    pl_engine_stop(S.e, on_stopped);
    pl_engine_free(S.e);
    pl_listener_free(S.lst);
    uv_run(&S.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&S.loop), 0);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_with_station),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
