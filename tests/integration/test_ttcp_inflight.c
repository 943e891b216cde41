/* SPDX-License-Identifier: MIT */
/*
 * The 7TTCP node simulator as a node that serves one request at a time (max_inflight,
 * inflight_drop), seen from a raw TCP partner on loopback that chooses how its requests
 * share a write: several requests in one write are caught (the connection closed, or the
 * later ones ignored), a partner that waits for each answer never is, keep-alives never
 * count, and without a limit every pipelined request is answered in order.
 *
 * Nothing sleeps: the loop runs until a condition holds, under a guard timer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ttcp/codec/ttcp.h"
#include "faults.h"
#include "plcline/error.h"
#include "plcline/ttcp.h"

#define GUARD_MS 10000u
#define ROUNDS   8 /* one-at-a-time exchanges per case */

/* --- a logger that counts the lines naming max_inflight --------------------------------- */

typedef struct {
    unsigned lines;
} logcount_t;

static void count_cb(void *ud, pl_log_level_t level, const char *msg)
{
    logcount_t *lc = ud;

    (void)level;
    if (strstr(msg, "max_inflight") != NULL)
        lc->lines++;
}

typedef struct {
    uv_loop_t loop;
    pl_ttcp_server_t *srv;
    fault_raw_t raw;
    pl_logger_t log;
    logcount_t lc;
} fixture_t;

/* A server with `cfg`'s limits on port 0 and a raw partner connected to it. */
static void start(fixture_t *f, unsigned max_inflight, int drop, unsigned delay_ms)
{
    pl_ttcp_server_config_t cfg;
    pl_status_t st;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->log.cb = count_cb;
    f->log.ud = &f->lc;
    f->log.level = PL_LOG_DEBUG;
    pl_ttcp_server_config_init(&cfg);
    cfg.listen.port = 0;
    cfg.max_inflight = max_inflight;
    cfg.inflight_drop = (uint8_t)drop;
    cfg.delay_ms = delay_ms;
    cfg.log = &f->log;
    assert_int_equal(pl_ttcp_server_new(&f->loop, &cfg, &f->srv, &st), 0);
    assert_int_equal(fault_raw_connect(&f->loop, &f->raw, pl_ttcp_server_port(f->srv), 1), 0);
    assert_int_equal(fault_run_until(&f->loop, &f->raw.connected, GUARD_MS), 0);
    assert_int_equal(f->raw.error, 0);
}

static void stop(fixture_t *f)
{
    fault_raw_close(&f->raw, 0);
    assert_int_equal(fault_run_pred(&f->loop, fault_pred_raw_done, &f->raw, GUARD_MS), 0);
    assert_int_equal(pl_ttcp_server_free(f->srv), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* A read request of `count` words of node 0 at `offset`, appended at buf + *n. */
static void put_read(uint8_t *buf, size_t cap, size_t *n, uint32_t offset, uint32_t count)
{
    int len = pl_ttcp_encode(buf + *n, cap - *n, PL_TTCP_OP_DATA, 0, offset, PL_TTCP_TYPE_READ,
                             count, NULL);

    assert_true(len > 0);
    *n += (size_t)len;
}

/* Sends read requests at offsets[0..k) (one word each) with one write. */
static void send_reads(fixture_t *f, const uint32_t *offsets, size_t k)
{
    uint8_t buf[16 * PL_TTCP_HEADER_LEN];
    size_t n = 0, i;

    for (i = 0; i < k; i++)
        put_read(buf, sizeof(buf), &n, offsets[i], 1);
    assert_int_equal(fault_raw_write(&f->raw, buf, n), 0);
}

typedef struct {
    const fault_raw_t *raw;
    size_t answers;
} answers_t;

#define ANSWER_LEN PL_TTCP_FRAME_LEN(1u) /* the answer to a one-word read */

static int answers_in(void *ctx)
{
    const answers_t *a = ctx;

    return a->raw->rx_len >= a->answers * ANSWER_LEN;
}

static int bytes_in(void *ctx)
{
    const answers_t *a = ctx;

    return a->raw->rx_len >= a->answers;
}

/* Runs until `n` bytes (in all) have come; fails on a timeout. */
static void wait_bytes(fixture_t *f, size_t n)
{
    answers_t a = {&f->raw, n};

    assert_int_equal(fault_run_pred(&f->loop, bytes_in, &a, GUARD_MS), 0);
}

/* Runs until `k` answers (in all) have come; fails on a timeout. */
static void wait_answers(fixture_t *f, size_t k)
{
    answers_t a = {&f->raw, k};

    assert_int_equal(fault_run_pred(&f->loop, answers_in, &a, GUARD_MS), 0);
}

/* The i-th answer received is the one to a one-word read of node 0 at `offset`. */
static void expect_answer(const fixture_t *f, size_t i, uint32_t offset)
{
    pl_ttcp_frame_t fr;

    assert_true(f->raw.rx_len >= (i + 1) * ANSWER_LEN);
    assert_int_equal(pl_ttcp_decode(f->raw.rx + i * ANSWER_LEN, ANSWER_LEN, PL_TTCP_MAX_WORDS, &fr),
                     0);
    assert_int_equal(fr.opcode, PL_TTCP_OP_DATA);
    assert_int_equal(fr.type, PL_TTCP_TYPE_READ);
    assert_int_equal(fr.node, 0);
    assert_int_equal(fr.offset, offset);
    assert_int_equal(fr.count, 1);
}

typedef struct {
    const uint64_t *counter;
    uint64_t want;
} count_wait_t;

static int counter_reached(void *ctx)
{
    const count_wait_t *w = ctx;

    return *w->counter >= w->want;
}

static void wait_counter(fixture_t *f, const uint64_t *counter, uint64_t want)
{
    count_wait_t w = {counter, want};

    assert_int_equal(fault_run_pred(&f->loop, counter_reached, &w, GUARD_MS), 0);
}

/* max_inflight 1: two requests in one write. The first is served (its answer goes out
 * before the close), the second closes the connection, logged and counted once. */
static void test_pipelined_closes(void **state)
{
    static const uint32_t two[] = {10, 20};
    fixture_t f;

    (void)state;
    start(&f, 1, 0, 0);
    pl_ttcp_server_words(f.srv, 0)[10] = 0x1234;
    send_reads(&f, two, 2);
    assert_int_equal(fault_run_pred(&f.loop, fault_pred_raw_eof, &f.raw, GUARD_MS), 0);
    assert_int_equal(f.raw.rx_len, ANSWER_LEN); /* the first answer, nothing after it */
    expect_answer(&f, 0, 10);
    assert_int_equal(f.raw.rx[PL_TTCP_HEADER_LEN], 0x34);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 1);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_dropped, 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->frames_out, 1);
    assert_int_equal(f.lc.lines, 1);
    stop(&f);
}

/* max_inflight 2: two in one write are served, the third of a write closes. */
static void test_pipelined_past_two(void **state)
{
    static const uint32_t three[] = {1, 2, 3};
    fixture_t f;

    (void)state;
    start(&f, 2, 0, 0);
    send_reads(&f, three, 2);
    wait_answers(&f, 2);
    expect_answer(&f, 0, 1);
    expect_answer(&f, 1, 2);
    send_reads(&f, three, 3);
    assert_int_equal(fault_run_pred(&f.loop, fault_pred_raw_eof, &f.raw, GUARD_MS), 0);
    assert_int_equal(f.raw.rx_len, 4 * ANSWER_LEN);
    expect_answer(&f, 3, 2);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 1);
    stop(&f);
}

/* inflight_drop: two in one write, the first is answered and the second never; the
 * connection stays, and a request sent after the first answer is served. */
static void test_pipelined_dropped(void **state)
{
    static const uint32_t two[] = {10, 20}, third[] = {30};
    fixture_t f;

    (void)state;
    start(&f, 1, 1, 0);
    send_reads(&f, two, 2);
    wait_answers(&f, 1);
    wait_counter(&f, &pl_ttcp_server_stats(f.srv)->inflight_dropped, 1);
    expect_answer(&f, 0, 10);
    send_reads(&f, third, 1);
    wait_answers(&f, 2);
    /* answers leave in order: had the dropped one been served, it would be here */
    expect_answer(&f, 1, 30);
    assert_false(f.raw.eof);
    assert_int_equal(f.raw.rx_len, 2 * ANSWER_LEN);
    assert_int_equal(pl_ttcp_server_conn_count(f.srv), 1);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_dropped, 1);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 0);
    assert_int_equal(f.lc.lines, 1);
    stop(&f);
}

/* A partner that waits for each answer is never caught, closing or dropping, with answers
 * at once or held back by a delay. */
static void one_at_a_time(int drop, unsigned delay_ms)
{
    fixture_t f;
    uint32_t i;

    start(&f, 1, drop, delay_ms);
    for (i = 0; i < ROUNDS; i++) {
        send_reads(&f, &i, 1);
        wait_answers(&f, i + 1);
        expect_answer(&f, i, i);
    }
    assert_false(f.raw.eof);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_dropped, 0);
    assert_int_equal(f.lc.lines, 0);
    stop(&f);
}

static void test_one_at_a_time_never_caught(void **state)
{
    (void)state;
    one_at_a_time(0, 0);
    one_at_a_time(1, 0);
    one_at_a_time(0, 20);
    one_at_a_time(1, 20);
}

/* With delay_ms, an answer held back is unanswered: a request sent on its own while it is
 * held is caught (the connection closed, or the request dropped and the connection kept). */
static void test_held_answer_counts(void **state)
{
    static const uint32_t first[] = {5}, second[] = {6};
    fixture_t f;

    (void)state;
    start(&f, 1, 0, 60000); /* held far longer than the test runs */
    send_reads(&f, first, 1);
    wait_counter(&f, &pl_ttcp_server_stats(f.srv)->frames_in, 1);
    send_reads(&f, second, 1);
    assert_int_equal(fault_run_pred(&f.loop, fault_pred_raw_eof, &f.raw, GUARD_MS), 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 1);
    assert_int_equal(f.raw.rx_len, 0); /* the held answer went with the connection */
    stop(&f);

    start(&f, 1, 1, 60000);
    send_reads(&f, first, 1);
    wait_counter(&f, &pl_ttcp_server_stats(f.srv)->frames_in, 1);
    send_reads(&f, second, 1);
    wait_counter(&f, &pl_ttcp_server_stats(f.srv)->inflight_dropped, 1);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->frames_out, 1); /* the first's, held */
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 0);
    assert_int_equal(pl_ttcp_server_conn_count(f.srv), 1);
    assert_false(f.raw.eof);
    stop(&f);
}

/* Keep-alives are no requests: neither a keep-alive before a request in the same write nor
 * a keep-alive answer held back by delay_ms makes the request one too many. */
static void test_keepalives_do_not_count(void **state)
{
    uint8_t buf[2 * PL_TTCP_HEADER_LEN];
    pl_ttcp_frame_t fr;
    fixture_t f;
    size_t n;
    int len;

    (void)state;
    /* a keep-alive and a request in one write: the two are answered, in order */
    start(&f, 1, 0, 0);
    len = pl_ttcp_encode_keepalive(buf, sizeof(buf), 1);
    assert_int_equal(len, PL_TTCP_HEADER_LEN);
    n = (size_t)len;
    put_read(buf, sizeof(buf), &n, 7, 1);
    assert_int_equal(fault_raw_write(&f.raw, buf, n), 0);
    wait_bytes(&f, PL_TTCP_HEADER_LEN + ANSWER_LEN);
    assert_int_equal(pl_ttcp_decode(f.raw.rx, PL_TTCP_HEADER_LEN, PL_TTCP_MAX_WORDS, &fr), 0);
    assert_int_equal(fr.opcode, PL_TTCP_OP_KEEPALIVE);
    assert_int_equal(
        pl_ttcp_decode(f.raw.rx + PL_TTCP_HEADER_LEN, ANSWER_LEN, PL_TTCP_MAX_WORDS, &fr), 0);
    assert_int_equal(fr.offset, 7);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 0);
    stop(&f);

    /* a keep-alive whose answer is held back, then a request on its own: let in (its
     * answer is held behind the keep-alive's) */
    start(&f, 1, 0, 60000);
    len = pl_ttcp_encode_keepalive(buf, sizeof(buf), 0);
    assert_int_equal(len, PL_TTCP_KEEPALIVE_LEN);
    assert_int_equal(fault_raw_write(&f.raw, buf, (size_t)len), 0);
    wait_counter(&f, &pl_ttcp_server_stats(f.srv)->keepalives, 1);
    n = 0;
    put_read(buf, sizeof(buf), &n, 7, 1);
    assert_int_equal(fault_raw_write(&f.raw, buf, n), 0);
    wait_counter(&f, &pl_ttcp_server_stats(f.srv)->frames_in, 2);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->frames_out, 2);
    assert_int_equal(pl_ttcp_server_conn_count(f.srv), 1);
    /* while a second request, its answer held, is one too many */
    put_read(buf, sizeof(buf), &n, 8, 1);
    assert_int_equal(fault_raw_write(&f.raw, buf + PL_TTCP_HEADER_LEN, PL_TTCP_HEADER_LEN), 0);
    assert_int_equal(fault_run_pred(&f.loop, fault_pred_raw_eof, &f.raw, GUARD_MS), 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 1);
    stop(&f);
}

/* max_inflight 0 (the default): every pipelined request is answered, in order. */
static void test_no_limit_answers_all(void **state)
{
    static const uint32_t many[] = {3, 1, 4, 15, 9, 2, 6, 5, 35, 8, 97, 93};
    const size_t k = sizeof(many) / sizeof(many[0]);
    fixture_t f;
    size_t i;

    (void)state;
    start(&f, 0, 0, 0);
    send_reads(&f, many, k);
    wait_answers(&f, k);
    for (i = 0; i < k; i++)
        expect_answer(&f, i, many[i]);
    assert_int_equal(f.raw.rx_len, k * ANSWER_LEN);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_closed, 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv)->inflight_dropped, 0);
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_closes),
        cmocka_unit_test(test_pipelined_past_two),
        cmocka_unit_test(test_pipelined_dropped),
        cmocka_unit_test(test_one_at_a_time_never_caught),
        cmocka_unit_test(test_held_answer_counts),
        cmocka_unit_test(test_keepalives_do_not_count),
        cmocka_unit_test(test_no_limit_answers_all),
    };

    fault_watchdog(120, "test_ttcp_inflight");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
