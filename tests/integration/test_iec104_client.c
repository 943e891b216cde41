/* SPDX-License-Identifier: MIT */
/*
 * The IEC 60870-5-104 controlling station (client) against the controlled-station simulator
 * and against a scripted raw station, in one process and one loop on loopback. Ports are
 * picked at run time; nothing sleeps: the loop runs until a condition holds, with a guard
 * timer that fails the test if it never does. Nothing asserts how long anything took.
 *
 * Covered: the general interrogation delivers every monitoring point with the simulator's
 * values; numbered spontaneous events all arrive (none missing) through the k/w windows;
 * commands positive (direct and select-before-operate) and negative (unknown IOA, unknown
 * common address, execute without select); t1 expiry on a station that never confirms
 * STARTDT; reconnect to the second host of a list; a session whose frames arrive one byte
 * at a time; a wrong N(S) as a named error; the acknowledgement only after the data
 * callback returned.
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
#include "plcline/iec104_client.h"
#include "plcline/line.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"

#define GUARD_MS   10000
#define SPEC       "M_ME_NC_1:1001-1100 M_SP_NA_1:2001-2050 C_SE_NC_1:5001 M_IT_NA_1:3001-3002"
#define EVENT_IOA  9000u
#define MAX_EVENTS 500u

typedef struct {
    uv_loop_t loop;
    pl_iec104_server_t *srv;
    pl_iec104_client_t *cli;
    int started, gi_done, downs;
    int last_down_code;
    unsigned points; /* delivered */
    unsigned by_ioa[10000];
    double value[10000];
    uint8_t seen[MAX_EVENTS + 1];
    uint32_t top_event;
    int cmd_done;
    pl_status_t cmd_status;
} fx_t;

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until *flag >= want (or the guard fires: the test fails). */
static void run_until(uv_loop_t *loop, const int *flag, int want)
{
    int expired = 0;
    uv_timer_t guard;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, GUARD_MS, 0);
    while (*flag < want && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    if (*flag < want)
        fail_msg("condition not reached within the guard (%d of %d)", *flag, want);
}

static void on_data(pl_iec104_client_t *c, const pl_iec104_point_t *p, void *ud)
{
    fx_t *f = ud;

    (void)c;
    f->points++;
    if (p->ioa < sizeof(f->by_ioa) / sizeof(f->by_ioa[0])) {
        f->by_ioa[p->ioa]++;
        f->value[p->ioa] = p->value;
    }
    if (p->ioa == EVENT_IOA && p->value >= 1 && p->value <= MAX_EVENTS) {
        f->seen[(unsigned)p->value] = 1;
        if ((uint32_t)p->value > f->top_event)
            f->top_event = (uint32_t)p->value;
    }
}

static void on_link(pl_iec104_client_t *c, pl_iec104_link_t what, const pl_status_t *why, void *ud)
{
    fx_t *f = ud;

    (void)c;
    if (what == PL_IEC104_LINK_STARTED)
        f->started++;
    else if (what == PL_IEC104_LINK_GI_DONE)
        f->gi_done++;
    else {
        f->downs++;
        f->last_down_code = why != NULL ? why->code : 0;
    }
}

static void start_server(fx_t *f, void (*tweak)(pl_iec104_server_config_t *))
{
    pl_iec104_server_config_t sc;
    pl_status_t st;

    pl_iec104_server_config_init(&sc);
    sc.listen.port = 0;
    sc.points = SPEC;
    sc.event_ioa = EVENT_IOA;
    if (tweak != NULL)
        tweak(&sc);
    pl_status_clear(&st);
    if (pl_iec104_server_new(&f->loop, &sc, &f->srv, &st) != 0)
        fail_msg("server: %s", st.detail);
}

/* The client of "PRE<port>POST". */
static void start_client(fx_t *f, const char *pre, unsigned port, const char *post,
                         void (*tweak)(pl_iec104_client_config_t *))
{
    pl_iec104_client_config_t cc;
    char url[160], storage[64];
    pl_status_t st;

    snprintf(url, sizeof(url), "%s%u%s", pre, port, post);
    pl_iec104_client_config_init(&cc);
    pl_status_clear(&st);
    if (pl_iec104_client_config_url(&cc, url, storage, sizeof(storage), &st) != 0)
        fail_msg("url %s: %s", url, st.detail);
    cc.line.backoff_min_ms = 10;
    cc.line.backoff_max_ms = 50;
    cc.on_data = on_data;
    cc.on_link = on_link;
    cc.ud = f;
    if (tweak != NULL)
        tweak(&cc);
    assert_int_equal(pl_iec104_client_new(&f->loop, &cc, &f->cli), 0);
    assert_int_equal(pl_iec104_client_start(f->cli), 0);
}

static fx_t *fx_new(void)
{
    fx_t *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    uv_loop_init(&f->loop);
    return f;
}

static void fx_free(fx_t *f)
{
    if (f->cli != NULL)
        pl_iec104_client_free(f->cli);
    if (f->srv != NULL)
        pl_iec104_server_free(f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
}

/* ------------------------------------------------------------------ simulator */

static void test_gi_every_point(void **state)
{
    fx_t *f = fx_new();
    unsigned ioa;

    (void)state;
    start_server(f, NULL);
    start_client(f, "iec104://127.0.0.1:", pl_iec104_server_port(f->srv), "/1", NULL);
    run_until(&f->loop, &f->gi_done, 1);
    assert_int_equal(f->started, 1);
    /* every monitoring point but the integrated totals (counter interrogation), once */
    for (ioa = 1001; ioa <= 1100; ioa++)
        assert_int_equal(f->by_ioa[ioa], 1);
    for (ioa = 2001; ioa <= 2050; ioa++)
        assert_int_equal(f->by_ioa[ioa], 1);
    assert_int_equal(f->by_ioa[3001], 0);
    assert_int_equal(f->by_ioa[5001], 0); /* a command point is not monitored */
    assert_int_equal(f->points, 150);
    assert_int_equal(pl_iec104_client_stats(f->cli)->gi_done, 1);
    assert_true(pl_iec104_client_started(f->cli));
    fx_free(f);
}

static int events_top(fx_t *f)
{
    return (int)f->top_event;
}

static void small_windows(pl_iec104_client_config_t *cc)
{
    cc->k = 12;
    cc->w = 8;
}

static void test_events_none_missing(void **state)
{
    fx_t *f = fx_new();
    unsigned i, n = 400;
    int top;

    (void)state;
    start_server(f, NULL);
    start_client(f, "iec104://127.0.0.1:", pl_iec104_server_port(f->srv), "", small_windows);
    run_until(&f->loop, &f->gi_done, 1);
    for (i = 0; i < n; i++)
        (void)pl_iec104_server_step(f->srv);
    top = 0;
    {
        int expired = 0;
        uv_timer_t guard;

        uv_timer_init(&f->loop, &guard);
        guard.data = &expired;
        uv_timer_start(&guard, on_guard, GUARD_MS, 0);
        while ((top = events_top(f)) < (int)n && !expired)
            uv_run(&f->loop, UV_RUN_ONCE);
        uv_close((uv_handle_t *)&guard, NULL);
        uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(top, (int)n);
    for (i = 1; i <= n; i++)
        if (!f->seen[i])
            fail_msg("event %u missing", i);
    assert_int_equal(pl_iec104_server_stats(f->srv)->t1_expired, 0);
    assert_int_equal(pl_iec104_server_stats(f->srv)->seq_errors, 0);
    assert_true(pl_iec104_server_stats(f->srv)->s_in > 0); /* the client acknowledged */
    fx_free(f);
}

static void on_cmd(pl_iec104_cmd_t *cmd)
{
    fx_t *f = cmd->data;

    f->cmd_done++;
    f->cmd_status = cmd->status;
}

static int command(fx_t *f, uint8_t type, uint32_t ioa, double value, int sbo)
{
    pl_iec104_cmd_t cmd;
    int before = f->cmd_done;

    memset(&cmd, 0, sizeof(cmd));
    cmd.type = type;
    cmd.ioa = ioa;
    cmd.value = value;
    cmd.sbo = (uint8_t)sbo;
    cmd.cb = on_cmd;
    cmd.data = f;
    assert_int_equal(pl_iec104_command(f->cli, &cmd), 0);
    run_until(&f->loop, &f->cmd_done, before + 1);
    assert_int_equal(f->cmd_done, before + 1); /* exactly once */
    return f->cmd_status.code;
}

static void test_commands(void **state)
{
    fx_t *f = fx_new();
    pl_iec104_cmd_t bad;
    uint8_t type;
    double v;

    (void)state;
    start_server(f, NULL);
    start_client(f, "iec104://127.0.0.1:", pl_iec104_server_port(f->srv), "", NULL);
    run_until(&f->loop, &f->started, 1);
    assert_int_equal(command(f, PL_IEC104_C_SE_NC_1, 5001, 1.5, 0), 0);
    assert_int_equal(pl_iec104_server_point(f->srv, 5001, &type, &v), 0);
    assert_true(v == 1.5);
    assert_int_equal(command(f, PL_IEC104_C_SE_NC_1, 5001, -7.25, 1), 0); /* select, execute */
    assert_int_equal(pl_iec104_server_point(f->srv, 5001, &type, &v), 0);
    assert_true(v == -7.25);
    assert_int_equal(pl_iec104_server_stats(f->srv)->selects, 1);
    assert_int_equal(command(f, PL_IEC104_C_SE_TC_1, 5001, 3, 0), 0); /* time-tagged */
    assert_int_equal(command(f, PL_IEC104_C_SE_NC_1, 5999, 1, 0), PL_EIEC104_UNKNOWN_IOA);
    assert_non_null(strstr(f->cmd_status.detail, "IOA 5999"));
    assert_int_equal(command(f, PL_IEC104_C_SC_NA_1, 5001, 1, 0), PL_EIEC104_UNKNOWN_IOA);
    /* values that do not fit the type are refused at once, without a callback */
    memset(&bad, 0, sizeof(bad));
    bad.type = PL_IEC104_C_SC_NA_1;
    bad.value = 2;
    bad.cb = on_cmd;
    assert_int_equal(pl_iec104_command(f->cli, &bad), PL_EINVAL);
    bad.type = PL_IEC104_M_ME_NC_1;
    bad.value = 0;
    assert_int_equal(pl_iec104_command(f->cli, &bad), PL_EINVAL);
    assert_int_equal(pl_iec104_client_stats(f->cli)->commands_ok, 3);
    assert_int_equal(pl_iec104_client_stats(f->cli)->commands_failed, 2);
    fx_free(f);
}

static void require_select(pl_iec104_server_config_t *sc)
{
    sc->require_select = 1;
}

static void test_commands_negative(void **state)
{
    fx_t *f = fx_new();

    (void)state;
    start_server(f, require_select);
    start_client(f, "iec104://127.0.0.1:", pl_iec104_server_port(f->srv), "", NULL);
    run_until(&f->loop, &f->started, 1);
    assert_int_equal(command(f, PL_IEC104_C_SE_NC_1, 5001, 2, 0), PL_EIEC104_NEGATIVE);
    assert_non_null(strstr(f->cmd_status.detail, "negative confirmation"));
    assert_int_equal(command(f, PL_IEC104_C_SE_NC_1, 5001, 2, 1), 0);
    pl_iec104_client_free(f->cli);
    f->cli = NULL;
    /* another common address */
    start_client(f, "iec104://127.0.0.1:", pl_iec104_server_port(f->srv), "/9", NULL);
    run_until(&f->loop, &f->started, 2);
    assert_int_equal(command(f, PL_IEC104_C_SE_NC_1, 5001, 2, 1), PL_EIEC104_UNKNOWN_CA);
    fx_free(f);
}

static void silent_startdt(pl_iec104_server_config_t *sc)
{
    sc->ignore_startdt = 1;
}

static void short_t1(pl_iec104_client_config_t *cc)
{
    cc->t1_ms = 200;
    cc->t2_ms = 100;
    cc->timeout_ms = 300;
}

static void test_t1_silent_station(void **state)
{
    fx_t *f = fx_new();

    (void)state;
    start_server(f, silent_startdt);
    start_client(f, "iec104://127.0.0.1:", pl_iec104_server_port(f->srv), "", short_t1);
    run_until(&f->loop, &f->downs, 1);
    assert_int_equal(f->last_down_code, PL_EIEC104_T1);
    assert_int_equal(f->started, 0);
    assert_true(pl_iec104_client_stats(f->cli)->t1_expired >= 1);
    /* a command waiting for a started connection is answered once, when its time is up */
    assert_int_equal(command(f, PL_IEC104_C_SE_NC_1, 5001, 1, 0), PL_EIEC104_T1);
    assert_non_null(strstr(f->cmd_status.detail, "no started connection"));
    fx_free(f);
}

static void periodic(pl_iec104_client_config_t *cc)
{
    cc->gi_period_ms = 30;
    cc->time_sync = 1;
    cc->t3_ms = 20;
    cc->t2_ms = 10;
    cc->t1_ms = 2000;
}

/* Runs the loop until the client has sent a TESTFR act (or the guard fires). */
static void run_until_testfr(fx_t *f)
{
    int expired = 0;
    uv_timer_t guard;

    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, GUARD_MS, 0);
    while (pl_iec104_client_stats(f->cli)->testfr_sent == 0 && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* gi_period repeats the interrogation, time_sync synchronises the station's clock once per
 * connection, t3 of silence sends TESTFR act (which the station confirms: no drop). */
static void test_periodic_gi_clock_testfr(void **state)
{
    fx_t *f = fx_new();

    (void)state;
    start_server(f, NULL);
    start_client(f, "iec104://127.0.0.1:", pl_iec104_server_port(f->srv), "", periodic);
    run_until(&f->loop, &f->gi_done, 3);
    assert_int_equal(f->started, 1);
    assert_int_equal(pl_iec104_server_stats(f->srv)->clock_syncs, 1);
    assert_true(pl_iec104_client_stats(f->cli)->interrogations >= 3);
    assert_int_equal(f->by_ioa[1001], f->gi_done); /* each answer delivered the point */
    run_until_testfr(f);
    assert_true(pl_iec104_client_stats(f->cli)->testfr_sent >= 1);
    assert_int_equal(f->downs, 0);
    fx_free(f);
}

static void test_second_host(void **state)
{
    fx_t *f = fx_new();

    (void)state;
    start_server(f, NULL);
    /* port 1 on loopback: nothing listens, the connection is refused */
    start_client(f, "iec104://127.0.0.1:1,127.0.0.1:", pl_iec104_server_port(f->srv), "", NULL);
    run_until(&f->loop, &f->gi_done, 1);
    assert_int_equal(pl_line_host_index(pl_iec104_client_line(f->cli)), 1);
    assert_true(f->downs >= 1); /* the first host failed */
    assert_int_equal(f->points, 150);
    fx_free(f);
}

/* ------------------------------------------------------------------ raw station */

typedef struct {
    fx_t *f;
    pl_listener_t *lst;
    pl_conn_t *conn;
    int mode; /* 0: one byte at a time; 1: a wrong N(S) */
    uint8_t rx[512];
    size_t rx_len;
    uint8_t out[2048];
    size_t out_len, out_at;
    uv_timer_t drip;
} raw_station_t;

static void drip(uv_timer_t *t)
{
    raw_station_t *r = t->data;

    if (r->conn == NULL || r->out_at >= r->out_len)
        return;
    (void)pl_conn_send(r->conn, r->out + r->out_at, 1);
    r->out_at++;
    uv_timer_start(&r->drip, drip, 1, 0);
}

static void append_i(raw_station_t *r, uint16_t ns, const uint8_t *asdu, size_t len)
{
    int n = pl_iec104_encode_i(r->out + r->out_len, sizeof(r->out) - r->out_len, ns, 1, asdu, len);

    assert_true(n > 0);
    r->out_len += (size_t)n;
}

static size_t make_asdu(uint8_t *buf, uint8_t type, uint8_t cause, const pl_iec104_object_t *o,
                        size_t n)
{
    pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    pl_iec104_asdu_t h;
    int len;

    memset(&h, 0, sizeof(h));
    h.type = type;
    h.cause = cause;
    h.ca = 1;
    len = pl_iec104_asdu_encode(buf, PL_IEC104_MAX_ASDU, &p, &h, o, n, NULL);
    assert_true(len > 0);
    return (size_t)len;
}

/* The answer to STARTDT and GI: ACT_CON, a float with time and quality, a single point,
 * ACT_TERM; N(S) 0, 1, 2, 3 (mode 1: the second is numbered 5). */
static void script(raw_station_t *r)
{
    uint8_t asdu[PL_IEC104_MAX_ASDU];
    pl_iec104_object_t o[2];
    size_t n;

    (void)pl_iec104_encode_u(r->out, sizeof(r->out), PL_IEC104_U_STARTDT_CON);
    r->out_len = PL_IEC104_APCI_LEN;
    memset(o, 0, sizeof(o));
    o[0].qualifier = PL_IEC104_QOI_STATION;
    n = make_asdu(asdu, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACTCON, o, 1);
    append_i(r, 0, asdu, n);
    memset(o, 0, sizeof(o));
    o[0].ioa = 7;
    o[0].v.real = 2.5f;
    o[0].quality = PL_IEC104_Q_NT;
    o[0].has_time = 1;
    o[0].time.ms = 1234;
    o[0].time.min = 5;
    o[0].time.hour = 6;
    o[0].time.mday = 7;
    o[0].time.month = 8;
    o[0].time.year = 26;
    n = make_asdu(asdu, PL_IEC104_M_ME_TF_1, PL_IEC104_COT_INROGEN, o, 1);
    append_i(r, r->mode == 1 ? 5 : 1, asdu, n);
    memset(o, 0, sizeof(o));
    o[0].ioa = 8;
    o[0].v.state = 1;
    o[1].ioa = 9;
    o[1].quality = PL_IEC104_Q_IV;
    n = make_asdu(asdu, PL_IEC104_M_SP_NA_1, PL_IEC104_COT_INROGEN, o, 2);
    append_i(r, 2, asdu, n);
    memset(o, 0, sizeof(o));
    o[0].qualifier = PL_IEC104_QOI_STATION;
    n = make_asdu(asdu, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACTTERM, o, 1);
    append_i(r, 3, asdu, n);
}

static int raw_accept(pl_listener_t *lst, pl_conn_t *conn, void *ud)
{
    raw_station_t *r = ud;

    (void)lst;
    if (r->conn != NULL)
        return -1;
    r->conn = conn;
    r->rx_len = 0;
    r->out_at = 0;
    return 0;
}

static void raw_data(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud)
{
    raw_station_t *r = ud;
    size_t need;
    int n;

    (void)conn;
    if (r->rx_len + len > sizeof(r->rx))
        return;
    memcpy(r->rx + r->rx_len, buf, len);
    r->rx_len += len;
    while ((n = pl_iec104_frame(r->rx, r->rx_len, &need)) > 0) {
        pl_iec104_apdu_t a;

        if (pl_iec104_decode(r->rx, (size_t)n, &a) == 0 && a.kind == PL_IEC104_FRAME_U &&
            a.func == PL_IEC104_U_STARTDT_ACT)
            uv_timer_start(&r->drip, drip, 1, 0); /* the whole script, byte by byte */
        memmove(r->rx, r->rx + n, r->rx_len - (size_t)n);
        r->rx_len -= (size_t)n;
    }
}

static void raw_close(pl_conn_t *conn, const pl_status_t *why, void *ud)
{
    raw_station_t *r = ud;

    (void)why;
    if (r->conn == conn)
        r->conn = NULL;
    uv_timer_stop(&r->drip);
}

static void raw_start(raw_station_t *r, fx_t *f, int mode)
{
    static const pl_listener_cbs_t cbs = {raw_accept, raw_data, raw_close};
    pl_listener_config_t lc;
    pl_status_t st;

    memset(r, 0, sizeof(*r));
    memset(&lc, 0, sizeof(lc));
    r->f = f;
    r->mode = mode;
    lc.addr = "127.0.0.1";
    pl_status_clear(&st);
    assert_int_equal(pl_listener_new(&f->loop, &lc, &cbs, r, &r->lst, &st), 0);
    uv_timer_init(&f->loop, &r->drip);
    r->drip.data = r;
    script(r);
}

static void raw_stop(raw_station_t *r, fx_t *f)
{
    pl_listener_free(r->lst);
    uv_close((uv_handle_t *)&r->drip, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the handles are closed before r is reused */
}

static void no_reconnect_yet(pl_iec104_client_config_t *cc)
{
    cc->line.backoff_min_ms = 5000;
    cc->line.backoff_max_ms = 5000;
}

static void test_split_frames(void **state)
{
    fx_t *f = fx_new();
    raw_station_t *r = calloc(1, sizeof(*r));

    (void)state;
    assert_non_null(r);
    raw_start(r, f, 0);
    start_client(f, "iec104://127.0.0.1:", pl_listener_port(r->lst), "", NULL);
    run_until(&f->loop, &f->gi_done, 1);
    assert_int_equal(f->points, 3);
    assert_true(f->value[7] == 2.5);
    assert_true(f->value[8] == 1);
    assert_int_equal(f->by_ioa[9], 1);
    assert_int_equal(f->downs, 0);
    assert_int_equal(pl_iec104_client_stats(f->cli)->i_in, 4);
    pl_iec104_client_free(f->cli);
    f->cli = NULL;
    raw_stop(r, f);
    fx_free(f);
    free(r);
}

static pl_iec104_point_t first_point;
static int got_first;
static uint64_t s_out_at[10]; /* S-frames the client had sent when IOA i was delivered */

static void keep_point(pl_iec104_client_t *c, const pl_iec104_point_t *p, void *ud)
{
    (void)ud;
    if (!got_first)
        first_point = *p;
    got_first = 1;
    if (p->ioa < 10)
        s_out_at[p->ioa] = pl_iec104_client_stats(c)->s_out;
}

/* w = 1: every I-frame is acknowledged by an S-frame of its own */
static void keep_points(pl_iec104_client_config_t *cc)
{
    cc->on_data = keep_point;
    cc->w = 1;
    no_reconnect_yet(cc);
}

static void test_point_fields_and_bad_sequence(void **state)
{
    fx_t *f = fx_new();
    raw_station_t *r = calloc(1, sizeof(*r));

    (void)state;
    assert_non_null(r);
    raw_start(r, f, 1);
    got_first = 0;
    start_client(f, "iec104://127.0.0.1:", pl_listener_port(r->lst), "", keep_points);
    run_until(&f->loop, &f->downs, 1);
    assert_int_equal(f->last_down_code, PL_EIEC104_SEQ);
    assert_int_equal(got_first, 0); /* the frame out of sequence was not delivered */
    assert_int_equal(pl_iec104_client_stats(f->cli)->seq_errors, 1);
    pl_iec104_client_free(f->cli);
    f->cli = NULL;
    raw_stop(r, f);
    /* the same script in order: the point's fields */
    raw_start(r, f, 0);
    start_client(f, "iec104://127.0.0.1:", pl_listener_port(r->lst), "", keep_points);
    run_until(&f->loop, &f->gi_done, 1);
    assert_int_equal(got_first, 1);
    assert_int_equal(first_point.ioa, 7);
    assert_int_equal(first_point.type, PL_IEC104_M_ME_TF_1);
    assert_int_equal(first_point.cause, PL_IEC104_COT_INROGEN);
    assert_int_equal(first_point.quality, PL_IEC104_Q_NT);
    assert_int_equal(first_point.has_time, 1);
    /* 2026-08-07 06:05:01.234 UTC */
    assert_true(first_point.time_ms == 1786082701234LL);
    assert_true(first_point.value == 2.5);
    /* acknowledged only after the callback returned: when IOA 7 (the second I-frame) was
     * delivered, only the first had its S-frame; IOA 8 and 9 (the third) saw two */
    assert_int_equal(s_out_at[7], 1);
    assert_int_equal(s_out_at[8], 2);
    assert_int_equal(s_out_at[9], 2);
    assert_int_equal(pl_iec104_client_stats(f->cli)->s_out, 4);
    pl_iec104_client_free(f->cli);
    f->cli = NULL;
    raw_stop(r, f);
    fx_free(f);
    free(r);
}

static void test_url(void **state)
{
    pl_iec104_client_config_t cc;
    char storage[64];
    pl_status_t st;

    (void)state;
    pl_iec104_client_config_init(&cc);
    pl_status_clear(&st);
    assert_int_equal(pl_iec104_client_config_url(&cc,
                                                 "iec104://a,b:2405/7?t1=2000&t2=1000&t3=3000&"
                                                 "k=20&w=10&originator=3&gi_period=60000&"
                                                 "time_sync=1&cot_size=1&timeout=500",
                                                 storage, sizeof(storage), &st),
                     0);
    assert_int_equal(cc.ca, 7);
    assert_int_equal(cc.line.hosts.count, 2);
    assert_int_equal(cc.t1_ms, 2000);
    assert_int_equal(cc.t2_ms, 1000);
    assert_int_equal(cc.t3_ms, 3000);
    assert_int_equal(cc.k, 20);
    assert_int_equal(cc.w, 10);
    assert_int_equal(cc.originator, 3);
    assert_int_equal(cc.gi_period_ms, 60000);
    assert_int_equal(cc.time_sync, 1);
    assert_int_equal(cc.cot_size, 1);
    assert_int_equal(cc.timeout_ms, 500);
    pl_iec104_client_config_init(&cc);
    assert_int_equal(cc.line.port, 2404);
    assert_int_equal(
        pl_iec104_client_config_url(&cc, "iec104://h/0", storage, sizeof(storage), &st), PL_EURL);
    assert_non_null(strstr(st.detail, "common address '0'"));
    assert_int_equal(
        pl_iec104_client_config_url(&cc, "iec104://h?k=0", storage, sizeof(storage), &st), PL_EURL);
    assert_int_equal(
        pl_iec104_client_config_url(&cc, "iec104://h?unit=1", storage, sizeof(storage), &st),
        PL_EURL);
    assert_int_equal(pl_iec104_client_config_url(&cc, "modbus://h", storage, sizeof(storage), &st),
                     PL_EURL);
    /* t2 must be shorter than t1 */
    pl_iec104_client_config_init(&cc);
    assert_int_equal(
        pl_iec104_client_config_url(&cc, "iec104://h?t2=15000", storage, sizeof(storage), &st), 0);
    {
        uv_loop_t loop;
        pl_iec104_client_t *c = NULL;

        uv_loop_init(&loop);
        assert_int_equal(pl_iec104_client_new(&loop, &cc, &c), PL_EINVAL);
        assert_null(c);
        uv_loop_close(&loop);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_gi_every_point),
        cmocka_unit_test(test_events_none_missing),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_commands_negative),
        cmocka_unit_test(test_t1_silent_station),
        cmocka_unit_test(test_periodic_gi_clock_testfr),
        cmocka_unit_test(test_second_host),
        cmocka_unit_test(test_split_frames),
        cmocka_unit_test(test_point_fields_and_bad_sequence),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
