/* SPDX-License-Identifier: MIT */
/*
 * The client core (src/proto/client.c) with a toy protocol over loopback: frames are a
 * length byte and a body of a 16-bit transaction id and a 16-bit value; the toy server
 * (on simconn) answers value + 1 with the same id, at once or when the test releases what
 * it held (in any order), or closes the connection. Checked: a full queue, deadlines (each
 * request times out exactly once, a late answer is dropped and counted), matching by id out
 * of order, one message at a time, a line drop with requests in flight (failed, or
 * re-queued), close with requests queued (each answered exactly once, PL_ECANCELED), a
 * refused set-up, a set-up timeout named by the protocol, answers matched by a second key,
 * a send failure that leaves its request waiting, and a request's messages one by one
 * while other requests use the other slots.
 * Every wait runs under a guard timer; every test asserts uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/error.h"
#include "plcline/line.h"
#include "proto/client.h"
#include "proto/simconn.h"

#define TOY_BODY  4u
#define TOY_FRAME (1u + TOY_BODY)
#define MAX_HELD  16u
#define GUARD_MS  5000u

enum { SRV_ECHO = 0, SRV_HOLD, SRV_CLOSE, SRV_GARBAGE };

#define HELLO_ID  0u      /* the session set-up message's id: never a request's */
#define FAIL_WITH 0xFFFEu /* a request of this value is answered with an error */
#define DROP_WITH 0xFFFCu /* the answer to a request of this value makes match drop */
#define BY_ID2    0x8000u /* an answer id with this bit names the message's second key */
#define ID2_OFF   0x0100u /* a message's second key: its id + this */

typedef struct {
    pl_client_req_t core;
    uint16_t value;
    unsigned nmsgs;
    unsigned calls;
    pl_status_t st;
    uint16_t result[4];
} toy_req_t;

typedef struct {
    uv_loop_t loop;
    /* server */
    pl_simconn_set_t *set;
    pl_simconn_config_t scfg;
    int mode;
    pl_simconn_t *held_sc;
    uint8_t held[MAX_HELD][TOY_FRAME];
    unsigned nheld, max_held, served;
    /* client */
    pl_client_t *cl;
    pl_client_config_t ccfg;
    uint16_t next_id;
    int down_policy, drop_on_timeout;
    int setup;      /* connect sends a hello and waits for its answer */
    int refuse;     /* the hello's answer refuses the session */
    int name_setup; /* setup_timeout names the hello */
    int send_fail;  /* the next message cannot be sent (the line is gone under it) */
    unsigned setup_timeouts, down_send_failed;
    unsigned match_drops, handled_dropped; /* DROP_WITH answers: dropped / still handled */
    unsigned hellos, hello_answers;
    uint16_t first_served; /* id of the first frame the server got on its last connection */
    unsigned completed, downs, ups;
    uint64_t requests, responses, timeouts, errors, late, rtt;
    unsigned freed; /* ccfg.freed calls */
} fixture_t;

/* --- the toy protocol ------------------------------------------------------------------- */

static int toy_frame(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    if (buf[0] != TOY_BODY)
        return PL_ERANGE;
    if (len < TOY_FRAME)
        return PL_EAGAIN;
    return (int)TOY_FRAME;
}

static void toy_put(uint8_t *p, uint16_t id, uint16_t value)
{
    p[0] = TOY_BODY;
    p[1] = (uint8_t)(id >> 8);
    p[2] = (uint8_t)id;
    p[3] = (uint8_t)(value >> 8);
    p[4] = (uint8_t)value;
}

static uint16_t toy_id(const uint8_t *p)
{
    return (uint16_t)((p[1] << 8) | p[2]);
}

static uint16_t toy_value(const uint8_t *p)
{
    return (uint16_t)((p[3] << 8) | p[4]);
}

/* --- the server ------------------------------------------------------------------------- */

static int g_by_id2; /* the server answers with the second key (fixture by_id2) */

static void answer(pl_simconn_t *sc, const uint8_t *frame)
{
    uint8_t out[TOY_FRAME];
    uint16_t id = toy_id(frame);

    if (g_by_id2 && id != HELLO_ID)
        id = (uint16_t)((id + ID2_OFF) | BY_ID2);
    toy_put(out, id, (uint16_t)(toy_value(frame) + 1u));
    pl_simconn_answer(sc, out, sizeof(out));
}

static int toy_serve(pl_simconn_t *sc, const uint8_t *frame, size_t len, void *ud)
{
    fixture_t *f = ud;

    (void)len;
    f->served++;
    if (toy_id(frame) == HELLO_ID) { /* the set-up is answered at once unless held */
        f->first_served = HELLO_ID;
        if (f->mode != SRV_HOLD) {
            answer(sc, frame);
            return 0;
        }
    }
    switch (f->mode) {
    case SRV_ECHO:
        answer(sc, frame);
        return 0;
    case SRV_HOLD:
        assert_true(f->nheld < MAX_HELD);
        memcpy(f->held[f->nheld++], frame, TOY_FRAME);
        if (f->nheld > f->max_held)
            f->max_held = f->nheld;
        f->held_sc = sc;
        return 0;
    case SRV_GARBAGE: {
        static const uint8_t junk[TOY_FRAME] = {9, 9, 9, 9, 9};

        pl_simconn_answer(sc, junk, sizeof(junk));
        return 0;
    }
    default:
        pl_simconn_close(sc, NULL);
        return -1;
    }
}

/* Answers the held frames, the last held first. */
static void release_reversed(fixture_t *f)
{
    while (f->nheld > 0) {
        f->nheld--;
        answer(f->held_sc, f->held[f->nheld]);
    }
}

/* Answers held frame `i`. */
static void release_at(fixture_t *f, unsigned i)
{
    assert_true(f->nheld > i);
    answer(f->held_sc, f->held[i]);
    memmove(f->held[i], f->held[i + 1u], (size_t)(f->nheld - 1u - i) * TOY_FRAME);
    f->nheld--;
}

/* Answers the first held frame. */
static void release_first(fixture_t *f)
{
    release_at(f, 0);
}

/* --- the client's operations ------------------------------------------------------------ */

static toy_req_t *toy_req(pl_client_req_t *r)
{
    return (toy_req_t *)(void *)((char *)r - offsetof(toy_req_t, core));
}

static int toy_encode(pl_client_t *cl, pl_client_req_t *req, pl_client_slot_t *slot, uint8_t *buf,
                      size_t cap, int *last, pl_status_t *st, void *ud)
{
    fixture_t *f = ud;
    toy_req_t *r = toy_req(req);

    (void)st;
    assert_true(cap >= TOY_FRAME);
    do
        f->next_id++;
    while (f->next_id == HELLO_ID || pl_client_id_taken(cl, f->next_id));
    slot->id = f->next_id;
    slot->id2 = f->next_id + ID2_OFF;
    toy_put(buf, f->next_id, (uint16_t)(r->value + 16u * slot->index));
    if (f->send_fail) { /* the line goes away under the client: pl_line_send() fails */
        pl_status_t why;

        f->send_fail = 0;
        pl_status_set(&why, PL_ESEND, 0, "gone");
        pl_line_drop(pl_client_line(cl), &why);
    }
    *last = slot->index + 1u >= r->nmsgs;
    return (int)TOY_FRAME;
}

static int toy_match(pl_client_t *cl, const uint8_t *frame, size_t len, uint32_t *id,
                     pl_status_t *st, void *ud)
{
    fixture_t *f = ud;

    (void)len;
    (void)st;
    *id = toy_id(frame);
    if (toy_value(frame) == (uint16_t)(DROP_WITH + 1u)) { /* as a session reply may */
        pl_status_t why;

        f->match_drops++;
        pl_status_set(&why, PL_EPROTO, 0, "match dropped");
        pl_client_drop(cl, &why);
        return PL_CLIENT_ANSWER;
    }
    if (*id & BY_ID2) {
        *id &= ~BY_ID2;
        return PL_CLIENT_ANSWER2;
    }
    return *id == HELLO_ID ? PL_CLIENT_NONE : PL_CLIENT_ANSWER;
}

static int toy_handle(pl_client_t *cl, pl_client_slot_t *slot, const uint8_t *frame, size_t len,
                      pl_status_t *st, void *ud)
{
    fixture_t *f = ud;

    (void)len;
    if (slot == NULL) { /* the answer to the hello: the session is set up */
        assert_int_equal(toy_id(frame), HELLO_ID);
        f->hello_answers++;
        if (f->refuse) {
            pl_status_t why;

            pl_status_set(&why, PL_ESESSION_REFUSED, 0, "hello refused");
            pl_client_refuse(cl, &why);
            return PL_CLIENT_OTHER;
        }
        pl_client_ready(cl);
        return PL_CLIENT_OTHER;
    }
    if (toy_value(frame) == (uint16_t)(DROP_WITH + 1u))
        f->handled_dropped++;
    if (toy_value(frame) == (uint16_t)(FAIL_WITH + 1u))
        return pl_status_set(st, PL_EPROTO, 0, "the server refused"), PL_CLIENT_FAIL;
    if (slot->req != NULL)
        toy_req(slot->req)->result[slot->index] = toy_value(frame);
    return PL_CLIENT_OK;
}

static void toy_complete(pl_client_t *cl, pl_client_req_t *req, pl_status_t *st, void *ud)
{
    fixture_t *f = ud;
    toy_req_t *r = toy_req(req);

    (void)cl;
    r->calls++;
    r->st = *st;
    f->completed++;
}

static int toy_connect(pl_client_t *cl, pl_status_t *st, void *ud)
{
    fixture_t *f = ud;
    uint8_t hello[TOY_FRAME];

    (void)st;
    f->ups++;
    if (!f->setup)
        return 0;
    f->hellos++;
    toy_put(hello, HELLO_ID, 0);
    return pl_client_send(cl, hello, sizeof(hello)) < 0 ? PL_ESEND : 1;
}

static int toy_down(pl_client_t *cl, const pl_status_t *why, int was_up, void *ud)
{
    fixture_t *f = ud;

    (void)why;
    (void)was_up;
    f->downs++;
    f->down_send_failed += (unsigned)pl_client_send_failed(cl);
    return f->down_policy;
}

static int toy_timeout(pl_client_t *cl, pl_client_slot_t *slot, pl_status_t *st, void *ud)
{
    fixture_t *f = ud;

    (void)cl;
    (void)slot;
    (void)st;
    return f->drop_on_timeout;
}

static void toy_setup_timeout(pl_client_t *cl, pl_status_t *st, int drop, void *ud)
{
    fixture_t *f = ud;

    (void)cl;
    f->setup_timeouts++;
    if (f->name_setup)
        pl_status_set(st, PL_ETIMEOUT, 0, "no hello answer (drop %d)", drop);
}

static const pl_client_ops_t toy_ops = {
    .frame = toy_frame,
    .encode = toy_encode,
    .match = toy_match,
    .handle = toy_handle,
    .complete = toy_complete,
    .connect = toy_connect,
    .down = toy_down,
    .timeout = toy_timeout,
    .setup_timeout = toy_setup_timeout,
};

/* --- fixture ---------------------------------------------------------------------------- */

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until `cond` holds; fails after GUARD_MS. */
#define RUN_UNTIL(f, cond)                              \
    do {                                                \
        uv_timer_t guard_;                              \
        int expired_ = 0;                               \
        uv_timer_init(&(f)->loop, &guard_);             \
        guard_.data = &expired_;                        \
        uv_timer_start(&guard_, on_guard, GUARD_MS, 0); \
        while (!(cond) && !expired_)                    \
            uv_run(&(f)->loop, UV_RUN_ONCE);            \
        uv_close((uv_handle_t *)&guard_, NULL);         \
        uv_run(&(f)->loop, UV_RUN_NOWAIT);              \
        assert_true(cond);                              \
    } while (0)

/* Starts the server (unless `no_server`) and a client of `inflight` slots and `queue`
 * requests. */
static void start(fixture_t *f, unsigned inflight, unsigned queue, unsigned timeout_ms,
                  int no_server)
{
    static const pl_simconn_cbs_t cbs = {.frame = toy_frame, .serve = toy_serve};
    pl_listener_config_t lc;
    pl_line_config_t line;
    pl_status_t st;

    assert_int_equal(uv_loop_init(&f->loop), 0);
    memset(&lc, 0, sizeof(lc));
    f->scfg.name = "toy server";
    f->scfg.max_frame = TOY_FRAME;
    f->set = malloc(sizeof(*f->set));
    assert_non_null(f->set);
    assert_int_equal(pl_simconn_set_init(f->set, &f->loop, &lc, &f->scfg, &cbs, f, &st), 0);

    pl_line_config_init(&line);
    assert_int_equal(pl_hostlist_parse(&line.hosts, "127.0.0.1", 9, NULL), 0);
    line.port = pl_listener_port(f->set->lst);
    line.backoff_min_ms = 10;
    line.backoff_max_ms = 50;
    if (no_server) { /* a port nobody listens on: the set's, after it closed */
        pl_simconn_set_close(f->set);
        free(f->set);
        f->set = NULL;
        uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    f->ccfg.name = "toy";
    f->ccfg.partner = "server";
    f->ccfg.timeout_ms = timeout_ms;
    f->ccfg.max_queue = queue;
    f->ccfg.max_inflight = inflight;
    f->ccfg.max_frame = TOY_FRAME;
    f->ccfg.max_msg = TOY_FRAME;
    f->ccfg.requests = &f->requests;
    f->ccfg.responses = &f->responses;
    f->ccfg.timeouts = &f->timeouts;
    f->ccfg.errors = &f->errors;
    f->ccfg.late = &f->late;
    f->ccfg.last_rtt_us = &f->rtt;
    assert_int_equal(pl_client_new(&f->loop, &line, &f->ccfg, &toy_ops, f, &f->cl), 0);
}

static void stop(fixture_t *f)
{
    if (f->cl != NULL)
        pl_client_free(f->cl);
    f->cl = NULL;
    if (f->set != NULL) {
        pl_simconn_set_close(f->set);
        free(f->set);
        f->set = NULL;
    }
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void submit(fixture_t *f, toy_req_t *r, uint16_t value, unsigned nmsgs)
{
    memset(r, 0, sizeof(*r));
    r->value = value;
    r->nmsgs = nmsgs;
    assert_int_equal(pl_client_submit(f->cl, &r->core), 0);
}

/* --- tests ------------------------------------------------------------------------------ */

/* A full queue refuses with PL_ENO_MSG (no callback); the queued ones all complete. */
static void test_queue_full(void **state)
{
    fixture_t f = {.mode = SRV_HOLD};
    toy_req_t r[5];
    unsigned i;

    (void)state;
    start(&f, 2, 4, 5000, 0);
    for (i = 0; i < 4; i++)
        submit(&f, &r[i], (uint16_t)(100u * i), 1);
    memset(&r[4], 0, sizeof(r[4]));
    r[4].nmsgs = 1;
    assert_int_equal(pl_client_submit(f.cl, &r[4].core), PL_ENO_MSG);
    assert_int_equal(pl_client_pending(f.cl), 4);
    RUN_UNTIL(&f, f.nheld == 2); /* two in flight, two waiting */
    f.mode = SRV_ECHO;
    release_reversed(&f);
    RUN_UNTIL(&f, f.completed == 4);
    for (i = 0; i < 4; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].st.code, 0);
        assert_int_equal(r[i].result[0], 100u * i + 1u);
    }
    assert_int_equal(r[4].calls, 0);
    assert_int_equal(f.requests, 4);
    assert_int_equal(f.responses, 4);
    assert_int_equal(f.max_held, 2); /* never more than the slots */
    stop(&f);
}

/* Answers in the reverse order of the requests reach the right requests. */
static void test_out_of_order(void **state)
{
    fixture_t f = {.mode = SRV_HOLD};
    toy_req_t r[3];
    unsigned i;

    (void)state;
    start(&f, 4, 16, 5000, 0);
    for (i = 0; i < 3; i++)
        submit(&f, &r[i], (uint16_t)(10u * i), 1);
    RUN_UNTIL(&f, f.nheld == 3);
    release_reversed(&f);
    RUN_UNTIL(&f, f.completed == 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].st.code, 0);
        assert_int_equal(r[i].result[0], 10u * i + 1u);
    }
    assert_int_equal(f.responses, 3);
    assert_int_equal(f.errors, 0);
    stop(&f);
}

/* One slot: a multi-message request goes out message by message, then the next request. */
static void test_one_at_a_time(void **state)
{
    fixture_t f = {.mode = SRV_HOLD};
    toy_req_t a, b;
    unsigned k;

    (void)state;
    start(&f, 1, 16, 5000, 0);
    submit(&f, &a, 1000, 3);
    submit(&f, &b, 2000, 1);
    for (k = 0; k < 4; k++) {
        RUN_UNTIL(&f, f.nheld == 1);
        release_first(&f);
    }
    RUN_UNTIL(&f, f.completed == 2);
    assert_int_equal(f.max_held, 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.st.code, 0);
    assert_int_equal(a.result[0], 1001);
    assert_int_equal(a.result[1], 1017);
    assert_int_equal(a.result[2], 1033);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.result[0], 2001);
    assert_int_equal(f.responses, 4);
    stop(&f);
}

static uint64_t sends(fixture_t *f)
{
    return pl_line_stats(pl_client_line(f->cl))->sends;
}

/* Corked, the messages of several requests go out with one write at the uncork, and are
 * answered as if sent one by one; uncorked, each goes out at once. Messages gathered for a
 * connection that dropped before the uncork are never sent (their requests fail with the
 * reason of the drop). */
static void test_cork_coalesces(void **state)
{
    fixture_t f = {.mode = SRV_ECHO};
    toy_req_t first, r[3], late[2];
    pl_status_t why;
    uint64_t s0;
    unsigned i;

    (void)state;
    f.ccfg.coalesce = 4u * TOY_FRAME;
    start(&f, 4, 16, 5000, 0);
    assert_int_equal(pl_client_start(f.cl), 0);
    submit(&f, &first, 1, 1);
    RUN_UNTIL(&f, f.completed == 1);
    s0 = sends(&f);
    pl_client_cork(f.cl);
    pl_client_cork(f.cl); /* nested */
    for (i = 0; i < 3; i++)
        submit(&f, &r[i], (uint16_t)(10u * (i + 1u)), 1);
    pl_client_uncork(f.cl);
    assert_int_equal(sends(&f), s0); /* still corked */
    pl_client_uncork(f.cl);
    assert_int_equal(sends(&f), s0 + 1u);
    RUN_UNTIL(&f, f.completed == 4);
    for (i = 0; i < 3; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].st.code, 0);
        assert_int_equal(r[i].result[0], 10u * (i + 1u) + 1u);
    }
    for (i = 0; i < 3; i++)
        submit(&f, &r[i], (uint16_t)(100u * (i + 1u)), 1);
    assert_int_equal(sends(&f), s0 + 4u); /* not corked: one write each */
    RUN_UNTIL(&f, f.completed == 7);
    assert_int_equal(f.errors, 0);

    pl_client_cork(f.cl);
    submit(&f, &late[0], 7, 1);
    submit(&f, &late[1], 8, 1);
    pl_status_set(&why, PL_EPROTO, 0, "dropped while corked");
    pl_client_drop(f.cl, &why);
    pl_client_uncork(f.cl);
    RUN_UNTIL(&f, f.completed == 9);
    for (i = 0; i < 2; i++) {
        assert_int_equal(late[i].calls, 1);
        assert_int_equal(late[i].st.code, PL_EPROTO);
    }
    assert_int_equal(sends(&f), s0 + 4u);
    stop(&f);
}

static void on_freed(void *ud)
{
    ((fixture_t *)ud)->freed++;
}

/* one_by_one: a request's next message waits for the answer to its previous one, while a
 * request behind it takes the other slot; the client's memory goes with one freed() call. */
static void test_one_by_one(void **state)
{
    fixture_t f = {.mode = SRV_HOLD};
    toy_req_t a, b, c;

    (void)state;
    f.ccfg.one_by_one = 1;
    f.ccfg.freed = on_freed;
    start(&f, 2, 16, 5000, 0);
    submit(&f, &a, 1000, 3);
    submit(&f, &b, 2000, 1);
    submit(&f, &c, 3000, 1);
    RUN_UNTIL(&f, f.nheld == 2); /* a's first message and b, not a's second */
    assert_int_equal(toy_value(f.held[0]), 1000);
    assert_int_equal(toy_value(f.held[1]), 2000);
    release_at(&f, 1); /* b answered: c goes, a still waits for its first answer */
    RUN_UNTIL(&f, f.nheld == 2 && b.calls == 1);
    assert_int_equal(toy_value(f.held[0]), 1000);
    assert_int_equal(toy_value(f.held[1]), 3000);
    release_first(&f); /* a's first answered: its second goes */
    RUN_UNTIL(&f, f.nheld == 2);
    assert_int_equal(toy_value(f.held[1]), 1016);
    release_reversed(&f);
    RUN_UNTIL(&f, c.calls == 1 && f.nheld == 1); /* a's third */
    assert_int_equal(toy_value(f.held[0]), 1032);
    f.mode = SRV_ECHO;
    release_first(&f);
    RUN_UNTIL(&f, f.completed == 3);
    assert_int_equal(f.max_held, 2);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.st.code, 0);
    assert_int_equal(a.result[0], 1001);
    assert_int_equal(a.result[1], 1017);
    assert_int_equal(a.result[2], 1033);
    assert_int_equal(b.result[0], 2001);
    assert_int_equal(c.result[0], 3001);
    assert_int_equal(f.responses, 5);
    stop(&f);
    assert_int_equal(f.freed, 1);
}

/* A request with no answer times out once; its late answer is dropped and counted; the
 * connection stays and serves the next request. */
static void test_deadline_and_late_answer(void **state)
{
    fixture_t f = {.mode = SRV_HOLD};
    toy_req_t a, b;

    (void)state;
    start(&f, 4, 16, 100, 0);
    submit(&f, &a, 7, 1);
    RUN_UNTIL(&f, a.calls == 1);
    assert_int_equal(a.st.code, PL_ETIMEOUT);
    assert_int_equal(f.timeouts, 1);
    assert_int_equal(f.errors, 1);
    assert_int_equal(f.nheld, 1);
    release_first(&f);
    RUN_UNTIL(&f, f.late == 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(f.responses, 0);
    f.mode = SRV_ECHO;
    submit(&f, &b, 8, 1);
    RUN_UNTIL(&f, b.calls == 1);
    assert_int_equal(b.st.code, 0);
    assert_int_equal(b.result[0], 9);
    assert_int_equal(f.ups, 1); /* the same connection */
    assert_int_equal(f.timeouts, 1);
    stop(&f);
}

/* A timeout that drops the connection: the request fails once, the next one goes out on a
 * new connection. */
static void test_deadline_drops(void **state)
{
    fixture_t f = {.mode = SRV_HOLD, .drop_on_timeout = 1};
    toy_req_t a, b;

    (void)state;
    start(&f, 1, 16, 100, 0);
    assert_int_equal(pl_client_start(f.cl), 0);
    submit(&f, &a, 7, 1);
    RUN_UNTIL(&f, a.calls == 1 && f.downs == 1);
    assert_int_equal(a.st.code, PL_ETIMEOUT);
    f.mode = SRV_ECHO;
    submit(&f, &b, 8, 1);
    RUN_UNTIL(&f, b.calls == 1);
    assert_int_equal(b.st.code, 0);
    assert_int_equal(f.ups, 2);
    assert_int_equal(a.calls, 1);
    assert_int_equal(f.timeouts, 1);
    stop(&f);
}

/* The line drops with requests in flight: each fails once with the reason, the waiting one
 * goes out on the next connection. */
static void test_drop_fails_inflight(void **state)
{
    fixture_t f = {.mode = SRV_HOLD, .down_policy = PL_CLIENT_FAIL_INFLIGHT};
    toy_req_t r[3];
    unsigned i;

    (void)state;
    start(&f, 2, 16, 5000, 0);
    assert_int_equal(pl_client_start(f.cl), 0);
    for (i = 0; i < 3; i++)
        submit(&f, &r[i], (uint16_t)i, 1);
    RUN_UNTIL(&f, f.nheld == 2);
    f.mode = SRV_ECHO;
    pl_simconn_close(f.held_sc, NULL);
    f.nheld = 0;
    RUN_UNTIL(&f, f.completed == 3);
    assert_int_equal(r[0].calls, 1);
    assert_int_equal(r[1].calls, 1);
    assert_int_equal(r[2].calls, 1);
    assert_int_not_equal(r[0].st.code, 0);
    assert_int_not_equal(r[1].st.code, 0);
    assert_int_equal(r[2].st.code, 0);
    assert_int_equal(r[2].result[0], 3);
    assert_int_equal(f.downs, 1);
    stop(&f);
}

/* The same with re-queueing: the requests in flight go out again, in order, from their
 * first message, on the next connection, and each completes once. */
static void test_drop_requeues(void **state)
{
    fixture_t f = {.mode = SRV_HOLD, .down_policy = PL_CLIENT_REQUEUE};
    toy_req_t r[3];
    unsigned i;

    (void)state;
    start(&f, 2, 16, 5000, 0);
    assert_int_equal(pl_client_start(f.cl), 0);
    submit(&f, &r[0], 100, 2);
    submit(&f, &r[1], 200, 1);
    submit(&f, &r[2], 300, 1);
    RUN_UNTIL(&f, f.nheld == 2);
    f.mode = SRV_ECHO;
    pl_simconn_close(f.held_sc, NULL);
    f.nheld = 0;
    RUN_UNTIL(&f, f.completed == 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].st.code, 0);
    }
    assert_int_equal(r[0].result[0], 101);
    assert_int_equal(r[0].result[1], 117);
    assert_int_equal(r[1].result[0], 201);
    assert_int_equal(r[2].result[0], 301);
    assert_int_equal(f.requests, 3);
    assert_int_equal(f.ups, 2);
    stop(&f);
}

/* Closing the client answers every request, in flight or queued, once with PL_ECANCELED;
 * a submit after that is refused. */
static void test_close_with_queued(void **state)
{
    fixture_t f = {.mode = SRV_HOLD};
    toy_req_t r[4];
    unsigned i;

    (void)state;
    start(&f, 1, 16, 5000, 0);
    for (i = 0; i < 4; i++)
        submit(&f, &r[i], (uint16_t)i, 1);
    RUN_UNTIL(&f, f.nheld == 1);
    pl_client_free(f.cl);
    for (i = 0; i < 4; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].st.code, PL_ECANCELED);
    }
    f.cl = NULL;
    stop(&f);
}

/* No server: the waiting requests fail once with the connect error, and the line stops. */
static void test_no_connection(void **state)
{
    fixture_t f = {0};
    toy_req_t r[2];

    (void)state;
    start(&f, 1, 16, 2000, 1);
    submit(&f, &r[0], 1, 1);
    submit(&f, &r[1], 2, 1);
    RUN_UNTIL(&f, f.completed == 2);
    assert_int_equal(r[0].calls, 1);
    assert_int_equal(r[1].calls, 1);
    assert_int_equal(r[0].st.code, PL_ECONNECT);
    assert_int_equal(f.errors, 2);
    stop(&f);
}

/* A session set-up: requests wait until pl_client_ready(), then flow. */
static void test_setup_then_ready(void **state)
{
    fixture_t f = {.mode = SRV_ECHO, .setup = 1};
    toy_req_t r[2];

    (void)state;
    start(&f, 2, 16, 5000, 0);
    submit(&f, &r[0], 10, 1);
    submit(&f, &r[1], 20, 1);
    RUN_UNTIL(&f, f.completed == 2);
    assert_int_equal(f.hellos, 1);
    assert_int_equal(f.hello_answers, 1);
    assert_int_equal(f.first_served, HELLO_ID);
    assert_int_equal(f.served, 3);
    assert_int_equal(r[0].result[0], 11);
    assert_int_equal(r[1].result[0], 21);
    stop(&f);
}

/* A set-up that gets no answer: the waiting request fails once, when its time is up
 * (reconnects do not restart it), and the on-demand line stops (the session ends). */
static void test_setup_timeout(void **state)
{
    fixture_t f = {.mode = SRV_HOLD, .setup = 1};
    toy_req_t r;

    (void)state;
    start(&f, 2, 16, 100, 0);
    submit(&f, &r, 10, 1);
    RUN_UNTIL(&f, r.calls == 1);
    assert_int_equal(r.st.code, PL_ETIMEOUT); /* set-up, not connect: the line was up */
    assert_string_equal(r.st.detail, "session set-up: no answer within 100 ms");
    assert_int_equal(f.hello_answers, 0);
    assert_int_equal(f.responses, 0);
    assert_true(f.downs >= 1);
    stop(&f);
}

/* The protocol names the set-up that timed out: the waiting request, submitted before the
 * connection, fails with that reason when its own deadline passes during the set-up. */
static void test_setup_timeout_named(void **state)
{
    fixture_t f = {.mode = SRV_HOLD, .setup = 1, .name_setup = 1};
    toy_req_t r;

    (void)state;
    start(&f, 2, 16, 100, 0);
    submit(&f, &r, 10, 1);
    RUN_UNTIL(&f, r.calls == 1);
    assert_int_equal(r.st.code, PL_ETIMEOUT);
    assert_string_equal(r.st.detail, "no hello answer (drop 0)");
    assert_true(f.setup_timeouts >= 1);
    stop(&f);
}

/* The partner refuses the session: the attempt counts as a failed one, so with one host
 * the waiting requests fail at once with the refusal (not when their time is up), once,
 * and the on-demand line stops. */
static void test_setup_refused(void **state)
{
    fixture_t f = {.mode = SRV_ECHO, .setup = 1, .refuse = 1};
    toy_req_t r[2];

    (void)state;
    start(&f, 2, 16, 4000, 0);
    submit(&f, &r[0], 10, 1);
    submit(&f, &r[1], 20, 1);
    RUN_UNTIL(&f, f.completed == 2);
    assert_int_equal(r[0].calls, 1);
    assert_int_equal(r[1].calls, 1);
    assert_int_equal(r[0].st.code, PL_ESESSION_REFUSED);
    assert_string_equal(r[1].st.detail, "hello refused");
    assert_int_equal(f.hellos, 1);
    assert_int_equal(f.served, 1); /* no request went out */
    assert_int_equal(f.errors, 2);
    stop(&f);
}

/* Answers that name the message by its second key: in time they complete the request;
 * late, they are dropped and counted once, and the same late answer again is a protocol
 * error (the connection is dropped). */
static void test_second_key(void **state)
{
    fixture_t f = {.mode = SRV_HOLD};
    toy_req_t a, b;
    uint8_t copy[TOY_FRAME];

    (void)state;
    g_by_id2 = 1;
    start(&f, 4, 16, 100, 0);
    submit(&f, &a, 7, 1);
    RUN_UNTIL(&f, a.calls == 1);
    assert_int_equal(a.st.code, PL_ETIMEOUT);
    memcpy(copy, f.held[0], sizeof(copy));
    release_first(&f);
    RUN_UNTIL(&f, f.late == 1);
    assert_int_equal(f.downs, 0);
    answer(f.held_sc, copy); /* its id2 is forgotten now */
    RUN_UNTIL(&f, f.downs == 1);
    assert_int_equal(f.late, 1);
    f.mode = SRV_ECHO;
    submit(&f, &b, 8, 1);
    RUN_UNTIL(&f, b.calls == 1);
    assert_int_equal(b.st.code, 0);
    assert_int_equal(b.result[0], 9);
    assert_int_equal(a.calls, 1);
    g_by_id2 = 0;
    stop(&f);
}

/* A message that cannot be sent: with send_fail_waits its request waits and goes out on
 * the next connection (ops.down is told); without, it fails with PL_ESEND. */
static void test_send_failure(void **state)
{
    fixture_t f = {.mode = SRV_ECHO, .send_fail = 1};
    toy_req_t r;

    (void)state;
    f.ccfg.send_fail_waits = 1;
    start(&f, 2, 16, 4000, 0);
    submit(&f, &r, 10, 1);
    RUN_UNTIL(&f, r.calls == 1);
    assert_int_equal(r.st.code, 0);
    assert_int_equal(r.result[0], 11);
    assert_int_equal(f.ups, 2);
    assert_int_equal(f.down_send_failed, 1);
    assert_int_equal(f.served, 1);
    stop(&f);

    memset(&f, 0, sizeof(f));
    f.mode = SRV_ECHO;
    f.send_fail = 1;
    start(&f, 2, 16, 4000, 0);
    submit(&f, &r, 10, 1);
    RUN_UNTIL(&f, r.calls == 1);
    assert_int_equal(r.st.code, PL_ESEND);
    assert_int_equal(f.served, 0);
    stop(&f);
}

/* match drops the connection: the frame goes no further (handle does not see it), the
 * request in flight fails once with the reason of the drop. */
static void test_match_drops(void **state)
{
    fixture_t f = {.mode = SRV_ECHO};
    toy_req_t r;

    (void)state;
    start(&f, 2, 16, 4000, 0);
    submit(&f, &r, (uint16_t)DROP_WITH, 1);
    RUN_UNTIL(&f, r.calls == 1 && f.downs == 1);
    assert_int_equal(f.match_drops, 1);
    assert_int_equal(f.handled_dropped, 0);
    assert_int_equal(r.st.code, PL_EPROTO);
    assert_string_equal(r.st.detail, "match dropped");
    assert_int_equal(f.responses, 0);
    stop(&f);
}

/* Bytes that cannot be framed: the request in flight fails once with the frame's error,
 * the connection is dropped. */
static void test_bad_frame(void **state)
{
    fixture_t f = {.mode = SRV_GARBAGE};
    toy_req_t r;

    (void)state;
    start(&f, 2, 16, 5000, 0);
    submit(&f, &r, 10, 1);
    RUN_UNTIL(&f, r.calls == 1 && f.downs == 1);
    assert_int_equal(r.st.code, PL_ERANGE);
    assert_int_equal(f.errors, 1);
    stop(&f);
}

/* An error answer to one message fails its request once; the answers to its other
 * messages are consumed and change nothing. */
static void test_answer_fails_request(void **state)
{
    fixture_t f = {.mode = SRV_ECHO};
    toy_req_t r, ok;

    (void)state;
    start(&f, 4, 16, 5000, 0);
    submit(&f, &r, (uint16_t)(FAIL_WITH - 16u), 3); /* message 1 carries FAIL_WITH */
    submit(&f, &ok, 5, 1);
    RUN_UNTIL(&f, f.completed == 2 && f.responses == 4);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.st.code, PL_EPROTO);
    assert_int_equal(ok.calls, 1);
    assert_int_equal(ok.st.code, 0);
    assert_int_equal(ok.result[0], 6);
    assert_int_equal(f.errors, 1);
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_one_at_a_time),
        cmocka_unit_test(test_cork_coalesces),
        cmocka_unit_test(test_one_by_one),
        cmocka_unit_test(test_deadline_and_late_answer),
        cmocka_unit_test(test_deadline_drops),
        cmocka_unit_test(test_drop_fails_inflight),
        cmocka_unit_test(test_drop_requeues),
        cmocka_unit_test(test_close_with_queued),
        cmocka_unit_test(test_no_connection),
        cmocka_unit_test(test_setup_then_ready),
        cmocka_unit_test(test_setup_timeout),
        cmocka_unit_test(test_bad_frame),
        cmocka_unit_test(test_answer_fails_request),
        cmocka_unit_test(test_setup_timeout_named),
        cmocka_unit_test(test_setup_refused),
        cmocka_unit_test(test_second_key),
        cmocka_unit_test(test_send_failure),
        cmocka_unit_test(test_match_drops),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
