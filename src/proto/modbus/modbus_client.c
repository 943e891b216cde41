/* SPDX-License-Identifier: MIT */
/*
 * Modbus TCP client session (include/plcline/modbus_client.h): requests for any unit on one
 * connection, up to `inflight` on the wire matched by transaction identifier, each with its
 * own deadline; a silent unit fails its own requests and stalls nobody else.
 *
 * The file has three parts:
 *   1. configuration and the modbus:// URL;
 *   2. the request machinery: queue, slots in flight keyed by transaction id, per-request
 *      deadlines on one lazy timer, expired ids whose late answers are dropped, reconnect.
 *      It knows no function code: it calls send_chunk() and handle_answer() of part 3, so it
 *      can move onto the shared client core (src/proto/client.c) as it is;
 *   3. Modbus itself: encoding a request's next chunk, checking and storing an answer.
 *
 * Built on a line (src/net) for the connection and the codec (src/proto/modbus/codec) for
 * bytes: no socket I/O of its own, nothing blocks, nothing prints.
 */
#include "plcline/modbus_client.h"
#include "plcline/error.h"

#include "codec/url.h"
#include "net/line_url.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 1000u
#define DEFAULT_QUEUE      256u
#define DEFAULT_DROP_AFTER 3u
#define EXPIRED_MAX        32u /* timed-out transaction ids whose late answers are recognised */
#define NO_DEADLINE        UINT64_MAX

typedef struct {
    pl_modbus_request_t *req; /* NULL: free */
    uint16_t tid;
    uint8_t unit;
    uint64_t deadline; /* uv_now() ms */
    uint64_t sent_ns;
    pl_modbus_req_t pdu; /* what was asked (data not kept), for matching the answer */
} slot_t;

struct pl_modbus_client_s {
    uv_loop_t *loop;
    pl_line_t *line;
    const pl_logger_t *log;
    pl_modbus_link_cb on_link;
    void *ud;
    unsigned timeout_ms, inflight, max_queue, drop_after, nhosts;
    unsigned max_regs, max_bits, max_wregs, max_wbits;

    uv_timer_t timer;
    uint64_t armed_at; /* uv_now() ms the timer fires at; NO_DEADLINE: stopped */
    pl_modbus_request_t *head, *tail;
    unsigned queued;
    uint64_t wait_since; /* uv_now() ms the queue began waiting for a connection; 0: not */
    slot_t slot[PL_MODBUS_CLIENT_MAX_INFLIGHT];
    unsigned busy;
    uint16_t next_tid;
    uint16_t expired[EXPIRED_MAX];
    unsigned nexpired, expired_pos;
    unsigned timeouts_in_row; /* timeouts with no answer between them */
    unsigned attempt_failures;
    unsigned conn_gen; /* bumped when the connection goes up or down */
    uint8_t up, persistent, closing, dropping;

    pl_modbus_client_stats_t stats;
    pl_ratelimit_t rl;
    pl_ratelimit_slot_t rl_slots[4];
    size_t rx_len;
    uint8_t rx[PL_MODBUS_MAX_ADU];
    uint8_t tx[PL_MODBUS_MAX_ADU];
    uint8_t bits[PL_MODBUS_MAX_PDU]; /* packed coils of one FC 15 chunk */
};

/* A line the partner can cause: rate-limited per partner and message. */
#define PLOG(c, level, ...)                                                               \
    pl_log_limited(&(c)->rl, uv_now((c)->loop), (c)->log, level, pl_line_peer((c)->line), \
                   __VA_ARGS__)

static void pump(pl_modbus_client_t *c);
static void arm(pl_modbus_client_t *c);
static int send_chunk(pl_modbus_client_t *c, pl_modbus_request_t *r, slot_t *s);
static int handle_answer(pl_modbus_client_t *c, slot_t *s, pl_modbus_request_t *r,
                         const pl_modbus_adu_t *adu, pl_status_t *st);

/* =========================================================== 1. configuration, URL */

void pl_modbus_client_config_init(pl_modbus_client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    pl_line_config_init(&cfg->line);
    cfg->line.port = PL_MODBUS_CLIENT_PORT;
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
    cfg->inflight = 1;
    cfg->max_queue = DEFAULT_QUEUE;
    cfg->max_regs = PL_MODBUS_MAX_READ_REGS;
    cfg->max_bits = PL_MODBUS_MAX_READ_BITS;
    cfg->drop_after = DEFAULT_DROP_AFTER;
    cfg->unit = 1;
}

int pl_modbus_client_config_url(pl_modbus_client_config_t *cfg, const char *url, char *storage,
                                size_t storage_len, pl_status_t *err)
{
    static const char *const known[] = {"timeout",    "byte_order",     "max_regs",
                                        "max_bits",   "inflight",       "queue",
                                        "zero_based", PL_LINE_URL_KEYS, NULL};
    pl_modbus_order_t order;
    const char *s;
    pl_url_t *u;
    unsigned long v;
    char *end;
    int rc;

    u = malloc(sizeof(*u));
    if (u == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    rc = pl_url_parse(u, url, PL_MODBUS_CLIENT_PORT, err);
    if (rc < 0)
        goto out;
    if (strcmp(u->scheme, "modbus") != 0) {
        rc = pl_status_set(err, PL_EURL, 0, "scheme '%s' is not modbus", u->scheme);
        goto out;
    }
    if ((rc = pl_url_check_keys(u, known, err)) < 0)
        goto out;
    if (u->path[0] != '\0') {
        v = u->path[0] >= '0' && u->path[0] <= '9' ? strtoul(u->path, &end, 10) : 256;
        if (v > 255 || *end != '\0') {
            rc = pl_status_set(err, PL_EURL, 0, "unit '%.20s' is not a number 0..255", u->path);
            goto out;
        }
        cfg->unit = (uint8_t)v;
    }
    if ((rc = pl_line_config_url(&cfg->line, u, PL_MODBUS_CLIENT_PORT, storage, storage_len, err)) <
        0)
        goto out;
    v = cfg->timeout_ms;
    if ((rc = pl_url_get_uint(u, "timeout", 1, 3600000, &v, err)) < 0)
        goto out;
    cfg->timeout_ms = (unsigned)v;
    v = cfg->max_regs;
    if ((rc = pl_url_get_uint(u, "max_regs", 1, PL_MODBUS_MAX_READ_REGS, &v, err)) < 0)
        goto out;
    cfg->max_regs = (unsigned)v;
    v = cfg->max_bits;
    if ((rc = pl_url_get_uint(u, "max_bits", 1, PL_MODBUS_MAX_READ_BITS, &v, err)) < 0)
        goto out;
    cfg->max_bits = (unsigned)v;
    v = cfg->inflight;
    if ((rc = pl_url_get_uint(u, "inflight", 1, PL_MODBUS_CLIENT_MAX_INFLIGHT, &v, err)) < 0)
        goto out;
    cfg->inflight = (unsigned)v;
    v = cfg->max_queue;
    if ((rc = pl_url_get_uint(u, "queue", 1, 65536, &v, err)) < 0)
        goto out;
    cfg->max_queue = (unsigned)v;
    v = cfg->zero_based;
    if ((rc = pl_url_get_uint(u, "zero_based", 0, 1, &v, err)) < 0)
        goto out;
    cfg->zero_based = (uint8_t)v;
    s = pl_url_get(u, "byte_order");
    if (s != NULL) {
        if (pl_modbus_order_parse(s, strlen(s), &order) < 0) {
            rc = pl_status_set(err, PL_EURL, 0,
                               "byte_order '%.20s': expected ABCD, CDAB, BADC or DCBA", s);
            goto out;
        }
        cfg->byte_order = (uint8_t)order;
    }
    rc = 0;
out:
    free(u);
    return rc;
}

/* =========================================================== 2. request machinery */

/* --- queue --- */

static pl_modbus_request_t *queue_pop(pl_modbus_client_t *c)
{
    pl_modbus_request_t *r = c->head;

    if (r != NULL) {
        c->head = r->next_;
        if (c->head == NULL)
            c->tail = NULL;
        c->queued--;
        r->next_ = NULL;
    }
    return r;
}

static void queue_push(pl_modbus_client_t *c, pl_modbus_request_t *r)
{
    r->next_ = NULL;
    if (c->tail != NULL)
        c->tail->next_ = r;
    else
        c->head = r;
    c->tail = r;
    c->queued++;
}

/* The next chunk of a split request goes before everything that waits. */
static void queue_push_front(pl_modbus_client_t *c, pl_modbus_request_t *r)
{
    r->next_ = c->head;
    c->head = r;
    if (c->tail == NULL)
        c->tail = r;
    c->queued++;
}

static void complete(pl_modbus_client_t *c, pl_modbus_request_t *r)
{
    if (r->status.code != 0)
        c->stats.errors++;
    r->cb_(r);
}

static void fail(pl_modbus_client_t *c, pl_modbus_request_t *r, const pl_status_t *why)
{
    r->status = *why;
    complete(c, r);
}

/* Fails every waiting request (not in flight) with `why`. */
static void fail_waiting(pl_modbus_client_t *c, const pl_status_t *why)
{
    pl_modbus_request_t *r;

    while (!c->closing && (r = queue_pop(c)) != NULL)
        fail(c, r, why);
}

/* Fails every request in flight with `why` (the connection they went out on is gone). */
static void fail_inflight(pl_modbus_client_t *c, const pl_status_t *why)
{
    unsigned i;

    for (i = 0; i < c->inflight && !c->closing; i++) {
        pl_modbus_request_t *r = c->slot[i].req;

        if (r == NULL)
            continue;
        c->slot[i].req = NULL;
        c->busy--;
        fail(c, r, why);
    }
}

static int enqueue(pl_modbus_client_t *c, pl_modbus_request_t *r, pl_modbus_cb cb)
{
    if (c->closing)
        return PL_ECLOSING;
    if (c->queued >= c->max_queue)
        return PL_ENO_MSG;
    pl_status_clear(&r->status);
    memset(&r->devid, 0, sizeof(r->devid));
    r->cb_ = cb;
    r->done_ = 0;
    r->chunk_ = 0;
    queue_push(c, r);
    if (c->up) {
        pump(c);
    } else {
        if (c->wait_since == 0) {
            c->wait_since = uv_now(c->loop);
            if (!c->persistent)
                c->attempt_failures = 0;
            arm(c);
        }
        (void)pl_line_start(c->line);
    }
    return 0;
}

/* --- transaction ids --- */

static void expired_add(pl_modbus_client_t *c, uint16_t tid)
{
    c->expired[c->expired_pos] = tid;
    c->expired_pos = (c->expired_pos + 1) % EXPIRED_MAX;
    if (c->nexpired < EXPIRED_MAX)
        c->nexpired++;
}

static int expired_has(const pl_modbus_client_t *c, uint16_t tid)
{
    unsigned i;

    for (i = 0; i < c->nexpired; i++)
        if (c->expired[i] == tid)
            return 1;
    return 0;
}

/* A transaction id in use neither by a slot nor by a timed-out request that may still be
 * answered. */
static uint16_t take_tid(pl_modbus_client_t *c)
{
    unsigned i, tries;

    for (tries = 0; tries < 65536u; tries++) {
        uint16_t t = c->next_tid++;
        int used = expired_has(c, t);

        for (i = 0; i < c->inflight && !used; i++)
            used = c->slot[i].req != NULL && c->slot[i].tid == t;
        if (!used)
            return t;
    }
    return c->next_tid; /* cannot happen: at most 96 ids are in use */
}

static slot_t *slot_of(pl_modbus_client_t *c, uint16_t tid)
{
    unsigned i;

    for (i = 0; i < c->inflight; i++)
        if (c->slot[i].req != NULL && c->slot[i].tid == tid)
            return &c->slot[i];
    return NULL;
}

/* --- sending --- */

static void drop(pl_modbus_client_t *c, const pl_status_t *why)
{
    if (!c->up)
        return;
    c->up = 0;
    c->dropping = 1;
    c->conn_gen++;
    pl_line_drop(c->line, why);
}

static void pump(pl_modbus_client_t *c)
{
    while (c->up && !c->closing && c->head != NULL && c->busy < c->inflight) {
        pl_modbus_request_t *r = queue_pop(c);
        slot_t *s = NULL;
        pl_status_t why;
        unsigned i;
        int rc;

        for (i = 0; i < c->inflight && s == NULL; i++)
            if (c->slot[i].req == NULL)
                s = &c->slot[i];
        s->tid = take_tid(c);
        rc = send_chunk(c, r, s);
        if (rc < 0) {
            if (rc == PL_ESEND) {
                pl_status_set(&why, PL_ESEND, 0, "the line refused the request");
                drop(c, &why);
            } else {
                pl_status_set(&why, rc, 0, "encoding the request failed");
            }
            fail(c, r, &why);
            continue;
        }
        s->req = r;
        s->deadline = uv_now(c->loop) + c->timeout_ms;
        s->sent_ns = uv_hrtime();
        c->busy++;
        c->stats.requests++;
        if (c->armed_at > s->deadline)
            arm(c);
    }
}

/* --- deadlines: one lazy timer for every slot and for the wait for a connection --- */

static void on_timer(uv_timer_t *t);

static void arm(pl_modbus_client_t *c)
{
    uint64_t due = NO_DEADLINE, now = uv_now(c->loop);
    unsigned i;

    if (c->closing)
        return;
    for (i = 0; i < c->inflight; i++)
        if (c->slot[i].req != NULL && c->slot[i].deadline < due)
            due = c->slot[i].deadline;
    if (!c->up && c->head != NULL && c->wait_since != 0 && c->wait_since + c->timeout_ms < due)
        due = c->wait_since + c->timeout_ms;
    if (due == NO_DEADLINE) {
        /* left running: it finds nothing due and stops; an answer costs no timer call */
        return;
    }
    if (c->armed_at <= due)
        return;
    c->armed_at = due;
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
    pl_modbus_client_t *c = t->data;
    uint64_t now = uv_now(c->loop);
    unsigned i, gen = c->conn_gen;
    pl_status_t why;

    c->armed_at = NO_DEADLINE;
    if (c->closing)
        return;
    for (i = 0; i < c->inflight && !c->closing; i++) {
        slot_t *s = &c->slot[i];
        pl_modbus_request_t *r = s->req;

        if (r == NULL || s->deadline > now)
            continue;
        s->req = NULL;
        c->busy--;
        expired_add(c, s->tid);
        c->stats.timeouts++;
        c->timeouts_in_row++;
        pl_status_set(&why, PL_ETIMEOUT, 0, "unit %u %s: no answer within %u ms", s->unit,
                      pl_modbus_function_name(s->pdu.function), c->timeout_ms);
        PLOG(c, PL_LOG_WARN, "modbus %s: %s", pl_line_peer(c->line), why.detail);
        fail(c, r, &why);
    }
    if (c->closing)
        return;
    if (gen == c->conn_gen && c->up && c->timeouts_in_row >= c->drop_after) {
        pl_status_set(&why, PL_ETIMEOUT, 0, "%u requests in a row unanswered, reconnecting",
                      c->timeouts_in_row);
        PLOG(c, PL_LOG_WARN, "modbus %s: %s", pl_line_peer(c->line), why.detail);
        c->timeouts_in_row = 0;
        drop(c, &why);
    }
    if (!c->up && c->head != NULL && c->wait_since != 0 && c->wait_since + c->timeout_ms <= now) {
        why = *pl_line_last_error(c->line);
        if (why.code == 0 || why.code == PL_ETIMEOUT)
            pl_status_set(&why, PL_ECONNECT, UV_ETIMEDOUT, "no connection within %u ms",
                          c->timeout_ms);
        c->wait_since = 0;
        fail_waiting(c, &why);
        if (c->closing)
            return;
        if (!c->persistent && c->head == NULL && c->busy == 0)
            pl_line_stop(c->line);
        else if (c->head != NULL)
            c->wait_since = now; /* submitted from a callback: a timeout of their own */
    }
    pump(c); /* slots freed by timeouts */
    arm(c);
}

/* --- receiving --- */

/* The stream cannot be trusted any more: everything in flight fails, the line reconnects. */
static void protocol_error(pl_modbus_client_t *c, const pl_status_t *why)
{
    PLOG(c, PL_LOG_WARN, "modbus %s: %s: %s", pl_line_peer(c->line), pl_strerror(why->code),
         why->detail);
    drop(c, why);
    fail_inflight(c, why);
}

static void handle_adu(pl_modbus_client_t *c, const uint8_t *p, size_t n)
{
    pl_modbus_request_t *r;
    pl_modbus_adu_t adu;
    pl_status_t st;
    slot_t *s;
    int rc;

    pl_status_clear(&st);
    rc = pl_modbus_adu_decode(p, n, &adu, &st);
    if (rc < 0) {
        if (st.code == 0)
            pl_status_set(&st, rc, 0, "bad frame from the server");
        protocol_error(c, &st);
        return;
    }
    s = slot_of(c, adu.tid);
    if (s == NULL) {
        if (expired_has(c, adu.tid)) {
            c->stats.late++;
            PLOG(c, PL_LOG_DEBUG, "modbus %s: late answer of unit %u (transaction %u) dropped",
                 pl_line_peer(c->line), adu.unit, adu.tid);
            return;
        }
        c->stats.mismatches++;
        pl_status_set(&st, PL_EMODBUS_MISMATCH, 0, "answer to transaction %u, never sent", adu.tid);
        protocol_error(c, &st);
        return;
    }
    r = s->req;
    s->req = NULL;
    c->busy--;
    c->timeouts_in_row = 0;
    c->stats.responses++;
    c->stats.last_rtt_us = (uv_hrtime() - s->sent_ns) / 1000u;
    pl_status_clear(&st);
    rc = handle_answer(c, s, r, &adu, &st);
    if (rc < 0) {
        if (st.code == 0)
            pl_status_set(&st, rc, 0, NULL);
        fail(c, r, &st);
        return;
    }
    if (r->done_ < r->count_) {
        queue_push_front(c, r);
        return;
    }
    complete(c, r);
}

static void on_line_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    pl_modbus_client_t *c = ud;
    unsigned gen = c->conn_gen;
    pl_status_t why;
    size_t n, off;
    int rc;

    (void)line;
    /* Nothing buffered (the usual case): ADUs are handled where they lie; only a trailing
     * partial one is copied. */
    if (c->rx_len == 0) {
        for (;;) {
            rc = pl_modbus_frame(buf, len, NULL);
            if (rc == PL_EAGAIN)
                break;
            if (rc < 0) {
                pl_status_set(&why, rc, 0, "bad frame from the server");
                protocol_error(c, &why);
                return;
            }
            handle_adu(c, buf, (size_t)rc);
            if (c->closing || gen != c->conn_gen)
                return;
            buf += rc;
            len -= (size_t)rc;
        }
    }
    while (len > 0) {
        n = sizeof(c->rx) - c->rx_len;
        if (n > len)
            n = len;
        memcpy(c->rx + c->rx_len, buf, n);
        c->rx_len += n;
        buf += n;
        len -= n;
        off = 0;
        for (;;) {
            rc = pl_modbus_frame(c->rx + off, c->rx_len - off, NULL);
            if (rc == PL_EAGAIN)
                break;
            if (rc < 0) {
                pl_status_set(&why, rc, 0, "bad frame from the server");
                c->rx_len = 0;
                protocol_error(c, &why);
                return;
            }
            handle_adu(c, c->rx + off, (size_t)rc);
            if (c->closing || gen != c->conn_gen)
                return;
            off += (size_t)rc;
        }
        memmove(c->rx, c->rx + off, c->rx_len - off);
        c->rx_len -= off;
    }
    pump(c);
}

/* --- the connection --- */

static void on_line_up(pl_line_t *line, void *ud)
{
    pl_modbus_client_t *c = ud;

    (void)line;
    c->up = 1;
    c->dropping = 0;
    c->conn_gen++;
    c->rx_len = 0;
    c->attempt_failures = 0;
    c->timeouts_in_row = 0;
    c->nexpired = 0; /* a new connection carries no late answer */
    c->wait_since = 0;
    PLOG(c, PL_LOG_INFO, "modbus: connected to %s", pl_line_peer(c->line));
    if (c->on_link != NULL) {
        c->on_link(c, NULL, c->ud);
        if (c->closing)
            return;
    }
    pump(c);
}

static void on_line_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    pl_modbus_client_t *c = ud;
    int dropped = c->dropping, was_up = c->up || dropped;

    (void)line;
    c->up = 0;
    c->dropping = 0;
    c->conn_gen++;
    c->rx_len = 0;
    if (was_up)
        c->attempt_failures = 0;
    else
        c->attempt_failures++;
    if (c->on_link != NULL && (was_up || c->persistent)) {
        c->on_link(c, why, c->ud);
        if (c->closing)
            return;
    }
    fail_inflight(c, why); /* sent, not answered: they fail with the reason of the break */
    if (c->closing)
        return;
    if (!was_up && c->attempt_failures >= c->nhosts && c->head != NULL) {
        c->wait_since = 0;
        fail_waiting(c, why); /* every host was tried once: the waiting ones get the reason */
        if (c->closing)
            return;
    }
    if (c->head == NULL) {
        c->wait_since = 0;
        /* On-demand mode reconnects on the next request, except after a drop of ours: then
         * the line goes on to the next host or the backup at once. */
        if (!c->persistent && !dropped)
            pl_line_stop(c->line);
    } else if (c->wait_since == 0) {
        c->wait_since = uv_now(c->loop);
        arm(c);
    }
}

/* --- lifecycle --- */

int pl_modbus_client_new(uv_loop_t *loop, const pl_modbus_client_config_t *cfg,
                         pl_modbus_client_t **out)
{
    static const pl_line_cbs_t cbs = {
        .on_up = on_line_up, .on_data = on_line_data, .on_down = on_line_down};
    pl_modbus_client_t *c;
    int rc;

    if (loop == NULL || cfg == NULL || out == NULL || cfg->line.hosts.count == 0 ||
        cfg->inflight > PL_MODBUS_CLIENT_MAX_INFLIGHT || cfg->max_regs > PL_MODBUS_MAX_READ_REGS ||
        cfg->max_bits > PL_MODBUS_MAX_READ_BITS)
        return PL_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return PL_ENOMEM;
    c->loop = loop;
    c->log = cfg->log;
    pl_ratelimit_init(&c->rl, c->rl_slots, sizeof(c->rl_slots) / sizeof(c->rl_slots[0]));
    c->on_link = cfg->on_link;
    c->ud = cfg->ud;
    c->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->inflight = cfg->inflight != 0 ? cfg->inflight : 1;
    c->max_queue = cfg->max_queue != 0 ? cfg->max_queue : DEFAULT_QUEUE;
    c->drop_after = cfg->drop_after != 0 ? cfg->drop_after : DEFAULT_DROP_AFTER;
    c->max_regs = cfg->max_regs != 0 ? cfg->max_regs : PL_MODBUS_MAX_READ_REGS;
    c->max_bits = cfg->max_bits != 0 ? cfg->max_bits : PL_MODBUS_MAX_READ_BITS;
    c->max_wregs = c->max_regs < PL_MODBUS_MAX_WRITE_REGS ? c->max_regs : PL_MODBUS_MAX_WRITE_REGS;
    c->max_wbits = c->max_bits < PL_MODBUS_MAX_WRITE_BITS ? c->max_bits : PL_MODBUS_MAX_WRITE_BITS;
    c->armed_at = NO_DEADLINE;
    c->next_tid = 1;
    rc = pl_line_new(loop, &cfg->line, &cbs, c, &c->line);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->nhosts = pl_line_host_count(c->line);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    *out = c;
    return 0;
}

int pl_modbus_client_start(pl_modbus_client_t *c)
{
    if (c->closing)
        return PL_ECLOSING;
    c->persistent = 1;
    return pl_line_start(c->line);
}

pl_line_t *pl_modbus_client_line(pl_modbus_client_t *c)
{
    return c->line;
}

const pl_modbus_client_stats_t *pl_modbus_client_stats(const pl_modbus_client_t *c)
{
    return &c->stats;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void pl_modbus_client_free(pl_modbus_client_t *c)
{
    pl_modbus_request_t *r;
    pl_status_t why;
    unsigned i;

    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    pl_ratelimit_flush(&c->rl, uv_now(c->loop), c->log);
    pl_line_free(c->line);
    c->line = NULL;
    uv_timer_stop(&c->timer);
    pl_status_set(&why, PL_ECANCELED, 0, "client closed");
    for (i = 0; i < c->inflight; i++) {
        r = c->slot[i].req;
        if (r != NULL) {
            c->slot[i].req = NULL;
            fail(c, r, &why);
        }
    }
    while ((r = queue_pop(c)) != NULL)
        fail(c, r, &why);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

/* =========================================================== 3. Modbus requests */

static int check_range(uint16_t addr, uint32_t count)
{
    return count == 0 || (uint32_t)addr + count > 65536u ? PL_EINVAL : 0;
}

int pl_modbus_read(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit, uint8_t fc,
                   uint16_t addr, uint32_t count, uint8_t *out, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL || out == NULL || check_range(addr, count) < 0 ||
        fc < PL_MODBUS_FC_READ_COILS || fc > PL_MODBUS_FC_READ_INPUT)
        return PL_EINVAL;
    req->unit_ = unit;
    req->fc_ = fc;
    req->addr_ = addr;
    req->count_ = count;
    req->rbuf_ = out;
    req->wbuf_ = NULL;
    return enqueue(c, req, cb);
}

int pl_modbus_write(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit, uint8_t fc,
                    uint16_t addr, uint32_t count, const uint8_t *data, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL || data == NULL || check_range(addr, count) < 0)
        return PL_EINVAL;
    switch (fc) {
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
        if (count != 1)
            return PL_EINVAL;
        break;
    case PL_MODBUS_FC_WRITE_COILS:
    case PL_MODBUS_FC_WRITE_REGISTERS:
        break;
    default:
        return PL_EINVAL;
    }
    req->unit_ = unit;
    req->fc_ = fc;
    req->addr_ = addr;
    req->count_ = count;
    req->rbuf_ = NULL;
    req->wbuf_ = data;
    return enqueue(c, req, cb);
}

int pl_modbus_mask_write(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit,
                         uint16_t addr, uint16_t and_mask, uint16_t or_mask, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL)
        return PL_EINVAL;
    req->unit_ = unit;
    req->fc_ = PL_MODBUS_FC_MASK_WRITE;
    req->addr_ = addr;
    req->count_ = 1;
    req->and_ = and_mask;
    req->or_ = or_mask;
    req->rbuf_ = NULL;
    req->wbuf_ = NULL;
    return enqueue(c, req, cb);
}

int pl_modbus_read_write(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit,
                         uint16_t raddr, uint16_t rcount, uint8_t *out, uint16_t waddr,
                         uint16_t wcount, const uint8_t *data, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL || out == NULL || data == NULL ||
        rcount > PL_MODBUS_MAX_READ_REGS || wcount > PL_MODBUS_MAX_RW_WRITE ||
        check_range(raddr, rcount) < 0 || check_range(waddr, wcount) < 0)
        return PL_EINVAL;
    req->unit_ = unit;
    req->fc_ = PL_MODBUS_FC_READ_WRITE;
    req->addr_ = raddr;
    req->count_ = rcount;
    req->rbuf_ = out;
    req->waddr_ = waddr;
    req->wcount_ = wcount;
    req->wbuf_ = data;
    return enqueue(c, req, cb);
}

int pl_modbus_device_id(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit, uint8_t code,
                        uint8_t object, uint8_t *out, size_t cap, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL || out == NULL || code < PL_MODBUS_DEVID_BASIC ||
        code > PL_MODBUS_DEVID_SPECIFIC)
        return PL_EINVAL;
    req->unit_ = unit;
    req->fc_ = PL_MODBUS_FC_MEI;
    req->value_ = code;
    req->object_ = object;
    req->count_ = 1;
    req->rbuf_ = out;
    req->rcap_ = cap;
    req->wbuf_ = NULL;
    return enqueue(c, req, cb);
}

static int bit_at(const uint8_t *packed, uint32_t i)
{
    return (packed[i / 8u] >> (i % 8u)) & 1;
}

static void bit_set(uint8_t *packed, uint32_t i, int v)
{
    if (v)
        packed[i / 8u] = (uint8_t)(packed[i / 8u] | (1u << (i % 8u)));
    else
        packed[i / 8u] = (uint8_t)(packed[i / 8u] & ~(1u << (i % 8u)));
}

/* Encodes the request's next chunk for slot `s` and sends it. 0, PL_ESEND, or a codec
 * error. */
static int send_chunk(pl_modbus_client_t *c, pl_modbus_request_t *r, slot_t *s)
{
    pl_modbus_req_t *q = &s->pdu;
    uint32_t left = r->count_ - r->done_, i;
    int n;

    memset(q, 0, sizeof(*q));
    q->function = r->fc_;
    q->addr = (uint16_t)(r->addr_ + r->done_);
    switch (r->fc_) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
        r->chunk_ = left < c->max_bits ? left : c->max_bits;
        break;
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
        r->chunk_ = left < c->max_regs ? left : c->max_regs;
        break;
    case PL_MODBUS_FC_WRITE_COIL:
        r->chunk_ = 1;
        q->value = bit_at(r->wbuf_, 0) ? PL_MODBUS_COIL_ON : PL_MODBUS_COIL_OFF;
        break;
    case PL_MODBUS_FC_WRITE_REGISTER:
        r->chunk_ = 1;
        q->value = pl_modbus_reg(r->wbuf_, 2, 0);
        break;
    case PL_MODBUS_FC_WRITE_COILS:
        r->chunk_ = left < c->max_wbits ? left : c->max_wbits;
        memset(c->bits, 0, pl_modbus_bit_bytes(r->chunk_));
        for (i = 0; i < r->chunk_; i++)
            bit_set(c->bits, i, bit_at(r->wbuf_, r->done_ + i));
        q->data = c->bits;
        q->data_len = pl_modbus_bit_bytes(r->chunk_);
        break;
    case PL_MODBUS_FC_WRITE_REGISTERS:
        r->chunk_ = left < c->max_wregs ? left : c->max_wregs;
        q->data = r->wbuf_ + (size_t)r->done_ * 2u;
        q->data_len = (size_t)r->chunk_ * 2u;
        break;
    case PL_MODBUS_FC_MASK_WRITE:
        r->chunk_ = 1;
        q->and_mask = r->and_;
        q->or_mask = r->or_;
        break;
    case PL_MODBUS_FC_READ_WRITE:
        r->chunk_ = r->count_;
        q->waddr = r->waddr_;
        q->wcount = r->wcount_;
        q->data = r->wbuf_;
        q->data_len = (size_t)r->wcount_ * 2u;
        break;
    case PL_MODBUS_FC_MEI:
        r->chunk_ = 1;
        q->mei_type = PL_MODBUS_MEI_DEVICE_ID;
        q->devid_code = (uint8_t)r->value_;
        q->object_id = r->object_;
        break;
    default:
        return PL_EINVAL;
    }
    q->count = (uint16_t)r->chunk_;
    s->unit = r->unit_;
    n = pl_modbus_req_encode(c->tx, sizeof(c->tx), s->tid, r->unit_, q);
    q->data = NULL; /* matching needs no data; the bits scratch is reused */
    if (n < 0)
        return n;
    if (pl_line_send(c->line, c->tx, (size_t)n) < 0)
        return PL_ESEND;
    return 0;
}

/* Checks the answer in `adu` against what slot `s` asked for `r` and stores what it carries
 * into `r`. 0 (the chunk is done), or an error for this request only (`st` says why). */
static int handle_answer(pl_modbus_client_t *c, slot_t *s, pl_modbus_request_t *r,
                         const pl_modbus_adu_t *adu, pl_status_t *st)
{
    pl_modbus_rsp_t rsp;
    uint32_t i;
    int rc;

    if (adu->unit != s->unit) {
        c->stats.mismatches++;
        return pl_status_set(st, PL_EMODBUS_MISMATCH, 0, "answer from unit %u to a request for %u",
                             adu->unit, s->unit);
    }
    rc = pl_modbus_rsp_decode(adu->pdu, adu->pdu_len, &rsp, st);
    if (rc < 0) {
        c->stats.mismatches++;
        return rc;
    }
    rc = pl_modbus_rsp_match(&s->pdu, &rsp, st);
    if (rc < 0) {
        if (rsp.exception != 0) {
            c->stats.exceptions++;
            PLOG(c, PL_LOG_DEBUG, "modbus %s: unit %u %s: %s", pl_line_peer(c->line), s->unit,
                 pl_modbus_function_name(s->pdu.function), st->detail);
        } else {
            c->stats.mismatches++;
        }
        return rc;
    }
    switch (r->fc_) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
        for (i = 0; i < r->chunk_; i++)
            bit_set(r->rbuf_, r->done_ + i, pl_modbus_bit(rsp.data, rsp.data_len, i));
        break;
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
    case PL_MODBUS_FC_READ_WRITE:
        memcpy(r->rbuf_ + (size_t)r->done_ * 2u, rsp.data, (size_t)r->chunk_ * 2u);
        break;
    case PL_MODBUS_FC_MEI:
        if (rsp.objects_len > r->rcap_)
            return pl_status_set(st, PL_ENOBUFS, 0,
                                 "device identification of %zu bytes, room for %zu",
                                 rsp.objects_len, r->rcap_);
        if (rsp.objects_len > 0)
            memcpy(r->rbuf_, rsp.objects, rsp.objects_len);
        r->devid.conformity = rsp.conformity;
        r->devid.more_follows = rsp.more_follows;
        r->devid.next_object = rsp.next_object;
        r->devid.object_count = rsp.object_count;
        r->devid.objects_len = rsp.objects_len;
        break;
    default:
        break;
    }
    r->done_ += r->chunk_;
    return 0;
}
