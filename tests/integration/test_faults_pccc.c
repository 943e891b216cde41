/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, PCCC over EtherNet/IP (issue "Reliability"): the client against a
 * scripted misbehaving PLC, and the PLC simulator against misbehaving clients. Each test is
 * one named scenario of docs/reliability.md.
 *
 * Every test runs in one process on one loop over loopback (ports read back, nothing
 * sleeps, guard timers bound every wait) next to a healthy device: the simulator with a
 * second client polling it (write N7:10, read it back, compare) all the time. Each scenario
 * asserts the exact PL_E* code of the request concerned, that every request (reads and
 * writes) completed exactly once, that the next request succeeds once the peer behaves
 * (reconnect and a new session where the connection had to go), that the healthy client
 * never failed and made progress, and ends with every handle closed and uv_loop_close() == 0
 * (run under ASan/LSan in the sanitizer build).
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

#include "proto/pccc/codec/cip.h"
#include "proto/pccc/codec/enip.h"
#include "proto/pccc/codec/pccc.h"
#include "fault_suite.h"
#include "faults.h"

#include "fixture.h"
#include "plcline/error.h"
#include "plcline/pccc.h"

#define N7_BYTES  512u
#define MSG_MAX   1200u
#define CAP_ENIP  4096u /* encapsulation data the scripted PLC accepts */
#define N7_FILE   7u
#define BAD_ENCAP 0x0077u /* an encapsulation command nobody defines */

_Static_assert(MSG_MAX <= FIXTURE_OUT_MAX, "a dripped reply fits a slot");
_Static_assert(PL_ENIP_HEADER_LEN + CAP_ENIP <= FIXTURE_RX_MAX, "a request fits a slot");

/* What the scripted PLC does with the requests it is told to spoil (fixture_t.mode): the
 * modes of every protocol (fault_suite.h), then PCCC's own. */
typedef enum {
    P_GOOD = FAULT_GOOD,
    P_CLOSE_MID = FAULT_CLOSE_MID,
    P_GARBAGE = FAULT_GARBAGE,
    P_DRIP = FAULT_DRIP,
    P_LATE_TIMER = FAULT_LATE,        /* the reply (carrying `late_word`) `late_ms` later */
    P_SILENT = FAULT_SILENT,          /* no reply to PCCC requests */
    P_BAD_COMMAND = FAULT_MODE_PROTO, /* a reply with an undefined encapsulation command */
    P_LEN_FFFF,                       /* a header whose length field is 0xFFFF, then silence */
    P_LEN_0,       /* the SendRRData reply header with length 0 (no data at all) */
    P_SHORT_ITEM,  /* a CPF data item whose length runs past the message */
    P_LATE_NEXT,   /* the reply (carrying `late_word`) held until `release_held`, then
                      sent just before the next reply */
    P_WRONG_TNS,   /* the reply with TNS + 1000 */
    P_NO_REGISTER, /* no reply to RegisterSession either */
} peer_mode_t;

static fixture_t F; /* loop, healthy client's counters, scripted PLC's connections */

/* What is PCCC about the fixture. */
static struct {
    /* the healthy device and its client */
    pl_pccc_server_t *good;
    pl_pccc_client_t *hcli;
    pl_pccc_req_t hreq;
    uint8_t hbuf[2];
    /* the scripted PLC */
    uint8_t n7[N7_BYTES];
    int registered;
    uint8_t held[MSG_MAX]; /* P_LATE_NEXT */
    size_t held_len;
    int release_held; /* send the held reply before the next reply */
    /* the client under test */
    pl_pccc_client_t *cli;
} T;

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* ------------------------------------------------------------------ the healthy device */

static void on_healthy(pl_pccc_req_t *req)
{
    fixture_healthy_done(&F, req->status.code, get16(T.hbuf));
}

static int healthy_send(fixture_t *fx, int writing, uint16_t value)
{
    (void)fx;
    if (writing) {
        put16(T.hbuf, value);
        return pl_pccc_write(T.hcli, &T.hreq, "N7:10", T.hbuf, 2, on_healthy);
    }
    memset(T.hbuf, 0, sizeof(T.hbuf));
    return pl_pccc_read(T.hcli, &T.hreq, "N7:10", T.hbuf, 2, on_healthy);
}

/* ------------------------------------------------------------------ the scripted PLC */

/* Builds the encapsulated reply to PCCC request `q` (wrapped as `w`) of message `m` into
 * out[]: the data read (or `forced` for every word), with TNS + `tns_add`. */
static size_t build_reply(const pl_enip_msg_t *m, const pl_pccc_wrap_t *w,
                          const pl_pccc_request_t *q, uint16_t tns_add, const uint16_t *forced,
                          uint8_t *out, size_t cap)
{
    uint8_t data[256], pccc[300], wrap[320], cip[340], cpf[380], rr[400];
    pl_pccc_wrap_t rw = *w;
    pl_enip_msg_t r = *m;
    size_t n = 0, at, i;
    int k;

    at = (size_t)q->slc.element * 2u + (size_t)q->slc.sub * 2u;
    assert_int_equal(q->slc.file, N7_FILE);
    assert_true(at + q->slc.size <= N7_BYTES);
    if (q->op == PL_PCCC_OP_SLC_READ) {
        n = q->slc.size;
        memcpy(data, T.n7 + at, n);
        if (forced != NULL)
            for (i = 0; i + 1 < n; i += 2)
                put16(data + i, *forced);
    } else {
        assert_int_equal(q->op, PL_PCCC_OP_SLC_WRITE);
        memcpy(T.n7 + at, q->data, q->slc.size);
    }
    k = pl_pccc_reply_encode(pccc, sizeof(pccc), q->cmd, (uint16_t)(q->tns + tns_add), 0, 0, data,
                             n);
    assert_true(k > 0);
    rw.pccc = pccc;
    rw.pccc_len = (size_t)k;
    k = pl_pccc_wrap_encode(wrap, sizeof(wrap), &rw);
    assert_true(k > 0);
    k = pl_cip_rsp_encode(cip, sizeof(cip), w->service, 0, NULL, 0, wrap, (size_t)k);
    assert_true(k > 0);
    k = pl_cpf_encode_unconnected(cpf, sizeof(cpf), cip, (size_t)k);
    assert_true(k > 0);
    k = pl_enip_rr_encode(rr, sizeof(rr), 0, cpf, (size_t)k);
    assert_true(k > 0);
    r.status = 0;
    r.data = rr;
    r.data_len = (size_t)k;
    k = pl_enip_encode(out, cap, &r);
    assert_true(k > 0);
    return (size_t)k;
}

/* One SendRRData PCCC request. Returns 0 to go on, <0 when the connection was closed. */
static int peer_pccc(fixture_t *fx, fixture_slot_t *p, const pl_enip_msg_t *m)
{
    static const char garbage[] = "GARBAGE, not EtherNet/IP\r\n";
    pl_enip_rr_t rr;
    pl_cip_req_t cq;
    pl_pccc_wrap_t w;
    pl_pccc_request_t q;
    pl_status_t st;
    const uint8_t *cip;
    size_t cip_len, n;
    uint8_t out[MSG_MAX];
    peer_mode_t mode;

    assert_int_equal(m->session, p->session);
    assert_int_equal(pl_enip_rr_decode(m->data, m->data_len, &rr), 0);
    assert_int_equal(pl_cpf_unconnected(&rr.cpf, &cip, &cip_len), 0);
    assert_int_equal(pl_cip_req_decode(cip, cip_len, &cq), 0);
    assert_int_equal(pl_pccc_wrap_decode(cq.service, cq.data, cq.data_len, &w, &st), 0);
    assert_int_equal(pl_pccc_request_decode(w.pccc, w.pccc_len, &q, &st), 0);
    mode = (peer_mode_t)fixture_peer_mode(fx);
    if (mode == P_GOOD && T.held_len > 0 && T.release_held) { /* a late reply goes first */
        fx->late_sent++;
        (void)pl_conn_send(p->conn, T.held, T.held_len);
        T.held_len = 0;
    }
    switch (mode) {
    case P_GOOD:
        n = build_reply(m, &w, &q, 0, NULL, out, sizeof(out));
        (void)pl_conn_send(p->conn, out, n);
        return 0;
    case P_CLOSE_MID:
        n = build_reply(m, &w, &q, 0, NULL, out, sizeof(out));
        (void)pl_conn_send(p->conn, out, n / 2u);
        pl_conn_close(p->conn, NULL);
        return -1;
    case P_GARBAGE:
        (void)pl_conn_send(p->conn, (const uint8_t *)garbage, sizeof(garbage) - 1u);
        return 0;
    case P_BAD_COMMAND:
        n = build_reply(m, &w, &q, 0, NULL, out, sizeof(out));
        put16(out, BAD_ENCAP);
        (void)pl_conn_send(p->conn, out, n);
        return 0;
    case P_LEN_FFFF:
        n = build_reply(m, &w, &q, 0, NULL, out, sizeof(out));
        put16(out + 2, 0xFFFF);
        (void)pl_conn_send(p->conn, out, PL_ENIP_HEADER_LEN);
        return 0;
    case P_LEN_0:
        n = build_reply(m, &w, &q, 0, NULL, out, sizeof(out));
        put16(out + 2, 0);
        (void)pl_conn_send(p->conn, out, PL_ENIP_HEADER_LEN);
        return 0;
    case P_SHORT_ITEM: {
        /* rr data: handle u32, timeout u16, count u16, null item (4), then the data item's
         * type u16 and length u16: claim 10 bytes more than follow */
        size_t at = PL_ENIP_HEADER_LEN + PL_ENIP_RR_PREFIX_LEN + 2u + PL_CPF_ITEM_HEADER_LEN + 2u;

        n = build_reply(m, &w, &q, 0, NULL, out, sizeof(out));
        put16(out + at, (uint16_t)(get16(out + at) + 10u));
        (void)pl_conn_send(p->conn, out, n);
        return 0;
    }
    case P_DRIP:
        fixture_peer_drip(p, build_reply(m, &w, &q, 0, NULL, p->out, sizeof(p->out)));
        return 0;
    case P_LATE_TIMER:
        fixture_peer_late(p, build_reply(m, &w, &q, 0, &fx->late_word, p->out, sizeof(p->out)));
        return 0;
    case P_LATE_NEXT:
        T.held_len = build_reply(m, &w, &q, 0, &fx->late_word, T.held, sizeof(T.held));
        return 0;
    case P_WRONG_TNS:
        n = build_reply(m, &w, &q, 1000, NULL, out, sizeof(out));
        (void)pl_conn_send(p->conn, out, n);
        return 0;
    case P_SILENT:
    case P_NO_REGISTER:
        return 0;
    }
    return 0;
}

/* One encapsulation message. Returns 0 to go on, <0 when the connection was closed. */
static int peer_msg(fixture_t *fx, fixture_slot_t *p, const uint8_t *b, size_t n)
{
    pl_enip_msg_t m;
    uint8_t out[64];
    int k;

    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    switch (m.command) {
    case PL_ENIP_CMD_REGISTER_SESSION:
        if (fx->mode == P_NO_REGISTER && fx->spoil > 0) {
            fx->spoil--;
            return 0;
        }
        T.registered++;
        p->session = 0x51000000u + (uint32_t)T.registered;
        m.session = p->session;
        k = pl_enip_encode(out, sizeof(out), &m);
        assert_true(k > 0);
        (void)pl_conn_send(p->conn, out, (size_t)k);
        return 0;
    case PL_ENIP_CMD_UNREGISTER_SESSION:
        return 0;
    case PL_ENIP_CMD_SEND_RR_DATA:
        return peer_pccc(fx, p, &m);
    default:
        fail_msg("scripted PLC: unexpected command 0x%04X", m.command);
    }
    return 0;
}

static const fixture_ops_t ops = {
    .healthy_send = healthy_send,
    .frame = pl_enip_frame,
    .frame_limit = CAP_ENIP,
    .message = peer_msg,
    .rx_cap = PL_ENIP_HEADER_LEN + CAP_ENIP,
    .peer_name = "scripted PLC",
};

/* ------------------------------------------------------------------ fixture */

static void on_link(pl_pccc_client_t *c, const pl_status_t *st, void *ud)
{
    (void)c;
    fixture_link(ud, st);
}

static void client_config(pl_pccc_client_config_t *cfg, const char *hosts, uint16_t port,
                          unsigned timeout_ms)
{
    pl_pccc_client_config_init(cfg);
    assert_int_equal(pl_hostlist_parse(&cfg->line.hosts, hosts, strlen(hosts), NULL), 0);
    cfg->line.port = port;
    cfg->line.backoff_min_ms = 5;
    cfg->line.backoff_max_ms = 20;
    cfg->vendor = 0x8503;
    cfg->serial = 0x41414D50;
    cfg->timeout_ms = timeout_ms;
}

/* A new client under test (T.cli) for `hosts` (port `port`), `timeout_ms` per request,
 * `inflight` requests outstanding at most. */
static void cut_new_inflight(const char *hosts, uint16_t port, unsigned timeout_ms,
                             unsigned inflight)
{
    pl_pccc_client_config_t ccfg;

    if (T.cli != NULL)
        pl_pccc_client_free(T.cli);
    T.cli = NULL;
    client_config(&ccfg, hosts, port, timeout_ms);
    ccfg.inflight = inflight;
    ccfg.on_link = on_link;
    ccfg.ud = &F;
    assert_int_equal(pl_pccc_client_new(&F.loop, &ccfg, &T.cli), 0);
}

/* The simulator's incomplete-frame timeout, register timeout and connection limit for the
 * next fx_start() (0: its defaults). */
static unsigned g_frame_timeout_ms, g_register_timeout_ms, g_max_conns;

/* Starts the loop, the scripted PLC, the healthy device (its client polling), and the
 * client under test (talking to the scripted PLC, `timeout_ms` per request). */
static void fx_start_inflight(unsigned timeout_ms, unsigned inflight, size_t max_output)
{
    pl_pccc_server_config_t scfg;
    pl_pccc_client_config_t ccfg;
    pl_status_t st;
    unsigned i;

    memset(&T, 0, sizeof(T));
    fixture_init(&F, &ops);
    pl_pccc_server_config_init(&scfg);
    scfg.listen.frame_timeout_ms = g_frame_timeout_ms;
    scfg.listen.max_conns = g_max_conns;
    scfg.register_timeout_ms = g_register_timeout_ms;
    scfg.listen.port = 0;
    scfg.listen.max_output = max_output;
    scfg.log = &F.log;
    assert_int_equal(pl_pccc_server_new(&F.loop, &scfg, &T.good, &st), 0);
    client_config(&ccfg, "127.0.0.1", pl_pccc_server_port(T.good), 2000);
    assert_int_equal(pl_pccc_client_new(&F.loop, &ccfg, &T.hcli), 0);
    fixture_healthy_start(&F);
    for (i = 0; i < N7_BYTES / 2u; i++)
        put16(T.n7 + 2u * i, (uint16_t)(0x1000u + i));
    cut_new_inflight("127.0.0.1", F.port, timeout_ms, inflight);
}

static void fx_start(unsigned timeout_ms, size_t max_output)
{
    fx_start_inflight(timeout_ms, 1, max_output);
}

static void fx_stop(void)
{
    fixture_healthy_stop(&F);
    if (T.cli != NULL)
        pl_pccc_client_free(T.cli);
    T.cli = NULL;
    pl_pccc_client_free(T.hcli);
    uv_run(&F.loop, UV_RUN_NOWAIT); /* UnRegisterSession goes out */
    pl_pccc_server_free(T.good);
    fixture_close(&F);
}

static void on_done(pl_pccc_req_t *req)
{
    fixture_result_t *r = req->data;

    r->done++;
    r->status = req->status;
}

static void submit_read(pl_pccc_client_t *c, pl_pccc_req_t *q, fixture_result_t *r,
                        const char *addr, uint8_t *buf, size_t n)
{
    memset(r, 0, sizeof(*r));
    q->data = r;
    assert_int_equal(pl_pccc_read(c, q, addr, buf, n, on_done), 0);
}

static void submit_write(pl_pccc_client_t *c, pl_pccc_req_t *q, fixture_result_t *r,
                         const char *addr, const uint8_t *buf, size_t n)
{
    memset(r, 0, sizeof(*r));
    q->data = r;
    assert_int_equal(pl_pccc_write(c, q, addr, buf, n, on_done), 0);
}

/* A read in flight, a write waiting behind it (inflight 1); the first `spoil` requests get
 * `mode`. Returns with both completed. */
static void read_and_write(peer_mode_t mode, unsigned spoil, fixture_result_t r[2], uint8_t b[8])
{
    static pl_pccc_req_t q[2];
    static const uint8_t v[4] = {0x5A, 0x5A, 0x6B, 0x6B};

    F.mode = (int)mode;
    F.spoil = spoil;
    submit_read(T.cli, &q[0], &r[0], "N7:0,4", b, 8);
    submit_write(T.cli, &q[1], &r[1], "N7:50,2", v, sizeof(v));
    fixture_wait_all(&F, r, 2);
}

/* ------------------------------------------------------------------ client scenarios */

/* Two requests outstanding; the PLC answers the second at once and the first only after
 * the timeout, right before its answer to the next request for the same words. The first
 * fails with 0x4009; its late reply (0xDEAD) is recognised by its TNS and discarded; the
 * next request gets its own reply; the session stays. */
static void test_pccc_client_late_answer_discarded_by_tns(void **state)
{
    pl_pccc_req_t q[3];
    fixture_result_t r[3];
    uint8_t b[3][4];
    int ok0;

    (void)state;
    fx_start_inflight(150, 2, 0);
    ok0 = F.hok;
    F.mode = P_LATE_NEXT;
    F.spoil = 1;
    F.late_word = 0xDEAD;
    submit_read(T.cli, &q[0], &r[0], "N7:0,2", b[0], 4);
    submit_read(T.cli, &q[1], &r[1], "N7:2,2", b[1], 4);
    fixture_wait(&F, &r[1]);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(get16(b[1]), 0x1002);
    fixture_wait(&F, &r[0]);
    assert_int_equal(r[0].status.code, PL_ETIMEOUT);
    assert_int_equal(T.held_len > 0, 1);
    T.release_held = 1;
    submit_read(T.cli, &q[2], &r[2], "N7:0,2", b[2], 4);
    fixture_wait(&F, &r[2]);
    assert_int_equal(r[2].status.code, 0);
    assert_int_equal(F.late_sent, 1);
    assert_int_equal(get16(b[2]), 0x1000);
    assert_int_equal(get16(b[2] + 2), 0x1001);
    fixture_expect_once(&F, r, 3);
    assert_int_equal(T.registered, 1);
    assert_int_equal(F.links_down, 0);
    assert_true(F.hok > ok0);
    fault_suite_expect_recovery();
    assert_int_equal(T.registered, 1);
    fx_stop();
}

/* Accepts the TCP connection and never answers RegisterSession: both waiting requests fail
 * with 0x4009 ("no RegisterSession reply"); the next requests are served.
 *
 * Regression test of a fixed bug (src/proto/pccc/pccc_client.c, on_timer): the waiting requests'
 * deadline (from the submit) came before the session setup deadline (from on_line_up)
 * whenever connecting took a millisecond or more; on_timer then failed the requests, stopped
 * the line while the client still thought it was registering, and the timer was re-armed
 * at 0 ms for ever: a busy loop inside one uv_run(). Here the first host of the list refuses,
 * so the connection to the second comes a back-off (>= 5 ms) after the submit and that
 * path is taken every time; the watchdog turns a hang into a failure ("HANG: ..."). Kept
 * last in main(): a hang would end the program. */
static void test_pccc_client_never_registers(void **state)
{
    fixture_result_t r[2];
    uint8_t b[8];
    char hosts[64];
    uint16_t refused;

    (void)state;
    fx_start(150, 0);
    assert_int_equal(fault_free_port(&F.loop, &refused), 0);
    snprintf(hosts, sizeof(hosts), "127.0.0.1:%u,127.0.0.1:%u", (unsigned)refused,
             (unsigned)F.port);
    cut_new_inflight(hosts, F.port, 150, 1);
    read_and_write(P_NO_REGISTER, 1, r, b);
    assert_int_equal(r[0].status.code, PL_ETIMEOUT);
    assert_non_null(strstr(r[0].status.detail, "RegisterSession"));
    assert_int_equal(r[1].status.code, PL_ETIMEOUT);
    assert_int_equal(F.requests, 0);
    fault_run_for(&F.loop, 200); /* past the setup deadline */
    fault_suite_expect_recovery();
    fx_stop();
}

/* ------------------------------------------------------------------ server scenarios */

/* RegisterSession, as a client sends it. */
static size_t register_msg(uint8_t *out, size_t cap)
{
    pl_enip_msg_t m;
    uint8_t data[PL_ENIP_REGISTER_DATA_LEN];
    int k;

    (void)pl_enip_register_encode(data, sizeof(data), PL_ENIP_PROTOCOL_VERSION, 0);
    memset(&m, 0, sizeof(m));
    m.command = PL_ENIP_CMD_REGISTER_SESSION;
    m.data = data;
    m.data_len = sizeof(data);
    k = pl_enip_encode(out, cap, &m);
    assert_true(k > 0);
    return (size_t)k;
}

/* SendRRData with a 0x4B PCCC SLC typed read of `words` words of N7 from element `at`. */
static size_t read_msg(uint8_t *out, size_t cap, uint32_t session, uint16_t tns, unsigned at,
                       uint8_t words)
{
    pl_pccc_request_t q;
    pl_pccc_wrap_t w;
    pl_cip_req_t cq;
    pl_enip_msg_t m;
    uint8_t pccc[64], wrap[80], path[8], cip[100], cpf[120], rr[140];
    int k, plen;

    pl_pccc_request_init(&q, PL_PCCC_OP_SLC_READ, tns);
    q.slc.file = N7_FILE;
    q.slc.element = (uint16_t)at;
    q.slc.type = PL_PCCC_FT_INTEGER;
    q.slc.size = (uint8_t)(words * 2u);
    k = pl_pccc_request_encode(pccc, sizeof(pccc), &q);
    assert_true(k > 0);
    memset(&w, 0, sizeof(w));
    w.service = PL_PCCC_SVC_EXECUTE;
    w.length = PL_PCCC_REQUESTOR_LEN;
    w.vendor = 0x8503;
    w.serial = 0x41414D50;
    w.pccc = pccc;
    w.pccc_len = (size_t)k;
    k = pl_pccc_wrap_encode(wrap, sizeof(wrap), &w);
    assert_true(k > 0);
    plen = pl_cip_path_encode(path, sizeof(path), PL_PCCC_CLASS, PL_PCCC_INSTANCE);
    memset(&cq, 0, sizeof(cq));
    cq.service = PL_PCCC_SVC_EXECUTE;
    cq.path = path;
    cq.path_len = (size_t)plen;
    cq.data = wrap;
    cq.data_len = (size_t)k;
    k = pl_cip_req_encode(cip, sizeof(cip), &cq);
    assert_true(k > 0);
    k = pl_cpf_encode_unconnected(cpf, sizeof(cpf), cip, (size_t)k);
    assert_true(k > 0);
    k = pl_enip_rr_encode(rr, sizeof(rr), 0, cpf, (size_t)k);
    assert_true(k > 0);
    memset(&m, 0, sizeof(m));
    m.command = PL_ENIP_CMD_SEND_RR_DATA;
    m.session = session;
    m.data = rr;
    m.data_len = (size_t)k;
    k = pl_enip_encode(out, cap, &m);
    assert_true(k > 0);
    return (size_t)k;
}

/* The first complete encapsulation message in raw->rx at *off: decoded into *m. */
static int raw_next_msg(fault_raw_t *raw, size_t *off, pl_enip_msg_t *m)
{
    int n = pl_enip_frame(raw->rx + *off, raw->rx_len - *off, CAP_ENIP, NULL);

    if (n <= 0)
        return 0;
    assert_int_equal(pl_enip_decode(raw->rx + *off, (size_t)n, m), 0);
    *off += (size_t)n;
    return 1;
}

static int connections_are(void *ctx)
{
    return pl_pccc_server_stats(T.good)->connections == *(const uint64_t *)ctx;
}

typedef struct {
    fault_raw_t *raw;
    size_t off;
    pl_enip_msg_t m;
} raw_reader_t;

static int raw_has_msg(void *ctx)
{
    raw_reader_t *r = ctx;

    return raw_next_msg(r->raw, &r->off, &r->m);
}

/* Runs the loop until the next encapsulation message from the simulator is in r->m. */
static void raw_take(raw_reader_t *r)
{
    assert_int_equal(fault_run_pred(&F.loop, raw_has_msg, r, FIXTURE_GUARD_MS), 0);
}

/* The register deadline in the scenarios below: long enough that a partner that
 * registers at once (a few loop turns, even under valgrind) is never late. */
#define REGISTER_MS 300u

/* A partner that connects and sends nothing held a max_conns slot for ever. Now the
 * simulator closes it after register_timeout_ms (register_timeouts + 1, not a bad frame),
 * and the slot serves a client that registers; that client's deadline is cancelled. */
static void test_pccc_server_never_registers(void **state)
{
    uint8_t msg[PL_ENIP_HEADER_LEN + PL_ENIP_REGISTER_DATA_LEN];
    const pl_pccc_server_stats_t *st;
    fault_raw_t idle, refused, late;
    raw_reader_t rd;
    uint64_t want, bad0;
    uint16_t port;
    int ok0;

    (void)state;
    g_register_timeout_ms = REGISTER_MS;
    g_max_conns = 2; /* the healthy client and one more */
    fx_start(1000, 0);
    g_register_timeout_ms = 0;
    g_max_conns = 0;
    st = pl_pccc_server_stats(T.good);
    port = pl_pccc_server_port(T.good);
    assert_int_equal(fault_run_count(&F.loop, &F.hok, 1, FIXTURE_GUARD_MS), 0); /* slot 1 */
    bad0 = st->bad_frames;
    ok0 = F.hok;

    assert_int_equal(fault_raw_connect(&F.loop, &idle, port, 1), 0);
    want = 2;
    assert_int_equal(fault_run_pred(&F.loop, connections_are, &want, FIXTURE_GUARD_MS),
                     0); /* slot 2 */
    assert_int_equal(fault_raw_connect(&F.loop, &refused, port, 1), 0);
    assert_int_equal(fault_run_pred(&F.loop, fault_pred_raw_eof, &refused, FIXTURE_GUARD_MS), 0);
    assert_int_equal(st->connections, 2); /* refused at accept: the limit is reached */
    assert_int_equal(idle.eof, 0);

    assert_int_equal(fault_run_pred(&F.loop, fault_pred_raw_eof, &idle, FIXTURE_GUARD_MS), 0);
    assert_int_equal(idle.rx_total, 0);
    assert_int_equal(st->register_timeouts, 1);
    assert_int_equal(st->bad_frames, bad0);

    assert_int_equal(fault_raw_connect(&F.loop, &late, port, 1), 0);
    assert_int_equal(fault_run_until(&F.loop, &late.connected, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_raw_write(&late, msg, register_msg(msg, sizeof(msg))), 0);
    memset(&rd, 0, sizeof(rd));
    rd.raw = &late;
    raw_take(&rd);
    assert_int_equal(rd.m.command, PL_ENIP_CMD_REGISTER_SESSION);
    assert_int_equal(rd.m.status, PL_ENIP_STATUS_SUCCESS);
    assert_true(rd.m.session != 0);
    assert_int_equal(st->connections, 3);
    fault_run_for(&F.loop, 2u * REGISTER_MS); /* past its deadline: registered, it stays */
    assert_int_equal(late.eof, 0);
    assert_int_equal(st->register_timeouts, 1);
    assert_true(F.hok > ok0);

    fault_raw_close(&idle, 0);
    fault_raw_close(&refused, 0);
    fault_raw_close(&late, 0);
    assert_int_equal(fault_run_pred(&F.loop, fault_pred_raw_done, &idle, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_run_pred(&F.loop, fault_pred_raw_done, &refused, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_run_pred(&F.loop, fault_pred_raw_done, &late, FIXTURE_GUARD_MS), 0);
    fx_stop();
}

/* Commands other than RegisterSession are answered (ListIdentity needs no session; a read
 * without one answers "invalid session handle") but do not count as registering: the
 * connection is closed at the register deadline all the same. */
static void test_pccc_server_unregistered_commands(void **state)
{
    uint8_t msg[300];
    const pl_pccc_server_stats_t *st;
    fault_raw_t raw;
    raw_reader_t rd;
    pl_enip_msg_t li;
    size_t n;
    int k;

    (void)state;
    g_register_timeout_ms = REGISTER_MS;
    fx_start(1000, 0);
    g_register_timeout_ms = 0;
    st = pl_pccc_server_stats(T.good);
    memset(&li, 0, sizeof(li));
    li.command = PL_ENIP_CMD_LIST_IDENTITY;
    k = pl_enip_encode(msg, sizeof(msg), &li);
    assert_true(k > 0);
    n = (size_t)k;
    n += read_msg(msg + n, sizeof(msg) - n, 0, 0x2222, 0, 1);
    assert_int_equal(fault_raw_connect(&F.loop, &raw, pl_pccc_server_port(T.good), 1), 0);
    assert_int_equal(fault_run_until(&F.loop, &raw.connected, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_raw_write(&raw, msg, n), 0);
    memset(&rd, 0, sizeof(rd));
    rd.raw = &raw;
    raw_take(&rd);
    assert_int_equal(rd.m.command, PL_ENIP_CMD_LIST_IDENTITY);
    assert_int_equal(rd.m.status, PL_ENIP_STATUS_SUCCESS);
    raw_take(&rd);
    assert_int_equal(rd.m.command, PL_ENIP_CMD_SEND_RR_DATA);
    assert_int_equal(rd.m.status, PL_ENIP_STATUS_INVALID_SESSION);
    assert_int_equal(fault_run_pred(&F.loop, fault_pred_raw_eof, &raw, FIXTURE_GUARD_MS), 0);
    assert_int_equal(rd.off, raw.rx_len); /* nothing after the two answers */
    assert_int_equal(st->register_timeouts, 1);
    assert_int_equal(st->sessions, 1); /* the healthy client's */
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_pred(&F.loop, fault_pred_raw_done, &raw, FIXTURE_GUARD_MS), 0);
    fx_stop();
}

/* ------------------------------------------------------------------ hooks of the suite */

/* The shared scenarios' client: timeouts as asked, one request outstanding. */
static void cut_new(const char *hosts, uint16_t port, unsigned timeout_ms)
{
    cut_new_inflight(hosts, port, timeout_ms, 1);
}

static void cut_free(void)
{
    if (T.cli != NULL)
        pl_pccc_client_free(T.cli);
    T.cli = NULL;
}

static void hook_start(unsigned timeout_ms, const fault_sim_opts_t *o)
{
    g_frame_timeout_ms = o->frame_timeout_ms;
    fx_start(timeout_ms, o->max_output);
    g_frame_timeout_ms = 0;
}

/* A request slot: words travel as N7 bytes (little-endian). */
static struct {
    pl_pccc_req_t q;
    fixture_result_t *r;
    uint16_t *w;
    size_t n;
    uint8_t buf[N7_BYTES];
} g_slot[4];

static void on_slot_done(pl_pccc_req_t *req)
{
    size_t i, k = (size_t)(uintptr_t)req->data;

    g_slot[k].r->done++;
    g_slot[k].r->status = req->status;
    for (i = 0; g_slot[k].w != NULL && i < g_slot[k].n; i++)
        g_slot[k].w[i] = get16(g_slot[k].buf + 2 * i);
}

static void submit(int slot, int write, unsigned at, uint16_t *w, size_t n, fixture_result_t *r)
{
    char addr[32];
    size_t i, k = (size_t)slot;

    memset(r, 0, sizeof(*r));
    assert_true(n * 2 <= sizeof(g_slot[k].buf));
    snprintf(addr, sizeof(addr), "N7:%u,%zu", at, n);
    g_slot[k].r = r;
    g_slot[k].n = n;
    g_slot[k].w = write ? NULL : w;
    g_slot[k].q.data = (void *)(uintptr_t)k;
    if (write) {
        for (i = 0; i < n; i++)
            put16(g_slot[k].buf + 2 * i, w[i]);
        assert_int_equal(
            pl_pccc_write(T.cli, &g_slot[k].q, addr, g_slot[k].buf, 2 * n, on_slot_done), 0);
    } else {
        assert_int_equal(
            pl_pccc_read(T.cli, &g_slot[k].q, addr, g_slot[k].buf, 2 * n, on_slot_done), 0);
    }
}

static const pl_line_t *cut_line(void)
{
    return pl_pccc_client_line(T.cli);
}

static uint64_t cut_timeouts(void)
{
    return pl_pccc_client_stats(T.cli)->timeouts;
}

static uint16_t peer_word(unsigned at)
{
    return get16(T.n7 + 2u * at);
}

static unsigned peer_sessions(void)
{
    return (unsigned)T.registered;
}

static void *sim(void)
{
    return T.good;
}

static void *sim_new(uint16_t port)
{
    pl_pccc_server_config_t scfg;
    pl_pccc_server_t *s;
    pl_status_t st;

    pl_pccc_server_config_init(&scfg);
    scfg.listen.port = port;
    assert_int_equal(pl_pccc_server_new(&F.loop, &scfg, &s, &st), 0);
    return s;
}

static void sim_free(void *s)
{
    pl_pccc_server_free(s);
}

static uint16_t sim_port(void *s)
{
    return pl_pccc_server_port(s);
}

static uint8_t *sim_n7(void *s)
{
    size_t len;
    uint8_t *n7 = pl_pccc_server_file(s, "N7", &len);

    assert_non_null(n7);
    return n7;
}

static void sim_set_word(void *s, unsigned at, uint16_t v)
{
    put16(sim_n7(s) + 2u * at, v);
}

static uint16_t sim_word(void *s, unsigned at)
{
    return get16(sim_n7(s) + 2u * at);
}

static const uint64_t *sim_connections(void *s)
{
    return &pl_pccc_server_stats(s)->connections;
}

static uint64_t sim_bad_frames(void *s)
{
    return pl_pccc_server_stats(s)->bad_frames;
}

static uint16_t sim_read_fresh(void *s, unsigned at)
{
    pl_pccc_client_config_t ccfg;
    pl_pccc_client_t *c;
    pl_pccc_req_t q;
    fixture_result_t r;
    uint8_t b[2];
    char addr[16];

    client_config(&ccfg, "127.0.0.1", pl_pccc_server_port(s), 2000);
    assert_int_equal(pl_pccc_client_new(&F.loop, &ccfg, &c), 0);
    snprintf(addr, sizeof(addr), "N7:%u", at);
    submit_read(c, &q, &r, addr, b, 2);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, 0);
    pl_pccc_client_free(c);
    return get16(b);
}

static size_t raw_hello(uint8_t *out, size_t cap)
{
    return register_msg(out, cap);
}

static uint32_t raw_hello_answer(const uint8_t *msg, size_t len)
{
    pl_enip_msg_t m;

    assert_int_equal(pl_enip_decode(msg, len, &m), 0);
    assert_int_equal(m.command, PL_ENIP_CMD_REGISTER_SESSION);
    assert_int_equal(m.status, 0);
    assert_true(m.session != 0);
    return m.session;
}

static size_t raw_read(uint8_t *out, size_t cap, uint32_t session, uint16_t id, unsigned at,
                       unsigned words)
{
    return read_msg(out, cap, session, id, at, (uint8_t)words);
}

/* The data ends the reply: the last word of a one-word read. */
static uint16_t raw_answer_word(const uint8_t *msg, size_t len)
{
    pl_enip_msg_t m;

    assert_int_equal(pl_enip_decode(msg, len, &m), 0);
    assert_int_equal(m.command, PL_ENIP_CMD_SEND_RR_DATA);
    assert_int_equal(m.status, 0);
    return get16(m.data + m.data_len - 2);
}

/* RegisterSession announcing an encapsulation length of 0xFFFF (past the simulator's
 * 4096): its first 8 bytes. */
static size_t raw_huge(uint8_t *out, size_t cap)
{
    uint8_t msg[PL_ENIP_HEADER_LEN + PL_ENIP_REGISTER_DATA_LEN];

    (void)register_msg(msg, sizeof(msg));
    put16(msg + 2, 0xFFFF);
    assert_true(cap >= 8);
    memcpy(out, msg, 8);
    return 8;
}

/* PCCC's malformed answers ("GARBAGE..." read as a header: bytes 2-3, "RB", are a length
 * past 4096). */
static const fault_spoil_t spoils[] = {
    {"test_pccc_client_bad_encap_command", P_BAD_COMMAND, PL_EPROTO},
    {"test_pccc_client_encap_length_ffff", P_LEN_FFFF, PL_EMSG_TOO_LONG},
    {"test_pccc_client_encap_length_0", P_LEN_0, PL_EENIP_SHORT},
    {"test_pccc_client_short_cpf_item", P_SHORT_ITEM, PL_EENIP_SHORT},
    {"test_pccc_client_wrong_tns", P_WRONG_TNS, PL_EPCCC_MISMATCH},
};

static const fault_proto_t proto = {
    .name = "pccc",
    .fx = &F,
    .code_close_mid = PL_ERECV_00,
    .code_garbage = PL_EMSG_TOO_LONG,
    .code_timeout = PL_ETIMEOUT,
    .code_connect = PL_ECONNECT, /* neutral: not 7TTCP's 0x4003 */
    .spoils = spoils,
    .n_spoils = sizeof(spoils) / sizeof(spoils[0]),
    .start = hook_start,
    .stop = fx_stop,
    .cut_new = cut_new,
    .cut_free = cut_free,
    .cut_line = cut_line,
    .cut_timeouts = cut_timeouts,
    .submit = submit,
    .peer_word = peer_word,
    .peer_sessions = peer_sessions,
    .sim = sim,
    .sim_new = sim_new,
    .sim_free = sim_free,
    .sim_port = sim_port,
    .sim_set_word = sim_set_word,
    .sim_word = sim_word,
    .sim_connections = sim_connections,
    .sim_bad_frames = sim_bad_frames,
    .sim_conns = NULL, /* pl_pccc_server counts no open connections */
    .sim_read_fresh = sim_read_fresh,
    .raw_hello = raw_hello,
    .raw_hello_answer = raw_hello_answer,
    .raw_read = raw_read,
    .raw_answer_word = raw_answer_word,
    .raw_huge = raw_huge,
    .raw_read_max = 100,
};

int main(void)
{
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_pccc_client_late_answer_discarded_by_tns),
        cmocka_unit_test(test_pccc_server_never_registers),
        cmocka_unit_test(test_pccc_server_unregistered_commands),
        cmocka_unit_test(test_pccc_client_never_registers), /* last: a hang ends the run */
    };

    return fault_suite_run(&proto, own, sizeof(own) / sizeof(own[0]));
}
