/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP client <-> node simulator on loopback, in one process and one loop. Ports are
 * picked at run time (port 0); nothing sleeps: the loop runs until a condition holds, with
 * a guard timer that fails the test if it never does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/ttcp/codec/ttcp.h"
#include "faults.h"
#include "plcline/error.h"
#include "plcline/ttcp.h"

typedef struct {
    uv_loop_t loop;
    pl_ttcp_server_t *srv;
    pl_ttcp_client_t *cli;
    int links_up, links_down;
    pl_status_t last_down;
    uint32_t unsol_node, unsol_offset;
    uint16_t unsol_words[8];
    size_t unsol_count;
} fixture_t;

typedef struct {
    int done;
    pl_status_t status;
} result_t;

#define WAIT_MS 5000u /* the most any wait below may take before the test fails */

/* Conditions for fault_run_pred(), which runs the loop until one holds or the time is up. */
static int node_keepalives_2(void *srv)
{
    return pl_ttcp_server_stats(srv)->keepalives >= 2;
}

static int node_bad_frame(void *srv)
{
    return pl_ttcp_server_stats(srv)->bad_frames > 0;
}

static int line_up(void *line)
{
    return pl_line_state(line) == PL_LINE_UP;
}

static int size_nonzero(void *n)
{
    return *(const size_t *)n > 0;
}

typedef struct {
    const result_t *res;
    int n;
} all_done_t;

static int all_done(void *ctx)
{
    const all_done_t *a = ctx;
    int i;

    for (i = 0; i < a->n; i++)
        if (!a->res[i].done)
            return 0;
    return 1;
}

static void on_done(pl_ttcp_req_t *req)
{
    result_t *r = req->data;

    r->done++;
    r->status = req->status;
}

static void on_guard(uv_timer_t *t)
{
    int *expired = t->data;

    *expired = 1;
}

/* Runs the loop until *flag becomes nonzero; fails after `ms`. */
static void run_until(uv_loop_t *loop, const int *flag, unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (!*flag && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

static void on_link(pl_ttcp_client_t *c, const pl_status_t *st, void *ud)
{
    fixture_t *f = ud;

    (void)c;
    if (st == NULL) {
        f->links_up++;
    } else {
        f->links_down++;
        f->last_down = *st;
    }
}

static void on_unsolicited(pl_ttcp_client_t *c, uint32_t node, uint32_t offset,
                           const uint16_t *words, size_t count, void *ud)
{
    fixture_t *f = ud;

    (void)c;
    f->unsol_node = node;
    f->unsol_offset = offset;
    f->unsol_count = count;
    memcpy(f->unsol_words, words, (count < 8 ? count : 8) * sizeof(uint16_t));
}

static void client_config(fixture_t *f, pl_ttcp_client_config_t *cfg, uint16_t port)
{
    pl_ttcp_client_config_init(cfg);
    assert_int_equal(pl_hostlist_parse(&cfg->line.hosts, "127.0.0.1", 9, NULL), 0);
    cfg->line.port = port;
    cfg->line.backoff_min_ms = 10;
    cfg->line.backoff_max_ms = 50;
    cfg->on_link = on_link;
    cfg->on_unsolicited = on_unsolicited;
    cfg->ud = f;
}

static void start(fixture_t *f, const pl_ttcp_server_config_t *scfg_in,
                  const pl_ttcp_client_config_t *ccfg_in)
{
    pl_ttcp_server_config_t scfg;
    pl_ttcp_client_config_t ccfg;
    pl_status_t st;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    if (scfg_in != NULL) {
        scfg = *scfg_in;
    } else {
        pl_ttcp_server_config_init(&scfg);
    }
    scfg.listen.port = 0;
    assert_int_equal(pl_ttcp_server_new(&f->loop, &scfg, &f->srv, &st), 0);
    assert_true(pl_ttcp_server_port(f->srv) != 0);
    if (ccfg_in != NULL) {
        ccfg = *ccfg_in;
        ccfg.line.port = pl_ttcp_server_port(f->srv);
        ccfg.ud = f;
    } else {
        client_config(f, &ccfg, pl_ttcp_server_port(f->srv));
    }
    assert_int_equal(pl_ttcp_client_new(&f->loop, &ccfg, &f->cli), 0);
}

static void stop(fixture_t *f)
{
    if (f->cli != NULL)
        pl_ttcp_client_free(f->cli);
    if (f->srv != NULL)
        assert_int_equal(pl_ttcp_server_free(f->srv), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void do_read(fixture_t *f, uint32_t node, uint32_t offset, uint16_t *w, size_t n,
                    result_t *r)
{
    pl_ttcp_req_t req;

    memset(r, 0, sizeof(*r));
    req.data = r;
    assert_int_equal(pl_ttcp_read(f->cli, &req, node, offset, w, n, on_done), 0);
    run_until(&f->loop, &r->done, 5000);
    assert_int_equal(r->done, 1);
}

static void do_write(fixture_t *f, uint32_t node, uint32_t offset, const uint16_t *w, size_t n,
                     result_t *r)
{
    pl_ttcp_req_t req;

    memset(r, 0, sizeof(*r));
    req.data = r;
    assert_int_equal(pl_ttcp_write(f->cli, &req, node, offset, w, n, on_done), 0);
    run_until(&f->loop, &r->done, 5000);
    assert_int_equal(r->done, 1);
}

static void test_round_trip(void **state)
{
    fixture_t f;
    result_t r;
    uint16_t w[4] = {1, 0xFFFF, 0x1234, 0}, back[4] = {0};

    (void)state;
    start(&f, NULL, NULL);
    do_write(&f, 3, 100, w, 4, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(pl_ttcp_server_words(f.srv, 3)[101], 0xFFFF);
    do_read(&f, 3, 100, back, 4, &r);
    assert_int_equal(r.status.code, 0);
    assert_memory_equal(w, back, sizeof(w));
    /* another node is another memory */
    do_read(&f, 4, 100, back, 4, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(back[1], 0);
    assert_int_equal(f.links_up, 1);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->responses, 3);
    stop(&f);
}

static void test_block_256_and_split_1000(void **state)
{
    fixture_t f;
    result_t r;
    uint16_t *mem, buf[1000];
    size_t i;
    pl_ttcp_req_t req;

    (void)state;
    start(&f, NULL, NULL);
    mem = pl_ttcp_server_words(f.srv, 0);
    for (i = 0; i < 2000; i++)
        mem[i] = (uint16_t)(i * 7 + 1);
    do_read(&f, 0, 10, buf, 256, &r);
    assert_int_equal(r.status.code, 0);
    for (i = 0; i < 256; i++)
        assert_int_equal(buf[i], mem[10 + i]);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->frames_in, 1);

    /* 1000 words: 4 frames of at most 256, one request for the caller */
    do_read(&f, 0, 5, buf, 1000, &r);
    assert_int_equal(r.status.code, 0);
    for (i = 0; i < 1000; i++)
        assert_int_equal(buf[i], mem[5 + i]);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->frames_in, 1 + 4);

    /* the low-level call refuses it with the manual's code, synchronously */
    assert_int_equal(pl_ttcp_read_block(f.cli, &req, 0, 0, buf, 257, on_done), PL_EBLOCK_TOO_BIG);
    for (i = 0; i < 1000; i++)
        buf[i] = (uint16_t)(0xA000 + i);
    do_write(&f, 0, 3000, buf, 1000, &r);
    assert_int_equal(r.status.code, 0);
    for (i = 0; i < 1000; i++)
        assert_int_equal(mem[3000 + i], 0xA000 + i);
    stop(&f);
}

static void test_legacy_max_block(void **state)
{
    fixture_t f;
    pl_ttcp_client_config_t cfg;
    result_t r;
    uint16_t buf[300];
    pl_ttcp_req_t req;

    (void)state;
    memset(&f, 0, sizeof(f));
    client_config(&f, &cfg, 0);
    cfg.max_block = PL_TTCP_LEGACY_WORDS;
    start(&f, NULL, &cfg);
    do_read(&f, 1, 0, buf, 300, &r); /* 113 + 113 + 74 */
    assert_int_equal(r.status.code, 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->frames_in, 3);
    assert_int_equal(pl_ttcp_read_block(f.cli, &req, 0, 0, buf, 114, on_done), PL_EBLOCK_TOO_BIG);
    stop(&f);
}

/* The low-level write: one frame of exactly the words given (256 at most, 113 with the legacy
 * limit), the simulator's memory holds them; one word more is refused synchronously with
 * the manual's code and no callback. */
static void test_write_block(void **state)
{
    fixture_t f;
    pl_ttcp_client_config_t cfg;
    result_t r, never;
    uint16_t buf[257], *mem;
    uint64_t frames;
    pl_ttcp_req_t req;
    size_t i;

    (void)state;
    start(&f, NULL, NULL);
    mem = pl_ttcp_server_words(f.srv, 2);
    for (i = 0; i < 257; i++)
        buf[i] = (uint16_t)(0xC000u + i);
    frames = pl_ttcp_server_stats(f.srv)->frames_in;
    memset(&r, 0, sizeof(r));
    req.data = &r;
    assert_int_equal(pl_ttcp_write_block(f.cli, &req, 2, 40, buf, 256, on_done), 0);
    run_until(&f.loop, &r.done, 5000);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->frames_in, frames + 1);
    for (i = 0; i < 256; i++)
        assert_int_equal(mem[40 + i], 0xC000u + i);
    assert_int_equal(mem[40 + 256], 0);

    memset(&never, 0, sizeof(never));
    req.data = &never;
    assert_int_equal(pl_ttcp_write_block(f.cli, &req, 2, 1000, buf, 257, on_done),
                     PL_EBLOCK_TOO_BIG);
    assert_int_equal(pl_ttcp_write_block(f.cli, &req, 2, 1000, buf, 0, on_done), PL_EINVAL);
    assert_int_equal(pl_ttcp_write_block(f.cli, &req, 2, 0xFFFFFFFFu, buf, 2, on_done), PL_EINVAL);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(never.done, 0);
    assert_int_equal(mem[1000], 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->frames_in, frames + 1);
    stop(&f);

    memset(&f, 0, sizeof(f));
    client_config(&f, &cfg, 0);
    cfg.max_block = PL_TTCP_LEGACY_WORDS;
    start(&f, NULL, &cfg);
    mem = pl_ttcp_server_words(f.srv, 2);
    assert_int_equal(pl_ttcp_write_block(f.cli, &req, 2, 0, buf, PL_TTCP_LEGACY_WORDS + 1, on_done),
                     PL_EBLOCK_TOO_BIG);
    memset(&r, 0, sizeof(r));
    req.data = &r;
    assert_int_equal(pl_ttcp_write_block(f.cli, &req, 2, 0, buf, PL_TTCP_LEGACY_WORDS, on_done), 0);
    run_until(&f.loop, &r.done, 5000);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->frames_in, 1);
    assert_int_equal(mem[PL_TTCP_LEGACY_WORDS - 1], 0xC000u + PL_TTCP_LEGACY_WORDS - 1);
    assert_int_equal(mem[PL_TTCP_LEGACY_WORDS], 0);
    stop(&f);
}

static void test_timeout_and_recovery(void **state)
{
    fixture_t f;
    pl_ttcp_server_config_t scfg;
    pl_ttcp_client_config_t cfg;
    uint32_t ignore = 5;
    result_t r;
    uint16_t w[2];

    (void)state;
    pl_ttcp_server_config_init(&scfg);
    scfg.ignore_nodes = &ignore;
    scfg.n_ignore = 1;
    memset(&f, 0, sizeof(f));
    client_config(&f, &cfg, 0);
    cfg.timeout_ms = 100;
    start(&f, &scfg, &cfg);
    do_read(&f, 5, 0, w, 2, &r);
    assert_int_equal(r.status.code, PL_E_7TTCP_TIMEOUT);
    assert_int_equal(pl_err_code(r.status.code), 0x4009);
    assert_non_null(strstr(r.status.detail, "node 5"));
    assert_int_equal(pl_ttcp_client_stats(f.cli)->timeouts, 1);
    /* the next request reconnects and is served */
    do_read(&f, 1, 0, w, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(f.links_up, 2);
    stop(&f);
}

static void test_peer_close_and_reconnect(void **state)
{
    fixture_t f;
    pl_ttcp_server_config_t scfg;
    result_t r;
    uint16_t w[1];

    (void)state;
    pl_ttcp_server_config_init(&scfg);
    scfg.close_after = 3; /* the third frame of each connection is never answered */
    start(&f, &scfg, NULL);
    do_read(&f, 0, 0, w, 1, &r);
    assert_int_equal(r.status.code, 0);
    do_read(&f, 0, 0, w, 1, &r);
    assert_int_equal(r.status.code, 0);
    do_read(&f, 0, 0, w, 1, &r);
    /* closed by the node while the request was in flight: orderly close (recv 0) */
    assert_int_equal(r.status.code, PL_E_7TTCP_RECV_00);
    assert_int_equal(pl_err_code(r.status.code), 0x4006);
    assert_int_equal(f.links_down, 1);
    do_read(&f, 0, 0, w, 1, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(f.links_up, 2);
    stop(&f);
}

static void test_connect_refused(void **state)
{
    fixture_t f;
    uint16_t port;
    result_t r;
    uint16_t w[1];

    (void)state;
    start(&f, NULL, NULL);
    port = pl_ttcp_server_port(f.srv);
    /* free the server: nothing listens on the port any more */
    assert_int_equal(pl_ttcp_server_free(f.srv), 0);
    f.srv = NULL;
    uv_run(&f.loop, UV_RUN_NOWAIT);
    (void)port;
    do_read(&f, 0, 0, w, 1, &r);
    assert_int_equal(r.status.code, PL_E_7TTCP_CONNECT);
    assert_int_equal(r.status.sys, UV_ECONNREFUSED);
    stop(&f);
}

static void test_keepalive_after_idle(void **state)
{
    fixture_t f;
    pl_ttcp_client_config_t cfg;
    result_t r;
    uint16_t w[1];

    (void)state;
    memset(&f, 0, sizeof(f));
    client_config(&f, &cfg, 0);
    cfg.keepalive_ms = 50;
    start(&f, NULL, &cfg);
    do_read(&f, 0, 0, w, 1, &r);
    assert_int_equal(r.status.code, 0);
    /* idle: the client sends keep-alives and the node answers them */
    assert_int_equal(fault_run_pred(&f.loop, node_keepalives_2, f.srv, WAIT_MS), 0);
    assert_true(pl_ttcp_client_stats(f.cli)->keepalives >= 2);
    assert_int_equal(f.links_down, 0); /* answered: never taken for dead */
    stop(&f);
}

/* Records, on the loop's own clock, when the node saw each keep-alive. */
typedef struct {
    void *srv;
    uv_loop_t *loop;
    uint64_t seen;  /* keep-alives counted so far */
    uint64_t at[4]; /* loop time at which the count reached 1, 2, 3 */
    int jumped;     /* the count grew by more than one between two loop turns */
} ka_watch_t;

static int node_keepalives_3(void *ctx)
{
    ka_watch_t *w = ctx;
    uint64_t n = pl_ttcp_server_stats(w->srv)->keepalives;

    if (n > w->seen) {
        if (n > w->seen + 1)
            w->jumped = 1;
        if (n < 4)
            w->at[n] = uv_now(w->loop);
        w->seen = n;
    }
    return n >= 3;
}

/* An answered keep-alive restarts the idle time: with a request timeout shorter than the
 * keep-alive interval, keep-alives still go out keepalive_ms apart (they went out every
 * timeout_ms). The gaps are read on the loop's clock, which client and node share: the node
 * sees keep-alive k at loop time t_k, the client takes its answer at t >= t_k and waits
 * keepalive_ms from there, so t_k+1 - t_k >= keepalive_ms however slow the machine is. */
static void test_keepalive_interval_after_answer(void **state)
{
    fixture_t f;
    pl_ttcp_client_config_t cfg;
    result_t r;
    uint16_t w[1];
    ka_watch_t kw;

    (void)state;
    memset(&f, 0, sizeof(f));
    memset(&kw, 0, sizeof(kw));
    client_config(&f, &cfg, 0);
    cfg.keepalive_ms = 200;
    cfg.timeout_ms = 20;
    start(&f, NULL, &cfg);
    do_read(&f, 0, 0, w, 1, &r);
    assert_int_equal(r.status.code, 0);
    kw.srv = f.srv;
    kw.loop = &f.loop;
    kw.seen = pl_ttcp_server_stats(f.srv)->keepalives;
    assert_int_equal(kw.seen, 0);
    assert_int_equal(fault_run_pred(&f.loop, node_keepalives_3, &kw, WAIT_MS), 0);
    assert_int_equal(kw.jumped, 0);
    assert_true(kw.at[2] - kw.at[1] >= cfg.keepalive_ms);
    assert_true(kw.at[3] - kw.at[2] >= cfg.keepalive_ms);
    assert_int_equal(f.links_down, 0);
    stop(&f);
}

/* A partner that accepts and never answers anything. */
static int silent_accept(pl_listener_t *l, pl_conn_t *c, void *ud)
{
    (void)l;
    (void)c;
    (*(int *)ud)++;
    return 0;
}
static void silent_data(pl_conn_t *c, const uint8_t *b, size_t n, void *ud)
{
    (void)c;
    (void)b;
    (void)n;
    (void)ud;
}
static void silent_close(pl_conn_t *c, const pl_status_t *why, void *ud)
{
    (void)c;
    (void)why;
    (void)ud;
}

static void test_keepalive_detects_dead_peer(void **state)
{
    static const pl_listener_cbs_t cbs = {
        .on_accept = silent_accept, .on_data = silent_data, .on_close = silent_close};
    pl_listener_config_t lc;
    pl_listener_t *lst;
    pl_ttcp_client_config_t ccfg;
    fixture_t f;
    int accepted = 0;

    (void)state;
    memset(&f, 0, sizeof(f));
    uv_loop_init(&f.loop);
    memset(&lc, 0, sizeof(lc));
    assert_int_equal(pl_listener_new(&f.loop, &lc, &cbs, &accepted, &lst, NULL), 0);
    client_config(&f, &ccfg, pl_listener_port(lst));
    ccfg.keepalive_ms = 30;
    ccfg.timeout_ms = 50;
    assert_int_equal(pl_ttcp_client_new(&f.loop, &ccfg, &f.cli), 0);
    assert_int_equal(pl_ttcp_client_start(f.cli), 0);
    run_until(&f.loop, &f.links_down, 3000);
    assert_int_equal(f.last_down.code, PL_E_7TTCP_TIMEOUT);
    assert_non_null(strstr(f.last_down.detail, "keep-alive"));
    /* and it reconnects (polling mode) */
    assert_int_equal(fault_run_count(&f.loop, &accepted, 2, WAIT_MS), 0);
    pl_ttcp_client_free(f.cli);
    pl_listener_free(lst);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void test_unsolicited_input(void **state)
{
    fixture_t f;
    result_t r;
    uint16_t w[1], *mem;
    int n;

    (void)state;
    start(&f, NULL, NULL);
    do_read(&f, 2, 0, w, 1, &r); /* connect */
    mem = pl_ttcp_server_words(f.srv, 2);
    mem[40] = 0xBEEF;
    mem[41] = 7;
    n = pl_ttcp_server_push(f.srv, 2, 40, 2);
    assert_int_equal(n, 1);
    assert_int_equal(fault_run_pred(&f.loop, size_nonzero, &f.unsol_count, WAIT_MS), 0);
    assert_int_equal(f.unsol_node, 2);
    assert_int_equal(f.unsol_offset, 40);
    assert_int_equal(f.unsol_count, 2);
    assert_int_equal(f.unsol_words[0], 0xBEEF);
    assert_int_equal(f.unsol_words[1], 7);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->unsolicited, 1);
    /* the session goes on normally */
    do_read(&f, 2, 40, w, 1, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(w[0], 0xBEEF);
    stop(&f);
}

#define NCLIENTS 64

static void test_many_nodes_concurrently(void **state)
{
    fixture_t f;
    pl_ttcp_server_config_t scfg;
    pl_ttcp_client_t *cli[NCLIENTS];
    pl_ttcp_req_t req[NCLIENTS];
    result_t res[NCLIENTS];
    uint16_t w[NCLIENTS][4];
    int i;

    (void)state;
    pl_ttcp_server_config_init(&scfg);
    scfg.node_first = 0;
    scfg.node_last = NCLIENTS - 1;
    start(&f, &scfg, NULL);
    for (i = 0; i < NCLIENTS; i++) {
        pl_ttcp_client_config_t cfg;

        pl_ttcp_server_words(f.srv, (uint32_t)i)[9] = (uint16_t)(1000 + i);
        client_config(&f, &cfg, pl_ttcp_server_port(f.srv));
        cfg.on_link = NULL;
        assert_int_equal(pl_ttcp_client_new(&f.loop, &cfg, &cli[i]), 0);
        memset(&res[i], 0, sizeof(res[i]));
        req[i].data = &res[i];
        assert_int_equal(pl_ttcp_read(cli[i], &req[i], (uint32_t)i, 8, w[i], 4, on_done), 0);
    }
    {
        all_done_t all = {res, NCLIENTS};

        assert_int_equal(fault_run_pred(&f.loop, all_done, &all, WAIT_MS), 0);
    }
    for (i = 0; i < NCLIENTS; i++) {
        assert_int_equal(res[i].status.code, 0);
        assert_int_equal(w[i][1], 1000 + i);
        pl_ttcp_client_free(cli[i]);
    }
    assert_int_equal(pl_ttcp_server_stats(f.srv)->connections, NCLIENTS);
    stop(&f);
}

static void test_queue_full(void **state)
{
    fixture_t f;
    pl_ttcp_client_config_t cfg;
    pl_ttcp_req_t req[3];
    result_t res[3];
    uint16_t w[3];
    int i;

    (void)state;
    memset(&f, 0, sizeof(f));
    client_config(&f, &cfg, 0);
    cfg.max_queue = 2;
    start(&f, NULL, &cfg);
    memset(res, 0, sizeof(res));
    for (i = 0; i < 2; i++) {
        req[i].data = &res[i];
        assert_int_equal(pl_ttcp_read(f.cli, &req[i], 0, 0, &w[i], 1, on_done), 0);
    }
    req[2].data = &res[2];
    assert_int_equal(pl_ttcp_read(f.cli, &req[2], 0, 0, &w[2], 1, on_done), PL_E_7TTCP_NO_MSG);
    run_until(&f.loop, &res[1].done, 5000);
    assert_int_equal(res[0].done + res[1].done + res[2].done, 2);
    stop(&f);
}

/* Partners that answer wrongly: raw listeners scripted by the test. */
typedef struct {
    int mode; /* 0: wrong node; 1: garbage */
    int accepted;
} liar_t;

static int liar_accept(pl_listener_t *l, pl_conn_t *c, void *ud)
{
    (void)l;
    pl_conn_set_data(c, ud);
    ((liar_t *)ud)->accepted++;
    return 0;
}

static void liar_data(pl_conn_t *c, const uint8_t *b, size_t n, void *ud)
{
    liar_t *l = ud;
    pl_ttcp_frame_t fr;
    uint8_t out[64];
    uint16_t w[1] = {42};
    int len;

    if (pl_ttcp_frame(b, n, 256, NULL) <= 0 || pl_ttcp_decode(b, (size_t)n, 256, &fr) < 0)
        return;
    if (l->mode == 0)
        len = pl_ttcp_encode(out, sizeof(out), 0, fr.node + 1, fr.offset, fr.type, 1, w);
    else {
        memset(out, 0xEE, 16);
        len = 16;
    }
    pl_conn_send(c, out, (size_t)len);
}

static void liar_case(int mode, int expect)
{
    static const pl_listener_cbs_t cbs = {
        .on_accept = liar_accept, .on_data = liar_data, .on_close = silent_close};
    pl_listener_config_t lc;
    pl_listener_t *lst;
    pl_ttcp_client_config_t ccfg;
    fixture_t f;
    liar_t liar = {mode, 0};
    result_t r;
    uint16_t w[1];
    pl_ttcp_req_t req;

    memset(&f, 0, sizeof(f));
    uv_loop_init(&f.loop);
    memset(&lc, 0, sizeof(lc));
    assert_int_equal(pl_listener_new(&f.loop, &lc, &cbs, &liar, &lst, NULL), 0);
    client_config(&f, &ccfg, pl_listener_port(lst));
    assert_int_equal(pl_ttcp_client_new(&f.loop, &ccfg, &f.cli), 0);
    memset(&r, 0, sizeof(r));
    req.data = &r;
    assert_int_equal(pl_ttcp_read(f.cli, &req, 0, 0, w, 1, on_done), 0);
    run_until(&f.loop, &r.done, 3000);
    assert_int_equal(r.status.code, expect);
    assert_int_equal(f.links_down, 1); /* dropped to resynchronise */
    pl_ttcp_client_free(f.cli);
    pl_listener_free(lst);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void test_answer_for_wrong_node(void **state)
{
    (void)state;
    liar_case(0, PL_ETTCP_MISMATCH);
}

static void test_garbage_answer(void **state)
{
    (void)state;
    liar_case(1, PL_E_7TTCP_MSG_TOO_LONG); /* 0xEEEEEEEE as a length */
}

static void raw_up(pl_line_t *l, void *ud)
{
    (void)l;
    (void)ud;
}
static void raw_data(pl_line_t *l, const uint8_t *b, size_t n, void *ud)
{
    (void)l;
    (void)b;
    (void)n;
    (void)ud;
}
static void raw_down(pl_line_t *l, const pl_status_t *why, void *ud)
{
    (void)l;
    (void)why;
    (void)ud;
}

/* A malformed frame closes only the connection that sent it. */
static void test_server_survives_bad_client(void **state)
{
    fixture_t f;
    pl_line_config_t lc;
    result_t r;
    uint16_t w[1];

    (void)state;
    start(&f, NULL, NULL);
    do_read(&f, 0, 0, w, 1, &r);
    assert_int_equal(r.status.code, 0);
    {
        /* a raw connection that sends an unknown opcode */
        static const uint8_t bad[8] = {8, 0, 0, 0, 9, 0, 0, 0};
        static const pl_line_cbs_t cbs = {
            .on_up = raw_up, .on_data = raw_data, .on_down = raw_down};
        pl_line_t *raw;

        pl_line_config_init(&lc);
        assert_int_equal(pl_hostlist_parse(&lc.hosts, "127.0.0.1", 9, NULL), 0);
        lc.port = pl_ttcp_server_port(f.srv);
        assert_int_equal(pl_line_new(&f.loop, &lc, &cbs, NULL, &raw), 0);
        assert_int_equal(pl_line_start(raw), 0);
        assert_int_equal(fault_run_pred(&f.loop, line_up, raw, WAIT_MS), 0);
        assert_int_equal(pl_line_send(raw, bad, sizeof(bad)), 0);
        assert_int_equal(fault_run_pred(&f.loop, node_bad_frame, f.srv, WAIT_MS), 0);
        pl_line_free(raw);
    }
    /* the good client is still served on its connection */
    do_read(&f, 0, 0, w, 1, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(f.links_up, 1);
    stop(&f);
}

static void test_persistence(void **state)
{
    fixture_t f;
    pl_ttcp_server_config_t scfg;
    char path[] = "/tmp/plcline-test-persist-XXXXXX";
    int fd;
    result_t r;
    uint16_t w[2] = {0x1111, 0x2222}, back[2];

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    remove(path);
    pl_ttcp_server_config_init(&scfg);
    scfg.persist_path = path;
    start(&f, &scfg, NULL);
    do_write(&f, 6, 65534, w, 2, &r);
    assert_int_equal(r.status.code, 0);
    stop(&f);
    start(&f, &scfg, NULL);
    do_read(&f, 6, 65534, back, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_memory_equal(w, back, sizeof(w));
    stop(&f);
    remove(path);
}

static void test_free_from_callback(void **state)
{
    fixture_t f;
    result_t r;
    uint16_t w[1];
    pl_ttcp_req_t req[2];
    result_t r2;

    (void)state;
    start(&f, NULL, NULL);
    do_read(&f, 0, 0, w, 1, &r);
    memset(&r, 0, sizeof(r));
    memset(&r2, 0, sizeof(r2));
    req[0].data = &r;
    req[1].data = &r2;
    assert_int_equal(pl_ttcp_read(f.cli, &req[0], 0, 0, w, 1, on_done), 0);
    assert_int_equal(pl_ttcp_read(f.cli, &req[1], 0, 0, w, 1, on_done), 0);
    /* freeing the client completes both, with PL_ECANCELED, before returning */
    pl_ttcp_client_free(f.cli);
    f.cli = NULL;
    assert_int_equal(r.done, 1);
    assert_int_equal(r2.done, 1);
    assert_int_equal(r.status.code, PL_ECANCELED);
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_block_256_and_split_1000),
        cmocka_unit_test(test_legacy_max_block),
        cmocka_unit_test(test_write_block),
        cmocka_unit_test(test_timeout_and_recovery),
        cmocka_unit_test(test_peer_close_and_reconnect),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_keepalive_after_idle),
        cmocka_unit_test(test_keepalive_interval_after_answer),
        cmocka_unit_test(test_keepalive_detects_dead_peer),
        cmocka_unit_test(test_unsolicited_input),
        cmocka_unit_test(test_many_nodes_concurrently),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_answer_for_wrong_node),
        cmocka_unit_test(test_garbage_answer),
        cmocka_unit_test(test_server_survives_bad_client),
        cmocka_unit_test(test_persistence),
        cmocka_unit_test(test_free_from_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
