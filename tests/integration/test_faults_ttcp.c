/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, 7TTCP (issue "Reliability"): the client against scripted misbehaving
 * nodes, and the node simulator against misbehaving clients. Each test is one named
 * scenario of docs/reliability.md: the scenarios every protocol shares run from one table
 * (tests/support/fault_suite.c) through the hooks at the end of this file; 7TTCP's own
 * malformed answers are rows of its spoils table.
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
#include "fault_suite.h"
#include "faults.h"
#include "fixture.h"
#include "plcline/error.h"
#include "plcline/ttcp.h"

#define PEER_WORDS 1024u

_Static_assert(PL_TTCP_MAX_FRAME <= FIXTURE_OUT_MAX, "a dripped answer fits a slot");

/* What the scripted node does with the requests it is told to spoil (fixture_t.mode): the
 * modes of every protocol (fault_suite.h), then 7TTCP's own. */
typedef enum {
    P_GOOD = FAULT_GOOD,
    P_CLOSE_MID = FAULT_CLOSE_MID,
    P_GARBAGE = FAULT_GARBAGE,
    P_DRIP = FAULT_DRIP,
    P_LATE = FAULT_LATE,
    P_SILENT = FAULT_SILENT,
    P_BAD_OPCODE = FAULT_MODE_PROTO, /* a 28-byte header with opcode 0x55 */
    P_LENGTH_0,                      /* the answer with its length field 0 */
    P_LENGTH_7,                      /* the answer with its length field 7 */
    P_LENGTH_FFFFFFFF,               /* only a length field 0xFFFFFFFF, then silence */
    P_WRONG_NODE,                    /* the answer for node + 1 */
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
    case P_LENGTH_0:
    case P_LENGTH_7:
    case P_LENGTH_FFFFFFFF:
        len = good_answer(&q, q.node, out, sizeof(out), NULL);
        memset(out, mode == P_LENGTH_FFFFFFFF ? 0xFF : 0, 4);
        out[0] = mode == P_LENGTH_7 ? 7 : out[0];
        (void)pl_conn_send(p->conn, out, mode == P_LENGTH_FFFFFFFF ? 4u : (size_t)len);
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

#define NODE 3u /* the node the scenarios' requests and the simulator's words are for */

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
    /* the table's scenarios keep a write waiting behind the read in flight: one request at
     * a time (pipelining and its fallback have their own cases in test_ttcp.c) */
    cfg->max_inflight = 1;
}

static void cut_free(void)
{
    if (T.cli != NULL)
        pl_ttcp_client_free(T.cli);
    T.cli = NULL;
}

/* A new client under test (T.cli) for `hosts` (port `port`), `timeout_ms` per request. */
static void cut_new(const char *hosts, uint16_t port, unsigned timeout_ms)
{
    pl_ttcp_client_config_t ccfg;

    cut_free();
    client_config(&ccfg, hosts, port, timeout_ms);
    ccfg.on_link = on_link;
    ccfg.ud = &F;
    assert_int_equal(pl_ttcp_client_new(&F.loop, &ccfg, &T.cli), 0);
}

/* Starts the loop, the scripted node, the healthy device (its client polling), and the
 * client under test (talking to the scripted node, `timeout_ms` per request). */
static void fx_start(unsigned timeout_ms, const fault_sim_opts_t *o)
{
    pl_ttcp_server_config_t scfg;
    pl_ttcp_client_config_t ccfg;
    pl_status_t st;
    unsigned i;

    memset(&T, 0, sizeof(T));
    fixture_init(&F, &ops);
    pl_ttcp_server_config_init(&scfg);
    scfg.listen.port = 0;
    scfg.listen.max_output = o->max_output;
    scfg.listen.frame_timeout_ms = o->frame_timeout_ms;
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
    cut_free();
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

/* ------------------------------------------------------------------ hooks of the suite */

static pl_ttcp_req_t g_req[4];

static void submit(int slot, int write, unsigned at, uint16_t *w, size_t n, fixture_result_t *r)
{
    pl_ttcp_req_t *q = &g_req[slot];

    memset(r, 0, sizeof(*r));
    q->data = r;
    if (write)
        assert_int_equal(pl_ttcp_write(T.cli, q, NODE, at, w, n, on_done), 0);
    else
        assert_int_equal(pl_ttcp_read(T.cli, q, NODE, at, w, n, on_done), 0);
}

static const pl_line_t *cut_line(void)
{
    return pl_ttcp_client_line(T.cli);
}

static uint64_t cut_timeouts(void)
{
    return pl_ttcp_client_stats(T.cli)->timeouts;
}

static uint16_t peer_word(unsigned at)
{
    return T.mem[at];
}

static void *sim(void)
{
    return T.good;
}

static void *sim_new(uint16_t port)
{
    pl_ttcp_server_config_t scfg;
    pl_ttcp_server_t *s;
    pl_status_t st;

    pl_ttcp_server_config_init(&scfg);
    scfg.listen.port = port;
    assert_int_equal(pl_ttcp_server_new(&F.loop, &scfg, &s, &st), 0);
    return s;
}

static void sim_free(void *s)
{
    assert_int_equal(pl_ttcp_server_free(s), 0);
}

static uint16_t sim_port(void *s)
{
    return pl_ttcp_server_port(s);
}

static void sim_set_word(void *s, unsigned at, uint16_t v)
{
    pl_ttcp_server_words(s, NODE)[at] = v;
}

static uint16_t sim_word(void *s, unsigned at)
{
    return pl_ttcp_server_words(s, NODE)[at];
}

static const uint64_t *sim_connections(void *s)
{
    return &pl_ttcp_server_stats(s)->connections;
}

static uint64_t sim_bad_frames(void *s)
{
    return pl_ttcp_server_stats(s)->bad_frames;
}

static size_t sim_conns(void *s)
{
    return pl_ttcp_server_conn_count(s);
}

static uint16_t sim_read_fresh(void *s, unsigned at)
{
    pl_ttcp_client_config_t ccfg;
    pl_ttcp_client_t *c;
    pl_ttcp_req_t q;
    fixture_result_t r;
    uint16_t w[1];

    client_config(&ccfg, "127.0.0.1", pl_ttcp_server_port(s), 2000);
    assert_int_equal(pl_ttcp_client_new(&F.loop, &ccfg, &c), 0);
    memset(&r, 0, sizeof(r));
    q.data = &r;
    assert_int_equal(pl_ttcp_read(c, &q, NODE, at, w, 1, on_done), 0);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, 0);
    pl_ttcp_client_free(c);
    return w[0];
}

static size_t raw_read(uint8_t *out, size_t cap, uint32_t session, uint16_t id, unsigned at,
                       unsigned words)
{
    int n;

    (void)session;
    (void)id;
    n = pl_ttcp_encode(out, cap, PL_TTCP_OP_DATA, NODE, at, PL_TTCP_TYPE_READ, words, NULL);
    assert_int_equal(n, PL_TTCP_HEADER_LEN);
    return (size_t)n;
}

static uint16_t raw_answer_word(const uint8_t *msg, size_t len)
{
    pl_ttcp_frame_t a;

    assert_int_equal(pl_ttcp_decode(msg, len, PL_TTCP_MAX_WORDS, &a), 0);
    return pl_ttcp_word(&a, 0);
}

static size_t raw_huge(uint8_t *out, size_t cap)
{
    static const uint8_t huge[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};

    assert_true(cap >= sizeof(huge));
    memcpy(out, huge, sizeof(huge));
    return sizeof(huge);
}

/* 7TTCP's malformed answers: refused as soon as they are in, never by waiting for bytes
 * that will not come ("GARB" read as a length is far past the largest frame; length fields
 * 0 and 7 are below the 8-byte minimum). */
static const fault_spoil_t spoils[] = {
    {"test_ttcp_client_bad_opcode", P_BAD_OPCODE, PL_ETTCP_OPCODE},
    {"test_ttcp_client_wrong_node", P_WRONG_NODE, PL_ETTCP_MISMATCH},
    {"test_ttcp_client_length_0", P_LENGTH_0, PL_ETTCP_SHORT},
    {"test_ttcp_client_length_7", P_LENGTH_7, PL_ETTCP_SHORT},
    {"test_ttcp_client_length_ffffffff", P_LENGTH_FFFFFFFF, PL_E_7TTCP_MSG_TOO_LONG},
};

static const fault_proto_t proto = {
    .name = "ttcp",
    .fx = &F,
    .code_close_mid = PL_E_7TTCP_RECV_00, /* the orderly-close code, 0x4006 */
    .code_garbage = PL_E_7TTCP_MSG_TOO_LONG,
    .code_timeout = PL_E_7TTCP_TIMEOUT, /* 0x4009 */
    .code_connect = PL_E_7TTCP_CONNECT, /* 0x4003 */
    .spoils = spoils,
    .n_spoils = sizeof(spoils) / sizeof(spoils[0]),
    .start = fx_start,
    .stop = fx_stop,
    .cut_new = cut_new,
    .cut_free = cut_free,
    .cut_line = cut_line,
    .cut_timeouts = cut_timeouts,
    .submit = submit,
    .peer_word = peer_word,
    .peer_sessions = NULL,
    .sim = sim,
    .sim_new = sim_new,
    .sim_free = sim_free,
    .sim_port = sim_port,
    .sim_set_word = sim_set_word,
    .sim_word = sim_word,
    .sim_connections = sim_connections,
    .sim_bad_frames = sim_bad_frames,
    .sim_conns = sim_conns,
    .sim_read_fresh = sim_read_fresh,
    .raw_hello = NULL,
    .raw_hello_answer = NULL,
    .raw_read = raw_read,
    .raw_answer_word = raw_answer_word,
    .raw_huge = raw_huge,
    .raw_read_max = PL_TTCP_MAX_WORDS,
};

int main(void)
{
    return fault_suite_run(&proto, NULL, 0);
}
