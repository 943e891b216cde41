/* SPDX-License-Identifier: MIT */
/*
 * The fault-injection fixture shared by tests/integration/test_faults_*.c: one loop with a
 * watchdog, a healthy device (the protocol's simulator and a second client that writes a
 * word, reads it back and compares, all the time), a scripted misbehaving peer (a listener
 * whose connections reassemble the client's messages and hand them to the protocol, with
 * per-connection timers to drip or delay an answer), counters of what each saw, and the
 * teardown that closes every handle and asserts uv_loop_close() == 0.
 *
 * The fixture knows no protocol: the test file supplies the healthy client's request, the
 * framing and the answers (fixture_ops_t), and owns its simulator and clients. Test code
 * only (it asserts with cmocka); never linked into the library. One fixture at a time per
 * process (the watchdog is process-wide).
 */
#ifndef PLCLINE_TESTS_FIXTURE_H
#define PLCLINE_TESTS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/line.h"
#include "plcline/log.h"

#define FIXTURE_WATCHDOG_S 15u   /* per scenario; a hang is a failure, not a stuck run */
#define FIXTURE_GUARD_MS   5000u /* bound of every wait for one event */
#define FIXTURE_SLOTS      16u   /* connections the scripted peer holds at once */
#define FIXTURE_RX_MAX     4608u /* bytes a scripted connection buffers (fixture_ops_t.rx_cap) */
#define FIXTURE_OUT_MAX    1200u /* bytes of an answer a scripted connection drips or delays */

typedef struct fixture_s fixture_t;

/* One connection of the scripted peer. */
typedef struct {
    fixture_t *fx;
    int used;
    pl_conn_t *conn; /* NULL once closed */
    uv_timer_t timer;
    uint32_t session; /* the protocol's per-connection state (a session handle); 0 at accept */
    uint8_t rx[FIXTURE_RX_MAX];
    size_t rx_len;
    uint8_t out[FIXTURE_OUT_MAX]; /* the answer fixture_peer_drip()/_late() sends */
    size_t out_len, out_off;
    int dripping, late;
} fixture_slot_t;

typedef struct {
    /* Sends the healthy client's next request: a write of `value` when `writing`, else a read
     * of the word written last. Returns 0 or <0. Its completion calls fixture_healthy_done(). */
    int (*healthy_send)(fixture_t *fx, int writing, uint16_t value);
    /* The codec's framing (pl_<proto>_frame): the length of the first complete message in
     * buf[0..len) (>0), PL_EAGAIN, or <0; called with frame_limit and need == NULL. */
    int (*frame)(const uint8_t *buf, size_t len, size_t limit, size_t *need);
    size_t frame_limit;
    /* One complete message from a client, to answer on p->conn. Returns 0 to go on reading,
     * <0 when it closed the connection. */
    int (*message)(fixture_t *fx, fixture_slot_t *p, const uint8_t *msg, size_t len);
    size_t rx_cap;         /* bytes a connection may buffer, at most FIXTURE_RX_MAX */
    const char *peer_name; /* "scripted node", in failure messages */
} fixture_ops_t;

struct fixture_s {
    const fixture_ops_t *ops;
    uv_loop_t loop;
    pl_logger_t log;      /* for the simulator: counts what the fixture looks for */
    int nonreader_closed; /* warnings "partner does not read" */
    /* the healthy device's client */
    int hrun, hbusy, hok, hfail, hwriting;
    uint16_t hvalue;
    /* the scripted peer */
    pl_listener_t *lst;
    uint16_t port;
    int mode;       /* the protocol's misbehaviour, 0 = answer well */
    unsigned spoil; /* requests still to spoil with `mode` */
    unsigned drip_ms, late_ms;
    uint16_t late_word; /* value a late answer carries instead of the peer's memory */
    int accepted, closed, requests, late_sent, late_dropped;
    fixture_slot_t slot[FIXTURE_SLOTS];
    /* the client under test (fixture_link()) */
    int links_up, links_down;
    pl_status_t last_down;
};

/* One request's completion, for fixture_wait(). */
typedef struct {
    int done;
    pl_status_t status;
} fixture_result_t;

/* Clears *fx, arms the watchdog, starts the loop and the scripted peer (its port in
 * fx->port). The caller then starts its simulator (with &fx->log) and healthy client, calls
 * fixture_healthy_start(), and starts the client under test. */
void fixture_init(fixture_t *fx, const fixture_ops_t *ops);

/* Stops the scripted peer, runs the loop until every handle is closed, asserts
 * uv_loop_close() == 0 and disarms the watchdog. The caller has freed its simulator and
 * clients (after fixture_healthy_stop()). */
void fixture_close(fixture_t *fx);

/* The healthy client starts polling (first a write). */
void fixture_healthy_start(fixture_t *fx);

/* A healthy request completed with `code`; `word` is what a read returned. Counts it (a read
 * that returns something else than the last write is a failure) and sends the next. */
void fixture_healthy_done(fixture_t *fx, int code, uint16_t word);

/* Lets the healthy client's request in flight complete, then asserts none ever failed. */
void fixture_healthy_stop(fixture_t *fx);

/* For the client under test's link callback: st == NULL link up, else down (kept). */
void fixture_link(fixture_t *fx, const pl_status_t *st);

/* Runs the loop until r->done (asserts it within FIXTURE_GUARD_MS). */
void fixture_wait(fixture_t *fx, fixture_result_t *r);

/* No second callback: 20 ms more loop time, then each of r[0..n) completed exactly once. */
void fixture_expect_once(fixture_t *fx, const fixture_result_t *r, int n);

/* fixture_wait() for r[0], ..., r[n - 1] in turn, then fixture_expect_once(). */
void fixture_wait_all(fixture_t *fx, fixture_result_t *r, int n);

/* --- the scripted peer's answers ----------------------------------------------------- */

/* The mode for a request that just came in (counted in fx->requests): fx->mode while
 * fx->spoil > 0 (which it decrements), else 0. */
int fixture_peer_mode(fixture_t *fx);

/* Sends p->out[0..len) one byte per fx->drip_ms (0: one per loop turn). */
void fixture_peer_drip(fixture_slot_t *p, size_t len);

/* Sends p->out[0..len) fx->late_ms from now if the connection is still there (late_sent),
 * else counts it in late_dropped. */
void fixture_peer_late(fixture_slot_t *p, size_t len);

/* --- the simulator under attack ------------------------------------------------------ */

/* 1000 connections to port (100 at a time) aborted with a RST: 500 right after connecting,
 * 500 after sending partial[0..partial_len). Each batch waits for the simulator to count it
 * in *connections. Asserts every one connected. */
void fixture_storms(fixture_t *fx, uint16_t port, const uint8_t *partial, size_t partial_len,
                    const uint64_t *connections);

#endif
