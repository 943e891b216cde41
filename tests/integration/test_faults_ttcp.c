/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, 7TTCP (issue "Reliability"): the client against scripted misbehaving
 * nodes, and the node simulator against misbehaving clients. Each test is one named
 * scenario of docs/reliability.md.
 *
 * Every test runs in one process on one loop over loopback (ports read back, nothing
 * sleeps, guard timers bound every wait) next to a healthy device: the simulator with a
 * second client polling it (write, read back, compare) all the time. Each scenario asserts
 * the exact PL_E* code of the request concerned, that every request (reads and writes)
 * completed exactly once, that the next request succeeds once the peer behaves (reconnect),
 * that the healthy client never failed and made progress meanwhile, and ends with every
 * handle closed and uv_loop_close() == 0 (run under ASan/LSan in the sanitizer build).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ttcp/codec/ttcp.h"
#include "faults.h"
#include "fixture.h"
#include "plcline/error.h"
#include "plcline/ttcp.h"

#define PEER_WORDS 1024u

_Static_assert(PL_TTCP_MAX_FRAME <= FIXTURE_OUT_MAX, "a dripped answer fits a slot");

/* What the scripted node does with the requests it is told to spoil (fixture_t.mode). */
typedef enum {
    P_GOOD = 0,    /* answers like a node */
    P_CLOSE_MID,   /* sends the first half of the answer, then closes */
    P_GARBAGE,     /* answers with text */
    P_BAD_OPCODE,  /* a 28-byte header with opcode 0x55 */
    P_LENGTH,      /* the answer with its length field replaced by `length` */
    P_LENGTH_ONLY, /* only the 4 bytes of the length field `length`, then silence */
    P_DRIP,        /* the answer one byte per `drip_ms` (0: one byte per loop turn) */
    P_LATE,        /* the answer `late_ms` later, if the connection is still there */
    P_WRONG_NODE,  /* the answer for node + 1 */
    P_SILENT,      /* no answer */
} peer_mode_t;

static fixture_t F; /* loop, healthy client's counters, scripted node's connections */

/* What is 7TTCP about the fixture. */
static struct {
    /* the healthy device and its client */
    pl_ttcp_server_t *good;
    pl_ttcp_client_t *hcli;
    pl_ttcp_req_t hreq;
    uint16_t hword;
    /* the scripted node */
    uint32_t length;
    uint16_t mem[PEER_WORDS];
    /* the client under test */
    pl_ttcp_client_t *cli;
} T;

/* ------------------------------------------------------------------ the healthy device */

static void on_healthy(pl_ttcp_req_t *req)
{
    fixture_healthy_done(&F, req->status.code, T.hword);
}

static int healthy_send(fixture_t *fx, int writing, uint16_t value)
{
    (void)fx;
    if (writing) {
        T.hword = value;
        return pl_ttcp_write(T.hcli, &T.hreq, 1, 10, &T.hword, 1, on_healthy);
    }
    T.hword = 0;
    return pl_ttcp_read(T.hcli, &T.hreq, 1, 10, &T.hword, 1, on_healthy);
}

/* ------------------------------------------------------------------ the scripted node */

/* The answer a node gives to request `q` (node `node`, `value`: NULL = memory). */
static int good_answer(const pl_ttcp_frame_t *q, uint32_t node, uint8_t *out, size_t cap,
                       const uint16_t *value)
{
    size_t i;

    if (q->type == PL_TTCP_TYPE_WRITE) {
        for (i = 0; i < q->data_words && q->offset + i < PEER_WORDS; i++)
            T.mem[q->offset + i] = pl_ttcp_word(q, i);
        return pl_ttcp_encode(out, cap, PL_TTCP_OP_DATA, node, q->offset, PL_TTCP_TYPE_WRITE,
                              q->count, NULL);
    }
    assert_true(q->offset + q->count <= PEER_WORDS);
    return pl_ttcp_encode(out, cap, PL_TTCP_OP_DATA, node, q->offset, PL_TTCP_TYPE_READ, q->count,
                          value != NULL ? value : T.mem + q->offset);
}

/* One request. Returns 0 to go on reading, <0 when the connection was closed. */
static int peer_request(fixture_t *fx, fixture_slot_t *p, const uint8_t *b, size_t n)
{
    static const char garbage[] = "GARBAGE, not 7TTCP\r\n";
    pl_ttcp_frame_t q;
    uint16_t late[PL_TTCP_MAX_WORDS];
    peer_mode_t mode;
    uint8_t out[PL_TTCP_MAX_FRAME];
    int len;
    size_t i;

    assert_int_equal(pl_ttcp_decode(b, n, PL_TTCP_MAX_WORDS, &q), 0);
    if (q.opcode == PL_TTCP_OP_KEEPALIVE) {
        len = pl_ttcp_encode_keepalive(out, sizeof(out), 0);
        (void)pl_conn_send(p->conn, out, (size_t)len);
        return 0;
    }
    mode = (peer_mode_t)fixture_peer_mode(fx);
    switch (mode) {
    case P_GOOD:
        len = good_answer(&q, q.node, out, sizeof(out), NULL);
        (void)pl_conn_send(p->conn, out, (size_t)len);
        return 0;
    case P_CLOSE_MID:
        len = good_answer(&q, q.node, out, sizeof(out), NULL);
        (void)pl_conn_send(p->conn, out, (size_t)len / 2u);
        pl_conn_close(p->conn, NULL);
        return -1;
    case P_GARBAGE:
        (void)pl_conn_send(p->conn, (const uint8_t *)garbage, sizeof(garbage) - 1u);
        return 0;
    case P_BAD_OPCODE:
        len = pl_ttcp_encode(out, sizeof(out), 0x55, q.node, q.offset, q.type, 0, NULL);
        (void)pl_conn_send(p->conn, out, (size_t)len);
        return 0;
    case P_LENGTH:
    case P_LENGTH_ONLY:
        len = good_answer(&q, q.node, out, sizeof(out), NULL);
        out[0] = (uint8_t)T.length;
        out[1] = (uint8_t)(T.length >> 8);
        out[2] = (uint8_t)(T.length >> 16);
        out[3] = (uint8_t)(T.length >> 24);
        (void)pl_conn_send(p->conn, out, mode == P_LENGTH_ONLY ? 4u : (size_t)len);
        return 0;
    case P_DRIP:
        len = good_answer(&q, q.node, p->out, sizeof(p->out), NULL);
        fixture_peer_drip(p, (size_t)len);
        return 0;
    case P_LATE:
        for (i = 0; i < q.count && i < PL_TTCP_MAX_WORDS; i++)
            late[i] = fx->late_word;
        len = good_answer(&q, q.node, p->out, sizeof(p->out), late);
        fixture_peer_late(p, (size_t)len);
        return 0;
    case P_WRONG_NODE:
        len = good_answer(&q, q.node + 1u, out, sizeof(out), NULL);
        (void)pl_conn_send(p->conn, out, (size_t)len);
        return 0;
    case P_SILENT:
        return 0;
    }
    return 0;
}

static const fixture_ops_t ops = {
    .healthy_send = healthy_send,
    .frame = pl_ttcp_frame,
    .frame_limit = PL_TTCP_MAX_WORDS,
    .message = peer_request,
    .rx_cap = PL_TTCP_MAX_FRAME,
    .peer_name = "scripted node",
};

/* ------------------------------------------------------------------ fixture */

static void on_link(pl_ttcp_client_t *c, const pl_status_t *st, void *ud)
{
    (void)c;
    fixture_link(ud, st);
}

static void client_config(pl_ttcp_client_config_t *cfg, const char *hosts, uint16_t port,
                          unsigned timeout_ms)
{
    pl_ttcp_client_config_init(cfg);
    assert_int_equal(pl_hostlist_parse(&cfg->line.hosts, hosts, strlen(hosts), NULL), 0);
    cfg->line.port = port;
    cfg->line.backoff_min_ms = 5;
    cfg->line.backoff_max_ms = 20;
    cfg->timeout_ms = timeout_ms;
    cfg->keepalive_ms = 0; /* the scripted node counts requests only */
}

/* A new client under test (T.cli) for `hosts` (port `port`), `timeout_ms` per request. */
static void cut_new(const char *hosts, uint16_t port, unsigned timeout_ms)
{
    pl_ttcp_client_config_t ccfg;

    client_config(&ccfg, hosts, port, timeout_ms);
    ccfg.on_link = on_link;
    ccfg.ud = &F;
    assert_int_equal(pl_ttcp_client_new(&F.loop, &ccfg, &T.cli), 0);
}

/* The simulator's incomplete-frame timeout for the next fx_start() (0: its default). */
static unsigned g_frame_timeout_ms;

/* Starts the loop, the scripted node, the healthy device (its client polling), and the
 * client under test (talking to the scripted node, `timeout_ms` per request). */
static void fx_start(unsigned timeout_ms, size_t max_output)
{
    pl_ttcp_server_config_t scfg;
    pl_ttcp_client_config_t ccfg;
    pl_status_t st;
    unsigned i;

    memset(&T, 0, sizeof(T));
    fixture_init(&F, &ops);
    pl_ttcp_server_config_init(&scfg);
    scfg.listen.port = 0;
    scfg.listen.max_output = max_output;
    scfg.listen.frame_timeout_ms = g_frame_timeout_ms;
    scfg.log = &F.log;
    assert_int_equal(pl_ttcp_server_new(&F.loop, &scfg, &T.good, &st), 0);
    client_config(&ccfg, "127.0.0.1", pl_ttcp_server_port(T.good), 2000);
    assert_int_equal(pl_ttcp_client_new(&F.loop, &ccfg, &T.hcli), 0);
    fixture_healthy_start(&F);
    for (i = 0; i < PEER_WORDS; i++)
        T.mem[i] = (uint16_t)(0x1000u + i);
    cut_new("127.0.0.1", F.port, timeout_ms);
}

static void fx_stop(void)
{
    fixture_healthy_stop(&F);
    if (T.cli != NULL)
        pl_ttcp_client_free(T.cli);
    pl_ttcp_client_free(T.hcli);
    assert_int_equal(pl_ttcp_server_free(T.good), 0);
    fixture_close(&F);
}

static void on_done(pl_ttcp_req_t *req)
{
    fixture_result_t *r = req->data;

    r->done++;
    r->status = req->status;
}

static void submit_read(pl_ttcp_client_t *c, pl_ttcp_req_t *q, fixture_result_t *r, uint32_t offset,
                        uint16_t *w, size_t n)
{
    memset(r, 0, sizeof(*r));
    q->data = r;
    assert_int_equal(pl_ttcp_read(c, q, 3, offset, w, n, on_done), 0);
}

static void submit_write(pl_ttcp_client_t *c, pl_ttcp_req_t *q, fixture_result_t *r,
                         uint32_t offset, const uint16_t *w, size_t n)
{
    memset(r, 0, sizeof(*r));
    q->data = r;
    assert_int_equal(pl_ttcp_write(c, q, 3, offset, w, n, on_done), 0);
}

/* The peer behaves again: a read and a write through the client under test succeed. */
static void expect_recovery(void)
{
    pl_ttcp_req_t q[2];
    fixture_result_t r[2];
    uint16_t w[4], v[2] = {0xA1A1, 0xB2B2};

    F.spoil = 0;
    submit_read(T.cli, &q[0], &r[0], 100, w, 4);
    submit_write(T.cli, &q[1], &r[1], 200, v, 2);
    fixture_wait(&F, &r[0]);
    fixture_wait(&F, &r[1]);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(w[0], 0x1000u + 100u);
    assert_int_equal(w[3], 0x1000u + 103u);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(T.mem[200], 0xA1A1);
    assert_int_equal(T.mem[201], 0xB2B2);
    fixture_expect_once(&F, r, 2);
}

/* A read in flight and a write waiting behind it; the first `spoil` requests get `mode`.
 * Returns with both completed. */
static void read_and_write(peer_mode_t mode, unsigned spoil, fixture_result_t r[2], uint16_t w[4])
{
    static pl_ttcp_req_t q[2];
    static const uint16_t v[2] = {0x5A5A, 0x6B6B};

    F.mode = (int)mode;
    F.spoil = spoil;
    submit_read(T.cli, &q[0], &r[0], 0, w, 4);
    submit_write(T.cli, &q[1], &r[1], 50, v, 2);
    fixture_wait_all(&F, r, 2);
}

/* The scripted node spoils the read only: it fails with `expect`, the connection is
 * dropped, the write behind it goes out on the next connection and succeeds. */
static void spoiled_read_case(peer_mode_t mode, int expect)
{
    fixture_result_t r[2];
    uint16_t w[4];
    int ok0;

    fx_start(1000, 0);
    ok0 = F.hok;
    read_and_write(mode, 1, r, w);
    assert_int_equal(r[0].status.code, expect);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(T.mem[50], 0x5A5A);
    assert_int_equal(F.links_down, 1);
    assert_int_equal(F.links_up, 2);
    expect_recovery();
    assert_true(F.hok > ok0);
    fx_stop();
}

/* ------------------------------------------------------------------ client scenarios */

/* The node closes in the middle of an answer: the read fails with the orderly-close code
 * (0x4006), the queued write goes out on a new connection. */
static void test_ttcp_client_peer_closes_mid_frame(void **state)
{
    (void)state;
    spoiled_read_case(P_CLOSE_MID, PL_E_7TTCP_RECV_00);
}

/* Text instead of a frame: "GARB" read as a length is far past the largest frame. */
static void test_ttcp_client_garbage(void **state)
{
    (void)state;
    spoiled_read_case(P_GARBAGE, PL_E_7TTCP_MSG_TOO_LONG);
}

static void test_ttcp_client_bad_opcode(void **state)
{
    (void)state;
    spoiled_read_case(P_BAD_OPCODE, PL_ETTCP_OPCODE);
}

static void test_ttcp_client_wrong_node(void **state)
{
    (void)state;
    spoiled_read_case(P_WRONG_NODE, PL_ETTCP_MISMATCH);
}

/* Length fields 0, 7 (below the 8-byte minimum) and 0xFFFFFFFF: refused as soon as the
 * 4 bytes are in, never by waiting for bytes that will not come (timeout 2 s). */
static void length_case(uint32_t length, peer_mode_t mode, int expect)
{
    fixture_result_t r[2];
    uint16_t w[4];
    uint64_t t0;

    fx_start(2000, 0);
    T.length = length;
    t0 = uv_now(&F.loop);
    read_and_write(mode, 1, r, w);
    assert_int_equal(r[0].status.code, expect);
    assert_true(uv_now(&F.loop) - t0 < 1000);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(F.links_down, 1);
    expect_recovery();
    fx_stop();
}

static void test_ttcp_client_length_0(void **state)
{
    (void)state;
    length_case(0, P_LENGTH, PL_ETTCP_SHORT);
}

static void test_ttcp_client_length_7(void **state)
{
    (void)state;
    length_case(7, P_LENGTH, PL_ETTCP_SHORT);
}

static void test_ttcp_client_length_ffffffff(void **state)
{
    (void)state;
    length_case(0xFFFFFFFFu, P_LENGTH_ONLY, PL_E_7TTCP_MSG_TOO_LONG);
}

/* Answers one byte per 1 ms timer (the read, 64 words: 156 bytes) and one byte per loop
 * turn (the write acknowledgement): the client reassembles both and succeeds. */
static void test_ttcp_client_answer_byte_by_byte(void **state)
{
    pl_ttcp_req_t q[2];
    fixture_result_t r[2];
    uint16_t w[64], v[1] = {0x7777};
    size_t i;
    int ok0;

    (void)state;
    fx_start(3000, 0);
    ok0 = F.hok;
    F.mode = P_DRIP;
    F.spoil = 1;
    F.drip_ms = 1;
    submit_read(T.cli, &q[0], &r[0], 300, w, 64);
    fixture_wait(&F, &r[0]);
    assert_int_equal(r[0].status.code, 0);
    for (i = 0; i < 64; i++)
        assert_int_equal(w[i], 0x1000u + 300u + i);
    F.spoil = 1;
    F.drip_ms = 0;
    submit_write(T.cli, &q[1], &r[1], 400, v, 1);
    fixture_wait(&F, &r[1]);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(T.mem[400], 0x7777);
    fixture_expect_once(&F, r, 2);
    assert_int_equal(F.links_up, 1); /* one connection throughout */
    assert_int_equal(F.links_down, 0);
    assert_true(F.hok > ok0); /* the healthy device was served meanwhile */
    fx_stop();
}

/* The answer comes after the timeout: the read fails with 0x4009, the connection is
 * dropped, so the late answer (0xDEAD) can never be taken for the next request, which asks
 * for the same words and gets the node's real values. */
static void test_ttcp_client_late_answer(void **state)
{
    pl_ttcp_req_t q;
    fixture_result_t r;
    uint16_t w[2];

    (void)state;
    fx_start(100, 0);
    F.mode = P_LATE;
    F.spoil = 1;
    F.late_ms = 250;
    F.late_word = 0xDEAD;
    submit_read(T.cli, &q, &r, 0, w, 2);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, PL_E_7TTCP_TIMEOUT);
    assert_int_equal(pl_err_code(r.status.code), 0x4009);
    submit_read(T.cli, &q, &r, 0, w, 2); /* same node, offset, count */
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(w[0], 0x1000);
    assert_int_equal(w[1], 0x1001);
    /* the late answer's time comes: its connection is gone, nothing reaches the client */
    assert_int_equal(fault_run_count(&F.loop, &F.late_dropped, 1, FIXTURE_GUARD_MS), 0);
    assert_int_equal(F.late_sent, 0);
    submit_read(T.cli, &q, &r, 0, w, 2);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(w[0], 0x1000);
    assert_int_equal(F.links_down, 1);
    assert_int_equal(pl_ttcp_client_stats(T.cli)->timeouts, 1);
    expect_recovery();
    fx_stop();
}

/* Accepts and never answers: the read times out, the connection is dropped, the write goes
 * out on a new connection and times out too; each completes once with 0x4009. */
static void test_ttcp_client_never_answers(void **state)
{
    fixture_result_t r[2];
    uint16_t w[4];
    int ok0;

    (void)state;
    fx_start(150, 0);
    ok0 = F.hok;
    read_and_write(P_SILENT, 2, r, w);
    assert_int_equal(r[0].status.code, PL_E_7TTCP_TIMEOUT);
    assert_int_equal(r[1].status.code, PL_E_7TTCP_TIMEOUT);
    assert_int_equal(F.links_down, 2);
    assert_true(F.hok > ok0);
    expect_recovery();
    fx_stop();
}

/* Nothing listens: every waiting request fails with 0x4003 (ECONNREFUSED); once a node
 * listens on the port, the next request connects and succeeds. */
static void test_ttcp_client_connection_refused(void **state)
{
    pl_ttcp_server_config_t scfg;
    pl_ttcp_server_t *late_srv;
    pl_status_t st;
    fixture_result_t r[2];
    uint16_t w[4];
    uint16_t port;

    (void)state;
    fx_start(1000, 0);
    assert_int_equal(fault_free_port(&F.loop, &port), 0);
    pl_ttcp_client_free(T.cli);
    cut_new("127.0.0.1", port, 1000);
    read_and_write(P_GOOD, 0, r, w);
    assert_int_equal(r[0].status.code, PL_E_7TTCP_CONNECT);
    assert_int_equal(r[0].status.sys, UV_ECONNREFUSED);
    assert_int_equal(pl_err_code(r[0].status.code), 0x4003);
    assert_int_equal(r[1].status.code, PL_E_7TTCP_CONNECT);
    /* a node comes up on that port */
    pl_ttcp_server_config_init(&scfg);
    scfg.listen.port = port;
    assert_int_equal(pl_ttcp_server_new(&F.loop, &scfg, &late_srv, &st), 0);
    pl_ttcp_server_words(late_srv, 3)[0] = 0x4242;
    read_and_write(P_GOOD, 0, r, w);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(w[0], 0x4242);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(pl_ttcp_server_words(late_srv, 3)[50], 0x5A5A);
    pl_ttcp_client_free(T.cli);
    T.cli = NULL;
    assert_int_equal(pl_ttcp_server_free(late_srv), 0);
    fx_stop();
}

/* The host name does not resolve: the requests fail with PL_ERESOLVE; a client whose host
 * list goes on to a reachable host is served by that one. */
static void test_ttcp_client_name_does_not_resolve(void **state)
{
    fixture_result_t r[2];
    uint16_t w[4];
    char hosts[64];

    (void)state;
    fx_start(1000, 0);
    pl_ttcp_client_free(T.cli);
    cut_new("nonexistent.invalid", F.port, 3000);
    read_and_write(P_GOOD, 0, r, w);
    assert_int_equal(r[0].status.code, PL_ERESOLVE);
    assert_int_equal(r[1].status.code, PL_ERESOLVE);
    assert_int_equal(F.accepted, 0);
    pl_ttcp_client_free(T.cli);
    snprintf(hosts, sizeof(hosts), "nonexistent.invalid,127.0.0.1:%u", (unsigned)F.port);
    cut_new(hosts, F.port, 3000);
    read_and_write(P_GOOD, 0, r, w);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(pl_line_host_index(pl_ttcp_client_line(T.cli)), 1);
    fx_stop();
}

/* ------------------------------------------------------------------ server scenarios */

static int good_conns_are(void *ctx)
{
    return pl_ttcp_server_conn_count(T.good) == *(const unsigned *)ctx;
}

/* A fresh client asks the simulator for a read: it must be served. */
static void expect_good_serves(void)
{
    pl_ttcp_client_config_t ccfg;
    pl_ttcp_client_t *c;
    pl_ttcp_req_t q;
    fixture_result_t r;
    uint16_t w[2];

    pl_ttcp_server_words(T.good, 3)[7] = 0x3131;
    client_config(&ccfg, "127.0.0.1", pl_ttcp_server_port(T.good), 2000);
    assert_int_equal(pl_ttcp_client_new(&F.loop, &ccfg, &c), 0);
    submit_read(c, &q, &r, 7, w, 2);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(w[0], 0x3131);
    pl_ttcp_client_free(c);
}

/* 1000 connections opened (100 at a time) and aborted with a RST, half of them after a
 * partial frame: the simulator ends with only the healthy client's connection, the
 * process with the descriptors it had, and a new client is served. */
static void test_ttcp_server_1000_abandoned_connections(void **state)
{
    static const uint8_t partial[10] = {28, 0, 0, 0, 0, 0, 0, 0, 3, 0};
    unsigned one = 1;
    int fds, ok0;

    (void)state;
    fx_start(1000, 0);
    assert_int_equal(fault_run_count(&F.loop, &F.hok, 2, FIXTURE_GUARD_MS), 0);
    fds = fault_fd_count();
    ok0 = F.hok;
    fixture_storms(&F, pl_ttcp_server_port(T.good), partial, sizeof(partial),
                   &pl_ttcp_server_stats(T.good)->connections);
    assert_int_equal(pl_ttcp_server_stats(T.good)->connections, 1 + 1000);
    assert_int_equal(fault_run_pred(&F.loop, good_conns_are, &one, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_fd_count(), fds);
    assert_true(F.hok > ok0);
    expect_good_serves();
    fx_stop();
}

/* A client sends its request one byte per millisecond: the simulator answers it once the
 * frame is complete and serves the healthy client all the while. */
static void test_ttcp_server_slow_client(void **state)
{
    fault_raw_t raw;
    uint8_t req[PL_TTCP_HEADER_LEN];
    pl_ttcp_frame_t a;
    int ok0, n;

    (void)state;
    fx_start(1000, 0);
    pl_ttcp_server_words(T.good, 2)[5] = 0xC0DE;
    n = pl_ttcp_encode(req, sizeof(req), PL_TTCP_OP_DATA, 2, 5, PL_TTCP_TYPE_READ, 1, NULL);
    assert_int_equal(n, PL_TTCP_HEADER_LEN);
    assert_int_equal(fault_raw_connect(&F.loop, &raw, pl_ttcp_server_port(T.good), 1), 0);
    assert_int_equal(fault_run_until(&F.loop, &raw.connected, FIXTURE_GUARD_MS), 0);
    ok0 = F.hok;
    assert_int_equal(fault_raw_drip(&raw, req, (size_t)n, 1), 0);
    assert_int_equal(fault_run_until(&F.loop, &raw.drip.done, FIXTURE_GUARD_MS), 0);
    assert_false(raw.drip.failed);
    assert_true(F.hok > ok0 + 2); /* served while the slow one trickled */
    while (raw.rx_len < PL_TTCP_FRAME_LEN(1))
        assert_int_equal(fault_run_count(&F.loop, &F.hok, F.hok + 1, FIXTURE_GUARD_MS), 0);
    assert_int_equal(pl_ttcp_decode(raw.rx, raw.rx_len, 1, &a), 0);
    assert_int_equal(pl_ttcp_word(&a, 0), 0xC0DE);
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_until(&F.loop, &raw.closed, FIXTURE_GUARD_MS), 0);
    fx_stop();
}

/* A slow client that announces a frame longer than any request cannot make the simulator
 * hold more than one frame's buffer: it is closed once the 4 length bytes are in. */
static void test_ttcp_server_slow_client_huge_length(void **state)
{
    static const uint8_t huge[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};
    fault_raw_t raw;
    uint64_t bad0;

    (void)state;
    fx_start(1000, 0);
    bad0 = pl_ttcp_server_stats(T.good)->bad_frames;
    assert_int_equal(fault_raw_connect(&F.loop, &raw, pl_ttcp_server_port(T.good), 1), 0);
    assert_int_equal(fault_run_until(&F.loop, &raw.connected, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_raw_drip(&raw, huge, sizeof(huge), 1), 0);
    assert_int_equal(fault_run_pred(&F.loop, fault_pred_raw_eof, &raw, FIXTURE_GUARD_MS), 0);
    assert_int_equal(pl_ttcp_server_stats(T.good)->bad_frames, bad0 + 1);
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_until(&F.loop, &raw.closed, FIXTURE_GUARD_MS), 0);
    fx_stop();
}

/* A client that begins a frame and then goes silent (slowloris) would hold its connection
 * for as long as TCP lives; the simulator closes a connection whose frame is not complete
 * within frame_timeout_ms (here 100 ms), and serves other clients meanwhile. */
static void test_ttcp_server_partial_frame_then_silence(void **state)
{
    fault_raw_t raw;
    uint8_t req[PL_TTCP_HEADER_LEN];
    unsigned two = 2, one = 1;
    int ok0;

    (void)state;
    g_frame_timeout_ms = 100;
    fx_start(1000, 0);
    g_frame_timeout_ms = 0;
    (void)pl_ttcp_encode(req, sizeof(req), PL_TTCP_OP_DATA, 2, 5, PL_TTCP_TYPE_READ, 1, NULL);
    assert_int_equal(fault_raw_connect(&F.loop, &raw, pl_ttcp_server_port(T.good), 1), 0);
    assert_int_equal(fault_run_until(&F.loop, &raw.connected, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_raw_write(&raw, req, sizeof(req) - 1u), 0);
    assert_int_equal(fault_run_pred(&F.loop, good_conns_are, &two, FIXTURE_GUARD_MS), 0);
    ok0 = F.hok;
    /* closed by the simulator: the raw client sees the close, the healthy one goes on */
    assert_int_equal(fault_run_until(&F.loop, &raw.eof, FIXTURE_GUARD_MS), 0);
    assert_int_equal(raw.rx_total, 0);
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_until(&F.loop, &raw.closed, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_run_pred(&F.loop, good_conns_are, &one, FIXTURE_GUARD_MS), 0);
    assert_true(pl_ttcp_server_stats(T.good)->bad_frames >= 1);
    fault_run_for(&F.loop, 100);
    assert_true(F.hok > ok0);
    fx_stop();
}

/* The simulator dropped the non-reader: only the healthy client's connection is left. */
static int nonreader_dropped(void *ctx)
{
    (void)ctx;
    return pl_ttcp_server_conn_count(T.good) == 1;
}

/* A client pipelines 256-word reads and never reads the answers: once the kernel buffers
 * are full, the simulator's per-connection output limit (max_output, 64 KiB here) closes
 * that connection; the healthy client is served throughout and after. */
static void test_ttcp_server_client_never_reads(void **state)
{
    enum { PER_WRITE = 100 };
    static uint8_t chunk[PER_WRITE * PL_TTCP_HEADER_LEN];
    fault_raw_t raw;
    fault_flood_t fl;
    unsigned two = 2;
    int i, ok0;

    (void)state;
    fx_start(1000, 64 * 1024);
    for (i = 0; i < PER_WRITE; i++)
        (void)pl_ttcp_encode(chunk + (size_t)i * PL_TTCP_HEADER_LEN, PL_TTCP_HEADER_LEN,
                             PL_TTCP_OP_DATA, 1, 1000, PL_TTCP_TYPE_READ, PL_TTCP_MAX_WORDS, NULL);
    assert_int_equal(fault_raw_connect(&F.loop, &raw, pl_ttcp_server_port(T.good), 0), 0);
    assert_int_equal(fault_run_until(&F.loop, &raw.connected, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_run_pred(&F.loop, good_conns_are, &two, FIXTURE_GUARD_MS), 0);
    ok0 = F.hok;
    memset(&fl, 0, sizeof(fl));
    fl.raw = &raw;
    fl.chunk = chunk;
    fl.chunk_len = sizeof(chunk);
    fl.max_writes = 2000; /* 200 000 answers of 540 bytes: far more than loopback buffers */
    fl.stop = nonreader_dropped;
    assert_int_equal(fault_run_pred(&F.loop, fault_flood_step, &fl, 20000), 0);
    assert_int_equal(F.nonreader_closed, 1); /* closed by the output limit, nothing else */
    assert_int_equal(pl_ttcp_server_stats(T.good)->bad_frames, 0);
    assert_true(F.hok > ok0);
    assert_int_equal(raw.rx_total, 0);
    fault_raw_close(&raw, 1);
    assert_int_equal(fault_run_until(&F.loop, &raw.closed, FIXTURE_GUARD_MS), 0);
    expect_good_serves();
    fx_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ttcp_client_peer_closes_mid_frame),
        cmocka_unit_test(test_ttcp_client_garbage),
        cmocka_unit_test(test_ttcp_client_bad_opcode),
        cmocka_unit_test(test_ttcp_client_wrong_node),
        cmocka_unit_test(test_ttcp_client_length_0),
        cmocka_unit_test(test_ttcp_client_length_7),
        cmocka_unit_test(test_ttcp_client_length_ffffffff),
        cmocka_unit_test(test_ttcp_client_answer_byte_by_byte),
        cmocka_unit_test(test_ttcp_client_late_answer),
        cmocka_unit_test(test_ttcp_client_never_answers),
        cmocka_unit_test(test_ttcp_client_connection_refused),
        cmocka_unit_test(test_ttcp_client_name_does_not_resolve),
        cmocka_unit_test(test_ttcp_server_1000_abandoned_connections),
        cmocka_unit_test(test_ttcp_server_slow_client),
        cmocka_unit_test(test_ttcp_server_slow_client_huge_length),
        cmocka_unit_test(test_ttcp_server_partial_frame_then_silence),
        cmocka_unit_test(test_ttcp_server_client_never_reads),
    };
    /* The raw partners write into connections the server resets: EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
