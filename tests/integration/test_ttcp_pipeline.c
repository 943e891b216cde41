/* SPDX-License-Identifier: MIT */
/*
 * The 7TTCP client with several requests in flight (the default) against node simulators on
 * loopback: answers go to the right requests however requests and answers interleave; a
 * node that cannot take several at once (it closes the connection, or ignores what came
 * behind the first request) makes the client fall back to one at a time with no request
 * failed; a node that ignores a request it cannot serve fails that one request at once;
 * a silent or restarted node is not taken for one that cannot pipeline. One process, one
 * loop; every wait runs the loop until a condition holds, under a guard.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "faults.h"
#include "plcline/error.h"
#include "plcline/ttcp.h"
#include "proto/ttcp/codec/ttcp.h"

#define NREQ    8
#define WAIT_MS 5000u

typedef struct {
    uv_loop_t loop;
    pl_ttcp_server_t *srv;
    pl_ttcp_client_t *cli;
    int links_up, links_down;
} fx_t;

typedef struct {
    pl_ttcp_req_t req;
    fx_t *f;
    int done;
    pl_status_t status;
    uint16_t w[4];
    /* a request to submit from this one's callback (NULL: none) */
    struct rq_s *then;
    uint32_t then_node, then_offset;
} rq_t;
struct rq_s {
    rq_t r;
};

static void on_link(pl_ttcp_client_t *c, const pl_status_t *st, void *ud)
{
    fx_t *f = ud;

    (void)c;
    if (st == NULL)
        f->links_up++;
    else
        f->links_down++;
}

static void on_done(pl_ttcp_req_t *req)
{
    rq_t *r = req->data;

    r->done++;
    r->status = req->status;
    if (r->then != NULL) {
        rq_t *n = &r->then->r;

        n->req.data = n;
        assert_int_equal(
            pl_ttcp_read(r->f->cli, &n->req, r->then_node, r->then_offset, n->w, 1, on_done), 0);
    }
}

/* A node simulator (nodes 0-7, node 5 ignored: it never answers) and a client of it. */
static void start(fx_t *f, const pl_ttcp_server_config_t *sc_in, unsigned inflight,
                  unsigned timeout_ms)
{
    static const uint32_t ignore = 5;
    pl_ttcp_server_config_t sc;
    pl_ttcp_client_config_t cc;
    pl_status_t st;
    uint16_t *mem;
    unsigned i;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    if (sc_in != NULL)
        sc = *sc_in;
    else
        pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    sc.ignore_nodes = &ignore;
    sc.n_ignore = 1;
    assert_int_equal(pl_ttcp_server_new(&f->loop, &sc, &f->srv, &st), 0);
    for (i = 0; i < 4096; i++) { /* word i of node 1 holds 0x1000 + i */
        mem = pl_ttcp_server_words(f->srv, 1);
        mem[i] = (uint16_t)(0x1000u + i);
    }
    pl_ttcp_client_config_init(&cc);
    assert_int_equal(pl_hostlist_parse(&cc.line.hosts, "127.0.0.1", 9, NULL), 0);
    cc.line.port = pl_ttcp_server_port(f->srv);
    cc.line.backoff_min_ms = 5;
    cc.line.backoff_max_ms = 20;
    cc.keepalive_ms = 0;
    cc.timeout_ms = timeout_ms;
    cc.max_inflight = inflight;
    cc.on_link = on_link;
    cc.ud = f;
    assert_int_equal(pl_ttcp_client_new(&f->loop, &cc, &f->cli), 0);
}

static void stop(fx_t *f)
{
    pl_ttcp_client_free(f->cli);
    assert_int_equal(pl_ttcp_server_free(f->srv), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

typedef struct {
    rq_t *r;
    int n;
} all_t;

static int all_done(void *ctx)
{
    const all_t *a = ctx;
    int i;

    for (i = 0; i < a->n; i++)
        if (!a->r[i].done || (a->r[i].then != NULL && !a->r[i].then->r.done))
            return 0;
    return 1;
}

/* Submits reads of node `nodes[i]`, word `offs[i]`, 1 word each, corked into one write, and
 * runs the loop until every one (and what their callbacks submit) completed. */
static void batch(fx_t *f, rq_t *r, int n, const uint32_t *nodes, const uint32_t *offs)
{
    all_t a = {r, n};
    int i;

    pl_ttcp_client_cork(f->cli, 1);
    for (i = 0; i < n; i++) {
        r[i].f = f;
        r[i].req.data = &r[i];
        assert_int_equal(pl_ttcp_read(f->cli, &r[i].req, nodes[i], offs[i], r[i].w, 1, on_done), 0);
    }
    pl_ttcp_client_cork(f->cli, 0);
    assert_int_equal(fault_run_pred(&f->loop, all_done, &a, WAIT_MS), 0);
    for (i = 0; i < n; i++)
        assert_int_equal(r[i].done, 1);
}

/* Reads word offs[i] of node 1 for every i, corked, and expects each to succeed with its
 * own word: `base` + its offset (the simulator's words are 0x1000 + offset). */
static void batch_of_words(fx_t *f, int n, uint32_t first_off, unsigned base)
{
    rq_t r[NREQ];
    uint32_t nodes[NREQ], offs[NREQ];
    int i;

    memset(r, 0, sizeof(r));
    for (i = 0; i < n; i++) {
        nodes[i] = 1;
        offs[i] = first_off + (uint32_t)i * 7u;
    }
    batch(f, r, n, nodes, offs);
    for (i = 0; i < n; i++) {
        assert_int_equal(r[i].status.code, 0);
        assert_int_equal(r[i].w[0], base + offs[i]);
    }
}

static void good_batch(fx_t *f, int n, uint32_t first_off)
{
    batch_of_words(f, n, first_off, 0x1000u);
}

/* Batches enough for the node to prove it takes several requests at once (the client wants
 * 32 answers to requests sent behind others on one connection). */
static void prove(fx_t *f)
{
    int i;

    for (i = 0; i < 5; i++)
        good_batch(f, NREQ, 2000u + (uint32_t)i * 100u);
}

/* An answer goes to its own request when a request sent from an earlier answer's callback
 * takes the slot that answer freed while older ones are still out: the answers of A, B
 * arrive together; A's callback submits C before B's answer is handled. */
static void test_answers_go_to_their_requests(void **state)
{
    fx_t f;
    rq_t r[2];
    struct rq_s c;
    const uint32_t nodes[2] = {1, 1}, offs[2] = {100, 200};
    int round;

    (void)state;
    start(&f, NULL, 0, 2000);
    for (round = 0; round < 20; round++) {
        memset(r, 0, sizeof(r));
        memset(&c, 0, sizeof(c));
        r[0].then = &c;
        r[0].then_node = 1;
        r[0].then_offset = 300u + (uint32_t)round;
        batch(&f, r, 2, nodes, offs);
        assert_int_equal(r[0].status.code, 0);
        assert_int_equal(r[0].w[0], 0x1000u + 100u);
        assert_int_equal(r[1].status.code, 0);
        assert_int_equal(r[1].w[0], 0x1000u + 200u);
        assert_int_equal(c.r.status.code, 0);
        assert_int_equal(c.r.w[0], 0x1000u + 300u + (unsigned)round);
    }
    assert_int_equal(f.links_up, 1);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->inflight, PL_TTCP_INFLIGHT_MAX);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->fallbacks, 0);
    stop(&f);
}

/* Several in flight is the default, and the requests of a batch go out together: the node
 * sees them in fewer reads than requests. */
static void test_default_pipelines(void **state)
{
    fx_t f;

    (void)state;
    start(&f, NULL, 0, 2000);
    good_batch(&f, NREQ, 0);
    good_batch(&f, NREQ, 1000);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->responses, 2 * NREQ);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->fallbacks, 0);
    assert_int_equal(f.links_up, 1);
    stop(&f);
}

/* A request the node cannot serve (node 5: ignored, no answer) among others, once the node
 * has shown it pipelines: that one fails at once with 0x4009 as the node answers the next,
 * the others succeed and the connection stays. Before that, the same answer out of step
 * could come from a node that reads one request of what arrives together: the client falls
 * back, and the ignored request fails one at a time, after `timeout`. */
static void test_ignored_request_fails_alone(void **state)
{
    fx_t f;
    rq_t r[4];
    const uint32_t nodes[4] = {1, 5, 1, 1}, offs[4] = {10, 0, 20, 30};
    int round;

    (void)state;
    start(&f, NULL, 0, 30000); /* a timeout the test would never wait for */
    prove(&f);
    for (round = 0; round < 2; round++) {
        memset(r, 0, sizeof(r));
        batch(&f, r, 4, nodes, offs);
        assert_int_equal(r[0].status.code, 0);
        assert_int_equal(r[0].w[0], 0x1000u + 10u);
        assert_int_equal(r[1].status.code, PL_E_7TTCP_TIMEOUT);
        assert_int_equal(pl_err_code(r[1].status.code), 0x4009);
        assert_non_null(strstr(r[1].status.detail, "node 5 offset 0: no answer"));
        assert_int_equal(r[2].status.code, 0);
        assert_int_equal(r[2].w[0], 0x1000u + 20u);
        assert_int_equal(r[3].status.code, 0);
        assert_int_equal(r[3].w[0], 0x1000u + 30u);
    }
    assert_int_equal(pl_ttcp_client_stats(f.cli)->skipped, 2);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->fallbacks, 0);
    assert_int_equal(f.links_up, 1);
    assert_int_equal(f.links_down, 0);
    stop(&f);
}

static void test_ignored_request_before_proof_falls_back(void **state)
{
    fx_t f;
    rq_t r[4];
    const uint32_t nodes[4] = {1, 5, 1, 1}, offs[4] = {10, 0, 20, 30};

    (void)state;
    start(&f, NULL, 0, 100);
    memset(r, 0, sizeof(r));
    batch(&f, r, 4, nodes, offs);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(r[1].status.code, PL_E_7TTCP_TIMEOUT);
    assert_non_null(strstr(r[1].status.detail, "no answer within 100 ms"));
    assert_int_equal(r[2].status.code, 0);
    assert_int_equal(r[2].w[0], 0x1000u + 20u);
    assert_int_equal(r[3].status.code, 0);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->fallbacks, 1);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->skipped, 0);
    stop(&f);
}

/* A silent node (every request of the batch ignored) is not taken for one that cannot
 * pipeline: the requests fail with 0x4009, the client keeps several in flight. */
static void test_silence_is_no_fallback(void **state)
{
    fx_t f;
    rq_t r[3];
    const uint32_t nodes[3] = {5, 5, 5}, offs[3] = {0, 1, 2};
    int i;

    (void)state;
    start(&f, NULL, 0, 100);
    memset(r, 0, sizeof(r));
    batch(&f, r, 3, nodes, offs);
    for (i = 0; i < 3; i++)
        assert_int_equal(r[i].status.code, PL_E_7TTCP_TIMEOUT);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->fallbacks, 0);
    good_batch(&f, NREQ, 0);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->inflight, PL_TTCP_INFLIGHT_MAX);
    stop(&f);
}

/* A node that has pipelined and later closes with requests in flight (a restart) keeps the
 * client at several in flight: the requests in flight fail with the close, as they would one
 * at a time, and the next batch is pipelined again. */
static void test_restart_of_a_proven_node_is_no_fallback(void **state)
{
    fx_t f;
    pl_ttcp_server_config_t sc;
    rq_t r[4];
    const uint32_t nodes[4] = {1, 1, 1, 1}, offs[4] = {1, 2, 3, 4};

    (void)state;
    pl_ttcp_server_config_init(&sc);
    sc.close_after = 42; /* the 42nd request of a connection is never answered: closed */
    start(&f, &sc, 0, 2000);
    prove(&f); /* requests 1-40 */
    memset(r, 0, sizeof(r));
    batch(&f, r, 4, nodes, offs); /* 41 answered; closed at 42 with 42, 43, 44 in flight */
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(r[1].status.code, PL_E_7TTCP_RECV_00);
    assert_int_equal(r[2].status.code, PL_E_7TTCP_RECV_00);
    assert_int_equal(r[3].status.code, PL_E_7TTCP_RECV_00);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->fallbacks, 0);
    good_batch(&f, 4, 100); /* a new connection, pipelined */
    assert_int_equal(pl_ttcp_client_stats(f.cli)->inflight, PL_TTCP_INFLIGHT_MAX);
    assert_int_equal(f.links_up, 2);
    stop(&f);
}

/* inflight=1: one at a time from the start; no fallback is ever counted. */
static void test_inflight_1_is_one_at_a_time(void **state)
{
    fx_t f;

    (void)state;
    start(&f, NULL, 1, 2000);
    good_batch(&f, NREQ, 0);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->inflight, 1);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->fallbacks, 0);
    stop(&f);
}

/* A node that takes one request at a time, by closing the connection when a second
 * arrives before the first is answered (drop 0) or by dropping what came behind the first
 * request of a socket read (drop 1, which the client sees as a timeout after the first
 * answer): the first batch is answered in full all the same (the requests in flight go out
 * again, one at a time), the fallback is counted once with `reason`, and the next batches
 * are one at a time on the same connection, with no request failed. */
static void fallback_case(int drop, unsigned timeout_ms, const char *reason)
{
    fx_t f;
    pl_ttcp_server_config_t sc;
    const pl_ttcp_client_stats_t *st;
    const pl_ttcp_server_stats_t *ss;

    pl_ttcp_server_config_init(&sc);
    sc.max_inflight = 1;
    sc.inflight_drop = (uint8_t)drop;
    start(&f, &sc, 0, timeout_ms);
    good_batch(&f, NREQ, 0);
    st = pl_ttcp_client_stats(f.cli);
    ss = pl_ttcp_server_stats(f.srv);
    assert_int_equal(st->fallbacks, 1);
    assert_int_equal(st->retried, NREQ - 1); /* the first was answered */
    assert_int_equal(st->inflight, 1);
    assert_int_equal(st->errors, 0);
    assert_non_null(strstr(st->fallback, reason));
    assert_int_equal(drop ? ss->inflight_dropped >= 1 : ss->inflight_closed == 1, 1);
    good_batch(&f, NREQ, 500);
    assert_int_equal(st->fallbacks, 1);
    assert_int_equal(st->errors, 0);
    assert_int_equal(ss->inflight_closed, drop ? 0u : 1u);
    assert_int_equal(f.links_up, 2);
    stop(&f);
}

static void test_closing_node_makes_it_fall_back(void **state)
{
    (void)state;
    fallback_case(0, 2000, "7 in flight");
}

static void test_dropping_node_makes_it_fall_back(void **state)
{
    (void)state;
    fallback_case(1, 200, "no answer within 200 ms");
}

/* A scripted node: answers every read with words equal to their offsets, except a read at
 * offset 0, which it ignores (as a node ignores a request it cannot serve). */
typedef struct {
    uint8_t in[4096];
    size_t len;
    int closed;
} picky_t;

static int picky_accept(pl_listener_t *l, pl_conn_t *c, void *ud)
{
    (void)l;
    pl_conn_set_data(c, ud);
    return 0;
}

static void picky_data(pl_conn_t *c, const uint8_t *b, size_t n, void *ud)
{
    picky_t *p = ud;
    pl_ttcp_frame_t fr;
    uint8_t out[PL_TTCP_MAX_FRAME];
    uint16_t w[PL_TTCP_MAX_WORDS];
    uint32_t i;
    int flen, len;

    assert_true(p->len + n <= sizeof(p->in));
    memcpy(p->in + p->len, b, n);
    p->len += n;
    while ((flen = pl_ttcp_frame(p->in, p->len, PL_TTCP_MAX_WORDS, NULL)) > 0) {
        assert_int_equal(pl_ttcp_decode(p->in, (size_t)flen, PL_TTCP_MAX_WORDS, &fr), 0);
        if (fr.type == PL_TTCP_TYPE_READ && fr.offset != 0) {
            for (i = 0; i < fr.count; i++)
                w[i] = (uint16_t)(fr.offset + i);
            len = pl_ttcp_encode(out, sizeof(out), PL_TTCP_OP_DATA, fr.node, fr.offset,
                                 PL_TTCP_TYPE_READ, fr.count, w);
            pl_conn_send(c, out, (size_t)len);
        }
        memmove(p->in, p->in + flen, p->len - (size_t)flen);
        p->len -= (size_t)flen;
    }
}

static void picky_close(pl_conn_t *c, const pl_status_t *why, void *ud)
{
    (void)c;
    (void)why;
    ((picky_t *)ud)->closed++;
}

/* A read of two messages whose first the node ignores: the request fails once, at the
 * answer to its second message, which is only consumed; the next request on the same
 * connection gets its own words. */
static void test_skipped_part_of_a_request(void **state)
{
    static const pl_listener_cbs_t cbs = {
        .on_accept = picky_accept, .on_data = picky_data, .on_close = picky_close};
    static picky_t picky;
    pl_listener_config_t lc;
    pl_listener_t *lst;
    pl_ttcp_client_config_t cc;
    fx_t f;
    rq_t r[2];
    uint16_t big[300];
    all_t a = {r, 2};
    int i;

    (void)state;
    memset(&f, 0, sizeof(f));
    memset(&picky, 0, sizeof(picky));
    memset(r, 0, sizeof(r));
    assert_int_equal(uv_loop_init(&f.loop), 0);
    memset(&lc, 0, sizeof(lc));
    assert_int_equal(pl_listener_new(&f.loop, &lc, &cbs, &picky, &lst, NULL), 0);
    pl_ttcp_client_config_init(&cc);
    assert_int_equal(pl_hostlist_parse(&cc.line.hosts, "127.0.0.1", 9, NULL), 0);
    cc.line.port = pl_listener_port(lst);
    cc.keepalive_ms = 0;
    cc.timeout_ms = 30000; /* never waited for */
    cc.on_link = on_link;
    cc.ud = &f;
    assert_int_equal(pl_ttcp_client_new(&f.loop, &cc, &f.cli), 0);
    for (i = 0; i < 5; i++) /* the node proves it pipelines (reads away from offset 0) */
        batch_of_words(&f, NREQ, 100, 0);
    r[0].req.data = &r[0];
    assert_int_equal(pl_ttcp_read(f.cli, &r[0].req, 1, 0, big, 300, on_done), 0);
    assert_int_equal(fault_run_pred(&f.loop, all_done, &(all_t){r, 1}, WAIT_MS), 0);
    assert_int_equal(r[0].done, 1);
    assert_int_equal(r[0].status.code, PL_E_7TTCP_TIMEOUT);
    assert_non_null(strstr(r[0].status.detail, "node 1 offset 0: no answer"));
    r[1].req.data = &r[1];
    assert_int_equal(pl_ttcp_read(f.cli, &r[1].req, 1, 10, r[1].w, 2, on_done), 0);
    assert_int_equal(fault_run_pred(&f.loop, all_done, &a, WAIT_MS), 0);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(r[1].w[0], 10);
    assert_int_equal(r[1].w[1], 11);
    assert_int_equal(r[0].done, 1);
    assert_int_equal(pl_ttcp_client_stats(f.cli)->skipped, 1);
    assert_int_equal(f.links_up, 1);
    assert_int_equal(f.links_down, 0);
    pl_ttcp_client_free(f.cli);
    pl_listener_free(lst);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_go_to_their_requests),
        cmocka_unit_test(test_default_pipelines),
        cmocka_unit_test(test_ignored_request_fails_alone),
        cmocka_unit_test(test_ignored_request_before_proof_falls_back),
        cmocka_unit_test(test_silence_is_no_fallback),
        cmocka_unit_test(test_restart_of_a_proven_node_is_no_fallback),
        cmocka_unit_test(test_inflight_1_is_one_at_a_time),
        cmocka_unit_test(test_closing_node_makes_it_fall_back),
        cmocka_unit_test(test_dropping_node_makes_it_fall_back),
        cmocka_unit_test(test_skipped_part_of_a_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
