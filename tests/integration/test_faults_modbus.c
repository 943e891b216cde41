/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, Modbus TCP: the client against a scripted misbehaving server, and the
 * server (simulator) against misbehaving clients. Each test is one named scenario of
 * docs/reliability.md: the scenarios every protocol shares run from one table
 * (tests/support/fault_suite.c) through the hooks at the end of this file; Modbus's own
 * malformed answers that break the stream (an answer to a transaction never sent, MBAP
 * lengths 0, 1 and 65535) are rows of its spoils table; the faults of one answer whose
 * framing is sound (another unit, another function, an exception) keep the connection
 * and are this file's own scenarios. A late answer is dropped on the same connection
 * (cut_late), and the connection is given up after drop_after timeouts in a row.
 *
 * Every test runs in one process on one loop over loopback (ports read back, nothing
 * sleeps, guard timers bound every wait) next to a healthy device: plcline's Modbus server
 * with a second client polling it (write, read back, compare) all the time. Each scenario
 * asserts the exact PL_E* code of the request concerned, that every request completed
 * exactly once, that the next request succeeds once the peer behaves, that the healthy
 * client never failed and made progress, and ends with every handle closed and
 * uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fault_suite.h"
#include "faults.h"
#include "fixture.h"
#include "plcline/error.h"
#include "plcline/modbus.h"
#include "plcline/modbus_client.h"
#include "proto/modbus/codec/modbus.h"

#define PEER_REGS  1024u
#define UNIT       3u   /* the unit of every request, served by the simulators */
#define HEALTHY_AT 900u /* the register the healthy client writes and reads back */
#define DROP_AFTER 3u   /* the client's default */

_Static_assert(PL_MODBUS_MAX_ADU <= FIXTURE_OUT_MAX, "a dripped answer fits a slot");

/* What the scripted server does with the requests it is told to spoil (fixture_t.mode): the
 * modes of every protocol (fault_suite.h), then Modbus's own. */
typedef enum {
    P_GOOD = FAULT_GOOD,
    P_CLOSE_MID = FAULT_CLOSE_MID,
    P_GARBAGE = FAULT_GARBAGE,
    P_DRIP = FAULT_DRIP,
    P_LATE = FAULT_LATE,
    P_SILENT = FAULT_SILENT,
    P_WRONG_TID = FAULT_MODE_PROTO, /* the answer with a transaction id never sent */
    P_LENGTH_0,                     /* the answer with its MBAP length 0 */
    P_LENGTH_1,                     /* ... 1 */
    P_LENGTH_65535,                 /* ... 65535 */
    P_WRONG_UNIT,                   /* the answer from unit + 1 */
    P_WRONG_FC,                     /* the answer of another function (4 for 3) */
    P_EXCEPTION,                    /* exception 04, server device failure */
} peer_mode_t;

static fixture_t F;

static struct {
    /* the healthy device and its client */
    pl_modbus_server_t *good;
    pl_modbus_client_t *hcli;
    pl_modbus_request_t hreq;
    uint8_t hbuf[2];
    /* the scripted server */
    uint16_t mem[PEER_REGS];
    /* the client under test */
    pl_modbus_client_t *cli;
} T;

static const uint8_t units[] = {UNIT};

/* ------------------------------------------------------------------ the healthy device */

static void on_healthy(pl_modbus_request_t *req)
{
    fixture_healthy_done(&F, req->status.code, pl_modbus_reg(T.hbuf, 2, 0));
}

static int healthy_send(fixture_t *fx, int writing, uint16_t value)
{
    (void)fx;
    if (writing) {
        T.hbuf[0] = (uint8_t)(value >> 8);
        T.hbuf[1] = (uint8_t)value;
        return pl_modbus_write(T.hcli, &T.hreq, UNIT, PL_MODBUS_FC_WRITE_REGISTER, HEALTHY_AT, 1,
                               T.hbuf, on_healthy);
    }
    memset(T.hbuf, 0, sizeof(T.hbuf));
    return pl_modbus_read(T.hcli, &T.hreq, UNIT, PL_MODBUS_FC_READ_HOLDING, HEALTHY_AT, 1, T.hbuf,
                          on_healthy);
}

/* ------------------------------------------------------------------ the scripted server */

/* The answer a server gives (`late`: registers read carry this value instead). */
static int good_answer(const pl_modbus_adu_t *adu, const pl_modbus_req_t *q, uint8_t *out,
                       size_t cap, const uint16_t *late)
{
    uint8_t data[2 * PL_MODBUS_MAX_READ_REGS];
    pl_modbus_rsp_t rsp;
    size_t i;

    memset(&rsp, 0, sizeof(rsp));
    rsp.function = q->function;
    switch (q->function) {
    case PL_MODBUS_FC_READ_HOLDING:
        assert_true(q->addr + q->count <= PEER_REGS);
        for (i = 0; i < q->count; i++) {
            uint16_t v = late != NULL ? *late : T.mem[q->addr + i];

            data[2 * i] = (uint8_t)(v >> 8);
            data[2 * i + 1] = (uint8_t)v;
        }
        rsp.data = data;
        rsp.data_len = 2u * q->count;
        break;
    case PL_MODBUS_FC_WRITE_REGISTERS:
        assert_true(q->addr + q->count <= PEER_REGS);
        for (i = 0; i < q->count; i++)
            T.mem[q->addr + i] = pl_modbus_reg(q->data, q->data_len, i);
        rsp.addr = q->addr;
        rsp.count = q->count;
        break;
    default:
        fail_msg("function %u not scripted", q->function);
    }
    return pl_modbus_rsp_encode(out, cap, adu->tid, adu->unit, &rsp);
}

static int peer_request(fixture_t *fx, fixture_slot_t *p, const uint8_t *b, size_t n)
{
    static const char garbage[] = "GARBAGE, not Modbus\r\n";
    uint8_t out[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t adu;
    pl_modbus_req_t q;
    pl_modbus_rsp_t x;
    peer_mode_t mode;
    int len;

    assert_int_equal(pl_modbus_adu_decode(b, n, &adu, NULL), 0);
    assert_int_equal(pl_modbus_req_decode(adu.pdu, adu.pdu_len, &q, NULL), 0);
    mode = (peer_mode_t)fixture_peer_mode(fx);
    len = good_answer(&adu, &q, out, sizeof(out), NULL);
    assert_true(len > 0);
    switch (mode) {
    case P_GOOD:
        break;
    case P_CLOSE_MID:
        (void)pl_conn_send(p->conn, out, (size_t)len / 2u);
        pl_conn_close(p->conn, NULL);
        return -1;
    case P_GARBAGE:
        (void)pl_conn_send(p->conn, (const uint8_t *)garbage, sizeof(garbage) - 1u);
        return 0;
    case P_WRONG_TID:
        out[0] ^= 0x40;
        break;
    case P_LENGTH_0:
    case P_LENGTH_1:
    case P_LENGTH_65535: {
        uint16_t length = mode == P_LENGTH_0 ? 0 : mode == P_LENGTH_1 ? 1 : 65535;

        out[4] = (uint8_t)(length >> 8);
        out[5] = (uint8_t)length;
        break;
    }
    case P_WRONG_UNIT:
        out[6] = (uint8_t)(adu.unit + 1u);
        break;
    case P_WRONG_FC:
        out[7] = PL_MODBUS_FC_READ_INPUT;
        break;
    case P_EXCEPTION:
        memset(&x, 0, sizeof(x));
        x.function = q.function;
        x.exception = PL_MODBUS_EX_SERVER_DEVICE_FAILURE;
        len = pl_modbus_rsp_encode(out, sizeof(out), adu.tid, adu.unit, &x);
        break;
    case P_DRIP:
        memcpy(p->out, out, (size_t)len);
        fixture_peer_drip(p, (size_t)len);
        return 0;
    case P_LATE:
        len = good_answer(&adu, &q, p->out, sizeof(p->out), &fx->late_word);
        fixture_peer_late(p, (size_t)len);
        return 0;
    case P_SILENT:
        return 0;
    }
    (void)pl_conn_send(p->conn, out, (size_t)len);
    return 0;
}

static int frame(const uint8_t *buf, size_t len, size_t limit, size_t *need)
{
    (void)limit;
    return pl_modbus_frame(buf, len, need);
}

static const fixture_ops_t ops = {
    .healthy_send = healthy_send,
    .frame = frame,
    .frame_limit = PL_MODBUS_MAX_ADU,
    .message = peer_request,
    .rx_cap = 2u * PL_MODBUS_MAX_ADU,
    .peer_name = "scripted server",
};

/* ------------------------------------------------------------------ fixture */

static void on_link(pl_modbus_client_t *c, const pl_status_t *st, void *ud)
{
    (void)c;
    fixture_link(ud, st);
}

static void client_config(pl_modbus_client_config_t *cfg, const char *hosts, uint16_t port,
                          unsigned timeout_ms)
{
    pl_modbus_client_config_init(cfg);
    assert_int_equal(pl_hostlist_parse(&cfg->line.hosts, hosts, strlen(hosts), NULL), 0);
    cfg->line.port = port;
    cfg->line.backoff_min_ms = 5;
    cfg->line.backoff_max_ms = 20;
    cfg->timeout_ms = timeout_ms;
    cfg->unit = UNIT;
}

static void cut_free(void)
{
    if (T.cli != NULL)
        pl_modbus_client_free(T.cli);
    T.cli = NULL;
}

/* A new client under test (T.cli) for `hosts` (port `port`), `timeout_ms` per request. */
static void cut_new(const char *hosts, uint16_t port, unsigned timeout_ms)
{
    pl_modbus_client_config_t cfg;

    cut_free();
    client_config(&cfg, hosts, port, timeout_ms);
    cfg.on_link = on_link;
    cfg.ud = &F;
    assert_int_equal(pl_modbus_client_new(&F.loop, &cfg, &T.cli), 0);
}

static pl_modbus_server_t *server_new(uint16_t port, const fault_sim_opts_t *o)
{
    pl_modbus_server_config_t scfg;
    pl_modbus_server_t *s;
    pl_status_t st;

    pl_modbus_server_config_init(&scfg);
    scfg.listen.addr = "127.0.0.1";
    scfg.listen.port = port;
    if (o != NULL) {
        scfg.listen.max_output = o->max_output;
        scfg.listen.frame_timeout_ms = o->frame_timeout_ms;
    }
    scfg.units = units;
    scfg.n_units = sizeof(units);
    scfg.log = &F.log;
    assert_int_equal(pl_modbus_server_new(&F.loop, &scfg, &s, &st), 0);
    return s;
}

/* Starts the loop, the scripted server, the healthy device (its client polling), and the
 * client under test (talking to the scripted server, `timeout_ms` per request). */
static void fx_start(unsigned timeout_ms, const fault_sim_opts_t *o)
{
    pl_modbus_client_config_t cfg;
    unsigned i;

    memset(&T, 0, sizeof(T));
    fixture_init(&F, &ops);
    T.good = server_new(0, o);
    client_config(&cfg, "127.0.0.1", pl_modbus_server_port(T.good), 2000);
    assert_int_equal(pl_modbus_client_new(&F.loop, &cfg, &T.hcli), 0);
    fixture_healthy_start(&F);
    for (i = 0; i < PEER_REGS; i++)
        T.mem[i] = (uint16_t)(0x1000u + i);
    cut_new("127.0.0.1", F.port, timeout_ms);
}

static void fx_stop(void)
{
    fixture_healthy_stop(&F);
    cut_free();
    pl_modbus_client_free(T.hcli);
    assert_int_equal(pl_modbus_server_free(T.good), 0);
    fixture_close(&F);
}

/* ------------------------------------------------------------------ hooks of the suite */

/* A request slot of the client under test: the words travel big-endian in `bytes`. */
typedef struct {
    pl_modbus_request_t req;
    fixture_result_t *r;
    uint16_t *w; /* a read's words, host order, filled on success */
    size_t n;
    uint8_t bytes[2 * PL_MODBUS_MAX_READ_REGS];
} cut_req_t;

static cut_req_t g_req[4];

static void on_done(pl_modbus_request_t *req)
{
    cut_req_t *q = req->data;
    size_t i;

    if (req->status.code == 0 && q->w != NULL)
        for (i = 0; i < q->n; i++)
            q->w[i] = pl_modbus_reg(q->bytes, sizeof(q->bytes), i);
    q->r->done++;
    q->r->status = req->status;
}

static void submit(int slot, int write, unsigned at, uint16_t *w, size_t n, fixture_result_t *r)
{
    cut_req_t *q = &g_req[slot];
    size_t i;

    assert_true(n <= PL_MODBUS_MAX_WRITE_REGS);
    memset(r, 0, sizeof(*r));
    q->req.data = q;
    q->r = r;
    q->n = n;
    q->w = write ? NULL : w;
    if (write) {
        for (i = 0; i < n; i++) {
            q->bytes[2 * i] = (uint8_t)(w[i] >> 8);
            q->bytes[2 * i + 1] = (uint8_t)w[i];
        }
        assert_int_equal(pl_modbus_write(T.cli, &q->req, UNIT, PL_MODBUS_FC_WRITE_REGISTERS,
                                         (uint16_t)at, (uint32_t)n, q->bytes, on_done),
                         0);
    } else {
        assert_int_equal(pl_modbus_read(T.cli, &q->req, UNIT, PL_MODBUS_FC_READ_HOLDING,
                                        (uint16_t)at, (uint32_t)n, q->bytes, on_done),
                         0);
    }
}

static const pl_line_t *cut_line(void)
{
    return pl_modbus_client_line(T.cli);
}

static uint64_t cut_timeouts(void)
{
    return pl_modbus_client_stats(T.cli)->timeouts;
}

static uint64_t cut_late(void)
{
    return pl_modbus_client_stats(T.cli)->late;
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
    return server_new(port, NULL);
}

static void sim_free(void *s)
{
    assert_int_equal(pl_modbus_server_free(s), 0);
}

static uint16_t sim_port(void *s)
{
    return pl_modbus_server_port(s);
}

static void sim_set_word(void *s, unsigned at, uint16_t v)
{
    assert_int_equal(pl_modbus_server_set(s, UNIT, PL_MODBUS_TABLE_HOLDING, (uint16_t)at, &v, 1),
                     0);
}

static uint16_t sim_word(void *s, unsigned at)
{
    uint16_t v = 0;

    assert_int_equal(pl_modbus_server_get(s, UNIT, PL_MODBUS_TABLE_HOLDING, (uint16_t)at, &v, 1),
                     0);
    return v;
}

static const uint64_t *sim_connections(void *s)
{
    return &pl_modbus_server_stats(s)->connections;
}

static uint64_t sim_bad_frames(void *s)
{
    return pl_modbus_server_stats(s)->bad_frames;
}

static size_t sim_conns(void *s)
{
    return pl_modbus_server_conn_count(s);
}

static void on_fresh(pl_modbus_request_t *req)
{
    fixture_result_t *r = req->data;

    r->done++;
    r->status = req->status;
}

static uint16_t sim_read_fresh(void *s, unsigned at)
{
    pl_modbus_client_config_t cfg;
    pl_modbus_client_t *c;
    pl_modbus_request_t q;
    fixture_result_t r;
    uint8_t b[2];

    client_config(&cfg, "127.0.0.1", pl_modbus_server_port(s), 2000);
    assert_int_equal(pl_modbus_client_new(&F.loop, &cfg, &c), 0);
    memset(&r, 0, sizeof(r));
    q.data = &r;
    assert_int_equal(
        pl_modbus_read(c, &q, UNIT, PL_MODBUS_FC_READ_HOLDING, (uint16_t)at, 1, b, on_fresh), 0);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, 0);
    pl_modbus_client_free(c);
    return pl_modbus_reg(b, 2, 0);
}

static size_t raw_read(uint8_t *out, size_t cap, uint32_t session, uint16_t id, unsigned at,
                       unsigned words)
{
    pl_modbus_req_t q;
    int n;

    (void)session;
    memset(&q, 0, sizeof(q));
    q.function = PL_MODBUS_FC_READ_HOLDING;
    q.addr = (uint16_t)at;
    q.count = (uint16_t)words;
    n = pl_modbus_req_encode(out, cap, id, UNIT, &q);
    assert_int_equal(n, 12);
    return (size_t)n;
}

static uint16_t raw_answer_word(const uint8_t *msg, size_t len)
{
    pl_modbus_adu_t adu;
    pl_modbus_rsp_t rsp;

    assert_int_equal(pl_modbus_adu_decode(msg, len, &adu, NULL), 0);
    assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rsp, NULL), 0);
    return pl_modbus_reg(rsp.data, rsp.data_len, 0);
}

/* An MBAP header announcing 65535 bytes, far past the 254 of the largest PDU. */
static size_t raw_huge(uint8_t *out, size_t cap)
{
    static const uint8_t huge[8] = {0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF, UNIT, 0x03};

    assert_true(cap >= sizeof(huge));
    memcpy(out, huge, sizeof(huge));
    return sizeof(huge);
}

/* Modbus's malformed answers that break the stream: refused as soon as they are in (an
 * answer to a transaction never sent, an MBAP length outside 2..254 once its 6 header bytes
 * are in), the connection dropped. ("GARBAGE" read as an MBAP header has protocol id 'RB'.) */
static const fault_spoil_t spoils[] = {
    {"test_modbus_client_wrong_tid", P_WRONG_TID, PL_EMODBUS_MISMATCH},
    {"test_modbus_client_length_0", P_LENGTH_0, PL_EMODBUS_LENGTH},
    {"test_modbus_client_length_1", P_LENGTH_1, PL_EMODBUS_LENGTH},
    {"test_modbus_client_length_65535", P_LENGTH_65535, PL_EMODBUS_LENGTH},
};

static const fault_proto_t proto = {
    .name = "modbus",
    .fx = &F,
    .code_close_mid = PL_ERECV_00,
    .code_garbage = PL_EMODBUS_PROTOCOL,
    .code_timeout = PL_ETIMEOUT,
    .code_connect = PL_ECONNECT,
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
    .raw_read_max = PL_MODBUS_MAX_READ_REGS,
    .cut_late = cut_late,
    .drop_after = DROP_AFTER,
};

/* ------------------------------------------------------------------ Modbus's own scenarios */

/* A read in flight and a write waiting behind it; the read's answer is sound in its framing
 * but wrong for the request (`mode`): the read fails with `expect`, the connection stays
 * (one bad answer must not cost the other units on it theirs), the write succeeds on it. */
static void kept_read_case(peer_mode_t mode, int expect)
{
    static const fault_sim_opts_t defaults = {0, 0};
    static uint16_t v[2] = {0x5A5A, 0x6B6B};
    fixture_result_t r[2];
    uint16_t w[4];
    int ok0;

    fx_start(1000, &defaults);
    ok0 = F.hok;
    F.mode = (int)mode;
    F.spoil = 1;
    submit(0, 0, 0, w, 4, &r[0]);
    submit(1, 1, 50, v, 2, &r[1]);
    fixture_wait_all(&F, r, 2);
    if (r[0].status.code != expect)
        fail_msg("read: %s (%s), expected %s", pl_err_name(r[0].status.code), r[0].status.detail,
                 pl_err_name(expect));
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(T.mem[50], 0x5A5A);
    assert_int_equal(F.links_down, 0);
    assert_int_equal(F.links_up, 1);
    fault_suite_expect_recovery();
    assert_true(F.hok > ok0);
    fx_stop();
}

static void test_modbus_client_wrong_unit(void **state)
{
    (void)state;
    kept_read_case(P_WRONG_UNIT, PL_EMODBUS_MISMATCH);
}

static void test_modbus_client_wrong_function(void **state)
{
    (void)state;
    kept_read_case(P_WRONG_FC, PL_EMODBUS_MISMATCH);
}

static void test_modbus_client_exception(void **state)
{
    (void)state;
    kept_read_case(P_EXCEPTION, PL_EMODBUS_X_SERVER_DEVICE_FAILURE);
}

/* A write longer than max_regs goes out in parts one after another, also with several
 * requests allowed in flight: when the first part is answered with an exception, the
 * request fails with it and the later parts are never sent (the registers they would have
 * written keep their values). A read in parts then succeeds on the same connection. */
static void test_modbus_client_split_write_stops_at_failure(void **state)
{
    static const fault_sim_opts_t defaults = {0, 0};
    pl_modbus_client_config_t cfg;
    pl_modbus_client_t *c;
    pl_modbus_request_t q;
    fixture_result_t r;
    uint8_t b[12];
    int req0;
    unsigned i;

    (void)state;
    fx_start(1000, &defaults);
    client_config(&cfg, "127.0.0.1", F.port, 1000);
    cfg.inflight = 4;
    cfg.max_regs = 2; /* 6 registers: 3 parts */
    assert_int_equal(pl_modbus_client_new(&F.loop, &cfg, &c), 0);
    memset(b, 0xEE, sizeof(b));
    req0 = F.requests;
    F.mode = P_EXCEPTION;
    F.spoil = 1;
    memset(&r, 0, sizeof(r));
    q.data = &r;
    assert_int_equal(
        pl_modbus_write(c, &q, UNIT, PL_MODBUS_FC_WRITE_REGISTERS, 300, 6, b, on_fresh), 0);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, PL_EMODBUS_X_SERVER_DEVICE_FAILURE);
    fixture_expect_once(&F, &r, 1);
    assert_int_equal(F.requests, req0 + 1);
    for (i = 302; i < 306; i++)
        assert_int_equal(T.mem[i], 0x1000u + i);

    memset(&r, 0, sizeof(r));
    assert_int_equal(pl_modbus_read(c, &q, UNIT, PL_MODBUS_FC_READ_HOLDING, 302, 4, b, on_fresh),
                     0);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, 0);
    for (i = 0; i < 4; i++)
        assert_int_equal(pl_modbus_reg(b, sizeof(b), i), 0x1000u + 302u + i);
    assert_int_equal(F.requests, req0 + 3);
    assert_int_equal(pl_modbus_client_stats(c)->requests, 3);
    pl_modbus_client_free(c);
    fx_stop();
}

int main(void)
{
    static const struct CMUnitTest own[] = {
        cmocka_unit_test(test_modbus_client_wrong_unit),
        cmocka_unit_test(test_modbus_client_wrong_function),
        cmocka_unit_test(test_modbus_client_exception),
        cmocka_unit_test(test_modbus_client_split_write_stops_at_failure),
    };

    return fault_suite_run(&proto, own, sizeof(own) / sizeof(own[0]));
}
