/* SPDX-License-Identifier: MIT */
/*
 * The fault scenarios shared by every protocol (fault_suite.h). Each scenario runs in one
 * process on one loop over loopback next to the healthy device, asserts the exact PL_E* code
 * of the request concerned, that every request completed exactly once, that the next
 * request succeeds once the peer behaves, that the healthy client never failed and made
 * progress, and ends with every handle closed (fixture_close). Test code only.
 */
#include "fault_suite.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "faults.h"
#include "plcline/error.h"

#define MAX_TESTS 64
#define NAME_MAX_ 72

static const fault_proto_t *P; /* the protocol under test */

#define FX (P->fx)

static void start(unsigned timeout_ms, unsigned frame_timeout_ms, size_t max_output)
{
    fault_sim_opts_t o;

    memset(&o, 0, sizeof(o));
    o.frame_timeout_ms = frame_timeout_ms;
    o.max_output = max_output;
    P->start(timeout_ms, &o);
}

static void expect_sessions(unsigned n)
{
    if (P->peer_sessions != NULL)
        assert_int_equal(P->peer_sessions(), n);
}

void fault_suite_expect_recovery(void)
{
    fixture_result_t r[2];
    uint16_t w[4];
    static uint16_t v[2];

    v[0] = 0xA1A1;
    v[1] = 0xB2B2;
    FX->spoil = 0;
    P->submit(0, 0, 100, w, 4, &r[0]);
    P->submit(1, 1, 200, v, 2, &r[1]);
    fixture_wait(FX, &r[0]);
    fixture_wait(FX, &r[1]);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(w[0], 0x1000u + 100u);
    assert_int_equal(w[3], 0x1000u + 103u);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(P->peer_word(200), 0xA1A1);
    assert_int_equal(P->peer_word(201), 0xB2B2);
    fixture_expect_once(FX, r, 2);
}

/* A read in flight and a write waiting behind it; the first `spoil` requests get `mode`.
 * Returns with both completed. */
static void read_and_write(int mode, unsigned spoil, fixture_result_t r[2], uint16_t w[4])
{
    static uint16_t v[2];

    v[0] = 0x5A5A;
    v[1] = 0x6B6B;
    FX->mode = mode;
    FX->spoil = spoil;
    P->submit(0, 0, 0, w, 4, &r[0]);
    P->submit(1, 1, 50, v, 2, &r[1]);
    fixture_wait_all(FX, r, 2);
}

/* ------------------------------------------------------------------ client scenarios */

#define SPOIL_TIMEOUT_MS 30000u /* > FIXTURE_GUARD_MS */

/* The peer spoils the read only: it fails with `expect`, never by waiting for bytes that will
 * not come (the timeout, 30 s, is longer than the fixture's guard on every wait, which would
 * fail the test first), the connection (and session) is dropped, the write behind it goes
 * out on the next one and succeeds. */
static void spoiled_read_case(int mode, int expect)
{
    fixture_result_t r[2];
    uint16_t w[4];
    int ok0;

    start(SPOIL_TIMEOUT_MS, 0, 0);
    ok0 = FX->hok;
    read_and_write(mode, 1, r, w);
    assert_int_equal(r[0].status.code, expect);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(P->peer_word(50), 0x5A5A);
    assert_int_equal(FX->links_down, 1);
    assert_int_equal(FX->links_up, 2);
    expect_sessions(2);
    fault_suite_expect_recovery();
    assert_true(FX->hok > ok0);
    P->stop();
}

/* The peer closes in the middle of an answer. */
static void client_peer_closes_mid_frame(void **state)
{
    (void)state;
    spoiled_read_case(FAULT_CLOSE_MID, P->code_close_mid);
}

/* Text instead of an answer. */
static void client_garbage(void **state)
{
    (void)state;
    spoiled_read_case(FAULT_GARBAGE, P->code_garbage);
}

/* One of the protocol's malformed answers (the test's state is its fault_spoil_t). */
static void client_spoiled(void **state)
{
    const fault_spoil_t *s = *state;

    spoiled_read_case(s->mode, s->code);
}

/* The answer one byte per 1 ms timer (a read of 32 words), then one byte per loop turn (a
 * write): both reassembled, one connection throughout. */
static void client_answer_byte_by_byte(void **state)
{
    fixture_result_t r[2];
    uint16_t w[32];
    static uint16_t v[1];
    unsigned i;
    int ok0;

    (void)state;
    start(3000, 0, 0);
    ok0 = FX->hok;
    FX->mode = FAULT_DRIP;
    FX->spoil = 1;
    FX->drip_ms = 1;
    P->submit(0, 0, 64, w, 32, &r[0]);
    fixture_wait(FX, &r[0]);
    assert_int_equal(r[0].status.code, 0);
    for (i = 0; i < 32; i++)
        assert_int_equal(w[i], 0x1000u + 64u + i);
    FX->spoil = 1;
    FX->drip_ms = 0;
    v[0] = 0x7777;
    P->submit(1, 1, 150, v, 1, &r[1]);
    fixture_wait(FX, &r[1]);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(P->peer_word(150), 0x7777);
    fixture_expect_once(FX, r, 2);
    assert_int_equal(FX->links_up, 1);
    assert_int_equal(FX->links_down, 0);
    expect_sessions(1);
    assert_true(FX->hok > ok0); /* the healthy device was served meanwhile */
    P->stop();
}

static int late_dropped_once(void *ctx)
{
    (void)ctx;
    return P->cut_late() == 1;
}

/* A client that keeps its connection on a timeout (cut_late): the late answer (0xDEAD)
 * reaches it on the same connection, is recognised and dropped, never taken for the next
 * request, which asks for the same words and gets the peer's real values. */
static void client_late_answer_kept(void)
{
    fixture_result_t r;
    uint16_t w[2];

    start(100, 0, 0);
    FX->mode = FAULT_LATE;
    FX->spoil = 1;
    FX->late_ms = 250;
    FX->late_word = 0xDEAD;
    P->submit(0, 0, 0, w, 2, &r);
    fixture_wait(FX, &r);
    assert_int_equal(r.status.code, P->code_timeout);
    assert_int_equal(fault_run_count(&FX->loop, &FX->late_sent, 1, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_run_pred(&FX->loop, late_dropped_once, NULL, FIXTURE_GUARD_MS), 0);
    P->submit(0, 0, 0, w, 2, &r); /* the same words */
    fixture_wait(FX, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(w[0], 0x1000);
    assert_int_equal(w[1], 0x1001);
    assert_int_equal(P->cut_timeouts(), 1);
    assert_int_equal(P->cut_late(), 1);
    assert_int_equal(FX->links_down, 0);
    expect_sessions(1);
    fault_suite_expect_recovery();
    P->stop();
}

/* The answer comes after the timeout (one request outstanding): the read fails with the
 * timeout code, the connection is dropped, so the late answer (0xDEAD) can never be taken
 * for the next request, which asks for the same words and gets the peer's real values. */
static void client_late_answer(void **state)
{
    fixture_result_t r;
    uint16_t w[2];

    (void)state;
    if (P->cut_late != NULL) {
        client_late_answer_kept();
        return;
    }
    start(100, 0, 0);
    FX->mode = FAULT_LATE;
    FX->spoil = 1;
    FX->late_ms = 250;
    FX->late_word = 0xDEAD;
    P->submit(0, 0, 0, w, 2, &r);
    fixture_wait(FX, &r);
    assert_int_equal(r.status.code, P->code_timeout);
    P->submit(0, 0, 0, w, 2, &r); /* the same words */
    fixture_wait(FX, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(w[0], 0x1000);
    assert_int_equal(w[1], 0x1001);
    /* the late answer's time comes: its connection is gone, nothing reaches the client */
    assert_int_equal(fault_run_count(&FX->loop, &FX->late_dropped, 1, FIXTURE_GUARD_MS), 0);
    assert_int_equal(FX->late_sent, 0);
    P->submit(0, 0, 0, w, 2, &r);
    fixture_wait(FX, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(w[0], 0x1000);
    assert_int_equal(FX->links_down, 1);
    assert_int_equal(P->cut_timeouts(), 1);
    expect_sessions(2);
    fault_suite_expect_recovery();
    P->stop();
}

/* Accepts (and grants a session) and never answers: the read times out, the connection is
 * dropped, the write goes out on a new connection and times out too; each completes once.
 * (With cut_late: drop_after reads time out one by one on one connection, then it drops.) */
static void client_never_answers(void **state)
{
    fixture_result_t r[4];
    uint16_t w[4], one[4][1];
    unsigned i;
    int ok0;

    (void)state;
    if (P->cut_late != NULL) {
        /* each read times out alone; the drop_after-th in a row drops the connection */
        assert_true(P->drop_after >= 1 && P->drop_after <= 4);
        start(150, 0, 0);
        ok0 = FX->hok;
        FX->mode = FAULT_SILENT;
        FX->spoil = P->drop_after;
        for (i = 0; i < P->drop_after; i++)
            P->submit((int)i, 0, i, one[i], 1, &r[i]);
        fixture_wait_all(FX, r, (int)P->drop_after);
        for (i = 0; i < P->drop_after; i++)
            assert_int_equal(r[i].status.code, P->code_timeout);
        assert_int_equal(fault_run_count(&FX->loop, &FX->links_down, 1, FIXTURE_GUARD_MS), 0);
        assert_int_equal(P->cut_timeouts(), P->drop_after);
        assert_true(FX->hok > ok0);
        fault_suite_expect_recovery();
        P->stop();
        return;
    }
    start(150, 0, 0);
    ok0 = FX->hok;
    read_and_write(FAULT_SILENT, 2, r, w);
    assert_int_equal(r[0].status.code, P->code_timeout);
    assert_int_equal(r[1].status.code, P->code_timeout);
    assert_int_equal(FX->links_down, 2);
    assert_true(FX->hok > ok0);
    fault_suite_expect_recovery();
    P->stop();
}

/* Nothing listens: every waiting request fails (ECONNREFUSED); once a simulator listens on
 * the port, the next requests connect and succeed. */
static void client_connection_refused(void **state)
{
    fixture_result_t r[2];
    uint16_t w[4];
    uint16_t port;
    void *late;

    (void)state;
    start(1000, 0, 0);
    assert_int_equal(fault_free_port(&FX->loop, &port), 0);
    P->cut_new("127.0.0.1", port, 1000);
    read_and_write(FAULT_GOOD, 0, r, w);
    assert_int_equal(r[0].status.code, P->code_connect);
    assert_int_equal(r[0].status.sys, UV_ECONNREFUSED);
    assert_int_equal(r[1].status.code, P->code_connect);
    late = P->sim_new(port); /* a simulator comes up on that port */
    P->sim_set_word(late, 0, 0x4242);
    read_and_write(FAULT_GOOD, 0, r, w);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(w[0], 0x4242);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(P->sim_word(late, 50), 0x5A5A);
    P->cut_free();
    uv_run(&FX->loop, UV_RUN_NOWAIT); /* a goodbye goes out */
    P->sim_free(late);
    P->stop();
}

/* The host name does not resolve: the requests fail with PL_ERESOLVE; a client whose host
 * list goes on to a reachable host is served by that one. */
static void client_name_does_not_resolve(void **state)
{
    fixture_result_t r[2];
    uint16_t w[4];
    char hosts[64];

    (void)state;
    start(1000, 0, 0);
    P->cut_new("nonexistent.invalid", FX->port, 3000);
    read_and_write(FAULT_GOOD, 0, r, w);
    assert_int_equal(r[0].status.code, PL_ERESOLVE);
    assert_int_equal(r[1].status.code, PL_ERESOLVE);
    assert_int_equal(FX->accepted, 0);
    snprintf(hosts, sizeof(hosts), "nonexistent.invalid,127.0.0.1:%u", (unsigned)FX->port);
    P->cut_new(hosts, FX->port, 3000);
    read_and_write(FAULT_GOOD, 0, r, w);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(r[1].status.code, 0);
    assert_int_equal(pl_line_host_index(P->cut_line()), 1);
    P->stop();
}

/* ------------------------------------------------------------------ simulator scenarios */

static int sim_conns_are(void *ctx)
{
    return P->sim_conns(P->sim()) == *(const size_t *)ctx;
}

static void expect_conns(size_t n)
{
    if (P->sim_conns != NULL)
        assert_int_equal(fault_run_pred(&FX->loop, sim_conns_are, &n, FIXTURE_GUARD_MS), 0);
}

/* A fresh client asks the simulator for a word: it must be served. */
static void expect_good_serves(void)
{
    P->sim_set_word(P->sim(), 7, 0x3131);
    assert_int_equal(P->sim_read_fresh(P->sim(), 7), 0x3131);
}

/* The first message a client sends: its greeting, else a one-word read. */
static size_t first_message(uint8_t *out, size_t cap)
{
    size_t n = P->raw_hello != NULL ? P->raw_hello(out, cap) : 0;

    return n > 0 ? n : P->raw_read(out, cap, 0, 1, 0, 1);
}

/* The next complete message from the simulator in raw->rx at *off, into *msg and *len. */
static int raw_next(fault_raw_t *raw, size_t *off, const uint8_t **msg, size_t *len)
{
    int n = FX->ops->frame(raw->rx + *off, raw->rx_len - *off, FX->ops->frame_limit, NULL);

    if (n <= 0)
        return 0;
    *msg = raw->rx + *off;
    *len = (size_t)n;
    *off += (size_t)n;
    return 1;
}

/* Runs the loop (the healthy client going on) until the next message is in. */
static void raw_take(fault_raw_t *raw, size_t *off, const uint8_t **msg, size_t *len)
{
    while (!raw_next(raw, off, msg, len))
        assert_int_equal(fault_run_count(&FX->loop, &FX->hok, FX->hok + 1, FIXTURE_GUARD_MS), 0);
}

/* 1000 connections opened (100 at a time) and aborted with a RST, half of them after a
 * partial first message: the simulator ends with the descriptors it had (and only the
 * healthy client's connection, where it counts them), and a new client is served. */
static void server_1000_abandoned_connections(void **state)
{
    uint8_t partial[600];
    int fds, ok0;

    (void)state;
    start(1000, 0, 0);
    assert_true(first_message(partial, sizeof(partial)) > 10);
    assert_int_equal(fault_run_count(&FX->loop, &FX->hok, 2, FIXTURE_GUARD_MS), 0);
    fds = fault_fd_count();
    ok0 = FX->hok;
    fixture_storms(FX, P->sim_port(P->sim()), partial, 10, P->sim_connections(P->sim()));
    assert_int_equal(*P->sim_connections(P->sim()), 1 + 1000);
    assert_int_equal(fault_run_pred(&FX->loop, fault_pred_fds_are, &fds, FIXTURE_GUARD_MS), 0);
    expect_conns(1);
    assert_true(FX->hok > ok0);
    expect_good_serves();
    P->stop();
}

/* A client sends its greeting and a read one byte per millisecond: the simulator answers
 * each once complete and serves the healthy client all the while. */
static void server_slow_client(void **state)
{
    fault_raw_t raw;
    uint8_t msg[600];
    const uint8_t *in;
    size_t n, off = 0, len;
    uint32_t session = 0;
    int ok0;

    (void)state;
    start(1000, 0, 0);
    P->sim_set_word(P->sim(), 5, 0xC0DE);
    assert_int_equal(fault_raw_connect(&FX->loop, &raw, P->sim_port(P->sim()), 1), 0);
    assert_int_equal(fault_run_until(&FX->loop, &raw.connected, FIXTURE_GUARD_MS), 0);
    ok0 = FX->hok;
    n = P->raw_hello != NULL ? P->raw_hello(msg, sizeof(msg)) : 0;
    if (n > 0) {
        assert_int_equal(fault_raw_drip(&raw, msg, n, 1), 0);
        assert_int_equal(fault_run_until(&FX->loop, &raw.drip.done, FIXTURE_GUARD_MS), 0);
        raw_take(&raw, &off, &in, &len);
        session = P->raw_hello_answer(in, len);
    }
    n = P->raw_read(msg, sizeof(msg), session, 0x1234, 5, 1);
    assert_int_equal(fault_raw_drip(&raw, msg, n, 1), 0);
    assert_int_equal(fault_run_until(&FX->loop, &raw.drip.done, FIXTURE_GUARD_MS), 0);
    assert_false(raw.drip.failed);
    assert_true(FX->hok > ok0 + 2); /* served while the slow one trickled */
    raw_take(&raw, &off, &in, &len);
    assert_int_equal(P->raw_answer_word(in, len), 0xC0DE);
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_pred(&FX->loop, fault_pred_raw_done, &raw, FIXTURE_GUARD_MS), 0);
    P->stop();
}

/* A slow client that announces a frame longer than any the simulator takes cannot make it
 * hold more than that: it is closed once the length is in. */
static void server_slow_client_huge_length(void **state)
{
    uint8_t msg[64];
    fault_raw_t raw;
    uint64_t bad0;
    size_t n;

    (void)state;
    start(1000, 0, 0);
    n = P->raw_huge(msg, sizeof(msg));
    bad0 = P->sim_bad_frames(P->sim());
    assert_int_equal(fault_raw_connect(&FX->loop, &raw, P->sim_port(P->sim()), 1), 0);
    assert_int_equal(fault_run_until(&FX->loop, &raw.connected, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_raw_drip(&raw, msg, n, 1), 0);
    assert_int_equal(fault_run_pred(&FX->loop, fault_pred_raw_eof, &raw, FIXTURE_GUARD_MS), 0);
    assert_int_equal(P->sim_bad_frames(P->sim()), bad0 + 1);
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_pred(&FX->loop, fault_pred_raw_done, &raw, FIXTURE_GUARD_MS), 0);
    P->stop();
}

/* A client that begins a frame and then goes silent (slowloris) would hold its connection
 * for as long as TCP lives; the simulator closes a connection whose frame is not complete
 * within frame_timeout_ms (here 100 ms), and serves other clients meanwhile. */
static void server_partial_frame_then_silence(void **state)
{
    uint8_t msg[600];
    fault_raw_t raw;
    size_t n;
    int ok0;

    (void)state;
    start(1000, 100, 0);
    n = first_message(msg, sizeof(msg));
    assert_int_equal(fault_raw_connect(&FX->loop, &raw, P->sim_port(P->sim()), 1), 0);
    assert_int_equal(fault_run_until(&FX->loop, &raw.connected, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fault_raw_write(&raw, msg, n - 1u), 0);
    expect_conns(2);
    ok0 = FX->hok;
    /* closed by the simulator: the raw client sees the close, the healthy one goes on */
    assert_int_equal(fault_run_until(&FX->loop, &raw.eof, FIXTURE_GUARD_MS), 0);
    assert_int_equal(raw.rx_total, 0);
    assert_true(P->sim_bad_frames(P->sim()) >= 1);
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_pred(&FX->loop, fault_pred_raw_done, &raw, FIXTURE_GUARD_MS), 0);
    expect_conns(1);
    fault_run_for(&FX->loop, 100);
    assert_true(FX->hok > ok0);
    P->stop();
}

/* The simulator dropped the non-reader: it said so, and the partner's writes fail (or the
 * simulator counts only the healthy client's connection). */
static int nonreader_dropped(void *ctx)
{
    const fault_raw_t *raw = ctx;

    return FX->nonreader_closed > 0 &&
           (raw->error != 0 || (P->sim_conns != NULL && P->sim_conns(P->sim()) == 1));
}

/* A client (after its greeting) pipelines the largest reads and never reads the answers:
 * once the kernel buffers are full, the simulator's per-connection output limit (64 KiB
 * here) closes that connection ("partner does not read"); the healthy client is served
 * throughout and after. */
static void server_client_never_reads(void **state)
{
    static uint8_t chunk[8192];
    uint8_t msg[600];
    const uint8_t *in;
    fault_raw_t raw;
    fault_flood_t fl;
    size_t n, off = 0, len, total = 0;
    uint32_t session = 0;
    uint64_t bad0;
    uint16_t id;
    int ok0;

    (void)state;
    start(1000, 0, 64 * 1024);
    n = P->raw_hello != NULL ? P->raw_hello(msg, sizeof(msg)) : 0;
    assert_int_equal(fault_raw_connect(&FX->loop, &raw, P->sim_port(P->sim()), n > 0), 0);
    assert_int_equal(fault_run_until(&FX->loop, &raw.connected, FIXTURE_GUARD_MS), 0);
    if (n > 0) {
        assert_int_equal(fault_raw_write(&raw, msg, n), 0);
        raw_take(&raw, &off, &in, &len);
        session = P->raw_hello_answer(in, len);
        fault_raw_stop_reading(&raw);
    }
    expect_conns(2);
    for (id = 1; id <= 100; id++) {
        n = P->raw_read(msg, sizeof(msg), session, id, 0, P->raw_read_max);
        if (total + n > sizeof(chunk))
            break;
        memcpy(chunk + total, msg, n);
        total += n;
    }
    ok0 = FX->hok;
    bad0 = P->sim_bad_frames(P->sim());
    memset(&fl, 0, sizeof(fl));
    fl.raw = &raw;
    fl.chunk = chunk;
    fl.chunk_len = total;
    fl.max_writes = 4000; /* far more answers than loopback buffers hold */
    fl.stop = nonreader_dropped;
    fl.ctx = &raw;
    assert_int_equal(fault_run_pred(&FX->loop, fault_flood_step, &fl, 20000), 0);
    assert_int_equal(FX->nonreader_closed, 1); /* closed by the output limit, nothing else */
    assert_int_equal(P->sim_bad_frames(P->sim()), bad0);
    assert_true(FX->hok > ok0);
    fault_raw_close(&raw, 1);
    assert_int_equal(fault_run_pred(&FX->loop, fault_pred_raw_done, &raw, FIXTURE_GUARD_MS), 0);
    expect_good_serves();
    P->stop();
}

/* ------------------------------------------------------------------ the table */

typedef struct {
    const char *name; /* after "<proto>_" */
    CMUnitTestFunction fn;
} scenario_t;

static const scenario_t client_scenarios[] = {
    {"client_peer_closes_mid_frame", client_peer_closes_mid_frame},
    {"client_garbage", client_garbage},
};

static const scenario_t more_scenarios[] = {
    {"client_answer_byte_by_byte", client_answer_byte_by_byte},
    {"client_late_answer", client_late_answer},
    {"client_never_answers", client_never_answers},
    {"client_connection_refused", client_connection_refused},
    {"client_name_does_not_resolve", client_name_does_not_resolve},
    {"server_1000_abandoned_connections", server_1000_abandoned_connections},
    {"server_slow_client", server_slow_client},
    {"server_slow_client_huge_length", server_slow_client_huge_length},
    {"server_partial_frame_then_silence", server_partial_frame_then_silence},
    {"server_client_never_reads", server_client_never_reads},
};

#define NSC(a) (sizeof(a) / sizeof(a[0]))

static void add(struct CMUnitTest *t, size_t *n, char (*names)[NAME_MAX_], const char *name,
                CMUnitTestFunction fn, void *state)
{
    const char *why =
        P->not_applicable != NULL && fn != client_spoiled ? P->not_applicable(name) : NULL;

    if (why != NULL) {
        printf("[ N/A      ] test_%s_%s: %s\n", P->name, name, why);
        return;
    }
    assert_true(*n < MAX_TESTS);
    snprintf(names[*n], NAME_MAX_, "test_%s_%s", P->name, name);
    memset(&t[*n], 0, sizeof(t[*n]));
    t[*n].name = names[*n];
    t[*n].test_func = fn;
    t[*n].initial_state = state;
    (*n)++;
}

int fault_suite_run(const fault_proto_t *p, const struct CMUnitTest *own, size_t n_own)
{
    static struct CMUnitTest tests[MAX_TESTS];
    static char names[MAX_TESTS][NAME_MAX_];
    size_t i, n = 0;

    P = p;
    for (i = 0; i < NSC(client_scenarios); i++)
        add(tests, &n, names, client_scenarios[i].name, client_scenarios[i].fn, NULL);
    for (i = 0; i < p->n_spoils; i++) {
        assert_true(n < MAX_TESTS);
        add(tests, &n, names, "", client_spoiled, (void *)(uintptr_t)&p->spoils[i]);
        tests[n - 1].name = p->spoils[i].name;
    }
    for (i = 0; i < NSC(more_scenarios); i++)
        add(tests, &n, names, more_scenarios[i].name, more_scenarios[i].fn, NULL);
    for (i = 0; i < n_own; i++) {
        assert_true(n < MAX_TESTS);
        tests[n++] = own[i];
    }
    /* The raw partners write into connections the server resets: EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    return _cmocka_run_group_tests(p->name, tests, n, NULL, NULL);
}
