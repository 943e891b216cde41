/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, Modbus TCP client: plcline's client against a scripted misbehaving
 * server (docs/reliability.md scenarios: wrong transaction id, wrong unit id, wrong function
 * code, exception, length 0/1/65535, split answers, late answers, peer closes mid-frame, no
 * answer at all), next to a healthy device: a second client polling the same scripted
 * server for a unit it always answers well (write, read back, compare) all the time.
 *
 * Each scenario asserts the exact PL_E* code of the request concerned, whether the
 * connection was kept (faults of one answer) or dropped (a stream that cannot be trusted),
 * that every request completed exactly once, that the next requests succeed, that the
 * healthy client never failed and made progress, and ends with every handle closed and
 * uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "faults.h"
#include "fixture.h"
#include "plcline/error.h"
#include "plcline/modbus_client.h"
#include "proto/modbus/codec/modbus.h"

#define PEER_REGS    1024u
#define HEALTHY_UNIT 77u
#define UNIT         3u

typedef enum {
    P_GOOD = 0,
    P_CLOSE_MID,  /* the first half of the answer, then close */
    P_WRONG_TID,  /* the answer with a transaction id never sent */
    P_WRONG_UNIT, /* the answer from unit + 1 */
    P_WRONG_FC,   /* the answer of another function (4 for 3) */
    P_EXCEPTION,  /* exception 04, server device failure */
    P_LENGTH,     /* the answer with its MBAP length replaced by T.length */
    P_DRIP,       /* the answer one byte per loop turn */
    P_LATE,       /* the answer late_ms later, carrying late_word */
    P_SILENT,     /* no answer */
} peer_mode_t;

static fixture_t F;

static struct {
    pl_modbus_client_t *hcli, *cli;
    pl_modbus_request_t hreq;
    uint8_t hbuf[2];
    uint16_t length;
    uint16_t mem[PEER_REGS];
} T;

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
        return pl_modbus_write(T.hcli, &T.hreq, HEALTHY_UNIT, PL_MODBUS_FC_WRITE_REGISTER, 900, 1,
                               T.hbuf, on_healthy);
    }
    memset(T.hbuf, 0, sizeof(T.hbuf));
    return pl_modbus_read(T.hcli, &T.hreq, HEALTHY_UNIT, PL_MODBUS_FC_READ_HOLDING, 900, 1, T.hbuf,
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
    case PL_MODBUS_FC_WRITE_REGISTER:
        T.mem[q->addr] = q->value;
        rsp.addr = q->addr;
        rsp.value = q->value;
        break;
    case PL_MODBUS_FC_WRITE_REGISTERS:
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
    uint8_t out[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t adu;
    pl_modbus_req_t q;
    pl_modbus_rsp_t x;
    peer_mode_t mode;
    int len;

    assert_int_equal(pl_modbus_adu_decode(b, n, &adu, NULL), 0);
    assert_int_equal(pl_modbus_req_decode(adu.pdu, adu.pdu_len, &q, NULL), 0);
    mode = adu.unit == HEALTHY_UNIT ? P_GOOD : (peer_mode_t)fixture_peer_mode(fx);
    len = good_answer(&adu, &q, out, sizeof(out), NULL);
    assert_true(len > 0);
    switch (mode) {
    case P_GOOD:
        break;
    case P_CLOSE_MID:
        (void)pl_conn_send(p->conn, out, (size_t)len / 2u);
        pl_conn_close(p->conn, NULL);
        return -1;
    case P_WRONG_TID:
        out[0] ^= 0x40;
        break;
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
    case P_LENGTH:
        out[4] = (uint8_t)(T.length >> 8);
        out[5] = (uint8_t)T.length;
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

static void client_new(pl_modbus_client_t **out, unsigned timeout_ms, int linked)
{
    pl_modbus_client_config_t cfg;

    pl_modbus_client_config_init(&cfg);
    assert_int_equal(pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL), 0);
    cfg.line.port = F.port;
    cfg.line.backoff_min_ms = 5;
    cfg.line.backoff_max_ms = 20;
    cfg.timeout_ms = timeout_ms;
    if (linked) {
        cfg.on_link = on_link;
        cfg.ud = &F;
    }
    assert_int_equal(pl_modbus_client_new(&F.loop, &cfg, out), 0);
}

static void fx_start(unsigned timeout_ms)
{
    unsigned i;

    memset(&T, 0, sizeof(T));
    fixture_init(&F, &ops);
    for (i = 0; i < PEER_REGS; i++)
        T.mem[i] = (uint16_t)(0x1000u + i);
    client_new(&T.hcli, 2000, 0);
    fixture_healthy_start(&F);
    client_new(&T.cli, timeout_ms, 1);
}

static void fx_stop(void)
{
    fixture_healthy_stop(&F);
    pl_modbus_client_free(T.cli);
    pl_modbus_client_free(T.hcli);
    fixture_close(&F);
}

static void on_done(pl_modbus_request_t *req)
{
    fixture_result_t *r = req->data;

    r->done++;
    r->status = req->status;
}

static void submit_read(pl_modbus_request_t *q, fixture_result_t *r, uint16_t addr, uint8_t *buf,
                        uint32_t n)
{
    memset(r, 0, sizeof(*r));
    q->data = r;
    assert_int_equal(
        pl_modbus_read(T.cli, q, UNIT, PL_MODBUS_FC_READ_HOLDING, addr, n, buf, on_done), 0);
}

static void submit_write(pl_modbus_request_t *q, fixture_result_t *r, uint16_t addr,
                         const uint8_t *data, uint32_t n)
{
    memset(r, 0, sizeof(*r));
    q->data = r;
    assert_int_equal(
        pl_modbus_write(T.cli, q, UNIT, PL_MODBUS_FC_WRITE_REGISTERS, addr, n, data, on_done), 0);
}

/* The server behaves again: a read and a write succeed. */
static void expect_recovery(void)
{
    static const uint8_t v[4] = {0xA1, 0xA1, 0xB2, 0xB2};
    pl_modbus_request_t q[2];
    fixture_result_t r[2];
    uint8_t w[8];

    F.spoil = 0;
    submit_read(&q[0], &r[0], 100, w, 4);
    submit_write(&q[1], &r[1], 200, v, 2);
    fixture_wait(&F, &r[0]);
    fixture_wait(&F, &r[1]);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(pl_modbus_reg(w, 8, 0), 0x1000u + 100u);
    assert_int_equal(pl_modbus_reg(w, 8, 3), 0x1000u + 103u);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(T.mem[200], 0xA1A1);
    assert_int_equal(T.mem[201], 0xB2B2);
    fixture_expect_once(&F, r, 2);
}

/* A read in flight and a write waiting behind it; the read is spoiled with `mode`: it
 * fails with `expect`, the write succeeds; the connection was dropped or kept. */
static void spoiled_read_case(peer_mode_t mode, int expect, int dropped)
{
    static const uint8_t v[4] = {0x5A, 0x5A, 0x6B, 0x6B};
    static pl_modbus_request_t q[2];
    fixture_result_t r[2];
    uint8_t w[8];
    int ok0;

    fx_start(1000);
    ok0 = F.hok;
    F.mode = (int)mode;
    F.spoil = 1;
    submit_read(&q[0], &r[0], 0, w, 4);
    submit_write(&q[1], &r[1], 50, v, 2);
    fixture_wait_all(&F, r, 2);
    if (r[0].status.code != expect)
        fail_msg("read: %s (%s), expected %s", pl_err_name(r[0].status.code), r[0].status.detail,
                 pl_err_name(expect));
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(T.mem[50], 0x5A5A);
    assert_int_equal(F.links_down, dropped ? 1 : 0);
    assert_int_equal(F.links_up, dropped ? 2 : 1);
    expect_recovery();
    assert_true(F.hok > ok0);
    fx_stop();
}

/* ------------------------------------------------------------------ scenarios */

static void test_modbus_client_peer_closes_mid_frame(void **state)
{
    (void)state;
    spoiled_read_case(P_CLOSE_MID, PL_ERECV_00, 1);
}

/* An answer to a transaction never sent: the stream is out of step, reconnect. */
static void test_modbus_client_wrong_tid(void **state)
{
    (void)state;
    spoiled_read_case(P_WRONG_TID, PL_EMODBUS_MISMATCH, 1);
}

/* Faults of one answer whose framing is sound: that request fails, the connection stays. */
static void test_modbus_client_wrong_unit(void **state)
{
    (void)state;
    spoiled_read_case(P_WRONG_UNIT, PL_EMODBUS_MISMATCH, 0);
}

static void test_modbus_client_wrong_function(void **state)
{
    (void)state;
    spoiled_read_case(P_WRONG_FC, PL_EMODBUS_MISMATCH, 0);
}

static void test_modbus_client_exception(void **state)
{
    (void)state;
    spoiled_read_case(P_EXCEPTION, PL_EMODBUS_X_SERVER_DEVICE_FAILURE, 0);
}

/* MBAP lengths 0, 1 and 65535: refused as soon as the 6 header bytes are in. */
static void test_modbus_client_length_0(void **state)
{
    (void)state;
    T.length = 0;
    spoiled_read_case(P_LENGTH, PL_EMODBUS_LENGTH, 1);
}

static void length_case(uint16_t length)
{
    static const uint8_t v[4] = {0x5A, 0x5A, 0x6B, 0x6B};
    static pl_modbus_request_t q[2];
    fixture_result_t r[2];
    uint8_t w[8];

    fx_start(2000);
    T.length = length;
    F.mode = P_LENGTH;
    F.spoil = 1;
    submit_read(&q[0], &r[0], 0, w, 4);
    submit_write(&q[1], &r[1], 50, v, 2);
    fixture_wait_all(&F, r, 2);
    assert_int_equal(r[0].status.code, PL_EMODBUS_LENGTH);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(F.links_down, 1);
    expect_recovery();
    fx_stop();
}

static void test_modbus_client_length_1(void **state)
{
    (void)state;
    length_case(1);
}

static void test_modbus_client_length_65535(void **state)
{
    (void)state;
    length_case(65535);
}

/* The answer one byte per loop turn: reassembled, both succeed on one connection. */
static void test_modbus_client_split_answer(void **state)
{
    (void)state;
    spoiled_read_case(P_DRIP, 0, 0);
}

/* The answer comes after the timeout: the read fails with PL_ETIMEOUT, the connection
 * stays (a slow unit must not cost the others theirs), and the late answer (0xDEAD) is
 * recognised by its transaction id and dropped: the next read of the same registers gets
 * the server's values. */
static void test_modbus_client_late_answer(void **state)
{
    pl_modbus_request_t q;
    fixture_result_t r;
    uint8_t w[4];

    (void)state;
    fx_start(100);
    F.mode = P_LATE;
    F.spoil = 1;
    F.late_ms = 250;
    F.late_word = 0xDEAD;
    submit_read(&q, &r, 0, w, 2);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, PL_ETIMEOUT);
    assert_int_equal(fault_run_count(&F.loop, &F.late_sent, 1, FIXTURE_GUARD_MS), 0);
    submit_read(&q, &r, 0, w, 2);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(pl_modbus_reg(w, 4, 0), 0x1000);
    assert_int_equal(pl_modbus_reg(w, 4, 1), 0x1001);
    assert_int_equal(pl_modbus_client_stats(T.cli)->late, 1);
    assert_int_equal(pl_modbus_client_stats(T.cli)->timeouts, 1);
    assert_int_equal(F.links_down, 0);
    expect_recovery();
    fx_stop();
}

/* Never answers: each request times out alone; the third in a row with nothing answered
 * between takes the connection for dead and reconnects. */
static void test_modbus_client_never_answers(void **state)
{
    static pl_modbus_request_t q[3];
    fixture_result_t r[3];
    uint8_t w[3][2];
    int i, ok0;

    (void)state;
    fx_start(100);
    ok0 = F.hok;
    F.mode = P_SILENT;
    F.spoil = 3;
    for (i = 0; i < 3; i++)
        submit_read(&q[i], &r[i], (uint16_t)i, w[i], 1);
    fixture_wait_all(&F, r, 3);
    for (i = 0; i < 3; i++)
        assert_int_equal(r[i].status.code, PL_ETIMEOUT);
    assert_int_equal(fault_run_count(&F.loop, &F.links_down, 1, FIXTURE_GUARD_MS), 0);
    expect_recovery();
    assert_true(F.hok > ok0);
    fx_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modbus_client_peer_closes_mid_frame),
        cmocka_unit_test(test_modbus_client_wrong_tid),
        cmocka_unit_test(test_modbus_client_wrong_unit),
        cmocka_unit_test(test_modbus_client_wrong_function),
        cmocka_unit_test(test_modbus_client_exception),
        cmocka_unit_test(test_modbus_client_length_0),
        cmocka_unit_test(test_modbus_client_length_1),
        cmocka_unit_test(test_modbus_client_length_65535),
        cmocka_unit_test(test_modbus_client_split_answer),
        cmocka_unit_test(test_modbus_client_late_answer),
        cmocka_unit_test(test_modbus_client_never_answers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
