/* SPDX-License-Identifier: MIT */
/*
 * The IEC 60870-5-104 controlled-station simulator driven by raw controlling stations built
 * from the codec and client lines (pl_line_t), in one process and one loop on loopback.
 * Ports are picked at run time; nothing sleeps: the loop runs until a frame or a close
 * arrives, with a guard timer that fails the test if it never does. Timers t1/t2/t3 are set
 * short where a test needs them to fire; nothing asserts how long anything took.
 *
 * "Nothing more was sent" is proved with a barrier: the client sends TESTFR act and waits
 * for TESTFR con. The station answers frames in order on one TCP stream, so anything it
 * sent before the barrier arrives before TESTFR con.
 *
 * With --frames DIR [--wait] the binary runs one session (STARTDT, GI, events, commands, negative
 * confirmations, STOPDT) and writes every frame exchanged as a text2pcap dump to
 * DIR/frames.txt: the station's frames "I", the client's "O" (as test_iec104_codec does;
 * tests/cli/test_iec104_server_tshark.sh dissects it). It prints the station's port first;
 * with --wait it then reads a line from stdin before the client connects (so that a live
 * capture filtered on that port can start first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/error.h"
#include "plcline/iec104.h"
#include "plcline/line.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/codec/cp56.h"

#define MAX_MSGS 1024
#define GUARD_MS 5000
#define CA       1u
#define SPEC     "M_ME_NC_1:1001-1100 M_SP_NA_1:2001-2050 C_SE_NC_1:5001 M_IT_NA_1:3001-3002"

/* ------------------------------------------------------------------ raw client */

typedef struct {
    pl_line_t *line;
    int up, downs;
    uint8_t rx[1024];
    size_t rx_len;
    uint8_t msg[MAX_MSGS][PL_IEC104_MAX_APDU];
    size_t msg_len[MAX_MSGS];
    int nmsg, taken;
    uint16_t vs, vr; /* the client's N(S) to send, N(S) expected from the station */
    int skip_s;      /* expect_asdu() passes over S-frames */
    int hold;        /* I-frames carry N(R) `held` instead of vr (no acknowledgement) */
    uint16_t held;
} raw_t;

typedef struct {
    uv_loop_t loop;
    pl_iec104_server_t *srv;
    raw_t a, b;
} fixture_t;

static FILE *frames_out; /* --frames: every frame exchanged */

static void dump(char dir, const uint8_t *buf, size_t len)
{
    size_t i;

    if (frames_out == NULL)
        return;
    fprintf(frames_out, "%c 000000", dir);
    for (i = 0; i < len; i++)
        fprintf(frames_out, " %02x", buf[i]);
    fprintf(frames_out, "\n\n");
}

static void on_up(pl_line_t *line, void *ud)
{
    raw_t *r = ud;

    (void)line;
    r->up = 1;
}

static void on_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    raw_t *r = ud;
    int n;

    (void)line;
    assert_true(r->rx_len + len <= sizeof(r->rx) || len > 0);
    while (len > 0) {
        size_t take = sizeof(r->rx) - r->rx_len;

        if (take > len)
            take = len;
        memcpy(r->rx + r->rx_len, buf, take);
        r->rx_len += take;
        buf += take;
        len -= take;
        while ((n = pl_iec104_frame(r->rx, r->rx_len, NULL)) > 0) {
            assert_true(r->nmsg < MAX_MSGS);
            memcpy(r->msg[r->nmsg], r->rx, (size_t)n);
            r->msg_len[r->nmsg++] = (size_t)n;
            dump('I', r->rx, (size_t)n);
            memmove(r->rx, r->rx + n, r->rx_len - (size_t)n);
            r->rx_len -= (size_t)n;
        }
        assert_int_equal(n, PL_EAGAIN);
    }
}

static void on_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    raw_t *r = ud;

    (void)why;
    r->up = 0;
    r->downs++;
    pl_line_stop(line); /* no reconnection: a test sees one connection per client */
}

static void on_guard(uv_timer_t *t)
{
    int *expired = t->data;

    *expired = 1;
}

/* Runs the loop until *flag >= want; fails after GUARD_MS. */
static void run_until(uv_loop_t *loop, const int *flag, int want)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, GUARD_MS, 0);
    while (*flag < want && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

/* Runs the loop until the server has `n` connections. */
static void run_until_conns(fixture_t *f, unsigned n)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, GUARD_MS, 0);
    while (pl_iec104_server_conn_count(f->srv) != n && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

static void raw_connect_from(fixture_t *f, raw_t *r, const char *local)
{
    static const pl_line_cbs_t cbs = {.on_up = on_up, .on_data = on_data, .on_down = on_down};
    pl_line_config_t cfg;

    memset(r, 0, sizeof(*r));
    pl_line_config_init(&cfg);
    cfg.local_addr = local;
    assert_int_equal(pl_hostlist_parse(&cfg.hosts, "127.0.0.1", 9, NULL), 0);
    cfg.port = pl_iec104_server_port(f->srv);
    cfg.backoff_min_ms = 10;
    cfg.backoff_max_ms = 50;
    assert_int_equal(pl_line_new(&f->loop, &cfg, &cbs, r, &r->line), 0);
    assert_int_equal(pl_line_start(r->line), 0);
    run_until(&f->loop, &r->up, 1);
}

static void raw_connect(fixture_t *f, raw_t *r)
{
    raw_connect_from(f, r, NULL);
}

static void config(pl_iec104_server_config_t *cfg)
{
    pl_iec104_server_config_init(cfg);
    cfg->listen.port = 0;
    cfg->points = SPEC;
}

static void start_cfg(fixture_t *f, const pl_iec104_server_config_t *cfg)
{
    pl_status_t st;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(pl_iec104_server_new(&f->loop, cfg, &f->srv, &st), 0);
    assert_true(pl_iec104_server_port(f->srv) != 0);
    raw_connect(f, &f->a);
    run_until_conns(f, 1);
}

static void start(fixture_t *f)
{
    pl_iec104_server_config_t cfg;

    config(&cfg);
    start_cfg(f, &cfg);
}

static void drop(raw_t *r)
{
    if (r->line != NULL)
        pl_line_free(r->line);
    r->line = NULL;
}

static void stop(fixture_t *f)
{
    drop(&f->a);
    drop(&f->b);
    pl_iec104_server_free(f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* ------------------------------------------------------------------ frames */

static void raw_send(raw_t *r, const uint8_t *buf, size_t len)
{
    dump('O', buf, len);
    assert_int_equal(pl_line_send(r->line, buf, len), 0);
}

static void send_u(raw_t *r, uint8_t func)
{
    uint8_t b[6];

    assert_int_equal(pl_iec104_encode_u(b, sizeof(b), func), 6);
    raw_send(r, b, 6);
}

static void send_s(raw_t *r)
{
    uint8_t b[6];

    assert_int_equal(pl_iec104_encode_s(b, sizeof(b), r->vr), 6);
    raw_send(r, b, 6);
}

static void send_i_raw(raw_t *r, const uint8_t *asdu, size_t len)
{
    uint8_t b[PL_IEC104_MAX_APDU];
    int n = pl_iec104_encode_i(b, sizeof(b), r->vs, r->hold ? r->held : r->vr, asdu, len);

    assert_true(n > 0);
    r->vs = pl_iec104_seq_add(r->vs, 1);
    raw_send(r, b, (size_t)n);
}

/* Sends an ASDU of one object. */
static void send_asdu(raw_t *r, uint8_t type, uint8_t cause, uint16_t ca,
                      const pl_iec104_object_t *o)
{
    pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    pl_iec104_asdu_t h;
    uint8_t b[PL_IEC104_MAX_ASDU];
    int n;

    memset(&h, 0, sizeof(h));
    h.type = type;
    h.cause = cause;
    h.ca = ca;
    n = pl_iec104_asdu_encode(b, sizeof(b), &p, &h, o, 1, NULL);
    assert_true(n > 0);
    send_i_raw(r, b, (size_t)n);
}

static int base_is_float(uint8_t type)
{
    return type == PL_IEC104_C_SE_NC_1 || type == PL_IEC104_C_SE_TC_1;
}

static void send_cmd(raw_t *r, uint8_t type, uint8_t cause, uint32_t ioa, int select)
{
    pl_iec104_object_t o;

    memset(&o, 0, sizeof(o));
    o.ioa = ioa;
    o.select = (uint8_t)select;
    if (base_is_float(type))
        o.v.real = 42.5f;
    else
        o.v.state = 1;
    send_asdu(r, type, cause, CA, &o);
}

/* The next frame from the station (waits for it), decoded; I-frames are checked for N(S). */
static const uint8_t *take(fixture_t *f, raw_t *r, pl_iec104_apdu_t *a)
{
    const uint8_t *m;

    run_until(&f->loop, &r->nmsg, r->taken + 1);
    m = r->msg[r->taken];
    assert_int_equal(pl_iec104_decode(m, r->msg_len[r->taken], a), 0);
    r->taken++;
    if (a->kind == PL_IEC104_FRAME_I) {
        assert_int_equal(a->ns, r->vr);
        r->vr = pl_iec104_seq_add(r->vr, 1);
    }
    return m;
}

static void expect_u(fixture_t *f, raw_t *r, uint8_t func)
{
    pl_iec104_apdu_t a;

    take(f, r, &a);
    assert_int_equal(a.kind, PL_IEC104_FRAME_U);
    assert_int_equal(a.func, func);
}

/* The next frame must be an I-frame; its ASDU decoded into *asdu (pointing into r). */
static void expect_asdu(fixture_t *f, raw_t *r, pl_iec104_asdu_t *asdu)
{
    pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    pl_iec104_apdu_t a;

    take(f, r, &a);
    while (r->skip_s && a.kind == PL_IEC104_FRAME_S)
        take(f, r, &a);
    assert_int_equal(a.kind, PL_IEC104_FRAME_I);
    assert_int_equal(pl_iec104_asdu_decode(a.asdu, a.asdu_len, &p, asdu), 0);
}

static void expect_reply(fixture_t *f, raw_t *r, uint8_t type, uint8_t cause, int pn, uint32_t ioa)
{
    pl_iec104_asdu_t a;
    pl_iec104_object_t o;

    expect_asdu(f, r, &a);
    assert_int_equal(a.type, type);
    assert_int_equal(a.cause, cause);
    assert_int_equal(a.pn, pn);
    assert_int_equal(a.ca, CA);
    assert_int_equal(a.count, 1);
    assert_int_equal(pl_iec104_asdu_object(&a, 0, &o), 0);
    assert_int_equal(o.ioa, ioa);
}

/* TESTFR act, then the next frame must be its con: nothing else was pending. */
static void barrier(fixture_t *f, raw_t *r)
{
    send_u(r, PL_IEC104_U_TESTFR_ACT);
    expect_u(f, r, PL_IEC104_U_TESTFR_CON);
}

static void startdt(fixture_t *f, raw_t *r)
{
    send_u(r, PL_IEC104_U_STARTDT_ACT);
    expect_u(f, r, PL_IEC104_U_STARTDT_CON);
}

static const pl_iec104_server_stats_t *stats(fixture_t *f)
{
    return pl_iec104_server_stats(f->srv);
}

/* Sends C_IC_NA_1 or C_CI_NA_1 with qualifier `q` and reads the whole answer: ACT_CON,
 * data units with cause `cause` (each object's IOA counted in seen[ioa - base]), ACT_TERM.
 * Acknowledges every data unit. Returns the number of objects. */
static int interrogate(fixture_t *f, raw_t *r, uint8_t type, uint8_t q, uint8_t cause, int *seen,
                       uint32_t base, size_t nseen)
{
    pl_iec104_object_t o;
    pl_iec104_asdu_t a;
    int objects = 0;

    memset(&o, 0, sizeof(o));
    o.qualifier = q;
    send_asdu(r, type, PL_IEC104_COT_ACT, CA, &o);
    expect_reply(f, r, type, PL_IEC104_COT_ACTCON, 0, 0);
    for (;;) {
        pl_iec104_iter_t it;

        expect_asdu(f, r, &a);
        send_s(r);
        if (a.type == type) {
            assert_int_equal(a.cause, PL_IEC104_COT_ACTTERM);
            assert_int_equal(a.pn, 0);
            return objects;
        }
        assert_int_equal(a.cause, cause);
        assert_int_equal(a.ca, CA);
        pl_iec104_iter_init(&it, &a);
        while (pl_iec104_iter_next(&it, &o) > 0) {
            assert_true(o.ioa >= base && o.ioa - base < nseen);
            seen[o.ioa - base]++;
            objects++;
        }
    }
}

/* ------------------------------------------------------------------ tests */

static void test_startdt_stopdt(void **state)
{
    fixture_t f;
    pl_iec104_object_t o;

    (void)state;
    start(&f);
    barrier(&f, &f.a); /* TESTFR is answered before STARTDT too */
    /* an I-frame while stopped is acknowledged but not served: no answer comes */
    memset(&o, 0, sizeof(o));
    o.qualifier = PL_IEC104_QOI_STATION;
    send_asdu(&f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACT, CA, &o);
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->ignored, 1);
    startdt(&f, &f.a);
    assert_int_equal(stats(&f)->started, 1);
    send_u(&f.a, PL_IEC104_U_STOPDT_ACT);
    {
        pl_iec104_apdu_t a;

        take(&f, &f.a, &a); /* the I-frame is acknowledged before STOPDT con */
        assert_int_equal(a.kind, PL_IEC104_FRAME_S);
        assert_int_equal(a.nr, 1);
    }
    expect_u(&f, &f.a, PL_IEC104_U_STOPDT_CON);
    assert_int_equal(stats(&f)->stopped, 1);
    /* stopped again: events are held, not sent */
    assert_int_equal(pl_iec104_server_step(f.srv), 1);
    barrier(&f, &f.a);
    /* STOPDT con waits until the I-frames the station sent are confirmed */
    startdt(&f, &f.a);
    {
        pl_iec104_asdu_t a;

        expect_asdu(&f, &f.a, &a); /* the held event */
        assert_int_equal(a.cause, PL_IEC104_COT_SPONT);
    }
    send_u(&f.a, PL_IEC104_U_STOPDT_ACT);
    barrier(&f, &f.a); /* no STOPDT con yet */
    send_s(&f.a);
    expect_u(&f, &f.a, PL_IEC104_U_STOPDT_CON);
    assert_int_equal(stats(&f)->stopped, 2);
    stop(&f);
}

static void test_general_interrogation(void **state)
{
    fixture_t f;
    int seen[1100];
    int counters[2];
    size_t i;

    (void)state;
    start(&f);
    startdt(&f, &f.a);
    memset(seen, 0, sizeof(seen));
    assert_int_equal(interrogate(&f, &f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_QOI_STATION,
                                 PL_IEC104_COT_INROGEN, seen, 1001, 1100),
                     150);
    for (i = 0; i < 100; i++) /* M_ME_NC_1:1001-1100 once each */
        assert_int_equal(seen[i], 1);
    for (i = 1000; i < 1050; i++) /* M_SP_NA_1:2001-2050 once each */
        assert_int_equal(seen[i], 1);
    /* commands and counters are not in a GI: interrogate() fails on IOAs past 2100 */
    /* counter interrogation: the integrated totals, cause reqcogen */
    memset(counters, 0, sizeof(counters));
    assert_int_equal(interrogate(&f, &f.a, PL_IEC104_C_CI_NA_1, PL_IEC104_QCC_RQT_GENERAL,
                                 PL_IEC104_COT_REQCOGEN, counters, 3001, 2),
                     2);
    assert_int_equal(counters[0], 1);
    assert_int_equal(counters[1], 1);
    /* a group interrogation: confirmed and terminated, no groups are defined */
    assert_int_equal(interrogate(&f, &f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_QOI_GROUP1 + 2,
                                 PL_IEC104_QOI_GROUP1 + 2, seen, 0, 1),
                     0);
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->interrogations, 3);
    stop(&f);
}

/* Reads numbered events until `want` counter values were seen; returns the last counter. */
static void read_events(fixture_t *f, raw_t *r, uint32_t event_ioa, int *seen, size_t nseen,
                        int want, int ack)
{
    int got = 0;

    while (got < want) {
        pl_iec104_asdu_t a;
        pl_iec104_object_t o;

        expect_asdu(f, r, &a);
        if (ack)
            send_s(r);
        assert_int_equal(a.cause, PL_IEC104_COT_SPONT);
        assert_int_equal(pl_iec104_asdu_object(&a, 0, &o), 0);
        if (o.ioa != event_ioa)
            continue;
        assert_int_equal(a.type, PL_IEC104_M_IT_NA_1);
        assert_true(o.v.counter.value >= 1 && (size_t)o.v.counter.value <= nseen);
        seen[o.v.counter.value - 1]++;
        got++;
    }
}

static void test_numbered_events(void **state)
{
    pl_iec104_server_config_t cfg;
    fixture_t f;
    int seen[20];
    uint32_t i;

    (void)state;
    config(&cfg);
    cfg.event_ioa = 9000;
    start_cfg(&f, &cfg);
    startdt(&f, &f.a);
    for (i = 1; i <= 20; i++)
        assert_int_equal(pl_iec104_server_step(f.srv), i);
    memset(seen, 0, sizeof(seen));
    read_events(&f, &f.a, 9000, seen, 20, 20, 1);
    for (i = 0; i < 20; i++)
        assert_int_equal(seen[i], 1);
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->events, 40); /* the counter and one animated point per step */
    assert_int_equal(stats(&f)->events_sent, 40);
    stop(&f);
}

/* animate_ms: the timer makes numbered steps by itself. */
static void test_animation_timer(void **state)
{
    pl_iec104_server_config_t cfg;
    fixture_t f;
    static int seen[1 << 16]; /* step numbers grow with the time the test takes */
    int i;

    (void)state;
    config(&cfg);
    cfg.event_ioa = 9000;
    cfg.animate_ms = 5;
    cfg.max_events = 64;
    start_cfg(&f, &cfg);
    startdt(&f, &f.a);
    memset(seen, 0, sizeof(seen));
    read_events(&f, &f.a, 9000, seen, 1 << 16, 3, 1);
    for (i = 0; i < (1 << 16) && seen[i] == 0; i++) /* older events may have been dropped */
        ;
    assert_true(i < (1 << 16) - 2);
    assert_int_equal(seen[i] + seen[i + 1] + seen[i + 2], 3); /* three in a row */
    stop(&f);
}

/* A group keeps at most max_events unconfirmed events: the oldest go first. */
static void test_event_queue_limit(void **state)
{
    pl_iec104_server_config_t cfg;
    fixture_t f;
    int seen[5];
    uint32_t i;

    (void)state;
    config(&cfg);
    cfg.event_ioa = 9000;
    cfg.max_events = 4;
    start_cfg(&f, &cfg);
    for (i = 1; i <= 5; i++) /* ten events while nothing is started: six are dropped */
        (void)pl_iec104_server_step(f.srv);
    assert_int_equal(stats(&f)->events_dropped, 6);
    startdt(&f, &f.a);
    memset(seen, 0, sizeof(seen));
    read_events(&f, &f.a, 9000, seen, 5, 2, 1); /* the last two steps, whole */
    assert_int_equal(seen[3] + seen[4], 2);
    barrier(&f, &f.a);
    stop(&f);
}

/* Time tags follow the clock the controlling station set. */
static void test_clock_sync_time_tags(void **state)
{
    const int64_t t = 1893456000000LL; /* 2030-01-01T00:00:00Z */
    pl_iec104_server_config_t cfg;
    pl_iec104_object_t o;
    pl_iec104_asdu_t a;
    fixture_t f;
    int64_t ms;

    (void)state;
    config(&cfg);
    cfg.points = "M_ME_TF_1:1";
    start_cfg(&f, &cfg);
    startdt(&f, &f.a);
    memset(&o, 0, sizeof(o));
    assert_int_equal(pl_iec104_cp56_from_unix_ms(t, &o.time), 0);
    o.has_time = 1;
    send_asdu(&f.a, PL_IEC104_C_CS_NA_1, PL_IEC104_COT_ACT, CA, &o);
    expect_reply(&f, &f.a, PL_IEC104_C_CS_NA_1, PL_IEC104_COT_ACTCON, 0, 0);
    (void)pl_iec104_server_step(f.srv);
    expect_asdu(&f, &f.a, &a);
    assert_int_equal(a.type, PL_IEC104_M_ME_TF_1);
    assert_int_equal(a.cause, PL_IEC104_COT_SPONT);
    assert_int_equal(pl_iec104_asdu_object(&a, 0, &o), 0);
    assert_int_equal(o.time.iv, 0);
    assert_int_equal(pl_iec104_cp56_to_unix_ms(&o.time, &ms), 0);
    assert_true(ms >= t && ms < t + 3600000); /* the station's clock, not the host's */
    send_s(&f.a);
    stop(&f);
}

/* While a GI runs, a second one is refused; DEACT stops the first (k = 1 holds it). */
static void test_interrogation_busy_and_deact(void **state)
{
    pl_iec104_server_config_t cfg;
    pl_iec104_object_t o;
    fixture_t f;

    (void)state;
    config(&cfg);
    cfg.k = 1;
    cfg.w = 1;
    start_cfg(&f, &cfg);
    f.a.skip_s = 1; /* w = 1: the station acknowledges each I-frame it cannot answer at once */
    startdt(&f, &f.a);
    memset(&o, 0, sizeof(o));
    o.qualifier = PL_IEC104_QOI_STATION;
    f.a.hold = 1; /* nothing confirmed: the station may send one I-frame at a time */
    send_asdu(&f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACT, CA, &o);
    expect_reply(&f, &f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACTCON, 0, 0);
    send_asdu(&f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACT, CA, &o);
    send_asdu(&f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_DEACT, CA, &o);
    f.a.hold = 0;
    send_s(&f.a);
    expect_reply(&f, &f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACTCON, 1, 0);
    send_s(&f.a);
    expect_reply(&f, &f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_DEACTCON, 0, 0);
    send_s(&f.a);
    send_u(&f.a, PL_IEC104_U_TESTFR_ACT); /* no data and no ACT_TERM: the GI was stopped */
    {
        pl_iec104_apdu_t a;

        take(&f, &f.a, &a);
        while (a.kind == PL_IEC104_FRAME_S)
            take(&f, &f.a, &a);
        assert_int_equal(a.kind, PL_IEC104_FRAME_U);
        assert_int_equal(a.func, PL_IEC104_U_TESTFR_CON);
    }
    stop(&f);
}

static void test_windows(void **state)
{
    pl_iec104_server_config_t cfg;
    pl_iec104_apdu_t a;
    fixture_t f;
    int i, iframes = 0;

    (void)state;
    config(&cfg);
    cfg.points = "M_ME_NC_1:1-300";
    cfg.k = 4;
    cfg.w = 2;
    start_cfg(&f, &cfg);
    startdt(&f, &f.a);
    {
        pl_iec104_object_t o;

        memset(&o, 0, sizeof(o));
        o.qualifier = PL_IEC104_QOI_STATION;
        send_asdu(&f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACT, CA, &o);
    }
    /* ACT_CON and 7 data units and ACT_TERM are due; k = 4 lets out 4 */
    for (i = 0; i < 4; i++) {
        take(&f, &f.a, &a);
        assert_int_equal(a.kind, PL_IEC104_FRAME_I);
    }
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->i_out, 4);
    /* w = 2: two test commands received while the window is full are acknowledged at once
     * with an S-frame (their answers wait for the window) */
    {
        pl_iec104_object_t o;

        memset(&o, 0, sizeof(o));
        f.a.hold = 1; /* N(R) 0: the four frames stay unconfirmed */
        send_asdu(&f.a, PL_IEC104_C_TS_TA_1, PL_IEC104_COT_ACT, CA, &o);
        send_asdu(&f.a, PL_IEC104_C_TS_TA_1, PL_IEC104_COT_ACT, CA, &o);
        f.a.hold = 0;
    }
    take(&f, &f.a, &a);
    assert_int_equal(a.kind, PL_IEC104_FRAME_S);
    assert_int_equal(a.nr, 3); /* the GI and the two tests */
    barrier(&f, &f.a);
    /* acknowledging two frames lets out two more, and no more */
    {
        uint8_t b[6];

        assert_int_equal(
            pl_iec104_encode_s(b, sizeof(b), pl_iec104_seq_add(f.a.vr, PL_IEC104_SEQ_MOD - 2u)), 6);
        raw_send(&f.a, b, 6);
    }
    take(&f, &f.a, &a);
    assert_int_equal(a.kind, PL_IEC104_FRAME_I);
    take(&f, &f.a, &a);
    assert_int_equal(a.kind, PL_IEC104_FRAME_I);
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->i_out, 6);
    /* acknowledging everything lets the rest out: 9 GI frames and 2 test confirmations */
    for (iframes = 6; iframes < 11; iframes++) {
        send_s(&f.a);
        take(&f, &f.a, &a);
        assert_int_equal(a.kind, PL_IEC104_FRAME_I);
    }
    send_s(&f.a);
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->i_out, 11);
    stop(&f);
}

static void test_t1_expiry(void **state)
{
    pl_iec104_server_config_t cfg;
    fixture_t f;

    (void)state;
    config(&cfg);
    cfg.t1_ms = 200;
    cfg.t2_ms = 100;
    cfg.event_ioa = 9000;
    start_cfg(&f, &cfg);
    startdt(&f, &f.a);
    (void)pl_iec104_server_step(f.srv);
    /* the events are never acknowledged: the station closes after t1 */
    run_until(&f.loop, &f.a.downs, 1);
    assert_int_equal(stats(&f)->t1_expired, 1);
    assert_true(f.a.nmsg >= 3); /* STARTDT con and the two events arrived first */
    stop(&f);
}

static void test_t2_t3(void **state)
{
    pl_iec104_server_config_t cfg;
    pl_iec104_apdu_t a;
    pl_iec104_object_t o;
    fixture_t f;

    (void)state;
    config(&cfg);
    cfg.t1_ms = 1000;
    cfg.t2_ms = 50;
    cfg.t3_ms = 100;
    start_cfg(&f, &cfg);
    /* t2: an I-frame received while stopped (nothing to carry N(R)) is acknowledged by an
     * S-frame within t2 */
    memset(&o, 0, sizeof(o));
    send_asdu(&f.a, PL_IEC104_C_TS_TA_1, PL_IEC104_COT_ACT, CA, &o);
    take(&f, &f.a, &a);
    while (a.kind == PL_IEC104_FRAME_U) { /* a TESTFR act of t3 may come first */
        assert_int_equal(a.func, PL_IEC104_U_TESTFR_ACT);
        send_u(&f.a, PL_IEC104_U_TESTFR_CON);
        take(&f, &f.a, &a);
    }
    assert_int_equal(a.kind, PL_IEC104_FRAME_S);
    assert_int_equal(a.nr, 1);
    /* t3: silence brings TESTFR act; it is answered once */
    expect_u(&f, &f.a, PL_IEC104_U_TESTFR_ACT);
    send_u(&f.a, PL_IEC104_U_TESTFR_CON);
    /* the next one is not answered: the station closes after t1 */
    expect_u(&f, &f.a, PL_IEC104_U_TESTFR_ACT);
    run_until(&f.loop, &f.a.downs, 1);
    assert_true(stats(&f)->testfr_sent >= 2);
    assert_int_equal(stats(&f)->t1_expired, 1);
    stop(&f);
}

static void test_commands(void **state)
{
    pl_iec104_server_config_t cfg;
    pl_iec104_object_t o;
    pl_iec104_asdu_t a;
    fixture_t f;
    double v;
    uint8_t type;

    (void)state;
    config(&cfg);
    cfg.points = "M_ME_NC_1:1001-1002 C_SE_NC_1:5001 C_SC_NA_1:5002 C_DC_TA_1:5003 "
                 "C_BO_NA_1:5004";
    start_cfg(&f, &cfg);
    startdt(&f, &f.a);
    /* a set point: ACT_CON then ACT_TERM, and the station holds the value */
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 5001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTCON, 0, 5001);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTTERM, 0, 5001);
    assert_int_equal(pl_iec104_server_point(f.srv, 5001, &type, &v), 0);
    assert_int_equal(type, PL_IEC104_C_SE_NC_1);
    assert_true(v == 42.5);
    /* single command, and the time-tagged double command on its point */
    send_cmd(&f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACT, 5002, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACTCON, 0, 5002);
    expect_reply(&f, &f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACTTERM, 0, 5002);
    send_cmd(&f.a, PL_IEC104_C_DC_NA_1, PL_IEC104_COT_ACT, 5003, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_DC_NA_1, PL_IEC104_COT_ACTCON, 0, 5003);
    expect_reply(&f, &f.a, PL_IEC104_C_DC_NA_1, PL_IEC104_COT_ACTTERM, 0, 5003);
    /* time-tagged commands on points named without the time tag */
    send_cmd(&f.a, PL_IEC104_C_SE_TC_1, PL_IEC104_COT_ACT, 5001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_TC_1, PL_IEC104_COT_ACTCON, 0, 5001);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_TC_1, PL_IEC104_COT_ACTTERM, 0, 5001);
    send_cmd(&f.a, PL_IEC104_C_BO_TA_1, PL_IEC104_COT_ACT, 5004, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_BO_TA_1, PL_IEC104_COT_ACTCON, 0, 5004);
    expect_reply(&f, &f.a, PL_IEC104_C_BO_TA_1, PL_IEC104_COT_ACTTERM, 0, 5004);
    assert_int_equal(pl_iec104_server_point(f.srv, 5004, &type, &v), 0);
    assert_true(v == 1.0);
    send_s(&f.a);
    /* unknown IOA (47): none there, or a point of another type */
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 7777, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_UNKNOWN_IOA, 1, 7777);
    send_cmd(&f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACT, 5001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_UNKNOWN_IOA, 1, 5001);
    send_cmd(&f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACT, 1001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_UNKNOWN_IOA, 1, 1001);
    /* unknown cause (45): a command must be act or deact */
    send_cmd(&f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_SPONT, 5002, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_UNKNOWN_COT, 1, 5002);
    /* unknown common address (46) */
    memset(&o, 0, sizeof(o));
    o.ioa = 5002;
    send_asdu(&f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACT, 7, &o);
    expect_asdu(&f, &f.a, &a);
    assert_int_equal(a.cause, PL_IEC104_COT_UNKNOWN_CA);
    assert_int_equal(a.pn, 1);
    assert_int_equal(a.ca, 7);
    /* unknown type (44): a monitoring type in the control direction, and a type plcline
     * does not know (126, F_DR_TA_1) sent as raw bytes */
    memset(&o, 0, sizeof(o));
    o.ioa = 1001;
    send_asdu(&f.a, PL_IEC104_M_SP_NA_1, PL_IEC104_COT_ACT, CA, &o);
    expect_reply(&f, &f.a, PL_IEC104_M_SP_NA_1, PL_IEC104_COT_UNKNOWN_TYPE, 1, 1001);
    {
        static const uint8_t f_dr[] = {126, 1, 6, 0, CA, 0, 1, 0, 0, 0};
        pl_iec104_apdu_t ap;
        const uint8_t *m;

        send_i_raw(&f.a, f_dr, sizeof(f_dr));
        m = take(&f, &f.a, &ap);
        assert_int_equal(ap.kind, PL_IEC104_FRAME_I);
        assert_int_equal(ap.asdu_len, sizeof(f_dr));
        assert_int_equal(m[6], 126);
        assert_int_equal(m[8], 0x40 | PL_IEC104_COT_UNKNOWN_TYPE);
        assert_memory_equal(m + 9, f_dr + 3, sizeof(f_dr) - 3);
    }
    /* deactivation without a selection: negative DEACT_CON */
    send_cmd(&f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_DEACT, 5002, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_DEACTCON, 1, 5002);
    /* read: the point's value with cause req; an unknown one: 47 */
    memset(&o, 0, sizeof(o));
    o.ioa = 1002;
    send_asdu(&f.a, PL_IEC104_C_RD_NA_1, PL_IEC104_COT_REQ, CA, &o);
    expect_reply(&f, &f.a, PL_IEC104_M_ME_NC_1, PL_IEC104_COT_REQ, 0, 1002);
    o.ioa = 1003;
    send_asdu(&f.a, PL_IEC104_C_RD_NA_1, PL_IEC104_COT_REQ, CA, &o);
    expect_reply(&f, &f.a, PL_IEC104_C_RD_NA_1, PL_IEC104_COT_UNKNOWN_IOA, 1, 1003);
    /* clock synchronisation (also to the broadcast address, answered with the own one) */
    memset(&o, 0, sizeof(o));
    assert_int_equal(pl_iec104_cp56_from_unix_ms(1893456000000LL, &o.time), 0);
    o.has_time = 1;
    send_asdu(&f.a, PL_IEC104_C_CS_NA_1, PL_IEC104_COT_ACT, PL_IEC104_CA_BROADCAST, &o);
    expect_reply(&f, &f.a, PL_IEC104_C_CS_NA_1, PL_IEC104_COT_ACTCON, 0, 0);
    o.time.iv = 1;
    send_asdu(&f.a, PL_IEC104_C_CS_NA_1, PL_IEC104_COT_ACT, CA, &o);
    expect_reply(&f, &f.a, PL_IEC104_C_CS_NA_1, PL_IEC104_COT_ACTCON, 1, 0);
    /* test command */
    o.time.iv = 0;
    o.v.tsc = 0x1234;
    send_asdu(&f.a, PL_IEC104_C_TS_TA_1, PL_IEC104_COT_ACT, CA, &o);
    expect_reply(&f, &f.a, PL_IEC104_C_TS_TA_1, PL_IEC104_COT_ACTCON, 0, 0);
    send_s(&f.a);
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->commands, 5);
    assert_int_equal(stats(&f)->clock_syncs, 1);
    assert_int_equal(stats(&f)->negative, 10);
    stop(&f);
}

static void test_select_before_operate(void **state)
{
    pl_iec104_server_config_t cfg;
    fixture_t f;
    double v;

    (void)state;
    config(&cfg);
    cfg.require_select = 1;
    start_cfg(&f, &cfg);
    startdt(&f, &f.a);
    /* execute without a select: negative ACT_CON, nothing done */
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 5001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTCON, 1, 5001);
    barrier(&f, &f.a);
    assert_int_equal(pl_iec104_server_point(f.srv, 5001, NULL, &v), 0);
    assert_true(v == 0.0);
    /* select: ACT_CON only; then execute: ACT_CON and ACT_TERM */
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 5001, 1);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTCON, 0, 5001);
    barrier(&f, &f.a);
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 5001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTCON, 0, 5001);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTTERM, 0, 5001);
    assert_int_equal(pl_iec104_server_point(f.srv, 5001, NULL, &v), 0);
    assert_true(v == 42.5);
    /* the selection was used up */
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 5001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTCON, 1, 5001);
    /* select, deactivate (DEACT_CON), execute: refused */
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 5001, 1);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTCON, 0, 5001);
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_DEACT, 5001, 1);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_DEACTCON, 0, 5001);
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 5001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTCON, 1, 5001);
    send_s(&f.a);
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->selects, 2);
    assert_int_equal(stats(&f)->commands, 1);
    stop(&f);
}

/* Two connections of one redundancy group: a is started and gets events 1..6, confirms
 * only the first two and dies; events 7..9 come while no connection is started; b is
 * started and gets every event a had not confirmed, then the new ones: no number missing. */
static void test_redundancy_group(void **state)
{
    pl_iec104_server_config_t cfg;
    pl_iec104_apdu_t ap;
    fixture_t f;
    int seen[12];
    int i;

    (void)state;
    config(&cfg);
    cfg.event_ioa = 9000;
    start_cfg(&f, &cfg);
    raw_connect(&f, &f.b);
    run_until_conns(&f, 2);
    startdt(&f, &f.a);
    for (i = 1; i <= 6; i++)
        (void)pl_iec104_server_step(f.srv);
    memset(seen, 0, sizeof(seen));
    read_events(&f, &f.a, 9000, seen, 12, 6, 0);
    /* confirm the first four I-frames: events 1 and 2 with their animated points */
    {
        uint8_t b[6];

        assert_int_equal(pl_iec104_encode_s(b, sizeof(b), 4), 6);
        raw_send(&f.a, b, 6);
    }
    barrier(&f, &f.a);
    drop(&f.a);
    run_until_conns(&f, 1);
    for (i = 7; i <= 9; i++)
        (void)pl_iec104_server_step(f.srv);
    /* b knew nothing so far: stopped connections get no events */
    barrier(&f, &f.b);
    startdt(&f, &f.b);
    memset(seen + 2, 0, sizeof(seen) - 2 * sizeof(seen[0]));
    read_events(&f, &f.b, 9000, seen, 12, 7, 1); /* 3..9 */
    (void)pl_iec104_server_step(f.srv);
    read_events(&f, &f.b, 9000, seen, 12, 1, 1); /* 10 */
    for (i = 0; i < 10; i++)
        assert_int_equal(seen[i], 1);
    barrier(&f, &f.b);
    assert_int_equal(stats(&f)->events_resent, 8); /* 3..6 and their animated points */
    /* and a second connection started takes over from the first without a break */
    raw_connect(&f, &f.a);
    run_until_conns(&f, 2);
    startdt(&f, &f.a);
    (void)pl_iec104_server_step(f.srv);
    memset(seen, 0, sizeof(seen));
    read_events(&f, &f.a, 9000, seen, 12, 1, 1);
    assert_int_equal(seen[10], 1);
    barrier(&f, &f.b); /* b was stopped by a's STARTDT: nothing more for it */
    (void)ap;
    stop(&f);
}

static void test_per_connection_groups(void **state)
{
    pl_iec104_server_config_t cfg;
    fixture_t f;
    int sa[2], sb[2];

    (void)state;
    config(&cfg);
    cfg.event_ioa = 9000;
    cfg.grouping = PL_IEC104_GROUP_PER_CONNECTION;
    start_cfg(&f, &cfg);
    raw_connect(&f, &f.b);
    run_until_conns(&f, 2);
    startdt(&f, &f.a);
    startdt(&f, &f.b);
    (void)pl_iec104_server_step(f.srv);
    (void)pl_iec104_server_step(f.srv);
    memset(sa, 0, sizeof(sa));
    memset(sb, 0, sizeof(sb));
    read_events(&f, &f.a, 9000, sa, 2, 2, 1);
    read_events(&f, &f.b, 9000, sb, 2, 2, 1);
    assert_int_equal(sa[0] + sa[1] + sb[0] + sb[1], 4);
    stop(&f);
}

/* BY_ADDRESS: connections from 127.0.0.1 share a group, one from 127.0.0.2 has its own. */
static void test_groups_by_address(void **state)
{
    pl_iec104_server_config_t cfg;
    fixture_t f;
    raw_t *c;
    int sa[2], sb[2], sc[2];

    (void)state;
    config(&cfg);
    cfg.event_ioa = 9000;
    cfg.grouping = PL_IEC104_GROUP_BY_ADDRESS;
    start_cfg(&f, &cfg);
    raw_connect(&f, &f.b);
    c = calloc(1, sizeof(*c));
    assert_non_null(c);
    raw_connect_from(&f, c, "127.0.0.2");
    run_until_conns(&f, 3);
    startdt(&f, &f.a);
    startdt(&f, c);
    (void)pl_iec104_server_step(f.srv);
    memset(sa, 0, sizeof(sa));
    memset(sc, 0, sizeof(sc));
    read_events(&f, &f.a, 9000, sa, 2, 1, 1);
    read_events(&f, c, 9000, sc, 2, 1, 1);
    assert_int_equal(sa[0], 1);
    assert_int_equal(sc[0], 1);
    /* b is in a's group: starting it stops a, c keeps going */
    startdt(&f, &f.b);
    (void)pl_iec104_server_step(f.srv);
    memset(sb, 0, sizeof(sb));
    read_events(&f, &f.b, 9000, sb, 2, 1, 1);
    read_events(&f, c, 9000, sc, 2, 1, 1);
    assert_int_equal(sb[1], 1);
    assert_int_equal(sc[1], 1);
    barrier(&f, &f.a);
    drop(c);
    free(c);
    stop(&f);
}

static void test_sequence_errors(void **state)
{
    fixture_t f;
    pl_iec104_object_t o;
    uint8_t b[6];

    (void)state;
    /* a wrong N(S) closes the connection */
    start(&f);
    startdt(&f, &f.a);
    memset(&o, 0, sizeof(o));
    f.a.vs = 5;
    send_asdu(&f.a, PL_IEC104_C_TS_TA_1, PL_IEC104_COT_ACT, CA, &o);
    run_until(&f.loop, &f.a.downs, 1);
    assert_int_equal(stats(&f)->seq_errors, 1);
    stop(&f);
    /* an N(R) for frames never sent closes it */
    start(&f);
    assert_int_equal(pl_iec104_encode_s(b, sizeof(b), 3), 6);
    raw_send(&f.a, b, 6);
    run_until(&f.loop, &f.a.downs, 1);
    assert_int_equal(stats(&f)->seq_errors, 1);
    stop(&f);
}

static void test_malformed(void **state)
{
    static const uint8_t bad[][6] = {
        {0x00, 0x04, 0x07, 0x00, 0x00, 0x00}, /* start byte */
        {0x68, 0x02, 0x07, 0x00, 0x00, 0x00}, /* length below 4 */
        {0x68, 0x04, 0x0F, 0x00, 0x00, 0x00}, /* two U functions */
        {0x68, 0x04, 0x01, 0x00, 0x01, 0x00}, /* S-frame with bit 0 of octet 3 */
    };
    fixture_t f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        start(&f);
        raw_send(&f.a, bad[i], sizeof(bad[i]));
        run_until(&f.loop, &f.a.downs, 1);
        assert_int_equal(stats(&f)->bad_frames, 1);
        stop(&f);
    }
    /* an ASDU that does not decode is ignored (counted), the connection stays */
    start(&f);
    startdt(&f, &f.a);
    {
        static const uint8_t shortasdu[] = {PL_IEC104_C_SC_NA_1, 1, 6, 0, CA};

        send_i_raw(&f.a, shortasdu, sizeof(shortasdu));
    }
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->bad_asdus, 1);
    assert_int_equal(f.a.downs, 0);
    stop(&f);
}

static void test_split_every_byte(void **state)
{
    fixture_t f;
    uint8_t buf[64], ic[PL_IEC104_MAX_ASDU];
    pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    pl_iec104_asdu_t h;
    pl_iec104_object_t o;
    size_t len = 0, i;
    int n;

    (void)state;
    start(&f);
    /* STARTDT act, a test command and TESTFR act, sent one byte per write */
    assert_int_equal(pl_iec104_encode_u(buf, sizeof(buf), PL_IEC104_U_STARTDT_ACT), 6);
    len = 6;
    memset(&h, 0, sizeof(h));
    h.type = PL_IEC104_C_TS_TA_1;
    h.cause = PL_IEC104_COT_ACT;
    h.ca = CA;
    memset(&o, 0, sizeof(o));
    n = pl_iec104_asdu_encode(ic, sizeof(ic), &p, &h, &o, 1, NULL);
    assert_true(n > 0);
    n = pl_iec104_encode_i(buf + len, sizeof(buf) - len, 0, 0, ic, (size_t)n);
    assert_true(n > 0);
    len += (size_t)n;
    assert_int_equal(pl_iec104_encode_u(buf + len, sizeof(buf) - len, PL_IEC104_U_TESTFR_ACT), 6);
    len += 6;
    for (i = 0; i < len; i++) {
        raw_send(&f.a, buf + i, 1);
        uv_run(&f.loop, UV_RUN_NOWAIT);
    }
    f.a.vs = 1;
    expect_u(&f, &f.a, PL_IEC104_U_STARTDT_CON);
    expect_reply(&f, &f.a, PL_IEC104_C_TS_TA_1, PL_IEC104_COT_ACTCON, 0, 0);
    expect_u(&f, &f.a, PL_IEC104_U_TESTFR_CON);
    assert_int_equal(stats(&f)->frames_in, 3);
    stop(&f);
}

static void test_faults(void **state)
{
    pl_iec104_server_config_t cfg;
    fixture_t f;

    (void)state;
    /* ignore_startdt: STARTDT act is never confirmed */
    config(&cfg);
    cfg.ignore_startdt = 1;
    start_cfg(&f, &cfg);
    send_u(&f.a, PL_IEC104_U_STARTDT_ACT);
    barrier(&f, &f.a);
    assert_int_equal(stats(&f)->started, 0);
    stop(&f);
    /* ignore_testfr: TESTFR act is never answered, STARTDT still is */
    config(&cfg);
    cfg.ignore_testfr = 1;
    start_cfg(&f, &cfg);
    send_u(&f.a, PL_IEC104_U_TESTFR_ACT);
    startdt(&f, &f.a);
    stop(&f);
    /* close_after: the third frame closes the connection */
    config(&cfg);
    cfg.close_after = 3;
    start_cfg(&f, &cfg);
    barrier(&f, &f.a);
    barrier(&f, &f.a);
    send_u(&f.a, PL_IEC104_U_TESTFR_ACT);
    run_until(&f.loop, &f.a.downs, 1);
    assert_int_equal(f.a.nmsg, 2);
    stop(&f);
    /* delay_ms: answers still come, in order */
    config(&cfg);
    cfg.delay_ms = 20;
    start_cfg(&f, &cfg);
    startdt(&f, &f.a);
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 5001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTCON, 0, 5001);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTTERM, 0, 5001);
    stop(&f);
}

/* Each spec and option error names what is wrong. */
static void test_config_errors(void **state)
{
    static const struct {
        const char *points;
        const char *detail;
    } bad[] = {
        {"X_YZ_1:1", "unknown type 'X_YZ_1'"},
        {"M_ME_NC_1", "is not TYPE:IOA"},
        {"M_ME_NC_1:", "IOA is missing"},
        {"M_ME_NC_1:0", "IOA outside 1..16777215"},
        {"M_ME_NC_1:16777216", "IOA outside"},
        {"M_ME_NC_1:5-3", "goes backwards"},
        {"M_ME_NC_1:1-", "end IOA missing"},
        {"M_ME_NC_1:1;", "unexpected ';'"},
        {"C_IC_NA_1:1", "cannot be an information object"},
        {"M_ME_NC_1:1-10 M_SP_NA_1:5", "IOA 5 given twice"},
        {"", "no information objects"},
        {"M_SP_NA_1:1-70000", "more than 65536"},
    };
    pl_iec104_server_config_t cfg;
    pl_iec104_server_t *s = NULL;
    pl_status_t st;
    uv_loop_t loop;
    size_t i;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config(&cfg);
        cfg.points = bad[i].points;
        assert_int_equal(pl_iec104_server_new(&loop, &cfg, &s, &st), PL_ECONFIG);
        if (strstr(st.detail, bad[i].detail) == NULL)
            fail_msg("spec '%s': detail '%s' lacks '%s'", bad[i].points, st.detail, bad[i].detail);
    }
    config(&cfg);
    cfg.event_ioa = 1001; /* an M_ME_NC_1 point */
    assert_int_equal(pl_iec104_server_new(&loop, &cfg, &s, &st), PL_ECONFIG);
    assert_non_null(strstr(st.detail, "event_ioa 1001"));
    config(&cfg);
    cfg.w = 13;
    assert_int_equal(pl_iec104_server_new(&loop, &cfg, &s, &st), PL_ECONFIG);
    config(&cfg);
    cfg.t2_ms = cfg.t1_ms;
    assert_int_equal(pl_iec104_server_new(&loop, &cfg, &s, &st), PL_ECONFIG);
    config(&cfg);
    cfg.points = NULL;
    cfg.points_file = "/nonexistent/points.txt";
    assert_int_equal(pl_iec104_server_new(&loop, &cfg, &s, &st), PL_EIO);
    /* a file with comments and a list */
    {
        char path[] = "/tmp/plcline-points-XXXXXX";
        int fd = mkstemp(path);
        FILE *fp;
        double v;
        uint8_t type;

        assert_true(fd >= 0);
        fp = fdopen(fd, "w");
        assert_non_null(fp);
        fputs("# measured values\nM_ME_NB_1:10,12,20-21  # four\nC_BO_NA_1:99\n", fp);
        fclose(fp);
        config(&cfg);
        cfg.points = NULL;
        cfg.points_file = path;
        assert_int_equal(pl_iec104_server_new(&loop, &cfg, &s, &st), 0);
        remove(path);
        assert_int_equal(pl_iec104_server_point(s, 12, &type, &v), 0);
        assert_int_equal(type, PL_IEC104_M_ME_NB_1);
        assert_int_equal(pl_iec104_server_point(s, 11, &type, &v), PL_EINVAL);
        assert_int_equal(pl_iec104_server_point(s, 99, &type, &v), 0);
        assert_int_equal(type, PL_IEC104_C_BO_NA_1);
        pl_iec104_server_free(s);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* --frames DIR: one session's frames as a text2pcap dump. */
static int write_frames(const char *dir, int wait)
{
    pl_iec104_server_config_t cfg;
    char path[4096], line[16];
    fixture_t f;
    pl_status_t st;
    static int seen[1200], counters[6000];

    snprintf(path, sizeof(path), "%s/frames.txt", dir);
    frames_out = fopen(path, "w");
    if (frames_out == NULL)
        return 1;
    config(&cfg);
    cfg.points = "M_ME_NC_1:1001-1010 M_SP_NA_1:2001-2004 M_ME_TF_1:1101-1102 M_IT_NA_1:3001 "
                 "C_SE_NC_1:5001 C_SC_NA_1:5002";
    cfg.event_ioa = 9000;
    memset(&f, 0, sizeof(f));
    assert_int_equal(uv_loop_init(&f.loop), 0);
    assert_int_equal(pl_iec104_server_new(&f.loop, &cfg, &f.srv, &st), 0);
    printf("port %u\n", pl_iec104_server_port(f.srv)); /* for a live capture */
    fflush(stdout);
    if (wait && fgets(line, sizeof(line), stdin) == NULL) /* --wait: until the capture runs */
        return 1;
    raw_connect(&f, &f.a);
    startdt(&f, &f.a);
    memset(seen, 0, sizeof(seen));
    (void)interrogate(&f, &f.a, PL_IEC104_C_IC_NA_1, PL_IEC104_QOI_STATION, PL_IEC104_COT_INROGEN,
                      seen, 1001, 1200);
    /* the counters: 3001 and the event counter 9000 */
    (void)interrogate(&f, &f.a, PL_IEC104_C_CI_NA_1, PL_IEC104_QCC_RQT_GENERAL,
                      PL_IEC104_COT_REQCOGEN, counters, 3001, 6000);
    (void)pl_iec104_server_step(f.srv);
    (void)pl_iec104_server_step(f.srv);
    read_events(&f, &f.a, 9000, seen, 200, 2, 1);
    send_cmd(&f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACT, 5001, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTCON, 0, 5001);
    expect_reply(&f, &f.a, PL_IEC104_C_SE_NC_1, PL_IEC104_COT_ACTTERM, 0, 5001);
    send_cmd(&f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACT, 7777, 0);
    expect_reply(&f, &f.a, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_UNKNOWN_IOA, 1, 7777);
    send_s(&f.a);
    barrier(&f, &f.a);
    send_u(&f.a, PL_IEC104_U_STOPDT_ACT);
    expect_u(&f, &f.a, PL_IEC104_U_STOPDT_CON);
    stop(&f);
    fclose(frames_out);
    frames_out = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startdt_stopdt),
        cmocka_unit_test(test_general_interrogation),
        cmocka_unit_test(test_numbered_events),
        cmocka_unit_test(test_event_queue_limit),
        cmocka_unit_test(test_animation_timer),
        cmocka_unit_test(test_clock_sync_time_tags),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_interrogation_busy_and_deact),
        cmocka_unit_test(test_t1_expiry),
        cmocka_unit_test(test_t2_t3),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_select_before_operate),
        cmocka_unit_test(test_redundancy_group),
        cmocka_unit_test(test_per_connection_groups),
        cmocka_unit_test(test_groups_by_address),
        cmocka_unit_test(test_sequence_errors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_split_every_byte),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_config_errors),
    };

    if ((argc == 3 || argc == 4) && strcmp(argv[1], "--frames") == 0)
        return write_frames(argv[2], argc == 4 && strcmp(argv[3], "--wait") == 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
