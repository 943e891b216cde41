/* SPDX-License-Identifier: MIT */
/*
 * The client core shared by the protocol clients (7TTCP, PCCC, Modbus, ...): the client-side
 * twin of simconn. It owns the work every request-answer client does on a line: a bounded
 * request queue (PL_ENO_MSG when full), the messages in flight keyed by the protocol's
 * transaction id (or one at a time), a deadline per message and one for requests waiting for
 * a connection (one lazy timer), the late answers to timed-out messages (dropped and
 * counted), session set-up as an explicit state before requests flow, what happens to
 * requests in flight when the line drops (failed, or re-queued), the start/free lifecycle on
 * a pl_line_t, statistics, and the per-partner log rate limiter.
 *
 * A request is one or more messages: the protocol encodes them one by one (message k of a
 * request, k = 0, 1, ...), up to `limit` messages are in flight at once, each in a slot with
 * its transaction id. The protocol supplies what is its own through pl_client_ops_t: where a
 * frame ends (simconn's contract), encoding the next message of a request, which message a
 * received frame answers, handling a frame, and its session set-up on connect.
 *
 * Every request completes exactly once, through ops.complete; no protocol operation is
 * called after pl_client_free() returns. Nothing here prints or blocks; the core logs what
 * it decides itself (timeouts, protocol errors, set-up timeouts) as "<name> <peer>: ...",
 * through the rate limiter. Private to src/proto; the loop thread only.
 */
#ifndef PLCLINE_PROTO_CLIENT_H
#define PLCLINE_PROTO_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/line.h"
#include "plcline/log.h"
#include "proto/simconn.h"

typedef struct pl_client_s pl_client_t;

/* The core's part of a request. The protocol embeds it in its own request (e.g. in the
 * private storage of its public request type) and finds its request back from it with
 * offsetof; the core never allocates a request. */
typedef struct pl_client_req_s pl_client_req_t;
struct pl_client_req_s {
    pl_client_req_t *prev_, *next_; /* private */
    uint32_t sent;                  /* messages encoded so far: the index of the next one */
    uint32_t outstanding;           /* messages in flight */
    uint8_t last_sent;              /* the last message was encoded (see ops.encode) */
    uint8_t state_;                 /* private */
};

/* Defines, for a protocol whose request type `type` keeps the core's part in its member
 * `member` (storage of at least sizeof(pl_client_req_t) bytes, checked at compile time):
 *   pl_client_req_t *core_of(type *r)    the core's part of request r
 *   type *req_of(pl_client_req_t *core)  the request a core part belongs to */
#define PL_CLIENT_REQ_ACCESSORS(type, member)                              \
    _Static_assert(sizeof(pl_client_req_t) <= sizeof(((type *)0)->member), \
                   #type "." #member " holds the core's part");            \
    static inline pl_client_req_t *core_of(type *r)                        \
    {                                                                      \
        return (pl_client_req_t *)(void *)r->member;                       \
    }                                                                      \
    static inline type *req_of(pl_client_req_t *core)                      \
    {                                                                      \
        return (type *)(void *)((char *)core - offsetof(type, member));    \
    }

/* One message in flight. */
typedef struct {
    pl_client_req_t *req; /* the request it belongs to; NULL: the request is gone */
    uint32_t id;          /* the transaction id: the protocol sets it in ops.encode */
    uint32_t id2;         /* a second key the protocol may set in ops.encode (e.g. CIP's
                             sequence count), for answers that carry only that one */
    uint32_t index;       /* which message of the request (req->sent when encoded) */
    uint32_t seq;         /* order of sending (wraps), for pl_client_slot_first() */
    uint64_t due;         /* uv_now() ms; 0: free */
    uint64_t sent_ns;     /* uv_hrtime() at send, for the round-trip time */
    void *state;          /* cfg.slot_size bytes of the protocol's (not zeroed: encode sets) */
} pl_client_slot_t;

/* What ops.handle did with a frame. */
enum {
    PL_CLIENT_OK = 0,   /* the message is answered; the request goes on or completes */
    PL_CLIENT_FAIL = 1, /* the message is answered with an error (*st): the request fails */
    PL_CLIENT_OTHER = 2 /* the frame answers no message (session, keep-alive, unsolicited) */
};

/* What ops.match found. */
enum {
    PL_CLIENT_NONE = 0,   /* the frame answers no message: ops.handle with slot NULL */
    PL_CLIENT_ANSWER = 1, /* an answer to the message with transaction id *id */
    PL_CLIENT_ANSWER2 = 2 /* an answer to the message whose second key (slot id2) is *id */
};

/* What ops.timeout wants done (besides 0, keep the connection, and 1, drop it). */
enum {
    PL_CLIENT_DROP_HOLD = 2 /* drop the connection; this message stays in flight, with the
                               others, and ops.down decides for all of them (fail or
                               re-queue); no deadline of theirs runs meanwhile */
};

/* What ops.down wants done with the requests in flight when the line went down. */
enum {
    PL_CLIENT_FAIL_INFLIGHT = 0, /* each fails with the reason of the break */
    PL_CLIENT_REQUEUE = 1        /* each goes back to the front of the queue, from message 0 */
};

typedef struct {
    /* Required: where the frame at buf[0..len) ends (simconn's pl_simconn_frame_fn). */
    pl_simconn_frame_fn frame;
    /* Required: encodes message `req->sent` of `req` into buf[0..cap) and sets slot->id
     * (and slot->state); returns its length, or a negative PL_E* that fails the request
     * (*st says why). Sets *last when this is the request's last message. */
    int (*encode)(pl_client_t *cl, pl_client_req_t *req, pl_client_slot_t *slot, uint8_t *buf,
                  size_t cap, int *last, pl_status_t *st, void *ud);
    /* Required: which message the frame answers: PL_CLIENT_ANSWER with its id in *id,
     * PL_CLIENT_NONE, or a negative PL_E* (*st says why): the connection is dropped and the
     * requests in flight fail. An id in flight goes to handle; an id that timed out on this
     * connection is dropped and counted (cfg.late), once; any other id is a protocol error.
     * PL_CLIENT_ANSWER2 looks the message up by its second key (slot id2) the same way.
     * May handle the frame itself (a session reply) and call any pl_client_* function;
     * after pl_client_drop() or pl_client_free() the frame goes no further. A
     * protocol without ids (one at a time) answers with pl_client_slot_first()'s id. */
    int (*match)(pl_client_t *cl, const uint8_t *frame, size_t len, uint32_t *id, pl_status_t *st,
                 void *ud);
    /* Required: handles a frame; `slot` is the message it answers (NULL: PL_CLIENT_NONE;
     * slot->req NULL: its request already failed, the answer is only consumed).
     * Returns PL_CLIENT_OK, PL_CLIENT_FAIL (*st: the request's error), PL_CLIENT_OTHER (with
     * a slot: the message stays in flight, e.g. after an interim answer), or a negative
     * PL_E* (*st says why): the connection is dropped, the requests in flight fail. May call
     * any pl_client_* function. */
    int (*handle)(pl_client_t *cl, pl_client_slot_t *slot, const uint8_t *frame, size_t len,
                  pl_status_t *st, void *ud);
    /* Required: the request is done: hand `st` (code 0: success, and then its detail is
     * empty) to its owner. Called once per request; the core no longer knows the request.
     * The protocol may translate the code in *st; the core counts an error when
     * st->code != 0 after the call. */
    void (*complete)(pl_client_t *cl, pl_client_req_t *req, pl_status_t *st, void *ud);
    /* Optional: the line is up. Returns 0: requests may flow now; 1: a session set-up was
     * started (pl_client_send() its messages; its answers come to handle with slot NULL),
     * pl_client_ready() ends it; <0: drop the connection (*st says why). */
    int (*connect)(pl_client_t *cl, pl_status_t *st, void *ud);
    /* Optional: the line went down with `why` (the session is gone; was_up: 0 when it was a
     * connect attempt that failed). Returns PL_CLIENT_FAIL_INFLIGHT or PL_CLIENT_REQUEUE for
     * the requests in flight; called before any of them completes (pl_client_busy() and
     * pl_client_send_failed() still tell what was in flight). Without it: fail. */
    int (*down)(pl_client_t *cl, const pl_status_t *why, int was_up, void *ud);
    /* Optional: message `slot` got no answer in time; *st is PL_ETIMEOUT "no answer within
     * N ms" and may be rewritten. Returns 1 to drop the connection as well (the core's log
     * line then ends with ", reconnecting"), 0 to keep it (a late answer is then dropped and
     * counted), PL_CLIENT_DROP_HOLD to drop it without failing the message. Without it: keep. */
    int (*timeout)(pl_client_t *cl, pl_client_slot_t *slot, pl_status_t *st, void *ud);
    /* Optional: the session set-up got no answer in time; *st is PL_ETIMEOUT "session
     * set-up: no answer within N ms" and may be rewritten (to name the set-up message).
     * drop 1: the set-up's own deadline passed, the connection is dropped and *st is the
     * reason the waiting requests get if no later set-up ends in time; drop 0: the waiting
     * requests' deadline passed during the set-up and they fail with *st now. */
    void (*setup_timeout)(pl_client_t *cl, pl_status_t *st, int drop, void *ud);
} pl_client_ops_t;

typedef struct {
    const char *name;        /* log prefix, "7ttcp" */
    const char *partner;     /* what the other end is called in errors: "node" */
    unsigned timeout_ms;     /* per message; also how long requests wait for a session
                                (from the first one queued without one: reconnects and
                                set-ups do not restart it) */
    unsigned max_queue;      /* requests queued or in flight at most */
    unsigned max_inflight;   /* messages in flight at most (slots); 1: one at a time */
    size_t max_frame;        /* longest frame ops.frame accepts: the input buffer */
    size_t max_msg;          /* longest message ops.encode writes: the send buffer */
    size_t slot_size;        /* bytes of protocol state per message in flight */
    unsigned expired_max;    /* timed-out ids remembered to recognise late answers (0: 16) */
    uint8_t send_fail_waits; /* 1: a message that could not be sent leaves its request
                                waiting for the next connection (it never reached the
                                partner; a full output queue, PL_ENOBUFS, still fails
                                it); 0: the request fails with PL_ESEND */
    size_t coalesce;         /* bytes of messages gathered while corked (pl_client_cork) and sent
                                with one write; 0: every message is sent as it is encoded. Needs
                                max_inflight > 1 and send_fail_waits 0 */
    uint8_t one_by_one;      /* 1: a request's next message goes out only once its
                                previous one is answered (a write in several messages
                                stops at the first that fails); the requests behind it
                                may use the other slots meanwhile. 0: up to the limit */
    /* Optional: called once from the loop when the core's memory is gone after
     * pl_client_free() (the one call after it), so the protocol can free its own state,
     * which the core's counters and `ud` may point into, at the same time. */
    void (*freed)(void *ud);
    const pl_logger_t *log;
    /* The protocol's counters, bumped here (each may be NULL). */
    uint64_t *requests;    /* requests accepted */
    uint64_t *responses;   /* messages answered (OK or FAIL) */
    uint64_t *timeouts;    /* messages that got no answer in time */
    uint64_t *errors;      /* requests completed with an error */
    uint64_t *late;        /* answers that came after their message timed out */
    uint64_t *last_rtt_us; /* round-trip time of the last answered message (a message sent
                              while an answer is handled counts from that answer's arrival) */
} pl_client_config_t;

/* Makes the client and its line (cfg and line are copied; the strings and counters they
 * point to must outlive the client). frame, encode, match, handle and complete are
 * required; timeout_ms, max_queue, max_inflight, max_frame and max_msg must not be 0.
 * Returns 0 or PL_EINVAL/PL_ENOMEM/the line's error. */
int pl_client_new(uv_loop_t *loop, const pl_line_config_t *line, const pl_client_config_t *cfg,
                  const pl_client_ops_t *ops, void *ud, pl_client_t **out);

/* Keeps the line connected from now on (reconnecting with its back-off). Without it the
 * line connects on the first request and stops when no request is left after a failure. */
int pl_client_start(pl_client_t *cl);

/* Fails every request (queued or in flight) with PL_ECANCELED "client closed", closes the
 * line and frees the client (its memory goes with its timer's close callback). No
 * operation is called after it returns; ops.complete is called during it. */
void pl_client_free(pl_client_t *cl);

/* Queues `req` (its core part is initialised here) and sends when it can. Returns 0,
 * PL_ECLOSING after pl_client_free(), or PL_ENO_MSG when max_queue requests are pending;
 * on error ops.complete is not called. */
int pl_client_submit(pl_client_t *cl, pl_client_req_t *req);

/* Takes back `req` when none of its messages went out yet: it completes now with `why`
 * (ops.complete runs before this returns) and 1 is returned. 0: a message of it is on the
 * wire (or the request is not queued here); it completes as usual. */
int pl_client_cancel(pl_client_t *cl, pl_client_req_t *req, const pl_status_t *why);

/* The session is set up (after ops.connect returned 1): requests flow. */
void pl_client_ready(pl_client_t *cl);

/* The partner refused the session (`why`, logged by the caller): the connection is dropped
 * as by pl_client_drop(), and the attempt counts as a failed connect attempt, so once every
 * host failed or refused, the waiting requests fail with `why`. */
void pl_client_refuse(pl_client_t *cl, const pl_status_t *why);

/* Sends buf[0..len) now, outside any request (session set-up, keep-alive). Returns 0 or
 * the line's error. */
int pl_client_send(pl_client_t *cl, const uint8_t *buf, size_t len);

/* Gives up the connection with `why` (logged by the caller): the requests in flight are
 * handled as ops.down says when the line reports the break; meanwhile no byte received is
 * looked at and nothing is sent. */
void pl_client_drop(pl_client_t *cl, const pl_status_t *why);

/* Fails every request in flight with `st` (the connection stays). */
void pl_client_fail_inflight(pl_client_t *cl, const pl_status_t *st);

/* The partner could not take several messages at once: `why` ended the connection (or is
 * about to) with `n` in flight, which ops.down re-queues (PL_CLIENT_REQUEUE). Sets the limit
 * to 1, logs one warning "<name> <peer>: <error> (<detail>) with N requests in flight: one
 * request at a time with this <partner> from now on; the N are sent again", and writes
 * "<peer>, N in flight: <error>: <detail>" into reason[0..cap) when it is still empty (the
 * protocol's first reason, for its statistics). `peer` is the connection's, saved at
 * connect (the line's is gone once it is down). Keeping the host at one from then on is the
 * protocol's (its ops.connect sets the limit). */
void pl_client_fall_back(pl_client_t *cl, const char *peer, const pl_status_t *why, unsigned n,
                         char *reason, size_t cap);

/* Messages allowed in flight from now on (1..max_inflight). */
void pl_client_set_limit(pl_client_t *cl, unsigned limit);

/* The message in flight with transaction id `id` (with limit 1: the one in flight), or
 * NULL. */
pl_client_slot_t *pl_client_slot(pl_client_t *cl, uint32_t id);

/* The message in flight whose second key (slot id2) is `id2`, or NULL. */
pl_client_slot_t *pl_client_slot2(pl_client_t *cl, uint32_t id2);

/* 1 when a message that timed out on this connection and whose late answer has not come
 * yet has the id `key` (second 0) or the second key `key` (second 1): ops.match may then
 * answer with it, and the core drops the answer as late. */
int pl_client_expired(const pl_client_t *cl, uint32_t key, int second);

/* The oldest message in flight, or NULL. */
pl_client_slot_t *pl_client_slot_first(pl_client_t *cl);

/* The message sent next after `s` that is still in flight, or NULL. */
pl_client_slot_t *pl_client_slot_next(pl_client_t *cl, const pl_client_slot_t *s);

/* Fails message `s` alone with `why`: its request completes (ops.complete may run) and the
 * slot is free; the connection and the other messages stay. Nothing when `s` is free. */
void pl_client_slot_fail(pl_client_t *cl, pl_client_slot_t *s, const pl_status_t *why);

/* 1 when `id` is in flight or remembered as timed out (a protocol choosing ids skips it). */
int pl_client_id_taken(const pl_client_t *cl, uint32_t id);

/* Messages in flight now. */
unsigned pl_client_busy(const pl_client_t *cl);

/* 1 when a message could not be sent on this connection (cfg.send_fail_waits: its request
 * waits); valid up to the end of ops.down. */
int pl_client_send_failed(const pl_client_t *cl);

/* 1 while the connection is up and not dropped (set-up may still be running). */
int pl_client_is_up(const pl_client_t *cl);

/* 1 while the connection is up and its session set up: requests flow. */
int pl_client_is_ready(const pl_client_t *cl);

/* Requests queued or in flight. */
unsigned pl_client_pending(const pl_client_t *cl);

/* The line (to read its peer, state, statistics). */
pl_line_t *pl_client_line(pl_client_t *cl);

/* Corks the client: messages encoded from now on are gathered (up to cfg.coalesce bytes)
 * instead of sent one by one, until the matching pl_client_uncork(), which sends them with
 * one write. Calls nest. Without cfg.coalesce both do nothing. For a caller that submits
 * several requests at once (the engine's scan of a device): one system call, one segment,
 * instead of one per request. A failed write drops the connection: the messages gathered
 * are in flight and fail with its reason, as when the connection breaks after a send. */
void pl_client_cork(pl_client_t *cl);
void pl_client_uncork(pl_client_t *cl);

/* The send buffer (cfg.max_msg bytes at *cap): ops.encode writes into it; outside encode
 * the protocol may use it as scratch space, up to the next request it submits or the next
 * pl_client_* call that may send. */
uint8_t *pl_client_scratch(pl_client_t *cl, size_t *cap);

/* The loop. */
uv_loop_t *pl_client_loop(const pl_client_t *cl);

/* Logs a line the partner caused, through the client's rate limiter (per partner and
 * message; core/log.c). */
void pl_client_log(pl_client_t *cl, pl_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
