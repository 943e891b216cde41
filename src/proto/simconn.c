/* SPDX-License-Identifier: MIT */
/*
 * The simulators' connections (see simconn.h): framing with a partial-frame buffer,
 * close-after-N-frames, answers held back by delay_ms, the ready deadline and the idle
 * timeout, on top of the listener; the lines partners cause go through the set's rate
 * limiter.
 *
 * The idle timer is lazy: incoming bytes only note the time (no timer call per read); when
 * the timer fires early it re-arms for the last byte's time plus the timeout.
 *
 * Memory: a connection is one allocation (bookkeeping, the protocol's state, the input
 * buffer); each held answer is one more. A connection with a timer (delay_ms,
 * ready_timeout_ms or idle_timeout_ms) is freed in the timer's close callback, which touches
 * nothing but the connection: libuv runs close callbacks last-closed first, so the simulator (and
 * the set inside it) may already be gone by then. One without a timer is freed in on_close.
 */
#include "proto/simconn.h"

#include "plcline/error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct delayed_s {
    struct delayed_s *next;
    uint64_t due;
    size_t len;
    unsigned char counted; /* the answer to a request pl_simconn_over_inflight() counts */
    uint8_t bytes[];
} delayed_t;

struct pl_simconn_s {
    pl_simconn_set_t *set;
    pl_conn_t *conn; /* NULL once closed */
    pl_simconn_t *prev, *next;
    unsigned frames;
    unsigned char timed;   /* `timer` is initialised (delay_ms, ready or idle timeout) */
    unsigned char expired; /* closed by the ready deadline or the idle timeout */
    uint64_t deadline;     /* uv_now() by which to be ready; 0: none */
    uint64_t last_rx;      /* uv_now() when bytes last came in (or of the accept) */
    uv_timer_t timer;      /* the first held answer's due time or the deadline */
    delayed_t *dhead, *dtail;
    delayed_t *slot; /* with at_once N: the held answer N back from the tail, whose leaving
                        frees a slot for the next one; NULL while fewer than N are held */
    unsigned ndelayed;
    unsigned nrequests; /* of those, answers to requests (not pl_simconn_answer_uncounted) */
    uint64_t reads;     /* reads handed over */
    uint64_t read_mark; /* `reads` when pl_simconn_over_inflight() last let a request in */
    unsigned in_read;   /* requests it let in from that read */
    void *state;
    pl_simconn_rx_t rx;
};

#define ALIGN_UP(n) \
    (((n) + _Alignof(max_align_t) - 1u) / _Alignof(max_align_t) * _Alignof(max_align_t))

/* --- framing ---------------------------------------------------------------------------- */

/* The protocol's frame length, with its contract checked: a length in 1..n, or negative. */
static int next_frame(pl_simconn_frame_fn frame, void *ud, const uint8_t *p, size_t n)
{
    int rc;

    if (n == 0)
        return PL_EAGAIN;
    rc = frame(p, n, ud);
    if (rc == 0 || (rc > 0 && (size_t)rc > n))
        return PL_EPROTO;
    return rc;
}

int pl_simconn_rx_feed(pl_simconn_rx_t *rx, const uint8_t *buf, size_t len,
                       pl_simconn_frame_fn frame, void *frame_ud, pl_simconn_deliver_fn deliver,
                       void *ctx)
{
    size_t n, off;
    int rc;

    /* Nothing held (the usual case): frames are served where they lie, and only a trailing
     * partial frame is copied. */
    if (rx->len == 0) {
        while ((rc = next_frame(frame, frame_ud, buf, len)) > 0) {
            if (deliver(ctx, buf, (size_t)rc) < 0)
                return PL_SIMCONN_STOPPED;
            buf += rc;
            len -= (size_t)rc;
        }
        if (rc != PL_EAGAIN)
            return rc;
    }
    while (len > 0) { /* each turn takes at least one byte: the buffer has room */
        n = rx->cap - rx->len;
        if (n > len)
            n = len;
        memcpy(rx->buf + rx->len, buf, n);
        rx->len += n;
        buf += n;
        len -= n;
        off = 0;
        while ((rc = next_frame(frame, frame_ud, rx->buf + off, rx->len - off)) > 0) {
            if (deliver(ctx, rx->buf + off, (size_t)rc) < 0)
                return PL_SIMCONN_STOPPED;
            off += (size_t)rc;
        }
        if (rc != PL_EAGAIN)
            return rc;
        if (off == 0 && rx->len == rx->cap)
            return PL_EPROTO; /* a frame longer than the buffer: `frame` broke its contract */
        memmove(rx->buf, rx->buf + off, rx->len - off);
        rx->len -= off;
    }
    return 0;
}

/* --- timer: held answers and the ready deadline ----------------------------------------- */

static void on_timer(uv_timer_t *t);

static void bump(uint64_t *counter)
{
    if (counter != NULL)
        (*counter)++;
}

/* Starts the timer for what comes first (the first held answer, the deadline), or stops it. */
static void rearm(pl_simconn_t *sc, uint64_t now)
{
    uint64_t due = UINT64_MAX;

    if (sc->dhead != NULL)
        due = sc->dhead->due;
    if (sc->deadline != 0 && sc->deadline < due)
        due = sc->deadline;
    if (sc->set->cfg.idle_timeout_ms != 0 && sc->last_rx + sc->set->cfg.idle_timeout_ms < due)
        due = sc->last_rx + sc->set->cfg.idle_timeout_ms; /* data moves it on lazily */
    if (due == UINT64_MAX)
        uv_timer_stop(&sc->timer);
    else
        uv_timer_start(&sc->timer, on_timer, due > now ? due - now : 0, 0);
}

static void expire(pl_simconn_t *sc)
{
    pl_simconn_set_t *set = sc->set;
    pl_status_t why;

    sc->deadline = 0;
    sc->expired = 1;
    bump(set->cfg.ready_timeouts);
    pl_status_set(&why, PL_ETIMEOUT, 0, "no %s within %u ms", set->cfg.ready_what,
                  set->cfg.ready_timeout_ms);
    pl_simconn_log(sc, PL_LOG_WARN, "%s %s: no %s within %u ms, closing", set->cfg.name,
                   pl_conn_peer(sc->conn), set->cfg.ready_what, set->cfg.ready_timeout_ms);
    pl_conn_close(sc->conn, &why);
}

static unsigned set_idle(const pl_simconn_t *sc)
{
    return sc->set->cfg.idle_timeout_ms;
}

static void idle_close(pl_simconn_t *sc)
{
    pl_simconn_set_t *set = sc->set;
    pl_status_t why;

    sc->expired = 1;
    bump(set->cfg.idle_timeouts);
    pl_status_set(&why, PL_ETIMEOUT, 0, "nothing received for %u ms", set->cfg.idle_timeout_ms);
    pl_simconn_log(sc, PL_LOG_WARN, "%s %s: nothing received for %u ms, closing", set->cfg.name,
                   pl_conn_peer(sc->conn), set->cfg.idle_timeout_ms);
    pl_conn_close(sc->conn, &why);
}

static void on_timer(uv_timer_t *t)
{
    pl_simconn_t *sc = t->data;
    uint64_t now = uv_now(sc->set->loop);
    delayed_t *d;

    while ((d = sc->dhead) != NULL && d->due <= now) {
        sc->dhead = d->next;
        if (sc->dhead == NULL)
            sc->dtail = NULL;
        if (sc->slot == d)
            sc->slot = NULL; /* fewer than at_once are held now */
        sc->ndelayed--;
        sc->nrequests -= d->counted;
        if (sc->conn != NULL)
            (void)pl_conn_send(sc->conn, d->bytes, d->len);
        free(d);
    }
    if (sc->deadline != 0 && sc->deadline <= now) {
        expire(sc);
        return;
    }
    if (set_idle(sc) != 0 && now - sc->last_rx >= set_idle(sc)) {
        idle_close(sc);
        return;
    }
    rearm(sc, now);
}

static void answer(pl_simconn_t *sc, const uint8_t *buf, size_t len, unsigned char counted)
{
    pl_simconn_set_t *set = sc->set;
    delayed_t *d;

    if (set->cfg.delay_ms == 0) {
        (void)pl_conn_send(sc->conn, buf, len);
        return;
    }
    if (sc->ndelayed >= PL_SIMCONN_MAX_DELAYED || (d = malloc(sizeof(*d) + len)) == NULL) {
        pl_status_t why;
        char text[160];

        if (sc->ndelayed >= PL_SIMCONN_MAX_DELAYED)
            pl_status_set(&why, PL_ENOBUFS, 0, "more than %u answers held back by delay_ms",
                          PL_SIMCONN_MAX_DELAYED);
        else
            pl_status_set(&why, PL_ENOMEM, UV_ENOMEM, "holding a delayed answer");
        pl_status_format(&why, text, sizeof(text));
        pl_simconn_log(sc, PL_LOG_WARN, "%s %s: closing: %s", set->cfg.name, pl_conn_peer(sc->conn),
                       text);
        pl_conn_close(sc->conn, &why);
        return;
    }
    d->next = NULL;
    d->due = uv_now(set->loop);
    /* at_once in the making: this one starts when the one `slot` names has left */
    if (sc->slot != NULL && sc->slot->due > d->due)
        d->due = sc->slot->due;
    d->due += set->cfg.delay_ms;
    d->len = len;
    d->counted = counted;
    memcpy(d->bytes, buf, len);
    sc->ndelayed++;
    sc->nrequests += counted;
    if (sc->dtail != NULL)
        sc->dtail->next = d; /* due after the head: the timer stays as it is */
    else
        sc->dhead = d;
    sc->dtail = d;
    if (set->cfg.at_once != 0 && sc->ndelayed >= set->cfg.at_once)
        sc->slot = sc->ndelayed == set->cfg.at_once ? sc->dhead : sc->slot->next;
    if (sc->dhead != d)
        return;
    rearm(sc, uv_now(set->loop));
}

void pl_simconn_answer(pl_simconn_t *sc, const uint8_t *buf, size_t len)
{
    answer(sc, buf, len, 1);
}

void pl_simconn_answer_uncounted(pl_simconn_t *sc, const uint8_t *buf, size_t len)
{
    answer(sc, buf, len, 0);
}

/* Unanswered: the requests let in earlier from the same read (the partner sent this one
 * before it could have seen their answers) and the answers to requests held back by
 * delay_ms. With delay_ms the answers of this read's requests are held too, so the two
 * overlap: the larger of them is the count. A partner that waits for each answer is never
 * caught: its next request cannot come in the read that carried the previous one. */
int pl_simconn_over_inflight(pl_simconn_t *sc, unsigned max)
{
    if (max == 0)
        return 0;
    if (sc->reads != sc->read_mark) {
        sc->read_mark = sc->reads;
        sc->in_read = 0;
    }
    if ((sc->in_read > sc->nrequests ? sc->in_read : sc->nrequests) >= max)
        return 1;
    sc->in_read++;
    return 0;
}

void pl_simconn_ready(pl_simconn_t *sc)
{
    if (sc->deadline == 0)
        return;
    sc->deadline = 0;
    rearm(sc, uv_now(sc->set->loop));
}

/* --- connections ------------------------------------------------------------------------ */

static int deliver(void *ctx, const uint8_t *frame, size_t len)
{
    pl_simconn_t *sc = ctx;
    pl_simconn_set_t *set = sc->set;

    bump(set->cfg.frames_in);
    sc->frames++;
    if (set->cfg.close_after != 0 && sc->frames >= set->cfg.close_after) {
        pl_simconn_log(sc, PL_LOG_INFO, "%s %s: closing at frame %u (close_after)", set->cfg.name,
                       pl_conn_peer(sc->conn), sc->frames);
        pl_conn_close(sc->conn, NULL);
        return -1;
    }
    return set->cbs.serve(sc, frame, len, set->ud);
}

static void on_data(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud)
{
    pl_simconn_set_t *set = ud;
    pl_simconn_t *sc = pl_conn_data(conn);
    pl_status_t why;
    int rc;

    if (sc == NULL)
        return;
    sc->reads++;
    sc->last_rx = uv_now(set->loop); /* the idle timer sees it when it fires */
    rc = pl_simconn_rx_feed(&sc->rx, buf, len, set->cbs.frame, set->ud, deliver, sc);
    if (rc == PL_SIMCONN_STOPPED)
        return;
    if (rc < 0) {
        bump(set->cfg.bad_frames);
        pl_status_set(&why, rc, 0, "malformed frame");
        pl_simconn_log(sc, PL_LOG_WARN, "%s %s: %s (%s), closing the connection", set->cfg.name,
                       pl_conn_peer(conn), pl_strerror(rc), pl_err_name(rc));
        pl_conn_close(conn, &why);
        return;
    }
    pl_conn_partial(conn, sc->rx.len > 0); /* the listener's frame timeout watches it */
}

static int on_accept(pl_listener_t *lst, pl_conn_t *conn, void *ud)
{
    pl_simconn_set_t *set = ud;
    size_t state_at = ALIGN_UP(sizeof(pl_simconn_t));
    size_t rx_at = state_at + ALIGN_UP(set->cfg.state_size);
    pl_simconn_t *sc;

    (void)lst;
    sc = calloc(1, rx_at + set->cfg.max_frame);
    if (sc == NULL)
        return PL_ENOMEM;
    sc->set = set;
    sc->conn = conn;
    sc->state = (uint8_t *)sc + state_at;
    sc->rx.buf = (uint8_t *)sc + rx_at;
    sc->rx.cap = set->cfg.max_frame;
    sc->last_rx = uv_now(set->loop);
    if (set->cfg.delay_ms > 0 || set->cfg.ready_timeout_ms > 0 || set->cfg.idle_timeout_ms > 0) {
        (void)uv_timer_init(set->loop, &sc->timer); /* cannot fail */
        sc->timer.data = sc;
        sc->timed = 1;
    }
    if (set->cfg.ready_timeout_ms > 0)
        sc->deadline = uv_now(set->loop) + set->cfg.ready_timeout_ms;
    if (sc->timed)
        rearm(sc, uv_now(set->loop));
    sc->next = set->head;
    if (set->head != NULL)
        set->head->prev = sc;
    set->head = sc;
    set->count++;
    bump(set->cfg.connections);
    pl_conn_set_data(conn, sc);
    pl_simconn_log(sc, PL_LOG_INFO, "%s: %s connected", set->cfg.name, pl_conn_peer(conn));
    if (set->cbs.open != NULL)
        set->cbs.open(sc, set->ud);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data); /* the connection, and nothing else: the set may be gone */
}

static void on_close(pl_conn_t *conn, const pl_status_t *why, void *ud)
{
    pl_simconn_set_t *set = ud;
    pl_simconn_t *sc = pl_conn_data(conn);
    delayed_t *d;

    if (sc == NULL)
        return;
    if (why != NULL && why->code == PL_ETIMEOUT && !sc->expired)
        bump(set->cfg.bad_frames); /* closed by the listener's frame timeout */
    if (why != NULL && why->code != 0 && why->code != PL_ERECV_00) {
        char text[160];

        pl_status_format(why, text, sizeof(text));
        pl_simconn_log(sc, PL_LOG_INFO, "%s: %s gone: %s", set->cfg.name, pl_conn_peer(conn), text);
    } else
        pl_simconn_log(sc, PL_LOG_INFO, "%s: %s disconnected", set->cfg.name, pl_conn_peer(conn));
    if (sc->prev != NULL)
        sc->prev->next = sc->next;
    else
        set->head = sc->next;
    if (sc->next != NULL)
        sc->next->prev = sc->prev;
    set->count--;
    sc->conn = NULL;
    pl_conn_set_data(conn, NULL);
    if (set->cbs.gone != NULL)
        set->cbs.gone(sc, set->ud);
    while ((d = sc->dhead) != NULL) {
        sc->dhead = d->next;
        free(d);
    }
    if (sc->timed)
        uv_close((uv_handle_t *)&sc->timer, on_timer_closed);
    else
        free(sc);
}

/* --- the set ---------------------------------------------------------------------------- */

int pl_simconn_set_init(pl_simconn_set_t *set, uv_loop_t *loop, const pl_listener_config_t *listen,
                        const pl_simconn_config_t *cfg, const pl_simconn_cbs_t *cbs, void *ud,
                        pl_status_t *err)
{
    static const pl_listener_cbs_t lcbs = {
        .on_accept = on_accept, .on_data = on_data, .on_close = on_close};
    pl_listener_config_t lc = *listen;

    memset(set, 0, sizeof(*set));
    set->loop = loop;
    set->cfg = *cfg;
    if (set->cfg.ready_what == NULL)
        set->cfg.ready_what = "ready";
    set->cbs = *cbs;
    set->ud = ud;
    pl_ratelimit_init(&set->rl, set->rl_slots, sizeof(set->rl_slots) / sizeof(set->rl_slots[0]));
    if (lc.log == NULL)
        lc.log = cfg->log;
    return pl_listener_new(loop, &lc, &lcbs, set, &set->lst, err);
}

void pl_simconn_set_close(pl_simconn_set_t *set)
{
    pl_listener_free(set->lst); /* closes every connection: on_close runs for each, now */
    set->lst = NULL;
    pl_ratelimit_flush(&set->rl, uv_now(set->loop), set->cfg.log); /* counts not yet logged */
}

unsigned pl_simconn_count(const pl_simconn_set_t *set)
{
    return set->count;
}

int pl_simconn_send_all(pl_simconn_set_t *set, const uint8_t *buf, size_t len)
{
    pl_simconn_t *sc;
    int n = 0;

    for (sc = set->head; sc != NULL; sc = sc->next)
        if (pl_conn_send(sc->conn, buf, len) == 0)
            n++;
    return n;
}

void *pl_simconn_state(pl_simconn_t *sc)
{
    return sc->state;
}

const char *pl_simconn_peer(const pl_simconn_t *sc)
{
    return sc->conn != NULL ? pl_conn_peer(sc->conn) : "";
}

void pl_simconn_log(pl_simconn_t *sc, pl_log_level_t level, const char *fmt, ...)
{
    pl_simconn_set_t *set = sc->set;
    va_list ap;

    va_start(ap, fmt);
    (void)pl_log_limitedv(&set->rl, uv_now(set->loop), set->cfg.log, level,
                          sc->conn != NULL ? pl_conn_peer(sc->conn) : "", fmt, ap);
    va_end(ap);
}

void pl_simconn_close(pl_simconn_t *sc, const pl_status_t *why)
{
    if (sc->conn != NULL)
        pl_conn_close(sc->conn, why);
}
