/* SPDX-License-Identifier: MIT */
/*
 * The controlled station's logic (see station.h): points, APCI windows and timers, answers,
 * redundancy groups and their event queues. No sockets, no clock, no printing.
 *
 * Sending order on a started connection, as long as fewer than k I-frames are outstanding:
 * the answers waiting (confirmations, terminations, read answers), then the next data unit
 * of an interrogation in progress, then the group's events (only on the group's started
 * connection). An event stays in its group's queue until an N(R) on the connection that
 * carried it confirms it; when another connection of the group is started, every event
 * still queued goes out again on it, oldest first.
 */
#include "proto/iec104/station.h"

#include "plcline/error.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/codec/cp56.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE       (1u << 20) /* bytes of a points file */
#define DEFAULT_EVENTS 10000u
#define DEFAULT_SELECT 10000u
#define DEFAULT_POINTS                                                         \
    "M_SP_NA_1:1-8 M_DP_NA_1:101-104 M_ME_NC_1:1001-1010 M_ME_TF_1:1101-1102 " \
    "M_IT_NA_1:3001-3002 C_SC_NA_1:5001 C_DC_NA_1:5002 C_SE_NC_1:5003"

typedef struct event_s {
    struct event_s *next;
    uint16_t ns;      /* N(S) it carried on the group's started connection */
    uint8_t sent;     /* sent on the started connection, not confirmed yet */
    uint8_t was_sent; /* sent before, on any connection */
    uint8_t len;
    uint8_t asdu[];
} event_t;

typedef struct group_s {
    struct group_s *next;
    char key[PL_LINE_PEER_MAX]; /* client address (BY_ADDRESS); "" otherwise */
    unsigned nconns;
    pl_iec104_sconn_t *active; /* the started connection, or NULL */
    event_t *head, *tail, *unsent;
    unsigned count;
} group_t;

typedef struct {
    uint8_t len;
    uint8_t asdu[PL_IEC104_MAX_ASDU];
} answer_t;

/* A connection's data transfer (IEC 60870-5-104, 5.3); changed only in set_state(). */
typedef enum {
    CONN_STOPPED = 0, /* accepted, STOPDT confirmed, or superseded in its group: no I-frames */
    CONN_STARTED,     /* STARTDT confirmed: I-frames flow */
    CONN_STOPPING,    /* STOPDT act taken: its con waits until the I-frames sent are confirmed */
    CONN_CLOSED       /* the station closed it: nothing more is served or sent */
} conn_state_t;

struct pl_iec104_sconn_s {
    pl_iec104_sconn_t *prev, *next;
    group_t *group;
    void *ud;
    char peer[PL_LINE_PEER_MAX];
    conn_state_t state;
    int testfr_pending;     /* TESTFR act sent, con not yet received */
    uint16_t vs, vr, acked; /* next N(S) to send, next N(S) expected, oldest unconfirmed */
    unsigned unacked_rx;    /* I-frames received and not acknowledged yet */
    unsigned sent_head;     /* ring slot of the oldest unconfirmed I-frame's send time */
    uint64_t t2_due, last_rx, testfr_sent;
    answer_t ans[PL_IEC104_SERVER_MAX_ANSWERS];
    unsigned ans_head, ans_count;
    struct {
        int active, counters;
        uint8_t cause;
        size_t next;
        uint8_t req_len;
        uint8_t req[PL_IEC104_MAX_ASDU];
    } inro;
    struct {
        int active;
        uint32_t ioa;
        uint8_t base;
        uint64_t due;
    } sel;
    uint64_t sent_at[]; /* k slots: when each outstanding I-frame was sent */
};

struct pl_iec104_station_s {
    pl_iec104_server_config_t cfg;
    pl_iec104_params_t params;
    pl_iec104_station_io_t io;
    const pl_logger_t *log;
    pl_ratelimit_t rl; /* what partners cause, per partner and message (core/log.c) */
    pl_ratelimit_slot_t rl_slots[16];
    uint64_t now; /* the time of the call being served, for the limiter */
    size_t npoints;
    pl_iec104_object_t *obj; /* sorted by IOA */
    uint8_t *type;
    size_t anim_next;
    uint32_t event_no;
    int64_t clock_offset; /* set by clock synchronisation */
    group_t *groups;
    unsigned ngroups;
    pl_iec104_sconn_t *conns;
    pl_iec104_server_stats_t stats;
    uint8_t tx[PL_IEC104_MAX_APDU];
    uint8_t asdu[PL_IEC104_MAX_ASDU];
};

/* --- helpers ------------------------------------------------------------------------------ */

static uint16_t outstanding(const pl_iec104_sconn_t *c)
{
    return pl_iec104_seq_diff(c->vs, c->acked);
}

static uint8_t base_type(uint8_t type)
{
    return type >= PL_IEC104_C_SC_TA_1 && type <= PL_IEC104_C_BO_TA_1
               ? (uint8_t)(type - (PL_IEC104_C_SC_TA_1 - PL_IEC104_C_SC_NA_1))
               : type;
}

static int is_command(uint8_t type)
{
    uint8_t b = base_type(type);

    return b >= PL_IEC104_C_SC_NA_1 && b <= PL_IEC104_C_BO_NA_1;
}

static int is_counter(uint8_t type)
{
    return type == PL_IEC104_M_IT_NA_1 || type == PL_IEC104_M_IT_TB_1;
}

static long find_point(const pl_iec104_station_t *st, uint32_t ioa)
{
    size_t lo = 0, hi = st->npoints;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (st->obj[mid].ioa == ioa)
            return (long)mid;
        if (st->obj[mid].ioa < ioa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void wall_cp56(pl_iec104_station_t *st, pl_iec104_cp56_t *t)
{
    int64_t ms = st->io.wall_ms(st->io.ud) + st->clock_offset;

    if (pl_iec104_cp56_from_unix_ms(ms, t) < 0) {
        memset(t, 0, sizeof(*t));
        t->mday = 1;
        t->month = 1;
        t->iv = 1;
    }
}

/* Logs what a partner caused, through the per-partner limiter: the first few of each
 * message in full, then a count per interval, whatever the partner does (reconnecting
 * included). */
static void plog(pl_iec104_station_t *st, pl_iec104_sconn_t *c, pl_log_level_t level,
                 const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void plog(pl_iec104_station_t *st, pl_iec104_sconn_t *c, pl_log_level_t level,
                 const char *fmt, ...)
{
    char text[256];
    va_list ap;

    if (st->log == NULL || st->log->cb == NULL || level > st->log->level)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    pl_log_limited(&st->rl, st->now, st->log, level, c->peer, "iec104 server %s: %s", c->peer,
                   text);
}

static const char *state_name(conn_state_t s)
{
    switch (s) {
    case CONN_STOPPED:
        return "stopped";
    case CONN_STARTED:
        return "started";
    case CONN_STOPPING:
        return "stopping";
    case CONN_CLOSED:
        return "closed";
    }
    return "?";
}

static void set_state(pl_iec104_station_t *st, pl_iec104_sconn_t *c, conn_state_t to)
{
    pl_log(st->log, PL_LOG_DEBUG, "iec104 server %s: %s -> %s", c->peer, state_name(c->state),
           state_name(to));
    c->state = to;
}

static void close_conn(pl_iec104_station_t *st, pl_iec104_sconn_t *c, int code, const char *what)
{
    pl_status_t why;

    if (c->state == CONN_CLOSED)
        return;
    set_state(st, c, CONN_CLOSED);
    pl_status_set(&why, code, 0, "%s", what);
    plog(st, c, PL_LOG_WARN, "%s, closing", what);
    st->io.close(c->ud, &why);
}

/* --- frames out ----------------------------------------------------------------------------- */

static void send_u(pl_iec104_station_t *st, pl_iec104_sconn_t *c, uint8_t func)
{
    uint8_t b[PL_IEC104_APCI_LEN];

    (void)pl_iec104_encode_u(b, sizeof(b), func);
    st->stats.u_out++;
    st->io.send(c->ud, b, sizeof(b));
}

static void send_s(pl_iec104_station_t *st, pl_iec104_sconn_t *c)
{
    uint8_t b[PL_IEC104_APCI_LEN];

    (void)pl_iec104_encode_s(b, sizeof(b), c->vr);
    c->unacked_rx = 0;
    st->stats.s_out++;
    st->io.send(c->ud, b, sizeof(b));
}

/* Sends an I-frame around asdu[0..len); the caller checked the window. Returns its N(S). */
static uint16_t send_i(pl_iec104_station_t *st, pl_iec104_sconn_t *c, const uint8_t *asdu,
                       size_t len, uint64_t now)
{
    uint16_t ns = c->vs;
    int n = pl_iec104_encode_i(st->tx, sizeof(st->tx), ns, c->vr, asdu, len);

    c->sent_at[(c->sent_head + outstanding(c)) % st->cfg.k] = now;
    c->vs = pl_iec104_seq_add(c->vs, 1);
    c->unacked_rx = 0; /* N(R) rides along */
    st->stats.i_out++;
    if (n > 0)
        st->io.send(c->ud, st->tx, (size_t)n);
    return ns;
}

/* --- groups and events ---------------------------------------------------------------------- */

static void group_reset(group_t *g)
{
    event_t *e;

    for (e = g->head; e != NULL; e = e->next)
        e->sent = 0;
    g->unsent = g->head;
}

static void pump(pl_iec104_station_t *st, pl_iec104_sconn_t *c, uint64_t now);

static void event_drop_head(pl_iec104_station_t *st, group_t *g)
{
    event_t *e = g->head;

    g->head = e->next;
    if (g->head == NULL)
        g->tail = NULL;
    if (g->unsent == e)
        g->unsent = e->next;
    g->count--;
    free(e);
    (void)st;
}

static void group_free(pl_iec104_station_t *st, group_t *g)
{
    group_t **pp;

    while (g->head != NULL)
        event_drop_head(st, g);
    for (pp = &st->groups; *pp != NULL; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    st->ngroups--;
    free(g);
}

static group_t *group_new(pl_iec104_station_t *st, const char *key)
{
    group_t *g;

    if (st->ngroups >= PL_IEC104_SERVER_MAX_GROUPS)
        return NULL;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    snprintf(g->key, sizeof(g->key), "%s", key);
    g->next = st->groups;
    st->groups = g;
    st->ngroups++;
    return g;
}

/* Queues asdu[0..len) as an event of every group and sends it where a group is started. */
static void emit(pl_iec104_station_t *st, const uint8_t *asdu, size_t len, uint64_t now)
{
    group_t *g;

    st->stats.events++;
    for (g = st->groups; g != NULL; g = g->next) {
        event_t *e;

        if (g->count >= st->cfg.max_events) {
            event_drop_head(st, g);
            st->stats.events_dropped++;
        }
        e = malloc(sizeof(*e) + len);
        if (e == NULL) {
            st->stats.events_dropped++;
            continue;
        }
        memset(e, 0, sizeof(*e));
        e->len = (uint8_t)len;
        memcpy(e->asdu, asdu, len);
        if (g->tail != NULL)
            g->tail->next = e;
        else
            g->head = e;
        g->tail = e;
        if (g->unsent == NULL)
            g->unsent = e;
        g->count++;
        if (g->active != NULL)
            pump(st, g->active, now);
    }
}

/* The I-frames from c->acked on, `n` of them, are confirmed. */
static void confirm_events(pl_iec104_station_t *st, pl_iec104_sconn_t *c, uint16_t n)
{
    group_t *g = c->group;

    if (g->active != c)
        return;
    while (g->head != NULL && g->head->sent && pl_iec104_seq_diff(g->head->ns, c->acked) < n)
        event_drop_head(st, g);
}

/* --- connection state ------------------------------------------------------------------------ */

/* A started connection stops sending (to CONN_STOPPED or CONN_STOPPING). */
static void stop_conn(pl_iec104_station_t *st, pl_iec104_sconn_t *c, conn_state_t to)
{
    if (c->state != CONN_STARTED)
        return;
    set_state(st, c, to);
    c->ans_count = 0;
    c->inro.active = 0;
    c->sel.active = 0;
    st->stats.stopped++;
    if (c->group->active == c) {
        c->group->active = NULL;
        group_reset(c->group);
    }
}

static void start_conn(pl_iec104_station_t *st, pl_iec104_sconn_t *c, uint64_t now)
{
    group_t *g = c->group;

    if (c->state == CONN_STARTED)
        return;
    if (g->active != NULL && g->active != c) {
        pl_iec104_sconn_t *old = g->active;

        plog(st, c, PL_LOG_INFO, "started; %s of the same redundancy group stops sending",
             old->peer);
        stop_conn(st, old, CONN_STOPPED);
    }
    set_state(st, c, CONN_STARTED); /* also from CONN_STOPPING: that STOPDT is not confirmed */
    st->stats.started++;
    g->active = c;
    group_reset(g);
    (void)now;
}

/* Takes N(R) from an I- or S-frame. Returns 0, or <0 after closing the connection. */
static int take_ack(pl_iec104_station_t *st, pl_iec104_sconn_t *c, uint16_t nr)
{
    int n = pl_iec104_ack_check(nr, c->acked, c->vs);
    char what[96];

    if (n < 0) {
        st->stats.seq_errors++;
        snprintf(what, sizeof(what), "N(R) %u outside the frames sent (%u..%u)", nr, c->acked,
                 c->vs);
        close_conn(st, c, PL_EIEC104_ACK, what);
        return -1;
    }
    if (n > 0) {
        confirm_events(st, c, (uint16_t)n);
        c->acked = nr;
        c->sent_head = (c->sent_head + (unsigned)n) % st->cfg.k;
        if (c->state == CONN_STOPPING && outstanding(c) == 0) {
            set_state(st, c, CONN_STOPPED);
            send_u(st, c, PL_IEC104_U_STOPDT_CON);
        }
    }
    return 0;
}

static void queue_answer(pl_iec104_station_t *st, pl_iec104_sconn_t *c, const uint8_t *asdu,
                         size_t len)
{
    answer_t *a;

    if (c->state == CONN_CLOSED)
        return;
    if (c->ans_count >= PL_IEC104_SERVER_MAX_ANSWERS) {
        close_conn(st, c, PL_ENOBUFS, "more answers waiting than the send window lets out");
        return;
    }
    a = &c->ans[(c->ans_head + c->ans_count) % PL_IEC104_SERVER_MAX_ANSWERS];
    memcpy(a->asdu, asdu, len);
    a->len = (uint8_t)len;
    c->ans_count++;
}

/* The received ASDU p[0..n) sent back with another cause (and P/N); with `own_ca` the
 * station's common address replaces a broadcast one. */
static void reply(pl_iec104_station_t *st, pl_iec104_sconn_t *c, const uint8_t *p, size_t n,
                  uint8_t cause, int negative, int own_ca)
{
    uint8_t b[PL_IEC104_MAX_ASDU];
    size_t ca_at = 2u + st->params.cot_size;

    memcpy(b, p, n);
    b[2] = (uint8_t)((p[2] & 0x80u) | (negative ? 0x40u : 0u) | (cause & 0x3Fu));
    if (own_ca) {
        b[ca_at] = (uint8_t)st->cfg.ca;
        if (st->params.ca_size > 1)
            b[ca_at + 1] = (uint8_t)(st->cfg.ca >> 8);
    }
    if (negative)
        st->stats.negative++;
    queue_answer(st, c, b, n);
}

/* Encodes objects of the same type starting at point i (at most `run`); returns the ASDU
 * length (in st->asdu) and how many it took in *took. */
static int encode_points(pl_iec104_station_t *st, size_t i, size_t run, uint8_t cause, size_t *took)
{
    pl_iec104_asdu_t h;
    int n;

    memset(&h, 0, sizeof(h));
    h.type = st->type[i];
    h.sq = run > 1 && st->obj[i + 1].ioa == st->obj[i].ioa + 1u;
    h.cause = cause;
    h.ca = st->cfg.ca;
    n = pl_iec104_asdu_encode(st->asdu, sizeof(st->asdu), &st->params, &h, st->obj + i, run, took);
    if (n < 0)
        *took = 1; /* cannot happen with values the station set; skip the point */
    return n;
}

/* The next data unit of the interrogation in progress, or its termination. */
static void inro_next(pl_iec104_station_t *st, pl_iec104_sconn_t *c, uint64_t now)
{
    int station = c->inro.cause == PL_IEC104_COT_INROGEN || c->inro.cause == PL_IEC104_COT_REQCOGEN;
    size_t i = c->inro.next, j, took;
    int n;

    while (station && i < st->npoints &&
           (is_command(st->type[i]) || is_counter(st->type[i]) != c->inro.counters))
        i++;
    if (!station || i >= st->npoints) {
        uint8_t b[PL_IEC104_MAX_ASDU];

        memcpy(b, c->inro.req, c->inro.req_len);
        b[2] = (uint8_t)((b[2] & 0x80u) | PL_IEC104_COT_ACTTERM);
        c->inro.active = 0;
        (void)send_i(st, c, b, c->inro.req_len, now);
        return;
    }
    for (j = i + 1; j < st->npoints && st->type[j] == st->type[i]; j++)
        ;
    n = encode_points(st, i, j - i, c->inro.cause, &took);
    c->inro.next = i + took;
    if (n > 0)
        (void)send_i(st, c, st->asdu, (size_t)n, now);
}

static void pump(pl_iec104_station_t *st, pl_iec104_sconn_t *c, uint64_t now)
{
    while (c->state == CONN_STARTED && outstanding(c) < st->cfg.k) {
        if (c->ans_count > 0) {
            answer_t *a = &c->ans[c->ans_head];

            (void)send_i(st, c, a->asdu, a->len, now);
            c->ans_head = (c->ans_head + 1u) % PL_IEC104_SERVER_MAX_ANSWERS;
            c->ans_count--;
            continue;
        }
        if (c->inro.active) {
            inro_next(st, c, now);
            continue;
        }
        if (c->group->active == c && c->group->unsent != NULL) {
            event_t *e = c->group->unsent;

            e->ns = send_i(st, c, e->asdu, e->len, now);
            e->sent = 1;
            st->stats.events_sent++;
            if (e->was_sent)
                st->stats.events_resent++;
            e->was_sent = 1;
            c->group->unsent = e->next;
            continue;
        }
        break;
    }
}

/* --- the application: one received ASDU --------------------------------------------------------
 */

static void set_value(pl_iec104_object_t *dst, const pl_iec104_object_t *cmd)
{
    dst->v = cmd->v;
    dst->qualifier = cmd->qualifier;
    if (cmd->has_time)
        dst->time = cmd->time;
}

static void serve_command(pl_iec104_station_t *st, pl_iec104_sconn_t *c, const uint8_t *p, size_t n,
                          const pl_iec104_asdu_t *a, const pl_iec104_object_t *o, uint64_t now)
{
    uint8_t base = base_type(a->type);
    long i;

    if (a->cause != PL_IEC104_COT_ACT && a->cause != PL_IEC104_COT_DEACT) {
        reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_COT, 1, 0);
        return;
    }
    i = find_point(st, o->ioa);
    if (i < 0 || !is_command(st->type[i]) || base_type(st->type[i]) != base) {
        reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_IOA, 1, 0);
        return;
    }
    if (a->cause == PL_IEC104_COT_DEACT) {
        int had = c->sel.active && c->sel.ioa == o->ioa;

        c->sel.active = 0;
        reply(st, c, p, n, PL_IEC104_COT_DEACTCON, !had, 0);
        return;
    }
    if (o->select) {
        c->sel.active = 1;
        c->sel.ioa = o->ioa;
        c->sel.base = base;
        c->sel.due = now + st->cfg.select_timeout_ms;
        st->stats.selects++;
        reply(st, c, p, n, PL_IEC104_COT_ACTCON, 0, 0);
        return;
    }
    if (st->cfg.require_select &&
        !(c->sel.active && c->sel.ioa == o->ioa && c->sel.base == base && now <= c->sel.due)) {
        c->sel.active = 0;
        plog(st, c, PL_LOG_INFO, "%s to IOA %u without a select: refused",
             pl_iec104_type_name(a->type), o->ioa);
        reply(st, c, p, n, PL_IEC104_COT_ACTCON, 1, 0);
        return;
    }
    c->sel.active = 0;
    set_value(&st->obj[i], o);
    st->stats.commands++;
    reply(st, c, p, n, PL_IEC104_COT_ACTCON, 0, 0);
    reply(st, c, p, n, PL_IEC104_COT_ACTTERM, 0, 0);
}

static void start_inro(pl_iec104_station_t *st, pl_iec104_sconn_t *c, const uint8_t *p, size_t n,
                       uint8_t cause, int counters)
{
    c->inro.active = 1;
    c->inro.counters = counters;
    c->inro.cause = cause;
    c->inro.next = 0;
    memcpy(c->inro.req, p, n);
    c->inro.req_len = (uint8_t)n;
    /* the answers carry the station's own address, also after a broadcast */
    c->inro.req[2u + st->params.cot_size] = (uint8_t)st->cfg.ca;
    if (st->params.ca_size > 1)
        c->inro.req[3u + st->params.cot_size] = (uint8_t)(st->cfg.ca >> 8);
    st->stats.interrogations++;
    reply(st, c, p, n, PL_IEC104_COT_ACTCON, 0, 1);
}

static void serve_system(pl_iec104_station_t *st, pl_iec104_sconn_t *c, const uint8_t *p, size_t n,
                         const pl_iec104_asdu_t *a, const pl_iec104_object_t *o)
{
    long i;

    switch (a->type) {
    case PL_IEC104_C_IC_NA_1:
    case PL_IEC104_C_CI_NA_1: {
        int counters = a->type == PL_IEC104_C_CI_NA_1;
        uint8_t q = o->qualifier, cause = 0;

        if (a->cause != PL_IEC104_COT_ACT && a->cause != PL_IEC104_COT_DEACT) {
            reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_COT, 1, 0);
            return;
        }
        if (o->ioa != 0) {
            reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_IOA, 1, 0);
            return;
        }
        if (a->cause == PL_IEC104_COT_DEACT) {
            int had = c->inro.active && c->inro.counters == counters;

            if (had)
                c->inro.active = 0;
            reply(st, c, p, n, PL_IEC104_COT_DEACTCON, !had, 1);
            return;
        }
        if (!counters && q >= PL_IEC104_QOI_STATION && q <= PL_IEC104_QOI_GROUP1 + 15u)
            cause = q; /* 20 station, 21..36 groups: the cause is the qualifier */
        if (counters) {
            uint8_t rqt = q & PL_IEC104_QCC_RQT_MASK, frz = (uint8_t)(q >> PL_IEC104_QCC_FRZ_SHIFT);

            if (rqt == PL_IEC104_QCC_RQT_GENERAL)
                cause = PL_IEC104_COT_REQCOGEN;
            else if (rqt >= 1 && rqt <= 4)
                cause = (uint8_t)(PL_IEC104_COT_REQCO1 + rqt - 1u);
            if (cause != 0 && frz != 0) { /* freeze and/or reset: no values follow */
                if (frz >= 2)
                    for (i = 0; (size_t)i < st->npoints; i++)
                        if (is_counter(st->type[i]))
                            st->obj[i].v.counter.value = 0;
                st->stats.interrogations++;
                reply(st, c, p, n, PL_IEC104_COT_ACTCON, 0, 1);
                reply(st, c, p, n, PL_IEC104_COT_ACTTERM, 0, 1);
                return;
            }
        }
        if (cause == 0 || c->inro.active) {
            plog(st, c, PL_LOG_INFO, "%s qualifier %u %s: refused", pl_iec104_type_name(a->type), q,
                 cause == 0 ? "not served" : "while one is in progress");
            reply(st, c, p, n, PL_IEC104_COT_ACTCON, 1, 1);
            return;
        }
        start_inro(st, c, p, n, cause, counters);
        return;
    }
    case PL_IEC104_C_RD_NA_1: {
        size_t took;
        int len;

        if (a->cause != PL_IEC104_COT_REQ) {
            reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_COT, 1, 0);
            return;
        }
        i = find_point(st, o->ioa);
        if (i < 0 || is_command(st->type[i])) {
            reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_IOA, 1, 0);
            return;
        }
        len = encode_points(st, (size_t)i, 1, PL_IEC104_COT_REQ, &took);
        if (len > 0)
            queue_answer(st, c, st->asdu, (size_t)len);
        return;
    }
    case PL_IEC104_C_CS_NA_1:
    case PL_IEC104_C_TS_TA_1: {
        int64_t ms;

        if (a->cause != PL_IEC104_COT_ACT) {
            reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_COT, 1, 0);
            return;
        }
        if (o->ioa != 0) {
            reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_IOA, 1, 0);
            return;
        }
        if (a->type == PL_IEC104_C_TS_TA_1) {
            reply(st, c, p, n, PL_IEC104_COT_ACTCON, 0, 0);
            return;
        }
        if (o->time.iv || pl_iec104_cp56_to_unix_ms(&o->time, &ms) < 0) {
            plog(st, c, PL_LOG_INFO, "clock synchronisation with an invalid time: refused");
            reply(st, c, p, n, PL_IEC104_COT_ACTCON, 1, 1);
            return;
        }
        st->clock_offset = ms - st->io.wall_ms(st->io.ud);
        st->stats.clock_syncs++;
        reply(st, c, p, n, PL_IEC104_COT_ACTCON, 0, 1);
        return;
    }
    default:
        reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_TYPE, 1, 0);
        return;
    }
}

static void serve_asdu(pl_iec104_station_t *st, pl_iec104_sconn_t *c, const uint8_t *p, size_t n,
                       uint64_t now)
{
    const pl_iec104_type_info_t *info;
    pl_iec104_asdu_t a;
    pl_iec104_object_t o;
    uint16_t broadcast = st->params.ca_size == 1 ? 0xFFu : PL_IEC104_CA_BROADCAST;
    int rc = pl_iec104_asdu_decode(p, n, &st->params, &a);

    if (rc == PL_EIEC104_TYPE && n >= pl_iec104_header_len(&st->params)) {
        plog(st, c, PL_LOG_INFO, "type %u is not served", p[0]);
        reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_TYPE, 1, 0);
        return;
    }
    if (rc < 0) {
        st->stats.bad_asdus++;
        plog(st, c, PL_LOG_WARN, "ASDU ignored: %s (%s)", pl_strerror(rc), pl_err_name(rc));
        return;
    }
    info = pl_iec104_type_info(a.type);
    if (!info->control) {
        plog(st, c, PL_LOG_INFO, "%s in the control direction: refused", info->name);
        reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_TYPE, 1, 0);
        return;
    }
    (void)pl_iec104_asdu_object(&a, 0, &o);
    if (a.ca != st->cfg.ca &&
        !(a.ca == broadcast && (a.type == PL_IEC104_C_IC_NA_1 || a.type == PL_IEC104_C_CI_NA_1 ||
                                a.type == PL_IEC104_C_CS_NA_1))) {
        plog(st, c, PL_LOG_INFO, "%s to common address %u: unknown", info->name, a.ca);
        reply(st, c, p, n, PL_IEC104_COT_UNKNOWN_CA, 1, 0);
        return;
    }
    if (is_command(a.type))
        serve_command(st, c, p, n, &a, &o, now);
    else
        serve_system(st, c, p, n, &a, &o);
}

/* --- input ----------------------------------------------------------------------------------- */

static void serve_u(pl_iec104_station_t *st, pl_iec104_sconn_t *c, uint8_t func, uint64_t now)
{
    switch (func) {
    case PL_IEC104_U_STARTDT_ACT:
        if (st->cfg.ignore_startdt)
            return;
        send_u(st, c, PL_IEC104_U_STARTDT_CON);
        start_conn(st, c, now);
        return;
    case PL_IEC104_U_STOPDT_ACT:
        if (c->unacked_rx > 0)
            send_s(st, c);
        /* the con waits for the I-frames sent to be confirmed (t1 still applies) */
        stop_conn(st, c, outstanding(c) > 0 ? CONN_STOPPING : CONN_STOPPED);
        if (c->state == CONN_STOPPED)
            send_u(st, c, PL_IEC104_U_STOPDT_CON);
        return;
    case PL_IEC104_U_TESTFR_ACT:
        if (!st->cfg.ignore_testfr)
            send_u(st, c, PL_IEC104_U_TESTFR_CON);
        return;
    case PL_IEC104_U_TESTFR_CON:
        c->testfr_pending = 0;
        return;
    default: /* STARTDT con, STOPDT con: the controlling station's to receive; ignored */
        plog(st, c, PL_LOG_INFO, "unexpected %s ignored", pl_iec104_u_name(func));
        return;
    }
}

int pl_iec104_station_input(pl_iec104_station_t *st, pl_iec104_sconn_t *c, const uint8_t *apdu,
                            size_t len, uint64_t now)
{
    pl_iec104_apdu_t f;
    char what[96];
    int rc;

    st->now = now;
    if (c->state == CONN_CLOSED)
        return -1;
    rc = pl_iec104_decode(apdu, len, &f);
    if (rc < 0) {
        st->stats.bad_frames++;
        snprintf(what, sizeof(what), "malformed APDU: %s (%s)", pl_strerror(rc), pl_err_name(rc));
        close_conn(st, c, rc, what);
        return -1;
    }
    c->last_rx = now;
    switch (f.kind) {
    case PL_IEC104_FRAME_I:
        st->stats.i_in++;
        if (f.ns != c->vr) {
            st->stats.seq_errors++;
            snprintf(what, sizeof(what), "N(S) %u where %u was due", f.ns, c->vr);
            close_conn(st, c, PL_EPROTO, what);
            return -1;
        }
        if (take_ack(st, c, f.nr) < 0)
            return -1;
        c->vr = pl_iec104_seq_add(c->vr, 1);
        if (c->unacked_rx++ == 0)
            c->t2_due = now + st->cfg.t2_ms;
        if (c->state == CONN_STARTED)
            serve_asdu(st, c, f.asdu, f.asdu_len, now);
        else
            st->stats.ignored++;
        break;
    case PL_IEC104_FRAME_S:
        st->stats.s_in++;
        if (take_ack(st, c, f.nr) < 0)
            return -1;
        break;
    case PL_IEC104_FRAME_U:
        st->stats.u_in++;
        serve_u(st, c, f.func, now);
        break;
    }
    if (c->state == CONN_CLOSED)
        return -1;
    pump(st, c, now);
    if (c->unacked_rx >= st->cfg.w)
        send_s(st, c);
    return 0;
}

/* --- timers ---------------------------------------------------------------------------------- */

static uint64_t conn_deadline(const pl_iec104_station_t *st, const pl_iec104_sconn_t *c)
{
    uint64_t due = UINT64_MAX;

    if (c->state == CONN_CLOSED)
        return due;
    if (outstanding(c) > 0 && c->sent_at[c->sent_head] + st->cfg.t1_ms < due)
        due = c->sent_at[c->sent_head] + st->cfg.t1_ms;
    if (c->testfr_pending && c->testfr_sent + st->cfg.t1_ms < due)
        due = c->testfr_sent + st->cfg.t1_ms;
    if (c->unacked_rx > 0 && c->t2_due < due)
        due = c->t2_due;
    if (!c->testfr_pending && c->last_rx + st->cfg.t3_ms < due)
        due = c->last_rx + st->cfg.t3_ms;
    return due;
}

uint64_t pl_iec104_station_deadline(const pl_iec104_station_t *st)
{
    const pl_iec104_sconn_t *c;
    uint64_t due = UINT64_MAX, d;

    for (c = st->conns; c != NULL; c = c->next)
        if ((d = conn_deadline(st, c)) < due)
            due = d;
    return due;
}

void pl_iec104_station_timers(pl_iec104_station_t *st, uint64_t now)
{
    pl_iec104_sconn_t *c;
    char what[96];

    st->now = now;
    for (c = st->conns; c != NULL; c = c->next) {
        if (c->state == CONN_CLOSED)
            continue;
        if (outstanding(c) > 0 && now >= c->sent_at[c->sent_head] + st->cfg.t1_ms) {
            st->stats.t1_expired++;
            snprintf(what, sizeof(what), "%u I-frames unconfirmed after t1 (%u ms)", outstanding(c),
                     st->cfg.t1_ms);
            close_conn(st, c, PL_ETIMEOUT, what);
            continue;
        }
        if (c->testfr_pending && now >= c->testfr_sent + st->cfg.t1_ms) {
            st->stats.t1_expired++;
            snprintf(what, sizeof(what), "TESTFR act unconfirmed after t1 (%u ms)", st->cfg.t1_ms);
            close_conn(st, c, PL_ETIMEOUT, what);
            continue;
        }
        if (c->unacked_rx > 0 && now >= c->t2_due)
            send_s(st, c);
        if (!c->testfr_pending && now >= c->last_rx + st->cfg.t3_ms) {
            c->testfr_pending = 1;
            c->testfr_sent = now;
            st->stats.testfr_sent++;
            send_u(st, c, PL_IEC104_U_TESTFR_ACT);
        }
    }
}

/* --- connections ----------------------------------------------------------------------------- */

int pl_iec104_station_open(pl_iec104_station_t *st, const char *peer, void *conn_ud, uint64_t now,
                           pl_iec104_sconn_t **out)
{
    pl_iec104_sconn_t *c;
    group_t *g = NULL;
    char key[PL_LINE_PEER_MAX];

    st->now = now;
    c = calloc(1, sizeof(*c) + st->cfg.k * sizeof(uint64_t));
    if (c == NULL)
        return PL_ENOMEM;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    switch (st->cfg.grouping) {
    case PL_IEC104_GROUP_ONE:
        g = st->groups;
        break;
    case PL_IEC104_GROUP_BY_ADDRESS: {
        char *colon;

        snprintf(key, sizeof(key), "%s", peer);
        colon = strrchr(key, ':'); /* "1.2.3.4:port" or "[::1]:port": the port goes */
        if (colon != NULL)
            *colon = '\0';
        for (g = st->groups; g != NULL; g = g->next)
            if (strcmp(g->key, key) == 0)
                break;
        if (g == NULL)
            g = group_new(st, key);
        break;
    }
    case PL_IEC104_GROUP_PER_CONNECTION:
        g = group_new(st, "");
        break;
    }
    if (g == NULL) {
        free(c);
        return PL_EBUSY;
    }
    c->group = g;
    g->nconns++;
    c->ud = conn_ud;
    c->last_rx = now;
    c->next = st->conns;
    if (st->conns != NULL)
        st->conns->prev = c;
    st->conns = c;
    *out = c;
    return 0;
}

void pl_iec104_station_gone(pl_iec104_station_t *st, pl_iec104_sconn_t *c)
{
    group_t *g = c->group;

    if (g->active == c) {
        g->active = NULL;
        group_reset(g);
    }
    g->nconns--;
    if (st->cfg.grouping == PL_IEC104_GROUP_PER_CONNECTION)
        group_free(st, g);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        st->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c);
}

/* --- animation ---------------------------------------------------------------------------------
 */

static void animate_point(pl_iec104_station_t *st, size_t i, uint32_t n)
{
    pl_iec104_object_t *o = &st->obj[i];
    float s = sinf((float)n * 0.1f);

    switch (st->type[i]) {
    case PL_IEC104_M_SP_NA_1:
    case PL_IEC104_M_SP_TB_1:
        o->v.state ^= 1u;
        break;
    case PL_IEC104_M_DP_NA_1:
    case PL_IEC104_M_DP_TB_1:
        o->v.state = o->v.state == PL_IEC104_DP_ON ? PL_IEC104_DP_OFF : PL_IEC104_DP_ON;
        break;
    case PL_IEC104_M_ST_NA_1:
    case PL_IEC104_M_ST_TB_1:
        o->v.step.value = (int8_t)(o->v.step.value >= 63 ? -64 : o->v.step.value + 1);
        break;
    case PL_IEC104_M_BO_NA_1:
    case PL_IEC104_M_BO_TB_1:
        o->v.bits = o->v.bits * 1103515245u + 12345u;
        break;
    case PL_IEC104_M_ME_NA_1:
    case PL_IEC104_M_ME_TD_1:
        o->v.nva = (int16_t)(s * 32767.0f);
        break;
    case PL_IEC104_M_ME_NB_1:
    case PL_IEC104_M_ME_TE_1:
        o->v.sva = (int16_t)(n % 2000u) - 1000;
        break;
    case PL_IEC104_M_ME_NC_1:
    case PL_IEC104_M_ME_TF_1:
        o->v.real = 100.0f * s;
        break;
    case PL_IEC104_M_IT_NA_1:
    case PL_IEC104_M_IT_TB_1:
        o->v.counter.value++;
        o->v.counter.seq = (uint8_t)((o->v.counter.seq + 1u) & 31u);
        break;
    default:
        break;
    }
}

static void emit_point(pl_iec104_station_t *st, size_t i, uint64_t now)
{
    size_t took;
    int n;

    if (st->obj[i].has_time)
        wall_cp56(st, &st->obj[i].time);
    n = encode_points(st, i, 1, PL_IEC104_COT_SPONT, &took);
    if (n > 0)
        emit(st, st->asdu, (size_t)n, now);
}

uint32_t pl_iec104_station_step(pl_iec104_station_t *st, uint64_t now)
{
    uint32_t n = ++st->event_no;
    long ev = st->cfg.event_ioa != 0 ? find_point(st, st->cfg.event_ioa) : -1;
    size_t k, i;

    st->now = now;
    for (k = 0; k < st->npoints; k++) {
        i = (st->anim_next + k) % st->npoints;
        if (is_command(st->type[i]) || (long)i == ev)
            continue;
        animate_point(st, i, n);
        emit_point(st, i, now);
        st->anim_next = i + 1;
        break;
    }
    if (ev >= 0) { /* last: when number n arrives, all of step n has */
        st->obj[ev].v.counter.value = (int32_t)n;
        st->obj[ev].v.counter.seq = (uint8_t)(n & 31u);
        emit_point(st, (size_t)ev, now);
    }
    return n;
}

int pl_iec104_station_point(const pl_iec104_station_t *st, uint32_t ioa, uint8_t *type,
                            double *value)
{
    long i = find_point(st, ioa);
    const pl_iec104_object_t *o;

    if (i < 0)
        return PL_EINVAL;
    o = &st->obj[i];
    if (type != NULL)
        *type = st->type[i];
    if (value == NULL)
        return 0;
    switch (base_type(st->type[i])) {
    case PL_IEC104_M_ST_NA_1:
    case PL_IEC104_M_ST_TB_1:
        *value = o->v.step.value;
        break;
    case PL_IEC104_M_BO_NA_1:
    case PL_IEC104_M_BO_TB_1:
    case PL_IEC104_C_BO_NA_1:
        *value = o->v.bits;
        break;
    case PL_IEC104_M_ME_NA_1:
    case PL_IEC104_M_ME_TD_1:
    case PL_IEC104_C_SE_NA_1:
        *value = o->v.nva;
        break;
    case PL_IEC104_M_ME_NB_1:
    case PL_IEC104_M_ME_TE_1:
    case PL_IEC104_C_SE_NB_1:
        *value = o->v.sva;
        break;
    case PL_IEC104_M_ME_NC_1:
    case PL_IEC104_M_ME_TF_1:
    case PL_IEC104_C_SE_NC_1:
        *value = o->v.real;
        break;
    case PL_IEC104_M_IT_NA_1:
    case PL_IEC104_M_IT_TB_1:
        *value = o->v.counter.value;
        break;
    default:
        *value = o->v.state;
        break;
    }
    return 0;
}

int pl_iec104_station_set_point(pl_iec104_station_t *st, uint32_t ioa, double value)
{
    long i = find_point(st, ioa);
    pl_iec104_object_t *o;

    if (i < 0)
        return PL_EINVAL;
    o = &st->obj[i];
    switch (base_type(st->type[i])) {
    case PL_IEC104_M_ST_NA_1:
    case PL_IEC104_M_ST_TB_1:
        o->v.step.value = (int8_t)(value < -64 ? -64 : value > 63 ? 63 : value);
        break;
    case PL_IEC104_M_BO_NA_1:
    case PL_IEC104_M_BO_TB_1:
    case PL_IEC104_C_BO_NA_1:
        o->v.bits = (uint32_t)(int64_t)value;
        break;
    case PL_IEC104_M_ME_NA_1:
    case PL_IEC104_M_ME_TD_1:
    case PL_IEC104_C_SE_NA_1:
        o->v.nva = (int16_t)(int32_t)value;
        break;
    case PL_IEC104_M_ME_NB_1:
    case PL_IEC104_M_ME_TE_1:
    case PL_IEC104_C_SE_NB_1:
        o->v.sva = (int16_t)(int32_t)value;
        break;
    case PL_IEC104_M_ME_NC_1:
    case PL_IEC104_M_ME_TF_1:
    case PL_IEC104_C_SE_NC_1:
        o->v.real = (float)value;
        break;
    case PL_IEC104_M_IT_NA_1:
    case PL_IEC104_M_IT_TB_1:
        o->v.counter.value = (int32_t)value;
        break;
    default:
        o->v.state = (uint8_t)((unsigned)value & 3u);
        break;
    }
    if (o->has_time)
        wall_cp56(st, &o->time);
    return 0;
}

/* --- the point spec ----------------------------------------------------------------------------
 */

typedef struct {
    pl_iec104_station_t *st;
    size_t cap;
} builder_t;

static int add_point(builder_t *b, uint8_t type, uint32_t ioa, pl_status_t *err)
{
    pl_iec104_station_t *st = b->st;
    pl_iec104_object_t *o;

    if (st->npoints >= PL_IEC104_SERVER_MAX_POINTS)
        return pl_status_set(err, PL_ECONFIG, 0, "points: more than %u information objects",
                             PL_IEC104_SERVER_MAX_POINTS);
    if (st->npoints == b->cap) {
        size_t cap = b->cap == 0 ? 64 : b->cap * 2;
        pl_iec104_object_t *no = realloc(st->obj, cap * sizeof(*no));
        uint8_t *nt;

        if (no == NULL)
            return pl_status_set(err, PL_ENOMEM, 0, NULL);
        st->obj = no;
        nt = realloc(st->type, cap);
        if (nt == NULL)
            return pl_status_set(err, PL_ENOMEM, 0, NULL);
        st->type = nt;
        b->cap = cap;
    }
    o = &st->obj[st->npoints];
    memset(o, 0, sizeof(*o));
    o->ioa = ioa;
    o->has_time = pl_iec104_type_info(type)->has_time;
    st->type[st->npoints++] = type;
    return 0;
}

/* A decimal number of at most 8 digits at *p; advances *p. -1 when there is none. */
static long number(const char **p)
{
    long v = 0;
    int digits = 0;

    while (**p >= '0' && **p <= '9' && digits < 9) {
        v = v * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    return digits == 0 || digits > 8 ? -1 : v;
}

static int parse_item(builder_t *b, const char *item, size_t len, uint32_t max_ioa,
                      pl_status_t *err)
{
    char name[16];
    const char *colon = memchr(item, ':', len), *p, *end = item + len;
    const pl_iec104_type_info_t *info;
    int type;

    if (colon == NULL || (size_t)(colon - item) >= sizeof(name))
        return pl_status_set(err, PL_ECONFIG, 0, "points: '%.*s' is not TYPE:IOA[-IOA]",
                             (int)(len > 40 ? 40 : len), item);
    memcpy(name, item, (size_t)(colon - item));
    name[colon - item] = '\0';
    type = pl_iec104_type_by_name(name);
    if (type < 0)
        return pl_status_set(err, PL_ECONFIG, 0, "points: unknown type '%s'", name);
    info = pl_iec104_type_info((uint8_t)type);
    if (info->single && !is_command((uint8_t)type))
        return pl_status_set(err, PL_ECONFIG, 0, "points: %s cannot be an information object",
                             name);
    p = colon + 1;
    for (;;) {
        long lo = number(&p), hi;

        if (lo < 0)
            return pl_status_set(err, PL_ECONFIG, 0, "points: %s: an IOA is missing or too long",
                                 name);
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            hi = number(&p);
            if (hi < 0)
                return pl_status_set(err, PL_ECONFIG, 0, "points: %s:%ld-: end IOA missing", name,
                                     lo);
        }
        if (lo == 0 || (unsigned long)hi > max_ioa)
            return pl_status_set(err, PL_ECONFIG, 0, "points: %s:%ld: IOA outside 1..%u", name,
                                 lo == 0 ? lo : hi, max_ioa);
        if (hi < lo)
            return pl_status_set(err, PL_ECONFIG, 0, "points: %s:%ld-%ld goes backwards", name, lo,
                                 hi);
        if ((unsigned long)(hi - lo) >= PL_IEC104_SERVER_MAX_POINTS)
            return pl_status_set(err, PL_ECONFIG, 0, "points: more than %u information objects",
                                 PL_IEC104_SERVER_MAX_POINTS);
        for (; lo <= hi; lo++) {
            int rc = add_point(b, (uint8_t)type, (uint32_t)lo, err);

            if (rc < 0)
                return rc;
        }
        if (p == end)
            return 0;
        if (*p != ',')
            return pl_status_set(err, PL_ECONFIG, 0, "points: %s: unexpected '%c' after an IOA",
                                 name, *p);
        p++;
    }
}

static const pl_iec104_station_t *sort_st; /* qsort has no context argument */

static int cmp_index(const void *a, const void *b)
{
    uint32_t x = sort_st->obj[*(const size_t *)a].ioa, y = sort_st->obj[*(const size_t *)b].ioa;

    return x < y ? -1 : x > y;
}

static int parse_points(pl_iec104_station_t *st, const char *text, pl_status_t *err)
{
    builder_t b = {st, 0};
    uint32_t max_ioa =
        st->params.ioa_size >= 3 ? 0xFFFFFFu : (1u << (8u * st->params.ioa_size)) - 1u;
    const char *p = text;
    size_t *idx, i;
    pl_iec104_object_t *obj;
    uint8_t *type;
    int rc;

    for (;;) {
        const char *start;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '#') {
            if (*p == '#')
                while (*p != '\0' && *p != '\n')
                    p++;
            else
                p++;
        }
        if (*p == '\0')
            break;
        start = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '#')
            p++;
        rc = parse_item(&b, start, (size_t)(p - start), max_ioa, err);
        if (rc < 0)
            return rc;
    }
    if (st->cfg.event_ioa != 0) {
        /* not sorted yet: look linearly */
        for (i = 0; i < st->npoints && st->obj[i].ioa != st->cfg.event_ioa; i++)
            ;
        if (i == st->npoints) {
            if (st->cfg.event_ioa > max_ioa)
                return pl_status_set(err, PL_ECONFIG, 0, "event_ioa %u outside 1..%u",
                                     st->cfg.event_ioa, max_ioa);
            rc = add_point(&b, PL_IEC104_M_IT_NA_1, st->cfg.event_ioa, err);
            if (rc < 0)
                return rc;
        } else if (!is_counter(st->type[i]))
            return pl_status_set(err, PL_ECONFIG, 0, "event_ioa %u is a %s, not M_IT_NA_1/TB_1",
                                 st->cfg.event_ioa, pl_iec104_type_name(st->type[i]));
    }
    if (st->npoints == 0)
        return pl_status_set(err, PL_ECONFIG, 0, "points: no information objects");
    /* sort by IOA (through an index: qsort may not keep the two arrays together) */
    idx = malloc(st->npoints * sizeof(*idx));
    obj = malloc(st->npoints * sizeof(*obj));
    type = malloc(st->npoints);
    if (idx == NULL || obj == NULL || type == NULL) {
        free(idx);
        free(obj);
        free(type);
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    }
    for (i = 0; i < st->npoints; i++)
        idx[i] = i;
    sort_st = st;
    qsort(idx, st->npoints, sizeof(*idx), cmp_index);
    sort_st = NULL;
    for (i = 0; i < st->npoints; i++) {
        obj[i] = st->obj[idx[i]];
        type[i] = st->type[idx[i]];
    }
    free(idx);
    free(st->obj);
    free(st->type);
    st->obj = obj;
    st->type = type;
    for (i = 1; i < st->npoints; i++)
        if (obj[i].ioa == obj[i - 1].ioa)
            return pl_status_set(err, PL_ECONFIG, 0, "points: IOA %u given twice (%s and %s)",
                                 obj[i].ioa, pl_iec104_type_name(type[i - 1]),
                                 pl_iec104_type_name(type[i]));
    return 0;
}

static int read_file(const char *path, char **out, pl_status_t *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    size_t n;

    if (fp == NULL)
        return pl_status_set(err, PL_EIO, 0, "points file %s cannot be opened", path);
    buf = malloc(MAX_FILE + 1u);
    if (buf == NULL) {
        fclose(fp);
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    }
    n = fread(buf, 1, MAX_FILE + 1u, fp);
    if (ferror(fp) || n > MAX_FILE) {
        fclose(fp);
        free(buf);
        return pl_status_set(err, PL_EIO, 0, "points file %s unreadable or above %u bytes", path,
                             MAX_FILE);
    }
    fclose(fp);
    buf[n] = '\0';
    if (memchr(buf, '\0', n) != NULL) {
        free(buf);
        return pl_status_set(err, PL_ECONFIG, 0, "points file %s is not text", path);
    }
    *out = buf;
    return 0;
}

/* --- lifecycle -----------------------------------------------------------------------------------
 */

int pl_iec104_station_new(const pl_iec104_server_config_t *cfg, const pl_iec104_station_io_t *io,
                          pl_iec104_station_t **out, pl_status_t *err)
{
    pl_iec104_station_t *st;
    char *file = NULL;
    size_t i;
    int rc;

    if (cfg->k == 0 || cfg->k > PL_IEC104_SERVER_MAX_K || cfg->w == 0 || cfg->w > cfg->k)
        return pl_status_set(err, PL_ECONFIG, 0, "k %u and w %u: need 1 <= w <= k <= %u", cfg->k,
                             cfg->w, PL_IEC104_SERVER_MAX_K);
    if (cfg->t1_ms == 0 || cfg->t2_ms == 0 || cfg->t3_ms == 0 || cfg->t2_ms >= cfg->t1_ms)
        return pl_status_set(err, PL_ECONFIG, 0, "t1 %u, t2 %u, t3 %u ms: need 0 < t2 < t1, t3 > 0",
                             cfg->t1_ms, cfg->t2_ms, cfg->t3_ms);
    if ((unsigned)cfg->grouping > PL_IEC104_GROUP_PER_CONNECTION)
        return pl_status_set(err, PL_ECONFIG, 0, "unknown grouping %d", (int)cfg->grouping);
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    st->cfg = *cfg;
    st->cfg.points = NULL;
    st->cfg.points_file = NULL;
    if (st->cfg.max_events == 0)
        st->cfg.max_events = DEFAULT_EVENTS;
    if (st->cfg.select_timeout_ms == 0)
        st->cfg.select_timeout_ms = DEFAULT_SELECT;
    st->params.cot_size = cfg->cot_size;
    st->params.ca_size = cfg->ca_size;
    st->params.ioa_size = cfg->ioa_size;
    st->io = *io;
    st->log = cfg->log;
    pl_ratelimit_init(&st->rl, st->rl_slots, sizeof(st->rl_slots) / sizeof(st->rl_slots[0]));
    if (pl_iec104_params_check(&st->params) < 0 || (st->params.ca_size == 1 && cfg->ca > 0xFEu) ||
        cfg->ca == 0 || cfg->ca == PL_IEC104_CA_BROADCAST) {
        free(st);
        return pl_status_set(err, PL_ECONFIG, 0,
                             "field sizes COT %u CA %u IOA %u or common address %u out of range",
                             cfg->cot_size, cfg->ca_size, cfg->ioa_size, cfg->ca);
    }
    if (cfg->points_file != NULL) {
        rc = read_file(cfg->points_file, &file, err);
        if (rc < 0) {
            free(st);
            return rc;
        }
    }
    rc = parse_points(st,
                      file != NULL          ? file
                      : cfg->points != NULL ? cfg->points
                                            : DEFAULT_POINTS,
                      err);
    free(file);
    if (rc == 0 && cfg->grouping == PL_IEC104_GROUP_ONE && group_new(st, "") == NULL)
        rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
    if (rc < 0) {
        pl_iec104_station_free(st);
        return rc;
    }
    for (i = 0; i < st->npoints; i++)
        if (st->obj[i].has_time)
            wall_cp56(st, &st->obj[i].time);
    *out = st;
    return 0;
}

void pl_iec104_station_free(pl_iec104_station_t *st)
{
    if (st == NULL)
        return;
    while (st->conns != NULL)
        pl_iec104_station_gone(st, st->conns);
    while (st->groups != NULL)
        group_free(st, st->groups);
    free(st->obj);
    free(st->type);
    free(st);
}

pl_iec104_server_stats_t *pl_iec104_station_stats(pl_iec104_station_t *st)
{
    return &st->stats;
}
