/* SPDX-License-Identifier: MIT */
/*
 * The 7TTCP client over redundant lines (D2000 "TCP/IP-TCP" host lists and "TCP/IP-TCP
 * Redundant" backup devices) against 7TTCP node simulators: what a protocol user sees above
 * src/net/line.c. Host lists (a refused first host, the order and the wrap-around, the IPv6
 * literal ::1, the name "localhost", an unresolvable name first); alternate mode (a killed
 * primary, the next request served by the backup); parallel mode in polling mode (a killed
 * primary costs at most the request in flight and no back-off wait, prefer_primary brings
 * the requests back to a restarted primary); a black hole (accepts, never answers) as the
 * primary: the request times out and the next one is served by the backup.
 *
 * Everything runs in one process and one loop on 127.0.0.x and ::1; ports are picked by
 * the kernel and read back ("dead" ports are ones a simulator had and gave back). Which
 * device served a request is read from the simulators' frame counters. Nothing sleeps: the
 * loop runs until a condition holds, under a watchdog timer that fails the test otherwise;
 * every test frees everything and asserts uv_loop_close() == 0. Configurations go through
 * pl_ttcp_client_config_url(), so the URL keys are exercised end to end.
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
#include "plcline/line.h"
#include "plcline/ttcp.h"
#include "ports.h"

/* --- loop and watchdog ------------------------------------------------------------------ */

static uv_loop_t loop;
static uv_timer_t watchdog;
static int watchdog_fired;

static void watchdog_cb(uv_timer_t *t)
{
    (void)t;
    watchdog_fired = 1;
}

#define RUN_UNTIL(cond, ms)                              \
    do {                                                 \
        watchdog_fired = 0;                              \
        uv_timer_start(&watchdog, watchdog_cb, (ms), 0); \
        while (!(cond) && !watchdog_fired)               \
            uv_run(&loop, UV_RUN_ONCE);                  \
        uv_timer_stop(&watchdog);                        \
        assert_true(cond);                               \
    } while (0)

/* Runs the loop for `ms` (for "nothing more happens" checks). */
static void run_for(unsigned ms)
{
    watchdog_fired = 0;
    uv_timer_start(&watchdog, watchdog_cb, ms, 0);
    while (!watchdog_fired)
        uv_run(&loop, UV_RUN_ONCE);
}

static void free_all(void);

static int setup(void **state)
{
    (void)state;
    free_all();
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &watchdog);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_test_dead_ports_release();
    free_all();
    uv_close((uv_handle_t *)&watchdog, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

/* --- simulators --------------------------------------------------------------------------- */

typedef struct {
    pl_ttcp_server_t *srv;
    const char *addr;
    uint16_t port;
    uint64_t frames; /* frames_in of earlier lives of this device */
} sim_t;

/* Starts (or restarts, `port` != 0) a simulator on addr:port. */
static void sim_start(sim_t *s, const char *addr, uint16_t port)
{
    pl_ttcp_server_config_t cfg;
    pl_status_t err;

    pl_ttcp_server_config_init(&cfg);
    cfg.listen.addr = addr;
    cfg.listen.port = port;
    s->addr = addr;
    assert_int_equal(pl_ttcp_server_new(&loop, &cfg, &s->srv, &err), 0);
    s->port = pl_ttcp_server_port(s->srv);
    assert_true(s->port != 0);
}

/* Request frames this device received, over all its lives. */
static uint64_t sim_frames(const sim_t *s)
{
    return s->frames + (s->srv != NULL ? pl_ttcp_server_stats(s->srv)->frames_in : 0);
}

/* The device dies: listener and connections closed (partners see the close). */
static void sim_kill(sim_t *s)
{
    if (s->srv == NULL)
        return;
    s->frames += pl_ttcp_server_stats(s->srv)->frames_in;
    assert_int_equal(pl_ttcp_server_free(s->srv), 0);
    s->srv = NULL;
}

/* A port on `addr` that refuses connections, held until teardown (tests/support/ports.h). */
static uint16_t dead_port(const char *addr)
{
    return pl_test_dead_port(addr);
}

/* --- a black hole: accepts, reads and discards, never answers ---------------------------- */

typedef struct {
    pl_listener_t *lst;
    uint16_t port;
    int accepts;
    size_t bytes;
} hole_t;

static int hole_accept(pl_listener_t *l, pl_conn_t *c, void *ud)
{
    hole_t *h = ud;

    (void)l;
    (void)c;
    h->accepts++;
    return 0;
}

static void hole_data(pl_conn_t *c, const uint8_t *b, size_t n, void *ud)
{
    hole_t *h = ud;

    (void)c;
    (void)b;
    h->bytes += n;
}

static void hole_close(pl_conn_t *c, const pl_status_t *why, void *ud)
{
    (void)c;
    (void)why;
    (void)ud;
}

static void hole_free(hole_t *h)
{
    pl_listener_free(h->lst);
    h->lst = NULL;
}

static void hole_start(hole_t *h, const char *addr)
{
    static const pl_listener_cbs_t cbs = {
        .on_accept = hole_accept, .on_data = hole_data, .on_close = hole_close};
    pl_listener_config_t cfg;

    memset(h, 0, sizeof(*h));
    memset(&cfg, 0, sizeof(cfg));
    cfg.addr = addr;
    assert_int_equal(pl_listener_new(&loop, &cfg, &cbs, h, &h->lst, NULL), 0);
    h->port = pl_listener_port(h->lst);
}

/* --- the client ----------------------------------------------------------------------------- */

typedef struct {
    pl_ttcp_client_t *cli;
    char local[64];
    int ups, downs;
    pl_status_t last_down;
} client_t;

static void on_link(pl_ttcp_client_t *c, const pl_status_t *st, void *ud)
{
    client_t *k = ud;

    (void)c;
    if (st == NULL) {
        k->ups++;
    } else {
        k->downs++;
        k->last_down = *st;
    }
}

/* A client from a URL; back-off `bmin`..`bmax` ms, request timeout `timeout_ms`. */
static void client_make(client_t *k, const char *url, unsigned bmin, unsigned bmax,
                        unsigned timeout_ms)
{
    pl_ttcp_client_config_t cfg;
    pl_status_t err;
    uint32_t node = 99;

    memset(k, 0, sizeof(*k));
    pl_ttcp_client_config_init(&cfg);
    pl_status_clear(&err);
    if (pl_ttcp_client_config_url(&cfg, url, &node, NULL, k->local, sizeof(k->local), &err) != 0)
        fail_msg("%s: %s", url, err.detail);
    assert_int_equal(node, 0);
    cfg.line.backoff_min_ms = bmin;
    cfg.line.backoff_max_ms = bmax;
    cfg.timeout_ms = timeout_ms;
    cfg.keepalive_ms = 0;
    cfg.on_link = on_link;
    cfg.ud = k;
    assert_int_equal(pl_ttcp_client_new(&loop, &cfg, &k->cli), 0);
}

static void client_free(client_t *k)
{
    pl_ttcp_client_free(k->cli);
    k->cli = NULL;
}

typedef struct {
    int done;
    pl_status_t status;
    uint16_t w[2];
} result_t;

static void on_done(pl_ttcp_req_t *req)
{
    result_t *r = req->data;

    r->done++;
    r->status = req->status;
}

/* One read of node 0 words 0..1; returns its status code. */
static int do_read(client_t *k, unsigned ms)
{
    pl_ttcp_req_t req;
    result_t r;

    memset(&r, 0, sizeof(r));
    req.data = &r;
    assert_int_equal(pl_ttcp_read(k->cli, &req, 0, 0, r.w, 2, on_done), 0);
    RUN_UNTIL(r.done, ms);
    assert_int_equal(r.done, 1);
    return r.status.code;
}

static int active_side(client_t *k)
{
    pl_line_side_t side = PL_LINE_PRIMARY;

    if (pl_line_active(pl_ttcp_client_line(k->cli), &side, NULL) < 0)
        return -1;
    return (int)side;
}

static int side_up(client_t *k, pl_line_side_t side)
{
    pl_line_side_info_t si;

    assert_int_equal(pl_line_side_state(pl_ttcp_client_line(k->cli), side, &si), 0);
    return si.state == PL_LINE_UP;
}

/* Successful connections of one side since the client was made. */
static uint64_t side_connects(client_t *k, pl_line_side_t side)
{
    pl_line_side_info_t si;

    assert_int_equal(pl_line_side_state(pl_ttcp_client_line(k->cli), side, &si), 0);
    return si.connects;
}

/* --- every test's devices and client, static so that the teardown can free what a failed
 * assertion (a longjmp out of the test) left behind --------------------------------------- */

typedef struct stream_s stream_t;
static sim_t S[3];
static hole_t H;
static client_t K;
static stream_t *ST; /* a running request stream, stopped before the client is freed */

/* --- host lists ------------------------------------------------------------------------------ */

static void test_first_refused_second_serves(void **state)
{
    sim_t *b = &S[1];
    client_t *k = &K;
    char url[160], peer[64];
    uint16_t dead;

    (void)state;
    dead = dead_port("127.0.0.1");
    sim_start(b, "127.0.0.2", 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u,127.0.0.2:%u/0", (unsigned)dead,
             (unsigned)b->port);
    client_make(k, url, 10, 50, 3000);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(b), 1);
    snprintf(peer, sizeof(peer), "127.0.0.2:%u", (unsigned)b->port);
    assert_string_equal(pl_line_peer(pl_ttcp_client_line(k->cli)), peer);
    assert_int_equal(pl_line_host_index(pl_ttcp_client_line(k->cli)), 1);
    assert_int_equal(pl_line_last_error(pl_ttcp_client_line(k->cli))->code,
                     PL_ECONNECT); /* the line: neutral */
    assert_int_equal(pl_line_last_error(pl_ttcp_client_line(k->cli))->sys, UV_ECONNREFUSED);
    assert_int_equal(pl_line_stats(pl_ttcp_client_line(k->cli))->failures, 1);
    client_free(k);
    sim_kill(b);
}

/* Every host refused: the request fails with the connect error once each host was tried. */
static void test_all_refused(void **state)
{
    client_t *k = &K;
    char url[160];
    uint16_t d1, d2;

    (void)state;
    d1 = dead_port("127.0.0.1");
    d2 = dead_port("127.0.0.2");
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u;127.0.0.2:%u/0", (unsigned)d1, (unsigned)d2);
    client_make(k, url, 10, 50, 3000);
    assert_int_equal(do_read(k, 5000), PL_E_7TTCP_CONNECT);
    assert_int_equal(pl_line_stats(pl_ttcp_client_line(k->cli))->failures, 2);
    client_free(k);
}

/* Request mode: the client stops its line when a connection breaks with nothing queued; the
 * next request goes on with the host after the one that broke, cyclically; within one
 * request the hosts are tried in list order. */
static void test_order_in_request_mode(void **state)
{
    sim_t *s = S;
    client_t *k = &K;
    char url[200];
    static const char *const addr[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
    int i;

    (void)state;
    for (i = 0; i < 3; i++)
        sim_start(&s[i], addr[i], 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u,127.0.0.2:%u,127.0.0.3:%u/0",
             (unsigned)s[0].port, (unsigned)s[1].port, (unsigned)s[2].port);
    client_make(k, url, 10, 50, 3000);
    /* 0 and 1 dead: 0, 1 refused, 2 serves */
    sim_kill(&s[0]);
    sim_kill(&s[1]);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(&s[2]), 1);
    assert_int_equal(pl_line_stats(pl_ttcp_client_line(k->cli))->failures, 2);
    /* 1 back, 2 killed: the break ends the connection; the next request goes on after 2:
     * 0 (dead), then 1 */
    sim_start(&s[1], addr[1], s[1].port);
    sim_kill(&s[2]);
    RUN_UNTIL(k->downs == 1, 5000);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(&s[1]), 1);
    assert_int_equal(sim_frames(&s[2]), 1);
    /* 0 back, 1 killed: after 1 comes 2 (dead), then 0 */
    sim_start(&s[0], addr[0], s[0].port);
    sim_kill(&s[1]);
    RUN_UNTIL(k->downs == 2, 5000);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(&s[0]), 1);
    assert_int_equal(k->ups, 3);
    client_free(k);
    for (i = 0; i < 3; i++)
        sim_kill(&s[i]);
}

/* Polling mode: after a break the line goes on with the NEXT host and wraps after the
 * last (D2000 IEC 104 behaviour), with requests served by whichever host is connected. */
static void test_wrap_in_polling_mode(void **state)
{
    sim_t *s = S;
    client_t *k = &K;
    char url[200];
    static const char *const addr[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
    int i;

    (void)state;
    for (i = 0; i < 3; i++)
        sim_start(&s[i], addr[i], 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u,127.0.0.2:%u,127.0.0.3:%u/0",
             (unsigned)s[0].port, (unsigned)s[1].port, (unsigned)s[2].port);
    client_make(k, url, 10, 50, 3000);
    sim_kill(&s[0]);
    sim_kill(&s[1]);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(pl_ttcp_client_start(k->cli), 0);
    RUN_UNTIL(k->ups == 1, 5000);
    assert_int_equal(pl_line_host_index(pl_ttcp_client_line(k->cli)), 2);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(&s[2]), 1);
    /* 2 dies, 0 and 1 are back: the line wraps to 0 (not 1: it goes on after 2) */
    sim_start(&s[0], addr[0], s[0].port);
    sim_start(&s[1], addr[1], s[1].port);
    sim_kill(&s[2]);
    RUN_UNTIL(k->ups == 2, 5000);
    assert_int_equal(pl_line_host_index(pl_ttcp_client_line(k->cli)), 0);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(&s[0]), 1);
    /* 0 dies: on to 1 */
    sim_kill(&s[0]);
    RUN_UNTIL(k->ups == 3, 5000);
    assert_int_equal(pl_line_host_index(pl_ttcp_client_line(k->cli)), 1);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(&s[1]), 1);
    assert_int_equal(sim_frames(&s[0]), 1);
    assert_int_equal(sim_frames(&s[2]), 1);
    client_free(k);
    for (i = 0; i < 3; i++)
        sim_kill(&s[i]);
}

static void test_ipv6_literal(void **state)
{
    sim_t *s = &S[0];
    client_t *k = &K;
    char url[160], peer[64];
    uint16_t dead;

    (void)state;
    dead = dead_port("::1");
    sim_start(s, "::1", 0);
    snprintf(peer, sizeof(peer), "[::1]:%u", (unsigned)s->port);
    assert_string_equal(pl_ttcp_server_address(s->srv), peer);
    /* bracketed with ports, a refused first */
    snprintf(url, sizeof(url), "7ttcp://[::1]:%u,[::1]:%u/0", (unsigned)dead, (unsigned)s->port);
    client_make(k, url, 10, 50, 3000);
    assert_int_equal(do_read(k, 5000), 0);
    snprintf(peer, sizeof(peer), "[::1]:%u", (unsigned)s->port);
    assert_string_equal(pl_line_peer(pl_ttcp_client_line(k->cli)), peer);
    assert_int_equal(sim_frames(s), 1);
    client_free(k);
    /* one bracketed host with its port */
    snprintf(url, sizeof(url), "7ttcp://[::1]:%u/0", (unsigned)s->port);
    client_make(k, url, 10, 50, 3000);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(s), 2);
    client_free(k);
    sim_kill(s);
}

static void test_localhost_name(void **state)
{
    sim_t *s = &S[0];
    client_t *k = &K;
    char url[160];

    (void)state;
    sim_start(s, "127.0.0.1", 0);
    snprintf(url, sizeof(url), "7ttcp://localhost:%u/0", (unsigned)s->port);
    client_make(k, url, 10, 50, 5000);
    assert_int_equal(do_read(k, 10000), 0);
    assert_int_equal(sim_frames(s), 1);
    client_free(k);
    sim_kill(s);
}

static void test_unresolvable_first(void **state)
{
    sim_t *s = &S[0];
    client_t *k = &K;
    char url[160];
    pl_line_side_info_t si;

    (void)state;
    sim_start(s, "127.0.0.1", 0);
    snprintf(url, sizeof(url), "7ttcp://nonexistent.invalid:%u,127.0.0.1:%u/0", (unsigned)s->port,
             (unsigned)s->port);
    client_make(k, url, 10, 50, 5000);
    assert_int_equal(do_read(k, 10000), 0);
    assert_int_equal(sim_frames(s), 1);
    assert_int_equal(pl_line_host_index(pl_ttcp_client_line(k->cli)), 1);
    assert_int_equal(pl_line_side_state(pl_ttcp_client_line(k->cli), PL_LINE_PRIMARY, &si), 0);
    assert_int_equal(si.last_error.code, PL_ERESOLVE);
    assert_non_null(strstr(si.last_error.detail, "nonexistent.invalid"));
    client_free(k);
    sim_kill(s);
}

/* --- alternate mode -------------------------------------------------------------------------- */

static void test_alternate_killed_primary(void **state)
{
    sim_t *a = &S[0], *b = &S[1];
    client_t *k = &K;
    char url[200];

    (void)state;
    sim_start(a, "127.0.0.1", 0);
    sim_start(b, "127.0.0.2", 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u/0?backup=127.0.0.2:%u&line=3",
             (unsigned)a->port, (unsigned)b->port);
    client_make(k, url, 10, 50, 3000);
    assert_int_equal(pl_line_number(pl_ttcp_client_line(k->cli)), 3);
    assert_int_equal(pl_line_host_count(pl_ttcp_client_line(k->cli)), 2);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(a), 1);
    assert_int_equal(sim_frames(b), 0);
    assert_int_equal(active_side(k), PL_LINE_PRIMARY);
    sim_kill(a);
    RUN_UNTIL(k->downs == 1, 5000);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(a), 1);
    assert_int_equal(sim_frames(b), 1);
    assert_int_equal(active_side(k), PL_LINE_BACKUP);
    assert_int_equal(pl_line_switchovers(pl_ttcp_client_line(k->cli)), 1);
    /* and the next one too */
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(b), 2);
    client_free(k);
    sim_kill(b);
}

/* --- parallel mode, polling ------------------------------------------------------------------ */

struct stream_s {
    client_t *k;
    pl_ttcp_req_t req;
    uint16_t w[2];
    int stop;
    unsigned ok, failed;
    pl_status_t fail_status[4];
    int ok_after_fail; /* successes since the last failure */
    unsigned depth;    /* stream_cb nesting: a request failing synchronously */
    int runaway;       /* ... more than 8 deep: the stream stopped itself */
};
static stream_t stream;

static void stream_cb(pl_ttcp_req_t *req);

static void stream_issue(stream_t *st)
{
    assert_int_equal(pl_ttcp_read(st->k->cli, &st->req, 0, 0, st->w, 2, stream_cb), 0);
}

static void stream_cb(pl_ttcp_req_t *req)
{
    stream_t *st = req->data;

    if (st->depth >= 8) { /* completions nested in submissions: stop instead of overflowing */
        st->runaway = 1;
        st->stop = 1;
    }
    if (req->status.code == 0) {
        st->ok++;
        if (st->failed > 0)
            st->ok_after_fail++;
    } else if (req->status.code != PL_ECANCELED || !st->stop) {
        if (st->failed < 4)
            st->fail_status[st->failed] = req->status;
        st->failed++;
        st->ok_after_fail = 0;
    }
    if (!st->stop) {
        st->depth++;
        stream_issue(st);
        st->depth--;
    }
}

static void stream_start(stream_t *st, client_t *k)
{
    memset(st, 0, sizeof(*st));
    st->k = k;
    st->req.data = st;
    ST = st;
    stream_issue(st);
}

#define BIG_BACKOFF_MS 2000u /* a reconnect would wait at least 3/4 of this */

static void test_parallel_failover_and_return(void **state)
{
    sim_t *a = &S[0], *b = &S[1];
    client_t *k = &K;
    stream_t *st = &stream;
    char url[200];
    uint64_t a0, b0;
    unsigned ok0;

    (void)state;
    sim_start(a, "127.0.0.1", 0);
    sim_start(b, "127.0.0.2", 0);
    snprintf(url, sizeof(url),
             "7ttcp://127.0.0.1:%u/0?backup=127.0.0.2:%u&redundancy=parallel&prefer_primary=1",
             (unsigned)a->port, (unsigned)b->port);
    client_make(k, url, BIG_BACKOFF_MS, 2 * BIG_BACKOFF_MS, 3000);
    assert_int_equal(pl_ttcp_client_start(k->cli), 0);
    /* both sides connect from 0 ms timers, the primary's attempt first */
    RUN_UNTIL(side_up(k, PL_LINE_PRIMARY) && side_up(k, PL_LINE_BACKUP), 5000);
    assert_int_equal(active_side(k), PL_LINE_PRIMARY);
    assert_int_equal(k->ups, 1);

    /* a stream of requests back to back from the callback, served by the primary */
    stream_start(st, k);
    RUN_UNTIL(st->ok >= 50, 5000);
    assert_int_equal(st->failed, 0);
    assert_int_equal(sim_frames(b), 0);

    /* the primary dies mid-poll: at most the request in flight fails, the next ones are
     * served by the backup at once, with no back-off wait */
    sim_kill(a);
    a0 = sim_frames(a);
    ok0 = st->ok;
    RUN_UNTIL(st->ok >= ok0 + 50, 5000);
    assert_true(st->failed <= 1);
    if (st->failed == 1)
        assert_true(st->fail_status[0].code == PL_E_7TTCP_RECV_00 ||
                    st->fail_status[0].code == PL_E_7TTCP_RECV_FF);
    /* served by the standby connection made at start: no reconnect (which would wait at
     * least 3/4 * BIG_BACKOFF_MS) took place on either side */
    assert_int_equal(side_connects(k, PL_LINE_BACKUP), 1);
    assert_int_equal(side_connects(k, PL_LINE_PRIMARY), 1);
    assert_true(sim_frames(b) >= 50);
    assert_int_equal(sim_frames(a), a0);
    assert_int_equal(active_side(k), PL_LINE_BACKUP);
    assert_int_equal(pl_line_switchovers(pl_ttcp_client_line(k->cli)), 1);

    /* the primary is back on the same port: prefer_primary brings the stream back once the
     * primary has stayed up `stable_ms` (the back-off maximum); the move is
     * on_down(PL_ECANCELED) + on_up: at most the request in flight fails. The wait: the
     * reconnect (at most the back-off maximum), that time up, and slack. */
    sim_start(a, "127.0.0.1", a->port);
    RUN_UNTIL(active_side(k) == PL_LINE_PRIMARY, 2 * (2 * BIG_BACKOFF_MS) + 4000);
    ok0 = st->ok;
    b0 = sim_frames(b);
    RUN_UNTIL(st->ok >= ok0 + 50, 5000);
    assert_true(st->failed <= 2);
    if (st->failed == 2)
        assert_int_equal(st->fail_status[1].code, PL_ECANCELED);
    assert_true(sim_frames(a) >= a0 + 50);
    assert_true(sim_frames(b) <= b0 + 1);
    assert_int_equal(pl_line_switchovers(pl_ttcp_client_line(k->cli)), 2);
    assert_true(side_up(k, PL_LINE_BACKUP)); /* the standby stays connected */

    st->stop = 1;
    client_free(k);
    sim_kill(a);
    sim_kill(b);
}

/* --- black holes ------------------------------------------------------------------------------ */

/* Alternate mode, request mode: the request to the black hole times out; the following
 * request goes to the next host (the backup) and is served there (ttcp.h: "the next request
 * reconnects, to the next host of the list"). */
static void test_black_hole_alternate(void **state)
{
    hole_t *h = &H;
    sim_t *b = &S[1];
    client_t *k = &K;
    char url[200];

    (void)state;
    hole_start(h, "127.0.0.1");
    sim_start(b, "127.0.0.2", 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u/0?backup=127.0.0.2:%u", (unsigned)h->port,
             (unsigned)b->port);
    client_make(k, url, 10, 50, 100);
    assert_int_equal(do_read(k, 5000), PL_E_7TTCP_TIMEOUT);
    assert_int_equal(h->accepts, 1);
    assert_true(h->bytes > 0);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(b), 1);
    assert_int_equal(h->accepts, 1);
    assert_int_equal(active_side(k), PL_LINE_BACKUP);
    client_free(k);
    sim_kill(b);
    hole_free(h);
}

/* Alternate mode, polling, requests issued back to back from the callback: the timed-out
 * request is the only one that fails. */
static void test_black_hole_alternate_stream(void **state)
{
    hole_t *h = &H;
    sim_t *b = &S[1];
    client_t *k = &K;
    stream_t *st = &stream;
    char url[200];

    (void)state;
    hole_start(h, "127.0.0.1");
    sim_start(b, "127.0.0.2", 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u/0?backup=127.0.0.2:%u", (unsigned)h->port,
             (unsigned)b->port);
    client_make(k, url, 10, 50, 100);
    assert_int_equal(pl_ttcp_client_start(k->cli), 0);
    RUN_UNTIL(k->ups == 1, 5000);
    stream_start(st, k);
    RUN_UNTIL(st->ok >= 20 || st->runaway, 5000);
    assert_false(st->runaway);
    assert_int_equal(st->fail_status[0].code, PL_E_7TTCP_TIMEOUT);
    assert_int_equal(st->failed, 1);
    assert_int_equal(active_side(k), PL_LINE_BACKUP);
    st->stop = 1;
    client_free(k);
    sim_kill(b);
    hole_free(h);
}

/* Parallel mode, polling: the black hole is the active side; the timeout drops it and the
 * line fails over to the standby at once (0 ms timer); the requests after it are served by
 * the backup, the timed-out one is the only failure. */
static void test_black_hole_parallel_stream(void **state)
{
    hole_t *h = &H;
    sim_t *b = &S[1];
    client_t *k = &K;
    stream_t *st = &stream;
    char url[200];

    (void)state;
    hole_start(h, "127.0.0.1");
    sim_start(b, "127.0.0.2", 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u/0?backup=127.0.0.2:%u&redundancy=parallel",
             (unsigned)h->port, (unsigned)b->port);
    client_make(k, url, BIG_BACKOFF_MS, 2 * BIG_BACKOFF_MS, 100);
    assert_int_equal(pl_ttcp_client_start(k->cli), 0);
    RUN_UNTIL(side_up(k, PL_LINE_PRIMARY) && side_up(k, PL_LINE_BACKUP), 5000);
    assert_int_equal(active_side(k), PL_LINE_PRIMARY);
    stream_start(st, k);
    RUN_UNTIL(st->ok >= 20 || st->runaway, 5000);
    assert_false(st->runaway);
    assert_int_equal(st->failed, 1);
    assert_int_equal(st->fail_status[0].code, PL_E_7TTCP_TIMEOUT);
    assert_int_equal(active_side(k), PL_LINE_BACKUP);
    assert_true(sim_frames(b) >= 20);
    /* the standby connection made at start serves them: no reconnect was waited for */
    assert_int_equal(side_connects(k, PL_LINE_BACKUP), 1);
    st->stop = 1;
    client_free(k);
    sim_kill(b);
    hole_free(h);
}

/* Parallel mode, request mode (no pl_ttcp_client_start): the timed-out request's
 * successor is served by the backup, the black hole is not asked again. */
static void test_black_hole_parallel_requests(void **state)
{
    hole_t *h = &H;
    sim_t *b = &S[1];
    client_t *k = &K;
    char url[200];
    size_t bytes;

    (void)state;
    hole_start(h, "127.0.0.1");
    sim_start(b, "127.0.0.2", 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u/0?backup=127.0.0.2:%u&redundancy=parallel",
             (unsigned)h->port, (unsigned)b->port);
    client_make(k, url, 10, 50, 100);
    assert_int_equal(do_read(k, 5000), PL_E_7TTCP_TIMEOUT);
    bytes = h->bytes;
    assert_true(bytes > 0);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(b), 1);
    assert_int_equal(h->bytes, bytes);
    client_free(k);
    sim_kill(b);
    hole_free(h);
}

/* Alternate mode, polling, one request at a time: the timed-out request's connection is
 * dropped, the line goes on to the backup, the next request is served there. */
static void test_black_hole_alternate_polling(void **state)
{
    hole_t *h = &H;
    sim_t *b = &S[1];
    client_t *k = &K;
    char url[200];

    (void)state;
    hole_start(h, "127.0.0.1");
    sim_start(b, "127.0.0.2", 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u/0?backup=127.0.0.2:%u", (unsigned)h->port,
             (unsigned)b->port);
    client_make(k, url, 10, 50, 100);
    assert_int_equal(pl_ttcp_client_start(k->cli), 0);
    RUN_UNTIL(k->ups == 1, 5000);
    assert_int_equal(active_side(k), PL_LINE_PRIMARY);
    assert_int_equal(do_read(k, 5000), PL_E_7TTCP_TIMEOUT);
    assert_int_equal(pl_ttcp_client_stats(k->cli)->timeouts, 1);
    assert_true(h->bytes > 0);
    RUN_UNTIL(k->ups == 2, 5000);
    assert_int_equal(k->last_down.code, PL_E_7TTCP_TIMEOUT);
    assert_int_equal(do_read(k, 5000), 0);
    assert_int_equal(sim_frames(b), 1);
    assert_int_equal(active_side(k), PL_LINE_BACKUP);
    assert_int_equal(h->accepts, 1);
    client_free(k);
    sim_kill(b);
    hole_free(h);
}

/* Parallel mode, polling, one request at a time: the timeout drops the black hole and the
 * line fails over to the standby backup with no back-off wait. */
static void test_black_hole_parallel_polling(void **state)
{
    hole_t *h = &H;
    sim_t *b = &S[1];
    client_t *k = &K;
    char url[200];

    (void)state;
    hole_start(h, "127.0.0.1");
    sim_start(b, "127.0.0.2", 0);
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u/0?backup=127.0.0.2:%u&redundancy=parallel",
             (unsigned)h->port, (unsigned)b->port);
    client_make(k, url, BIG_BACKOFF_MS, 2 * BIG_BACKOFF_MS, 100);
    assert_int_equal(pl_ttcp_client_start(k->cli), 0);
    RUN_UNTIL(side_up(k, PL_LINE_PRIMARY) && side_up(k, PL_LINE_BACKUP), 5000);
    assert_int_equal(active_side(k), PL_LINE_PRIMARY);
    assert_int_equal(do_read(k, 5000), PL_E_7TTCP_TIMEOUT);
    RUN_UNTIL(k->ups == 2, 5000);
    assert_int_equal(active_side(k), PL_LINE_BACKUP);
    assert_int_equal(do_read(k, 5000), 0);
    /* the standby connection made at start carries it: no reconnect was waited for */
    assert_int_equal(side_connects(k, PL_LINE_BACKUP), 1);
    assert_int_equal(sim_frames(b), 1);
    assert_int_equal(pl_line_switchovers(pl_ttcp_client_line(k->cli)), 1);
    client_free(k);
    sim_kill(b);
    hole_free(h);
}

/* Frees whatever a test left (all of it after a failed assertion). */
static void free_all(void)
{
    unsigned i;

    if (ST != NULL)
        ST->stop = 1;
    ST = NULL;
    if (K.cli != NULL)
        pl_ttcp_client_free(K.cli);
    for (i = 0; i < 3; i++)
        if (S[i].srv != NULL)
            (void)pl_ttcp_server_free(S[i].srv);
    if (H.lst != NULL)
        pl_listener_free(H.lst);
    memset(S, 0, sizeof(S));
    memset(&H, 0, sizeof(H));
    memset(&K, 0, sizeof(K));
    memset(&stream, 0, sizeof(stream));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_refused_second_serves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_in_request_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_in_polling_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unresolvable_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alternate_killed_primary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_failover_and_return, setup, teardown),
        cmocka_unit_test_setup_teardown(test_black_hole_alternate_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_black_hole_parallel_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_black_hole_alternate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_black_hole_alternate_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_black_hole_parallel_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_black_hole_parallel_requests, setup, teardown),
    };
    (void)run_for;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
