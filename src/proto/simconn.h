/* SPDX-License-Identifier: MIT */
/*
 * The connection half shared by the simulators (7TTCP node, PCCC PLC): a listener and the
 * connections it accepted, each with its partial-frame buffer (marked with
 * pl_conn_partial() while it holds part of a frame, so the listener's frame timeout
 * applies), close-after-N-frames, the answers held back by `delay_ms` (in order, one timer
 * per connection), an optional deadline by which the partner must have done what the
 * protocol calls "ready" (PCCC: RegisterSession), the idle timeout that closes a partner
 * that sends nothing, so that silent partners cannot hold every `max_conns` slot, and the
 * count of unanswered requests by which a simulator plays a device that serves one request
 * at a time (pl_simconn_over_inflight).
 *
 * The protocol supplies what is its own through pl_simconn_cbs_t: where the next frame
 * ends (or that the bytes are malformed) and how to serve one frame. It answers with
 * pl_simconn_answer() and keeps its per-connection state in pl_simconn_state().
 *
 * This module must not know a wire format, print (it logs through the configured logger)
 * or call a protocol callback after pl_simconn_set_close() returns. Private to src/proto;
 * the loop thread only.
 */
#ifndef PLCLINE_PROTO_SIMCONN_H
#define PLCLINE_PROTO_SIMCONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/line.h"
#include "plcline/log.h"

/* Answers held back per connection by delay_ms; one more closes the connection. */
#define PL_SIMCONN_MAX_DELAYED 1024u

typedef struct pl_simconn_s pl_simconn_t;

/* --- framing: bytes in, whole frames out (no I/O; unit-tested on its own) --------------- */

/* Where the frame at the start of buf[0..len) ends (len >= 1): >0 its length (at most len),
 * PL_EAGAIN when more bytes are needed, another negative PL_E* when the bytes cannot be a
 * frame. The answer depends on the bytes only. */
typedef int (*pl_simconn_frame_fn)(const uint8_t *buf, size_t len, void *ud);

/* Serves one whole frame; returns 0 to go on with the next one, <0 to stop (the connection
 * was closed). */
typedef int (*pl_simconn_deliver_fn)(void *ctx, const uint8_t *frame, size_t len);

/* One connection's input buffer: `cap` bytes at `buf`, `len` of them held (a partial
 * frame). `cap` must be at least the longest frame `frame` accepts. */
typedef struct {
    uint8_t *buf;
    size_t cap, len;
} pl_simconn_rx_t;

/* Returned by pl_simconn_rx_feed() when `deliver` asked to stop. */
#define PL_SIMCONN_STOPPED 1

/* Cuts buf[0..len) into frames, after the partial frame `rx` holds, and hands each whole
 * one to `deliver` in order; frames that lie whole in `buf` are delivered from there, and
 * only an incomplete tail is copied into `rx`. Returns 0 (every byte used; rx->len > 0 when
 * a partial frame is held), PL_SIMCONN_STOPPED (deliver returned <0; the rest is dropped),
 * or the negative code of `frame` for bytes that cannot be framed (also PL_EPROTO when
 * `frame` breaks its contract: 0, a length past the bytes, or PL_EAGAIN on a full buffer).
 * The frames delivered do not depend on how the bytes were split between calls. */
int pl_simconn_rx_feed(pl_simconn_rx_t *rx, const uint8_t *buf, size_t len,
                       pl_simconn_frame_fn frame, void *frame_ud, pl_simconn_deliver_fn deliver,
                       void *ctx);

/* --- connections -------------------------------------------------------------------- */

typedef struct {
    /* Required: see pl_simconn_frame_fn; `ud` is the set's ud. */
    pl_simconn_frame_fn frame;
    /* Required: serves one whole frame of `sc`. Returns 0 to go on, <0 after closing `sc`
     * (pl_simconn_close()); the bytes after the frame are then dropped. */
    int (*serve)(pl_simconn_t *sc, const uint8_t *frame, size_t len, void *ud);
    /* Optional: a connection was accepted; its state (pl_simconn_state()) is zeroed. */
    void (*open)(pl_simconn_t *sc, void *ud);
    /* Optional: the connection is gone (also at pl_simconn_set_close()); its state is still
     * there and is freed after this returns. Nothing may be sent on it any more. */
    void (*gone)(pl_simconn_t *sc, void *ud);
} pl_simconn_cbs_t;

typedef struct {
    const char *name;          /* log prefix, e.g. "pccc server" */
    size_t max_frame;          /* longest frame `frame` accepts: the input buffer */
    size_t state_size;         /* bytes of protocol state per connection (zeroed) */
    unsigned delay_ms;         /* every answer leaves this long after it was made; 0: at once */
    unsigned at_once;          /* with delay_ms: answers in the making at once per connection
                                  (1: a device serving one request at a time); the next one's
                                  delay starts when one has left; 0: no limit */
    unsigned close_after;      /* close a connection when its N-th frame arrives; 0: never */
    unsigned ready_timeout_ms; /* close a connection not pl_simconn_ready() by then; 0: never */
    unsigned idle_timeout_ms;  /* close a connection that sent nothing this long; 0: never */
    const char *ready_what;    /* what "ready" is, for the log: "RegisterSession" */
    const pl_logger_t *log;
    /* The simulator's counters, bumped here (each may be NULL). */
    uint64_t *connections;    /* connections accepted */
    uint64_t *frames_in;      /* frames received (counted before close_after) */
    uint64_t *bad_frames;     /* unframeable input, frame timeouts */
    uint64_t *ready_timeouts; /* connections closed for not being ready in time */
    uint64_t *idle_timeouts;  /* connections closed for sending nothing in idle_timeout_ms */
} pl_simconn_config_t;

/* The listener and its connections; storage owned by the caller (in the simulator). */
typedef struct {
    uv_loop_t *loop;
    pl_listener_t *lst;
    pl_simconn_config_t cfg;
    pl_simconn_cbs_t cbs;
    void *ud;
    pl_simconn_t *head;
    unsigned count;
    pl_ratelimit_t rl; /* every line a partner can cause, here and in the protocol */
    pl_ratelimit_slot_t rl_slots[32];
} pl_simconn_set_t;

/* Listens with `listen` (its log defaults to cfg->log) and serves what it accepts. `cfg`
 * is copied (the strings and counters it points to must outlive the set). Returns 0 or the
 * listener's error (err says why); nothing to close on error. */
int pl_simconn_set_init(pl_simconn_set_t *set, uv_loop_t *loop, const pl_listener_config_t *listen,
                        const pl_simconn_config_t *cfg, const pl_simconn_cbs_t *cbs, void *ud,
                        pl_status_t *err);

/* Closes the listener and every connection; no callback follows. Each connection's memory
 * goes with its timer's close callback, which does not touch `set`: the set's storage may
 * be freed as soon as this returns. */
void pl_simconn_set_close(pl_simconn_set_t *set);

/* Connections open now. */
unsigned pl_simconn_count(const pl_simconn_set_t *set);

/* Sends buf[0..len) now (no delay) to every connection; returns how many took it. */
int pl_simconn_send_all(pl_simconn_set_t *set, const uint8_t *buf, size_t len);

/* The protocol's state of `sc`: cfg.state_size bytes, zeroed at accept, aligned for any
 * type. */
void *pl_simconn_state(pl_simconn_t *sc);

/* For a simulator of a device that serves one request (or `max`) at a time: called for
 * each request as it arrives (before it is served), 1 when `max` requests are unanswered
 * already, so the device would not take this one (the caller closes the connection or
 * ignores the request, and serves nothing); else 0, and the request counts as unanswered
 * from then on. Unanswered: the requests of `sc` let in from the same read (the partner
 * sent this one before it could have seen their answers) and the answers to requests held
 * back by delay_ms (pl_simconn_answer_uncounted ones aside). A partner that waits for each
 * answer before it sends the next request is never caught. `max` 0: no limit, always 0.
 * Frames that are no requests to the protocol (keep-alives) are simply not passed here. */
int pl_simconn_over_inflight(pl_simconn_t *sc, unsigned max);

/* The partner as "127.0.0.1:50000" (for logs). */
const char *pl_simconn_peer(const pl_simconn_t *sc);

/* Answers on `sc`: sent now, or after delay_ms behind the answers held before it. When
 * PL_SIMCONN_MAX_DELAYED answers are held (or no memory), the connection is closed. */
void pl_simconn_answer(pl_simconn_t *sc, const uint8_t *buf, size_t len);

/* As pl_simconn_answer, for an answer that pl_simconn_over_inflight() does not count while
 * it is held back (a keep-alive's). */
void pl_simconn_answer_uncounted(pl_simconn_t *sc, const uint8_t *buf, size_t len);

/* The partner did what the protocol asks of it: the ready deadline no longer applies. */
void pl_simconn_ready(pl_simconn_t *sc);

/* Logs a line that the partner of `sc` caused, through the set's rate limiter (per
 * partner and message: the first few in full, then a count per interval; core/log.c). Every
 * simulator logs what its partners do with it. */
void pl_simconn_log(pl_simconn_t *sc, pl_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Closes `sc` (on_close follows from the listener); `why` NULL: closed locally. */
void pl_simconn_close(pl_simconn_t *sc, const pl_status_t *why);

#endif
