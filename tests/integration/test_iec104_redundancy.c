/* SPDX-License-Identifier: MIT */
/*
 * The IEC 60870-5-104 controlling station's redundancy, in one process and one loop on
 * loopback: simulators on 127.0.0.1 (the primary device) and 127.0.0.2 (the backup), a
 * scripted raw station that records the frames it gets, and a small TCP relay that stands
 * for a network path to one station (so that the primary and the backup path reach the
 * same redundancy group, and the path can be cut or turned into a black hole).
 *
 * Covered: the standby gets TESTFR act and never STARTDT; failover when the started
 * connection is closed, when its STARTDT act or an I-frame or a TESTFR act stays
 * unconfirmed past t1; STOPDT act to the old connection when it is still reachable (and it
 * stays as the standby); a general interrogation after every switch; prefer_primary moves
 * back, and without it a returning primary stays the standby; the host list of a side;
 * no numbered event lost when the started path is cut or black-holed while events stream;
 * alternate mode still holds one connection and cycles through the hosts.
 *
 * Nothing sleeps: the loop runs until a condition holds, under a guard timer that fails the
 * test if it never does. Nothing asserts how long anything took; the assertions are about
 * order and counts.
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
#include "ports.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"

#define GUARD_MS   30000
#define SPEC       "M_ME_NC_1:1001-1010 M_SP_NA_1:2001-2005"
#define SPEC_N     15u /* objects of a general interrogation's answer */
#define EVENT_IOA  9000u
#define MAX_EVENTS 1000u

/* ------------------------------------------------------------------ fixture */

typedef struct {
    uv_loop_t loop;
    pl_iec104_server_t *sim[2]; /* 0: 127.0.0.1, 1: 127.0.0.2 */
    uint16_t port[2];
    pl_iec104_client_t *cli;
    pl_logger_t log;
    int started, gi_done, downs, switches;
    pl_status_t last_switch, last_down;
    char order[128]; /* link events in order: U started, G GI done, X switch, D down */
    size_t norder;
    unsigned by_ioa[10000];
    uint16_t seen[MAX_EVENTS + 1]; /* times each event number arrived */
    uint32_t top_event;
    int switch_logs, stopdt_logs, standby_logs;
} fx_t;

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until cond(f) holds (or the guard fires: the test fails). */
static void run_until_cond(fx_t *f, int (*cond)(fx_t *), const char *what)
{
    int expired = 0;
    uv_timer_t guard;

    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, GUARD_MS, 0);
    while (!cond(f) && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    if (!cond(f))
        fail_msg("not reached within the guard: %s (link events '%s')", what, f->order);
}

static void on_data(pl_iec104_client_t *c, const pl_iec104_point_t *p, void *ud)
{
    fx_t *f = ud;

    (void)c;
    if (p->ioa < sizeof(f->by_ioa) / sizeof(f->by_ioa[0]))
        f->by_ioa[p->ioa]++;
    if (p->ioa == EVENT_IOA && p->value >= 1 && p->value <= MAX_EVENTS) {
        f->seen[(unsigned)p->value]++;
        if ((uint32_t)p->value > f->top_event)
            f->top_event = (uint32_t)p->value;
    }
}

static void on_link(pl_iec104_client_t *c, pl_iec104_link_t what, const pl_status_t *why, void *ud)
{
    fx_t *f = ud;
    char ch = '?';

    (void)c;
    switch (what) {
    case PL_IEC104_LINK_STARTED:
        f->started++;
        ch = 'U';
        break;
    case PL_IEC104_LINK_GI_DONE:
        f->gi_done++;
        ch = 'G';
        break;
    case PL_IEC104_LINK_SWITCH:
        f->switches++;
        f->last_switch = *why;
        ch = 'X';
        break;
    case PL_IEC104_LINK_DOWN:
        f->downs++;
        if (why != NULL)
            f->last_down = *why;
        ch = 'D';
        break;
    }
    if (f->norder + 1 < sizeof(f->order))
        f->order[f->norder++] = ch;
}

static void on_log(void *ud, pl_log_level_t level, const char *msg)
{
    fx_t *f = ud;

    if (level == PL_LOG_WARN && strstr(msg, "iec104: switchover") != NULL)
        f->switch_logs++;
    if (strstr(msg, "iec104: STOPDT act to") != NULL)
        f->stopdt_logs++;
    if (strstr(msg, "connection is the standby") != NULL)
        f->standby_logs++;
}

/* Simulator i on 127.0.0.(i+1), on `port` (0: a free one). */
static void sim_start(fx_t *f, int i, uint16_t port, void (*tweak)(pl_iec104_server_config_t *))
{
    pl_iec104_server_config_t sc;
    pl_status_t st;

    pl_iec104_server_config_init(&sc);
    sc.listen.addr = i == 0 ? "127.0.0.1" : "127.0.0.2";
    sc.listen.port = port;
    sc.points = SPEC;
    sc.event_ioa = EVENT_IOA;
    if (tweak != NULL)
        tweak(&sc);
    pl_status_clear(&st);
    if (pl_iec104_server_new(&f->loop, &sc, &f->sim[i], &st) != 0)
        fail_msg("simulator %d: %s", i, st.detail);
    f->port[i] = pl_iec104_server_port(f->sim[i]);
}

/* The device dies: its listener and every connection close. */
static void sim_kill(fx_t *f, int i)
{
    pl_iec104_server_free(f->sim[i]);
    f->sim[i] = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the listener is closed: its port can be bound again */
}

static void client_start(fx_t *f, const char *url, void (*tweak)(pl_iec104_client_config_t *))
{
    pl_iec104_client_config_t cc;
    char storage[64];
    pl_status_t st;

    pl_iec104_client_config_init(&cc);
    pl_status_clear(&st);
    if (pl_iec104_client_config_url(&cc, url, storage, sizeof(storage), &st) != 0)
        fail_msg("url %s: %s", url, st.detail);
    cc.line.backoff_min_ms = 10;
    cc.line.backoff_max_ms = 50;
    cc.t1_ms = 1000;
    cc.t2_ms = 100;
    cc.t3_ms = 200;
    cc.on_data = on_data;
    cc.on_link = on_link;
    cc.ud = f;
    f->log.cb = on_log;
    f->log.ud = f;
    f->log.level = PL_LOG_INFO;
    cc.log = &f->log;
    if (tweak != NULL)
        tweak(&cc);
    assert_int_equal(pl_iec104_client_new(&f->loop, &cc, &f->cli), 0);
    assert_int_equal(pl_iec104_client_start(f->cli), 0);
}

/* The parallel client of the two simulators. */
static void client_pair(fx_t *f, const char *extra, void (*tweak)(pl_iec104_client_config_t *))
{
    char url[256];

    snprintf(url, sizeof(url), "iec104://127.0.0.1:%u?backup=127.0.0.2:%u&redundancy=parallel%s",
             f->port[0], f->port[1], extra);
    client_start(f, url, tweak);
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
    int i;

    if (f->cli != NULL)
        pl_iec104_client_free(f->cli);
    for (i = 0; i < 2; i++)
        if (f->sim[i] != NULL)
            pl_iec104_server_free(f->sim[i]);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
}

static const pl_iec104_server_stats_t *sim_stats(fx_t *f, int i)
{
    return pl_iec104_server_stats(f->sim[i]);
}

static const pl_iec104_client_stats_t *cli_stats(fx_t *f)
{
    return pl_iec104_client_stats(f->cli);
}

/* ------------------------------------------------------------------ raw station */

/* Records what it receives as letters: A accepted, S STARTDT act, P STOPDT act, T TESTFR
 * act, I an I-frame, C closed. Answers as told. */
typedef struct {
    pl_listener_t *lst;
    pl_conn_t *conn;
    int answer_startdt, answer_testfr, answer_stopdt, ack_i, answer_gi;
    char log[512];
    size_t nlog;
    uint16_t vs, vr;
    uint8_t rx[1024];
    size_t rx_len;
} raw_t;

static void raw_note(raw_t *r, char ch)
{
    if (r->nlog + 1 < sizeof(r->log))
        r->log[r->nlog++] = ch;
}

static void raw_u(raw_t *r, uint8_t func)
{
    uint8_t f[PL_IEC104_APCI_LEN];

    (void)pl_iec104_encode_u(f, sizeof(f), func);
    (void)pl_conn_send(r->conn, f, sizeof(f));
}

static void raw_s(raw_t *r)
{
    uint8_t f[PL_IEC104_APCI_LEN];

    (void)pl_iec104_encode_s(f, sizeof(f), r->vr);
    (void)pl_conn_send(r->conn, f, sizeof(f));
}

/* The interrogation's ACT_CON or ACT_TERM. */
static void raw_gi(raw_t *r, uint8_t cause)
{
    pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    uint8_t asdu[PL_IEC104_MAX_ASDU], f[PL_IEC104_MAX_APDU];
    pl_iec104_object_t o;
    pl_iec104_asdu_t h;
    int len, n;

    memset(&o, 0, sizeof(o));
    o.qualifier = PL_IEC104_QOI_STATION;
    memset(&h, 0, sizeof(h));
    h.type = PL_IEC104_C_IC_NA_1;
    h.cause = cause;
    h.ca = 1;
    len = pl_iec104_asdu_encode(asdu, sizeof(asdu), &p, &h, &o, 1, NULL);
    assert_true(len > 0);
    n = pl_iec104_encode_i(f, sizeof(f), r->vs, r->vr, asdu, (size_t)len);
    assert_true(n > 0);
    r->vs = pl_iec104_seq_add(r->vs, 1);
    (void)pl_conn_send(r->conn, f, (size_t)n);
}

static int raw_accept(pl_listener_t *lst, pl_conn_t *conn, void *ud)
{
    raw_t *r = ud;

    (void)lst;
    if (r->conn != NULL)
        return -1;
    r->conn = conn;
    r->rx_len = 0;
    r->vs = r->vr = 0;
    raw_note(r, 'A');
    return 0;
}

static void raw_frame(raw_t *r, const uint8_t *buf, size_t len)
{
    pl_iec104_apdu_t a;

    if (pl_iec104_decode(buf, len, &a) < 0)
        return;
    if (a.kind == PL_IEC104_FRAME_U) {
        switch (a.func) {
        case PL_IEC104_U_STARTDT_ACT:
            raw_note(r, 'S');
            if (r->answer_startdt)
                raw_u(r, PL_IEC104_U_STARTDT_CON);
            break;
        case PL_IEC104_U_STOPDT_ACT:
            raw_note(r, 'P');
            raw_s(r); /* what it received is acknowledged before the con, as a station does */
            if (r->answer_stopdt)
                raw_u(r, PL_IEC104_U_STOPDT_CON);
            break;
        case PL_IEC104_U_TESTFR_ACT:
            raw_note(r, 'T');
            if (r->answer_testfr)
                raw_u(r, PL_IEC104_U_TESTFR_CON);
            break;
        default:
            break;
        }
    } else if (a.kind == PL_IEC104_FRAME_I) {
        raw_note(r, 'I');
        r->vr = pl_iec104_seq_add(r->vr, 1);
        if (r->ack_i)
            raw_s(r);
        if (r->answer_gi && a.asdu_len > 0 && a.asdu[0] == PL_IEC104_C_IC_NA_1) {
            raw_gi(r, PL_IEC104_COT_ACTCON);
            raw_gi(r, PL_IEC104_COT_ACTTERM);
        }
    }
}

static void raw_data(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud)
{
    raw_t *r = ud;
    size_t need;
    int n;

    (void)conn;
    if (r->rx_len + len > sizeof(r->rx))
        return;
    memcpy(r->rx + r->rx_len, buf, len);
    r->rx_len += len;
    while ((n = pl_iec104_frame(r->rx, r->rx_len, &need)) > 0) {
        raw_frame(r, r->rx, (size_t)n);
        memmove(r->rx, r->rx + n, r->rx_len - (size_t)n);
        r->rx_len -= (size_t)n;
    }
}

static void raw_close(pl_conn_t *conn, const pl_status_t *why, void *ud)
{
    raw_t *r = ud;

    (void)why;
    if (r->conn == conn) {
        r->conn = NULL;
        raw_note(r, 'C');
    }
}

static raw_t *raw_new(fx_t *f, const char *addr)
{
    static const pl_listener_cbs_t cbs = {raw_accept, raw_data, raw_close};
    pl_listener_config_t lc;
    pl_status_t st;
    raw_t *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    r->answer_startdt = r->answer_testfr = r->answer_stopdt = r->ack_i = r->answer_gi = 1;
    memset(&lc, 0, sizeof(lc));
    lc.addr = addr;
    pl_status_clear(&st);
    assert_int_equal(pl_listener_new(&f->loop, &lc, &cbs, r, &r->lst, &st), 0);
    return r;
}

static void raw_free(fx_t *f, raw_t *r)
{
    pl_listener_free(r->lst);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    free(r);
}

static size_t count_of(const char *s, char ch)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += *s == ch;
    return n;
}

/* ------------------------------------------------------------------ relay (a network path) */

/* Accepts on 127.0.0.x and relays every connection to one station. "Cut": the listener and
 * every relayed connection close. "Black hole": connections stay open, nothing passes. */
typedef struct relay_s relay_t;
typedef struct pair_s {
    uv_tcp_t a, b; /* a: the client's side; b: the station's */
    uv_connect_t creq;
    relay_t *rl;
    struct pair_s *next;
    int closing, closed;
} pair_t;

struct relay_s {
    uv_tcp_t lst;
    int lst_open, lst_closed;
    struct sockaddr_in to;
    uint16_t port;
    int blackhole;
    pair_t *pairs;
    unsigned accepted;
};

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} wr_t;

static void pair_closed(uv_handle_t *h)
{
    pair_t *p = h->data;
    pair_t **pp;

    if (++p->closed < 2)
        return;
    for (pp = &p->rl->pairs; *pp != NULL; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    free(p);
}

static void pair_close(pair_t *p)
{
    if (p->closing)
        return;
    p->closing = 1;
    uv_close((uv_handle_t *)&p->a, pair_closed);
    uv_close((uv_handle_t *)&p->b, pair_closed);
}

static void relay_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base != NULL ? suggested : 0;
}

static void relay_written(uv_write_t *req, int status)
{
    wr_t *w = (wr_t *)req;

    (void)status;
    free(w->buf.base);
    free(w);
}

static void relay_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    pair_t *p = st->data;
    uv_stream_t *other = st == (uv_stream_t *)&p->a ? (uv_stream_t *)&p->b : (uv_stream_t *)&p->a;
    wr_t *w;

    if (nread < 0) {
        free(buf->base);
        pair_close(p);
        return;
    }
    if (nread == 0 || p->rl->blackhole || p->closing) {
        free(buf->base);
        return;
    }
    w = malloc(sizeof(*w));
    assert_non_null(w);
    w->buf = uv_buf_init(buf->base, (unsigned)nread);
    if (uv_write(&w->req, other, &w->buf, 1, relay_written) != 0) {
        free(buf->base);
        free(w);
        pair_close(p);
    }
}

static void relay_connected(uv_connect_t *req, int status)
{
    pair_t *p = req->data;

    if (p->closing)
        return;
    if (status != 0) {
        pair_close(p);
        return;
    }
    (void)uv_read_start((uv_stream_t *)&p->a, relay_alloc, relay_read);
    (void)uv_read_start((uv_stream_t *)&p->b, relay_alloc, relay_read);
}

static void relay_accept(uv_stream_t *lst, int status)
{
    relay_t *rl = lst->data;
    pair_t *p;

    if (status != 0)
        return;
    p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->rl = rl;
    uv_tcp_init(lst->loop, &p->a);
    uv_tcp_init(lst->loop, &p->b);
    p->a.data = p->b.data = p->creq.data = p;
    p->next = rl->pairs;
    rl->pairs = p;
    if (uv_accept(lst, (uv_stream_t *)&p->a) != 0) {
        pair_close(p);
        return;
    }
    rl->accepted++;
    if (uv_tcp_connect(&p->creq, &p->b, (const struct sockaddr *)&rl->to, relay_connected) != 0)
        pair_close(p);
}

static relay_t *relay_new(fx_t *f, const char *addr, uint16_t to_port)
{
    relay_t *rl = calloc(1, sizeof(*rl));
    struct sockaddr_storage ss;
    struct sockaddr_in sa;
    int len = (int)sizeof(ss);

    assert_non_null(rl);
    assert_int_equal(uv_ip4_addr("127.0.0.1", to_port, &rl->to), 0);
    assert_int_equal(uv_ip4_addr(addr, 0, &sa), 0);
    uv_tcp_init(&f->loop, &rl->lst);
    rl->lst.data = rl;
    rl->lst_open = 1;
    assert_int_equal(uv_tcp_bind(&rl->lst, (const struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&rl->lst, 16, relay_accept), 0);
    assert_int_equal(uv_tcp_getsockname(&rl->lst, (struct sockaddr *)&ss, &len), 0);
    rl->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return rl;
}

static void relay_lst_closed(uv_handle_t *h)
{
    ((relay_t *)h->data)->lst_closed = 1;
}

/* The path is cut: the listener and every relayed connection close. */
static void relay_cut(relay_t *rl)
{
    pair_t *p;

    if (rl->lst_open) {
        rl->lst_open = 0;
        uv_close((uv_handle_t *)&rl->lst, relay_lst_closed);
    }
    for (p = rl->pairs; p != NULL; p = p->next)
        pair_close(p);
}

static void relay_free(fx_t *f, relay_t *rl)
{
    int i;

    relay_cut(rl);
    for (i = 0; i < 100 && (rl->pairs != NULL || !rl->lst_closed); i++)
        uv_run(&f->loop, UV_RUN_NOWAIT); /* close callbacks: the next iteration */
    assert_null(rl->pairs);
    assert_true(rl->lst_closed);
    free(rl);
}

/* ------------------------------------------------------------------ tests */

static int primary_started_gi(fx_t *f)
{
    return f->gi_done >= 1;
}

static raw_t *g_raw; /* the raw station the conditions below look at */
static size_t g_want;

static int raw_testfrs(fx_t *f)
{
    (void)f;
    return count_of(g_raw->log, 'T') >= g_want;
}

static int sim1_tested(fx_t *f)
{
    return sim_stats(f, 1)->u_in >= 1;
}

static int sim0_tested_twice(fx_t *f)
{
    return sim_stats(f, 0)->u_in >= 2;
}

static int sim1_stopped(fx_t *f)
{
    return sim_stats(f, 1)->stopped >= 1;
}

static int sim0_two_paths(fx_t *f)
{
    return sim_stats(f, 0)->connections >= 2;
}

/* The standby (a raw station on 127.0.0.2) gets TESTFR act at once and after every t3, and
 * never STARTDT; the primary simulator is the one started and interrogated. */
static void test_standby_gets_testfr_only(void **state)
{
    fx_t *f = fx_new();
    raw_t *r = raw_new(f, "127.0.0.2");
    char url[200];

    (void)state;
    sim_start(f, 0, 0, NULL);
    snprintf(url, sizeof(url), "iec104://127.0.0.1:%u?backup=127.0.0.2:%u&redundancy=parallel",
             f->port[0], pl_listener_port(r->lst));
    client_start(f, url, NULL);
    run_until_cond(f, primary_started_gi, "the primary's interrogation");
    g_raw = r;
    g_want = 3;
    run_until_cond(f, raw_testfrs, "three TESTFR rounds on the standby");
    assert_string_equal(f->order, "UG");
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_PRIMARY);
    assert_int_equal(sim_stats(f, 0)->started, 1);
    assert_int_equal(f->by_ioa[1001], 1);
    /* the standby saw its connection and TESTFR acts, nothing else */
    assert_int_equal(r->log[0], 'A');
    assert_int_equal(count_of(r->log, 'S'), 0);
    assert_int_equal(count_of(r->log, 'I'), 0);
    assert_int_equal(count_of(r->log, 'P'), 0);
    assert_int_equal(count_of(r->log, 'C'), 0);
    assert_int_equal(count_of(r->log, 'T'), r->nlog - 1);
    assert_int_equal(f->standby_logs, 1);
    assert_int_equal(cli_stats(f)->switchovers, 0);
    assert_non_null(pl_iec104_client_side_line(f->cli, PL_LINE_BACKUP));
    assert_int_equal(pl_line_state(pl_iec104_client_side_line(f->cli, PL_LINE_BACKUP)), PL_LINE_UP);
    pl_iec104_client_free(f->cli);
    f->cli = NULL;
    raw_free(f, r);
    fx_free(f);
}

static int switched_and_gi(fx_t *f)
{
    return f->switches >= 1 && f->gi_done >= 2;
}

/* The started connection is closed (the primary device dies): the standby is started at
 * once and interrogated; the old connection is gone, so no STOPDT. A primary that comes
 * back without prefer_primary stays the standby. */
static void test_failover_on_close(void **state)
{
    fx_t *f = fx_new();
    pl_line_side_t side;
    uint16_t port0;

    (void)state;
    sim_start(f, 0, 0, NULL);
    sim_start(f, 1, 0, NULL);
    port0 = f->port[0];
    client_pair(f, "", NULL);
    run_until_cond(f, primary_started_gi, "the primary's interrogation");
    run_until_cond(f, sim1_tested, "the standby connected and tested");
    sim_kill(f, 0);
    run_until_cond(f, switched_and_gi, "a switch and the backup's interrogation");
    assert_string_equal(f->order, "UGXUG");
    assert_int_equal(f->last_switch.code, PL_ERECV_00);
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_BACKUP);
    /* the engine's view: the started side's line, whose connection is the backup side's */
    side = PL_LINE_PRIMARY;
    assert_true(pl_line_active(pl_iec104_client_line(f->cli), &side, NULL) >= 0);
    assert_int_equal(side, PL_LINE_BACKUP);
    assert_int_equal(sim_stats(f, 1)->started, 1);
    assert_int_equal(sim_stats(f, 1)->interrogations, 1);
    assert_int_equal(f->by_ioa[1001], 2); /* both interrogations delivered the point */
    assert_int_equal(cli_stats(f)->switchovers, 1);
    assert_int_equal(cli_stats(f)->stopdt_sent, 0);
    assert_int_equal(f->switch_logs, 1);
    assert_int_equal(f->downs, 0);
    /* the primary comes back: it is connected and tested as the standby, not started */
    sim_start(f, 0, port0, NULL);
    run_until_cond(f, sim0_tested_twice, "the returned primary tested as the standby");
    assert_int_equal(sim_stats(f, 0)->started, 0);
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_BACKUP);
    assert_int_equal(cli_stats(f)->switchovers, 1);
    fx_free(f);
}

static void silent_startdt(pl_iec104_server_config_t *sc)
{
    sc->ignore_startdt = 1;
}

static void silent_testfr(pl_iec104_server_config_t *sc)
{
    sc->ignore_testfr = 1;
}

static int backup_started(fx_t *f)
{
    return f->started >= 1 && f->gi_done >= 1 && sim_stats(f, 1)->started >= 1;
}

/* STARTDT act on the primary stays unconfirmed: after t1 the standby is started and
 * interrogated, and the primary (still connected) gets STOPDT act. */
static void test_failover_on_startdt_t1(void **state)
{
    fx_t *f = fx_new();

    (void)state;
    sim_start(f, 0, 0, silent_startdt);
    sim_start(f, 1, 0, NULL);
    client_pair(f, "", NULL);
    run_until_cond(f, backup_started, "the backup started");
    assert_string_equal(f->order, "XUG");
    assert_int_equal(f->last_switch.code, PL_EIEC104_T1);
    assert_non_null(strstr(f->last_switch.detail, "STARTDT act"));
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_BACKUP);
    assert_int_equal(cli_stats(f)->stopdt_sent, 1);
    assert_int_equal(f->stopdt_logs, 1);
    assert_int_equal(sim_stats(f, 0)->started, 0);
    assert_int_equal(sim_stats(f, 1)->interrogations, 1);
    fx_free(f);
}

static int old_stopped_and_standby_failed(fx_t *f)
{
    return f->gi_done >= 2 && sim_stats(f, 0)->stopped >= 1 && cli_stats(f)->standby_failures >= 1;
}

/* The primary stops answering TESTFR: the started connection fails after t3 + t1, the
 * backup is started and interrogated; the primary, still reachable, gets STOPDT act and
 * confirms it (it stays as the standby); as the standby its TESTFR acts stay unanswered
 * too, so it is closed and the line reconnects. */
static void test_failover_on_testfr(void **state)
{
    fx_t *f = fx_new();

    (void)state;
    sim_start(f, 0, 0, silent_testfr);
    sim_start(f, 1, 0, NULL);
    /* the standby's first TESTFR act goes to the backup, which answers it */
    client_pair(f, "", NULL);
    run_until_cond(f, old_stopped_and_standby_failed, "a switch, STOPDT con, a standby failure");
    assert_int_equal(strncmp(f->order, "UGXUG", 5), 0);
    assert_int_equal(f->last_switch.code, PL_EIEC104_T1);
    assert_non_null(strstr(f->last_switch.detail, "TESTFR act"));
    assert_int_equal(sim_stats(f, 0)->stopped, 1); /* the STOPDT act came and was confirmed */
    assert_int_equal(cli_stats(f)->stopdt_sent, 1);
    assert_int_equal(sim_stats(f, 1)->started, 1);
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_BACKUP);
    assert_int_equal(f->downs, 0);
    fx_free(f);
}

static int raw_stopped(fx_t *f)
{
    return f->gi_done >= 1 && f->switches >= 1 && strstr(g_raw->log, "PT") != NULL;
}

/* The primary (a raw station) never acknowledges the interrogation: t1 of that I-frame
 * moves the stream to the backup, the primary gets STOPDT act, acknowledges and confirms,
 * and from then on is the standby: TESTFR act, never another STARTDT. */
static void test_stopdt_to_reachable_old(void **state)
{
    fx_t *f = fx_new();
    raw_t *r = raw_new(f, "127.0.0.1");
    size_t i;
    char url[200];

    (void)state;
    r->ack_i = 0;
    r->answer_gi = 0;
    sim_start(f, 1, 0, NULL);
    snprintf(url, sizeof(url), "iec104://127.0.0.1:%u?backup=127.0.0.2:%u&redundancy=parallel",
             pl_listener_port(r->lst), f->port[1]);
    client_start(f, url, NULL);
    g_raw = r;
    run_until_cond(f, raw_stopped, "the switch and a TESTFR act on the old connection");
    /* connected, started, the interrogation (TESTFR after t3 of silence meanwhile), one
     * STOPDT act, then TESTFR acts only: never closed, never started again */
    assert_int_equal(strncmp(r->log, "ASI", 3), 0);
    assert_int_equal(count_of(r->log, 'P'), 1);
    for (i = 3; r->log[i] != 'P'; i++)
        assert_int_equal(r->log[i], 'T');
    for (i++; i < r->nlog; i++)
        assert_int_equal(r->log[i], 'T');
    assert_string_equal(f->order, "UXUG");
    assert_int_equal(f->last_switch.code, PL_EIEC104_T1);
    assert_non_null(strstr(f->last_switch.detail, "an I-frame"));
    assert_int_equal(cli_stats(f)->stopdt_sent, 1);
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_BACKUP);
    pl_iec104_client_free(f->cli);
    f->cli = NULL;
    raw_free(f, r);
    fx_free(f);
}

static int returned(fx_t *f)
{
    return f->switches >= 2 && f->gi_done >= 3;
}

/* prefer_primary: the primary dies, the backup takes over; the primary comes back, answers
 * a TESTFR act as the standby, and the stream moves back: STOPDT act to the backup, STARTDT
 * act and an interrogation on the primary. The backup stays as the standby. */
static void test_prefer_primary_return(void **state)
{
    fx_t *f = fx_new();
    uint16_t port0;

    (void)state;
    sim_start(f, 0, 0, NULL);
    sim_start(f, 1, 0, NULL);
    port0 = f->port[0];
    client_pair(f, "&prefer_primary=1", NULL);
    run_until_cond(f, primary_started_gi, "the primary's interrogation");
    sim_kill(f, 0);
    run_until_cond(f, switched_and_gi, "the backup's interrogation");
    sim_start(f, 0, port0, NULL);
    run_until_cond(f, returned, "the return to the primary");
    assert_string_equal(f->order, "UGXUGXUG");
    assert_int_equal(f->last_switch.code, PL_ECANCELED);
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_PRIMARY);
    assert_int_equal(sim_stats(f, 0)->started, 1);
    assert_int_equal(sim_stats(f, 0)->interrogations, 1);
    assert_int_equal(cli_stats(f)->switchovers, 2);
    assert_int_equal(cli_stats(f)->stopdt_sent, 1);
    run_until_cond(f, sim1_stopped, "the backup's STOPDT act");
    assert_int_equal(sim_stats(f, 1)->stopped, 1);
    assert_int_equal(pl_iec104_server_conn_count(f->sim[1]), 1); /* still connected */
    fx_free(f);
}

static int primary_side_started(fx_t *f)
{
    return pl_iec104_client_active_side(f->cli) == PL_LINE_PRIMARY &&
           pl_iec104_client_started(f->cli) && sim_stats(f, 0)->interrogations >= 1;
}

/* A side's host list: the primary's first host refuses, so the primary side goes on with
 * its second; the backup, connected meanwhile, may be started first, and prefer_primary
 * brings the stream to the primary side's second host. */
static void test_side_host_list(void **state)
{
    fx_t *f = fx_new();
    uint16_t dead = pl_test_dead_port("127.0.0.1");
    char url[200];

    (void)state;
    sim_start(f, 0, 0, NULL);
    sim_start(f, 1, 0, NULL);
    snprintf(url, sizeof(url),
             "iec104://127.0.0.1:%u,127.0.0.1:%u?backup=127.0.0.2:%u&redundancy=parallel&"
             "prefer_primary=1",
             dead, f->port[0], f->port[1]);
    client_start(f, url, NULL);
    run_until_cond(f, primary_side_started, "the primary side's second host started");
    assert_int_equal(pl_line_host_index(pl_iec104_client_side_line(f->cli, PL_LINE_PRIMARY)), 1);
    assert_true(pl_line_stats(pl_iec104_client_side_line(f->cli, PL_LINE_PRIMARY))->failures >= 1);
    fx_free(f);
    pl_test_dead_ports_release();
}

/* ---- no event lost */

typedef struct {
    fx_t *f;
    pl_iec104_server_t *sim;
    relay_t *path;
    uv_timer_t t;
    uint32_t steps, cut_at, total;
    int blackhole;
} stream_t;

static void stream_tick(uv_timer_t *t)
{
    stream_t *s = t->data;

    if (s->steps >= s->total) {
        uv_timer_stop(t);
        return;
    }
    s->steps = pl_iec104_server_step(s->sim);
    if (s->steps == s->cut_at) {
        if (s->blackhole)
            s->path->blackhole = 1;
        else
            relay_cut(s->path);
    }
}

static stream_t *stream_ctx;

static int all_events(fx_t *f)
{
    return stream_ctx->steps >= stream_ctx->total && f->top_event >= stream_ctx->total;
}

/* One simulator (one redundancy group) behind two paths, 127.0.0.1 and 127.0.0.2. Events
 * stream; at event 100 the started path is cut or black-holed; every number 1..N must
 * arrive (duplicates allowed: counted, not a failure). */
static void no_event_lost(int blackhole)
{
    fx_t *f = fx_new();
    stream_t s;
    relay_t *p0, *p1;
    char url[200];
    unsigned i, dups = 0;

    memset(&s, 0, sizeof(s));
    sim_start(f, 0, 0, NULL);
    p0 = relay_new(f, "127.0.0.1", f->port[0]);
    p1 = relay_new(f, "127.0.0.2", f->port[0]);
    snprintf(url, sizeof(url), "iec104://127.0.0.1:%u?backup=127.0.0.2:%u&redundancy=parallel",
             p0->port, p1->port);
    client_start(f, url, NULL);
    run_until_cond(f, primary_started_gi, "the primary's interrogation");
    run_until_cond(f, sim0_two_paths, "the standby path connected too");
    s.f = f;
    s.sim = f->sim[0];
    s.path = p0;
    s.cut_at = 100;
    s.total = 400;
    s.blackhole = blackhole;
    uv_timer_init(&f->loop, &s.t);
    s.t.data = &s;
    uv_timer_start(&s.t, stream_tick, 2, 2);
    stream_ctx = &s;
    run_until_cond(f, all_events, "every event");
    uv_close((uv_handle_t *)&s.t, NULL);
    for (i = 1; i <= s.total; i++) {
        if (f->seen[i] == 0)
            fail_msg("event %u lost (%s)", i, blackhole ? "black hole" : "cut");
        dups += f->seen[i] - 1u;
    }
    print_message("  %s: %u events, %u duplicates, %llu resent by the station\n",
                  blackhole ? "black hole" : "cut", s.total, dups,
                  (unsigned long long)sim_stats(f, 0)->events_resent);
    assert_int_equal(cli_stats(f)->switchovers, 1);
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_BACKUP);
    assert_int_equal(f->switches, 1);
    assert_true(f->gi_done >= 2);
    if (blackhole)
        assert_int_equal(f->last_switch.code, PL_EIEC104_T1);
    pl_iec104_client_free(f->cli);
    f->cli = NULL;
    relay_free(f, p0);
    relay_free(f, p1);
    fx_free(f);
}

static void test_no_event_lost_cut(void **state)
{
    (void)state;
    no_event_lost(0);
}

static void test_no_event_lost_black_hole(void **state)
{
    (void)state;
    no_event_lost(1);
}

/* ---- alternate mode */

static int on_backup_host(fx_t *f)
{
    return f->gi_done >= 2 && pl_iec104_client_started(f->cli);
}

static int back_on_primary(fx_t *f)
{
    return f->gi_done >= 3 && pl_iec104_client_started(f->cli);
}

/* redundancy=alternate: one connection at a time; the primary dies, the next host (the
 * backup) is connected, started and interrogated; the backup dies, the primary is back:
 * the list wraps to the first host. */
static void test_alternate_cycles(void **state)
{
    fx_t *f = fx_new();
    uint16_t port0;
    pl_line_t *line;

    (void)state;
    sim_start(f, 0, 0, NULL);
    sim_start(f, 1, 0, NULL);
    port0 = f->port[0];
    {
        char url[200];

        snprintf(url, sizeof(url), "iec104://127.0.0.1:%u?backup=127.0.0.2:%u&redundancy=alternate",
                 f->port[0], f->port[1]);
        client_start(f, url, NULL);
    }
    assert_null(pl_iec104_client_side_line(f->cli, PL_LINE_BACKUP));
    run_until_cond(f, primary_started_gi, "the primary's interrogation");
    line = pl_iec104_client_line(f->cli);
    assert_int_equal(pl_line_host_index(line), 0);
    assert_int_equal(pl_iec104_server_conn_count(f->sim[1]), 0); /* no second connection */
    sim_kill(f, 0);
    run_until_cond(f, on_backup_host, "the backup host's interrogation");
    assert_int_equal(pl_line_host_index(line), 1);
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_BACKUP);
    assert_int_equal(sim_stats(f, 1)->started, 1);
    sim_start(f, 0, port0, NULL);
    sim_kill(f, 1);
    run_until_cond(f, back_on_primary, "the wrap to the first host");
    assert_int_equal(pl_line_host_index(line), 0);
    assert_int_equal(pl_iec104_client_active_side(f->cli), PL_LINE_PRIMARY);
    assert_int_equal(sim_stats(f, 0)->started, 1);
    assert_true(f->downs >= 2); /* alternate mode: every loss is a link down */
    assert_int_equal(f->switches, 0);
    assert_int_equal(pl_line_switchovers(line), 2);
    assert_int_equal(cli_stats(f)->stopdt_sent, 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standby_gets_testfr_only),
        cmocka_unit_test(test_failover_on_close),
        cmocka_unit_test(test_failover_on_startdt_t1),
        cmocka_unit_test(test_failover_on_testfr),
        cmocka_unit_test(test_stopdt_to_reachable_old),
        cmocka_unit_test(test_prefer_primary_return),
        cmocka_unit_test(test_side_host_list),
        cmocka_unit_test(test_no_event_lost_cut),
        cmocka_unit_test(test_no_event_lost_black_hole),
        cmocka_unit_test(test_alternate_cycles),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
