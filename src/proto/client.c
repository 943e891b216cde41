/* SPDX-License-Identifier: MIT */
/*
 * The client core: requests queued and in flight, deadlines, session state, reconnects and
 * statistics for every protocol client (client.h says what it owns and what a protocol
 * provides). It must not know a wire format, print, or call a protocol operation after
 * pl_client_free() returns.
 *
 * Requests are one list in submission order: the active ones (some message sent) first,
 * then the waiting ones; `cursor` is the first that still has a message to send (with
 * one_by_one, requests behind it may be active too, while its own answer is awaited). One timer
 * serves every deadline, lazily: a new deadline moves it only when it is earlier, an answer
 * touches no timer, and a timer that fires early re-arms itself for the rest. So the common
 * request-answer cycle costs no timer call at all.
 */
#include "proto/client.h"

#include "plcline/error.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_EXPIRED 16u

enum { ST_DOWN = 0, ST_SETUP, ST_READY };
enum { R_WAIT = 0, R_ACTIVE, R_DONE };

/* A timed-out message's keys, to recognise its late answer (once). */
typedef struct {
    uint32_t id, id2;
    uint8_t used;
} expired_t;

struct pl_client_s {
    uv_loop_t *loop;
    pl_line_t *line;
    pl_client_config_t cfg;
    pl_client_ops_t ops;
    void *ud;

    int state;
    uint8_t up, dropping, closing, persistent;
    uint8_t held;        /* ops.timeout said PL_CLIENT_DROP_HOLD: the messages in flight wait
                            for ops.down, no deadline of theirs runs */
    uint8_t refused;     /* the connection is dropped because the partner refused the session */
    uint8_t send_failed; /* a message could not be sent on this connection */
    unsigned conn_gen, attempt_failures, nhosts, limit;

    pl_client_req_t *head, *tail, *cursor;
    unsigned pending;

    pl_client_slot_t *slot;
    unsigned nslots;         /* slots allocated: 1 until more are needed (grow_slots) */
    uint8_t grow;            /* more slots are needed: grow_slots() at the next timer turn */
    unsigned depth;          /* inside a callback of the core's (timer, line), where slot
                                pointers may be held: the slots do not move then */
    uint8_t *wide;           /* the max_inflight slots, their states and cbuf, once grown */
    pl_client_slot_t *found; /* the last pl_client_slot() hit, while a frame is matched */
    unsigned nbusy;
    expired_t *expired;                  /* timed-out messages, a ring */
    unsigned expired_next, expired_used; /* expired_used: entries with .used set */

    uv_timer_t timer;
    uint64_t armed_at; /* uv_now() ms the timer fires at, while `armed` */
    uint8_t armed;
    uint64_t wait_due;     /* requests waiting for a connection fail then; 0: none */
    uint64_t setup_due;    /* the session set-up must be done by then; 0: none */
    pl_status_t setup_err; /* code != 0: the last set-up timed out (this reason) */

    pl_simconn_rx_t rx;
    uint64_t batch_ns; /* uv_hrtime() of the bytes being handled, 0: not read yet */
    uint8_t in_batch;  /* inside on_line_data: batch_ns serves as the clock */
    uint8_t *tx;
    uint8_t *cbuf;     /* cfg.coalesce bytes: messages gathered while corked (NULL until
                          the slots grew: nothing is gathered before) */
    size_t clen;       /* bytes in cbuf */
    unsigned corked;   /* pl_client_cork() calls not yet uncorked */
    uint32_t send_seq; /* the next message's pl_client_slot_t.seq */
    pl_ratelimit_t rl;
    pl_ratelimit_slot_t rl_slots[4];
};

#define BUMP(p)          \
    do {                 \
        if ((p) != NULL) \
            (*(p))++;    \
    } while (0)

static void pump(pl_client_t *cl);
static void grow_slots(pl_client_t *cl);

/* pl_status_clear(), inline: it is on every request's path. */
static inline void st_clear(pl_status_t *st)
{
    st->code = 0;
    st->sys = 0;
    st->detail[0] = '\0';
}

static const char *peer(const pl_client_t *cl)
{
    return cl->line != NULL ? pl_line_peer(cl->line) : "";
}

void pl_client_log(pl_client_t *cl, pl_log_level_t level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)pl_log_limitedv(&cl->rl, uv_now(cl->loop), cl->cfg.log, level, peer(cl), fmt, ap);
    va_end(ap);
}

/* A clock for round-trip times: while received bytes are handled, the time they were
 * handed over (read once per batch), else now. A request sent from an answer's callback
 * thus counts its time from that answer's arrival: one clock reading per exchange. */
static uint64_t clock_ns(pl_client_t *cl)
{
    if (!cl->in_batch)
        return uv_hrtime();
    if (cl->batch_ns == 0)
        cl->batch_ns = uv_hrtime();
    return cl->batch_ns;
}

/* --- timer ------------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t);

/* The timer fires by `due` at the latest. */
static void arm_at(pl_client_t *cl, uint64_t due)
{
    uint64_t now;

    if (cl->armed && cl->armed_at <= due)
        return;
    now = uv_now(cl->loop);
    cl->armed = 1;
    cl->armed_at = due;
    uv_timer_start(&cl->timer, on_timer, due > now ? due - now : 0, 0);
}

/* The earliest deadline, 0: none. */
static uint64_t earliest(const pl_client_t *cl)
{
    uint64_t m = 0;
    unsigned i;

    if (cl->wait_due != 0)
        m = cl->wait_due;
    if (cl->setup_due != 0 && (m == 0 || cl->setup_due < m))
        m = cl->setup_due;
    for (i = 0; i < cl->nslots && cl->nbusy > 0 && !cl->held; i++)
        if (cl->slot[i].due != 0 && (m == 0 || cl->slot[i].due < m))
            m = cl->slot[i].due;
    return m;
}

/* --- requests --------------------------------------------------------------------- */

/* The first request from `r` on that has a message left to send (with one_by_one, a
 * request behind the cursor may have sent all of its messages already). */
static pl_client_req_t *sendable_from(pl_client_req_t *r)
{
    while (r != NULL && r->last_sent)
        r = r->next_;
    return r;
}

static void unlink_req(pl_client_t *cl, pl_client_req_t *r)
{
    if (cl->cursor == r)
        cl->cursor = sendable_from(r->next_);
    if (r->prev_ != NULL)
        r->prev_->next_ = r->next_;
    else
        cl->head = r->next_;
    if (r->next_ != NULL)
        r->next_->prev_ = r->prev_;
    else
        cl->tail = r->prev_;
    r->prev_ = r->next_ = NULL;
    cl->pending--;
}

static void slot_free(pl_client_t *cl, pl_client_slot_t *s)
{
    s->due = 0;
    s->req = NULL;
    cl->nbusy--;
}

/* Completes `r` with `st` once (ops.complete may change *st): its messages still in
 * flight lose their request (their answers are dropped). */
static void finish(pl_client_t *cl, pl_client_req_t *r, pl_status_t *st)
{
    unsigned i;

    if (r->outstanding > 0)
        for (i = 0; i < cl->nslots; i++)
            if (cl->slot[i].req == r)
                cl->slot[i].req = NULL;
    unlink_req(cl, r);
    r->state_ = R_DONE;
    cl->ops.complete(cl, r, st, cl->ud);
    if (st->code != 0)
        BUMP(cl->cfg.errors);
}

/* Fails the requests that sent nothing yet. */
static void fail_waiting(pl_client_t *cl, const pl_status_t *why)
{
    pl_client_req_t *r, *next;
    pl_status_t st;

    for (r = cl->head; r != NULL && !cl->closing; r = next) {
        next = r->next_;
        if (r->state_ == R_WAIT) {
            st = *why;
            finish(cl, r, &st);
        }
    }
}

void pl_client_slot_fail(pl_client_t *cl, pl_client_slot_t *s, const pl_status_t *why)
{
    pl_client_req_t *r = s->req;
    pl_status_t st;

    if (s->due == 0)
        return;
    slot_free(cl, s);
    if (r != NULL) {
        r->outstanding--;
        st = *why;
        finish(cl, r, &st);
    }
}

void pl_client_fail_inflight(pl_client_t *cl, const pl_status_t *why)
{
    unsigned i;

    for (i = 0; i < cl->nslots && cl->nbusy > 0 && !cl->closing; i++)
        pl_client_slot_fail(cl, &cl->slot[i], why);
}

int pl_client_submit(pl_client_t *cl, pl_client_req_t *req)
{
    if (cl->closing)
        return PL_ECLOSING;
    if (cl->pending >= cl->cfg.max_queue)
        return PL_ENO_MSG;
    req->prev_ = cl->tail;
    req->next_ = NULL;
    req->sent = 0;
    req->outstanding = 0;
    req->last_sent = 0;
    req->state_ = R_WAIT;
    if (cl->tail != NULL)
        cl->tail->next_ = req;
    else
        cl->head = req;
    cl->tail = req;
    if (cl->cursor == NULL)
        cl->cursor = req;
    cl->pending++;
    BUMP(cl->cfg.requests);

    if (cl->state == ST_READY) {
        pump(cl);
        return 0;
    }
    /* no session: the request waits a whole timeout at most, through connects and set-ups */
    if (!cl->up && cl->pending == 1 && !cl->persistent)
        cl->attempt_failures = 0;
    if (cl->wait_due == 0) {
        cl->wait_due = uv_now(cl->loop) + cl->cfg.timeout_ms;
        arm_at(cl, cl->wait_due);
    }
    if (!cl->up)
        (void)pl_line_start(cl->line);
    return 0;
}

int pl_client_cancel(pl_client_t *cl, pl_client_req_t *req, const pl_status_t *why)
{
    pl_client_req_t *r;
    pl_status_t st;

    if (cl->closing || req->state_ != R_WAIT || req->sent != 0)
        return 0;
    for (r = cl->head; r != NULL && r != req; r = r->next_) /* queued here, not elsewhere */
        ;
    if (r == NULL)
        return 0;
    st = *why;
    finish(cl, req, &st);
    return 1;
}

/* --- connection ------------------------------------------------------------------- */

void pl_client_drop(pl_client_t *cl, const pl_status_t *why)
{
    if (!cl->up)
        return;
    cl->up = 0;
    cl->state = ST_DOWN;
    cl->dropping = 1;
    cl->conn_gen++;
    cl->clen = 0; /* gathered for the connection that is gone */
    cl->setup_due = 0;
    pl_line_drop(cl->line, why);
}

/* The connection carries what the protocol cannot make sense of: the requests in flight
 * fail with `why`, the connection is dropped. */
static void proto_error(pl_client_t *cl, const pl_status_t *why)
{
    pl_status_t st = *why;

    pl_client_log(cl, PL_LOG_WARN, "%s %s: %s: %s, reconnecting", cl->cfg.name, peer(cl),
                  pl_strerror(st.code), st.detail);
    pl_client_drop(cl, &st);
    pl_client_fail_inflight(cl, &st);
}

int pl_client_send(pl_client_t *cl, const uint8_t *buf, size_t len)
{
    if (!cl->up)
        return PL_ECLOSING;
    return pl_line_send(cl->line, buf, len);
}

void pl_client_refuse(pl_client_t *cl, const pl_status_t *why)
{
    if (!cl->up)
        return;
    cl->refused = 1;
    pl_client_drop(cl, why);
}

void pl_client_ready(pl_client_t *cl)
{
    if (!cl->up || cl->closing)
        return;
    cl->state = ST_READY;
    cl->setup_due = 0;
    cl->setup_err.code = 0;
    cl->wait_due = 0; /* the waiting requests go out now, each with its own deadline */
    pump(cl);
}

static pl_client_slot_t *free_slot(pl_client_t *cl)
{
    unsigned i;

    if (cl->nbusy == 0)
        return &cl->slot[0];
    for (i = 0; i < cl->nslots; i++)
        if (cl->slot[i].due == 0)
            return &cl->slot[i];
    return NULL;
}

/* Sends what was gathered while corked. A failure drops the connection: the gathered
 * messages are in flight and fail with its reason. */
static void flush(pl_client_t *cl)
{
    pl_status_t st;
    size_t len = cl->clen;
    int rc;

    if (len == 0)
        return;
    cl->clen = 0;
    rc = pl_line_send(cl->line, cl->cbuf, len);
    if (rc < 0) {
        pl_status_set(&st, PL_ESEND, 0, "%s", pl_strerror(rc));
        pl_client_drop(cl, &st);
        pl_client_fail_inflight(cl, &st);
    }
}

/* Sends the n bytes encoded in cl->tx, or gathers them while corked. */
static int send_msg(pl_client_t *cl, size_t n)
{
    if (cl->corked == 0 || n > cl->cfg.coalesce || cl->cbuf == NULL)
        return pl_line_send(cl->line, cl->tx, n);
    if (cl->clen + n > cl->cfg.coalesce)
        flush(cl);
    if (!cl->up)
        return PL_ECLOSING;
    memcpy(cl->cbuf + cl->clen, cl->tx, n);
    cl->clen += n;
    return 0;
}

void pl_client_cork(pl_client_t *cl)
{
    if (cl->cfg.coalesce == 0)
        return;
    cl->corked++;
    /* a batch is coming: the slots (and the gathering buffer) grow now when they can, so
     * that the whole batch goes out with one write */
    if (cl->nslots < cl->cfg.max_inflight && cl->limit > 1 && cl->depth == 0)
        grow_slots(cl);
}

void pl_client_uncork(pl_client_t *cl)
{
    if (cl->corked == 0 || --cl->corked > 0)
        return;
    if (!cl->closing && cl->up)
        flush(cl);
    cl->clen = 0;
}

static void pump(pl_client_t *cl)
{
    pl_client_req_t *r;
    pl_client_slot_t *s;
    pl_status_t st;
    int n, rc, last;

    while (cl->state == ST_READY && !cl->closing && cl->nbusy < cl->limit &&
           (r = cl->cursor) != NULL) {
        if (r->outstanding > 0 && cl->cfg.one_by_one) {
            /* its next message waits for the answer: a request behind it may go */
            do
                r = r->next_;
            while (r != NULL && (r->last_sent || r->outstanding > 0));
            if (r == NULL)
                return;
        }
        s = free_slot(cl);
        if (s == NULL && cl->nslots < cl->cfg.max_inflight) {
            /* a second message is to be out: the slots grow, now when no slot pointer can
             * be held up the stack (outside the core's callbacks: a batch of the engine
             * goes out whole), else at the next timer turn */
            if (cl->depth == 0) {
                grow_slots(cl);
                s = free_slot(cl);
            } else if (!cl->grow) {
                cl->grow = 1;
                arm_at(cl, uv_now(cl->loop));
            }
        }
        if (s == NULL)
            return;
        s->req = r;
        s->id = s->id2 = 0;
        s->index = r->sent;
        last = 0;
        st_clear(&st);
        n = cl->ops.encode(cl, r, s, cl->tx, cl->cfg.max_msg, &last, &st, cl->ud);
        if (n < 0 || (size_t)n > cl->cfg.max_msg) {
            s->req = NULL;
            if (st.code == 0)
                pl_status_set(&st, n < 0 ? n : PL_ENOBUFS, 0, "encoding the request failed");
            finish(cl, r, &st);
            continue;
        }
        rc = send_msg(cl, (size_t)n);
        if (rc < 0) {
            s->req = NULL;
            if (cl->cfg.send_fail_waits && rc != PL_ENOBUFS) {
                /* it never reached the partner: it waits for the next connection */
                pl_status_set(&st, PL_ESEND, 0, "sending the request failed: %s", pl_strerror(rc));
                cl->send_failed = 1;
                pl_client_drop(cl, &st);
                return;
            }
            pl_status_set(&st, PL_ESEND, 0, "%s", pl_strerror(rc));
            pl_client_drop(cl, &st);
            finish(cl, r, &st);
            return;
        }
        r->sent++;
        r->outstanding++;
        r->state_ = R_ACTIVE;
        if (last) {
            r->last_sent = 1;
            if (cl->cursor == r)
                cl->cursor = sendable_from(r->next_);
        }
        cl->nbusy++;
        s->sent_ns = clock_ns(cl);
        s->seq = cl->send_seq++;
        s->due = uv_now(cl->loop) + cl->cfg.timeout_ms;
        if (!cl->armed || cl->armed_at > s->due)
            arm_at(cl, s->due);
    }
}

/* --- timer ------------------------------------------------------------------------ */

/* An on-demand client with nothing left to do stops its line. A stopped line reports no
 * on_down, so a connection that was up (its session set-up unfinished) ends here. */
static void stop_line(pl_client_t *cl, const pl_status_t *why)
{
    int was_up = cl->up || cl->dropping;

    pl_line_stop(cl->line);
    if (!was_up)
        return;
    cl->up = 0;
    cl->dropping = cl->held = 0;
    cl->state = ST_DOWN;
    cl->setup_due = 0;
    cl->conn_gen++;
    cl->rx.len = 0;
    cl->clen = 0;
    if (cl->ops.down != NULL)
        (void)cl->ops.down(cl, why, 1, cl->ud); /* nothing is in flight */
}

static void remember_expired(pl_client_t *cl, const pl_client_slot_t *s)
{
    expired_t *e = &cl->expired[cl->expired_next];

    cl->expired_next = (cl->expired_next + 1u) % cl->cfg.expired_max;
    if (!e->used)
        cl->expired_used++;
    e->used = 1;
    e->id = s->id;
    e->id2 = s->id2;
}

static int is_expired(const pl_client_t *cl, uint32_t id)
{
    unsigned i;

    for (i = 0; i < cl->cfg.expired_max && cl->expired_used > 0; i++)
        if (cl->expired[i].used && cl->expired[i].id == id)
            return 1;
    return 0;
}

/* A late answer to a timed-out message (by its id, or its second key): forgets the message
 * (one answer per message) and returns 1. */
static int take_expired(pl_client_t *cl, uint32_t key, int second)
{
    expired_t *e;
    unsigned i;

    for (i = 0; i < cl->cfg.expired_max && cl->expired_used > 0; i++) {
        e = &cl->expired[i];
        if (e->used && (second ? e->id2 : e->id) == key) {
            e->used = 0;
            cl->expired_used--;
            return 1;
        }
    }
    return 0;
}

static void forget_expired(pl_client_t *cl)
{
    unsigned i;

    for (i = 0; i < cl->cfg.expired_max && cl->expired_used > 0; i++)
        cl->expired[i].used = 0;
    cl->expired_used = cl->expired_next = 0;
}

static size_t align_up(size_t n)
{
    return (n + alignof(max_align_t) - 1u) & ~(alignof(max_align_t) - 1u);
}

/* All max_inflight slots (and the gathering buffer), the first time more than one message
 * is to be out: slot 0 and its state move over. Only where no slot pointer can be held: at
 * the start of a timer turn, or outside the core's callbacks (depth 0: a cork, a submit).
 * Without the memory the client goes on with one slot. */
static void grow_slots(pl_client_t *cl)
{
    size_t ss = align_up(cl->cfg.slot_size), n = cl->cfg.max_inflight;
    size_t off_state = align_up(sizeof(pl_client_slot_t) * n), off_c = off_state + ss * n;
    pl_client_slot_t *slot;
    uint8_t *w;
    size_t i;

    cl->grow = 0;
    if (cl->wide != NULL || n <= 1)
        return;
    w = calloc(1, off_c + cl->cfg.coalesce);
    if (w == NULL)
        return;
    slot = (pl_client_slot_t *)(void *)w;
    for (i = 0; i < n; i++)
        slot[i].state = cl->cfg.slot_size > 0 ? w + off_state + ss * i : NULL;
    if (cl->cfg.slot_size > 0)
        memcpy(slot[0].state, cl->slot[0].state, cl->cfg.slot_size);
    {
        void *state = slot[0].state;

        slot[0] = cl->slot[0];
        slot[0].state = state;
    }
    cl->wide = w;
    cl->slot = slot;
    cl->nslots = (unsigned)n;
    cl->found = NULL;
    if (cl->cfg.coalesce > 0)
        cl->cbuf = w + off_c;
}

static void timer_run(pl_client_t *cl);

static void on_timer(uv_timer_t *t)
{
    pl_client_t *cl = t->data;

    cl->depth++;
    timer_run(cl);
    cl->depth--;
}

static void timer_run(pl_client_t *cl)
{
    uint64_t now = uv_now(cl->loop), m;
    pl_client_slot_t *s;
    pl_client_req_t *r;
    pl_status_t st;
    unsigned i, gen = cl->conn_gen;
    int drop;

    cl->armed = 0; /* a one-shot timer */
    if (cl->closing)
        return;
    if (cl->grow)
        grow_slots(cl);
    for (i = 0; i < cl->nslots && cl->nbusy > 0 && !cl->held; i++) {
        s = &cl->slot[i];
        if (s->due == 0 || s->due > now)
            continue;
        pl_status_set(&st, PL_ETIMEOUT, 0, "no answer within %u ms", cl->cfg.timeout_ms);
        drop = cl->ops.timeout != NULL ? cl->ops.timeout(cl, s, &st, cl->ud) : 0;
        BUMP(cl->cfg.timeouts);
        pl_client_log(cl, PL_LOG_WARN, "%s %s: %s%s", cl->cfg.name, peer(cl), st.detail,
                      drop ? ", reconnecting" : "");
        if (cl->closing)
            return;
        if (drop == PL_CLIENT_DROP_HOLD) {
            /* the message stays in flight: ops.down decides for it and the others */
            cl->held = 1;
            pl_client_drop(cl, &st);
            break;
        }
        r = s->req;
        if (!drop)
            remember_expired(cl, s);
        slot_free(cl, s);
        if (drop)
            pl_client_drop(cl, &st);
        if (r != NULL) {
            r->outstanding--;
            finish(cl, r, &st);
        }
        if (cl->closing)
            return;
        if (gen != cl->conn_gen)
            break;
    }
    if (cl->wait_due != 0 && cl->wait_due <= now) {
        /* The waiting requests had no session for a whole timeout: connected but the
         * set-up did not end, or the reason the line gives, or a connect timeout. */
        cl->wait_due = 0;
        st = cl->setup_err.code != 0 ? cl->setup_err : *pl_line_last_error(cl->line);
        if (cl->up) {
            pl_status_set(&st, PL_ETIMEOUT, 0, "session set-up: no answer within %u ms",
                          cl->cfg.timeout_ms);
            if (cl->ops.setup_timeout != NULL)
                cl->ops.setup_timeout(cl, &st, 0, cl->ud);
            if (cl->closing)
                return;
        } else if (st.code == 0 || (st.code == PL_ETIMEOUT && cl->setup_err.code == 0))
            pl_status_set(&st, PL_ECONNECT, UV_ETIMEDOUT, "no connection within %u ms",
                          cl->cfg.timeout_ms);
        fail_waiting(cl, &st);
        if (cl->closing)
            return;
        if (!cl->persistent && cl->head == NULL)
            stop_line(cl, &st);
    }
    if (cl->setup_due != 0 && cl->setup_due <= now) {
        cl->setup_due = 0;
        pl_status_set(&st, PL_ETIMEOUT, 0, "session set-up: no answer within %u ms",
                      cl->cfg.timeout_ms);
        if (cl->ops.setup_timeout != NULL)
            cl->ops.setup_timeout(cl, &st, 1, cl->ud);
        if (cl->closing)
            return;
        pl_client_log(cl, PL_LOG_WARN, "%s %s: %s", cl->cfg.name, peer(cl), st.detail);
        cl->setup_err = st;
        pl_client_drop(cl, &st);
    }
    pump(cl);
    if (cl->closing)
        return;
    m = earliest(cl);
    if (m != 0)
        arm_at(cl, m);
}

/* --- line callbacks --------------------------------------------------------------- */

static int deliver(void *ctx, const uint8_t *frame, size_t len)
{
    pl_client_t *cl = ctx;
    unsigned gen = cl->conn_gen;
    pl_client_slot_t *s = NULL;
    pl_client_req_t *r;
    pl_status_t st;
    uint32_t id = 0;
    int rc;

    st_clear(&st);
    cl->found = NULL;
    rc = cl->ops.match(cl, frame, len, &id, &st, cl->ud);
    if (cl->closing || gen != cl->conn_gen) /* match may drop the connection, or free */
        return -1;
    if (rc == PL_CLIENT_ANSWER) {
        /* the message match looked up itself, if it did, else the search */
        s = cl->found != NULL && cl->found->due != 0 && cl->found->id == id ? cl->found
            : cl->slot[0].due != 0 && cl->slot[0].id == id                  ? &cl->slot[0]
                                                           : pl_client_slot(cl, id);
    } else if (rc == PL_CLIENT_ANSWER2) {
        s = pl_client_slot2(cl, id);
    }
    if (rc == PL_CLIENT_ANSWER || rc == PL_CLIENT_ANSWER2) {
        if (s == NULL) {
            if (take_expired(cl, id, rc == PL_CLIENT_ANSWER2)) {
                BUMP(cl->cfg.late);
                pl_client_log(cl, PL_LOG_DEBUG, "%s %s: late answer (id %u) dropped", cl->cfg.name,
                              peer(cl), (unsigned)id);
                return 0;
            }
            rc = PL_EPROTO;
            pl_status_set(&st, rc, 0, "answer to no message in flight (id %u)", (unsigned)id);
        }
    }
    if (rc >= 0)
        rc = cl->ops.handle(cl, s, frame, len, &st, cl->ud);
    if (cl->closing || gen != cl->conn_gen)
        return -1;
    if (rc < 0) {
        if (st.code == 0)
            pl_status_set(&st, rc, 0, "bad frame");
        proto_error(cl, &st);
        return -1;
    }
    if (rc == PL_CLIENT_OTHER || s == NULL)
        return 0;
    BUMP(cl->cfg.responses);
    if (cl->cfg.last_rtt_us != NULL)
        *cl->cfg.last_rtt_us = (clock_ns(cl) - s->sent_ns) / 1000u;
    r = s->req;
    slot_free(cl, s);
    if (r != NULL) {
        r->outstanding--;
        if (rc == PL_CLIENT_FAIL)
            finish(cl, r, &st);
        else if (r->last_sent && r->outstanding == 0) {
            st_clear(&st);
            finish(cl, r, &st);
        }
        if (cl->closing || gen != cl->conn_gen)
            return -1;
    }
    if (cl->cursor != NULL && cl->nbusy < cl->limit) /* else pump() has nothing to do */
        pump(cl);
    return cl->closing || gen != cl->conn_gen ? -1 : 0;
}

static void on_line_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    pl_client_t *cl = ud;
    pl_status_t st;
    int rc;

    (void)line;
    if (!cl->up || cl->closing)
        return;
    cl->in_batch = 1;
    cl->batch_ns = 0;
    cl->depth++;
    rc = pl_simconn_rx_feed(&cl->rx, buf, len, cl->ops.frame, cl->ud, deliver, cl);
    cl->depth--;
    cl->in_batch = 0;
    if (rc < 0 && !cl->closing && cl->up) {
        cl->rx.len = 0;
        pl_status_set(&st, rc, 0, "bad frame from the %s",
                      cl->cfg.partner != NULL ? cl->cfg.partner : "partner");
        proto_error(cl, &st);
    }
}

static void on_line_up(pl_line_t *line, void *ud)
{
    pl_client_t *cl = ud;
    pl_status_t st;
    unsigned gen;
    int rc = 0;

    (void)line;
    cl->up = 1;
    cl->dropping = cl->held = 0;
    gen = ++cl->conn_gen;
    cl->rx.len = 0;
    /* attempt_failures is reset when a session ends that was not refused (on_line_down) */
    cl->setup_err.code = 0;
    cl->refused = cl->send_failed = 0;
    forget_expired(cl);
    cl->state = ST_SETUP;
    pl_status_clear(&st);
    if (cl->ops.connect != NULL)
        rc = cl->ops.connect(cl, &st, cl->ud);
    if (cl->closing || gen != cl->conn_gen)
        return;
    if (rc < 0) {
        if (st.code == 0)
            pl_status_set(&st, rc, 0, "session set-up failed");
        pl_client_drop(cl, &st);
    } else if (rc == 0) {
        pl_client_ready(cl);
    } else if (cl->state == ST_SETUP) {
        cl->setup_due = uv_now(cl->loop) + cl->cfg.timeout_ms;
        arm_at(cl, cl->setup_due);
    }
}

/* Puts the active requests back at the front of the queue, in order, from message 0. */
static void requeue_active(pl_client_t *cl)
{
    pl_client_req_t *r, *next, *first = NULL, *last = NULL;

    for (r = cl->head; r != NULL; r = next) {
        next = r->next_;
        if (r->state_ != R_ACTIVE)
            continue;
        unlink_req(cl, r);
        cl->pending++; /* it stays pending */
        r->sent = r->outstanding = 0;
        r->last_sent = 0;
        r->state_ = R_WAIT;
        r->prev_ = last;
        if (last != NULL)
            last->next_ = r;
        else
            first = r;
        last = r;
    }
    if (first == NULL)
        return;
    last->next_ = cl->head;
    if (cl->head != NULL)
        cl->head->prev_ = last;
    else
        cl->tail = last;
    cl->head = first;
    cl->cursor = first;
}

static void line_down_run(pl_client_t *cl, const pl_status_t *why);

static void on_line_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    pl_client_t *cl = ud;

    (void)line;
    cl->depth++;
    line_down_run(cl, why);
    cl->depth--;
}

static void line_down_run(pl_client_t *cl, const pl_status_t *why)
{
    int dropped = cl->dropping, was_up = cl->up || dropped, how = PL_CLIENT_FAIL_INFLIGHT;
    int refused = cl->refused;
    pl_client_req_t *r, *next;
    pl_status_t st;
    unsigned i;

    cl->up = 0;
    cl->state = ST_DOWN;
    cl->dropping = cl->held = 0;
    cl->conn_gen++;
    cl->rx.len = 0;
    cl->clen = 0;
    cl->setup_due = 0;
    cl->refused = 0;
    if (was_up && !refused)
        cl->attempt_failures = 0;
    else
        cl->attempt_failures++; /* a refused session counts as a failed attempt */
    if (cl->ops.down != NULL)
        how = cl->ops.down(cl, why, was_up, cl->ud);
    cl->send_failed = 0;
    /* the messages in flight are void */
    for (i = 0; i < cl->nslots && cl->nbusy > 0; i++)
        if (cl->slot[i].due != 0)
            slot_free(cl, &cl->slot[i]);
    for (r = cl->head; r != NULL; r = r->next_)
        r->outstanding = 0;
    if (cl->closing)
        return;
    if (how == PL_CLIENT_REQUEUE) {
        requeue_active(cl);
    } else {
        for (r = cl->head; r != NULL && !cl->closing; r = next) {
            next = r->next_;
            if (r->state_ == R_ACTIVE) {
                st = *why;
                finish(cl, r, &st);
            }
        }
    }
    if (cl->closing)
        return;
    if ((!was_up || refused) && cl->attempt_failures >= cl->nhosts && cl->head != NULL) {
        /* every host was tried once: the waiting requests get the reason */
        fail_waiting(cl, why);
        if (cl->closing)
            return;
    }
    if (cl->head == NULL) {
        cl->wait_due = 0;
        /* On-demand mode reconnects on the next request, except after a drop of ours (the
         * partner timed out or talked nonsense): then the line goes on to the next host or
         * the standby at once, so the next request does not meet the same dead partner. */
        if (!cl->persistent && (!dropped || refused))
            pl_line_stop(cl->line);
    } else if (cl->wait_due == 0) {
        cl->wait_due = uv_now(cl->loop) + cl->cfg.timeout_ms;
        arm_at(cl, cl->wait_due);
    }
}

/* --- lifecycle -------------------------------------------------------------------- */

int pl_client_new(uv_loop_t *loop, const pl_line_config_t *line, const pl_client_config_t *cfg,
                  const pl_client_ops_t *ops, void *ud, pl_client_t **out)
{
    static const pl_line_cbs_t cbs = {
        .on_up = on_line_up, .on_data = on_line_data, .on_down = on_line_down};
    size_t off_slot, off_state, off_exp, off_rx, off_tx, total, ss;
    unsigned ne;
    pl_client_t *cl;
    uint8_t *base;
    int rc;

    if (loop == NULL || line == NULL || cfg == NULL || ops == NULL || out == NULL ||
        ops->frame == NULL || ops->encode == NULL || ops->match == NULL || ops->handle == NULL ||
        ops->complete == NULL || cfg->max_inflight == 0 || cfg->max_queue == 0 ||
        cfg->max_frame == 0 || cfg->max_msg == 0 || cfg->timeout_ms == 0 ||
        (cfg->coalesce > 0 && (cfg->max_inflight < 2 || cfg->send_fail_waits)))
        return PL_EINVAL;
    ne = cfg->expired_max != 0 ? cfg->expired_max : DEFAULT_EXPIRED;
    ss = align_up(cfg->slot_size);
    off_slot = align_up(sizeof(*cl));
    off_state = off_slot + align_up(sizeof(pl_client_slot_t));
    off_exp = off_state + ss;
    off_rx = off_exp + align_up(sizeof(expired_t) * ne);
    off_tx = off_rx + align_up(cfg->max_frame);
    total = off_tx + align_up(cfg->max_msg);
    base = calloc(1, total);
    if (base == NULL)
        return PL_ENOMEM;
    cl = (pl_client_t *)(void *)base;
    cl->loop = loop;
    cl->cfg = *cfg;
    cl->cfg.expired_max = ne;
    cl->ops = *ops;
    cl->ud = ud;
    cl->limit = cfg->max_inflight;
    /* one slot to begin with: an idle connection, or one that never has more than one
     * message out, costs no more (grow_slots) */
    cl->slot = (pl_client_slot_t *)(void *)(base + off_slot);
    cl->nslots = 1;
    cl->slot[0].state = cfg->slot_size > 0 ? base + off_state : NULL;
    cl->expired = (expired_t *)(void *)(base + off_exp);
    cl->rx.buf = base + off_rx;
    cl->rx.cap = cfg->max_frame;
    cl->tx = base + off_tx;
    cl->cbuf = NULL;
    pl_ratelimit_init(&cl->rl, cl->rl_slots, sizeof(cl->rl_slots) / sizeof(cl->rl_slots[0]));
    rc = pl_line_new(loop, line, &cbs, cl, &cl->line);
    if (rc < 0) {
        free(base);
        return rc;
    }
    cl->nhosts = pl_line_host_count(cl->line); /* primary and backup devices */
    uv_timer_init(loop, &cl->timer);
    cl->timer.data = cl;
    *out = cl;
    return 0;
}

int pl_client_start(pl_client_t *cl)
{
    if (cl->closing)
        return PL_ECLOSING;
    cl->persistent = 1;
    return pl_line_start(cl->line);
}

static void on_timer_closed(uv_handle_t *h)
{
    pl_client_t *cl = h->data;
    void (*freed)(void *) = cl->cfg.freed;
    void *ud = cl->ud;

    free(cl->wide);
    free(cl);
    if (freed != NULL)
        freed(ud);
}

void pl_client_free(pl_client_t *cl)
{
    pl_status_t why;
    unsigned i;

    if (cl == NULL || cl->closing)
        return;
    cl->closing = 1;
    pl_ratelimit_flush(&cl->rl, uv_now(cl->loop), cl->cfg.log); /* counts not yet logged */
    pl_line_free(cl->line);
    cl->line = NULL;
    uv_timer_stop(&cl->timer);
    for (i = 0; i < cl->nslots; i++) {
        cl->slot[i].due = 0;
        cl->slot[i].req = NULL;
    }
    cl->nbusy = 0;
    pl_status_set(&why, PL_ECANCELED, 0, "client closed");
    while (cl->head != NULL)
        finish(cl, cl->head, &why);
    uv_close((uv_handle_t *)&cl->timer, on_timer_closed);
}

/* --- queries ---------------------------------------------------------------------- */

void pl_client_set_limit(pl_client_t *cl, unsigned limit)
{
    if (limit < 1)
        limit = 1;
    if (limit > cl->cfg.max_inflight)
        limit = cl->cfg.max_inflight;
    cl->limit = limit;
    pump(cl);
}

void pl_client_fall_back(pl_client_t *cl, const char *peer, const pl_status_t *why, unsigned n,
                         char *reason, size_t cap)
{
    pl_client_set_limit(cl, 1);
    if (reason != NULL && cap > 0 && reason[0] == '\0')
        snprintf(reason, cap, "%.63s, %u in flight: %.60s: %.120s", peer, n, pl_strerror(why->code),
                 why->detail);
    pl_log(cl->cfg.log, PL_LOG_WARN,
           "%s %s: %s (%s) with %u requests in flight: one request at a time with this %s from "
           "now on; the %u are sent again",
           cl->cfg.name, peer, pl_strerror(why->code), why->detail, n,
           cl->cfg.partner != NULL ? cl->cfg.partner : "partner", n);
}

pl_client_slot_t *pl_client_slot(pl_client_t *cl, uint32_t id)
{
    unsigned i;

    if (cl->nbusy == 0)
        return NULL;
    if (cl->slot[0].id == id && cl->slot[0].due != 0)
        return cl->found = &cl->slot[0];
    for (i = 1; i < cl->nslots; i++)
        if (cl->slot[i].due != 0 && cl->slot[i].id == id)
            return cl->found = &cl->slot[i];
    return NULL;
}

pl_client_slot_t *pl_client_slot2(pl_client_t *cl, uint32_t id2)
{
    unsigned i;

    for (i = 0; i < cl->nslots && cl->nbusy > 0; i++)
        if (cl->slot[i].due != 0 && cl->slot[i].id2 == id2)
            return &cl->slot[i];
    return NULL;
}

pl_client_slot_t *pl_client_slot_first(pl_client_t *cl)
{
    pl_client_slot_t *best = NULL;
    unsigned i;

    if (cl->nbusy == 0)
        return NULL;
    if (cl->nslots == 1)
        return &cl->slot[0];
    for (i = 0; i < cl->nslots; i++)
        if (cl->slot[i].due != 0 &&
            (best == NULL || (int32_t)(cl->slot[i].seq - best->seq) < 0)) /* wraps */
            best = &cl->slot[i];
    return best;
}

pl_client_slot_t *pl_client_slot_next(pl_client_t *cl, const pl_client_slot_t *s)
{
    pl_client_slot_t *best = NULL;
    unsigned i;

    for (i = 0; i < cl->nslots && cl->nbusy > 1; i++)
        if (cl->slot[i].due != 0 && (int32_t)(cl->slot[i].seq - s->seq) > 0 &&
            (best == NULL || (int32_t)(cl->slot[i].seq - best->seq) < 0)) /* wraps */
            best = &cl->slot[i];
    return best;
}

int pl_client_expired(const pl_client_t *cl, uint32_t key, int second)
{
    unsigned i;

    for (i = 0; i < cl->cfg.expired_max && cl->expired_used > 0; i++)
        if (cl->expired[i].used && (second ? cl->expired[i].id2 : cl->expired[i].id) == key)
            return 1;
    return 0;
}

int pl_client_id_taken(const pl_client_t *cl, uint32_t id)
{
    unsigned i;

    for (i = 0; i < cl->nslots && cl->nbusy > 0; i++)
        if (cl->slot[i].due != 0 && cl->slot[i].id == id)
            return 1;
    return is_expired(cl, id);
}

unsigned pl_client_busy(const pl_client_t *cl)
{
    return cl->nbusy;
}

int pl_client_send_failed(const pl_client_t *cl)
{
    return cl->send_failed;
}

int pl_client_is_up(const pl_client_t *cl)
{
    return cl->up;
}

int pl_client_is_ready(const pl_client_t *cl)
{
    return cl->state == ST_READY;
}

unsigned pl_client_pending(const pl_client_t *cl)
{
    return cl->pending;
}

pl_line_t *pl_client_line(pl_client_t *cl)
{
    return cl->line;
}

uint8_t *pl_client_scratch(pl_client_t *cl, size_t *cap)
{
    *cap = cl->cfg.max_msg;
    return cl->tx;
}

uv_loop_t *pl_client_loop(const pl_client_t *cl)
{
    return cl->loop;
}
